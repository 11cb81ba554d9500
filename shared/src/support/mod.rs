//! The support desk's shared machinery: the channels operators and waiting visitors listen on, the
//! queue's broadcast and estimate, and the desk's part in a connection's life ([`SupportDesk`], a
//! [`Feature`] of the delivery layer). The actions — `support.start`, `support.queue`,
//! `session.accept|transfer|close|rate` — are in `crate::cmd::support`.
//!
//! Who hears what: operators' connections are registered in the channel [`OPS_CHANNEL`] of
//! `RoomConnsTable` (on `$connect`), waiting visitors' connections in [`WAITING_CHANNEL`] (on
//! `support.start`), so a queue change costs one Query of the queue index and one Query per
//! channel, whatever the number of sessions. The count of online operators is the number of
//! distinct users in the operators' channel (one Query, never a scan).

pub mod replies;
pub mod reports;
pub mod visitors;

use crate::app::{App, FanoutReport, Feature};
use crate::error::{ChatError, Result};
use crate::model::{ConnectionRecord, RoomConn};
use crate::protocol::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// `RoomConnsTable` partition of operators' live connections.
pub const OPS_CHANNEL: &str = "support#operators";
/// `RoomConnsTable` partition of waiting visitors' live connections.
pub const WAITING_CHANNEL: &str = "support#waiting";
/// `RoomConnsTable` partition of the live connections of operators who set themselves away: they
/// hear the queue but are not counted online, not assigned sessions, not transferred to.
pub const AWAY_CHANNEL: &str = "support#away";
pub const CHANNELS: [&str; 3] = [OPS_CHANNEL, WAITING_CHANNEL, AWAY_CHANNEL];

/// Waits the estimate is the median of.
pub const RECENT_WAITS: usize = 20;
/// The estimate per position while no session was ever accepted.
pub const FALLBACK_WAIT_SECS: u64 = 60;
/// Entries of `queue.updated` at most (the oldest); `total` in `operatorsOnline`'s frame says how
/// many wait in all. Keeps the frame far below 128 KB.
pub const MAX_QUEUE_ENTRIES: usize = 200;
/// The `task` of the queue broadcast handed to the fanout function.
pub const QUEUE_TASK: &str = "queue";

/// The support desk as the delivery layer sees it: its channels, an operator's `$connect` and
/// any `$disconnect`, and the queue broadcast task.
pub struct SupportDesk;

#[async_trait::async_trait]
impl Feature for SupportDesk {
    fn channels(&self) -> &'static [&'static str] {
        &CHANNELS
    }

    async fn connected(&self, app: &App, conn: &ConnectionRecord, came_online: bool) -> Result<()> {
        if conn.role.is_operator() {
            operator_connected(app, &conn.user_id, &conn.connection_id, came_online).await?;
        }
        Ok(())
    }

    async fn disconnected(&self, app: &App, conn: &ConnectionRecord, went_offline: bool) -> Result<()> {
        connection_closed(app, conn, went_offline).await
    }

    async fn run_task(&self, app: &App, task: &str, body: &serde_json::Map<String, serde_json::Value>) -> Option<FanoutReport> {
        if task != QUEUE_TASK {
            return None;
        }
        match serde_json::from_value::<QueueChange>(serde_json::Value::Object(body.clone())) {
            Ok(c) => Some(broadcast_queue_now(app, &c.removed, c.added.as_ref()).await),
            Err(e) => {
                tracing::error!(error = %e, "a queue task is not valid");
                Some(FanoutReport { failed: 1, ..Default::default() })
            }
        }
    }
}

/// The support queue changed: `removed` / `added` is the change that caused it, applied to the
/// queue as read (its index is eventually consistent and may not show the change yet).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueChange {
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    added: Option<SupportSession>,
}

/// The online operators who are available (distinct users of the operators' channel; away
/// operators' connections are in [`AWAY_CHANNEL`]).
pub async fn online_operators(app: &App) -> Result<Vec<String>> {
    let conns = app.store.room_connections(OPS_CHANNEL).await?;
    Ok(conns.into_iter().map(|c| c.user_id).collect::<BTreeSet<_>>().into_iter().collect())
}

