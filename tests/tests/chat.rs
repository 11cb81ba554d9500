//! The chat protocol over real sockets: the real functions behind the dev gateway, DynamoDB Local.

use chat_tests::chat_dev::gateway::GatewayConfig;
use chat_tests::{direct, eventually, group, uid, Client, StackSpec, TestStack};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(1200);

async fn send(c: &mut Client, room: &str, text: &str) -> Value {
    let client_id = uid("c-");
    c.send(json!({"action": "message.send", "roomId": room, "clientId": client_id, "content": text})).await;
    let ack = c.expect(|f| f["type"] == "ack" && f["clientId"] == json!(client_id)).await;
    ack["message"].clone()
}

async fn error_for(c: &mut Client, frame: Value) -> Value {
    let r = c.request(frame).await;
    assert_eq!(r["type"], "error", "expected an error, got {r}");
    r
}

#[tokio::test]
async fn a_message_reaches_the_other_member_and_the_senders_other_devices() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a1 = s.user(&alice).await;
    let mut a2 = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a1, &bob).await;
    // Creating the direct room again returns the same room.
    let again = a1.request(json!({"action": "room.create", "type": "direct", "members": [bob]})).await;
    assert_eq!((again["room"]["roomId"].as_str(), again["created"].as_bool()), (Some(room.as_str()), Some(false)));
    let again = b.request(json!({"action": "room.create", "type": "direct", "members": [alice]})).await;
    assert_eq!(again["room"]["roomId"], json!(room));

    a1.send(json!({"action": "message.send", "roomId": room, "clientId": "m1", "content": "hello bob"})).await;
    let ack = a1.expect(|f| f["type"] == "ack").await;
    assert_eq!(ack["clientId"], "m1");
    assert_eq!(ack["duplicate"], false);
    let m = &ack["message"];
    assert_eq!(m["seq"], 1);
    assert_eq!(m["senderId"], json!(alice));
    assert!(m["id"].as_str().is_some_and(|id| id.len() == 26), "{m}");
    assert!(m["createdAt"].as_u64().unwrap() > 1_700_000_000_000);

    let got = b.expect(|f| f["type"] == "message.new").await;
    assert_eq!(got["message"], *m);
    let other_device = a2.expect(|f| f["type"] == "message.new").await;
    assert_eq!(other_device["message"]["id"], m["id"]);
    // The sending connection has its ack; it gets no second copy.
    a1.assert_none(|f| f["type"] == "message.new", QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_get_one_order_with_strictly_increasing_seqs() {
    let s = TestStack::chat().await;
    let users: Vec<String> = (0..5).map(|i| uid(&format!("u{i}"))).collect();
    let mut clients = Vec::new();
    for u in &users {
        clients.push(s.user(u).await);
    }
    let others: Vec<&str> = users[1..].iter().map(String::as_str).collect();
    let room = group(&mut clients[0], &others).await;
    const PER: usize = 8;
    let total = PER * clients.len();
    // Five senders at once, each sending its messages one after the other (as the SDK does:
    // API Gateway runs a connection's frames concurrently, so a client waits for each ack).
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let room = room.clone();
            tokio::spawn(async move {
                let mut view = BTreeMap::new();
                let mut own = Vec::new();
                for k in 0..PER {
                    let client_id = format!("{i}-{k}");
                    c.send(json!({"action": "message.send", "roomId": room, "clientId": client_id, "content": format!("from {i} #{k}")}))
                        .await;
                    let ack = c.expect(|f| f["type"] == "ack" && f["clientId"] == json!(client_id)).await;
                    own.push(ack["message"]["seq"].as_u64().unwrap());
                    view.insert(ack["message"]["seq"].as_u64().unwrap(), ack["message"]["content"].as_str().unwrap().to_string());
                }
                while view.len() < total {
                    let f = c.expect(|f| f["type"] == "message.new" && f["message"]["kind"] == "text").await;
                    let seq = f["message"]["seq"].as_u64().unwrap();
                    assert!(
                        view.insert(seq, f["message"]["content"].as_str().unwrap().to_string()).is_none(),
                        "client {i} got seq {seq} twice"
                    );
                }
                c.assert_none(|f| f["type"] == "message.new", Duration::from_millis(500)).await;
                assert!(own.windows(2).all(|w| w[0] < w[1]), "client {i}: its own messages in the order sent: {own:?}");
                // Writing reads: what is unread are the others' messages after one's own last one,
                // also when contention gave a send another seq than the one first expected.
                let list = c.request(json!({"action": "room.list"})).await;
                let unread = list["rooms"][0]["unread"].as_u64().unwrap();
                assert_eq!(unread, total as u64 - own.last().unwrap(), "client {i}: unread after its last own message {own:?}");
                (view, c)
            })
        })
        .collect();
    let mut views = Vec::new();
    let mut first = None;
    for t in tasks {
        let (view, c) = t.await.unwrap();
        assert_eq!(view.keys().copied().collect::<Vec<_>>(), (1..=total as u64).collect::<Vec<_>>(), "gapless, no reuse, none twice");
        views.push(view);
        first.get_or_insert(c);
    }
    assert!(views.windows(2).all(|w| w[0] == w[1]), "every client sees the same seq -> message mapping");
    let h = first.unwrap().request(json!({"action": "history", "roomId": room, "limit": 100})).await;
    let hist: BTreeMap<u64, String> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["content"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(hist, views[0], "history agrees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_client_id_three_times_stores_and_broadcasts_once() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    let frame = json!({"action": "message.send", "roomId": room, "clientId": "same-id", "content": "once"});
    // Two racing, then one more after they are answered.
    a.send(frame.clone()).await;
    a.send(frame.clone()).await;
    let first = a.expect(|f| f["type"] == "ack").await;
    let second = a.expect(|f| f["type"] == "ack").await;
    a.send(frame.clone()).await;
    let third = a.expect(|f| f["type"] == "ack").await;
    for ack in [&second, &third] {
        assert_eq!(ack["message"], first["message"], "the same ack each time");
    }
    let fresh = [&first, &second, &third].iter().filter(|a| a["duplicate"] == false).count();
    assert_eq!(fresh, 1, "exactly one attempt created the message");
    b.expect(|f| f["type"] == "message.new").await;
    b.assert_none(|f| f["type"] == "message.new", QUIET).await;
    let h = a.request(json!({"action": "history", "roomId": room})).await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 1, "{h}");
    // A clientId is bound to its sender: someone else reusing it gets a conflict, not Alice's ack.
    let e = error_for(&mut b, json!({"action": "message.send", "roomId": room, "clientId": "same-id", "content": "mine?"})).await;
    assert_eq!(e["code"], "conflict");
    assert_eq!(e["clientId"], "same-id");
}

