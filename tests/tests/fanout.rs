//! A group of 1,000 members, all connected, over real sockets: a message reaches every other member
//! exactly once. Past 200 connections the sending invocation hands the rest of the fan-out to
//! FanoutFunction through SNS (moto), as on AWS; the sender's ack does not wait for it.

use chat_tests::{uid, Client, StackSpec, TestStack};
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};

const MEMBERS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_a_room_of_1000_reaches_every_member_once() {
    let mut spec = StackSpec { max_concurrency: 10, ..StackSpec::default() };
    spec.parameters.insert("MaxGroupSize".into(), MEMBERS.to_string());
    let s = TestStack::start(spec).await;
    let run = uid("");
    let users: Vec<String> = (0..MEMBERS).map(|i| format!("m{run}-{i}")).collect();
    let clients: Vec<Client> = futures_util::stream::iter(users.iter())
        .map(|u| {
            let url = format!("{}?token={}", s.ws_url(), s.token(u, None, "user"));
            async move { Client::connect(&url, &[]).await.unwrap_or_else(|e| panic!("{u}: {e}")) }
        })
        .buffered(20)
        .collect()
        .await;
    let mut clients = clients;
    let others: Vec<&str> = users[1..].iter().map(String::as_str).collect();
    let created = clients[0].request(json!({"action": "room.create", "type": "group", "name": "Everyone", "members": others})).await;
    assert_eq!(created["type"], "room.created", "{created}");
    assert_eq!(created["room"]["memberCount"], MEMBERS);
    let room = created["room"]["roomId"].as_str().unwrap().to_string();

    let started = Instant::now();
    clients[0].send(json!({"action": "message.send", "roomId": room, "clientId": "hello-all", "content": "hello, everyone"})).await;
    let ack = clients[0].expect(|f| f["type"] == "ack").await;
    let acked_in = started.elapsed();
    let seq = ack["message"]["seq"].clone();
    // Every other member gets it exactly once (in parallel: each client waits for its own).
    let mut rest: Vec<Client> = clients.split_off(1);
    let waits = rest.iter_mut().map(|c| async move {
        c.expect(|f| f["type"] == "message.new" && f["message"]["clientId"] == "hello-all").await;
        c.assert_none(|f| f["type"] == "message.new" && f["message"]["clientId"] == "hello-all", Duration::from_millis(300)).await;
    });
    futures_util::future::join_all(waits).await;
    let all_in = started.elapsed();
    assert_eq!(seq, 1);
    let logs = s.logs();
    assert!(logs.contains("sns -> FanoutFunction"), "the fan-out was split through SNS");
    eprintln!("1,000 members: ack after {acked_in:?}, the last of 999 deliveries after {all_in:?}");
}
