//! `ping`: the heartbeat (see [`crate::heartbeat`]), counted against the connection's ping
//! limits (see [`crate::limits`]).

use super::check_ref;
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::protocol::{Ping, ServerFrame};

/// The heartbeat: records that the connection is alive (see [`crate::heartbeat`]); any frame
/// also resets API Gateway's 10-minute idle timeout.
pub async fn apply(app: &App, caller: &Caller, f: Ping) -> Result<()> {
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