/// Syncs until done; returns the messages per room and the number of pages.
async fn sync_all(c: &mut Client, mut rooms: BTreeMap<String, u64>) -> (BTreeMap<String, Vec<Value>>, usize, Value) {
    let mut got: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut pages = 0;
    let mut cursor = Value::Null;
    loop {
        let r = c.request(json!({"action": "sync", "rooms": rooms, "cursor": cursor})).await;
        cursor = r["nextCursor"].clone();
        assert_eq!(r["type"], "sync", "{r}");
        pages += 1;
        for rs in r["rooms"].as_array().unwrap() {
            let id = rs["room"]["roomId"].as_str().unwrap().to_string();
            let msgs = rs["messages"].as_array().unwrap();
            if let Some(last) = msgs.last() {
                rooms.insert(id.clone(), last["seq"].as_u64().unwrap());
            }
            got.entry(id).or_default().extend(msgs.iter().cloned());
        }
        if r["hasMore"] == false {
            return (got, pages, r);
        }
        assert!(pages < 20, "sync does not converge");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_receives_exactly_what_it_missed_in_order() {
    let mut spec = StackSpec::default();
    spec.parameters.insert("MaxSendsPer10Seconds".into(), "1000".into());
    spec.parameters.insert("MaxFramesPer10Seconds".into(), "1000".into());
    let s = TestStack::start(spec).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    send(&mut a, &room, "before").await;
    let seen = b.expect(|f| f["type"] == "message.new").await["message"]["seq"].as_u64().unwrap();
    b.close(1000, "going offline").await;

    const MISSED: u64 = 250;
    for batch in 0..(MISSED / 25) {
        for k in 0..25 {
            a.send(json!({"action": "message.send", "roomId": room, "clientId": format!("m{batch}-{k}"), "content": format!("missed {}", batch * 25 + k)})).await;
        }
        for _ in 0..25 {
            a.expect(|f| f["type"] == "ack").await;
        }
    }

    let mut b = s.user(&bob).await;
    let (got, pages, _) = sync_all(&mut b, BTreeMap::from([(room.clone(), seen)])).await;
    let msgs = &got[&room];
    let seqs: Vec<u64> = msgs.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, ((seen + 1)..=(seen + MISSED)).collect::<Vec<_>>(), "exactly the missing ones, in order");
    assert!(pages >= 3, "250 messages come in pages (got {pages})");
    let contents: BTreeSet<&str> = msgs.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents.len(), MISSED as usize);
}