/// Seconds a visitor at `position` is told to expect: the median of the last [`RECENT_WAITS`]
/// accepted sessions' waits (each one ahead in the queue adds one such wait), or
/// [`FALLBACK_WAIT_SECS`] per position before any session was accepted.
pub fn estimate(recent_waits_ms: &[u64], position: u32) -> u64 {
    let per = if recent_waits_ms.is_empty() {
        FALLBACK_WAIT_SECS
    } else {
        let mut w = recent_waits_ms.to_vec();
        w.sort_unstable();
        let mid = w.len() / 2;
        let median_ms = if w.len().is_multiple_of(2) { (w[mid - 1] + w[mid]) / 2 } else { w[mid] };
        median_ms.div_ceil(1000).max(1)
    };
    per * position.max(1) as u64
}

pub(crate) fn queue_frame(reference: Option<String>, queue: &[SupportSession], operators_online: u32, waits: &[u64]) -> ServerFrame {
    ServerFrame::QueueUpdated {
        reference,
        queue: queue
            .iter()
            .take(MAX_QUEUE_ENTRIES)
            .map(|s| QueueEntry {
                session_id: s.session_id.clone(),
                visitor: s.visitor.clone(),
                since: s.created_at,
                first_message: s.first_message.clone(),
                page_url: s.context.url.clone(),
            })
            .collect(),
        total: queue.len() as u32,
        operators_online,
        estimated_wait_seconds: estimate(waits, queue.len() as u32 + 1),
    }
}

/// Applies a change the queue index may not show yet.
pub(crate) fn adjust(queue: &mut Vec<SupportSession>, removed: &[String], added: Option<&SupportSession>) {
    queue.retain(|s| !removed.contains(&s.session_id));
    if let Some(a) = added {
        if !queue.iter().any(|s| s.session_id == a.session_id) {
            queue.push(a.clone());
            queue.sort_by(|x, y| (x.created_at, &x.session_id).cmp(&(y.created_at, &y.session_id)));
        }
    }
}

/// The queue changed: hand the broadcast over (it posts to every waiting visitor and operator),
/// or run it here without a task queue.
pub async fn queue_changed(app: &App, removed: &[String], added: Option<&SupportSession>) {
    if let Some(q) = &app.tasks {
        let body = serde_json::to_value(QueueChange { removed: removed.to_vec(), added: added.cloned() }).expect("serializes");
        let serde_json::Value::Object(body) = body else { unreachable!("a struct is an object") };
        match q.enqueue(vec![crate::tasks::Task::Feature { task: QUEUE_TASK.into(), body }]).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot hand the queue broadcast over: running it here"),
        }
    }
    broadcast_queue_now(app, removed, added).await;
}

/// `queue.position` to every waiting visitor's connection, `queue.updated` to every operator's.
pub async fn broadcast_queue_now(app: &App, removed: &[String], added: Option<&SupportSession>) -> FanoutReport {
    let read = async {
        let mut queue = app.store.queue().await?;
        adjust(&mut queue, removed, added);
        let ops = app.store.room_connections(OPS_CHANNEL).await?;
        let away = app.store.room_connections(AWAY_CHANNEL).await?;
        let visitors = app.store.room_connections(WAITING_CHANNEL).await?;
        let waits = app.store.recent_waits(RECENT_WAITS).await?;
        Ok::<_, ChatError>((queue, ops, away, visitors, waits))
    };
    let (queue, ops, away, visitors, waits) = match read.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "queue broadcast: cannot read the queue");
            return FanoutReport { failed: 1, ..Default::default() };
        }
    };
    let online = ops.iter().map(|c| c.user_id.as_str()).collect::<BTreeSet<_>>().len() as u32;
    use crate::metrics::{emit, Unit};
    let longest = queue.first().map_or(0, |s| app.now().saturating_sub(s.created_at));
    emit(
        app.now(),
        &[
            ("QueueLength", Unit::Count, queue.len() as f64),
            ("QueueLongestWaitMs", Unit::Milliseconds, longest as f64),
            ("OperatorsOnline", Unit::Count, f64::from(online)),
        ],
        &[],
    );
    let position: HashMap<&str, (u32, &str)> =
        queue.iter().enumerate().map(|(i, s)| (s.visitor.user_id.as_str(), (i as u32 + 1, s.session_id.as_str()))).collect();
    let mut posts = Vec::with_capacity(ops.len() + visitors.len());
    let ops_frame = Arc::new(queue_frame(None, &queue, online, &waits).to_json());
    for c in ops.into_iter().chain(away) {
        posts.push(((c.user_id, c.connection_id), ops_frame.clone()));
    }
    for c in visitors {
        if let Some((p, sid)) = position.get(c.user_id.as_str()) {
            let f = ServerFrame::QueuePosition {
                session_id: sid.to_string(),
                position: *p,
                estimated_wait_seconds: estimate(&waits, *p),
                operators_online: online,
            };
            posts.push(((c.user_id, c.connection_id), Arc::new(f.to_json())));
        }
    }
    app.post_each(posts, true).await
}

