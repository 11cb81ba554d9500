//! Stored records (what the tables hold), distinct from the protocol views built from them.

use crate::protocol::{
    MemberRole, MemberView, Message, MessageKind, MessagePreview, RoomContext, RoomType, RoomView, SupportSession, UserRef,
};
use serde::{Deserialize, Serialize};

/// Who a connection belongs to (from the token verified on `$connect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Operator,
    Guest,
    /// The site's backend (REST only): creates order rooms, posts system messages, adds members.
    Service,
    /// An operator who also manages the team (saved replies; role `admin` in the token).
    Admin,
}

impl Role {
    /// Answers support sessions: operators and admins.
    pub fn is_operator(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Manages the team's shared things (saved replies): admins and the site (`service`).
    pub fn manages_team(self) -> bool {
        matches!(self, Role::Admin | Role::Service)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRecord {
    pub connection_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Role,
    pub connected_at: u64,
    /// Epoch seconds: DynamoDB TTL removes the row if `$disconnect` never came.
    pub expires_at: u64,
}

/// Per-user state: live connection ids (presence) and last seen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserRecord {
    pub user_id: String,
    pub name: Option<String>,
    pub conns: Vec<String>,
    pub last_seen: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRecord {
    pub room_id: String,
    pub room_type: RoomType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_by: String,
    pub created_at: u64,
    /// The seq of the newest message (0: none yet).
    #[serde(default)]
    pub last_seq: u64,
    /// The version of the newest edit or delete.
    #[serde(default)]
    pub last_ver: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessagePreview>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<u64>,
    #[serde(default)]
    pub member_count: u32,
    #[serde(default)]
    pub max_members: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<UserRef>,
    /// Order-bound rooms: what the site says the room is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<RoomContext>,
    /// Support rooms: the session (status, visitor, operator, page, rating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRecord {
    pub room_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub role: MemberRole,
    pub room_type: RoomType,
    pub joined_at: u64,
    #[serde(default)]
    pub read_seq: u64,
    #[serde(default)]
    pub delivered_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing_at: Option<u64>,
    #[serde(default)]
    pub archived: bool,
    /// The room's `lastSeq` when the member archived it: a newer message brings it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_seq: Option<u64>,
    /// The seq of the member's own newest message: everything up to it counts as read (writing in
    /// a room reads it) without a second write per send.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub own_seq: u64,
    /// The member muted the room: no Web Push for it (`room.mute`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
    /// When the member was last pushed for this room (ms): at most one push per interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<u64>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl MemberRecord {
    /// The member's read cursor as others and the unread count see it: their `read` frames, or
    /// their own newest message if later, never past the room's last message.
    pub fn effective_read(&self, room_last_seq: u64) -> u64 {
        self.read_seq.max(self.own_seq).min(room_last_seq)
    }

    pub fn view(&self, room_last_seq: u64) -> MemberView {
        MemberView {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            role: self.role,
            joined_at: self.joined_at,
            read_seq: self.effective_read(room_last_seq),
            delivered_seq: self.delivered_seq,
        }
    }

    pub fn new(room: &RoomRecord, user: &UserRef, role: MemberRole, now: u64) -> MemberRecord {
        MemberRecord {
            room_id: room.room_id.clone(),
            user_id: user.user_id.clone(),
            name: user.name.clone(),
            role,
            room_type: room.room_type,
            joined_at: now,
            // Joining is not a reason to see the whole past as unread.
            read_seq: room.last_seq,
            delivered_seq: room.last_seq,
            typing_at: None,
            archived: false,
            archived_seq: None,
            own_seq: 0,
            muted: false,
            pushed_at: None,
        }
    }
}

/// Outcome of charging one send to the sender's member row (budget per member per room).
#[derive(Debug, Clone, PartialEq)]
pub enum SendCharge {
    /// Charged; the member row now says the sender's newest message is the expected seq.
    /// `previous_own`: what it said before (to put back if the send creates nothing).
    Allowed { previous_own: Option<u64> },
    /// The member sent its maximum in the current window.
    Exhausted,
    /// No member row: not a member (or no such room).
    NotMember,
}

/// A live connection registered in a room: what a fan-out reads, one Query per room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomConn {
    pub room_id: String,
    pub connection_id: String,
    pub user_id: String,
    /// Epoch seconds: the connection cannot outlive this (API Gateway's 2 h maximum); TTL.
    pub expires_at: u64,
}

/// Outcome of deleting a connection row after a 410.
#[derive(Debug, Clone, PartialEq)]
pub enum StaleDelete {
    Deleted(ConnectionRecord),
    /// No row (already cleaned up, or expired).
    Absent,
    /// The connection is too new to be declared gone: left alone.
    TooYoung,
}

/// Outcome of taking connections off a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detached {
    /// How many of the given connections the user still had.
    pub removed: usize,
    /// How many connections the user has now.
    pub remaining: usize,
}

impl Detached {
    /// This call took the user's last connection: they just went offline.
    pub fn went_offline(&self) -> bool {
        self.removed > 0 && self.remaining == 0
    }
}

/// A room as listed by the members index: what a user's room list starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub room_id: String,
    pub user_id: String,
    #[serde(default)]
    pub role: MemberRole,
    pub room_type: RoomType,
    pub joined_at: u64,
    #[serde(default)]
    pub archived: bool,
}