#[tokio::test]
async fn typing_reaches_the_others_not_the_sender_and_is_throttled() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    a.send(json!({"action": "typing", "roomId": room, "isTyping": true})).await;
    let t = b.expect(|f| f["type"] == "typing").await;
    assert_eq!(
        (t["userId"].as_str(), t["isTyping"].as_bool(), t["roomId"].as_str()),
        (Some(alice.as_str()), Some(true), Some(room.as_str()))
    );
    // Within 2 s: not broadcast again.
    a.send(json!({"action": "typing", "roomId": room, "isTyping": true})).await;
    b.assert_none(|f| f["type"] == "typing", QUIET).await;
    a.assert_none(|f| f["type"] == "typing", Duration::from_millis(10)).await;
    // A stop always goes through.
    a.send(json!({"action": "typing", "roomId": room, "isTyping": false})).await;
    let t = b.expect(|f| f["type"] == "typing").await;
    assert_eq!(t["isTyping"], false);
    a.assert_none(|f| f["type"] == "typing", Duration::from_millis(300)).await;
    // Never stored: history stays empty.
    let h = a.request(json!({"action": "history", "roomId": room})).await;
    assert_eq!(h["messages"], json!([]));
}

#[tokio::test]
async fn a_socket_killed_without_close_is_cleaned_up_by_the_next_fanout() {
    // $disconnect is best effort on AWS; here it is lost on purpose.
    let s = TestStack::start(StackSpec {
        gateway: GatewayConfig { lose_disconnect_on_abort: true, ..GatewayConfig::default() },
        ..StackSpec::default()
    })
    .await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    b.request(json!({"action": "ping"})).await;
    let bob_conn = connection_of(&s, &bob).await;
    b.kill();
    eventually("the gateway to notice the dead socket", || async { s.logs().contains("$disconnect not delivered").then_some(()) }).await;
    assert!(connection_row(&s, &bob_conn).await.is_some(), "no $disconnect: the row is still there");

    // Within the handshake grace period a 410 does not unregister a connection (its $connect
    // may have registered it before the socket opened).
    // (Bob's "online" may reach Alice at any moment: it is announced off the connect path, and
    // whether it finds the room depends on when it runs. Only "offline" is what this is about.)
    send(&mut a, &room, "are you there?").await;
    a.assert_none(|f| f["type"] == "presence" && f["online"] == false, Duration::from_millis(500)).await;
    assert!(connection_row(&s, &bob_conn).await.is_some());
    // After it, the next fan-out's 410 cleans up.
    tokio::time::sleep(Duration::from_millis(chat::app::HANDSHAKE_GRACE_MS)).await;
    send(&mut a, &room, "still there?").await;
    let p = a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == false).await;
    assert!(p["lastSeen"].as_u64().is_some(), "{p}");
    eventually("the connection row to go", || async { connection_row(&s, &bob_conn).await.is_none().then_some(()) }).await;
    let q = a.request(json!({"action": "presence.query", "roomId": room})).await;
    let bob_entry = q["users"].as_array().unwrap().iter().find(|u| u["userId"] == json!(bob)).cloned().unwrap();
    assert_eq!(bob_entry["online"], false);
}

