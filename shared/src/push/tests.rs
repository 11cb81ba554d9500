//! The offline-push decision and the notify side on the in-memory doubles.

use super::webpush::{self, MemoryPushSender, VapidKeys};
use super::*;
use crate::app::{App, ChatConfig};
use crate::clock::ManualClock;
use crate::model::Role;
use crate::notify::memory::MemoryNotifier;
use crate::store::memory::MemoryStore;
use crate::store::PushStore;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

struct World {
    app: App,
    notifier: Arc<MemoryNotifier>,
    clock: Arc<ManualClock>,
    push: Arc<MemoryPush>,
}

impl World {
    fn new() -> World {
        let m = crate::handlers::memory_app(1_800_000_000_000, ChatConfig { push_interval_secs: 60, ..ChatConfig::default() });
        let push = Arc::new(MemoryPush::default());
        World { app: m.app.with_push(push.clone()), notifier: m.notifier, clock: m.clock, push }
    }
    async fn connect(&self, user: &str, conn: &str) {
        crate::cmd::tests::connect_as(&self.app, user, conn, Role::User).await;
    }
    async fn disconnect(&self, conn: &str) {
        self.app.detach(conn).await.unwrap();
    }
    async fn frame(&self, conn: &str, frame: Value) -> Vec<Value> {
        crate::cmd::handle(&self.app, conn, "req", &frame.to_string()).await;
        self.notifier.take(conn)
    }
    async fn group(&self, conn: &str, name: &str, members: &[&str]) -> String {
        let out = self.frame(conn, json!({"action": "room.create", "type": "group", "name": name, "members": members})).await;
        out.iter().find(|f| f["type"] == "room.created").unwrap()["room"]["roomId"].as_str().unwrap().to_string()
    }
    async fn send(&self, conn: &str, room: &str, id: &str, content: &str) {
        let out = self.frame(conn, json!({"action": "message.send", "roomId": room, "clientId": id, "content": content})).await;
        assert!(out.iter().any(|f| f["type"] == "ack"), "{out:?}");
    }
    fn pushed(&self) -> Vec<(Vec<String>, PushPayload)> {
        self.push.take().into_iter().map(|b| (b.user_ids, b.payload)).collect()
    }
}

#[tokio::test]
async fn a_burst_pushes_each_offline_member_once_and_nobody_online() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.group("a1", "Team", &["bob", "carol", "dave"]).await;
    for i in 0..5 {
        w.send("a1", &room, &format!("m{i}"), &format!("hello {i}")).await;
    }
    let pushed = w.pushed();
    assert_eq!(pushed.len(), 1, "one publish for the burst: {pushed:?}");
    let (mut users, p) = pushed.into_iter().next().unwrap();
    users.sort();
    assert_eq!(users, ["carol", "dave"], "bob is online, alice sent");
    assert_eq!((p.room_title.as_str(), p.sender_name.as_str(), p.preview.as_str(), p.seq), ("Team", "ALICE", "hello 0", 1));
    // After the interval, the next message pushes again.
    w.clock.advance(60_001);
    w.send("a1", &room, "m5", "later").await;
    assert_eq!(w.pushed().len(), 1);
    // Bob goes offline: he is pushed too now (carol and dave were pushed a moment ago).
    w.disconnect("b1").await;
    w.send("a1", &room, "m6", "are you there?").await;
    let pushed = w.pushed();
    assert_eq!(pushed.iter().map(|p| p.0.clone()).collect::<Vec<_>>(), [vec!["bob".to_string()]]);
}

