//! `message.send`, `message.edit`, `message.delete`.
//!
//! Send: persist first (exactly once per clientId), then ack the sender and fan out; REST
//! (`POST /chats/{id}/messages`) goes through the same [`persist`] and [`broadcast`]. Edit and
//! delete: own messages only; delete leaves a tombstone. Both give the message a new room version
//! (so `sync` finds changes made while a client was away) and go to every member.

use super::{check_content, check_id, check_ref};
use crate::app::{Actor, App, Caller};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{Appended, MessageChange, NewMessage, SendCharge};
use crate::protocol::{Message, MessageDelete, MessageEdit, MessageKind, MessageSend, ServerFrame};

/// Largest `meta` a site may attach to a message, in bytes of JSON.
pub const MAX_META_BYTES: usize = 4096;

/// A message to send, from a socket frame or a REST body.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub room_id: String,
    pub client_id: String,
    pub content: String,
    pub kind: MessageKind,
    pub reply_to: Option<u64>,
    /// Structured data; only the site (`service`) sets it.
    pub meta: Option<serde_json::Value>,
    /// Uploaded files, as the upload named them.
    pub attachments: Vec<crate::protocol::Attachment>,
}

impl From<MessageSend> for Outgoing {
    fn from(f: MessageSend) -> Self {
        Outgoing {
            room_id: f.room_id,
            client_id: f.client_id,
            content: f.content,
            kind: f.kind,
            reply_to: f.reply_to,
            meta: None,
            attachments: f.attachments,
        }
    }
}

/// `message.send`.
pub async fn send(app: &App, caller: &Caller, f: MessageSend) -> Result<()> {
    check_ref(&f.reference)?;
    let reference = f.reference.clone();
    if f.kind == MessageKind::Note {
        let (appended, visitor) = super::notes::persist(app, &caller.actor, f.into()).await?;
        let duplicate = matches!(appended, Appended::Duplicate(_));
        let message = appended.message().clone();
        let ack =
            ServerFrame::Ack { reference, client_id: message.client_id.clone().unwrap_or_default(), message: message.clone(), duplicate };
        app.reply(caller, &ack).await;
        if !duplicate {
            super::notes::broadcast(app, &message, &visitor, Some(&caller.connection_id)).await;
        }
        return Ok(());
    }
    let p = persist(app, &caller.actor, f.into()).await?;
    let duplicate = matches!(p.appended, Appended::Duplicate(_));
    let message = p.message().clone();
    app.reply(
        caller,
        &ServerFrame::Ack { reference, client_id: message.client_id.clone().unwrap_or_default(), message: message.clone(), duplicate },
    )
    .await;
    if !duplicate {
        broadcast(app, &caller.actor, message, Some(&caller.connection_id), p.member_count).await;
    }
    Ok(())
}

/// A message stored (or found stored), with what the send read of its room.
#[derive(Debug, Clone)]
pub struct Persisted {
    pub appended: Appended,
    /// The room's member count when the send read it (for the push decision).
    pub member_count: Option<u32>,
}

impl Persisted {
    pub fn message(&self) -> &Message {
        self.appended.message()
    }
}

