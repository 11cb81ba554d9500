//! The wire protocol: every frame a client sends (`action`) and the server sends (`type`), as JSON.
//! This module is the single definition; `docs/asyncapi.yaml` documents it and a test keeps the two
//! in step.
//!
//! Conventions: field names are camelCase; times are milliseconds since the Unix epoch; a client
//! may put `ref` (any string up to 64 characters) on a request and gets it back on the response or
//! error, to correlate them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest `content` of a message, in bytes of UTF-8 (a browser sends a message as one WebSocket
/// frame, and API Gateway's frame limit is 32 KB).
pub const MAX_CONTENT_BYTES: usize = 16 * 1024;
/// Largest id (room, user, client, context), in characters (Unicode scalar values, as JSON
/// Schema counts them): at most 512 bytes of UTF-8.
pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_REF_CHARS: usize = 64;
pub const MAX_HISTORY_LIMIT: u32 = 100;
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
pub const MAX_SYNC_ROOMS: usize = 500;
/// A response frame is cut into pages below this size (API Gateway's limit is 128 KB per message).
pub const MAX_PAGE_BYTES: usize = 96 * 1024;
/// At most one `typing: true` broadcast per user per room in this interval.
pub const TYPING_INTERVAL_MS: u64 = 2_000;
/// Clients repeat `typing: true` this often while the user types (shorter than the server's 2 s
/// throttle, so forwarded repeats are at most 3.5 s apart).
pub const TYPING_REPEAT_MS: u64 = 1_500;
/// Clients drop a typing indicator not refreshed within this time: above the 3.5 s a forwarded
/// repeat can take, so the indicator never flickers.
pub const TYPING_EXPIRY_MS: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum RoomType {
    Direct,
    Group,
    Support,
    Order,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    #[default]
    Text,
    Image,
    File,
    System,
    /// An operators' internal note in a support session: its own sequence, never shown to the
    /// visitor (`crate::cmd::notes`).
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Owner,
    Admin,
    #[default]
    Member,
}

/// A user as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A file sent with a message: uploaded first through a presigned URL (`POST
/// /chats/{id}/uploads`), then named in `message.send`. Downloads: `GET
/// /chats/{id}/attachments?key=` (members only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attachment {
    /// The object key: as the upload returned it in `message.send`; the stored message names
    /// the file's permanent key (`rooms/<roomId>/…`).
    pub key: String,
    /// The file name to show and download as.
    pub name: String,
    /// Bytes.
    #[serde(deserialize_with = "whole::de")]
    pub size: u64,
    pub mime_type: String,
    /// Images: pixels, read by the server from the file's header (absent when it could not).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole::de_opt")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole::de_opt")]
    pub height: Option<u32>,
}

/// Whole numbers as JSON has them: `5` and `5.0` are the same integer (JSON Schema's `integer`,
/// which a generated client may send either way), up to [`MAX`](whole::MAX).
pub mod whole {
    use serde::de::{Deserialize, Deserializer, Error};

    /// The largest integer every JSON reader holds exactly (2^53 - 1, JavaScript's
    /// `Number.MAX_SAFE_INTEGER`); seqs and sizes never come near it.
    pub const MAX: u64 = 9_007_199_254_740_991;

    /// `u` as a `T`, if it is at most [`MAX`] and fits.
    pub fn in_range<T: TryFrom<u64>>(u: u64) -> Option<T> {
        Some(u).filter(|u| *u <= MAX).and_then(|u| T::try_from(u).ok())
    }

    fn from<T: TryFrom<u64>, E: Error>(n: serde_json::Number) -> Result<T, E> {
        let whole = n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX as f64).map(|f| f as u64));
        whole.and_then(in_range).ok_or_else(|| E::custom(format!("invalid value: {n}, expected a whole number from 0 to {MAX}")))
    }

    pub fn de<'de, T: TryFrom<u64>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        from(serde_json::Number::deserialize(d)?)
    }

    pub fn de_opt<'de, T: TryFrom<u64>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Option::<serde_json::Number>::deserialize(d)?.map(from).transpose()
    }
}

/// Files per message at most.
pub const MAX_ATTACHMENTS: usize = 10;

