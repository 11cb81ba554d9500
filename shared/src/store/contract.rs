//! The store contract: what every [`Store`] promises, as checks that run against any of them —
//! the in-memory double (`cargo test -p chat-shared`) and DynamoDB Local through the DynamoDB
//! store (`tests/tests/store.rs`). A rule the chat relies on that only one store keeps is a bug in
//! the other; these keep the two honest.
//!
//! Each check takes a fresh store (its own tables or its own memory), the [`ManualClock`] that
//! store reads, and a unique prefix for ids (stores may be shared between runs). Consistency notes
//! the checks rely on: reads that decide correctness are strongly consistent in the DynamoDB store
//! (membership, connections, sends, claims); `room_hint` may lag and is not checked for freshness.

use super::Store;
use crate::clock::{Clock, ManualClock};
use crate::model::*;
use crate::protocol::{MemberRole, MessageKind, RoomType, UserRef};

/// One check: its name and what it does.
pub struct Check {
    pub name: &'static str,
    pub run: for<'a> fn(&'a dyn Store, &'a ManualClock, &'a str) -> futures_util::future::BoxFuture<'a, ()>,
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check of the contract.
        pub const CHECKS: &[Check] = &[$(Check { name: stringify!($name), run: |s, c, p| Box::pin($name(s, c, p)) }),*];
    };
}

checks![
    connections_are_deleted_once_and_young_ones_are_left_alone,
    room_connections_leave_out_expired_entries_and_barred_users,
    rooms_are_created_once_with_their_members,
    a_send_budget_holds_per_window_and_windows_only_move_forward,
    messages_get_gapless_seqs_and_a_client_id_creates_one,
    history_pages_meet_without_gaps_or_overlaps,
    counters_count_and_strikes_expire,
    beats_are_counted_per_connection_and_interval,
    push_subscriptions_keep_the_newest_ten_and_claims_are_won_once,
];

fn room(id: &str, members: &[&str], now: u64) -> (RoomRecord, Vec<MemberRecord>) {
    let room = RoomRecord::new(id.to_string(), RoomType::Group, members[0], now, members.len() as u32, 100);
    let m = members
        .iter()
        .map(|u| MemberRecord::new(&room, &UserRef { user_id: u.to_string(), name: None }, MemberRole::Member, now))
        .collect();
    (room, m)
}

fn message(room: &str, client_id: &str, sender: &str, now: u64) -> NewMessage {
    NewMessage {
        room_id: room.to_string(),
        client_id: client_id.to_string(),
        id: crate::ids::ulid(now),
        sender_id: sender.to_string(),
        sender_name: None,
        kind: MessageKind::Text,
        content: format!("hello from {client_id}"),
        reply_to: None,
        attachments: vec![],
        meta: None,
        created_at: now,
    }
}

async fn connections_are_deleted_once_and_young_ones_are_left_alone(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let rec = |id: &str, at: u64| ConnectionRecord {
        connection_id: format!("{p}{id}"),
        user_id: format!("{p}u"),
        name: None,
        role: Role::User,
        connected_at: at,
        expires_at: at / 1000 + 3600,
    };
    s.put_connection(&rec("old", now - 60_000)).await.unwrap();
    s.put_connection(&rec("new", now)).await.unwrap();
    assert_eq!(s.get_connection(&format!("{p}old")).await.unwrap().map(|c| c.user_id), Some(format!("{p}u")));
    let ids = [format!("{p}old"), format!("{p}new"), format!("{p}none")];
    let existing = s.existing_connections(&ids).await.unwrap();
    assert!(existing.contains(&ids[0]) && existing.contains(&ids[1]) && !existing.contains(&ids[2]));
    assert_eq!(s.delete_stale_connection(&ids[1], now - 5_000).await.unwrap(), StaleDelete::TooYoung);
    assert!(matches!(s.delete_stale_connection(&ids[0], now - 5_000).await.unwrap(), StaleDelete::Deleted(_)));
    assert_eq!(s.delete_stale_connection(&ids[0], now).await.unwrap(), StaleDelete::Absent);
    assert!(s.delete_connection(&ids[1]).await.unwrap().is_some(), "the first delete gets the row");
    assert!(s.delete_connection(&ids[1]).await.unwrap().is_none(), "the second gets nothing");
}

