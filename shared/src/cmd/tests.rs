//! The chat rules on the in-memory doubles: the same traits the DynamoDB and @connections
//! adapters implement, a clock the tests move.

use crate::app::{App, ChatConfig};
use crate::clock::ManualClock;
use crate::model::{ConnectionRecord, Role};
use crate::notify::memory::MemoryNotifier;
use serde_json::{json, Value};
use std::sync::Arc;

/// A connection registered as `$connect` registers it (named after its user, upper case).
pub(crate) async fn connect_as(app: &App, user: &str, conn: &str, role: Role) {
    let rec = ConnectionRecord {
        connection_id: conn.into(),
        user_id: user.into(),
        name: Some(user.to_uppercase()),
        role,
        connected_at: 0,
        expires_at: 0,
    };
    crate::handlers::register_connection(app, &rec).await.unwrap();
}

pub(super) struct World {
    pub(super) app: App,
    pub(super) notifier: Arc<MemoryNotifier>,
    clock: Arc<ManualClock>,
    /// A support session, when the test made one (the fuzzer's world does).
    pub(super) session: std::sync::OnceLock<String>,
}

impl World {
    /// A world whose clock never moves on its own: the flood limits are lifted (tests send many
    /// frames in one instant); [`World::with_limits`] keeps them.
    pub(super) fn new() -> World {
        Self::with_config(ChatConfig {
            max_group_size: 5,
            frames_per_window: u64::MAX - 1,
            frames_before_close: u64::MAX - 1,
            pings_per_interval: u64::MAX - 1,
            pings_before_close: u64::MAX - 1,
            ..ChatConfig::default()
        })
    }

    pub(super) fn with_limits() -> World {
        Self::with_config(ChatConfig { max_group_size: 5, ..ChatConfig::default() })
    }

    fn with_config(cfg: ChatConfig) -> World {
        let m = crate::handlers::memory_app(1_800_000_000_000, cfg);
        World { app: m.app, notifier: m.notifier, clock: m.clock, session: Default::default() }
    }

    /// Registers a connection as `$connect` does.
    pub(super) async fn connect(&self, user: &str, conn: &str) {
        connect_as(&self.app, user, conn, Role::User).await;
    }

    /// Registers an operator's connection (`$connect` with an operator token).
    pub(super) async fn connect_operator(&self, user: &str, conn: &str) {
        connect_as(&self.app, user, conn, Role::Operator).await;
    }

    pub(super) async fn frame(&self, conn: &str, frame: Value) {
        super::handle(&self.app, conn, "req-1", &frame.to_string()).await;
    }

    fn take(&self, conn: &str) -> Vec<Value> {
        self.notifier.take(conn)
    }

    fn types(&self, conn: &str) -> Vec<String> {
        self.take(conn).iter().map(|f| f["type"].as_str().unwrap_or_default().to_string()).collect()
    }

    pub(super) async fn direct(&self, conn: &str, other: &str) -> String {
        self.frame(conn, json!({"action": "room.create", "type": "direct", "members": [other]})).await;
        let f = self.take(conn).into_iter().find(|f| f["type"] == "room.created").expect("room.created");
        f["room"]["roomId"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn send_acks_the_sender_and_reaches_every_other_connection() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("alice", "a2").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    for c in ["a1", "a2", "b1"] {
        w.take(c);
    }
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "c1", "content": "hi"})).await;
    let a1 = w.take("a1");
    assert_eq!(a1.len(), 1);
    assert_eq!((a1[0]["type"].as_str(), a1[0]["message"]["seq"].as_u64()), (Some("ack"), Some(1)));
    assert_eq!(w.types("a2"), ["message.new"]);
    assert_eq!(w.types("b1"), ["message.new"]);
}

#[tokio::test]
async fn a_repeated_client_id_is_acked_again_and_broadcast_once() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.take("b1");
    for _ in 0..3 {
        w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "same", "content": "once"})).await;
    }
    let acks = w.take("a1");
    assert_eq!(acks.len(), 3);
    assert!(acks.iter().all(|a| a["message"] == acks[0]["message"]));
    assert_eq!(acks.iter().filter(|a| a["duplicate"] == false).count(), 1);
    assert_eq!(w.types("b1"), ["message.new"]);
}

#[tokio::test]
async fn typing_is_throttled_to_one_per_two_seconds() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.take("b1");
    let typing = json!({"action": "typing", "roomId": room, "isTyping": true});
    w.frame("a1", typing.clone()).await;
    w.clock.advance(1_999);
    w.frame("a1", typing.clone()).await;
    assert_eq!(w.types("b1"), ["typing"]);
    w.clock.advance(1);
    w.frame("a1", typing.clone()).await;
    assert_eq!(w.types("b1"), ["typing"]);
    assert!(w.take("a1").is_empty(), "the typist hears nothing");
}

#[tokio::test]
async fn cursors_only_move_forward_and_stop_at_the_last_message() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    for i in 0..3 {
        w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": format!("c{i}"), "content": "x"})).await;
    }
    w.take("a1");
    w.frame("b1", json!({"action": "read", "roomId": room, "seq": 99})).await;
    let r = w.take("a1");
    assert_eq!(r[0]["seq"], 3, "capped at lastSeq");
    w.frame("b1", json!({"action": "read", "roomId": room, "seq": 1})).await;
    assert!(w.take("a1").is_empty(), "never back");
    let m = w.app.store.get_member(&room, "bob").await.unwrap().unwrap();
    assert_eq!(m.read_seq, 3);
}

#[tokio::test]
async fn a_gone_connection_is_cleaned_up_and_its_user_announced_offline() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.take("a1");
    w.notifier.mark_gone("b1");
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "c1", "content": "hello?"})).await;
    let frames = w.take("a1");
    let presence = frames.iter().find(|f| f["type"] == "presence").expect("presence frame");
    assert_eq!((presence["userId"].as_str(), presence["online"].as_bool()), (Some("bob"), Some(false)));
    assert!(w.app.store.get_connection("b1").await.unwrap().is_none());
    assert!(w.app.store.get_users(&["bob".into()]).await.unwrap()[0].conns.is_empty());
}

