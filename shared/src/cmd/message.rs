//! `message.edit` and `message.delete`: own messages only; delete leaves a tombstone. Both give the
//! message a new room version (so `sync` finds changes made while a client was away) and go to
//! every member.

use super::{check_content, check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::model::MessageChange;
use crate::protocol::{MessageDelete, MessageEdit, ServerFrame};

pub async fn edit(app: &App, caller: &Caller, f: MessageEdit) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    check_content(&f.content)?;
    change(app, caller, &f.room_id, f.seq, MessageChange::Edit(f.content), f.reference).await
}

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
