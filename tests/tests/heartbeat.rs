//! Heartbeats: a client that vanishes without a close frame (a crashed phone, a lost network)
//! stops sending `ping`; after 3 missed intervals the scheduled sweeper (the real `sweeper`
//! binary, invoked by the dev gateway's EventBridge twin) closes its socket and announces it
//! offline. Here the interval is 1 s and the sweep runs every second.

use chat_tests::{direct, uid, StackSpec, TestStack};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_sending_heartbeats_is_closed_and_announced_offline() {
    let mut spec = StackSpec::default();
    spec.parameters.insert("HeartbeatSeconds".into(), "1".into());
    spec.parameters.insert("SweepSchedule".into(), "rate(1 second)".into());
    let s = TestStack::start(spec).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    let pong = b.request(json!({"action": "ping"})).await;
    assert_eq!((pong["type"].as_str(), pong["heartbeatSeconds"].as_u64()), (Some("pong"), Some(1)));
    let silent_since = Instant::now();

    // Bob's socket stays open but says nothing; Alice keeps beating and waits for the news.
    let deadline = Instant::now() + Duration::from_secs(40);
    let offline = loop {
        assert!(Instant::now() < deadline, "bob was never announced offline:\n{}", s.logs());
        let p = a.request(json!({"action": "ping"})).await;
        assert_eq!(p["type"], "pong");
        if let Some(f) = a
            .wait_for(
                &|f: &serde_json::Value| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == false,
                Duration::from_millis(400),
            )
            .await
        {
            break f;
        }
    };
    let after = silent_since.elapsed();
    assert!(after >= Duration::from_secs(3), "offline after {after:?}: 3 intervals must pass first");
    assert!(offline["lastSeen"].is_u64(), "{offline}");
    // The server closed bob's socket: if he was still there, he would reconnect.
    b.expect_closed(Duration::from_secs(10)).await;
    // Alice, who kept beating, is untouched.
    let list = a.request(json!({"action": "presence.query", "roomId": room})).await;
    let online = |u: &str| list["users"].as_array().unwrap().iter().find(|e| e["userId"] == json!(u)).unwrap()["online"].as_bool();
    assert_eq!((online(&alice), online(&bob)), (Some(true), Some(false)), "{list}");
}
