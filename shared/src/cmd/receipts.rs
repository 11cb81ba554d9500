//! `read` / `delivered`: move the member's cursor forward only (never past the room's last
//! message) and tell the room.

use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::model::CursorKind;
use crate::protocol::{Cursor, ServerFrame};

/// `read`: the member read up to `seq`.
pub async fn read(app: &App, caller: &Caller, f: Cursor) -> Result<()> {
    advance(app, caller, f, CursorKind::Read).await
}

/// `delivered`: the member's device received up to `seq`.
pub async fn delivered(app: &App, caller: &Caller, f: Cursor) -> Result<()> {
    advance(app, caller, f, CursorKind::Delivered).await
}

async fn advance(app: &App, caller: &Caller, f: Cursor, kind: CursorKind) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    if f.seq == 0 {
        return Err(ChatError::invalid("seq", "seq is the seq of a message (1 or more)"));
    }
    let Some(room) = app.store.get_room(&f.room_id).await? else {
        return Err(ChatError::NotMember(f.room_id));
    };
    let seq = f.seq.min(room.last_seq);
    if seq == 0 {
        // Nothing to read yet; still only for members.
        app.member_checked(&f.room_id, &caller.user_id).await?;
        return Ok(());
    }
    let moved = app.store.advance_cursor(&f.room_id, &caller.user_id, kind, seq).await?;
    if !moved {
        return Ok(());
    }
    let (room_id, user_id) = (f.room_id.clone(), caller.user_id.clone());
    let frame = match kind {
        CursorKind::Read => ServerFrame::Read { room_id, user_id, seq },
        CursorKind::Delivered => ServerFrame::Delivered { room_id, user_id, seq },
    };
    app.fanout_room(&f.room_id, &frame, Some(&caller.connection_id), None).await;
    Ok(())
}
