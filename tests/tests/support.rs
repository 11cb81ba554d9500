//! The support desk over real sockets: guests from `POST /support/guest`, the queue, race-safe
//! accepts, transfer, close and rating, the "nobody online" alert read back from moto's SNS
//! through an SQS subscription.

use chat_tests::desk::{guest, operator, sid, start};
use chat_tests::{http, rest, uid, Client, TestStack};
use serde_json::{json, Value};
use std::time::Duration;

/// The next `queue.position` of a visitor that says `position`.
async fn position_becomes(c: &mut Client, position: u64) -> Value {
    c.expect(|f| f["type"] == "queue.position" && f["position"] == json!(position)).await
}

#[tokio::test]
async fn three_visitors_see_positions_1_2_3_and_move_up_as_sessions_are_accepted() {
    let s = TestStack::chat().await;
    let mut op = operator(&s, &uid("op"), "Olga").await;
    let (mut v1, _, _) = guest(&s, "Vera").await;
    let (mut v2, _, _) = guest(&s, "Vlad").await;
    let (mut v3, _, _) = guest(&s, "Vic").await;
    let (s1, p1) = start(&mut v1, "first").await;
    let (s2, p2) = start(&mut v2, "second").await;
    let (s3, p3) = start(&mut v3, "third <b>").await;
    assert_eq!([&p1["position"], &p2["position"], &p3["position"]], [&json!(1), &json!(2), &json!(3)]);
    assert_eq!(p1["operatorsOnline"], 1);
    // Before any session was accepted: the stated fallback, 60 s per position.
    assert_eq!([&p1["estimatedWaitSeconds"], &p3["estimatedWaitSeconds"]], [&json!(60), &json!(180)]);
    assert_eq!(s3["firstMessage"], "third <b>");
    assert_eq!(s1["context"]["url"], "https://shop.example.com/cart");

    // The operator saw the queue grow to three, oldest first, with first messages and pages.
    let q = op.expect(|f| f["type"] == "queue.updated" && f["total"] == 3).await;
    let ids: Vec<&str> = q["queue"].as_array().unwrap().iter().map(|e| e["sessionId"].as_str().unwrap()).collect();
    assert_eq!(ids, [sid(&s1), sid(&s2), sid(&s3)]);
    assert_eq!(
        (q["queue"][0]["firstMessage"].as_str(), q["queue"][0]["pageUrl"].as_str(), q["queue"][0]["visitor"]["name"].as_str()),
        (Some("first"), Some("https://shop.example.com/cart"), Some("Vera"))
    );

    // Accepting the first moves the others up; the estimate is now the real wait.
    let acc = op.request(json!({"action": "session.accept", "sessionId": sid(&s1)})).await;
    assert_eq!(acc["type"], "session.accepted", "{acc}");
    assert_eq!(acc["session"]["status"], "active");
    assert_eq!(acc["messages"][0]["content"], "first", "the operator gets the history");
    let waited_ms = acc["session"]["acceptedAt"].as_u64().unwrap() - acc["session"]["createdAt"].as_u64().unwrap();
    let joined = v1.expect_type("operator.joined").await;
    assert_eq!((joined["name"].as_str(), joined["sessionId"].as_str()), (Some("Olga"), Some(sid(&s1).as_str())));
    let n2 = position_becomes(&mut v2, 1).await;
    let n3 = position_becomes(&mut v3, 2).await;
    let per = waited_ms.div_ceil(1000).max(1);
    assert_eq!(
        (n2["estimatedWaitSeconds"].as_u64(), n3["estimatedWaitSeconds"].as_u64()),
        (Some(per), Some(2 * per)),
        "waited {waited_ms} ms"
    );
    op.expect(|f| f["type"] == "queue.updated" && f["total"] == 2).await;

    // The visitor and the operator talk in the session room.
    v1.send(json!({"action": "message.send", "roomId": sid(&s1), "clientId": "v1-2", "content": "hello?"})).await;
    assert_eq!(op.expect_type("message.new").await["message"]["content"], "hello?");
    op.send(json!({"action": "message.send", "roomId": sid(&s1), "clientId": "op-1", "content": "Hi Vera"})).await;
    assert_eq!(v1.expect_type("message.new").await["message"]["content"], "Hi Vera");

    // A visitor who gives up leaves the queue; the one behind moves up.
    let closed = v2.request(json!({"action": "session.close", "sessionId": sid(&s2)})).await;
    assert_eq!(closed["type"], "session.closed", "{closed}");
    position_becomes(&mut v3, 1).await;
    op.expect(|f| f["type"] == "queue.updated" && f["total"] == 1).await;
}

