//! Persistence behind small traits, one per aggregate: [`ConnectionStore`] (connections and
//! presence), [`RoomStore`] (rooms and members), [`MessageStore`] (messages) and [`SearchStore`]
//! (the full-text index), [`SupportStore`] (the support desk), [`PushStore`] (Web Push), [`LimitStore`]
//! (abuse limits). [`Store`] is all of them: [`dynamodb::DynamoStore`] in Lambda,
//! [`memory::MemoryStore`] in unit tests. Every method is a key lookup or a query on a key;
//! nothing scans.

#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod dynamodb;
pub mod memory;

use crate::error::Result;
use crate::model::*;
use crate::protocol::{Message, Rating, RoomContext};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};

/// Everything the chat rules persist.
pub trait Store:
    ConnectionStore + RoomStore + MessageStore + SearchStore + SupportStore + DeskStore + PushStore + LimitStore + Send + Sync
{
}
impl<T: ConnectionStore + RoomStore + MessageStore + SearchStore + SupportStore + DeskStore + PushStore + LimitStore + Send + Sync> Store
    for T
{
}

/// Live connections and who is online.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put_connection(&self, c: &ConnectionRecord) -> Result<()>;
    /// The connection's row (read eventually consistent, and strongly consistent when that finds
    /// none: a connection registered a moment ago is found, a stale hit is harmless).
    async fn get_connection(&self, connection_id: &str) -> Result<Option<ConnectionRecord>>;
    /// Deletes the row; returns it if it existed (so exactly one caller cleans up after it).
    async fn delete_connection(&self, connection_id: &str) -> Result<Option<ConnectionRecord>>;
    /// Deletes the row only if the connection opened before `connected_before` (a 410 for a
    /// connection still in its handshake must not unregister it).
    async fn delete_stale_connection(&self, connection_id: &str, connected_before: u64) -> Result<StaleDelete>;
    /// Which of these connection rows still exist.
    async fn existing_connections(&self, ids: &[String]) -> Result<HashSet<String>>;
    /// Adds a live connection to the user; returns how many the user had before.
    async fn attach_connection(&self, user_id: &str, name: Option<&str>, connection_id: &str, now: u64) -> Result<usize>;
    /// Removes live connections from the user and stamps `lastSeen`.
    async fn detach_connections(&self, user_id: &str, connection_ids: &[String], now: u64) -> Result<Detached>;
    async fn get_users(&self, user_ids: &[String]) -> Result<Vec<UserRecord>>;

    // ---- room connections: the recipients of a room, one Query per fan-out
    /// Registers connections in rooms (idempotent).
    async fn register_connections(&self, entries: &[RoomConn]) -> Result<()>;
    /// Takes connections off rooms: `(roomId, connectionId)`.
    async fn unregister_connections(&self, entries: &[(String, String)]) -> Result<()>;
    /// The live connections registered in a room (strongly consistent), without expired entries
    /// and without the connections of users barred from it.
    async fn room_connections(&self, room_id: &str) -> Result<Vec<RoomConn>>;
    /// Bars a user who left or was removed from a room until `until` (epoch seconds): any
    /// registration of theirs that races the removal is ignored by fan-outs.
    async fn bar_from_room(&self, room_id: &str, user_id: &str, until: u64) -> Result<()>;
    /// Lifts the bar (the user is a member again).
    async fn unbar(&self, room_id: &str, user_ids: &[String]) -> Result<()>;

    // ---- heartbeats: one small item per connection per heartbeat interval ("bucket")
    /// Records that the connection was alive in `bucket`; returns how many beats it recorded
    /// for the connection in that bucket (a flood of pings shows).
    async fn beat(&self, beat: &Beat) -> Result<u64>;
    /// The connections (with their users) that beat in `bucket`, shard `shard`.
    async fn beats(&self, bucket: u64, shard: u32) -> Result<Vec<(String, String)>>;
}