/// A stored message. `(roomId, seq)` identifies it; `seq` is assigned by the server, strictly
/// increasing per room without gaps; `id` is globally unique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub room_id: String,
    pub seq: u64,
    pub id: String,
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    #[serde(default)]
    pub kind: MessageKind,
    /// Empty on a deleted message (a tombstone).
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Files (kinds `image` and `file`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<u64>,
    /// Version of the last edit or delete (room-wide counter); absent on untouched messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<u64>,
    /// Structured data of system messages (e.g. `{"event":"member.added","userIds":[..]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// The last message of a room, as shown in room lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePreview {
    pub seq: u64,
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    pub kind: MessageKind,
    /// At most 200 characters of the content.
    pub text: String,
    pub created_at: u64,
}

/// A room as its members see it, with the caller's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub room_id: String,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_by: String,
    pub created_at: u64,
    pub last_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessagePreview>,
    pub member_count: u32,
    /// Both people of a direct room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<UserRef>,
    /// What an order-bound room is about (set by the site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<RoomContext>,
    /// A support room's session: status, visitor, operator, the visitor's page, rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SupportSession>,
    /// The caller archived the room and nothing new arrived since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// The caller muted the room: no Web Push for it (`room.mute`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
    pub role: MemberRole,
    pub read_seq: u64,
    pub delivered_seq: u64,
    /// Messages from others above the caller's read cursor.
    pub unread: u64,
}

/// The external thing an order-bound room belongs to, as the site describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomContext {
    /// The site's id, e.g. `order:123`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A link to the thing on the site (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The site's status of it, e.g. `paid`, `shipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A member of a room with their cursors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: MemberRole,
    pub joined_at: u64,
    pub read_seq: u64,
    pub delivered_seq: u64,
}

/// Another member's cursors, for sent → delivered → read ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub user_id: String,
    pub read_seq: u64,
    pub delivered_seq: u64,
}

/// One room of a `sync` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSync {
    pub room: RoomView,
    /// Messages after the client's `lastSeq`, oldest first (none for rooms the client did not list).
    pub messages: Vec<Message>,
    /// More messages remain after the last one here: sync again from it.
    pub has_more: bool,
    /// Messages edited or deleted since the client's version for this room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<Message>,
    /// The room's edit version: send it back in `versions` next time.
    pub ver: u64,
    pub receipts: Vec<Receipt>,
    /// The client did not list this room: it is new to it.
    pub new: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: MemberRole,
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
}

// ------------------------------------------------------------------------------------------------
// Client -> server

// The frame of each action; which actions exist, and who may send them: `crate::cmd` (its
// `actions!` declaration).

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ping {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomCreate {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    /// The other users (for `direct`: exactly one).
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomList {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Rooms per page (1 to 100). Absent: as many as fit one frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The previous answer's `nextCursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `false`: only rooms not archived; `true`: only archived ones; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomAdd {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomRemove {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomLeave {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
}

/// Mutes a room for the caller (no Web Push for it) or unmutes it; answered with `room.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoomMute {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageSend {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    /// The client's id for this message (a UUID): retries with the same id are answered with the
    /// original ack and create nothing.
    pub client_id: String,
    /// May be empty when the message carries attachments (a caption is optional).
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub kind: MessageKind,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole::de_opt")]
    pub reply_to: Option<u64>,
    /// Uploaded files (kind `image`: images only; kind `file`: any allowed type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageEdit {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub seq: u64,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageDelete {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Typing {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub is_typing: bool,
}

/// `read` / `delivered`: the member has read (received) everything up to `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cursor {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct History {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
    /// Only messages below this seq (the previous page's `nextCursor`); absent: the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// A support session's internal notes instead of its messages (its operators only; seqs of
    /// the notes' own sequence).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notes: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sync {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The last seq the client holds, per room it knows.
    #[serde(default)]
    pub rooms: BTreeMap<String, u64>,
    /// The last edit version the client holds, per room (from `sync` answers).
    #[serde(default)]
    pub versions: BTreeMap<String, u64>,
    /// Messages per room per page (default and maximum 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The previous answer's `nextCursor`, when it had `hasMore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresenceQuery {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub room_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupportStart {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The visitor's page (the widget fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<VisitorContext>,
    /// A first message, sent in the session once it exists (with `clientId`, idempotent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupportQueue {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// An operator's availability: `away` operators finish their sessions but get no new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Online,
    Away,
}

/// `operator.status`: an operator sets their availability (`status`), or asks for it (none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorStatus {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Availability>,
}

