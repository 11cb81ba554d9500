//! `room.mute {roomId, muted}`: the caller mutes a room (no Web Push for it; messages still
//! arrive on live sockets) or unmutes it. One conditional write on the caller's member row (it is
//! the membership check), answered with `room.updated`.

use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::protocol::{RoomMute, ServerFrame};

pub async fn apply(app: &App, caller: &Caller, f: RoomMute) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    let me = app.store.set_muted(&f.room_id, &caller.user_id, f.muted).await?.ok_or_else(|| ChatError::NotMember(f.room_id.clone()))?;
    let room = app.store.get_room(&f.room_id).await?.ok_or_else(|| ChatError::NotMember(f.room_id.clone()))?;
    app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: room.view(&me) }).await;
    Ok(())
}
