//! `presence.query`: every member of a room, online or not, with when they were last seen.

use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::Result;
use crate::protocol::{PresenceEntry, PresenceQuery, ServerFrame};

pub async fn apply(app: &App, caller: &Caller, f: PresenceQuery) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    let members = app.members_checked(&f.room_id, &caller.user_id).await?;
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = app.store.get_users(&ids).await?;
    let entries = members
        .into_iter()
        .map(|m| {
            let u = users.iter().find(|u| u.user_id == m.user_id);
            PresenceEntry {
                online: u.is_some_and(|u| !u.conns.is_empty()),
                last_seen: u.and_then(|u| u.last_seen),
                name: u.and_then(|u| u.name.clone()).or(m.name),
                user_id: m.user_id,
                role: m.role,
            }
        })
        .collect();
    app.reply(caller, &ServerFrame::PresenceList { reference: f.reference, room_id: f.room_id, users: entries }).await;
    Ok(())
}