/// A message to append; the store assigns `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub room_id: String,
    pub client_id: String,
    pub id: String,
    pub sender_id: String,
    pub sender_name: Option<String>,
    pub kind: MessageKind,
    pub content: String,
    pub reply_to: Option<u64>,
    pub attachments: Vec<crate::protocol::Attachment>,
    pub meta: Option<serde_json::Value>,
    pub created_at: u64,
}

impl NewMessage {
    pub fn into_message(self, seq: u64) -> Message {
        Message {
            room_id: self.room_id,
            seq,
            id: self.id,
            sender_id: self.sender_id,
            sender_name: self.sender_name,
            kind: self.kind,
            content: self.content,
            reply_to: self.reply_to,
            attachments: self.attachments,
            client_id: Some(self.client_id),
            created_at: self.created_at,
            edited_at: None,
            deleted_at: None,
            ver: None,
            meta: self.meta,
        }
    }
}

/// Outcome of an append: a new message, or the one this clientId created before.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    Created(Message),
    Duplicate(Message),
}

impl Appended {
    pub fn message(&self) -> &Message {
        match self {
            Appended::Created(m) | Appended::Duplicate(m) => m,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    Read,
    Delivered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    Edit(String),
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingOutcome {
    Broadcast,
    Throttled,
    NotMember,
}

pub fn preview(m: &Message) -> MessagePreview {
    MessagePreview {
        seq: m.seq,
        sender_id: m.sender_id.clone(),
        sender_name: m.sender_name.clone(),
        kind: m.kind,
        text: if m.content.trim().is_empty() && !m.attachments.is_empty() {
            // A file without a caption: what a room list shows for it.
            match m.kind {
                MessageKind::Image if m.attachments.len() > 1 => format!("{} photos", m.attachments.len()),
                MessageKind::Image => "Photo".into(),
                _ if m.attachments.len() > 1 => format!("{} files", m.attachments.len()),
                _ => format!("File: {}", m.attachments[0].name.chars().take(180).collect::<String>()),
            }
        } else {
            m.content.chars().take(200).collect()
        },
        created_at: m.created_at,
    }
}

impl RoomRecord {
    /// When the room last changed for its list order: its last message, else its creation.
    pub fn activity(&self) -> u64 {
        self.last_message.as_ref().map(|m| m.created_at).unwrap_or(self.created_at)
    }

    /// A new, empty room.
    pub fn new(room_id: String, room_type: RoomType, created_by: &str, now: u64, member_count: u32, max_members: u32) -> RoomRecord {
        RoomRecord {
            room_id,
            room_type,
            name: None,
            created_by: created_by.to_string(),
            created_at: now,
            last_seq: 0,
            last_ver: 0,
            last_message: None,
            last_message_at: None,
            member_count,
            max_members,
            participants: Vec::new(),
            context: None,
            support: None,
        }
    }

    /// The room as `member` sees it.
    pub fn view(&self, member: &MemberRecord) -> RoomView {
        RoomView {
            room_id: self.room_id.clone(),
            room_type: self.room_type,
            name: self.name.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            last_seq: self.last_seq,
            last_message: self.last_message.clone(),
            member_count: self.member_count,
            participants: self.participants.clone(),
            context: self.context.clone(),
            session: self.support.clone(),
            archived: member.archived && self.last_seq <= member.archived_seq.unwrap_or(0),
            muted: member.muted,
            role: member.role,
            read_seq: member.effective_read(self.last_seq),
            delivered_seq: member.delivered_seq,
            unread: self.last_seq.saturating_sub(member.effective_read(self.last_seq)),
        }
    }
}

/// Where a posting of the full-text index lives: a term of a message in a room.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PostingKey {
    pub room_id: String,
    /// A folded, stemmed term (see `search::text`).
    pub term: String,
    /// The message's id (a ULID: time-ordered, so postings sort newest first).
    pub id: String,
}

/// One posting: the message behind it and every term it carries (for AND queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub key: PostingKey,
    pub seq: u64,
    pub terms: Vec<String>,
}

/// Outcome of starting a support session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Created,
    /// The visitor has an open session already (another tab, a returning visitor): its id.
    Existing(String),
}