/// Rooms and their members.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates the room with its members; `Ok(false)` if a room with this id exists already.
    async fn create_room(&self, room: &RoomRecord, members: &[MemberRecord]) -> Result<bool>;
    async fn get_room(&self, room_id: &str) -> Result<Option<RoomRecord>>;
    /// The room's `lastSeq` as a hint for the next send (eventually consistent: it may be a little
    /// behind, never ahead) and its member count; `None` if there is no such room.
    async fn room_hint(&self, room_id: &str) -> Result<Option<RoomHint>>;
    /// Several rooms; `consistent: false` for read models where a moment-old copy is harmless
    /// (room lists).
    async fn get_rooms(&self, room_ids: &[String], consistent: bool) -> Result<Vec<RoomRecord>>;
    /// Sets an order-bound room's name and context (what the site says it is about).
    async fn set_room_context(&self, room_id: &str, name: Option<&str>, context: &RoomContext) -> Result<()>;
    async fn get_member(&self, room_id: &str, user_id: &str) -> Result<Option<MemberRecord>>;
    async fn list_members(&self, room_id: &str) -> Result<Vec<MemberRecord>>;
    /// The rooms a user belongs to (members index by user).
    async fn memberships(&self, user_id: &str) -> Result<Vec<Membership>>;
    /// The user's member rows of these rooms.
    async fn get_memberships(&self, user_id: &str, room_ids: &[String], consistent: bool) -> Result<Vec<MemberRecord>>;
    /// Adds members (not already in the room) keeping `memberCount <= maxMembers` (else `RoomFull`).
    async fn add_members(&self, room_id: &str, members: &[MemberRecord]) -> Result<()>;
    /// Removes a member; `Ok(false)` if they were not one.
    async fn remove_member(&self, room_id: &str, user_id: &str) -> Result<bool>;
    /// Moves a cursor forward to `seq`; `Ok(false)` if it was already there or beyond.
    async fn advance_cursor(&self, room_id: &str, user_id: &str, kind: CursorKind, seq: u64) -> Result<bool>;
    /// Records a typing signal: `Broadcast` at most once per `interval_ms` for `is_typing`, always
    /// for a stop; `NotMember` when the user is not in the room.
    async fn typing(&self, room_id: &str, user_id: &str, is_typing: bool, now: u64, interval_ms: u64) -> Result<TypingOutcome>;
    /// Charges a send to the member's budget (at most `max` per `window`) and records `own_seq`
    /// as their newest message, in one conditional write that is also the membership check.
    async fn charge_send(&self, room_id: &str, user_id: &str, window: u64, max: u32, own_seq: u64) -> Result<SendCharge>;
    /// Sets `ownSeq` to `to` if it is still `from` (`to` None: removes it): a charged send that
    /// created nothing, or got another seq than expected.
    async fn correct_own_seq(&self, room_id: &str, user_id: &str, from: u64, to: Option<u64>) -> Result<()>;
    /// Archives the room for the member at the room's `archived_seq` (`None`: unarchives).
    /// `Ok(false)` if the user is not a member.
    async fn set_archived(&self, room_id: &str, user_id: &str, archived_seq: Option<u64>) -> Result<bool>;
}

/// Messages of rooms, by `(roomId, seq)`.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Persists a message with the room's next seq, exactly once per `(roomId, clientId)`.
    /// `hint`: the room's `lastSeq` as last read (may be behind; the store finds the real one).
    async fn append_message(&self, msg: NewMessage, hint: u64) -> Result<Appended>;
    async fn get_message(&self, room_id: &str, seq: u64) -> Result<Option<Message>>;
    /// Several messages by `(roomId, seq)`, in no particular order; missing ones are left out.
    async fn get_messages(&self, keys: &[(String, u64)]) -> Result<Vec<Message>>;
    /// Edits or deletes a message of `sender_id`, giving it the room's next version.
    async fn update_message(&self, room_id: &str, seq: u64, sender_id: &str, change: MessageChange, now: u64) -> Result<Message>;
    /// Up to `limit` messages below `before` (or the newest), newest first.
    async fn messages_before(&self, room_id: &str, before: Option<u64>, limit: u32) -> Result<Vec<Message>>;
    /// Up to `limit` messages above `after`, oldest first.
    async fn messages_after(&self, room_id: &str, after: u64, limit: u32) -> Result<Vec<Message>>;
    /// Messages edited or deleted with a version above `ver`, in version order.
    async fn messages_changed_since(&self, room_id: &str, ver: u64, limit: u32) -> Result<Vec<Message>>;
    /// `createdAt` of the newest message at or below `seq` created at or before `time` (the
    /// room's last activity as it was at `time`); `None` if there is none.
    async fn activity_at(&self, room_id: &str, seq: u64, time: u64) -> Result<Option<u64>>;
}

/// The full-text index: one posting per (room, term, message), newest first.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// Writes and removes postings (idempotent: the indexer may see a record twice).
    async fn index_write(&self, put: &[Posting], delete: &[PostingKey]) -> Result<()>;
    /// Up to `limit` postings of `term` in the room that also carry every term of `also`, newest
    /// first, older than the message id `before` when given.
    async fn search_room(&self, room_id: &str, term: &str, also: &[String], before: Option<&str>, limit: usize) -> Result<Vec<Posting>>;
}