async fn connection_of(s: &TestStack, user: &str) -> String {
    let ddb = s.dynamodb().await;
    let out = ddb
        .get_item()
        .table_name(s.table("UsersTable"))
        .key("userId", aws_sdk_dynamodb::types::AttributeValue::S(user.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.unwrap()["conns"].as_ss().unwrap()[0].clone()
}

async fn connection_row(s: &TestStack, id: &str) -> Option<()> {
    let ddb = s.dynamodb().await;
    let out = ddb
        .get_item()
        .table_name(s.table("ConnectionsTable"))
        .key("connectionId", aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.map(|_| ())
}

#[tokio::test]
async fn presence_goes_online_with_the_first_connection_and_offline_with_the_last() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    {
        let mut b = s.user(&bob).await;
        direct(&mut b, &alice).await;
        b.close(1000, "").await;
    }
    a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == false).await;
    // An "online" of that first connection may have come before (announcements run off the
    // connect path): it is not the one of the next connection.
    a.drain(Duration::ZERO).await;
    let b1 = s.user(&bob).await;
    a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == true).await;
    let b2 = s.user(&bob).await;
    a.assert_none(|f| f["type"] == "presence", QUIET).await; // a second device: no news
    b1.close(1000, "").await;
    a.assert_none(|f| f["type"] == "presence", QUIET).await; // still online on b2
    b2.close(1000, "").await;
    let off = a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob)).await;
    assert_eq!(off["online"], false);
}

#[tokio::test]
async fn unread_counts_are_exact_after_reconnect_and_cursors_never_move_back() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let dm = direct(&mut a, &bob).await;
    let team = group(&mut a, &[&bob]).await;
    send(&mut b, &dm, "I'm here").await;
    b.close(1000, "").await;
    for i in 0..5 {
        send(&mut a, &dm, &format!("dm {i}")).await;
    }
    for i in 0..3 {
        send(&mut a, &team, &format!("team {i}")).await;
    }
    let mut b = s.user(&bob).await;
    let unread = |list: &Value, room: &str| {
        list["rooms"].as_array().unwrap().iter().find(|r| r["roomId"] == json!(room)).map(|r| r["unread"].as_u64().unwrap()).unwrap()
    };
    let list = b.request(json!({"action": "room.list"})).await;
    assert_eq!((unread(&list, &dm), unread(&list, &team)), (5, 3), "{list}");
    // sync reports the same counts.
    let (_, _, last) = sync_all(&mut b, BTreeMap::new()).await;
    let sync_unread = |room: &str| {
        last["rooms"].as_array().unwrap().iter().find(|r| r["room"]["roomId"] == json!(room)).unwrap()["room"]["unread"].as_u64().unwrap()
    };
    assert_eq!((sync_unread(&dm), sync_unread(&team)), (5, 3));

    // Reading moves the count to 0 and tells the room.
    let last_seq = list["rooms"].as_array().unwrap().iter().find(|r| r["roomId"] == json!(dm)).unwrap()["lastSeq"].as_u64().unwrap();
    b.send(json!({"action": "read", "roomId": dm, "seq": last_seq})).await;
    let r = a.expect(|f| f["type"] == "read").await;
    assert_eq!((r["userId"].as_str(), r["seq"].as_u64()), (Some(bob.as_str()), Some(last_seq)));
    // An older cursor does not move it back (and is not broadcast).
    b.send(json!({"action": "read", "roomId": dm, "seq": 2})).await;
    // A cursor beyond the last message stops at the last message.
    b.send(json!({"action": "read", "roomId": team, "seq": 10_000})).await;
    let r = a.expect(|f| f["type"] == "read").await;
    assert_eq!(r["roomId"], json!(team));
    a.assert_none(|f| f["type"] == "read", QUIET).await;
    let list = b.request(json!({"action": "room.list"})).await;
    assert_eq!((unread(&list, &dm), unread(&list, &team)), (0, 0), "{list}");
    let dm_view = list["rooms"].as_array().unwrap().iter().find(|r| r["roomId"] == json!(dm)).unwrap().clone();
    assert_eq!(dm_view["readSeq"].as_u64(), Some(last_seq));
    // New messages count again; one's own never do.
    send(&mut a, &dm, "one more").await;
    send(&mut b, &team, "my own").await;
    let list = b.request(json!({"action": "room.list"})).await;
    assert_eq!((unread(&list, &dm), unread(&list, &team)), (1, 0));
    // Delivery receipts move forward the same way.
    b.send(json!({"action": "delivered", "roomId": dm, "seq": last_seq + 1})).await;
    let d = a.expect(|f| f["type"] == "delivered").await;
    assert_eq!(d["seq"].as_u64(), Some(last_seq + 1));
}