#[tokio::test]
async fn two_operators_accepting_the_same_session_at_once_one_wins_every_time() {
    // A hundred races in a few seconds: more frames per connection than a person sends.
    let mut spec = chat_tests::StackSpec::default();
    spec.parameters.insert("MaxFramesPer10Seconds".into(), "1000".into());
    // These clients send no pings: on a slower target (LocalStack: 165 s) the sweeper would close
    // them as silent after three intervals. Heartbeats are tested in heartbeat.rs.
    spec.parameters.insert("HeartbeatSeconds".into(), "180".into());
    let s = TestStack::start(spec).await;
    let (a_id, b_id) = (uid("opa"), uid("opb"));
    let mut a = operator(&s, &a_id, "Ann").await;
    let mut b = operator(&s, &b_id, "Ben").await;
    let (mut v, _, _) = guest(&s, "Val").await;
    let (mut wins_a, mut wins_b) = (0, 0);
    // A hundred on the embedded services; thirty on LocalStack, where each round trip is slower.
    let trials = if std::env::var_os("AWS_ENDPOINT_URL").is_some() { 30 } else { 100 };
    for trial in 0..trials {
        let (session, _) = start(&mut v, &format!("trial {trial}")).await;
        let id = sid(&session);
        let ra = format!("a{trial}");
        let rb = format!("b{trial}");
        a.send(json!({"action": "session.accept", "sessionId": id, "ref": ra})).await;
        b.send(json!({"action": "session.accept", "sessionId": id, "ref": rb})).await;
        let fa = a.expect(|f| f["ref"] == json!(ra)).await;
        let fb = b.expect(|f| f["ref"] == json!(rb)).await;
        let (winner, loser) = match (fa["type"].as_str(), fb["type"].as_str()) {
            (Some("session.accepted"), Some("error")) => {
                wins_a += 1;
                (fa, fb)
            }
            (Some("error"), Some("session.accepted")) => {
                wins_b += 1;
                (fb, fa)
            }
            other => panic!("trial {trial}: exactly one must win, got {other:?}: {fa} / {fb}"),
        };
        assert_eq!(loser["code"], "conflict", "{loser}");
        // Nothing lost: the winner holds the visitor's message.
        assert_eq!(winner["messages"][0]["content"], json!(format!("trial {trial}")));
        let op = winner["session"]["operator"]["userId"].as_str().unwrap().to_string();
        let joined = v.expect(|f| f["type"] == "operator.joined" && f["sessionId"] == json!(id)).await;
        assert_eq!(joined["operatorId"], json!(op));
        let closer = if op == a_id { &mut a } else { &mut b };
        let c = closer.request(json!({"action": "session.close", "sessionId": id, "resolution": "done"})).await;
        assert_eq!(c["type"], "session.closed", "{c}");
        v.expect(|f| f["type"] == "session.closed" && f["session"]["sessionId"] == json!(id)).await;
    }
    println!("accept races: {wins_a} won by one operator, {wins_b} by the other");
    assert_eq!(wins_a + wins_b, trials);
}