#[tokio::test]
async fn stale_connection_ids_do_not_hide_a_user_coming_online() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b-old").await;
    w.direct("a1", "bob").await;
    // b-old vanished without $disconnect and without any post: only its id is left.
    w.app.store.delete_connection("b-old").await.unwrap();
    w.take("a1");
    w.connect("bob", "b-new").await;
    let frames = w.take("a1");
    assert!(frames.iter().any(|f| f["type"] == "presence" && f["online"] == true), "{frames:?}");
    assert_eq!(w.app.store.get_users(&["bob".into()]).await.unwrap()[0].conns, vec!["b-new".to_string()]);
}

#[tokio::test]
async fn groups_respect_roles_and_size() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    w.frame("a1", json!({"action": "room.create", "type": "group", "members": ["bob", "c", "d", "e", "f"]})).await;
    assert_eq!(w.take("a1")[0]["code"], "room_full");
    w.frame("a1", json!({"action": "room.create", "type": "group", "name": "  ", "members": ["bob", "bob", "alice"]})).await;
    let created = w.take("a1").into_iter().find(|f| f["type"] == "room.created").unwrap();
    assert_eq!(created["room"]["memberCount"], 2, "duplicates and self are ignored");
    assert!(created["room"]["name"].is_null(), "a blank name is no name");
    let room = created["room"]["roomId"].as_str().unwrap().to_string();
    w.frame("b1", json!({"action": "room.add", "roomId": room, "members": ["c"]})).await;
    assert_eq!(w.take("b1").last().unwrap()["code"], "forbidden");
}

#[tokio::test]
async fn history_is_cut_to_fit_one_frame() {
    let w = World::new();
    w.connect("alice", "a1").await;
    let room = w.direct("a1", "bob").await;
    let big = "x".repeat(crate::protocol::MAX_CONTENT_BYTES);
    for i in 0..10 {
        w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": format!("c{i}"), "content": big})).await;
    }
    w.take("a1");
    w.frame("a1", json!({"action": "history", "roomId": room, "limit": 10})).await;
    let h = w.take("a1").pop().unwrap();
    let n = h["messages"].as_array().unwrap().len();
    assert!((5..10).contains(&n), "cut below 96 KB: {n} messages");
    assert_eq!(h["hasMore"], true);
    assert!(h.to_string().len() < 128 * 1024);
    assert_eq!(h["nextCursor"].as_u64(), h["messages"].as_array().unwrap().last().unwrap()["seq"].as_u64());
}

#[tokio::test]
async fn an_unknown_connection_is_unauthorized() {
    let w = World::new();
    w.frame("ghost", json!({"action": "ping"})).await;
    let e = w.take("ghost");
    assert_eq!((e[0]["code"].as_str(), e[0]["requestId"].as_str()), (Some("unauthorized"), Some("req-1")));
}

#[tokio::test]
async fn sends_beyond_the_budget_are_rate_limited_until_the_next_window() {
    let mut w = World::new();
    w.app.cfg.max_sends_per_window = 2;
    w.connect("alice", "a1").await;
    let room = w.direct("a1", "bob").await;
    let send = |i: u32| json!({"action": "message.send", "roomId": room, "clientId": format!("c{i}"), "content": "x"});
    for i in 0..3 {
        w.frame("a1", send(i)).await;
    }
    let frames = w.take("a1");
    assert_eq!(frames.iter().filter(|f| f["type"] == "ack").count(), 2);
    assert_eq!(frames.last().unwrap()["code"], "rate_limited");
    w.clock.advance(crate::app::SEND_WINDOW_MS);
    w.frame("a1", send(3)).await;
    assert_eq!(w.take("a1")[0]["type"], "ack");
}

/// A connection that floods is told (`rate_limited`, the frame not applied) past the soft bound,
/// cut off past the hard one (one error frame saying why, the socket closed, later frames
/// dropped), and its user cannot reconnect until the penalty ran out; another connection of the
/// same moment is untouched, and a new window starts afresh.
#[tokio::test]
async fn a_flooding_connection_is_limited_then_cut_off_and_its_user_slowed() {
    use crate::limits::{FRAMES_BEFORE_CLOSE, FRAMES_PER_WINDOW, FRAME_WINDOW_SECS, PENALTY_BASE_SECS};
    let w = World::with_limits();
    w.connect("mallory", "m1").await;
    w.connect("bob", "b1").await;
    for _ in 0..FRAMES_PER_WINDOW {
        w.frame("m1", json!({"action": "room.list"})).await;
    }
    assert!(w.take("m1").iter().all(|f| f["type"] == "room.list"), "the first frames of a window pass");
    w.frame("m1", json!({"action": "room.create", "type": "direct", "members": ["bob"]})).await;
    let limited = w.take("m1");
    assert_eq!(
        (limited.len(), limited[0]["code"].as_str(), limited[0]["action"].as_str()),
        (1, Some("rate_limited"), Some("room.create")),
        "{limited:?}"
    );
    assert!(
        w.app.store.room_hint(&crate::ids::direct_room_id("mallory", "bob")).await.unwrap().is_none(),
        "a limited frame is not applied"
    );
    for _ in FRAMES_PER_WINDOW + 1..FRAMES_BEFORE_CLOSE {
        w.frame("m1", json!({"action": "room.list"})).await;
    }
    assert!(w.take("m1").iter().all(|f| f["code"] == "rate_limited"));
    assert!(w.notifier.closed().is_empty());
    w.frame("m1", json!({"action": "room.list"})).await;
    let why = w.take("m1");
    assert_eq!(why.len(), 1);
    let msg = why[0]["message"].as_str().unwrap();
    assert!(
        why[0]["code"] == "rate_limited" && msg.contains("closed") && msg.contains(&format!("reconnect in {PENALTY_BASE_SECS} s")),
        "{msg}"
    );
    assert_eq!(w.notifier.closed(), ["m1"]);
    for _ in 0..50 {
        w.frame("m1", json!({"action": "room.list"})).await;
    }
    assert!(w.take("m1").is_empty(), "frames past the cut are dropped unanswered");
    assert_eq!(w.notifier.closed(), ["m1"], "closed once");
    // Another user's frame in the same instant is served.
    w.frame("b1", json!({"action": "ping"})).await;
    assert_eq!(w.take("b1")[0]["type"], "pong");
    // The flooder's user waits out the penalty before connecting again.
    assert_eq!(w.app.reconnect_wait("mallory").await.unwrap(), Some(PENALTY_BASE_SECS * 1000));
    assert_eq!(w.app.reconnect_wait("bob").await.unwrap(), None);
    w.clock.advance(PENALTY_BASE_SECS * 1000);
    assert_eq!(w.app.reconnect_wait("mallory").await.unwrap(), None);
    // A new connection in a new window is served again.
    w.clock.advance(FRAME_WINDOW_SECS * 1000);
    w.connect("mallory", "m2").await;
    w.frame("m2", json!({"action": "room.list"})).await;
    assert_eq!(w.take("m2")[0]["type"], "room.list");
}

