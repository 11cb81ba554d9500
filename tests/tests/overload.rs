//! The local platform past its capacity: the real chat functions limited to two instances and two
//! waiting invocations each, under a burst of sends. What API Gateway and Lambda would refuse is
//! refused (an error frame, nothing stored), every acked message is delivered, no process leaks,
//! and the stack recovers.

use chat_tests::{eventually, uid, StackSpec, TestStack};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

async fn health(s: &TestStack) -> Value {
    serde_json::from_str(&chat_tests::http_get(&format!("{}/health", s.stack.http_url())).await.1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_capacity_nothing_acked_is_lost_nothing_leaks_and_it_recovers() {
    let mut spec = StackSpec { max_concurrency: 2, max_queue: 2, ..StackSpec::default() };
    spec.parameters.insert("MaxSendsPer10Seconds".into(), "1000".into());
    spec.parameters.insert("MaxFramesPer10Seconds".into(), "1000".into());
    let s = TestStack::start(spec).await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let mut c = s.user(&carol).await;
    let r = a.request(json!({"action": "room.create", "type": "group", "name": "Load", "members": [bob, carol]})).await;
    let room = r["room"]["roomId"].as_str().unwrap().to_string();
    b.expect_type("room.joined").await;

    // A burst: two senders, 30 frames each, without waiting for acks.
    const PER: usize = 30;
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for (who, client) in [("a", &mut a), ("c", &mut c)] {
        for k in 0..PER {
            client
                .send(json!({"action": "message.send", "roomId": room, "clientId": format!("{who}-{k}"), "content": format!("{who} {k}")}))
                .await;
        }
    }
    let mut refused = 0;
    for client in [&mut a, &mut c] {
        for _ in 0..PER {
            let f = client.expect(|f| f["type"] == "ack" || f["message"] == "Internal server error").await;
            if f["type"] == "ack" {
                acked.insert(f["clientId"].as_str().unwrap().to_string(), f["message"]["seq"].as_u64().unwrap());
            } else {
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the burst should exceed two instances and two waiting");
    assert!(!acked.is_empty());

    // Every acked message reached Bob live.
    let want: BTreeSet<u64> = acked.values().copied().collect();
    let mut live = BTreeSet::new();
    while !want.is_subset(&live) {
        let f = b.expect(|f| f["type"] == "message.new" && f["message"]["kind"] == "text").await;
        live.insert(f["message"]["seq"].as_u64().unwrap());
    }

    // Nothing leaked: at most two instances per function, all of them idle again.
    eventually("idle instances", || async {
        let h = health(&s).await;
        let fs = h["functions"].as_object().unwrap().clone();
        fs.values().all(|f| f["busy"] == 0 && f["queued"] == 0 && f["live"].as_u64().unwrap() <= 2).then_some(())
    })
    .await;
    let h = health(&s).await;
    assert!(h["functions"]["MessageFunction"]["throttled"].as_u64().unwrap() > 0, "{h}");

    // Recovered: the refused frames go again (same clientIds, as the SDK resends them) and the
    // room ends with every message exactly once, gapless.
    for (who, client) in [("a", &mut a), ("c", &mut c)] {
        for k in 0..PER {
            let id = format!("{who}-{k}");
            if acked.contains_key(&id) {
                continue;
            }
            let r =
                client.request(json!({"action": "message.send", "roomId": room, "clientId": id, "content": format!("{who} {k}")})).await;
            assert_eq!(r["type"], "ack", "{r}");
            acked.insert(id, r["message"]["seq"].as_u64().unwrap());
        }
    }
    let h = b.request(json!({"action": "history", "roomId": room, "limit": 100})).await;
    let texts: Vec<&str> =
        h["messages"].as_array().unwrap().iter().filter(|m| m["kind"] == "text").map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 2 * PER, "each message once");
    assert_eq!(texts.iter().collect::<BTreeSet<_>>().len(), 2 * PER);
    let seqs: Vec<u64> = h["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "gapless: {seqs:?}");
    b.assert_none(|f| f["type"] == "error", Duration::from_millis(200)).await;
}
