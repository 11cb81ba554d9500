//! Flood limits: one connection must not be able to take the capacity everyone shares.
//!
//! API Gateway has no per-connection limit (its throttling is per stage and route, for everyone
//! at once), and it invokes the function for every frame. So the function counts:
//!
//! - every frame but `ping`, per connection per [`FRAME_WINDOW_SECS`] window: one unconditional
//!   UpdateItem in `LimitsTable` (1 WCU, made while the connection row is read, so it adds no
//!   latency). Past [`FRAMES_PER_WINDOW`] a frame is answered `rate_limited` and not applied; the
//!   frame past [`FRAMES_BEFORE_CLOSE`] gets an error frame saying why, the connection is closed
//!   and its user gets a strike; frames after it are dropped unanswered.
//! - `ping` per heartbeat interval, in the heartbeat's own write (free): past
//!   [`PINGS_PER_INTERVAL`] `rate_limited`, past [`PINGS_BEFORE_CLOSE`] closed likewise.
//!
//! A user with strikes cannot reconnect for [`PENALTY_BASE_SECS`] after the last one, doubling with
//! each strike up to [`PENALTY_MAX_SECS`]; strikes are forgotten an hour after the last
//! (`$connect` answers 429 meanwhile). A counter that cannot be written lets the frame through
//! (availability first; the stage's throttling still bounds everyone).

use crate::app::{App, Caller};
use crate::error::{ChatError, Result};

/// The window frames are counted in.
pub const FRAME_WINDOW_SECS: u64 = 10;
/// Frames (but pings) a connection may send per window by default (the template's
/// `MaxFramesPer10Seconds`); more are answered `rate_limited`. A person typing, reading and
/// sending in several busy rooms sends a few per second at most.
pub const FRAMES_PER_WINDOW: u64 = 100;
/// Past this many frames in a window (twice the limit) the connection is closed.
pub const FRAMES_BEFORE_CLOSE: u64 = 200;
/// Pings (heartbeats, the `$connect` one included) per heartbeat interval; clients send one.
pub const PINGS_PER_INTERVAL: u64 = 10;
/// Past this many pings in an interval the connection is closed.
pub const PINGS_BEFORE_CLOSE: u64 = 30;
/// A user cut off for flooding may reconnect after this many seconds, doubled per further strike.
pub const PENALTY_BASE_SECS: u64 = 30;
pub const PENALTY_MAX_SECS: u64 = 900;
/// Strikes are forgotten this long after the last one.
pub const STRIKES_KEPT_SECS: u64 = 3600;

/// What to do with a frame, by how many the connection sent in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer `rate_limited`, do not apply it.
    Limit,
    /// The first frame past the hard bound: say why, close, strike.
    CutOff,
    /// Past the hard bound already: the connection is being closed; drop it.
    Drop,
}

pub fn verdict(count: u64, soft: u64, hard: u64) -> Verdict {
    match count {
        c if c <= soft => Verdict::Pass,
        c if c <= hard => Verdict::Limit,
        c if c == hard + 1 => Verdict::CutOff,
        _ => Verdict::Drop,
    }
}

/// How long a user with `strikes` strikes waits before reconnecting.
pub fn penalty_secs(strikes: u32) -> u64 {
    let doublings = strikes.saturating_sub(1).min(16);
    (PENALTY_BASE_SECS << doublings).min(PENALTY_MAX_SECS)
}

fn frames_key(connection_id: &str, window: u64) -> String {
    format!("f#{connection_id}#{window}")
}

fn strikes_key(user_id: &str) -> String {
    format!("p#{user_id}")
}

impl App {
    /// Counts a frame (not a ping) of the connection in the current window; returns the count.
    pub async fn count_frame(&self, connection_id: &str) -> Result<u64> {
        let window = self.now() / 1000 / FRAME_WINDOW_SECS;
        self.store.count(&frames_key(connection_id, window), (window + 2) * FRAME_WINDOW_SECS).await
    }

    /// How long (ms) the user must still wait before connecting again; `None`: they may now.
    pub async fn reconnect_wait(&self, user_id: &str) -> Result<Option<u64>> {
        let now = self.now();
        let Some(s) = self.store.strikes(&strikes_key(user_id), now / 1000).await? else { return Ok(None) };
        let until = s.last_at + penalty_secs(s.count) * 1000;
        Ok((until > now).then(|| until - now))
    }

    /// Cuts off a connection that flooded: an error frame says why and when to come back, the
    /// connection is closed (its `$disconnect` cleans up), its user gets a strike.
    pub async fn cut_off(&self, caller: &Caller, what: &str, count: u64, limit: u64, per: &str) {
        let now = self.now();
        let strikes = match self.store.strike(&strikes_key(&caller.user_id), now, now / 1000 + STRIKES_KEPT_SECS).await {
            Ok(s) => s.count,
            Err(e) => {
                tracing::warn!(user_id = %caller.user_id, error = %e, "cannot record a flood strike");
                1
            }
        };
        let wait = penalty_secs(strikes);
        let e =
            ChatError::RateLimited(format!("{count} {what} {per}; the limit is {limit}: this connection is closed, reconnect in {wait} s"));
        tracing::warn!(connection_id = %caller.connection_id, user_id = %caller.user_id, count, what, strikes, "flood: connection closed");
        self.reply_error(&caller.connection_id, &caller.request_id, &e, Default::default()).await;
        if let Err(e) = self.notifier.close(&caller.connection_id).await {
            tracing::warn!(connection_id = %caller.connection_id, error = ?e, "cannot close a flooding connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_and_penalties() {
        assert_eq!(verdict(1, 100, 200), Verdict::Pass);
        assert_eq!(verdict(100, 100, 200), Verdict::Pass);
        assert_eq!(verdict(101, 100, 200), Verdict::Limit);
        assert_eq!(verdict(200, 100, 200), Verdict::Limit);
        assert_eq!(verdict(201, 100, 200), Verdict::CutOff);
        assert_eq!(verdict(202, 100, 200), Verdict::Drop);
        assert_eq!((penalty_secs(1), penalty_secs(2), penalty_secs(3), penalty_secs(10), penalty_secs(u32::MAX)), (30, 60, 120, 900, 900));
    }
}
