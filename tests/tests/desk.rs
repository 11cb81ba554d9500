//! The operators' tools over real sockets and REST: internal notes (and every path a visitor
//! reads, none of which holds one), saved replies, availability, reports.

use chat_tests::desk::{guest, operator, sid, start};
use chat_tests::{eventually, rest, uid, Client, TestStack};
use serde_json::{json, Value};

fn contains_text(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

#[tokio::test]
async fn a_note_reaches_the_sessions_operators_and_never_the_visitor() {
    let s = TestStack::chat().await;
    let op_id = uid("op");
    let mut op = operator(&s, &op_id, "Olga").await;
    let op_token = s.token(&op_id, Some("Olga"), "operator");
    let mut op2 = Client::connect(&format!("{}?token={op_token}", s.ws_url()), &[]).await.unwrap();
    let (mut v, _, v_token) = guest(&s, "Vera").await;
    let (session, _) = start(&mut v, "where is my parcel").await;
    let id = sid(&session);
    let acc = op.request(json!({"action": "session.accept", "sessionId": id})).await;
    assert_eq!(acc["type"], "session.accepted", "{acc}");
    v.expect_type("operator.joined").await;

    // The note: acked in the notes' own sequence, on the operator's other console at once.
    let ack = op.request(json!({"action": "message.send", "roomId": id, "clientId": "n-1", "kind": "note", "content": "zebra refund approved by finance"})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(
        (ack["message"]["kind"].as_str(), ack["message"]["seq"].as_u64(), ack["message"]["roomId"].as_str()),
        (Some("note"), Some(1), Some(id.as_str()))
    );
    let live = op2.expect(|f| f["type"] == "message.new").await;
    assert_eq!(live["message"]["kind"], "note", "{live}");

    // The reply after it is the room's seq 2, and it is the first thing the visitor hears.
    op.send(json!({"action": "message.send", "roomId": id, "clientId": "m-1", "content": "Your zebra parcel has shipped"})).await;
    let heard = v.expect(|f| f["type"] == "message.new").await;
    assert_eq!((heard["message"]["seq"].as_u64(), heard["message"]["kind"].as_str()), (Some(2), Some("text")), "{heard}");

    // sync, history, and the note's own history: none for the visitor.
    let sync = v.request(json!({"action": "sync", "rooms": [{"roomId": id, "lastSeq": 0}]})).await;
    assert!(!contains_text(&sync, "finance"), "{sync}");
    let h = v.request(json!({"action": "history", "roomId": id})).await;
    let seqs: Vec<u64> = h["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [2, 1], "{h}");
    assert!(!contains_text(&h, "finance"));
    let denied = v.request(json!({"action": "history", "roomId": id, "notes": true})).await;
    assert_eq!(denied["code"], "forbidden", "{denied}");
    let sent = v.request(json!({"action": "message.send", "roomId": id, "clientId": "v-n", "kind": "note", "content": "me too"})).await;
    assert_eq!(sent["code"], "forbidden", "{sent}");

    // REST: the room list (preview, unread), the history, the notes.
    let api = s.api();
    let chats = rest("GET", &format!("{api}/chats"), Some(&v_token), None).await;
    assert_eq!(chats.status, 200, "{}", chats.body);
    assert!(!contains_text(&chats.json(), "finance"), "{}", chats.body);
    let room = chats.json()["rooms"].as_array().unwrap().iter().find(|c| c["roomId"] == json!(id)).cloned().expect("the session is listed");
    assert_eq!(room["lastSeq"], 2, "{room}");
    let msgs = rest("GET", &format!("{api}/chats/{id}/messages"), Some(&v_token), None).await;
    assert_eq!(msgs.status, 200);
    assert!(!contains_text(&msgs.json(), "finance"), "{}", msgs.body);
    let notes = rest("GET", &format!("{api}/chats/{id}/messages?notes=true"), Some(&v_token), None).await;
    assert_eq!((notes.status, notes.json()["code"].as_str()), (403, Some("forbidden")), "{}", notes.body);
    let notes = rest("GET", &format!("{api}/chats/{id}/messages?notes=true"), Some(&op_token), None).await;
    assert_eq!(notes.status, 200, "{}", notes.body);
    assert_eq!(notes.json()["messages"][0]["content"], "zebra refund approved by finance");

    // Search: the operator finds the note and the reply (so both are indexed); the visitor
    // only the reply.
    let op_hits = eventually("the operator finds the note and the reply", || {
        let url = format!("{api}/search?q=zebra");
        let token = op_token.clone();
        async move {
            let r = rest("GET", &url, Some(&token), None).await;
            let hits = r.json()["results"].as_array().cloned().unwrap_or_default();
            (hits.len() == 2).then_some(hits)
        }
    })
    .await;
    assert!(op_hits.iter().any(|h| h["message"]["kind"] == "note" && h["message"]["roomId"] == json!(id)), "{op_hits:?}");
    let mine = rest("GET", &format!("{api}/search?q=zebra"), Some(&v_token), None).await;
    let hits = mine.json()["results"].as_array().cloned().unwrap();
    assert_eq!(hits.len(), 1, "{}", mine.body);
    assert_eq!(hits[0]["message"]["seq"], 2);

    // Another operator of the team reads the session and its notes (read-only: no writing).
    let mut other = operator(&s, &uid("op"), "Oscar").await;
    let r = other.request(json!({"action": "history", "roomId": id, "notes": true})).await;
    assert_eq!(r["messages"][0]["kind"], "note", "{r}");
    let r = other.request(json!({"action": "message.send", "roomId": id, "clientId": "o-n", "kind": "note", "content": "hi"})).await;
    assert_eq!(r["code"], "not_member", "{r}");
    let r = other.request(json!({"action": "message.send", "roomId": id, "clientId": "o-m", "content": "hi"})).await;
    assert_eq!(r["code"], "not_member", "{r}");
    // Nothing more reached the visitor (the operator's last frame, a typing, comes after).
    op.send(json!({"action": "typing", "roomId": id, "isTyping": true})).await;
    let next = v.expect(|f| f["type"] == "message.new" || f["type"] == "typing").await;
    assert_eq!(next["type"], "typing", "{next}");
}

#[tokio::test]
async fn saved_replies_are_written_by_admins_and_the_site_and_read_by_operators() {
    let s = TestStack::chat().await;
    let api = s.api();
    let url = format!("{api}/support/replies");
    let admin = s.token("ada", Some("Ada"), "admin");
    let site = s.token("shop", Some("Shop"), "service");
    let op = s.token("olga", Some("Olga"), "operator");
    let user = s.token("ursula", None, "user");
    let body = json!({"shortcut": "/refund", "title": "Refund", "text": "Hi {visitor.name}, your refund is on its way."});
    let r = rest("POST", &url, Some(&admin), Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let refund = r.json()["reply"].clone();
    assert_eq!((refund["shortcut"].as_str(), refund["updatedBy"].as_str()), (Some("refund"), Some("ada")));
    assert!(refund["text"].as_str().unwrap().contains("{visitor.name}"), "placeholders are kept");
    let r = rest("POST", &url, Some(&site), Some(&json!({"shortcut": "hours", "text": "We answer 9–17."}))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Operators read, sorted by shortcut; they cannot write. Users and guests cannot read.
    let r = rest("GET", &url, Some(&op), None).await;
    assert_eq!(r.status, 200);
    let shortcuts: Vec<String> =
        r.json()["replies"].as_array().unwrap().iter().map(|x| x["shortcut"].as_str().unwrap().to_string()).collect();
    assert_eq!(shortcuts, ["hours", "refund"]);
    for (token, method) in [(&op, "POST"), (&user, "GET"), (&user, "POST")] {
        let r = rest(method, &url, Some(token), (method == "POST").then_some(&body)).await;
        assert_eq!(r.status, 403, "{method}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }

    // Bad input: problem+json naming the field; a taken shortcut is a conflict.
    for (bad, field) in [
        (json!({"shortcut": "Re fund", "text": "x"}), "shortcut"),
        (json!({"shortcut": "ok", "text": "   "}), "text"),
        (json!({"shortcut": "ok", "text": "x".repeat(2001)}), "text"),
        (json!({"shortcut": "ok", "text": "x", "title": "a\u{7}b"}), "title"),
        (json!({"shortcut": "ok", "text": "x", "colour": "red"}), "colour"),
    ] {
        let r = rest("POST", &url, Some(&admin), Some(&bad)).await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some(field)), "{bad}: {}", r.body);
    }
    let r = rest("POST", &url, Some(&admin), Some(&json!({"shortcut": "refund", "text": "again"}))).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (409, Some("conflict")), "{}", r.body);

    // Change, delete, and what is left.
    let id = refund["id"].as_str().unwrap();
    let r = rest("PUT", &format!("{url}/{id}"), Some(&site), Some(&json!({"shortcut": "refund-eu", "text": "Refunds take 5 days."}))).await;
    assert_eq!((r.status, r.json()["reply"]["shortcut"].as_str()), (200, Some("refund-eu")), "{}", r.body);
    let r = rest("PUT", &format!("{url}/rp_nothing"), Some(&admin), Some(&json!({"shortcut": "x", "text": "y"}))).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = rest("DELETE", &format!("{url}/{id}"), Some(&op), None).await;
    assert_eq!(r.status, 403);
    let r = rest("DELETE", &format!("{url}/{id}"), Some(&admin), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = rest("DELETE", &format!("{url}/{id}"), Some(&admin), None).await;
    assert_eq!(r.status, 404);
    let r = rest("GET", &url, Some(&admin), None).await;
    let left: Vec<String> = r.json()["replies"].as_array().unwrap().iter().map(|x| x["shortcut"].as_str().unwrap().to_string()).collect();
    assert_eq!(left, ["hours"]);
}

#[tokio::test]
async fn an_away_operator_is_not_counted_or_assigned_and_stays_away_on_every_device() {
    let mut spec = chat_tests::StackSpec::default();
    spec.parameters.insert("SupportAutoAssign".into(), "true".into());
    let s = TestStack::start(spec).await;
    let op_id = uid("op");
    let mut op = operator(&s, &op_id, "Olga").await;
    let r = op.request(json!({"action": "operator.status"})).await;
    assert_eq!(r["status"], "online", "{r}");
    let r = op.request(json!({"action": "operator.status", "status": "away"})).await;
    assert_eq!((r["type"].as_str(), r["status"].as_str()), (Some("operator.status"), Some("away")), "{r}");
    // Away operators still hear the queue: it says nobody is online.
    op.expect(|f| f["type"] == "queue.updated" && f["operatorsOnline"] == 0).await;

    // A visitor now: told nobody is online, and waits (not auto-assigned to the away operator).
    let (mut v, _, _) = guest(&s, "Vera").await;
    let (session, pos) = start(&mut v, "hello?").await;
    assert_eq!((session["status"].as_str(), pos["operatorsOnline"].as_u64()), (Some("waiting"), Some(0)), "{session} {pos}");
    op.expect(|f| f["type"] == "queue.updated" && f["total"] == 1).await;

    // A second console of the operator (a reload, another device) is away too.
    let token = s.token(&op_id, Some("Olga"), "operator");
    let mut again = Client::connect(&format!("{}?token={token}", s.ws_url()), &[]).await.unwrap();
    let r = again.request(json!({"action": "operator.status"})).await;
    assert_eq!(r["status"], "away", "{r}");
    let q = again.request(json!({"action": "support.queue"})).await;
    assert_eq!(q["operatorsOnline"], 0, "{q}");

    // Back online from the new console: the first one follows, the visitor hears one online, and
    // the next visitor is assigned.
    let r = again.request(json!({"action": "operator.status", "status": "online"})).await;
    assert_eq!(r["status"], "online");
    op.expect(|f| f["type"] == "operator.status" && f["status"] == "online").await;
    v.expect(|f| f["type"] == "queue.position" && f["operatorsOnline"] == 1).await;
    let (mut w, _, _) = guest(&s, "Walt").await;
    let started = w.request(json!({"action": "support.start", "content": "hi", "clientId": uid("c")})).await;
    assert_eq!(started["type"], "session.started");
    let joined = w.expect_type("operator.joined").await;
    assert_eq!(joined["operatorId"], json!(op_id));

    // Visitors cannot set an availability.
    let r = v.request(json!({"action": "operator.status", "status": "away"})).await;
    assert_eq!(r["code"], "forbidden", "{r}");
    let r = op.request(json!({"action": "operator.status", "status": "busy"})).await;
    assert_eq!((r["code"].as_str(), r["field"].as_str()), (Some("invalid_frame"), Some("status")), "{r}");
}

#[tokio::test]
async fn reports_count_each_session_on_its_day_in_total_and_per_operator() {
    let s = TestStack::chat().await;
    let api = s.api();
    let op_id = uid("op");
    let mut op = operator(&s, &op_id, "Olga").await;
    let op_token = s.token(&op_id, Some("Olga"), "operator");
    // Answered and rated 4.
    let (mut v1, _, _) = guest(&s, "Vera").await;
    let (s1, _) = start(&mut v1, "my parcel?").await;
    let acc = op.request(json!({"action": "session.accept", "sessionId": sid(&s1)})).await;
    assert_eq!(acc["type"], "session.accepted");
    let ack = op.request(json!({"action": "message.send", "roomId": sid(&s1), "clientId": uid("m"), "content": "On its way"})).await;
    assert_eq!(ack["type"], "ack");
    op.request(json!({"action": "message.send", "roomId": sid(&s1), "clientId": uid("m"), "content": "Anything else?"})).await;
    let closed = v1.request(json!({"action": "session.close", "sessionId": sid(&s1)})).await;
    assert_eq!(closed["type"], "session.closed");
    let rated = v1.request(json!({"action": "session.rate", "sessionId": sid(&s1), "score": 4})).await;
    assert_eq!(rated["type"], "session.rated", "{rated}");
    // Missed: the visitor gave up while waiting.
    let (mut v2, _, _) = guest(&s, "Vlad").await;
    let (s2, _) = start(&mut v2, "hello?").await;
    let closed = v2.request(json!({"action": "session.close", "sessionId": sid(&s2)})).await;
    assert_eq!(closed["type"], "session.closed");

    let today =
        chat::support::reports::day_of(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64);
    let url = format!("{api}/support/reports?from={today}&to={today}");
    let r = rest("GET", &url, Some(&op_token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rep = r.json();
    let t = &rep["total"];
    assert_eq!(
        [&t["started"], &t["accepted"], &t["answered"], &t["missed"], &t["closed"]],
        [&json!(2), &json!(1), &json!(1), &json!(1), &json!(2)],
        "{rep}"
    );
    assert_eq!(t["csat"], json!({"count": 1, "average": 4.0, "distribution": [0, 0, 0, 1, 0]}), "{rep}");
    assert_eq!(
        (t["wait"]["count"].as_u64(), t["firstResponse"]["count"].as_u64(), t["resolution"]["count"].as_u64()),
        (Some(1), Some(1), Some(2))
    );
    assert!(t["wait"]["medianMs"].as_u64().unwrap() >= t["wait"]["averageMs"].as_u64().unwrap(), "a bucket's bound: {rep}");
    assert_eq!(rep["days"].as_array().unwrap().len(), 1);
    assert_eq!(rep["days"][0]["date"], json!(today));
    let ops = rep["operators"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{rep}");
    assert_eq!((ops[0]["operatorId"].as_str(), ops[0]["name"].as_str()), (Some(op_id.as_str()), Some("Olga")));
    assert_eq!([&ops[0]["started"], &ops[0]["answered"], &ops[0]["missed"]], [&json!(1), &json!(1), &json!(0)], "{rep}");
    // One operator's report.
    let r = rest("GET", &format!("{url}&operatorId={op_id}"), Some(&op_token), None).await;
    assert_eq!((r.status, r.json()["total"]["answered"].as_u64()), (200, Some(1)), "{}", r.body);

    // Who and what: visitors get 403; bad ranges 400 naming the field.
    let (_, _, guest_token) = guest(&s, "Gus").await;
    let r = rest("GET", &url, Some(&guest_token), None).await;
    assert_eq!(r.status, 403);
    for (q, field) in [
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=2026-01-01&to=2026-06-01", "to"),
        ("to=2026-01-01", "from"),
    ] {
        let r = rest("GET", &format!("{api}/support/reports?{q}"), Some(&op_token), None).await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some(field)), "{q}: {}", r.body);
    }
}

#[tokio::test]
async fn a_signed_in_visitor_leaves_the_waiting_channel_when_their_connection_closes() {
    let s = TestStack::chat().await;
    let _op = operator(&s, &uid("op"), "Olga").await;
    let mut u = s.user(&uid("member")).await;
    let started = u.request(json!({"action": "support.start", "content": "hi", "clientId": uid("c")})).await;
    assert_eq!((started["type"].as_str(), started["session"]["status"].as_str()), (Some("session.started"), Some("waiting")), "{started}");
    // Its position comes once the connection is in the waiting channel.
    u.expect(|f| f["type"] == "queue.position").await;
    let db = s.dynamodb().await;
    let table = s.table("RoomConnsTable");
    let waiting = |db: aws_sdk_dynamodb::Client, table: String| async move {
        let out = db
            .query()
            .table_name(table)
            .key_condition_expression("r = :r")
            .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::S("support#waiting".into()))
            .send()
            .await
            .unwrap();
        out.count()
    };
    assert_eq!(waiting(db.clone(), table.clone()).await, 1, "the waiting visitor's connection");
    u.close(1000, "bye").await;
    eventually("the closed connection leaves the waiting channel", || {
        let (db, table) = (db.clone(), table.clone());
        async move { (waiting(db, table).await == 0).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn the_console_finds_a_visitors_past_sessions_by_id_name_or_email_and_reads_them() {
    let s = TestStack::chat().await;
    let api = s.api();
    let mut op = operator(&s, &uid("op"), "Olga").await;
    let reader = s.token(&uid("op"), Some("Oscar"), "operator");
    // A visitor known to the site (a token the site signed), twice, with the e-mail the widget's
    // setUser puts in the page's attributes.
    let visitor = uid("site-user");
    let token = s.token_exp(&visitor, Some("Vera Quill"), "guest", 3600);
    let mut v = Client::connect(&format!("{}?token={token}", s.ws_url()), &[]).await.unwrap();
    let mut ids = Vec::new();
    for (i, score) in [(0, 5), (1, 3)] {
        let started = v.request(json!({"action": "support.start", "content": format!("question {i}"), "clientId": uid("c"), "context": {"attributes": {"email": "vera.quill@example.com"}}})).await;
        assert_eq!(started["type"], "session.started", "{started}");
        let id = sid(&started["session"]);
        let acc = op.request(json!({"action": "session.accept", "sessionId": id})).await;
        assert_eq!(acc["type"], "session.accepted", "{acc}");
        let closed = op.request(json!({"action": "session.close", "sessionId": id})).await;
        assert_eq!(closed["type"], "session.closed");
        let rated = v.request(json!({"action": "session.rate", "sessionId": id, "score": score})).await;
        assert_eq!(rated["type"], "session.rated", "{rated}");
        ids.push(id);
    }
    let r = rest("GET", &format!("{api}/support/sessions?visitorId={visitor}"), Some(&reader), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got: Vec<(String, u64)> = r.json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["sessionId"].as_str().unwrap().to_string(), x["rating"]["score"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, [(ids[1].clone(), 3), (ids[0].clone(), 5)], "newest first, with ratings");
    for q in ["quill", "Vera", "vera.quill@example.com"] {
        let r = rest("GET", &format!("{api}/support/sessions?q={}", q.replace('@', "%40")), Some(&reader), None).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(r.json()["sessions"].as_array().unwrap().len(), 2, "{q}: {}", r.body);
    }
    // Any operator of the team reads a past session read-only; the visitor cannot list sessions.
    let h = rest("GET", &format!("{api}/chats/{}/messages", ids[0]), Some(&reader), None).await;
    assert_eq!((h.status, h.json()["messages"][0]["content"].as_str()), (200, Some("question 0")), "{}", h.body);
    let r = rest("GET", &format!("{api}/support/sessions?visitorId={visitor}"), Some(&token), None).await;
    assert_eq!(r.status, 403);
    let r = rest("GET", &format!("{api}/support/sessions"), Some(&reader), None).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn site_settings_are_validated_versioned_cached_and_their_hours_hold_on_the_server() {
    let s = TestStack::chat().await;
    let api = s.api();
    let url = format!("{api}/support/settings");
    let site = s.token("shop", Some("Shop"), "service");
    let op = s.token("olga", Some("Olga"), "operator");
    // Never written: defaults, version 0, public.
    let r = rest("GET", &url, None, None).await;
    assert_eq!((r.status, r.json()["version"].as_u64()), (200, Some(0)), "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"0\""));
    // Written by the site; operators may not.
    let closed_now = json!({
        "brandColor": "#0f766e", "teamName": "Shop team", "defaultLanguage": "de",
        "texts": {"de": {"title": "Hilfe"}},
        "awayBehavior": "hide",
        "businessHours": {"timeZone": "Pacific/Kiritimati", "days": {}}
    });
    let r = rest("PUT", &url, Some(&op), Some(&closed_now)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rest("PUT", &url, Some(&site), Some(&closed_now)).await;
    assert_eq!((r.status, r.json()["version"].as_u64()), (200, Some(1)), "{}", r.body);
    let r = rest("GET", &url, None, None).await;
    assert_eq!((r.json()["settings"]["teamName"].as_str(), r.header("etag")), (Some("Shop team"), Some("\"1\"")), "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    let r = chat_tests::http("GET", &url, &[("If-None-Match", "\"1\"")], None).await;
    assert_eq!((r.status, r.body.as_str()), (304, ""));
    // A writer that read version 0 is told it changed; bad input names its field.
    let r = chat_tests::http(
        "PUT",
        &url,
        &[("Authorization", &format!("Bearer {site}")), ("If-Match", "\"0\""), ("Content-Type", "application/json")],
        Some(b"{}"),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    for (bad, field) in [
        (json!({"brandColor": "teal"}), "brandColor"),
        (json!({"businessHours": {"timeZone": "Mars/Olympus"}}), "businessHours.timeZone"),
        (json!({"businessHours": {"timeZone": "UTC", "days": {"mon": [{"open": "18:00", "close": "09:00"}]}}}), "businessHours.days.mon"),
        (json!({"defaultLanguage": "it"}), "defaultLanguage"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = rest("PUT", &url, Some(&site), Some(&bad)).await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some(field)), "{bad}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // The hours on the server: no day is open, and the away behaviour hides the widget, so a new
    // session is refused with a clear error.
    let (mut v, _, _) = guest(&s, "Vera").await;
    let r = v.request(json!({"action": "support.start", "content": "hello?", "clientId": uid("c")})).await;
    assert_eq!(r["code"], "forbidden", "{r}");
    assert!(r["message"].as_str().unwrap().contains("business hours"), "{r}");
    // Open every day, all day: it starts.
    let all_day: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([{"open": "00:00", "close": "24:00"}])))
        .collect();
    let open = json!({"awayBehavior": "hide", "businessHours": {"timeZone": "Europe/Berlin", "days": all_day}});
    let r = rest("PUT", &url, Some(&site), Some(&open)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (session, _) = start(&mut v, "hello again").await;
    assert_eq!(session["status"], "waiting");
    // The pre-chat form's answers are checked on the server as in the widget.
    let form = json!({"preChatForm": {"enabled": true, "fields": [{"name": "email", "required": true}]}});
    let r = rest("PUT", &url, Some(&site), Some(&form)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (mut w, _, _) = guest(&s, "Walt").await;
    let r = w.request(json!({"action": "support.start", "content": "hi", "clientId": uid("c"), "context": {"attributes": {"email": "walt at example"}}})).await;
    assert_eq!((r["code"].as_str(), r["field"].as_str()), (Some("invalid_frame"), Some("context.attributes.email")), "{r}");
    let r = w.request(json!({"action": "support.start", "content": "hi", "clientId": uid("c"), "context": {"attributes": {"email": "walt@example.com"}}})).await;
    assert_eq!(r["type"], "session.started", "{r}");
}
