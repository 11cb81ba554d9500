//! `message.send`: persist first (exactly once per clientId), then ack the sender and fan out.

use super::{check_content, check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{Appended, CursorKind, NewMessage};
use crate::protocol::{MessageKind, MessageSend, ServerFrame};

pub async fn apply(app: &App, caller: &Caller, f: MessageSend) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    check_id("clientId", &f.client_id)?;
    check_content(&f.content)?;
    if f.kind == MessageKind::System {
        return Err(ChatError::invalid("kind", "system messages are sent by the server only"));
    }
    if f.reply_to == Some(0) {
        return Err(ChatError::invalid("replyTo", "replyTo is the seq of a message (1 or more)"));
    }
    let members = app.members_checked(&f.room_id, &caller.user_id).await?;
    let now = app.now();
    let appended = app
        .store
        .append_message(NewMessage {
            room_id: f.room_id.clone(),
            client_id: f.client_id.clone(),
            id: ids::ulid(now),
            sender_id: caller.user_id.clone(),
            sender_name: caller.name.clone(),
            kind: f.kind,
            content: f.content,
            reply_to: f.reply_to,
            meta: None,
            created_at: now,
        })
        .await?;
    let duplicate = matches!(appended, Appended::Duplicate(_));
    let message = appended.message().clone();
    if !duplicate {
        // Writing in a room reads it: everything up to one's own message is no longer unread, so
        // the unread count (lastSeq - readSeq) only ever counts messages from others. Done before
        // the ack, so that once a client has its ack, its unread counts agree.
        if let Err(e) = app.store.advance_cursor(&f.room_id, &caller.user_id, CursorKind::Read, message.seq).await {
            tracing::warn!(room_id = %f.room_id, error = %e, "cannot move the sender's read cursor");
        }
    }
    app.reply(caller, &ServerFrame::Ack { reference: f.reference, client_id: f.client_id, message: message.clone(), duplicate }).await;
    if duplicate {
        // Created and broadcast by the first attempt: a retry creates and broadcasts nothing.
        return Ok(());
    }
    let frame = ServerFrame::MessageNew { message };
    app.fanout(members.iter().map(|m| m.user_id.as_str()), &frame, Some(&caller.connection_id)).await;
    Ok(())
}