/// A heartbeat: `connection_id` (of `user_id`) was alive during heartbeat interval `bucket`
/// (`epoch seconds / interval`). Items are spread over [`BEAT_SHARDS`] partitions per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub bucket: u64,
    pub shard: u32,
    pub connection_id: String,
    pub user_id: String,
    /// Epoch seconds (TTL).
    pub expires_at: u64,
}

/// What a send needs of the room before it writes: its newest seq (a hint: the store finds the
/// real one if it is behind) and how many members it has (the push decision: when everyone is
/// connected, nobody needs a push and no member row is read). Both come from one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomHint {
    pub last_seq: u64,
    pub member_count: u32,
}

/// Strikes against a key (a user who flooded): how many, and when the last one was (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strikes {
    pub count: u32,
    pub last_at: u64,
}

/// Partitions per heartbeat bucket: each takes up to 1,000 writes per second, so 8 carry the
/// heartbeats of ~240,000 connections at the default 30 s interval.
pub const BEAT_SHARDS: u32 = 8;

/// The shard of a connection's heartbeats (FNV-1a of its id).
pub fn beat_shard(connection_id: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in connection_id.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h % BEAT_SHARDS
}

// ---- Web Push (`crate::push`): what the store keeps of it

/// A member as the push decision reads them: three attributes of the member row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMember {
    pub user_id: String,
    #[serde(default)]
    pub muted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<u64>,
}

/// A browser's push subscription (`PushSubscription.toJSON()`), as `PushSubscriptionsTable`
/// holds it: `userId` + `id` (a hash of the endpoint, so registering again replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionRecord {
    pub user_id: String,
    pub id: String,
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (65 bytes uncompressed).
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
    pub created_at: u64,
}

/// Subscriptions one user keeps at most (browsers and devices); registering one more drops the
/// oldest.
pub const MAX_SUBSCRIPTIONS_PER_USER: usize = 10;

/// A versioned JSON document of the team (`DeskStore`).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub body: String,
    pub version: u64,
    pub updated_at: u64,
}

/// A day's report row: the team's (`operator: None`) or one operator's; counters by name
/// (`crate::support::reports`), and on the team's row the operators active that day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportRow {
    pub day: String,
    pub operator: Option<String>,
    pub counters: std::collections::BTreeMap<String, u64>,
    pub operators: Vec<String>,
}
