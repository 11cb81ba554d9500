//! Runs on an EventBridge schedule (`SweepSchedule`): connections that stopped sending heartbeats
//! are cleaned up, their users announced offline, their sockets closed. Rules:
//! `chat::heartbeat`.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_, _, app) = handlers::boot().await?;
    let schedule = std::env::var("SWEEP_SCHEDULE").unwrap_or_else(|_| "rate(1 minute)".into());
    let period = chat::heartbeat::rate_seconds(&schedule).ok_or_else(|| format!("SWEEP_SCHEDULE={schedule} is not rate(N unit)"))?;
    run(service_fn(|event: LambdaEvent<CloudWatchEvent>| handlers::sweep(&app, period, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};
    use chat::model::{ConnectionRecord, Role};
    use chat::store::ConnectionStore;

    /// The sample scheduled event runs a sweep: a connection silent for 3 intervals is closed,
    /// one that keeps beating is not.
    #[tokio::test]
    async fn the_sample_schedule_event_sweeps_silent_connections() {
        let e: CloudWatchEvent = serde_json::from_str(include_str!("../../../events/schedule/sweep.json")).unwrap();
        let MemoryApp { app, store, notifier, clock } = memory_app(1_000_000_000, ChatConfig::default());
        for (c, u) in [("quiet", "q"), ("alive", "a"), ("ghost", "g")] {
            store
                .put_connection(&ConnectionRecord {
                    connection_id: c.into(),
                    user_id: u.into(),
                    name: None,
                    role: Role::User,
                    connected_at: chat::clock::Clock::now_ms(clock.as_ref()),
                    expires_at: u64::MAX,
                })
                .await
                .unwrap();
            app.attach(u, None, c).await.unwrap();
            app.beat(c, u).await.unwrap();
        }
        // A cleanup that died half-way: the row is gone, the user still holds the id.
        store.delete_connection("ghost").await.unwrap();
        // Every 30 s the live one beats; every minute the schedule runs.
        for i in 0..10 {
            clock.advance(30_000);
            app.beat("alive", "a").await.unwrap();
            if i % 2 == 1 {
                handlers::sweep(&app, 60, e.clone()).await.unwrap();
            }
        }
        assert!(store.get_connection("quiet").await.unwrap().is_none(), "swept");
        assert!(notifier.closed().contains(&"quiet".to_string()), "its socket was closed");
        assert!(store.get_connection("alive").await.unwrap().is_some());
        let users = store.get_users(&["g".to_string(), "a".to_string()]).await.unwrap();
        let conns = |id: &str| users.iter().find(|u| u.user_id == id).map(|u| u.conns.len());
        assert_eq!((conns("g"), conns("a")), (Some(0), Some(1)), "the ghost id is detached, the live one kept");
    }
}