/// `session.accept`: a session of the queue, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRef {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionTransfer {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub session_id: String,
    pub to_operator_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionClose {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub session_id: String,
    /// How it ended, in the closer's words (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRate {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub session_id: String,
    /// 1 to 5.
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

// ------------------------------------------------------------------------------------------------
// Support desk

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Waiting,
    Active,
    Closed,
}

/// What the visitor's page says about them (the widget fills it in; every field optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VisitorContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The site's own attributes (plan, cart value, ...): at most 20, short strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub rated_at: u64,
}

/// A support session: a room of type `support` (its `sessionId` is the room id) between a visitor
/// and, once accepted, one operator. `waiting -> active -> closed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportSession {
    pub session_id: String,
    pub status: SessionStatus,
    pub visitor: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<UserRef>,
    #[serde(default)]
    pub context: VisitorContext,
    /// The start of the visitor's first message (200 characters), as the queue shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<String>,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<u64>,
    /// When an operator first replied (ms); absent: nobody has yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<u64>,
    /// Who closed it (user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// A waiting session as operators see it in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntry {
    pub session_id: String,
    pub visitor: UserRef,
    /// Waiting since (ms).
    pub since: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<String>,
    /// The page the visitor is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
}

// ------------------------------------------------------------------------------------------------
// Server -> client

