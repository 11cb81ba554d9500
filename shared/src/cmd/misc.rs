//! `ping` and `presence.query`.

use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::protocol::{Ping, PresenceEntry, PresenceQuery, ServerFrame};

/// The heartbeat: records that the connection is alive (see [`crate::heartbeat`]); any frame
/// also resets API Gateway's 10-minute idle timeout.
pub async fn ping(app: &App, caller: &Caller, f: Ping) -> Result<()> {
    use crate::limits::{verdict, Verdict};
    check_ref(&f.reference)?;
    let beats = app.beat(&caller.connection_id, &caller.user_id).await?;
    let (soft, hard) = (app.cfg.pings_per_interval, app.cfg.pings_before_close);
    match verdict(beats, soft, hard) {
        Verdict::Pass => {}
        Verdict::Limit => {
            return Err(ChatError::RateLimited(format!(
                "more than {soft} pings in {} s: ping once per interval (pong.heartbeatSeconds)",
                app.cfg.heartbeat_secs
            )));
        }
        Verdict::CutOff => {
            app.cut_off(caller, "pings", beats, hard, &format!("in {} s", app.cfg.heartbeat_secs)).await;
            return Ok(());
        }
        Verdict::Drop => return Ok(()),
    }
    app.reply(caller, &ServerFrame::Pong { reference: f.reference, time: app.now(), heartbeat_seconds: app.cfg.heartbeat_secs }).await;
    Ok(())
}

pub async fn presence_query(app: &App, caller: &Caller, f: PresenceQuery) -> Result<()> {
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