/// Checks and stores a message; returns it (or, for a clientId seen before, the message it
/// created). Members send to rooms they are in; the site (`service`)
/// sends to any room, `system` messages included.
pub async fn persist(app: &App, actor: &Actor, o: Outgoing) -> Result<Persisted> {
    check_id("roomId", &o.room_id)?;
    check_id("clientId", &o.client_id)?;
    // A file needs no caption; anything else needs content.
    if o.attachments.is_empty() || !o.content.is_empty() {
        check_content(&o.content)?;
    }
    super::files::check(app, &o.room_id, o.kind, &o.attachments)?;
    if o.kind == MessageKind::Note {
        return Err(ChatError::Forbidden("internal notes are written by the session's operators".into()));
    }
    if o.kind == MessageKind::System && !actor.is_service() {
        return Err(ChatError::Forbidden("system messages are sent by the server or the site only".into()));
    }
    if o.reply_to == Some(0) {
        return Err(ChatError::invalid("replyTo", "replyTo is the seq of a message (1 or more)"));
    }
    if let Some(meta) = &o.meta {
        if !actor.is_service() {
            return Err(ChatError::Forbidden("only the site sets meta".into()));
        }
        if !meta.is_object() {
            return Err(ChatError::invalid("meta", "meta is a JSON object"));
        }
        if super::json_len(meta) > MAX_META_BYTES {
            return Err(ChatError::TooLarge(format!("meta is larger than {MAX_META_BYTES} bytes")));
        }
        check_meta(meta, 0)?;
    }
    // The room's newest seq as a hint (half a read unit; the store finds the real one if the
    // hint is behind), then one conditional write on the sender's member row that is at once the
    // membership check, the send budget and "everything up to my own message is read".
    let room = app.store.room_hint(&o.room_id).await?;
    let hint = room.map(|r| r.last_seq);
    let charged = if actor.is_service() {
        if hint.is_none() {
            return Err(ChatError::NotFound(format!("room {} does not exist", o.room_id)));
        }
        None
    } else {
        let hint = hint.ok_or_else(|| ChatError::NotMember(o.room_id.clone()))?;
        let window = app.now() / crate::app::SEND_WINDOW_MS;
        match app.store.charge_send(&o.room_id, &actor.user_id, window, app.cfg.max_sends_per_window, hint + 1).await? {
            SendCharge::Allowed { previous_own } => Some((hint + 1, previous_own)),
            SendCharge::NotMember => return Err(ChatError::NotMember(o.room_id.clone())),
            SendCharge::Exhausted => {
                return Err(ChatError::RateLimited(format!(
                    "at most {} messages per {} s in a room; retry in a few seconds",
                    app.cfg.max_sends_per_window,
                    crate::app::SEND_WINDOW_MS / 1000
                )))
            }
        }
    };
    if let Some(r) = o.reply_to {
        // Messages are never removed (a delete leaves a tombstone): a seq up to the room's newest
        // exists. Past the hint, which may be a moment behind, the message itself is looked up.
        let known = hint.is_some_and(|h| r <= h) || app.store.get_message(&o.room_id, r).await?.is_some();
        if !known {
            if let Some((expected, previous)) = charged {
                let _ = app.store.correct_own_seq(&o.room_id, &actor.user_id, expected, previous).await;
            }
            return Err(ChatError::absent("replyTo", format!("replyTo names no message of this room (seq {r})")));
        }
    }
    // The files, checked against what was uploaded and moved to the room's permanent prefix
    // (after the membership check: non-members cause no S3 request).
    let attachments = match super::files::claim(app, &o.attachments).await {
        Ok(a) => a,
        Err(e) => {
            if let Some((expected, previous)) = charged {
                let _ = app.store.correct_own_seq(&o.room_id, &actor.user_id, expected, previous).await;
            }
            return Err(e);
        }
    };
    let now = app.now();
    let appended = app
        .store
        .append_message(
            NewMessage {
                room_id: o.room_id.clone(),
                client_id: o.client_id,
                id: ids::ulid(now),
                sender_id: actor.user_id.clone(),
                sender_name: actor.name.clone(),
                kind: o.kind,
                content: o.content,
                reply_to: o.reply_to,
                attachments,
                meta: o.meta,
                created_at: now,
            },
            hint.unwrap_or(0),
        )
        .await;
    if let Some((expected, previous)) = charged {
        // The member row said "my newest message is `expected`": put it right when the send got
        // another seq (others wrote meanwhile) or created nothing.
        let correct = match &appended {
            Ok(Appended::Created(m)) if m.seq == expected => None,
            Ok(Appended::Created(m)) => Some(Some(m.seq)),
            _ => Some(previous),
        };
        if let Some(to) = correct {
            if let Err(e) = app.store.correct_own_seq(&o.room_id, &actor.user_id, expected, to).await {
                tracing::warn!(room_id = %o.room_id, error = %e, "cannot correct the sender's own seq");
            }
        }
    }
    if let (Ok(Appended::Created(m)), Some((_, None))) = (&appended, charged) {
        // The sender's first message in the room: an operator's first reply in a session?
        if actor.role.is_operator() && m.room_id.starts_with("sp_") {
            first_reply(app, &actor.user_id, &m.room_id, now).await;
        }
    }
    appended.map(|appended| Persisted { appended, member_count: room.map(|r| r.member_count) })
}