#[tokio::test]
async fn transfer_close_and_one_rating_stored_with_the_session() {
    let s = TestStack::chat().await;
    let (a_id, b_id) = (uid("opa"), uid("opb"));
    let mut a = operator(&s, &a_id, "Ann").await;
    let mut b = operator(&s, &b_id, "Ben").await;
    let (mut v, vid, _) = guest(&s, "Val").await;
    let (session, _) = start(&mut v, "my order is late").await;
    let id = sid(&session);
    assert_eq!(a.request(json!({"action": "session.accept", "sessionId": id})).await["type"], "session.accepted");
    v.expect(|f| f["type"] == "operator.joined" && f["name"] == "Ann").await;

    // Not to someone offline, not by someone else.
    let off = a.request(json!({"action": "session.transfer", "sessionId": id, "toOperatorId": "nobody-online"})).await;
    assert_eq!(off["code"], "conflict", "{off}");
    let not_hers = b.request(json!({"action": "session.transfer", "sessionId": id, "toOperatorId": b_id})).await;
    assert_eq!(not_hers["code"], "forbidden", "{not_hers}");

    let t = a.request(json!({"action": "session.transfer", "sessionId": id, "toOperatorId": b_id})).await;
    assert_eq!(t["type"], "session.transferred", "{t}");
    assert_eq!((t["from"]["userId"].as_str(), t["to"]["userId"].as_str()), (Some(a_id.as_str()), Some(b_id.as_str())));
    let got = b.expect(|f| f["type"] == "session.accepted" && f["session"]["sessionId"] == json!(id)).await;
    assert_eq!(got["messages"][0]["content"], "my order is late");
    v.expect(|f| f["type"] == "operator.joined" && f["name"] == "Ben").await;
    // The new operator talks; the old one is out.
    b.send(json!({"action": "message.send", "roomId": id, "clientId": "b1", "content": "Ben here"})).await;
    assert_eq!(v.expect_type("message.new").await["message"]["content"], "Ben here");
    let out = a.request(json!({"action": "message.send", "roomId": id, "clientId": "a9", "content": "still here?"})).await;
    assert_eq!(out["code"], "not_member", "{out}");

    // Close → both hear it, the visitor may rate once.
    let c = b.request(json!({"action": "session.close", "sessionId": id, "resolution": "Shipped today"})).await;
    assert_eq!(
        (c["type"].as_str(), c["session"]["status"].as_str(), c["session"]["resolution"].as_str()),
        (Some("session.closed"), Some("closed"), Some("Shipped today"))
    );
    let vc = v.expect_type("session.closed").await;
    assert_eq!(vc["ratingRequested"], true);
    let again = b.request(json!({"action": "session.close", "sessionId": id})).await;
    assert_eq!(again["code"], "conflict");
    let bad = v.request(json!({"action": "session.rate", "sessionId": id, "score": 6})).await;
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("invalid_frame"), Some("score")));
    let by_op = b.request(json!({"action": "session.rate", "sessionId": id, "score": 1})).await;
    assert_eq!(by_op["code"], "forbidden");
    let r = v.request(json!({"action": "session.rate", "sessionId": id, "score": 5, "comment": "Quick <i>and</i> kind"})).await;
    assert_eq!((r["type"].as_str(), r["session"]["rating"]["score"].as_u64()), (Some("session.rated"), Some(5)));
    assert_eq!(b.expect_type("session.rated").await["session"]["rating"]["comment"], "Quick <i>and</i> kind");
    let twice = v.request(json!({"action": "session.rate", "sessionId": id, "score": 1})).await;
    assert_eq!(twice["code"], "conflict", "{twice}");

    // Stored with the session: the room list says so, and a new start is a new session.
    let list = b.request(json!({"action": "room.list"})).await;
    let room = list["rooms"].as_array().unwrap().iter().find(|r| r["roomId"] == json!(id)).cloned().unwrap();
    assert_eq!(
        (room["type"].as_str(), room["session"]["rating"]["score"].as_u64(), room["session"]["closedBy"].as_str()),
        (Some("support"), Some(5), Some(b_id.as_str()))
    );
    assert_eq!(room["session"]["visitor"]["userId"], json!(vid));
    let (next, _) = start(&mut v, "one more thing").await;
    assert_ne!(sid(&next), id);
}