async fn room_connections_leave_out_expired_entries_and_barred_users(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now_s = clock.now_ms() / 1000;
    let r = format!("{p}room");
    let conn = |c: &str, u: &str, x: u64| RoomConn {
        room_id: r.clone(),
        connection_id: format!("{p}{c}"),
        user_id: format!("{p}{u}"),
        expires_at: x,
    };
    s.register_connections(&[conn("a1", "a", now_s + 60), conn("b1", "b", now_s + 600), conn("c1", "c", now_s + 600)]).await.unwrap();
    let users = |v: Vec<RoomConn>| v.into_iter().map(|c| c.user_id).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(users(s.room_connections(&r).await.unwrap()).len(), 3);
    // Past its expiry an entry is gone, whether or not TTL deleted it yet.
    clock.advance(120_000);
    assert_eq!(users(s.room_connections(&r).await.unwrap()), [format!("{p}b"), format!("{p}c")].into_iter().collect());
    // A barred user's connections are left out until the bar is lifted.
    s.bar_from_room(&r, &format!("{p}b"), now_s + 3600).await.unwrap();
    assert_eq!(users(s.room_connections(&r).await.unwrap()), [format!("{p}c")].into_iter().collect());
    s.unbar(&r, &[format!("{p}b")]).await.unwrap();
    assert_eq!(users(s.room_connections(&r).await.unwrap()).len(), 2);
    s.unregister_connections(&[(r.clone(), format!("{p}c1"))]).await.unwrap();
    assert_eq!(users(s.room_connections(&r).await.unwrap()), [format!("{p}b")].into_iter().collect());
}

async fn rooms_are_created_once_with_their_members(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let (alice, bob) = (format!("{p}alice"), format!("{p}bob"));
    let (r, m) = room(&format!("{p}g"), &[&alice, &bob], now);
    assert!(s.create_room(&r, &m).await.unwrap());
    assert!(!s.create_room(&r, &m).await.unwrap(), "a second create of the same id creates nothing");
    let got = s.get_room(&r.room_id).await.unwrap().expect("the room");
    assert_eq!((got.member_count, got.last_seq), (2, 0));
    let mut members: Vec<String> = s.list_members(&r.room_id).await.unwrap().into_iter().map(|m| m.user_id).collect();
    members.sort();
    assert_eq!(members, [alice.clone(), bob.clone()]);
    assert!(s.get_member(&r.room_id, &format!("{p}carol")).await.unwrap().is_none());
    assert!(s.remove_member(&r.room_id, &bob).await.unwrap());
    assert!(!s.remove_member(&r.room_id, &bob).await.unwrap(), "removed once");
    assert!(s.get_room(&format!("{p}none")).await.unwrap().is_none());
}

async fn a_send_budget_holds_per_window_and_windows_only_move_forward(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let alice = format!("{p}alice");
    let (r, m) = room(&format!("{p}b"), &[&alice], now);
    s.create_room(&r, &m).await.unwrap();
    for i in 0..3 {
        assert!(matches!(s.charge_send(&r.room_id, &alice, 10, 3, i + 1).await.unwrap(), SendCharge::Allowed { .. }), "send {i}");
    }
    assert_eq!(s.charge_send(&r.room_id, &alice, 10, 3, 4).await.unwrap(), SendCharge::Exhausted);
    // A request that computed an older window joins the newer one (never resets it).
    assert_eq!(s.charge_send(&r.room_id, &alice, 9, 3, 4).await.unwrap(), SendCharge::Exhausted);
    assert!(matches!(s.charge_send(&r.room_id, &alice, 11, 3, 4).await.unwrap(), SendCharge::Allowed { previous_own: Some(3) }));
    assert_eq!(s.charge_send(&r.room_id, &format!("{p}mallory"), 11, 3, 1).await.unwrap(), SendCharge::NotMember);
}

