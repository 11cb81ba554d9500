//! Web Push to members who are offline.
//!
//! After a message is stored and fanned out ([`crate::cmd::message::broadcast`]), [`offline_push`]
//! decides who gets a push: the room's members (one eventually consistent Query of the member
//! rows, which carry `muted` and `pushedAt`) less the users the fan-out found connected (the
//! RoomConns Query it made anyway), less the sender and the members who muted the room. Each of
//! them whose last push in the room is older than the interval is claimed with one conditional
//! write (`pushedAt`), so concurrent sends never push twice; then one [`PushBatch`] goes to the
//! [`PushPublisher`] ([`sns::SnsPush`]: the template's `PushTopic`). The `notify` function,
//! subscribed to the topic, sends the Web Push requests ([`webpush`]).

pub mod endpoint;
pub mod sns;
pub mod webpush;

use crate::app::App;
use crate::error::Result;
use crate::model::RoomRecord;
pub use crate::model::{PushMember, PushSubscriptionRecord, MAX_SUBSCRIPTIONS_PER_USER};
use crate::protocol::{Message, MessageKind, RoomType};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a push carries: the JSON the browser's service worker gets (`event.data.json()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushPayload {
    pub room_id: String,
    /// The room as a notification names it: the group's name, the order's title, the sender
    /// of a direct message.
    pub room_title: String,
    pub room_type: RoomType,
    pub sender_id: String,
    pub sender_name: String,
    /// At most [`PREVIEW_CHARS`] characters of the text; "Photo" or "File" for attachments.
    pub preview: String,
    pub kind: MessageKind,
    pub seq: u64,
    pub created_at: u64,
}

/// One publish: these users get this payload on every browser they registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushBatch {
    pub user_ids: Vec<String>,
    pub payload: PushPayload,
}

/// Where push batches go (SNS in Lambda, memory in tests).
#[async_trait]
pub trait PushPublisher: Send + Sync {
    async fn publish(&self, batch: PushBatch) -> Result<()>;
}

/// Keeps what it is given (tests, the bench).
#[derive(Default)]
pub struct MemoryPush {
    published: std::sync::Mutex<Vec<PushBatch>>,
}

impl MemoryPush {
    pub fn take(&self) -> Vec<PushBatch> {
        std::mem::take(&mut self.published.lock().unwrap())
    }
}

#[async_trait]
impl PushPublisher for MemoryPush {
    async fn publish(&self, batch: PushBatch) -> Result<()> {
        self.published.lock().unwrap().push(batch);
        Ok(())
    }
}

/// The id of a subscription: 32 hex digits of the SHA-256 of its endpoint.
pub fn subscription_id(endpoint: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, endpoint.as_bytes());
    crate::ids::hex(&d.as_ref()[..16])
}

/// Characters of a message's text in a push.
pub const PREVIEW_CHARS: usize = 120;
/// Users per publish: one SNS message (256 KB) holds 400 ids of 128 characters (512 bytes of
/// UTF-8 at most, quoted) and the payload.
pub const MAX_USERS_PER_PUBLISH: usize = 400;

/// What a notification shows of a message.
pub fn preview(m: &Message) -> String {
    match m.kind {
        MessageKind::Image => "Photo".into(),
        MessageKind::File => "File".into(),
        MessageKind::Text | MessageKind::System | MessageKind::Note => cut(&m.content, PREVIEW_CHARS),
    }
}

fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// How a notification names the room: a direct room by the sender (the recipient is the other
/// person), a group by its name, an order room by the site's title, a support session "Support".
pub fn room_title(room: Option<&RoomRecord>, sender_name: &str) -> String {
    let Some(room) = room else { return sender_name.to_string() };
    let named = room.name.clone().filter(|n| !n.trim().is_empty());
    let title = match room.room_type {
        RoomType::Direct => Some(sender_name.to_string()),
        RoomType::Group => named.or(Some("Group".into())),
        RoomType::Order => room.context.as_ref().and_then(|c| c.title.clone()).or(named).or(Some("Order".into())),
        RoomType::Support => named.or(Some("Support".into())),
    };
    cut(&title.unwrap_or_default(), crate::protocol::MAX_NAME_CHARS)
}

