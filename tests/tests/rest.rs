//! The REST API over real HTTP: the real `api` and `indexer` binaries behind the dev gateway's HTTP
//! API twin, DynamoDB Local and its stream, real sockets beside them.

use chat_tests::{direct, eventually, group, rest, uid, Client, TestStack};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn user_token(s: &TestStack, sub: &str) -> String {
    s.token(sub, Some(&sub.to_uppercase()), "user")
}

async fn post(s: &TestStack, token: &str, room: &str, client_id: &str, content: &str) -> Value {
    let r =
        rest("POST", &format!("{}/chats/{room}/messages", s.api()), Some(token), Some(&json!({"clientId": client_id, "content": content})))
            .await;
    assert!(r.status == 201 || r.status == 200, "{} {}", r.status, r.body);
    r.json()["message"].clone()
}

#[tokio::test]
async fn a_rest_send_reaches_live_sockets_and_a_socket_send_is_visible_over_rest() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    let ta = user_token(&s, &alice);

    let url = format!("{}/chats/{room}/messages", s.api());
    let first = rest("POST", &url, Some(&ta), Some(&json!({"clientId": "r-1", "content": "over REST"}))).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let m = first.json()["message"].clone();
    assert_eq!((m["seq"].as_u64(), m["senderId"].as_str(), m["content"].as_str()), (Some(1), Some(alice.as_str()), Some("over REST")));
    // Sequenced, stored and fanned out like any other: the other member and the sender's own socket.
    assert_eq!(b.expect_type("message.new").await["message"], m);
    assert_eq!(a.expect_type("message.new").await["message"], m);

    // A retry creates nothing: 200 with the same body, no second broadcast.
    let again = rest("POST", &url, Some(&ta), Some(&json!({"clientId": "r-1", "content": "over REST"}))).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    b.assert_none(|f| f["type"] == "message.new", Duration::from_millis(800)).await;

    // A socket send is visible over REST, in the same pages as `history`.
    b.send(json!({"action": "message.send", "roomId": room, "clientId": "s-1", "content": "over the socket"})).await;
    b.expect(|f| f["type"] == "ack").await;
    let page = rest("GET", &format!("{url}?limit=10"), Some(&ta), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let h = page.json();
    let contents: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["over the socket", "over REST"]);
    let socket_page = a.request(json!({"action": "history", "roomId": room, "limit": 10})).await;
    assert_eq!(socket_page["messages"], h["messages"]);
    assert_eq!(h["hasMore"], false);
    let older = rest("GET", &format!("{url}?limit=1"), Some(&ta), None).await.json();
    assert_eq!((older["hasMore"].as_bool(), older["nextCursor"].as_u64()), (Some(true), Some(2)));
    let rest_of = rest("GET", &format!("{url}?limit=1&beforeSeq=2"), Some(&ta), None).await.json();
    assert_eq!(rest_of["messages"][0]["seq"], 1);
}