#[tokio::test]
async fn a_guest_cannot_read_the_queue_another_session_or_act_as_an_operator() {
    let s = TestStack::chat().await;
    let mut op = operator(&s, &uid("op"), "Olga").await;
    let (mut v1, _, _) = guest(&s, "Vera").await;
    let (mut v2, _, _) = guest(&s, "Eve").await;
    let (s1, _) = start(&mut v1, "private").await;
    let id = sid(&s1);
    let code = |f: &Value| f["code"].as_str().unwrap_or("").to_string();
    assert_eq!(code(&v2.request(json!({"action": "support.queue"})).await), "forbidden");
    assert_eq!(code(&v2.request(json!({"action": "session.accept", "sessionId": id})).await), "forbidden");
    assert_eq!(code(&v2.request(json!({"action": "session.transfer", "sessionId": id, "toOperatorId": "x"})).await), "forbidden");
    assert_eq!(code(&v2.request(json!({"action": "history", "roomId": id})).await), "not_member");
    assert_eq!(code(&v2.request(json!({"action": "session.close", "sessionId": id})).await), "not_member");
    assert_eq!(code(&v2.request(json!({"action": "session.rate", "sessionId": id, "score": 1})).await), "not_member");
    assert_eq!(code(&v2.request(json!({"action": "message.send", "roomId": id, "clientId": "x", "content": "hi"})).await), "not_member");
    // The same answer for a session that does not exist.
    assert_eq!(code(&v2.request(json!({"action": "session.close", "sessionId": "sp_01NOPE"})).await), "not_member");
    // Guests talk in their sessions only.
    assert_eq!(code(&v2.request(json!({"action": "room.create", "type": "direct", "members": ["someone"]})).await), "forbidden");
    // A signed-in site user is a visitor too, not an operator; an operator does not start sessions.
    let mut u = s.user(&uid("user")).await;
    assert_eq!(code(&u.request(json!({"action": "session.accept", "sessionId": id})).await), "forbidden");
    assert_eq!(code(&op.request(json!({"action": "support.start"})).await), "forbidden");
    // Bad input: a clear error naming the field.
    let bad = v2.request(json!({"action": "support.start", "context": {"url": "javascript:alert(1)"}})).await;
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("invalid_frame"), Some("context.url")));
    let unknown = v2.request(json!({"action": "support.start", "context": {"colour": "red"}})).await;
    assert_eq!(unknown["code"], "invalid_frame", "{unknown}");
    // Nothing of the private session reached the other guest.
    v2.assert_none(|f| f["type"] == "queue.updated" || f["type"] == "message.new", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_returning_visitor_gets_the_open_session_and_its_history_on_any_tab() {
    let s = TestStack::chat().await;
    let (mut v, guest_id, _) = guest(&s, "Rita").await;
    let (session, _) = start(&mut v, "are you there?").await;
    let id = sid(&session);
    v.close(1000, "bye").await;
    // Same guest id from localStorage: a new token for the same visitor.
    let r = rest("POST", &format!("{}/support/guest", s.api()), None, Some(&json!({"guestId": guest_id, "name": "Rita"}))).await;
    assert_eq!((r.status, r.json()["guestId"].as_str()), (201, Some(guest_id.as_str())));
    let token = r.json()["token"].as_str().unwrap().to_string();
    let mut tab1 = Client::connect(&format!("{}?token={token}", s.ws_url()), &[]).await.unwrap();
    let mut tab2 = Client::connect(&format!("{}?token={token}", s.ws_url()), &[]).await.unwrap();
    let back = tab1.request(json!({"action": "support.start"})).await;
    assert_eq!((back["created"].as_bool(), back["session"]["sessionId"].as_str()), (Some(false), Some(id.as_str())));
    tab1.expect(|f| f["type"] == "queue.position" && f["position"] == 1).await;
    let h = tab2.request(json!({"action": "history", "roomId": id})).await;
    assert_eq!(h["messages"][0]["content"], "are you there?");
    // Both tabs follow the queue: an operator coming online changes what they are told.
    let _op = operator(&s, &uid("op"), "Olga").await;
    for tab in [&mut tab1, &mut tab2] {
        tab.expect(|f| f["type"] == "queue.position" && f["operatorsOnline"] == 1).await;
    }
    // Bad guest ids are refused with a clear error.
    let bad = rest("POST", &format!("{}/support/guest", s.api()), None, Some(&json!({"guestId": "alice"}))).await;
    assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("guestId")));
}