/// `$connect` of an operator: their console hears the queue (in the away channel if they set
/// themselves away, on any device before).
async fn operator_connected(app: &App, user_id: &str, connection_id: &str, came_online: bool) -> Result<()> {
    let until = app.now() / 1000 + crate::app::CONNECTION_TTL_SECS;
    let away = app.store.away_operators(&[user_id.to_string()]).await?.contains(user_id);
    app.store
        .register_connections(&[RoomConn {
            room_id: (if away { AWAY_CHANNEL } else { OPS_CHANNEL }).into(),
            connection_id: connection_id.into(),
            user_id: user_id.into(),
            expires_at: until,
        }])
        .await?;
    if came_online && !away {
        // Waiting visitors see the team is back (and operators the new count).
        queue_changed(app, &[], None).await;
    }
    Ok(())
}

/// `$disconnect`: the connection leaves the support channel it was in (a visitor with a `user`
/// token waits like a guest does); when an operator went offline, the queue hears it.
async fn connection_closed(app: &App, rec: &ConnectionRecord, went_offline: bool) -> Result<()> {
    let channels: &[&str] = if rec.role.is_operator() { &[OPS_CHANNEL, AWAY_CHANNEL] } else { &[WAITING_CHANNEL] };
    let entries: Vec<(String, String)> = channels.iter().map(|c| (c.to_string(), rec.connection_id.clone())).collect();
    app.store.unregister_connections(&entries).await?;
    if went_offline && rec.role.is_operator() {
        queue_changed(app, &[], None).await;
    }
    Ok(())
}

/// An operator sets themselves online or away (kept for every device and the next `$connect`):
/// their live connections move to the matching channel, and the queue hears the new count.
pub async fn set_away(app: &App, operator_id: &str, away: bool) -> Result<()> {
    app.store.set_away(operator_id, away).await?;
    let conns: Vec<String> = app.store.get_users(&[operator_id.to_string()]).await?.into_iter().flat_map(|u| u.conns).collect();
    let (to, from) = if away { (AWAY_CHANNEL, OPS_CHANNEL) } else { (OPS_CHANNEL, AWAY_CHANNEL) };
    let until = app.now() / 1000 + crate::app::CONNECTION_TTL_SECS;
    let entries: Vec<RoomConn> = conns
        .iter()
        .map(|c| RoomConn { room_id: to.into(), connection_id: c.clone(), user_id: operator_id.into(), expires_at: until })
        .collect();
    app.store.register_connections(&entries).await?;
    app.store.unregister_connections(&conns.iter().map(|c| (from.to_string(), c.clone())).collect::<Vec<_>>()).await?;
    queue_changed(app, &[], None).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_the_median_wait_per_position_with_a_fallback() {
        assert_eq!(estimate(&[], 1), FALLBACK_WAIT_SECS);
        assert_eq!(estimate(&[], 3), 3 * FALLBACK_WAIT_SECS);
        assert_eq!(estimate(&[10_000, 30_000, 20_000], 1), 20);
        assert_eq!(estimate(&[10_000, 30_000, 20_000, 40_000], 2), 50);
        assert_eq!(estimate(&[1], 1), 1, "never zero");
    }
}