/// Every frame the server sends, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    /// Answer to `ping`. `heartbeatSeconds`: send a `ping` at least this often, or the
    /// connection is taken for dead after 3 intervals (closed, the user announced offline).
    #[serde(rename = "pong", rename_all = "camelCase")]
    Pong {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        time: u64,
        heartbeat_seconds: u64,
    },
    /// Answer to `room.create`; `created: false` when the direct room already existed.
    #[serde(rename = "room.created", rename_all = "camelCase")]
    RoomCreated {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        room: RoomView,
        created: bool,
    },
    /// Answer to `room.list`, most recently active first. `hasMore`: more (older) rooms follow;
    /// ask again with `cursor` = `nextCursor`.
    #[serde(rename = "room.list", rename_all = "camelCase")]
    RoomList {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        rooms: Vec<RoomView>,
        has_more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    },
    /// To a user who was added to a room (or created it on another device).
    #[serde(rename = "room.joined")]
    RoomJoined { room: RoomView },
    /// Answer to `room.add` and `room.remove`: the room after the change.
    #[serde(rename = "room.updated")]
    RoomUpdated {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        room: RoomView,
    },
    /// To a user who left (the answer to `room.leave`) or was removed.
    #[serde(rename = "room.left", rename_all = "camelCase")]
    RoomLeft {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        room_id: String,
        by: String,
    },
    /// Answer to `message.send`, to the sending connection.
    #[serde(rename = "ack", rename_all = "camelCase")]
    Ack {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        client_id: String,
        message: Message,
        /// `true` when this clientId had been sent before: nothing new was created.
        duplicate: bool,
    },
    /// A new message, to every connection of every member but the sending one.
    #[serde(rename = "message.new")]
    MessageNew { message: Message },
    /// An edited or deleted message (a tombstone), to every member.
    #[serde(rename = "message.updated")]
    MessageUpdated {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        message: Message,
    },
    #[serde(rename = "typing", rename_all = "camelCase")]
    Typing {
        room_id: String,
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        is_typing: bool,
    },
    #[serde(rename = "read", rename_all = "camelCase")]
    Read { room_id: String, user_id: String, seq: u64 },
    #[serde(rename = "delivered", rename_all = "camelCase")]
    Delivered { room_id: String, user_id: String, seq: u64 },
    /// Answer to `history`: newest first.
    #[serde(rename = "history", rename_all = "camelCase")]
    History {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        room_id: String,
        messages: Vec<Message>,
        has_more: bool,
        /// `beforeSeq` for the next (older) page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<u64>,
    },
    /// Answer to `sync`, a page of rooms in room id order. With `hasMore`, sync again with the new
    /// last seqs and `cursor` = `nextCursor`.
    #[serde(rename = "sync", rename_all = "camelCase")]
    Sync {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        rooms: Vec<RoomSync>,
        has_more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
        /// Rooms the client listed that it is no longer a member of.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
    #[serde(rename = "presence", rename_all = "camelCase")]
    Presence {
        user_id: String,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<u64>,
    },
    /// Answer to `presence.query`: every member, online or not.
    #[serde(rename = "presence.list", rename_all = "camelCase")]
    PresenceList {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        room_id: String,
        users: Vec<PresenceEntry>,
    },
    /// Answer to `support.start`: the visitor's open session (`created: false` when it existed).
    /// `operatorsOnline: 0` means the team is away (the visitor is answered later, here).
    #[serde(rename = "session.started", rename_all = "camelCase")]
    SessionStarted {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        session: SupportSession,
        /// The session's room as the visitor sees it.
        room: RoomView,
        created: bool,
        operators_online: u32,
    },
    /// To a waiting visitor, on start and whenever the queue changes.
    #[serde(rename = "queue.position", rename_all = "camelCase")]
    QueuePosition {
        session_id: String,
        /// 1 = next.
        position: u32,
        estimated_wait_seconds: u64,
        operators_online: u32,
    },
    /// To operators: the whole queue, oldest first (answer to `support.queue`, and on every change).
    #[serde(rename = "queue.updated", rename_all = "camelCase")]
    QueueUpdated {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The oldest waiting sessions (at most 200).
        queue: Vec<QueueEntry>,
        /// How many sessions wait in all.
        total: u32,
        operators_online: u32,
        /// What a visitor arriving now is told (median of recent waits).
        estimated_wait_seconds: u64,
    },
    /// Answer to `session.accept` (and to the target of a transfer): the session, its room and
    /// its newest messages (newest first, like `history`).
    #[serde(rename = "session.accepted", rename_all = "camelCase")]
    SessionAccepted {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        session: SupportSession,
        room: RoomView,
        messages: Vec<Message>,
        /// The newest internal notes (newest first, like `messages`), for the operator taking over.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<Message>,
    },
    /// To every console of the operator: their availability (after `operator.status`).
    #[serde(rename = "operator.status", rename_all = "camelCase")]
    OperatorStatus {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        status: Availability,
    },
    /// To the session's members: an operator took the session (accept or transfer).
    #[serde(rename = "operator.joined", rename_all = "camelCase")]
    OperatorJoined {
        session_id: String,
        operator_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// To the session's members and both operators: the session changed hands.
    #[serde(rename = "session.transferred", rename_all = "camelCase")]
    SessionTransferred {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        session: SupportSession,
        from: UserRef,
        to: UserRef,
    },
    /// To the session's members: it is closed. `ratingRequested`: the visitor may rate it.
    #[serde(rename = "session.closed", rename_all = "camelCase")]
    SessionClosed {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        session: SupportSession,
        rating_requested: bool,
    },
    /// To the session's members: the visitor rated it.
    #[serde(rename = "session.rated", rename_all = "camelCase")]
    SessionRated {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        session: SupportSession,
    },
    #[serde(rename = "error", rename_all = "camelCase")]
    Error(ErrorFrame),
}

/// Every server frame type, in the order of [`ServerFrame`].
pub const SERVER_TYPES: [&str; 26] = [
    "pong",
    "room.created",
    "room.list",
    "room.joined",
    "room.updated",
    "room.left",
    "ack",
    "message.new",
    "message.updated",
    "typing",
    "read",
    "delivered",
    "history",
    "sync",
    "presence",
    "presence.list",
    "session.started",
    "queue.position",
    "queue.updated",
    "session.accepted",
    "operator.joined",
    "operator.status",
    "session.transferred",
    "session.closed",
    "session.rated",
    "error",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFrame {
    pub code: crate::error::ErrorCode,
    pub message: String,
    /// The offending field, for `invalid_frame`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// API Gateway's request id: quote it when reporting a problem.
    pub request_id: String,
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let f: MessageSend = serde_json::from_str(r#"{"roomId":"r","clientId":"c","content":"hi"}"#).unwrap();
        assert_eq!(
            f,
            MessageSend {
                reference: None,
                room_id: "r".into(),
                client_id: "c".into(),
                content: "hi".into(),
                kind: MessageKind::Text,
                reply_to: None,
                attachments: vec![]
            }
        );
        let s = ServerFrame::Read { room_id: "r".into(), user_id: "u".into(), seq: 3 }.to_json();
        assert_eq!(s, r#"{"type":"read","roomId":"r","userId":"u","seq":3}"#);
    }
}