#[tokio::test]
async fn a_non_member_cannot_send_read_sync_or_see_typing() {
    let s = TestStack::chat().await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let mut c = s.user(&carol).await;
    let room = direct(&mut a, &bob).await;
    send(&mut a, &room, "private").await;
    for frame in [
        json!({"action": "message.send", "roomId": room, "clientId": "x1", "content": "let me in"}),
        json!({"action": "history", "roomId": room}),
        json!({"action": "typing", "roomId": room, "isTyping": true}),
        json!({"action": "presence.query", "roomId": room}),
        json!({"action": "message.edit", "roomId": room, "seq": 1, "content": "edited"}),
        json!({"action": "read", "roomId": room, "seq": 1}),
    ] {
        let e = error_for(&mut c, frame.clone()).await;
        assert_eq!(e["code"], "not_member", "{frame} -> {e}");
        assert!(e["requestId"].is_string());
    }
    let r = c.request(json!({"action": "sync", "rooms": {room.clone(): 0}})).await;
    assert_eq!(r["removed"], json!([room]));
    assert!(r["rooms"].as_array().unwrap().iter().all(|rs| rs["room"]["roomId"] != json!(room)));
    // Typing in the room never reaches Carol.
    a.send(json!({"action": "typing", "roomId": room, "isTyping": true})).await;
    c.assert_none(|f| f["type"] == "typing" || f["type"] == "message.new", QUIET).await;
    // A room that does not exist gets the same answer: a non-member learns nothing about a room.
    let e = error_for(&mut c, json!({"action": "history", "roomId": "gr_nosuchroom"})).await;
    assert_eq!(e["code"], "not_member");
}

#[tokio::test]
async fn every_bad_token_is_refused_at_the_handshake() {
    let s = TestStack::chat().await;
    let url = s.ws_url();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"sub": "mallory", "exp": now + 600});
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims));
    let wrong_key = chat::auth::mint_hs256(b"not-the-secret", &serde_json::from_value(claims.clone()).unwrap());
    let expired = s.token_exp("mallory", None, "user", -3600);
    let good = s.token("mallory", None, "user");
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        parts[1] = b64(&json!({"sub": "alice", "exp": now + 600}));
        parts.join(".")
    };
    for (what, query) in [
        ("missing", String::new()),
        ("malformed", "?token=abc".into()),
        ("expired", format!("?token={expired}")),
        ("wrong key", format!("?token={wrong_key}")),
        ("alg none", format!("?token={alg_none}")),
        ("tampered payload", format!("?token={tampered}")),
    ] {
        let r = Client::connect(&format!("{url}{query}"), &[]).await;
        assert_eq!(r.err().as_deref(), Some("401"), "{what}");
    }
    // The browser way: the token in Sec-WebSocket-Protocol, answered with the app protocol.
    let c = Client::connect(&url, &["chat.v1", &good]).await.unwrap();
    assert_eq!(c.protocol.as_deref(), Some("chat.v1"));
    let r = Client::connect(&url, &["chat.v1", &expired]).await;
    assert_eq!(r.err().as_deref(), Some("401"));
}