async fn messages_get_gapless_seqs_and_a_client_id_creates_one(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let alice = format!("{p}alice");
    let (r, m) = room(&format!("{p}m"), &[&alice], now);
    s.create_room(&r, &m).await.unwrap();
    let mut seqs = Vec::new();
    for i in 0..5 {
        // A stale hint (always 0) still gets the next seq.
        match s.append_message(message(&r.room_id, &format!("c{i}"), &alice, now + i), 0).await.unwrap() {
            Appended::Created(m) => seqs.push(m.seq),
            Appended::Duplicate(m) => panic!("c{i} is new, got a duplicate of {}", m.seq),
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    match s.append_message(message(&r.room_id, "c2", &alice, now + 9), 5).await.unwrap() {
        Appended::Duplicate(m) => assert_eq!(m.seq, 3, "the original"),
        Appended::Created(m) => panic!("a client id created a second message ({})", m.seq),
    }
    assert_eq!(s.get_room(&r.room_id).await.unwrap().unwrap().last_seq, 5);
    assert_eq!(s.get_message(&r.room_id, 3).await.unwrap().map(|m| m.client_id), Some(Some("c2".to_string())));
    assert!(s.get_message(&r.room_id, 6).await.unwrap().is_none());
}

async fn history_pages_meet_without_gaps_or_overlaps(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let alice = format!("{p}alice");
    let (r, m) = room(&format!("{p}h"), &[&alice], now);
    s.create_room(&r, &m).await.unwrap();
    for i in 0..23u64 {
        s.append_message(message(&r.room_id, &format!("h{i}"), &alice, now + i), i).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = s.messages_before(&r.room_id, before, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        before = page.last().map(|m| m.seq);
        seen.extend(page.into_iter().map(|m| m.seq));
    }
    assert_eq!(seen, (1..=23).rev().collect::<Vec<u64>>());
    let after: Vec<u64> = s.messages_after(&r.room_id, 20, 10).await.unwrap().into_iter().map(|m| m.seq).collect();
    assert_eq!(after, [21, 22, 23]);
}

async fn counters_count_and_strikes_expire(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let exp = now / 1000 + 60;
    for want in 1..=3 {
        assert_eq!(s.count(&format!("{p}k"), exp).await.unwrap(), want);
    }
    assert_eq!(s.count(&format!("{p}other"), exp).await.unwrap(), 1, "keys count apart");
    assert_eq!(s.strikes(&format!("{p}s"), now / 1000).await.unwrap(), None);
    assert_eq!(s.strike(&format!("{p}s"), now, now / 1000 + 100).await.unwrap().count, 1);
    assert_eq!(s.strike(&format!("{p}s"), now + 1, now / 1000 + 100).await.unwrap(), Strikes { count: 2, last_at: now + 1 });
    assert_eq!(s.strikes(&format!("{p}s"), now / 1000).await.unwrap().map(|s| s.count), Some(2));
    // Past their expiry (TTL may not have deleted them): none, and a new one starts again at 1.
    clock.advance(200_000);
    let later = clock.now_ms();
    assert_eq!(s.strikes(&format!("{p}s"), later / 1000).await.unwrap(), None);
    assert_eq!(s.strike(&format!("{p}s"), later, later / 1000 + 100).await.unwrap().count, 1);
}

async fn beats_are_counted_per_connection_and_interval(s: &dyn Store, _clock: &ManualClock, p: &str) {
    let beat = |c: &str, bucket: u64| Beat {
        bucket,
        shard: 3,
        connection_id: format!("{p}{c}"),
        user_id: format!("{p}u"),
        expires_at: u64::MAX / 2,
    };
    // A bucket of its own per run (buckets are shared by a store's connections).
    let b = u64::from(u32::from_le_bytes(crate::ids::random_bytes::<4>())) + 1_000_000;
    assert_eq!(s.beat(&beat("c1", b)).await.unwrap(), 1);
    assert_eq!(s.beat(&beat("c1", b)).await.unwrap(), 2);
    assert_eq!(s.beat(&beat("c2", b)).await.unwrap(), 1);
    assert_eq!(s.beat(&beat("c1", b + 1)).await.unwrap(), 1, "a new interval counts afresh");
    let mut got = s.beats(b, 3).await.unwrap();
    got.sort();
    assert_eq!(got, [(format!("{p}c1"), format!("{p}u")), (format!("{p}c2"), format!("{p}u"))]);
}

async fn push_subscriptions_keep_the_newest_ten_and_claims_are_won_once(s: &dyn Store, clock: &ManualClock, p: &str) {
    let now = clock.now_ms();
    let user = format!("{p}bob");
    for i in 0..12u64 {
        let endpoint = format!("https://fcm.googleapis.com/fcm/send/{p}{i}");
        let rec = PushSubscriptionRecord {
            user_id: user.clone(),
            id: crate::push::subscription_id(&endpoint),
            endpoint,
            p256dh: "k".into(),
            auth: "a".into(),
            created_at: now + i,
        };
        s.put_push_subscription(&rec).await.unwrap();
    }
    let subs = s.push_subscriptions(&user).await.unwrap();
    assert_eq!(subs.len(), MAX_SUBSCRIPTIONS_PER_USER);
    assert!(subs.iter().all(|x| x.created_at >= now + 2), "the two oldest made room");
    assert!(s.delete_push_subscription(&user, &subs[0].id).await.unwrap());
    assert!(!s.delete_push_subscription(&user, &subs[0].id).await.unwrap());
    // Push slots: claimed once per interval, by one of concurrent claimers.
    let (r, m) = room(&format!("{p}p"), &[&user, &format!("{p}ann")], now);
    s.create_room(&r, &m).await.unwrap();
    let who = [user.clone()];
    let (a, b) = futures_util::join!(s.claim_push(&r.room_id, &who, now, now - 60_000), s.claim_push(&r.room_id, &who, now, now - 60_000));
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1, "exactly one claimer wins");
    assert!(s.claim_push(&r.room_id, &who, now + 1_000, now - 60_000).await.unwrap().is_empty(), "within the interval: no second push");
    assert_eq!(s.claim_push(&r.room_id, &who, now + 61_000, now + 1).await.unwrap(), who, "a new interval");
    s.set_muted(&r.room_id, &user, true).await.unwrap();
    assert!(s.claim_push(&r.room_id, &who, now + 200_000, now + 100_000).await.unwrap().is_empty(), "muted: never");
    let members = s.push_members(&r.room_id).await.unwrap();
    assert!(members.iter().any(|m| m.user_id == user && m.muted));
}

#[cfg(test)]
mod tests {
    /// The contract on the in-memory store.
    #[tokio::test]
    async fn the_memory_store_keeps_the_contract() {
        for check in super::CHECKS {
            let clock = std::sync::Arc::new(crate::clock::ManualClock::new(1_800_000_000_000));
            let store = crate::store::memory::MemoryStore::new().with_clock(clock.clone());
            (check.run)(&store, &clock, "t-").await;
        }
    }
}