#[tokio::test]
async fn a_muted_room_is_not_pushed_and_mute_answers_room_updated() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.group("a1", "Team", &["bob"]).await;
    let out = w.frame("b1", json!({"action": "room.mute", "roomId": room, "muted": true, "ref": "m"})).await;
    let up = out.iter().find(|f| f["type"] == "room.updated").unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!((up["room"]["muted"].as_bool(), up["ref"].as_str()), (Some(true), Some("m")));
    w.disconnect("b1").await;
    w.send("a1", &room, "x1", "nobody hears this").await;
    assert!(w.pushed().is_empty());
    // Unmuted: pushed again; and `muted` is left out of the room view when false.
    w.connect("bob", "b2").await;
    let out = w.frame("b2", json!({"action": "room.mute", "roomId": room, "muted": false})).await;
    assert!(out[0]["room"].get("muted").is_none(), "{}", out[0]);
    w.disconnect("b2").await;
    w.send("a1", &room, "x2", "now you hear").await;
    assert_eq!(w.pushed().len(), 1);
    // Not a member: not_member.
    w.connect("eve", "e1").await;
    let out = w.frame("e1", json!({"action": "room.mute", "roomId": room, "muted": true})).await;
    assert_eq!(out[0]["code"], "not_member");
}

#[tokio::test]
async fn a_direct_room_is_titled_by_the_sender_and_attachments_by_their_kind() {
    let w = World::new();
    w.connect("alice", "a1").await;
    let out = w.frame("a1", json!({"action": "room.create", "type": "direct", "members": ["bob"]})).await;
    let room = out[0]["room"]["roomId"].as_str().unwrap().to_string();
    // (An image message needs an uploaded attachment: its preview is checked on the rule below.)
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "p", "content": "hello"})).await;
    let p = w.pushed().remove(0).1;
    assert_eq!((p.room_title.as_str(), p.preview.as_str(), p.room_type), ("ALICE", "hello", crate::protocol::RoomType::Direct));
    let long = "x".repeat(500);
    let m = text_message(room, 2, &long);
    assert_eq!(preview(&m).chars().count(), PREVIEW_CHARS);
    assert_eq!(preview(&Message { kind: MessageKind::Image, ..m.clone() }), "Photo");
    assert_eq!(preview(&Message { kind: MessageKind::File, ..m }), "File");
}

#[tokio::test]
async fn without_the_rooms_connections_nobody_is_pushed() {
    let w = World::new();
    w.connect("alice", "a1").await;
    let room = w.group("a1", "Team", &["bob"]).await;
    let m = text_message(room, 1, "hi");
    assert_eq!(offline_push(&w.app, &m, None, None).await, PushDecision::default());
    let d = offline_push(&w.app, &m, Some(&Default::default()), None).await;
    assert_eq!(d.pushed, ["bob"]);
}

fn sub(user: &str, endpoint: &str) -> (PushSubscriptionRecord, web_push_native::p256::SecretKey, [u8; 16]) {
    let secret = web_push_native::p256::SecretKey::random(&mut web_push_native::p256::elliptic_curve::rand_core::OsRng);
    use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
    let public = secret.public_key().to_encoded_point(false);
    let auth = crate::ids::random_bytes::<16>();
    let rec = PushSubscriptionRecord {
        user_id: user.into(),
        id: subscription_id(endpoint),
        endpoint: endpoint.into(),
        p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
        auth: URL_SAFE_NO_PAD.encode(auth),
        created_at: 0,
    };
    (rec, secret, auth)
}