#[tokio::test]
async fn pages_of_origins_not_allowed_are_refused_at_the_handshake() {
    let mut spec = StackSpec::default();
    spec.parameters.insert("AllowedOrigins".into(), "https://shop.example.com, https://*.example.org".into());
    let s = TestStack::start(spec).await;
    let url = format!("{}?token={}", s.ws_url(), s.token("olga", None, "user"));
    for origin in ["https://evil.example", "https://shop.example.com.evil.example", "http://shop.example.com"] {
        let r = Client::connect_with(&url, &[], &[("origin", origin)]).await;
        assert_eq!(r.err().as_deref(), Some("403"), "{origin}");
    }
    for origin in ["https://shop.example.com", "https://help.example.org"] {
        let mut c = Client::connect_with(&url, &[], &[("origin", origin)]).await.unwrap_or_else(|e| panic!("{origin}: {e}"));
        assert_eq!(c.request(json!({"action": "ping"})).await["type"], "pong", "{origin}");
    }
    // No Origin header: not a web page (a server, a native app); the token decides.
    let mut c = Client::connect(&url, &[]).await.unwrap();
    assert_eq!(c.request(json!({"action": "ping"})).await["type"], "pong");
    // The origin check does not stand in for the token.
    let r = Client::connect_with(&s.ws_url(), &[], &[("origin", "https://shop.example.com")]).await;
    assert_eq!(r.err().as_deref(), Some("401"));
}

#[tokio::test]
async fn bad_input_gets_a_structured_error_never_a_crash() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    use tokio_tungstenite::tungstenite::Message;
    a.send_raw(Message::Text("{not json".into())).await.unwrap();
    let e = a.expect(|f| f["type"] == "error").await;
    assert_eq!(e["code"], "invalid_frame");

    let cases = [
        (json!({"action": "message.send", "roomId": 5, "clientId": "x", "content": "hi"}), "roomId"),
        (json!({"action": "message.send", "clientId": "x", "content": "hi"}), "roomId"),
        (json!({"action": "message.send", "roomId": room, "clientId": "x"}), "content"),
        (json!({"action": "message.send", "roomId": room, "clientId": "", "content": "hi"}), "clientId"),
        (json!({"action": "message.send", "roomId": room, "clientId": "x", "content": "hi", "colour": "red"}), "colour"),
        (json!({"action": "history", "roomId": room, "limit": 1000}), "limit"),
        (json!({"action": "typing", "roomId": room, "isTyping": "yes"}), "isTyping"),
        (json!({"action": "nope"}), "action"),
        (json!({"action": 7}), "action"),
        (json!({"roomId": room}), "action"),
    ];
    for (frame, field) in cases {
        let e = error_for(&mut a, frame.clone()).await;
        assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_frame"), Some(field)), "{frame} -> {e}");
    }
    // System messages are the site's: a user's is refused as a permission, not a malformed frame.
    let e = error_for(&mut a, json!({"action": "message.send", "roomId": room, "clientId": "x", "content": "hi", "kind": "system"})).await;
    assert_eq!(e["code"], "forbidden", "{e}");
    let e = error_for(&mut a, json!({"action": "message.send", "roomId": room, "clientId": "big", "content": "x".repeat(20 * 1024)})).await;
    assert_eq!(e["code"], "too_large");
    assert_eq!(e["clientId"], "big");
    // Binary frames are not part of the protocol.
    a.send_raw(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(a.expect(|f| f["type"] == "error").await["code"], "invalid_frame");
    // Still working after all that.
    send(&mut a, &room, "still here").await;
    // And a 129 KB message is closed by the gateway with 1009, as API Gateway does.
    a.send_raw(Message::Text(format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(129 * 1024)).into())).await.unwrap();
    let close = a.expect_closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1009));
}