/// What [`offline_push`] decided (tests, the bench).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PushDecision {
    /// Members not connected (less the sender), muted ones included.
    pub offline: usize,
    /// Members whose push slot was claimed and who were published.
    pub pushed: Vec<String>,
}

/// The offline-push decision for a message just stored and fanned out. `connected`: the users
/// the fan-out found connected in the room (`None`: that read failed, so nobody is pushed: never
/// a push to someone who may be online). `member_count`: the room's, as the send read it; when
/// the connected users (with the sender) are as many, nobody is offline and no member row is
/// read. Never fails the send: errors are logged.
pub async fn offline_push(app: &App, message: &Message, connected: Option<&BTreeSet<String>>, member_count: Option<u32>) -> PushDecision {
    let mut decision = PushDecision::default();
    let Some(publisher) = app.push.as_ref() else { return decision };
    let Some(connected) = connected else {
        tracing::warn!(room_id = %message.room_id, "push: the room's connections are unknown; no push");
        return decision;
    };
    let room_id = &message.room_id;
    let present = connected.len() + usize::from(!connected.contains(&message.sender_id));
    if member_count.is_some_and(|m| m > 0 && present >= m as usize) {
        return decision;
    }
    let members = match app.store.push_members(room_id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(room_id = %room_id, error = %e, "push: cannot read the room's members");
            return decision;
        }
    };
    let now = app.now();
    let cutoff = now.saturating_sub(app.cfg.push_interval_secs.saturating_mul(1000));
    let offline: Vec<&PushMember> = members.iter().filter(|m| m.user_id != message.sender_id && !connected.contains(&m.user_id)).collect();
    decision.offline = offline.len();
    let due: Vec<String> =
        offline.into_iter().filter(|m| !m.muted && m.pushed_at.is_none_or(|t| t < cutoff)).map(|m| m.user_id.clone()).collect();
    if due.is_empty() {
        return decision;
    }
    let claimed = match app.store.claim_push(room_id, &due, now, cutoff).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(room_id = %room_id, error = %e, "push: cannot claim push slots");
            return decision;
        }
    };
    if claimed.is_empty() {
        return decision;
    }
    // The room's title, only when someone is pushed (an eventually consistent read: a rename a
    // moment ago may show the old name).
    let room = match app.store.get_rooms(std::slice::from_ref(room_id), false).await {
        Ok(r) => r.into_iter().next(),
        Err(e) => {
            tracing::warn!(room_id = %room_id, error = %e, "push: cannot read the room; pushing without its title");
            None
        }
    };
    let sender_name = message.sender_name.clone().unwrap_or_else(|| message.sender_id.clone());
    let payload = PushPayload {
        room_id: room_id.clone(),
        room_title: room_title(room.as_ref(), &sender_name),
        room_type: room.as_ref().map(|r| r.room_type).unwrap_or(RoomType::Group),
        sender_id: message.sender_id.clone(),
        sender_name: cut(&sender_name, crate::protocol::MAX_NAME_CHARS),
        preview: preview(message),
        kind: message.kind,
        seq: message.seq,
        created_at: message.created_at,
    };
    for chunk in claimed.chunks(MAX_USERS_PER_PUBLISH) {
        match publisher.publish(PushBatch { user_ids: chunk.to_vec(), payload: payload.clone() }).await {
            Ok(()) => decision.pushed.extend(chunk.iter().cloned()),
            Err(e) => tracing::warn!(room_id = %room_id, users = chunk.len(), error = %e, "push: cannot publish"),
        }
    }
    tracing::info!(room_id = %room_id, offline = decision.offline, pushed = decision.pushed.len(), "push decided");
    decision
}

#[cfg(test)]
mod tests;
