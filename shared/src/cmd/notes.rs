//! Internal notes: `message.send {kind: "note"}` from an operator of a support session.
//!
//! A note is stored like any message (exactly once per clientId, gapless seqs) but in the
//! session's own notes stream — partition [`stream`] of the messages table, its own sequence —
//! never in the session's room. So nothing a visitor reads can hold one or reveal that one
//! exists: not the room's messages (`message.new`, `sync`, `history`, REST), not its `lastSeq`,
//! preview or unread count, not push (notes are never pushed), not search (the visitor is no
//! member of the stream). Notes reach the session's operators only: the sender's ack, and
//! `message.new` to the room's live connections but the visitor's. The team's operators read any
//! session's notes (and messages) read-only, as its transcript; only its operator writes them. Clients see a note's
//! `roomId` as the session's; its `seq` counts notes only. Notes are not edited or deleted.

use super::message::Outgoing;
use super::{check_content, check_id};
use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{Appended, NewMessage};
use crate::protocol::{Message, MessageKind, ServerFrame};

/// The messages-table partition of a session's notes. Room ids are the server's own (`sp_`,
/// `gr_`, `dm_`, `or_` + base32), so no room can ever be named like this.
pub fn stream(session_id: &str) -> String {
    format!("{session_id}#notes")
}

/// A stored note as clients see it: in its session.
pub fn shown(mut m: Message) -> Message {
    if let Some(session) = m.room_id.strip_suffix("#notes") {
        m.room_id = session.to_string();
    }
    m
}

/// Who may write a session's notes: an operator who is a member of it (its operator; after a
/// transfer, the new one). Anyone else gets `forbidden` (visitors, users, the site) or
/// `not_member` (other operators). Returns the session's visitor.
pub async fn check_operator(app: &App, actor: &Actor, session_id: &str) -> Result<String> {
    if !actor.role.is_operator() {
        return Err(ChatError::Forbidden("internal notes are for the session's operators only".into()));
    }
    check_id("roomId", session_id)?;
    app.member_checked(session_id, &actor.user_id).await?;
    let session = app.store.get_room(session_id).await?.and_then(|r| r.support);
    session.map(|s| s.visitor.user_id).ok_or_else(|| ChatError::invalid("kind", "notes are written in support sessions only"))
}

/// Whether `actor` reads this room as an operator of the team: any support session, read-only
/// (its messages and notes), member or not — the team's transcripts, as the console's past
/// sessions and search open them. `Ok(false)`: not an operator, or no such session.
pub async fn team_reads(app: &App, actor: &Actor, room_id: &str) -> Result<bool> {
    if !actor.role.is_operator() || !room_id.starts_with("sp_") {
        return Ok(false);
    }
    Ok(app.store.get_room(room_id).await?.is_some_and(|r| r.support.is_some()))
}

/// Who may read a session's notes: the team's operators ([`team_reads`]); visitors, users and
/// the site get `forbidden`.
pub async fn check_reader(app: &App, actor: &Actor, session_id: &str) -> Result<()> {
    if !actor.role.is_operator() {
        return Err(ChatError::Forbidden("internal notes are for the team's operators only".into()));
    }
    check_id("roomId", session_id)?;
    if !team_reads(app, actor, session_id).await? {
        return Err(ChatError::NotMember(session_id.to_string()));
    }
    Ok(())
}

/// Stores a note (or finds the one its clientId created); with the session's visitor.
pub async fn persist(app: &App, actor: &Actor, o: Outgoing) -> Result<(Appended, String)> {
    let visitor = check_operator(app, actor, &o.room_id).await?;
    check_id("clientId", &o.client_id)?;
    check_content(&o.content)?;
    if !o.attachments.is_empty() || o.meta.is_some() || o.reply_to.is_some() {
        return Err(ChatError::invalid("kind", "a note is text only (no attachments, meta or replyTo)"));
    }
    let stream = stream(&o.room_id);
    // The newest note as the hint (one small consistent query); the store finds the real
    // newest if another note got there first.
    let hint = app.store.messages_before(&stream, None, 1).await?.first().map_or(0, |m| m.seq);
    let now = app.now();
    let appended = app
        .store
        .append_message(
            NewMessage {
                room_id: stream,
                client_id: o.client_id,
                id: ids::ulid(now),
                sender_id: actor.user_id.clone(),
                sender_name: actor.name.clone(),
                kind: MessageKind::Note,
                content: o.content,
                reply_to: None,
                attachments: Vec::new(),
                meta: None,
                created_at: now,
            },
            hint,
        )
        .await?;
    let appended = match appended {
        Appended::Created(m) => Appended::Created(shown(m)),
        Appended::Duplicate(m) => Appended::Duplicate(shown(m)),
    };
    Ok((appended, visitor))
}

/// A new note to the session's live connections but the visitor's (and `except`, the sender's).
pub async fn broadcast(app: &App, note: &Message, visitor: &str, except: Option<&str>) {
    let frame = ServerFrame::MessageNew { message: note.clone() };
    app.fanout_room(&note.room_id, &frame, except, Some(visitor)).await;
}

/// The newest notes of a session, for the operator taking it over (newest first).
pub async fn newest(app: &App, session_id: &str, limit: u32) -> Vec<Message> {
    match app.store.messages_before(&stream(session_id), None, limit).await {
        Ok(m) => m.into_iter().map(shown).collect(),
        Err(e) => {
            tracing::warn!(session_id, error = %e, "cannot read the session's notes");
            Vec::new()
        }
    }
}