/// The support desk. A session is a room of type `support` whose row carries the session; the
/// queue is a sparse index of the waiting ones; a visitor's open session and each operator's load
/// are small items of their own.
#[async_trait]
pub trait SupportStore: Send + Sync {
    /// The id of the visitor's open (waiting or active) session.
    async fn open_session(&self, visitor_id: &str) -> Result<Option<String>>;
    /// Creates a waiting session — the room (with `support` set), the visitor's member row and
    /// their open-session pointer, in one transaction — unless the visitor has an open one.
    async fn start_session(&self, room: &RoomRecord, visitor: &MemberRecord) -> Result<StartOutcome>;
    /// The waiting sessions, oldest first (one Query of the queue index).
    async fn queue(&self) -> Result<Vec<crate::protocol::SupportSession>>;
    /// How long the most recently accepted sessions waited (ms), newest first.
    async fn recent_waits(&self, n: usize) -> Result<Vec<u64>>;
    /// Assigns a waiting session to `operator` (who becomes a member), if it is still waiting and
    /// (with `capacity`) the operator has fewer open sessions: exactly one of concurrent callers
    /// wins, the others get `Conflict`.
    async fn accept_session(&self, session_id: &str, operator: &MemberRecord, now: u64, wait_ms: u64, capacity: Option<u32>) -> Result<()>;
    /// Hands an active session from `from` to `to` (`to` joins, `from` leaves), if `from` still
    /// has it and `to` is under `capacity`; else `Conflict`.
    async fn transfer_session(&self, session_id: &str, from: &str, to: &MemberRecord, capacity: u32) -> Result<()>;
    /// Closes an open session; `Conflict` if it was closed already.
    async fn close_session(&self, session: &crate::protocol::SupportSession, by: &str, resolution: Option<&str>, now: u64) -> Result<()>;
    /// Stores the visitor's rating of a closed session, once; `Conflict` if rated already.
    async fn rate_session(&self, session_id: &str, rating: &Rating) -> Result<()>;
    /// Open sessions per operator (absent: none).
    async fn operator_loads(&self, operator_ids: &[String]) -> Result<HashMap<String, u32>>;
    /// Notes the session's first operator reply (once): the session as it now is, or `None` if
    /// one was noted before (or it is no session).
    async fn first_response(&self, session_id: &str, at: u64) -> Result<Option<crate::protocol::SupportSession>>;
}

/// The support team's own things (`SupportTable` too): versioned documents (the saved replies),
/// each operator's availability, the report's day aggregates.
#[async_trait]
pub trait DeskStore: Send + Sync {
    /// A versioned JSON document (`None`: never written).
    async fn get_doc(&self, name: &str) -> Result<Option<Doc>>;
    /// Writes the document if its stored version is still `expected` (0: not written yet), as
    /// version `expected + 1`; `false` if another write came first.
    async fn put_doc(&self, name: &str, body: &str, expected: u64, now: u64) -> Result<bool>;
    /// The operators (of these) who set themselves away.
    async fn away_operators(&self, operator_ids: &[String]) -> Result<HashSet<String>>;
    async fn set_away(&self, operator_id: &str, away: bool) -> Result<()>;
    /// Adds to the counters of a day's report rows: the team's (`operator: None`) and, when given,
    /// the operator's (the team's row then lists the operator).
    async fn add_to_report(&self, day: &str, operator: Option<&str>, counters: &[(String, u64)]) -> Result<()>;
    /// The team's rows of these days (absent days: no activity).
    async fn team_report(&self, days: &[String]) -> Result<Vec<ReportRow>>;
    /// Operators' rows: (day, operator id) pairs.
    async fn operator_report(&self, keys: &[(String, String)]) -> Result<Vec<ReportRow>>;
}

/// Web Push: the members' push state (on their member rows: `muted`, `pushedAt`) and the users'
/// browser subscriptions (`PushSubscriptionsTable`).
#[async_trait]
pub trait PushStore: Send + Sync {
    /// The room's members with their push state (one eventually consistent Query: a stale
    /// `pushedAt` or `muted` is corrected by the condition of [`PushStore::claim_push`]).
    async fn push_members(&self, room_id: &str) -> Result<Vec<PushMember>>;
    /// Claims the push slot of each user: sets `pushedAt = now` where it is absent or before
    /// `cutoff`, the user is a member and has not muted the room (one conditional write each, in
    /// parallel). Returns the users claimed: exactly one of concurrent claimers wins a slot.
    async fn claim_push(&self, room_id: &str, user_ids: &[String], now: u64, cutoff: u64) -> Result<Vec<String>>;
    /// Mutes or unmutes the room for the member; their row after the change (`None`: not a member).
    async fn set_muted(&self, room_id: &str, user_id: &str, muted: bool) -> Result<Option<MemberRecord>>;
    /// Registers a subscription (replacing one with the same id); past
    /// [`MAX_SUBSCRIPTIONS_PER_USER`] the user's oldest is dropped.
    async fn put_push_subscription(&self, s: &PushSubscriptionRecord) -> Result<()>;
    /// Removes a subscription; `Ok(false)` if there was none.
    async fn delete_push_subscription(&self, user_id: &str, id: &str) -> Result<bool>;
    /// The user's subscriptions.
    async fn push_subscriptions(&self, user_id: &str) -> Result<Vec<PushSubscriptionRecord>>;
}

/// Abuse limits (`LimitsTable`): counters per key and window, and strikes against a key (see
/// [`crate::limits`]). Both are one write, never a read before it.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Adds one to `key`'s counter and returns the new count. The window is part of the key; the
    /// counter expires at `expires` (epoch seconds).
    async fn count(&self, key: &str, expires: u64) -> Result<u64>;
    /// Records one more strike against `key` at `now` (ms); strikes are forgotten at `expires`
    /// (epoch seconds, pushed back by every strike). Returns the strikes in force.
    async fn strike(&self, key: &str, now: u64, expires: u64) -> Result<Strikes>;
    /// The strikes against `key` in force at `now_secs` (expired ones count as none).
    async fn strikes(&self, key: &str, now_secs: u64) -> Result<Option<Strikes>>;
}