/// Pings are counted by the heartbeat's own write: a few per interval pass, more are limited,
/// a flood of them is cut off like any other.
#[tokio::test]
async fn a_ping_flood_is_limited_then_cut_off() {
    use crate::limits::{PINGS_BEFORE_CLOSE, PINGS_PER_INTERVAL};
    let w = World::with_limits();
    w.connect("mallory", "m1").await;
    // The $connect's beat is the interval's first.
    for _ in 1..PINGS_PER_INTERVAL {
        w.frame("m1", json!({"action": "ping"})).await;
    }
    assert!(w.take("m1").iter().all(|f| f["type"] == "pong"));
    for _ in PINGS_PER_INTERVAL..PINGS_BEFORE_CLOSE {
        w.frame("m1", json!({"action": "ping"})).await;
    }
    assert!(w.take("m1").iter().all(|f| f["code"] == "rate_limited"));
    w.frame("m1", json!({"action": "ping"})).await;
    assert!(w.take("m1")[0]["message"].as_str().unwrap().contains("closed"));
    assert_eq!(w.notifier.closed(), ["m1"]);
    // The next interval starts afresh.
    w.clock.advance(w.app.cfg.heartbeat_secs * 1000);
    w.connect("mallory", "m2").await;
    w.frame("m2", json!({"action": "ping"})).await;
    assert_eq!(w.take("m2")[0]["type"], "pong");
}

#[tokio::test]
async fn sync_pages_through_many_rooms_and_big_messages_and_converges() {
    let mut w = World::new();
    w.app.cfg.max_sends_per_window = u32::MAX;
    w.connect("alice", "a1").await;
    let mut rooms = Vec::new();
    for i in 0..120 {
        rooms.push(w.direct("a1", &format!("peer{i:03}")).await);
    }
    let big = "y".repeat(crate::protocol::MAX_CONTENT_BYTES);
    for (i, r) in rooms.iter().take(8).enumerate() {
        w.frame("a1", json!({"action": "message.send", "roomId": r, "clientId": format!("c{i}"), "content": big})).await;
    }
    w.take("a1");
    // A fresh device knows nothing; then one that knows every room from seq 0.
    for known in [false, true] {
        let mut cursors: serde_json::Map<String, Value> = serde_json::Map::new();
        if known {
            for r in &rooms {
                cursors.insert(r.clone(), json!(0));
            }
        }
        let (mut seen, mut msgs, mut pages, mut cursor) = (std::collections::BTreeSet::new(), 0, 0, Value::Null);
        loop {
            w.frame("a1", json!({"action": "sync", "rooms": cursors, "cursor": cursor})).await;
            let page = w.take("a1").pop().unwrap();
            assert_eq!(page["type"], "sync", "{page}");
            assert!(page.to_string().len() < 128 * 1024, "a page fits one API Gateway message");
            pages += 1;
            for rs in page["rooms"].as_array().unwrap() {
                let id = rs["room"]["roomId"].as_str().unwrap().to_string();
                seen.insert(id.clone());
                for m in rs["messages"].as_array().unwrap() {
                    cursors.insert(id.clone(), m["seq"].clone());
                    msgs += 1;
                }
            }
            cursor = page["nextCursor"].clone();
            if page["hasMore"] == false {
                break;
            }
            assert!(pages < 50, "sync must converge");
        }
        assert_eq!(seen.len(), 120, "every room once at least");
        assert_eq!(msgs, if known { 8 } else { 0 });
        assert!(pages >= 3, "paged ({pages} pages)");
    }
}

#[tokio::test]
async fn system_messages_cannot_be_edited_and_previews_follow_edits() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    w.frame("a1", json!({"action": "room.create", "type": "group", "members": ["bob"]})).await;
    let room = w.take("a1").into_iter().find(|f| f["type"] == "room.created").unwrap()["room"]["roomId"].as_str().unwrap().to_string();
    w.frame("a1", json!({"action": "room.add", "roomId": room, "members": ["carol"]})).await;
    w.take("a1");
    w.frame("a1", json!({"action": "message.delete", "roomId": room, "seq": 1})).await;
    assert_eq!(w.take("a1")[0]["code"], "forbidden", "the system message stays");
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "m", "content": "secret"})).await;
    w.frame("a1", json!({"action": "message.delete", "roomId": room, "seq": 2})).await;
    w.take("a1");
    let r = w.app.store.get_room(&room).await.unwrap().unwrap();
    assert_eq!(r.last_message.unwrap().text, "", "the room list no longer shows the deleted text");
}

