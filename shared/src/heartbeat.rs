//! Heartbeats: clients send `ping` every `HeartbeatSeconds` (the `pong` says how often); each
//! ping writes one ~60-byte item — "this connection was alive in interval *j*" — to `BeatsTable`,
//! spread over [`BEAT_SHARDS`] partitions per interval. The scheduled `sweeper` function reads the
//! intervals that just became old enough: a connection that beat in interval *j* and in none of
//! the [`MISSED_BEATS`] intervals after it is dead (a crashed phone, a lost network: API Gateway
//! would keep it "connected" for up to 10 idle minutes). The sweeper deletes it, announces its
//! user offline if it was their last connection, and closes the socket.
//!
//! No scan, no index: each sweep reads a fixed number of partitions, and a heartbeat costs one
//! small PutItem — no update of the connection row and no index write.

use crate::app::App;
use crate::error::Result;
use crate::model::{beat_shard, Beat, BEAT_SHARDS};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A connection is dead after this many heartbeat intervals without one.
pub const MISSED_BEATS: u64 = 3;

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Intervals examined.
    pub buckets: usize,
    /// Connections found without heartbeats that still had a row.
    pub swept: usize,
}

/// `rate(N unit)` → seconds (EventBridge's syntax; the local platform also takes `second(s)`).
pub fn rate_seconds(expr: &str) -> Option<u64> {
    let inner = expr.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.trim().parse().ok().filter(|n| *n > 0)?;
    let per = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(n * per)
}

impl App {
    /// The heartbeat interval a time falls in.
    pub fn beat_bucket(&self, now_ms: u64) -> u64 {
        now_ms / 1000 / self.cfg.heartbeat_secs.max(1)
    }

    /// Records a heartbeat of the connection (on `$connect` and every `ping`); returns how many
    /// it recorded for the connection in this interval.
    pub async fn beat(&self, connection_id: &str, user_id: &str) -> Result<u64> {
        let bucket = self.beat_bucket(self.now());
        let h = self.cfg.heartbeat_secs.max(1);
        let beat = Beat {
            bucket,
            shard: beat_shard(connection_id),
            connection_id: connection_id.to_string(),
            user_id: user_id.to_string(),
            // Long enough for every sweep that may still read it.
            expires_at: (bucket + 4 * MISSED_BEATS + 10) * h + 3600,
        };
        self.store.beat(&beat).await
    }

    /// One sweep: every interval *j* that became decidable since the previous run (`period_secs`
    /// apart, with one interval of overlap) — connections that beat in *j* but not in the
    /// [`MISSED_BEATS`] intervals after it and still have a row are cleaned up and closed.
    pub async fn sweep(&self, period_secs: u64) -> SweepReport {
        let h = self.cfg.heartbeat_secs.max(1);
        let current = self.beat_bucket(self.now());
        // Interval j is decidable once j + MISSED_BEATS has ended.
        let Some(newest) = current.checked_sub(MISSED_BEATS + 1) else { return SweepReport::default() };
        let count = period_secs.div_ceil(h) + 1;
        let oldest = newest.saturating_sub(count - 1);
        let mut report = SweepReport { buckets: (newest - oldest + 1) as usize, ..Default::default() };
        let mut seen: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        for bucket in oldest..=newest + MISSED_BEATS {
            let mut all = Vec::new();
            for shard in 0..BEAT_SHARDS {
                match self.store.beats(bucket, shard).await {
                    Ok(b) => all.extend(b),
                    Err(e) => {
                        tracing::error!(bucket, shard, error = %e, "sweep: cannot read heartbeats");
                        return report;
                    }
                }
            }
            seen.insert(bucket, all);
        }
        let mut dead: BTreeSet<(String, String)> = BTreeSet::new();
        for j in oldest..=newest {
            let later: HashSet<&str> = (j + 1..=j + MISSED_BEATS).flat_map(|k| seen[&k].iter().map(|(c, _)| c.as_str())).collect();
            for (c, u) in &seen[&j] {
                if !later.contains(c.as_str()) {
                    dead.insert((u.clone(), c.clone()));
                }
            }
        }
        if dead.is_empty() {
            return report;
        }
        // Most of them closed properly ($disconnect removed their row): only the rest are dead.
        let ids: Vec<String> = dead.iter().map(|(_, c)| c.clone()).collect();
        let alive = match self.store.existing_connections(&ids).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "sweep: cannot check connections");
                return report;
            }
        };
        type Conns = Vec<(String, String)>;
        let (gone, rowless): (Conns, Conns) = dead.into_iter().partition(|(_, c)| alive.contains(c));
        // A connection whose row is gone but whose id its user still holds: a cleanup (after
        // `$disconnect`, a 410 or a sweep) that died between deleting the row and detaching the
        // id. Without this the user would stay "online" until their next `$connect`.
        self.detach_leftovers(rowless).await;
        report.swept = gone.len();
        if gone.is_empty() {
            return report;
        }
        tracing::info!(count = gone.len(), "sweep: connections without heartbeats");
        let conns: Vec<String> = gone.iter().map(|(_, c)| c.clone()).collect();
        // Whatever their age: a connection that stopped beating for 3 intervals is past its handshake.
        self.cleanup_connections(gone, true, 0).await;
        for c in conns {
            // Close the socket too: if the client is still there after all, it reconnects.
            let _ = self.notifier.close(&c).await;
        }
        report
    }
}

impl App {
    /// Detaches ids their users still hold though their rows are gone; announces users left
    /// without connections.
    async fn detach_leftovers(&self, rowless: Vec<(String, String)>) {
        if rowless.is_empty() {
            return;
        }
        let users: Vec<String> = rowless.iter().map(|(u, _)| u.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let held = match self.store.get_users(&users).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "sweep: cannot read users");
                return;
            }
        };
        let now = self.now();
        for u in held {
            let stale: Vec<String> =
                rowless.iter().filter(|(uid, c)| uid == &u.user_id && u.conns.contains(c)).map(|(_, c)| c.clone()).collect();
            if stale.is_empty() {
                continue;
            }
            tracing::info!(user_id = %u.user_id, count = stale.len(), "sweep: ids without rows detached");
            let _ = self.unregister_everywhere(&u.user_id, &stale).await;
            match self.store.detach_connections(&u.user_id, &stale, now).await {
                Ok(d) if d.went_offline() => self.announce_presence(&u.user_id, false, Some(now), true).await,
                Ok(_) => {}
                Err(e) => tracing::warn!(user_id = %u.user_id, error = %e, "sweep: cannot detach"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(rate_seconds("rate(1 minute)"), Some(60));
        assert_eq!(rate_seconds("rate(5 minutes)"), Some(300));
        assert_eq!(rate_seconds("rate(2 seconds)"), Some(2));
        assert_eq!(rate_seconds("cron(0 * * * ? *)"), None);
    }
}