#[tokio::test]
async fn unread_counts_and_rooms_over_rest_equal_the_sockets() {
    let s = TestStack::chat().await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let r1 = direct(&mut a, &bob).await;
    let r2 = group(&mut a, &[&bob, &carol]).await;
    let tb = user_token(&s, &bob);
    let ta = user_token(&s, &alice);
    for i in 0..3 {
        post(&s, &ta, &r1, &format!("d{i}"), "hello").await;
    }
    post(&s, &ta, &r2, "g0", "group hello").await;
    b.send(json!({"action": "read", "roomId": r1, "seq": 1})).await;
    eventually("bob's read cursor", || async {
        let l = rest("GET", &format!("{}/chats", s.api()), Some(&tb), None).await.json();
        l["rooms"].as_array().unwrap().iter().any(|r| r["roomId"] == json!(r1) && r["readSeq"] == 1).then_some(())
    })
    .await;
    let over_rest = rest("GET", &format!("{}/chats", s.api()), Some(&tb), None).await.json();
    let over_socket = b.request(json!({"action": "room.list"})).await;
    assert_eq!(over_rest["rooms"], over_socket["rooms"], "the same views, in the same order");
    let unread: BTreeMap<String, u64> = over_rest["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["roomId"].as_str().unwrap().to_string(), r["unread"].as_u64().unwrap()))
        .collect();
    assert_eq!(unread, BTreeMap::from([(r1.clone(), 2), (r2.clone(), 1)]));

    // One room with every member and their cursors.
    let detail = rest("GET", &format!("{}/chats/{r1}", s.api()), Some(&tb), None).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let d = detail.json();
    assert_eq!(d["room"]["unread"], 2);
    let cursors: BTreeMap<String, u64> = d["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["userId"].as_str().unwrap().to_string(), m["readSeq"].as_u64().unwrap()))
        .collect();
    assert_eq!(cursors, BTreeMap::from([(alice.clone(), 3), (bob.clone(), 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_list_pages_are_stable_while_messages_reorder_rooms() {
    let s = TestStack::chat().await;
    let me = uid("me");
    let others: Vec<String> = (0..12).map(|i| uid(&format!("o{i}-"))).collect();
    let mut c = s.user(&me).await;
    let mut rooms = Vec::new();
    for o in &others {
        rooms.push(direct(&mut c, o).await);
    }
    let tme = user_token(&s, &me);
    for (i, r) in rooms.iter().enumerate() {
        post(&s, &tme, r, &format!("seed{i}"), "hi").await;
    }
    // While the pages are read, other people write in random rooms (each write moves a room to
    // the top of the list).
    let writer = {
        let (api, rooms, others) = (s.api(), rooms.clone(), others.clone());
        let tokens: Vec<String> = others.iter().map(|o| user_token(&s, o)).collect();
        tokio::spawn(async move {
            for k in 0..24 {
                let i = (k * 7) % rooms.len();
                let r = rest(
                    "POST",
                    &format!("{api}/chats/{}/messages", rooms[i]),
                    Some(&tokens[i]),
                    Some(&json!({"clientId": format!("w{k}"), "content": "moving up"})),
                )
                .await;
                assert_eq!(r.status, 201, "{}", r.body);
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{}/chats?limit=5&cursor={c}", s.api()),
            None => format!("{}/chats?limit=5", s.api()),
        };
        let p = rest("GET", &url, Some(&tme), None).await;
        assert_eq!(p.status, 200, "{}", p.body);
        let p = p.json();
        seen.extend(p["rooms"].as_array().unwrap().iter().map(|r| r["roomId"].as_str().unwrap().to_string()));
        pages += 1;
        match p["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(p["hasMore"], true);
                cursor = Some(c.to_string());
            }
            None => break,
        }
        // Let the writers move rooms between pages.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    writer.await.unwrap();
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no room twice: {seen:?}");
    assert_eq!(unique, rooms.iter().collect::<BTreeSet<_>>(), "no room skipped");
    assert_eq!(pages, 3);
    // A cursor this server did not give out is refused.
    let bad = rest("GET", &format!("{}/chats?cursor=bm9wZQ", s.api()), Some(&tme), None).await;
    assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("cursor")));
}

#[tokio::test]
async fn archived_rooms_leave_the_list_and_come_back_on_a_new_message() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let r1 = direct(&mut a, &bob).await;
    let r2 = direct(&mut a, &uid("carol")).await;
    let (ta, tb) = (user_token(&s, &alice), user_token(&s, &bob));
    post(&s, &tb, &r1, "b1", "first").await;
    let list = |archived: Option<bool>| {
        let url = match archived {
            Some(v) => format!("{}/chats?archived={v}", s.api()),
            None => format!("{}/chats", s.api()),
        };
        let ta = ta.clone();
        async move {
            rest("GET", &url, Some(&ta), None).await.json()["rooms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["roomId"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let arch = rest("POST", &format!("{}/chats/{r1}/archive", s.api()), Some(&ta), None).await;
    assert_eq!(arch.status, 200, "{}", arch.body);
    assert_eq!(arch.json()["room"]["archived"], true);
    assert_eq!(list(None).await, vec![r2.clone()]);
    assert_eq!(list(Some(true)).await, vec![r1.clone()]);
    // The socket's room.list shows every room and marks the archived one.
    let all = a.request(json!({"action": "room.list"})).await;
    let marked: Vec<(String, bool)> = all["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["roomId"].as_str().unwrap().to_string(), r["archived"].as_bool().unwrap_or(false)))
        .collect();
    assert!(marked.contains(&(r1.clone(), true)) && marked.contains(&(r2.clone(), false)), "{marked:?}");
    // A new message brings it back, by itself.
    post(&s, &tb, &r1, "b2", "are you there?").await;
    assert_eq!(list(None).await, vec![r1.clone(), r2.clone()]);
    assert!(list(Some(true)).await.is_empty());
    // Archive again, then unarchive by hand.
    rest("POST", &format!("{}/chats/{r1}/archive", s.api()), Some(&ta), None).await;
    assert_eq!(list(None).await, vec![r2.clone()]);
    let un = rest("DELETE", &format!("{}/chats/{r1}/archive", s.api()), Some(&ta), None).await;
    assert_eq!((un.status, un.json()["room"].get("archived").cloned()), (200, None));
    assert_eq!(list(None).await.len(), 2);
    // Per member: bob's list never changed; a stranger may not archive.
    let tb_list = rest("GET", &format!("{}/chats", s.api()), Some(&tb), None).await.json();
    assert_eq!(tb_list["rooms"].as_array().unwrap().len(), 1);
    let stranger = rest("POST", &format!("{}/chats/{r1}/archive", s.api()), Some(&user_token(&s, "mallory")), None).await;
    assert_eq!((stranger.status, stranger.json()["code"].as_str()), (403, Some("not_member")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_rooms_are_created_once_under_concurrent_calls_and_take_system_messages() {
    let s = TestStack::chat().await;
    let (buyer, seller) = (uid("buyer"), uid("seller"));
    let mut b = s.user(&buyer).await;
    let service = s.token("shop", Some("Shop"), "service");
    let order = format!("order:{}", uid(""));
    let body = json!({"title": "Order #123", "url": "https://shop.example/orders/123", "status": "paid", "members": [{"userId": buyer, "name": "Ann"}, {"userId": seller, "name": "Sam"}]});
    let calls = (0..10).map(|_| {
        let (url, service, body) = (format!("{}/contexts/{order}/chat", s.api()), service.clone(), body.clone());
        tokio::spawn(async move { rest("PUT", &url, Some(&service), Some(&body)).await })
    });
    let answers: Vec<_> = futures_util::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|r| (r.status, r.body.clone())).collect::<Vec<_>>());
    assert!(answers.iter().all(|r| r.status == 201 || r.status == 200));
    let ids: BTreeSet<String> = answers.iter().map(|r| r.json()["roomId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1);
    let room = ids.into_iter().next().unwrap();
    assert!(room.starts_with("or_"));
    let first = answers.iter().find(|r| r.status == 201).unwrap().json();
    assert_eq!(first["members"].as_array().unwrap().len(), 2);
    assert_eq!(first["context"], json!({"id": order, "title": "Order #123", "url": "https://shop.example/orders/123", "status": "paid"}));

    // The buyer sees the room with the site's description, and later changes to it.
    let joined = b.expect_type("room.joined").await;
    assert_eq!((joined["room"]["type"].as_str(), joined["room"]["context"]["status"].as_str()), (Some("order"), Some("paid")));
    let upd = rest(
        "PUT",
        &format!("{}/contexts/{order}/chat", s.api()),
        Some(&service),
        Some(&json!({"title": "Order #123", "status": "shipped", "members": [{"userId": buyer}, {"userId": seller}]})),
    )
    .await;
    assert_eq!(upd.status, 200, "{}", upd.body);
    let list = rest("GET", &format!("{}/chats", s.api()), Some(&user_token(&s, &buyer)), None).await.json();
    assert_eq!(list["rooms"][0]["context"]["status"], "shipped");
    assert_eq!(list["rooms"][0]["name"], "Order #123");

    // The site posts system messages; they reach the members' sockets.
    let sys = rest(
        "POST",
        &format!("{}/chats/{room}/messages", s.api()),
        Some(&service),
        Some(&json!({"clientId": "ship-1", "content": "Your order has shipped", "meta": {"event": "order.shipped"}})),
    )
    .await;
    assert_eq!(sys.status, 201, "{}", sys.body);
    assert_eq!(sys.json()["message"]["kind"], "system");
    let got = b.expect_type("message.new").await;
    assert_eq!((got["message"]["kind"].as_str(), got["message"]["meta"]["event"].as_str()), (Some("system"), Some("order.shipped")));

    // Users cannot: bind contexts, post system messages or meta.
    let u = user_token(&s, &buyer);
    let r = rest("PUT", &format!("{}/contexts/{order}/chat", s.api()), Some(&u), Some(&body)).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")));
    let r = rest(
        "POST",
        &format!("{}/chats/{room}/messages", s.api()),
        Some(&u),
        Some(&json!({"clientId": "x", "content": "fake", "kind": "system"})),
    )
    .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")));
    // The site adds a member; a service token cannot open a socket.
    let staff = uid("staff");
    let add = rest(
        "POST",
        &format!("{}/chats/{room}/members", s.api()),
        Some(&service),
        Some(&json!({"members": [{"userId": staff, "name": "Staff"}]})),
    )
    .await;
    assert_eq!(add.status, 200, "{}", add.body);
    assert_eq!(add.json()["members"].as_array().unwrap().len(), 3);
    let refused = Client::connect(&format!("{}?token={service}", s.ws_url()), &[]).await;
    assert_eq!(refused.err().as_deref(), Some("403"));
}

#[tokio::test]
async fn search_folds_stems_follows_edits_and_only_covers_the_callers_rooms() {
    let s = TestStack::chat().await;
    let (alice, bob, eve) = (uid("alice"), uid("bob"), uid("eve"));
    let mut a = s.user(&alice).await;
    let mut e = s.user(&eve).await;
    let room = group(&mut a, &[&bob]).await;
    let secret = direct(&mut e, &uid("frank")).await;
    let (ta, te) = (user_token(&s, &alice), user_token(&s, &eve));
    let refunds = post(&s, &ta, &room, "m1", "Refunds are processed within 3 days").await;
    post(&s, &ta, &room, "m2", "Le café est fermé").await;
    post(&s, &te, &secret, "x1", "refund secret plans in the café").await;
    let search = |token: String, q: &str| {
        let url = format!("{}/search?q={}", s.api(), q.replace(' ', "%20"));
        async move { rest("GET", &url, Some(&token), None).await }
    };
    let contents = |r: &chat_tests::HttpReply| -> Vec<String> {
        r.json()["results"].as_array().unwrap().iter().map(|h| h["message"]["content"].as_str().unwrap().to_string()).collect()
    };

    // The index follows the stream: wait for it.
    let found = eventually("refund indexed", || async {
        let r = search(ta.clone(), "refund").await;
        (r.status == 200 && !contents(&r).is_empty()).then_some(r)
    })
    .await;
    assert_eq!(contents(&found), ["Refunds are processed within 3 days"]);
    let hit = &found.json()["results"][0];
    assert_eq!(hit["message"]["seq"], refunds["seq"]);
    let snippet: Vec<u16> = hit["snippet"].as_str().unwrap().encode_utf16().collect();
    let (a0, a1) = (hit["highlights"][0][0].as_u64().unwrap() as usize, hit["highlights"][0][1].as_u64().unwrap() as usize);
    assert_eq!(String::from_utf16(&snippet[a0..a1]).unwrap(), "Refunds");
    let cafe = eventually("café indexed", || async {
        let r = search(ta.clone(), "CAFE").await;
        (!contents(&r).is_empty()).then_some(r)
    })
    .await;
    assert_eq!(contents(&cafe), ["Le café est fermé"]);
    // AND of terms; eve's room never shows up for alice, and alice's never for eve.
    assert!(contents(&search(ta.clone(), "refund cafe").await).is_empty());
    assert_eq!(
        contents(
            &eventually("eve's", || async {
                let r = search(te.clone(), "refund cafe").await;
                (!contents(&r).is_empty()).then_some(r)
            })
            .await
        ),
        ["refund secret plans in the café"]
    );
    // A room filter the caller is not in is refused.
    let r = rest("GET", &format!("{}/search?q=refund&roomId={secret}", s.api()), Some(&ta), None).await;
    assert_eq!(r.status, 403);

    // Edits re-index, deletes un-index.
    a.send(json!({"action": "message.edit", "roomId": room, "seq": refunds["seq"], "content": "Returns take a week"})).await;
    a.expect(|f| f["type"] == "message.updated").await;
    eventually("edit re-indexed", || async {
        contents(&search(ta.clone(), "return week").await).first().map(|c| c == "Returns take a week").unwrap_or(false).then_some(())
    })
    .await;
    eventually("old words gone", || async { contents(&search(ta.clone(), "refund").await).is_empty().then_some(()) }).await;
    a.send(json!({"action": "message.delete", "roomId": room, "seq": refunds["seq"]})).await;
    a.expect(|f| f["type"] == "message.updated" && f["message"]["deletedAt"].is_u64()).await;
    eventually("delete un-indexed", || async { contents(&search(ta.clone(), "returns").await).is_empty().then_some(()) }).await;

    // Bob left the group: its messages no longer show for him.
    let tb = user_token(&s, &bob);
    eventually("bob finds the café", || async { (!contents(&search(tb.clone(), "cafe").await).is_empty()).then_some(()) }).await;
    let mut b = s.user(&bob).await;
    let left = b.request(json!({"action": "room.leave", "roomId": room})).await;
    assert_eq!(left["type"], "room.left", "{left}");
    assert!(contents(&search(tb.clone(), "cafe").await).is_empty());
}

#[tokio::test]
async fn search_pages_newest_first_with_a_cursor() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let r1 = direct(&mut a, &bob).await;
    let r2 = group(&mut a, &[&bob]).await;
    let ta = user_token(&s, &alice);
    for i in 0..7 {
        post(&s, &ta, if i % 2 == 0 { &r1 } else { &r2 }, &format!("p{i}"), &format!("parcel number {i}")).await;
    }
    let page = |cursor: Option<String>| {
        let url = match cursor {
            Some(c) => format!("{}/search?q=parcel&limit=3&cursor={c}", s.api()),
            None => format!("{}/search?q=parcel&limit=3", s.api()),
        };
        let ta = ta.clone();
        async move { rest("GET", &url, Some(&ta), None).await.json() }
    };
    eventually("all indexed", || async {
        let r = rest("GET", &format!("{}/search?q=parcel&limit=50", s.api()), Some(&ta), None).await.json();
        (r["results"].as_array().unwrap().len() == 7).then_some(())
    })
    .await;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor.clone()).await;
        seen.extend(p["results"].as_array().unwrap().iter().map(|h| h["message"]["content"].as_str().unwrap().to_string()));
        match p["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("parcel number {i}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn bad_requests_get_problem_json_never_a_5xx() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    let ta = user_token(&s, &alice);
    let api = s.api();
    let check = |r: chat_tests::HttpReply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{}", r.body);
        let p = r.json();
        assert_eq!(p["code"], code, "{p}");
        assert_eq!(p["status"], status);
        assert!(p["type"].is_string() && p["title"].is_string() && p["detail"].is_string(), "{p}");
        p
    };
    // Authentication.
    check(rest("GET", &format!("{api}/chats"), None, None).await, 401, "unauthorized");
    check(rest("GET", &format!("{api}/chats"), Some("not.a.jwt"), None).await, 401, "unauthorized");
    check(rest("GET", &format!("{api}/chats"), Some(&s.token_exp(&alice, None, "user", -120)), None).await, 401, "unauthorized");
    let forged = chat_tests::mint_token("some-other-secret", &alice, None, "user", 600);
    let r = rest("GET", &format!("{api}/chats"), Some(&forged), None).await;
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    check(r, 401, "unauthorized");
    // Membership: the same answer whether or not the room exists.
    let eve = user_token(&s, "eve");
    check(rest("GET", &format!("{api}/chats/{room}"), Some(&eve), None).await, 403, "not_member");
    check(rest("GET", &format!("{api}/chats/{room}/messages"), Some(&eve), None).await, 403, "not_member");
    check(
        rest("POST", &format!("{api}/chats/{room}/messages"), Some(&eve), Some(&json!({"clientId": "e", "content": "hi"}))).await,
        403,
        "not_member",
    );
    // Parameters.
    let p = check(rest("GET", &format!("{api}/chats?limit=0"), Some(&ta), None).await, 400, "invalid_frame");
    assert_eq!(p["field"], "limit");
    check(rest("GET", &format!("{api}/chats?limit=abc"), Some(&ta), None).await, 400, "invalid_frame");
    check(rest("GET", &format!("{api}/chats?archived=maybe"), Some(&ta), None).await, 400, "invalid_frame");
    check(rest("GET", &format!("{api}/chats?limit=1&limit=2"), Some(&ta), None).await, 400, "invalid_frame");
    check(rest("GET", &format!("{api}/chats/{room}/messages?beforeSeq=0"), Some(&ta), None).await, 400, "invalid_frame");
    check(rest("GET", &format!("{api}/search"), Some(&ta), None).await, 400, "invalid_frame");
    // Bodies.
    let url = format!("{api}/chats/{room}/messages");
    let p = check(rest("POST", &url, Some(&ta), Some(&json!({"content": "no client id"}))).await, 400, "invalid_frame");
    assert_eq!(p["field"], "clientId");
    let p =
        check(rest("POST", &url, Some(&ta), Some(&json!({"clientId": "c", "content": "x", "colour": "red"}))).await, 400, "invalid_frame");
    assert_eq!(p["field"], "colour");
    let auth = format!("Bearer {ta}");
    let r = chat_tests::http("POST", &url, &[("Authorization", &auth), ("Content-Type", "application/json")], Some(b"{not json")).await;
    check(r, 400, "invalid_frame");
    let r = chat_tests::http("POST", &url, &[("Authorization", &auth), ("Content-Type", "text/plain")], Some(b"{}")).await;
    check(r, 400, "invalid_frame");
    check(rest("POST", &url, Some(&ta), Some(&json!({"clientId": "c", "content": "x".repeat(17 * 1024)}))).await, 413, "too_large");
    check(rest("POST", &url, Some(&ta), Some(&json!({"clientId": "c", "content": "x".repeat(140 * 1024)}))).await, 413, "too_large");
    // API Gateway's own answers: no route, and above its 10 MB payload limit.
    let r = rest("GET", &format!("{api}/nothing/here"), Some(&ta), None).await;
    assert_eq!((r.status, r.json()), (404, json!({"message": "Not Found"})));
    let r = rest("PATCH", &format!("{api}/chats/{room}"), Some(&ta), None).await;
    assert_eq!(r.status, 404);
    // Health needs no token.
    let h = rest("GET", &format!("{api}/health"), None, None).await;
    assert_eq!((h.status, h.json()), (200, json!({"status": "ok"})));
}

#[tokio::test]
async fn the_gateway_builds_payload_2_events_as_aws_does() {
    // The `api` binary answers through lambda_http; here the event itself is checked through what
    // it makes the function see: path parameters are decoded, duplicate query keys are refused,
    // CORS preflights never reach the function.
    let s = TestStack::chat().await;
    let ta = user_token(&s, &uid("alice"));
    let r = rest("GET", &format!("{}/chats/dm_%7Bnope%7D", s.api()), Some(&ta), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let pre = chat_tests::http(
        "OPTIONS",
        &format!("{}/chats", s.api()),
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        None,
    )
    .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(pre.header("access-control-allow-headers").is_some_and(|h| h.contains("authorization")));
    let get = chat_tests::http("GET", &format!("{}/health", s.api()), &[("Origin", "https://shop.example")], None).await;
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let health: Value = serde_json::from_str(&chat_tests::http_get(&format!("{}/health", s.stack.http_url())).await.1).unwrap();
    assert_eq!(health["httpRoutes"]["GET /chats"], "ApiFunction");
    assert_eq!(health["functions"]["IndexerFunction"]["spawned"].as_u64().map(|n| n <= 1), Some(true));
}

#[tokio::test]
async fn the_pages_are_served_with_a_strict_content_security_policy() {
    let gateway = chat_tests::chat_dev::gateway::GatewayConfig { web_dir: Some(chat_tests::repo_root().join("web")), ..Default::default() };
    let s = TestStack::start(chat_tests::StackSpec { gateway, ..Default::default() }).await;
    for page in ["/", "/app.js", "/sdk/chat.js"] {
        let r = chat_tests::http("GET", &format!("{}{page}", s.stack.http_url()), &[], None).await;
        assert_eq!(r.status, 200, "{page}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{page}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{page}: {csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r.header("referrer-policy").is_some());
    }
    // The API answers are left as API Gateway sends them.
    let api = chat_tests::http("GET", &format!("{}/health", s.api()), &[], None).await;
    assert!(api.header("content-security-policy").is_none());
}