/// Posts to one connection hang, to another fail: everyone else is served at once, and the
/// sender still gets the ack.
#[tokio::test]
async fn one_slow_or_failing_connection_never_delays_or_fails_the_others() {
    use crate::notify::{Notifier, PostError};
    struct Flaky {
        inner: Arc<MemoryNotifier>,
        started: std::time::Instant,
        delivered_at: std::sync::Mutex<Vec<(String, std::time::Duration)>>,
    }
    #[async_trait::async_trait]
    impl Notifier for Flaky {
        async fn post(&self, c: &str, data: &str) -> Result<(), PostError> {
            match c {
                "slow" => tokio::time::sleep(std::time::Duration::from_millis(800)).await,
                "broken" => return Err(PostError::Failed("HTTP 500".into())),
                _ => {}
            }
            self.delivered_at.lock().unwrap().push((c.to_string(), self.started.elapsed()));
            self.inner.post(c, data).await
        }
        async fn close(&self, c: &str) -> Result<(), PostError> {
            self.inner.close(c).await
        }
    }
    let mut w = World::new();
    w.app.cfg.max_group_size = 10;
    w.connect("alice", "a1").await;
    for (i, conn) in ["slow", "broken", "c1", "c2", "c3"].iter().enumerate() {
        w.connect(&format!("u{i}"), conn).await;
    }
    w.frame("a1", json!({"action": "room.create", "type": "group", "members": ["u0", "u1", "u2", "u3", "u4"]})).await;
    let room = w.take("a1").into_iter().find(|f| f["type"] == "room.created").unwrap()["room"]["roomId"].as_str().unwrap().to_string();
    let flaky = Arc::new(Flaky { inner: w.notifier.clone(), started: std::time::Instant::now(), delivered_at: Default::default() });
    let app = App { notifier: flaky.clone(), ..w.app.clone() };
    super::handle(&app, "a1", "r", &json!({"action": "message.send", "roomId": room, "clientId": "x", "content": "hi"}).to_string()).await;
    let at = flaky.delivered_at.lock().unwrap().clone();
    let when = |c: &str| at.iter().find(|(x, _)| x == c).map(|(_, t)| *t).unwrap_or_else(|| panic!("{c} not served: {at:?}"));
    for c in ["a1", "c1", "c2", "c3"] {
        assert!(when(c) < std::time::Duration::from_millis(300), "{c} waited for the slow one: {at:?}");
    }
    assert!(when("slow") >= std::time::Duration::from_millis(800));
    assert_eq!(w.take("a1")[0]["type"], "ack");
    assert_eq!(w.types("c2"), ["room.joined", "message.new"]);
}

fn actor(user: &str, role: Role) -> crate::app::Actor {
    crate::app::Actor { user_id: user.into(), name: Some(user.to_uppercase()), role }
}

#[tokio::test]
async fn the_room_list_keeps_its_order_as_of_the_first_page() {
    let w = World::new();
    w.connect("me", "m1").await;
    let mut rooms = Vec::new();
    for other in ["a", "b", "c", "d"] {
        rooms.push(w.direct("m1", other).await);
        w.clock.advance(10);
    }
    for (i, r) in rooms.iter().enumerate() {
        w.frame("m1", json!({"action": "message.send", "roomId": r, "clientId": format!("c{i}"), "content": "hi"})).await;
        w.clock.advance(10);
    }
    let q = |cursor: Option<String>| super::room::ListQuery { limit: Some(2), cursor, archived: None };
    let p1 = super::room::list_page(&w.app, "me", &q(None), None).await.unwrap();
    let ids = |p: &super::room::RoomPage| p.rooms.iter().map(|r| r.room_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&p1), [rooms[3].clone(), rooms[2].clone()]);
    // The oldest room gets a message: it moves to the top now, but not within this listing.
    w.clock.advance(10);
    w.frame("m1", json!({"action": "message.send", "roomId": rooms[0], "clientId": "late", "content": "up"})).await;
    let p2 = super::room::list_page(&w.app, "me", &q(p1.next_cursor.clone()), None).await.unwrap();
    assert_eq!(ids(&p2), [rooms[1].clone(), rooms[0].clone()]);
    assert!(!p2.has_more && p2.next_cursor.is_none());
    let fresh = super::room::list_page(&w.app, "me", &q(None), None).await.unwrap();
    assert_eq!(ids(&fresh)[0], rooms[0]);
}

#[tokio::test]
async fn archiving_lasts_until_a_newer_message() {
    let w = World::new();
    w.connect("me", "m1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("m1", "bob").await;
    let me = actor("me", Role::User);
    let v = super::room::set_archived(&w.app, &me, &room, true).await.unwrap();
    assert!(v.archived);
    let list = |archived| {
        let app = w.app.clone();
        async move { super::room::list_page(&app, "me", &super::room::ListQuery { archived, ..Default::default() }, None).await }
    };
    assert!(list(Some(false)).await.unwrap().rooms.is_empty());
    assert_eq!(list(Some(true)).await.unwrap().rooms.len(), 1);
    w.frame("b1", json!({"action": "message.send", "roomId": room, "clientId": "x", "content": "hello?"})).await;
    assert_eq!(list(Some(false)).await.unwrap().rooms.len(), 1);
    let stranger = actor("eve", Role::User);
    assert!(matches!(super::room::set_archived(&w.app, &stranger, &room, true).await, Err(crate::error::ChatError::NotMember(_))));
}

#[tokio::test]
async fn the_site_binds_one_room_per_context_and_posts_system_messages() {
    use crate::protocol::{MessageKind, UserRef};
    let w = World::new();
    w.connect("buyer", "b1").await;
    let site = actor("shop", Role::Service);
    let ctx = |status: &str| super::context::ContextChat {
        title: Some("Order 7".into()),
        url: Some("https://shop.example/o/7".into()),
        status: Some(status.into()),
        members: vec![UserRef { user_id: "buyer".into(), name: None }, UserRef { user_id: "seller".into(), name: Some("Sam".into()) }],
    };
    let first = super::context::upsert(&w.app, &site, "order:7", ctx("paid")).await.unwrap();
    let again = super::context::upsert(&w.app, &site, "order:7", ctx("shipped")).await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(first.room_id, again.room_id);
    assert_eq!(again.context.status.as_deref(), Some("shipped"));
    assert_eq!(w.types("b1"), ["room.joined"]);
    // Users may not bind contexts; bad URLs are refused.
    assert!(matches!(
        super::context::upsert(&w.app, &actor("buyer", Role::User), "order:7", ctx("x")).await,
        Err(crate::error::ChatError::Forbidden(_))
    ));
    let mut bad = ctx("x");
    bad.url = Some("javascript:alert(1)".into());
    assert!(super::context::upsert(&w.app, &site, "order:8", bad).await.is_err());
    // The site's message: system by default over REST, with meta; no membership needed.
    let out = super::message::Outgoing {
        room_id: first.room_id.clone(),
        client_id: "s1".into(),
        content: "Shipped".into(),
        kind: MessageKind::System,
        reply_to: None,
        meta: Some(json!({"event": "shipped"})),
        attachments: vec![],
    };
    let appended = super::message::persist(&w.app, &site, out.clone()).await.unwrap();
    assert_eq!(appended.message().meta, Some(json!({"event": "shipped"})));
    // meta that DynamoDB could not store is refused up front.
    for meta in [json!({"": 1}), json!({"a": 1e300}), json!([1])] {
        let o = super::message::Outgoing { client_id: "s2".into(), meta: Some(meta.clone()), ..out.clone() };
        assert!(super::message::persist(&w.app, &site, o).await.is_err(), "{meta}");
    }
    // A user cannot send system messages or meta.
    let o = super::message::Outgoing { client_id: "u1".into(), meta: None, ..out.clone() };
    assert!(super::message::persist(&w.app, &actor("buyer", Role::User), o).await.is_err());
}

#[tokio::test]
async fn a_removed_member_gets_nothing_even_if_a_registration_races_the_removal() {
    let mut w = World::new();
    w.app.cfg.max_group_size = 10;
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    w.frame("a1", json!({"action": "room.create", "type": "group", "members": ["bob"]})).await;
    let room = w.take("a1").into_iter().find(|f| f["type"] == "room.created").unwrap()["room"]["roomId"].as_str().unwrap().to_string();
    w.frame("a1", json!({"action": "room.remove", "roomId": room, "userId": "bob"})).await;
    assert!(w.types("b1").contains(&"room.left".to_string()));
    // A connection of Bob's that registered from a membership list read before the removal.
    let late =
        crate::model::RoomConn { room_id: room.clone(), connection_id: "b2".into(), user_id: "bob".into(), expires_at: u64::MAX / 2 };
    w.connect("bob", "b2").await;
    w.app.store.register_connections(&[late]).await.unwrap();
    w.take("b2");
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "s1", "content": "secret"})).await;
    assert!(w.types("b1").is_empty() && w.types("b2").is_empty(), "nothing reaches a removed member");
    // Added again: both connections get the room's messages again.
    w.frame("a1", json!({"action": "room.add", "roomId": room, "members": ["bob"]})).await;
    w.take("b1");
    w.take("b2");
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "s2", "content": "welcome back"})).await;
    assert_eq!(w.types("b1"), ["message.new"]);
    assert_eq!(w.types("b2"), ["message.new"]);
}

