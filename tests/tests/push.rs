//! Web Push to offline members, end to end: real sockets and REST against a local stack; the
//! message and api functions decide and publish to the template's `PushTopic` (moto), the dev
//! gateway invokes the real `notify` binary with the SNS event Lambda would build, and `notify`
//! posts to a local push service stand-in (`tests/push/push_service.py`) that checks the VAPID
//! JWT and decrypts the `aes128gcm` body with the subscription's keys (PyPI `http-ece`,
//! `py-vapid`): what the stand-in keeps is what a browser's service worker would get.

use chat_tests::{direct, eventually, group, http, repo_root, rest, uid, Client, StackSpec, TestStack};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// How long "nothing more arrives" is watched for, once what was expected arrived.
const QUIET: Duration = Duration::from_secs(2);

struct PushService {
    _child: tokio::process::Child,
    base: String,
}

impl PushService {
    async fn start() -> PushService {
        let python = repo_root().join(".local/tools/venv/bin/python");
        assert!(python.exists(), "the tools venv is missing: run scripts/install-tools.sh all (make test does)");
        let mut child = tokio::process::Command::new(python)
            .arg(repo_root().join("tests/push/push_service.py"))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the push service stand-in");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the push service starts")
            .unwrap()
            .expect("it says where it listens");
        let port = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("push service said {line:?} (are http-ece and py-vapid installed? scripts/install-tools.sh all)"));
        PushService { _child: child, base: format!("http://127.0.0.1:{port}") }
    }

    /// A new browser subscription: (its id at the service, `PushSubscription.toJSON()`).
    async fn subscribe(&self) -> (String, Value) {
        let r = http("POST", &format!("{}/new", self.base), &[], None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let sub = r.json();
        let id = sub["endpoint"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        (id, sub)
    }

    /// From now on, pushes to this subscription are answered 410 Gone.
    async fn kill(&self, id: &str) {
        assert_eq!(http("POST", &format!("{}/kill/{id}", self.base), &[], None).await.status, 204);
    }

    async fn received(&self, id: &str) -> Value {
        let r = http("GET", &format!("{}/received/{id}", self.base), &[], None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["rejected"], json!([]), "the stand-in refused a push (bad VAPID JWT or payload)");
        v
    }

    /// Waits until the subscription got `n` pushes; then checks that no more arrive for [`QUIET`].
    async fn exactly(&self, id: &str, n: usize) -> Vec<Value> {
        let got = eventually(&format!("{n} pushes to {id}"), || async {
            let v = self.received(id).await;
            let p = v["payloads"].as_array().unwrap().clone();
            assert!(p.len() <= n, "more than {n} pushes: {p:?}");
            (p.len() == n).then_some(p)
        })
        .await;
        self.quiet(id, n).await;
        got
    }

    /// No more than `n` pushes arrive within [`QUIET`].
    async fn quiet(&self, id: &str, n: usize) {
        let until = tokio::time::Instant::now() + QUIET;
        while tokio::time::Instant::now() < until {
            let v = self.received(id).await;
            assert_eq!(v["payloads"].as_array().unwrap().len(), n, "an unexpected push: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A chat stack whose functions may push to this test push service (the local-only exception of
/// the push endpoint rules: the template cannot set it).
async fn stack_with(ps: &PushService) -> TestStack {
    let mut spec = StackSpec::default();
    spec.function_env.insert(chat::push::endpoint::LOCAL_ORIGINS_VAR.into(), ps.base.clone());
    TestStack::start(spec).await
}

/// The push service, a stack that reaches it, alice and bob, and one subscription of bob's
/// (its id at the push service, and the JSON registered).
async fn bob_subscribed() -> (PushService, TestStack, String, String, String, Value) {
    let ps = PushService::start().await;
    let s = stack_with(&ps).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let (sub_id, sub) = ps.subscribe().await;
    let reg = register(&s, &s.token(&bob, Some("Bob"), "user"), &sub).await;
    assert_eq!(reg["endpoint"], sub["endpoint"]);
    (ps, s, alice, bob, sub_id, sub)
}

/// The user's subscriptions as the table holds them (strongly consistent).
async fn stored(s: &TestStack, user: &str) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let out = s
        .dynamodb()
        .await
        .query()
        .table_name(s.table("PushSubscriptionsTable"))
        .key_condition_expression("userId = :u")
        .expression_attribute_values(":u", aws_sdk_dynamodb::types::AttributeValue::S(user.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items().to_vec()
}

/// Waits until the user has one subscription left; its `field`.
async fn one_left(s: &TestStack, user: &str, field: &str) -> Vec<String> {
    eventually(&format!("one subscription of {user} left"), || async {
        let v: Vec<String> = stored(s, user).await.iter().map(|i| i[field].as_s().unwrap().clone()).collect();
        (v.len() == 1).then_some(v)
    })
    .await
}

/// Registers a browser subscription for the token's user (`POST /push/subscriptions`).
async fn register(s: &TestStack, token: &str, sub: &Value) -> Value {
    let r = rest("POST", &format!("{}/push/subscriptions", s.api()), Some(token), Some(sub)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

async fn send(c: &mut Client, room: &str, client_id: &str, content: &str) -> Value {
    let a = c.request(json!({"action": "message.send", "roomId": room, "clientId": client_id, "content": content})).await;
    assert_eq!(a["type"], "ack", "{a}");
    a["message"].clone()
}

/// Closes a member's socket and waits until a co-member hears they went offline (`$disconnect`
/// ran: they are out of the room's connections).
async fn go_offline(who: Client, user: &str, watcher: &mut Client) {
    who.close(1000, "bye").await;
    watcher.expect(|f| f["type"] == "presence" && f["userId"] == json!(user) && f["online"] == json!(false)).await;
}

#[tokio::test]
async fn an_offline_member_gets_exactly_one_decrypted_push_for_a_burst_of_five() {
    let (ps, s, alice, bob, sub_id, _) = bob_subscribed().await;
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    for i in 0..5 {
        send(&mut a, &room, &format!("burst-{i}"), &format!("message {i} of the burst")).await;
    }
    let got = ps.exactly(&sub_id, 1).await;
    let p = &got[0]["payload"];
    let alice_name = format!("{}{}", alice[..1].to_uppercase(), &alice[1..]);
    assert_eq!(p["roomId"], json!(room));
    assert_eq!(p["roomTitle"], json!(alice_name), "a direct room is named by the sender");
    assert_eq!((p["senderName"].as_str(), p["senderId"].as_str()), (Some(alice_name.as_str()), Some(alice.as_str())));
    assert_eq!(
        (p["preview"].as_str(), p["kind"].as_str(), p["seq"].as_u64(), p["roomType"].as_str()),
        (Some("message 0 of the burst"), Some("text"), Some(1), Some("direct"))
    );
    assert_eq!(got[0]["ttl"], 86400);
    assert_eq!(got[0]["topic"].as_str().map(str::len), Some(32), "pushes of a room share a Topic");
    // The sender, online, got no push of their own.
    assert!(s.logs().contains("sns -> NotifyFunction"), "the notify function ran through the SNS subscription");
}

#[tokio::test]
async fn an_online_member_gets_no_push_and_one_once_offline() {
    let (ps, s, alice, bob, sub_id, _) = bob_subscribed().await;
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = group(&mut a, &[&bob]).await;
    for i in 0..3 {
        send(&mut a, &room, &format!("on-{i}"), &format!("online {i}")).await;
        let m = b.expect(|f| f["type"] == "message.new").await;
        assert_eq!(m["message"]["content"], json!(format!("online {i}")));
    }
    ps.quiet(&sub_id, 0).await;
    // Offline now: the next message is pushed (so the quiet above was not a slow pipeline).
    go_offline(b, &bob, &mut a).await;
    send(&mut a, &room, "off-1", "you left").await;
    let got = ps.exactly(&sub_id, 1).await;
    assert_eq!(
        (got[0]["payload"]["seq"].as_u64(), got[0]["payload"]["roomTitle"].as_str(), got[0]["payload"]["preview"].as_str()),
        (Some(4), Some("Team"), Some("you left"))
    );
}

#[tokio::test]
async fn a_muted_room_gets_no_push() {
    let (ps, s, alice, bob, sub_id, _) = bob_subscribed().await;
    let mut a = s.user(&alice).await;
    let muted = direct(&mut a, &bob).await;
    let loud = group(&mut a, &[&bob]).await;
    let mut b = s.user(&bob).await;
    let up = b.request(json!({"action": "room.mute", "roomId": muted, "muted": true})).await;
    assert_eq!(
        (up["type"].as_str(), up["room"]["roomId"].as_str(), up["room"]["muted"].as_bool()),
        (Some("room.updated"), Some(muted.as_str()), Some(true)),
        "{up}"
    );
    let list = b.request(json!({"action": "room.list"})).await;
    let muted_in_list: Vec<&str> =
        list["rooms"].as_array().unwrap().iter().filter(|r| r["muted"] == json!(true)).map(|r| r["roomId"].as_str().unwrap()).collect();
    assert_eq!(muted_in_list, [muted.as_str()]);
    go_offline(b, &bob, &mut a).await;
    send(&mut a, &muted, "m-1", "muted room").await;
    send(&mut a, &loud, "l-1", "loud room").await;
    let got = ps.exactly(&sub_id, 1).await;
    assert_eq!((got[0]["payload"]["roomId"].as_str(), got[0]["payload"]["preview"].as_str()), (Some(loud.as_str()), Some("loud room")));
}

#[tokio::test]
async fn a_subscription_the_push_service_says_is_gone_is_removed() {
    let ps = PushService::start().await;
    let s = stack_with(&ps).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let bob_token = s.token(&bob, Some("Bob"), "user");
    let (dead_id, dead) = ps.subscribe().await;
    let (live_id, live) = ps.subscribe().await;
    let dead_reg = register(&s, &bob_token, &dead).await;
    let live_reg = register(&s, &bob_token, &live).await;
    ps.kill(&dead_id).await;
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    send(&mut a, &room, "d-1", "anyone there?").await;
    ps.exactly(&live_id, 1).await;
    let ids = one_left(&s, &bob, "id").await;
    assert_eq!(ids, [live_reg["id"].as_str().unwrap()]);
    assert_ne!(dead_reg["id"], live_reg["id"]);
    let dead_seen = ps.received(&dead_id).await;
    assert_eq!((dead_seen["attempts"].as_u64(), dead_seen["payloads"].as_array().map(Vec::len)), (Some(1), Some(0)));
    // Unregistering it again: it is gone already.
    let r =
        rest("DELETE", &format!("{}/push/subscriptions", s.api()), Some(&bob_token), Some(&json!({"endpoint": dead["endpoint"]}))).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn subscriptions_are_registered_checked_and_removed_over_rest() {
    let ps = PushService::start().await;
    let s = stack_with(&ps).await;
    let api = s.api();
    let user = uid("carol");
    let token = s.token(&user, Some("Carol"), "user");
    // The VAPID public key, without a token: what a page subscribes with.
    let k = rest("GET", &format!("{api}/push/key"), None, None).await;
    assert_eq!(k.status, 200, "{}", k.body);
    assert_eq!(k.json()["publicKey"].as_str(), Some(s.vapid.public_key.as_str()));

    let (_, sub) = ps.subscribe().await;
    let first = register(&s, &token, &sub).await;
    let again = register(&s, &token, &sub).await;
    assert_eq!(first["id"], again["id"], "the same endpoint is one subscription");

    let bad = |body: Value, field: &'static str| {
        let (api, token) = (api.clone(), token.clone());
        async move {
            let r = rest("POST", &format!("{api}/push/subscriptions"), Some(&token), Some(&body)).await;
            assert_eq!((r.status, r.json()["field"].as_str()), (400, Some(field)), "{body}: {}", r.body);
        }
    };
    let keys = sub["keys"].clone();
    bad(json!({"endpoint": "http://push.example.net/x", "keys": keys}), "endpoint").await;
    bad(json!({"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "AAAA", "auth": keys["auth"]}}), "keys.p256dh")
        .await;
    bad(json!({"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": keys["p256dh"], "auth": "AAAA"}}), "keys.auth")
        .await;
    bad(json!({"endpoint": "https://fcm.googleapis.com/fcm/send/x"}), "keys").await;
    // The stack runs with the template's default push services: a Web Push service's endpoint is
    // taken, any other host is not.
    let fcm = rest(
        "POST",
        &format!("{api}/push/subscriptions"),
        Some(&token),
        Some(&json!({"endpoint": "https://fcm.googleapis.com/fcm/send/abc:def", "keys": keys})),
    )
    .await;
    assert_eq!(fcm.status, 201, "{}", fcm.body);
    bad(json!({"endpoint": "https://push.example.net/x", "keys": keys}), "endpoint").await;
    let r = rest("POST", &format!("{api}/push/subscriptions"), Some(&s.token("shop", None, "service")), Some(&sub)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rest("POST", &format!("{api}/push/subscriptions"), None, Some(&sub)).await;
    assert_eq!(r.status, 401, "{}", r.body);

    let del = rest("DELETE", &format!("{api}/push/subscriptions"), Some(&token), Some(&json!({"endpoint": sub["endpoint"]}))).await;
    assert_eq!(del.status, 204, "{}", del.body);
    let del = rest("DELETE", &format!("{api}/push/subscriptions"), Some(&token), Some(&json!({"endpoint": sub["endpoint"]}))).await;
    assert_eq!(del.status, 404, "{}", del.body);
}

/// Endpoints inside the network, in every notation the attack report used (and a few more), are
/// refused when a subscription is registered: 400 naming `endpoint`, nothing stored.
#[tokio::test]
async fn push_endpoints_inside_the_network_are_refused_in_every_notation() {
    let ps = PushService::start().await;
    let s = stack_with(&ps).await;
    let user = uid("mallory");
    let token = s.token(&user, Some("Mallory"), "user");
    let (_, sub) = ps.subscribe().await;
    let port = ps.base.rsplit(':').next().unwrap().to_string();
    let inside = [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
        "https://10.0.0.1/push".into(),
        "https://192.168.1.1/push".into(),
        "https://[::1]:8443/push".into(),
        "https://[::ffff:127.0.0.1]/push".into(),
        "https://[::ffff:7f00:1]/push".into(),
        "https://2130706433/push".into(),
        "https://127.1/push".into(),
        "https://0x7f.1/push".into(),
        "https://0177.0.0.1/push".into(),
        "https://0.0.0.0:8443/push".into(),
        "https://100.64.0.1/push".into(),
        "https://[fd00::1]/push".into(),
        "https://[fe80::1]/push".into(),
        "http://localhost/push".into(),
        "https://localhost/push".into(),
        "https://localhost./push".into(),
        "https://metadata.google.internal/computeMetadata/v1/".into(),
        // The test push service itself, reached another way than its exact origin.
        format!("http://localhost:{port}/push/x"),
        format!("https://127.0.0.1:{port}/push/x"),
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next".into(),
        // Allowed host, wrong port or scheme.
        "https://fcm.googleapis.com:9001/fcm/send/x".into(),
        "http://fcm.googleapis.com/fcm/send/x".into(),
    ];
    for endpoint in &inside {
        let r = rest(
            "POST",
            &format!("{}/push/subscriptions", s.api()),
            Some(&token),
            Some(&json!({"endpoint": endpoint, "keys": sub["keys"]})),
        )
        .await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("endpoint")), "{endpoint}: {}", r.body);
    }
    assert!(stored(&s, &user).await.is_empty(), "nothing was stored");
}

/// A subscription that reached the table anyway (registered before the rules, or written by
/// hand) is never connected to: the notify function checks the endpoint again before sending,
/// sends nothing and removes it, while the user's real subscription gets the push.
#[tokio::test]
async fn a_stored_inside_endpoint_is_never_connected_to_and_is_removed() {
    let (ps, s, alice, bob, live_id, live) = bob_subscribed().await;
    // A listener standing for a service inside the network: it counts connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inside_port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let ddb = s.dynamodb().await;
    let bad_endpoints = [
        format!("http://127.0.0.1:{inside_port}/inside"),
        format!("https://localhost:{inside_port}/inside"),
        format!("https://2130706433:{inside_port}/inside"),
    ];
    for (i, endpoint) in bad_endpoints.iter().enumerate() {
        use aws_sdk_dynamodb::types::AttributeValue::{N, S};
        ddb.put_item()
            .table_name(s.table("PushSubscriptionsTable"))
            .item("userId", S(bob.clone()))
            .item("id", S(chat::push::subscription_id(endpoint)))
            .item("endpoint", S(endpoint.clone()))
            .item("p256dh", S(live["keys"]["p256dh"].as_str().unwrap().into()))
            .item("auth", S(live["keys"]["auth"].as_str().unwrap().into()))
            .item("createdAt", N(i.to_string()))
            .send()
            .await
            .unwrap();
    }
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    send(&mut a, &room, "ssrf-1", "hello").await;
    ps.exactly(&live_id, 1).await;
    let left = one_left(&s, &bob, "endpoint").await;
    assert_eq!(left, [live["endpoint"].as_str().unwrap()]);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "the notify function connected to an inside address");
    assert!(s.logs().contains("push endpoint refused"), "{}", s.logs());
}