#[tokio::test]
async fn edits_and_deletes_are_broadcast_and_reach_clients_that_were_away() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    let m1 = send(&mut a, &room, "frist").await;
    let m2 = send(&mut a, &room, "oops").await;
    // Bob syncs once, so he knows the room's version, then goes away.
    let (_, _, r) = sync_all(&mut b, BTreeMap::from([(room.clone(), 0)])).await;
    let ver = r["rooms"].as_array().unwrap().iter().find(|x| x["room"]["roomId"] == json!(room)).unwrap()["ver"].as_u64().unwrap();
    b.close(1000, "").await;

    let e = a.request(json!({"action": "message.edit", "roomId": room, "seq": m1["seq"], "content": "first"})).await;
    assert_eq!((e["type"].as_str(), e["message"]["content"].as_str()), (Some("message.updated"), Some("first")));
    assert!(e["message"]["editedAt"].is_u64());
    let d = a.request(json!({"action": "message.delete", "roomId": room, "seq": m2["seq"]})).await;
    assert_eq!((d["message"]["content"].as_str(), d["message"]["deletedAt"].is_u64()), (Some(""), true));
    // Not someone else's, not twice.
    let mut b = s.user(&bob).await;
    assert_eq!(error_for(&mut b, json!({"action": "message.delete", "roomId": room, "seq": m1["seq"]})).await["code"], "forbidden");
    assert_eq!(error_for(&mut a, json!({"action": "message.delete", "roomId": room, "seq": m2["seq"]})).await["code"], "not_found");

    let r = b.request(json!({"action": "sync", "rooms": {room.clone(): m2["seq"]}, "versions": {room.clone(): ver}})).await;
    let rs = r["rooms"].as_array().unwrap().iter().find(|x| x["room"]["roomId"] == json!(room)).unwrap().clone();
    let updates: Vec<(u64, String)> = rs["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["content"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(updates, vec![(1, "first".to_string()), (2, String::new())]);
    assert!(rs["ver"].as_u64().unwrap() > ver);

    // Live edits reach the other side.
    let m3 = send(&mut a, &room, "live").await;
    a.send(json!({"action": "message.edit", "roomId": room, "seq": m3["seq"], "content": "live, edited"})).await;
    let u = b.expect(|f| f["type"] == "message.updated").await;
    assert_eq!(u["message"]["content"], "live, edited");
}

#[tokio::test]
async fn group_admins_add_and_remove_members_and_members_can_leave() {
    let s = TestStack::chat().await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let mut c = s.user(&carol).await;
    let room = group(&mut a, &[&bob]).await;
    b.expect(|f| f["type"] == "room.joined").await;
    // Members cannot add; the owner can.
    assert_eq!(error_for(&mut b, json!({"action": "room.add", "roomId": room, "members": [carol]})).await["code"], "forbidden");
    let up = a.request(json!({"action": "room.add", "roomId": room, "members": [carol]})).await;
    assert_eq!((up["type"].as_str(), up["room"]["memberCount"].as_u64()), (Some("room.updated"), Some(3)));
    let joined = c.expect(|f| f["type"] == "room.joined").await;
    assert_eq!(joined["room"]["roomId"], json!(room));
    let sys = b.expect(|f| f["type"] == "message.new" && f["message"]["kind"] == "system").await;
    assert_eq!(sys["message"]["meta"]["event"], "member.added");
    // Carol can talk now.
    send(&mut c, &room, "hi all").await;
    // Removing: the owner removes Bob, who learns it and loses access.
    a.request(json!({"action": "room.remove", "roomId": room, "userId": bob})).await;
    let left = b.expect(|f| f["type"] == "room.left").await;
    assert_eq!(left["by"], json!(alice));
    assert_eq!(error_for(&mut b, json!({"action": "history", "roomId": room})).await["code"], "not_member");
    // Leaving: Carol leaves; Alice sees it in the room.
    let l = c.request(json!({"action": "room.leave", "roomId": room})).await;
    assert_eq!(l["type"], "room.left");
    let sys = a.expect(|f| f["type"] == "message.new" && f["message"]["meta"]["event"] == "member.left").await;
    assert_eq!(sys["message"]["kind"], "system");
    // Direct rooms cannot be left.
    let dm = direct(&mut a, &bob).await;
    assert_eq!(error_for(&mut a, json!({"action": "room.leave", "roomId": dm})).await["code"], "forbidden");
}