#[tokio::test]
async fn a_send_that_creates_nothing_leaves_the_senders_read_cursor_as_it_was() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.frame("b1", json!({"action": "message.send", "roomId": room, "clientId": "b-1", "content": "one"})).await;
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "a-1", "content": "mine"})).await;
    w.frame("b1", json!({"action": "message.send", "roomId": room, "clientId": "b-2", "content": "two"})).await;
    let unread = || {
        let app = w.app.clone();
        async move { super::room::list_page(&app, "alice", &Default::default(), None).await.unwrap().rooms[0].unread }
    };
    assert_eq!(unread().await, 1, "bob's message after alice's own");
    // A retry of an old clientId: nothing new, the cursor stays where it was.
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "a-1", "content": "mine"})).await;
    assert_eq!(unread().await, 1);
    let m = w.app.store.get_member(&room, "alice").await.unwrap().unwrap();
    assert_eq!(m.own_seq, 2);
}

#[tokio::test]
async fn an_edit_larger_than_a_sync_page_still_goes_out_and_the_version_moves() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "c1", "content": "short"})).await;
    // 16 KiB of a character JSON escapes to six bytes: the edit alone is larger than a page.
    let huge: String = "\u{1}".repeat(16 * 1024);
    w.frame("a1", json!({"action": "message.edit", "roomId": room, "seq": 1, "content": huge})).await;
    w.take("b1");
    w.frame("b1", json!({"action": "sync", "rooms": {room.clone(): 1}, "versions": {room.clone(): 0}})).await;
    let f = w.take("b1").into_iter().find(|f| f["type"] == "sync").expect("a sync answer");
    let rs = &f["rooms"][0];
    assert_eq!(rs["updates"].as_array().map(Vec::len), Some(1), "the edit is in the page");
    assert_eq!(rs["ver"], 1, "the version moves past it");
    assert!(serde_json::to_string(&f).unwrap().len() < 128 * 1024, "and the frame fits API Gateway's limit");
}

#[tokio::test]
async fn an_error_about_a_huge_frame_is_itself_small() {
    let w = World::new();
    w.connect("alice", "a1").await;
    let huge = "x".repeat(80 * 1024);
    for frame in
        [json!({"action": huge}), json!({"action": "ping", huge.clone(): 1}), json!({"action": "history", "roomId": 1, "ref": huge})]
    {
        w.frame("a1", frame).await;
        let got = w.notifier.take("a1");
        assert_eq!(got.len(), 1, "one answer");
        assert_eq!(got[0]["code"], "invalid_frame", "{}", &got[0].to_string()[..200]);
        assert!(got[0].to_string().len() < 2048, "small: {} bytes", got[0].to_string().len());
    }
}

#[tokio::test]
async fn a_reply_names_a_message_that_exists() {
    let w = World::new();
    w.connect("alice", "a1").await;
    w.connect("bob", "b1").await;
    let room = w.direct("a1", "bob").await;
    w.frame("a1", json!({"action": "message.send", "roomId": room, "clientId": "c1", "content": "first"})).await;
    w.take("a1");
    w.frame("b1", json!({"action": "message.send", "roomId": room, "clientId": "r1", "content": "to nowhere", "replyTo": 99})).await;
    let e = w.take("b1").into_iter().find(|f| f["type"] == "error").expect("an error");
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("not_found"), Some("replyTo")));
    w.frame("b1", json!({"action": "message.send", "roomId": room, "clientId": "r2", "content": "to the first", "replyTo": 1})).await;
    assert!(w.take("b1").iter().any(|f| f["type"] == "ack" && f["message"]["replyTo"] == 1));
    // The room-full message reads as a sentence.
    let mut big = World::new();
    big.app.cfg.max_group_size = 2;
    big.connect("alice", "a1").await;
    big.frame("a1", json!({"action": "room.create", "type": "group", "members": ["b", "c"]})).await;
    let e = big.take("a1").into_iter().find(|f| f["type"] == "error").unwrap();
    assert_eq!(e["message"], "a group has at most 2 members; this one would have 3");
}