#[test]
fn the_payload_decrypts_with_the_browsers_keys() {
    let (s, secret, auth) = sub("bob", "https://push.example.net/x");
    let body = webpush::encrypt(&s, br#"{"hello":"world"}"#).unwrap();
    let clear = web_push_native::decrypt(body, &secret, &web_push_native::Auth::clone_from_slice(&auth)).unwrap();
    assert_eq!(clear, br#"{"hello":"world"}"#);
    assert!(webpush::subscription_keys("AAAA", &s.auth).is_err());
    assert!(webpush::subscription_keys(&s.p256dh, "AAAA").is_err());
}

#[test]
fn vapid_keys_round_trip_and_sign_for_the_endpoints_origin() {
    use web_push_native::jwt_simple::prelude::*;
    let k = VapidKeys::generate("mailto:ops@example.com").unwrap();
    let again = VapidKeys::from_json(&k.to_json()).unwrap();
    assert_eq!(again.public_key, k.public_key);
    assert!(VapidKeys::generate("ops@example.com").is_err());
    let mut bad: serde_json::Value = serde_json::from_str(&k.to_json()).unwrap();
    bad["publicKey"] = json!(VapidKeys::generate("mailto:x@y.z").unwrap().public_key);
    assert!(VapidKeys::from_json(&bad.to_string()).is_err(), "a public key of another pair is refused");

    assert_eq!(webpush::origin("https://fcm.googleapis.com/fcm/send/abc").unwrap(), "https://fcm.googleapis.com");
    assert_eq!(webpush::origin("http://127.0.0.1:4567/push/1").unwrap(), "http://127.0.0.1:4567");
    assert_eq!(webpush::origin("https://push.example.net:443/x").unwrap(), "https://push.example.net");
    let header = k.authorization("http://127.0.0.1:4567/push/1").unwrap();
    let (t, key) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
    assert_eq!(key, k.public_key);
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let claims = public.verify_token::<NoCustomClaims>(t, None).unwrap();
    assert_eq!(claims.audiences.unwrap().into_string().unwrap(), "http://127.0.0.1:4567");
    assert_eq!(claims.subject.as_deref(), Some("mailto:ops@example.com"));
    assert_eq!(webpush::topic("gr_x").len(), 32);
}

#[tokio::test]
async fn notify_sends_to_every_subscription_and_removes_the_gone_ones() {
    let store = MemoryStore::new();
    let (a, _, _) = sub("bob", "https://push.example.net/a");
    let (b, _, _) = sub("bob", "https://push.example.net/b");
    let (c, _, _) = sub("carol", "https://push.example.net/c");
    for s in [&a, &b, &c] {
        store.put_push_subscription(s).await.unwrap();
    }
    let sender = MemoryPushSender::default();
    sender.mark_gone(&b.endpoint);
    let payload = PushPayload {
        room_id: "gr_1".into(),
        room_title: "Team".into(),
        room_type: RoomType::Group,
        sender_id: "alice".into(),
        sender_name: "Alice".into(),
        preview: "hi".into(),
        kind: MessageKind::Text,
        seq: 1,
        created_at: 0,
    };
    let batch = PushBatch { user_ids: vec!["bob".into(), "carol".into(), "nobody".into()], payload };
    let r = webpush::deliver(&store, &sender, &batch).await;
    assert_eq!(r, webpush::NotifyReport { users: 3, sent: 2, removed: 1, failed: 0 });
    assert_eq!(store.push_subscriptions("bob").await.unwrap(), [a]);
    assert_eq!(sender.sent()[0].1["senderName"], "Alice");
}

#[tokio::test]
async fn a_user_keeps_at_most_ten_subscriptions_the_oldest_makes_room() {
    let store = MemoryStore::new();
    for i in 0..12u64 {
        let (mut s, _, _) = sub("bob", &format!("https://push.example.net/{i}"));
        s.created_at = i;
        store.put_push_subscription(&s).await.unwrap();
    }
    let mut left: Vec<u64> = store.push_subscriptions("bob").await.unwrap().iter().map(|s| s.created_at).collect();
    left.sort();
    assert_eq!(left, (2..12).collect::<Vec<_>>());
}

/// A text message from alice (the fields a push reads).
fn text_message(room_id: String, seq: u64, content: &str) -> Message {
    Message {
        room_id,
        seq,
        id: "i".into(),
        sender_id: "alice".into(),
        sender_name: None,
        kind: MessageKind::Text,
        attachments: vec![],
        content: content.into(),
        reply_to: None,
        client_id: None,
        created_at: 0,
        edited_at: None,
        deleted_at: None,
        ver: None,
        meta: None,
    }
}