#[tokio::test]
async fn guest_tokens_are_rate_limited_per_source_address() {
    let s = TestStack::chat().await;
    let url = format!("{}/support/guest", s.api());
    let mut ok = 0;
    let mut limited = None;
    // 20 per minute: a window boundary in the middle gives at most 40 before the refusal. (The
    // address is this test's own, 127.0.0.1, as API Gateway takes it from the connection; the
    // stack's counters are its own.)
    for i in 0..60 {
        let r = http("POST", &url, &[("content-type", "application/json")], Some(b"{}")).await;
        match r.status {
            201 => ok += 1,
            429 => {
                limited = Some((i, r));
                break;
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    let (_, r) = limited.expect("a 429 within 60 requests");
    assert!((20..=40).contains(&ok), "{ok} tokens before the limit");
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["code"], "rate_limited");
    assert!(r.header("retry-after").is_some());
    // Another address is not affected: this machine's other loopback address is another peer.
    let other = from_address("127.0.0.2", &url).await;
    assert!(other.starts_with("HTTP/1.1 201"), "{other}");
}

/// A guest-token POST sent from `local` (a loopback address of this machine): the status line
/// and headers.
async fn from_address(local: &str, url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.strip_prefix("http://").unwrap().split('/').next().unwrap().to_string();
    let path = &url["http://".len() + host.len()..];
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{local}:0").parse().unwrap()).unwrap();
    let mut s = sock.connect(host.parse().unwrap()).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn no_operator_online_publishes_exactly_one_alert_to_the_sns_topic() {
    let s = TestStack::chat().await;
    let (sns, sqs) = (s.sns().await, s.sqs().await);
    let queue = sqs.create_queue().queue_name(format!("{}-alerts", s.stack_name)).send().await.unwrap().queue_url.unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let topic = format!("arn:aws:sns:us-east-1:000000000000:{}", s.table("SupportAlertTopic"));
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).attributes("RawMessageDelivery", "false").send().await.unwrap();

    let (mut v, _, _) = guest(&s, "Nadia").await;
    let started = v.request(json!({"action": "support.start", "content": "Is anyone there?", "clientId": "n1", "context": {"url": "https://shop.example.com/help"}})).await;
    assert_eq!((started["type"].as_str(), started["operatorsOnline"].as_u64()), (Some("session.started"), Some(0)));
    // Messages are kept while the team is away.
    v.expect(|f| f["type"] == "ack" && f["clientId"] == "n1").await;
    let again = v.request(json!({"action": "support.start"})).await;
    assert_eq!(again["created"], false);

    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while got.is_empty() && tokio::time::Instant::now() < deadline {
        let r = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        got.extend(r.messages.unwrap_or_default());
    }
    assert_eq!(got.len(), 1, "one alert: {got:?}");
    // Exactly one: nothing else arrives (the second start found the open session).
    let more = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).wait_time_seconds(2).send().await.unwrap();
    assert!(more.messages.unwrap_or_default().is_empty(), "a second alert");
    let n: Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(n["Subject"], "Visitor waiting: Nadia");
    let body = n["Message"].as_str().unwrap();
    assert!(body.contains("Is anyone there?") && body.contains("https://shop.example.com/help"), "{body}");
}

#[tokio::test]
async fn auto_assignment_gives_each_session_to_the_least_loaded_online_operator_under_capacity() {
    let mut spec = chat_tests::StackSpec::default();
    spec.parameters.insert("SupportAutoAssign".into(), "true".into());
    spec.parameters.insert("OperatorCapacity".into(), "1".into());
    let s = TestStack::start(spec).await;
    let (a_id, b_id) = (uid("opa"), uid("opb"));
    let mut a = operator(&s, &a_id, "Ann").await;
    let mut b = operator(&s, &b_id, "Ben").await;
    let mut assigned = Vec::new();
    for name in ["V1", "V2"] {
        let (mut v, _, _) = guest(&s, name).await;
        let started = v.request(json!({"action": "support.start", "content": format!("hi from {name}"), "clientId": "c1"})).await;
        let id = sid(&started["session"]);
        let joined = v.expect(|f| f["type"] == "operator.joined" && f["sessionId"] == json!(id)).await;
        assigned.push(joined["operatorId"].as_str().unwrap().to_string());
    }
    // One each (capacity 1): the second went to the one without a session.
    assigned.sort();
    let mut both = vec![a_id.clone(), b_id.clone()];
    both.sort();
    assert_eq!(assigned, both);
    for op in [&mut a, &mut b] {
        let got = op.expect_type("session.accepted").await;
        assert_eq!(got["session"]["status"], "active");
    }
    // Both at capacity: the third waits in the queue.
    let (mut v3, _, _) = guest(&s, "V3").await;
    let (session, pos) = start(&mut v3, "anyone?").await;
    assert_eq!((session["status"].as_str(), pos["position"].as_u64()), (Some("waiting"), Some(1)));
    a.expect(|f| f["type"] == "queue.updated" && f["total"] == 1).await;
}