#[tokio::test]
async fn presence_handed_over_announces_the_state_at_the_time_it_runs() {
    use crate::tasks::{MemoryTasks, Task};
    let w = World::new();
    w.connect("bob", "b1").await;
    w.connect("alice", "a1").await;
    w.direct("a1", "bob").await;
    let queue = Arc::new(MemoryTasks::default());
    let app = w.app.clone().with_tasks(queue.clone());
    // Alice goes offline and comes back; the two announcements run in the wrong order.
    app.detach("a1").await.unwrap();
    let rec = ConnectionRecord {
        connection_id: "a2".into(),
        user_id: "alice".into(),
        name: None,
        role: Role::User,
        connected_at: 0,
        expires_at: 0,
    };
    app.store.put_connection(&rec).await.unwrap();
    app.attach("alice", None, "a2").await.unwrap();
    let tasks = queue.take();
    assert_eq!(tasks.len(), 2);
    w.take("b1");
    for t in tasks.into_iter().rev() {
        assert!(matches!(t, Task::Presence { .. }));
        app.run_task(t).await;
    }
    let last = w.take("b1").into_iter().rfind(|f| f["type"] == "presence").expect("presence frames");
    assert_eq!(last["online"], true, "alice is online: {last}");
}

/// The registry is the parser: every declared action parses (or names its missing field), an
/// undeclared one is refused with the list, and guests are kept from exactly the declared ones.
#[test]
fn every_declared_action_parses_and_only_the_declared_ones() {
    for action in super::CLIENT_ACTIONS {
        match super::parse(&json!({ "action": action }).to_string()) {
            Ok(f) => assert_eq!(f.action(), *action),
            Err(e) => assert!(!e.client_message().contains("unknown action"), "{action}: {}", e.client_message()),
        }
    }
    let e = super::parse(r#"{"action":"nope"}"#).unwrap_err().client_message();
    assert!(super::CLIENT_ACTIONS.iter().all(|a| e.contains(a)), "{e}");
    let kept: Vec<&str> = super::CLIENT_ACTIONS.iter().copied().filter(|a| super::who_may_send(a) == Some(super::Who::NotGuests)).collect();
    assert_eq!(kept, ["room.create", "room.add", "room.remove"]);
}

/// A feature's task travels as its own object with `task` naming it, and comes back the same.
#[test]
fn feature_tasks_travel_as_plain_objects() {
    use crate::tasks::Task;
    let t: Task = serde_json::from_str(r#"{"task":"queue","removed":["sp_1"]}"#).unwrap();
    assert_eq!(t.name(), "queue");
    assert_eq!(serde_json::to_value(&t).unwrap(), json!({"task": "queue", "removed": ["sp_1"]}));
    let d: Task = serde_json::from_str(r#"{"task":"presence","userId":"u","online":true}"#).unwrap();
    assert_eq!(d, Task::Presence { user_id: "u".into(), online: true, last_seen: None });
    assert!(serde_json::from_str::<Task>(r#"{"removed":[]}"#).is_err());
}

/// Attachments on the in-memory bytes double: a file declared as a PNG must be one (HTML is
/// refused, and nothing is copied), a real one is stored with its size from the header, and a
/// type a browser would run is stored as bytes to save.
#[tokio::test]
async fn attachments_are_checked_against_their_bytes_on_the_memory_double() {
    let mut w = World::new();
    w.app.cfg.upload_types.push("text/html".into());
    let files = std::sync::Arc::new(crate::files::MemoryFiles::default());
    w.app = w.app.clone().with_files(files.clone());
    w.connect("alice", "a1").await;
    let room = w.direct("a1", "bob").await;
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 3]);
    let put = |k: &str, b: &[u8], t: &str| files.put(&format!("uploads/{room}/{k}/f"), b.to_vec(), t);
    put("u1", &html, "image/png");
    put("u2", &png, "image/png");
    put("u3", &html, "text/html");
    let send = |k: &str, kind: &str, size: usize, mime: &str| json!({"action": "message.send", "roomId": room, "clientId": k, "kind": kind, "content": "", "attachments": [{"key": format!("uploads/{room}/{k}/f"), "name": "f", "size": size, "mimeType": mime}]});
    w.frame("a1", send("u1", "image", html.len(), "image/png")).await;
    let f = w.take("a1").pop().unwrap();
    assert_eq!((f["code"].as_str(), f["field"].as_str()), (Some("invalid_frame"), Some("attachments[0].mimeType")), "{f}");
    assert!(files.get(&format!("rooms/{room}/u1/f")).is_none(), "a refused file is not copied");
    w.frame("a1", send("u2", "image", png.len(), "image/png")).await;
    let ack = w.take("a1").into_iter().find(|f| f["type"] == "ack").expect("the PNG is sent");
    assert_eq!(
        (ack["message"]["attachments"][0]["width"].as_u64(), ack["message"]["attachments"][0]["height"].as_u64()),
        (Some(4), Some(3))
    );
    w.frame("a1", send("u3", "file", html.len(), "text/html")).await;
    let ack = w.take("a1").into_iter().find(|f| f["type"] == "ack").expect("the HTML file is sent");
    let stored = ack["message"]["attachments"][0]["key"].as_str().unwrap().to_string();
    let head = crate::files::Files::head(files.as_ref(), &stored).await.unwrap().unwrap();
    assert_eq!(head.content_type.as_deref(), Some(crate::files::INERT_TYPE));
}

/// A visitor waits and no operator is online: exactly one alert, through the alerts port (the
/// in-memory double here, SNS in Lambda); with an operator online, none.
#[tokio::test]
async fn a_visitor_waiting_with_nobody_online_raises_one_alert() {
    let mut w = World::new();
    let alerts = std::sync::Arc::new(crate::alerts::MemoryAlerts::default());
    w.app = w.app.clone().with_alerts(alerts.clone());
    w.connect("vera", "v1").await;
    w.frame("v1", json!({"action": "support.start", "content": "hello?"})).await;
    w.frame("v1", json!({"action": "support.start", "content": "anyone?"})).await;
    let sent = alerts.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].subject.starts_with("Visitor waiting: ") && sent[0].body.contains("hello?"), "{:?}", sent[0]);
    assert!(sent[0].attributes.contains(&("kind".into(), "visitor.waiting".into())));
    w.connect_operator("olga", "o1").await;
    w.connect("vic", "x1").await;
    w.frame("x1", json!({"action": "support.start", "content": "hi"})).await;
    assert_eq!(alerts.sent().len(), 1, "an operator is online: no alert");
}

/// Internal notes: an operator of the session writes them; they reach its operators only, in
/// their own sequence, and the visitor's room (seqs, preview, unread, history, sync) and push
/// never hold one. Visitors, users and other operators cannot write or read them.
#[tokio::test]
async fn notes_reach_the_sessions_operators_only_and_never_a_push_or_the_visitors_room() {
    let mut w = World::new();
    let push = Arc::new(crate::push::MemoryPush::default());
    w.app = w.app.clone().with_push(push.clone());
    w.connect("vera", "v1").await;
    w.connect_operator("olga", "o1").await;
    w.connect_operator("olga", "o2").await;
    w.connect_operator("oscar", "p1").await;
    w.frame("v1", json!({"action": "support.start", "content": "my parcel?", "clientId": "v-1"})).await;
    let sid =
        w.take("v1").into_iter().find(|f| f["type"] == "session.started").unwrap()["session"]["sessionId"].as_str().unwrap().to_string();
    w.frame("o1", json!({"action": "session.accept", "sessionId": sid})).await;
    w.take("o1");
    w.take("o2");
    w.take("v1");
    w.app.detach("v1").await.unwrap(); // the visitor is offline: a message is pushed
    push.take();

    w.frame("o1", json!({"action": "message.send", "roomId": sid, "clientId": "n-1", "kind": "note", "content": "refund approved"})).await;
    let ack = w.take("o1").into_iter().find(|f| f["type"] == "ack").expect("the note is acked");
    assert_eq!(
        (ack["message"]["kind"].as_str(), ack["message"]["seq"].as_u64(), ack["message"]["roomId"].as_str()),
        (Some("note"), Some(1), Some(sid.as_str()))
    );
    let other = w.take("o2");
    assert!(other.iter().any(|f| f["type"] == "message.new" && f["message"]["kind"] == "note"), "the operator's other console: {other:?}");
    assert!(w.take("p1").iter().all(|f| f["type"] != "message.new"), "another operator is not in the session");
    assert!(push.take().is_empty(), "a note is never pushed");
    // Retried: the same note, nothing new.
    w.frame("o1", json!({"action": "message.send", "roomId": sid, "clientId": "n-1", "kind": "note", "content": "refund approved"})).await;
    assert_eq!(w.take("o1").into_iter().find(|f| f["type"] == "ack").unwrap()["duplicate"], true);
    assert!(w.take("o2").is_empty());

    // A reply after the note is pushed, and it is the room's seq 2: no gap for the visitor.
    w.frame("o1", json!({"action": "message.send", "roomId": sid, "clientId": "m-1", "content": "Refunded!"})).await;
    assert_eq!(push.take().len(), 1, "the reply is pushed to the offline visitor");
    let room = w.app.store.get_room(&sid).await.unwrap().unwrap();
    assert_eq!((room.last_seq, room.last_message.as_ref().map(|m| m.text.as_str())), (2, Some("Refunded!")));
    w.connect("vera", "v2").await;
    w.frame("v2", json!({"action": "history", "roomId": sid})).await;
    let h = w.take("v2").into_iter().find(|f| f["type"] == "history").unwrap();
    let seqs: Vec<u64> = h["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [2, 1], "{h}");
    w.frame("v2", json!({"action": "sync", "rooms": [{"roomId": sid, "lastSeq": 0}]})).await;
    let sync = w.take("v2");
    assert!(!serde_json::to_string(&sync).unwrap().contains("refund approved"), "{sync:?}");
    // Reading or writing notes: the session's operators only.
    w.frame("v2", json!({"action": "history", "roomId": sid, "notes": true})).await;
    assert_eq!(w.take("v2")[0]["code"], "forbidden");
    w.frame("v2", json!({"action": "message.send", "roomId": sid, "clientId": "v-2", "kind": "note", "content": "me too"})).await;
    assert_eq!(w.take("v2")[0]["code"], "forbidden");
    w.frame("p1", json!({"action": "message.send", "roomId": sid, "clientId": "p-1", "kind": "note", "content": "hi"})).await;
    assert_eq!(w.take("p1")[0]["code"], "not_member");
    // The team's operators read any session's notes, read-only.
    w.frame("p1", json!({"action": "history", "roomId": sid, "notes": true})).await;
    assert_eq!(w.take("p1")[0]["messages"][0]["content"], "refund approved");
    w.frame("o2", json!({"action": "history", "roomId": sid, "notes": true})).await;
    let notes = w.take("o2").into_iter().find(|f| f["type"] == "history").unwrap();
    assert_eq!(notes["messages"][0]["content"], "refund approved");
    // Transferred: the new operator gets the notes with the session.
    w.frame("o1", json!({"action": "session.transfer", "sessionId": sid, "toOperatorId": "oscar"})).await;
    let acc = w.take("p1").into_iter().find(|f| f["type"] == "session.accepted").expect("oscar takes over");
    assert_eq!(acc["notes"][0]["content"], "refund approved");
    // A note in a room that is no support session.
    w.connect_operator("olga", "o3").await;
    let dm = w.direct("o3", "vera").await;
    w.frame("o3", json!({"action": "message.send", "roomId": dm, "clientId": "n-9", "kind": "note", "content": "x"})).await;
    assert_eq!(w.take("o3").last().unwrap()["code"], "invalid_frame");
}

/// A new waiting visitor is pushed to the operators the server has seen who have no console open
/// and are not away; never to those with a console open.
#[tokio::test]
async fn a_waiting_visitor_is_pushed_to_operators_without_a_console() {
    let mut w = World::new();
    let push = Arc::new(crate::push::MemoryPush::default());
    w.app = w.app.clone().with_push(push.clone());
    for (op, conn) in [("olga", "o1"), ("oscar", "p1"), ("otto", "t1")] {
        w.connect_operator(op, conn).await;
    }
    w.frame("t1", json!({"action": "operator.status", "status": "away"})).await;
    w.app.detach("p1").await.unwrap(); // oscar closed his console
    w.app.detach("t1").await.unwrap(); // otto too, and he is away
    w.connect("vera", "v1").await;
    w.frame("v1", json!({"action": "support.start", "content": "is anyone there?"})).await;
    let batches = push.take();
    let to: Vec<&str> = batches.iter().flat_map(|b| b.user_ids.iter().map(String::as_str)).collect();
    assert_eq!(to, ["oscar"], "{batches:?}");
    assert_eq!((batches[0].payload.room_title.as_str(), batches[0].payload.preview.as_str()), ("VERA is waiting", "is anyone there?"));
}

/// Outside the site's business hours a waiting visitor raises no alert (and, with the widget
/// hidden while away, cannot start a session).
#[tokio::test]
async fn outside_business_hours_no_alert_is_raised() {
    let mut w = World::new();
    let alerts = std::sync::Arc::new(crate::alerts::MemoryAlerts::default());
    w.app = w.app.clone().with_alerts(alerts.clone());
    let closed = json!({"businessHours": {"timeZone": "UTC", "days": {}}, "awayBehavior": "message"});
    w.app.store.put_doc("settings", &closed.to_string(), 0, 0).await.unwrap();
    w.connect("vera", "v1").await;
    w.frame("v1", json!({"action": "support.start", "content": "hello?"})).await;
    assert!(w.take("v1").iter().any(|f| f["type"] == "session.started"), "the session starts (awayBehavior: message)");
    assert!(alerts.sent().is_empty(), "closed: no alert");
    let hidden = json!({"businessHours": {"timeZone": "UTC", "days": {}}, "awayBehavior": "hide"});
    w.app.store.put_doc("settings", &hidden.to_string(), 1, 0).await.unwrap();
    w.connect("vic", "x1").await;
    w.frame("x1", json!({"action": "support.start", "content": "hi"})).await;
    assert_eq!(w.take("x1")[0]["code"], "forbidden");
}

/// E-mail follow-up on the memory doubles (`crate::mail`): an operator's reply while the visitor
/// is connected hands nothing over; once they are away, one e-mail per interval carries every
/// unread reply (a reply inside the interval goes with the next one); the transcript goes once at
/// the close, never with a note.
#[tokio::test]
async fn an_away_visitor_is_mailed_once_per_interval_and_the_transcript_once() {
    use crate::mail::{handle, MailEvent, MemoryMail, Outcome};
    let mut w = World::new();
    let mail = Arc::new(MemoryMail::default());
    w.app = w.app.clone().with_mail(mail.clone());
    w.connect("vera", "v1").await;
    w.connect_operator("olga", "o1").await;
    let context = json!({"locale": "fr", "attributes": {"email": "vera@example.org", "transcript": "yes"}});
    w.frame("v1", json!({"action": "support.start", "content": "mon colis ?", "clientId": "v-1", "context": context})).await;
    let sid =
        w.take("v1").into_iter().find(|f| f["type"] == "session.started").unwrap()["session"]["sessionId"].as_str().unwrap().to_string();
    w.frame("o1", json!({"action": "session.accept", "sessionId": sid})).await;
    let send = |id: &str, text: &str| json!({"action": "message.send", "roomId": sid, "clientId": id, "content": text});
    w.frame("o1", send("m-1", "one")).await;
    assert!(mail.events().is_empty(), "the visitor is connected");
    w.app.detach("v1").await.unwrap();
    w.frame("o1", send("m-2", "two")).await;
    w.frame("o1", json!({"action": "message.send", "roomId": sid, "clientId": "n-1", "kind": "note", "content": "NOTE-1"})).await;
    let events = mail.events();
    assert_eq!(events.len(), 1, "the reply is handed over, the note is not: {events:?}");
    assert_eq!(handle(&w.app, mail.as_ref(), &events[0]).await.unwrap(), Outcome::Sent { messages: 2 });
    let sent = mail.sent();
    assert_eq!((sent[0].to.as_str(), sent[0].subject.as_str()), ("vera@example.org", "Nouvelle réponse de Support"));
    assert!(sent[0].text.contains("one") && sent[0].text.contains("two") && !sent[0].text.contains("NOTE-1"), "{}", sent[0].text);
    // Handled again (Lambda's retry): nothing more.
    assert!(matches!(handle(&w.app, mail.as_ref(), &events[0]).await.unwrap(), Outcome::Skipped(_)));
    // Inside the interval: nothing; after it, the reply left behind goes with the next one.
    w.frame("o1", send("m-3", "three")).await;
    let e = mail.events().pop().unwrap();
    assert!(matches!(handle(&w.app, mail.as_ref(), &e).await.unwrap(), Outcome::Skipped(why) if why.contains("EMAIL_INTERVAL_SECONDS")));
    w.clock.advance(w.app.cfg.email_interval_secs * 1000);
    w.frame("o1", send("m-4", "four")).await;
    let e = mail.events().pop().unwrap();
    assert_eq!(handle(&w.app, mail.as_ref(), &e).await.unwrap(), Outcome::Sent { messages: 2 });
    let text = &mail.sent()[0].text;
    assert!(text.contains("three") && text.contains("four") && !text.contains("two"), "{text}");
    // The close: the transcript, once.
    w.frame("o1", json!({"action": "session.close", "sessionId": sid})).await;
    let e = mail.events().pop().unwrap();
    assert!(matches!(e, MailEvent::Transcript { .. }));
    assert_eq!(handle(&w.app, mail.as_ref(), &e).await.unwrap(), Outcome::Sent { messages: 5 });
    let t = &mail.sent()[0];
    assert!(t.subject == "Votre conversation avec Support" && t.text.contains("mon colis ?") && !t.text.contains("NOTE-1"), "{t:?}");
    assert!(matches!(handle(&w.app, mail.as_ref(), &e).await.unwrap(), Outcome::Skipped(_)));
}