/// Notes a session's first operator reply (once per session: a conditional write), for reports.
async fn first_reply(app: &App, operator: &str, session_id: &str, at: u64) {
    match app.store.first_response(session_id, at).await {
        Ok(Some(session)) => {
            let after_ms = at.saturating_sub(session.created_at);
            crate::support::reports::record(app, &session, Some(operator), crate::support::reports::Event::Answered { after_ms }).await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(session_id, error = %e, "cannot note the first reply"),
    }
}

/// `meta` is stored as a DynamoDB map: keys are 1 to 256 characters, nesting at most 8 deep,
/// numbers within what DynamoDB stores.
fn check_meta(v: &serde_json::Value, depth: usize) -> Result<()> {
    use serde_json::Value;
    let bad = |why: &str| Err(ChatError::invalid("meta", format!("meta: {why}")));
    if depth > 8 {
        return bad("nested more than 8 deep");
    }
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k.is_empty() || k.chars().count() > 256 {
                    return bad("keys are 1 to 256 characters");
                }
                check_meta(x, depth + 1)?;
            }
        }
        Value::Array(a) => {
            for x in a {
                check_meta(x, depth + 1)?;
            }
        }
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::INFINITY);
            if !f.is_finite() || f.abs() > 1e100 || (f != 0.0 && f.abs() < 1e-100) {
                return bad("numbers are within ±1e100");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Sends a new message to every live connection in the room but `except` (the sending socket),
/// then pushes it to the members who are offline (`crate::push`: after the fan-out, never before
/// the ack); an operator's reply in a support session may be e-mailed to a visitor who is away
/// (`crate::mail`). `member_count`: the room's, as the send read it.
pub async fn broadcast(app: &App, sender: &Actor, message: Message, except: Option<&str>, member_count: Option<u32>) {
    let room_id = message.room_id.clone();
    let started = std::time::Instant::now();
    let (report, connected) = app.fanout_room_seen(&room_id, &ServerFrame::MessageNew { message: message.clone() }, except, None).await;
    use crate::metrics::{emit, ms_since, Unit};
    emit(
        app.now(),
        &[
            ("SendRecipients", Unit::Count, connected.as_ref().map_or(0, |c| c.len()) as f64),
            ("SendPosts", Unit::Count, report.posted as f64),
            ("SendGone", Unit::Count, report.gone as f64),
            ("SendFanoutMs", Unit::Milliseconds, ms_since(started)),
        ],
        &[("RoomId", room_id.as_str().into())],
    );
    crate::push::offline_push(app, &message, connected.as_ref(), member_count).await;
    if sender.role.is_operator() && room_id.starts_with("sp_") {
        crate::mail::reply_sent(app, &message, connected.as_ref(), member_count).await;
    }
}

/// `message.edit`.
pub async fn edit(app: &App, caller: &Caller, f: MessageEdit) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    check_content(&f.content)?;
    change(app, caller, &f.room_id, f.seq, MessageChange::Edit(f.content), f.reference).await
}

/// `message.delete`.
pub async fn delete(app: &App, caller: &Caller, f: MessageDelete) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    change(app, caller, &f.room_id, f.seq, MessageChange::Delete, f.reference).await
}

async fn change(app: &App, caller: &Caller, room_id: &str, seq: u64, change: MessageChange, reference: Option<String>) -> Result<()> {
    if seq == 0 {
        return Err(ChatError::invalid("seq", "seq is the seq of a message (1 or more)"));
    }
    app.member_checked(room_id, &caller.user_id).await?;
    let message = app.store.update_message(room_id, seq, &caller.user_id, change, app.now()).await?;
    app.reply(caller, &ServerFrame::MessageUpdated { reference, message: message.clone() }).await;
    let frame = ServerFrame::MessageUpdated { reference: None, message };
    app.fanout_room(room_id, &frame, Some(&caller.connection_id), None).await;
    Ok(())
}