#[tokio::test]
async fn groups_are_bounded_by_the_configured_size() {
    let s = TestStack::chat().await;
    let alice = uid("alice");
    let mut a = s.user(&alice).await;
    let many: Vec<String> = (0..100).map(|i| format!("{alice}-m{i}")).collect();
    let e = error_for(&mut a, json!({"action": "room.create", "type": "group", "members": many})).await;
    assert_eq!(e["code"], "room_full");
    let room = group(&mut a, &many[..98].iter().map(String::as_str).collect::<Vec<_>>()).await;
    a.request(json!({"action": "room.add", "roomId": room, "members": [many[98]]})).await;
    let e = error_for(&mut a, json!({"action": "room.add", "roomId": room, "members": [many[99]]})).await;
    assert_eq!(e["code"], "room_full");
}

#[tokio::test]
async fn history_pages_newest_first_with_a_cursor() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    for i in 0..7 {
        send(&mut a, &room, &format!("m{i}")).await;
    }
    let p1 = a.request(json!({"action": "history", "roomId": room, "limit": 3})).await;
    let seqs = |p: &Value| p["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!((seqs(&p1), p1["hasMore"].as_bool(), p1["nextCursor"].as_u64()), (vec![7, 6, 5], Some(true), Some(5)));
    let p2 = a.request(json!({"action": "history", "roomId": room, "limit": 3, "beforeSeq": 5})).await;
    assert_eq!(seqs(&p2), vec![4, 3, 2]);
    let p3 = a.request(json!({"action": "history", "roomId": room, "limit": 3, "beforeSeq": 2})).await;
    assert_eq!((seqs(&p3), p3["hasMore"].as_bool()), (vec![1], Some(false)));
    assert!(p3["nextCursor"].is_null());
}

#[tokio::test]
async fn a_flooding_member_is_rate_limited_per_room() {
    let mut spec = StackSpec::default();
    spec.parameters.insert("MaxSendsPer10Seconds".into(), "5".into());
    let s = TestStack::start(spec).await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    let other_room = direct(&mut a, &carol).await;
    // The budget is 5 per member per room per fixed 10 s window: eleven quick sends span at most
    // two windows, so at most ten pass, and at least the first five do.
    let mut accepted = 0;
    let refused = loop {
        let client_id = format!("flood-{accepted}");
        let r = a.request(json!({"action": "message.send", "roomId": room, "clientId": client_id, "content": "flood"})).await;
        if r["type"] == "error" {
            break r;
        }
        accepted += 1;
        assert!(accepted <= 10, "eleven sends and none refused");
    };
    assert_eq!(
        (refused["code"].as_str(), refused["clientId"].as_str()),
        (Some("rate_limited"), Some(format!("flood-{accepted}").as_str()))
    );
    assert!(accepted >= 5, "refused after only {accepted}");
    // Per member and room: Alice's other room and Bob are not affected.
    send(&mut a, &other_room, "elsewhere").await;
    send(&mut b, &room, "hi").await;
    // Nothing was stored for the refused frame.
    let h = b.request(json!({"action": "history", "roomId": room})).await;
    assert_eq!(h["messages"].as_array().unwrap().len(), accepted + 1);
}
