//! Nothing asynchronous is lost silently: a poisoned event of each asynchronous consumer (the
//! fan-out and push SNS consumers, the scheduled sweeper, the indexer's stream) lands in its
//! dead-letter queue as Lambda puts it there, and `chatctl redrive` replays it once the cause is
//! gone — the task runs, the push is sent, the message becomes searchable; the queues end empty.

use aws_sdk_dynamodb::types::AttributeValue::{N, S};
use chat_tests::chat_dev::faults::{FaultConfig, Faults};
use chat_tests::{bin_dir, group, rest, uid, StackSpec, TestStack};
use serde_json::{json, Value};
use std::time::Duration;

const QUEUES: [&str; 4] = ["FanoutDeadLetterQueue", "NotifyDeadLetterQueue", "SweeperDeadLetterQueue", "IndexerDeadLetterQueue"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_event_of_each_consumer_lands_in_its_queue_and_is_replayed() {
    let faults = Faults::new(FaultConfig::default());
    let mut spec = StackSpec::default();
    spec.gateway.faults = faults.clone();
    spec.parameters.insert("SweepSchedule".into(), "rate(2 seconds)".into());
    let s = TestStack::start(spec).await;
    let env = s.aws.as_ref().expect("the emulators").function_env();
    let (sqs, sns, ddb) = (s.sqs().await, s.sns().await, s.dynamodb().await);
    let mut urls = std::collections::BTreeMap::new();
    for q in QUEUES {
        let u = sqs.get_queue_url().queue_name(s.table(q)).send().await.unwrap_or_else(|e| panic!("{q} was not created: {e:?}"));
        urls.insert(q, u.queue_url().unwrap().to_string());
    }
    let topic = |logical: &str| s.stack.spec.topics.iter().find(|t| t.ends_with(&format!("-{logical}"))).cloned().unwrap();

    // A room of alice's and bob's, made while everything works.
    let (alice, bob) = (uid("alice"), uid("bob"));
    let room = {
        let mut a = s.user(&alice).await;
        group(&mut a, &[&bob]).await
    };

    // Every function invocation now fails: the instance dies as the event is handed to it.
    faults.set(FaultConfig::parse("crash=1").unwrap());
    // Fan-out: a presence task ("bob went offline"), as the message function hands one over.
    sns.publish()
        .topic_arn(topic("FanoutTopic"))
        .message(json!({"task": "presence", "userId": bob, "online": false, "lastSeen": 1}).to_string())
        .send()
        .await
        .unwrap();
    // Push: a batch for bob (he has no browser subscribed: the function only looks).
    let batch = json!({"userIds": [bob], "payload": {"roomId": room, "roomTitle": "Team", "roomType": "group", "senderId": alice,
        "senderName": "Alice", "preview": "poisoned", "kind": "text", "seq": 900, "createdAt": 1}});
    sns.publish().topic_arn(topic("PushTopic")).message(batch.to_string()).send().await.unwrap();
    // The index: a message written to the Messages table (its stream feeds the indexer).
    let word = format!("quokka{}", &uid("")[..6]);
    ddb.put_item()
        .table_name(s.table("MessagesTable"))
        .item("roomId", S(room.clone()))
        .item("seq", N("900".into()))
        .item("id", S(chat::ids::ulid(1_795_000_000_000)))
        .item("senderId", S(alice.clone()))
        .item("kind", S("text".into()))
        .item("content", S(format!("a {word} in the stream")))
        .item("createdAt", N("1795000000000".into()))
        .send()
        .await
        .unwrap();
    // (The sweeper runs every 2 s and dies too.)

    // Each lands in its queue: the SNS and schedule events after three attempts, the stream
    // batch after its ten retries (about 30 s of backoff).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut bodies: std::collections::BTreeMap<&str, Value> = Default::default();
    while bodies.len() < QUEUES.len() {
        assert!(tokio::time::Instant::now() < deadline, "dead letters so far: {:?}\n{}", bodies.keys(), s.logs());
        for q in QUEUES {
            if bodies.contains_key(q) {
                continue;
            }
            let out = sqs.receive_message().queue_url(&urls[q]).visibility_timeout(0).message_attribute_names("All").send().await.unwrap();
            if let Some(m) = out.messages().first() {
                if q != "IndexerDeadLetterQueue" {
                    let attrs = m.message_attributes().unwrap();
                    assert!(attrs.contains_key("ErrorMessage") && attrs.contains_key("RequestID"), "{q}: Lambda's attributes: {attrs:?}");
                }
                bodies.insert(q, serde_json::from_str(m.body().unwrap()).unwrap());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(bodies["FanoutDeadLetterQueue"]["Records"][0]["Sns"]["Message"].as_str().map(|m| m.contains("presence")), Some(true));
    assert_eq!(bodies["NotifyDeadLetterQueue"]["Records"][0]["Sns"]["TopicArn"], json!(topic("PushTopic")));
    assert_eq!(bodies["SweeperDeadLetterQueue"]["detail-type"], "Scheduled Event");
    let info = &bodies["IndexerDeadLetterQueue"]["DDBStreamBatchInfo"];
    assert!(info["shardId"].is_string() && info["startSequenceNumber"].is_string() && info["batchSize"] == 1, "{info}");

    // The cause is gone; alice is online again; the queues are replayed.
    faults.set(FaultConfig::default());
    let mut a = s.user(&alice).await;
    let marker = s.logs().len();
    let mut cmd_env = env.clone();
    cmd_env.extend(s.stack.spec.functions["IndexerFunction"].environment.clone());
    cmd_env.insert("AWS_REGION".into(), "us-east-1".into());
    let mut summaries = std::collections::BTreeMap::new();
    for q in QUEUES {
        let out = tokio::process::Command::new(bin_dir().join("chatctl"))
            .args(["redrive", q, "--stack", &s.stack_name])
            .envs(&cmd_env)
            .kill_on_drop(true)
            .output()
            .await
            .expect("run chatctl");
        assert!(out.status.success(), "chatctl redrive {q}: {}", String::from_utf8_lossy(&out.stderr));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        summaries.insert(q, summary);
    }
    let count = |q: &str, k: &str| summaries[q][k].as_u64().unwrap_or(0);
    for q in ["FanoutDeadLetterQueue", "NotifyDeadLetterQueue", "IndexerDeadLetterQueue"] {
        assert!(count(q, "replayed") >= 1 && count(q, "failed") == 0, "{q}: {}", summaries[q]);
    }
    assert!(count("SweeperDeadLetterQueue", "skipped") >= 1 && count("SweeperDeadLetterQueue", "failed") == 0, "{summaries:?}");

    // What each did, now: alice hears that bob went offline (the replayed fan-out task), the push
    // function ran the batch, the message is found.
    let p = a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == false).await;
    assert_eq!(p["userId"], json!(bob));
    chat_tests::eventually("the push batch ran", || async {
        s.logs()[marker..].lines().any(|l| l.contains("sns -> NotifyFunction") && l.ends_with(" ok")).then_some(())
    })
    .await;
    let token = s.token(&alice, Some("Alice"), "user");
    let found = rest("GET", &format!("{}/search?q={word}", s.api()), Some(&token), None).await;
    assert_eq!((found.status, found.json()["results"].as_array().map(Vec::len)), (200, Some(1)), "{}", found.body);
    // Nothing is left behind (the sweeper's queue may have got one more while the faults were
    // being lifted: redriven again, it is empty too).
    for q in ["FanoutDeadLetterQueue", "NotifyDeadLetterQueue", "IndexerDeadLetterQueue"] {
        let out = sqs.receive_message().queue_url(&urls[q]).send().await.unwrap();
        assert!(out.messages().is_empty(), "{q} still holds {:?}", out.messages());
    }
}
