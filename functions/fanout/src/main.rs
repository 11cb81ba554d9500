//! Runs work handed over through `FanoutTopic` (SNS): the rest of a big room's fan-out, in
//! batches, and presence announcements. Rules: `chat::app::App::run_task`.

use aws_lambda_events::event::sns::SnsEvent;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_, _, app) = handlers::boot().await?;
    run(service_fn(|event: LambdaEvent<SnsEvent>| handlers::tasks(&app, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};
    use chat::model::RoomConn;

    /// The sample SNS event carries a `deliver` task: its frame reaches the listed connections.
    #[tokio::test]
    async fn the_sample_task_event_is_run() {
        let e: SnsEvent = serde_json::from_str(include_str!("../../../events/sns/fanout-deliver.json")).unwrap();
        let MemoryApp { app, store, notifier, .. } = memory_app(0, ChatConfig::default());
        use chat::store::ConnectionStore;
        store
            .register_connections(&[RoomConn {
                room_id: "r".into(),
                connection_id: "c1".into(),
                user_id: "u1".into(),
                expires_at: u64::MAX,
            }])
            .await
            .unwrap();
        handlers::tasks(&app, e).await.unwrap();
        assert_eq!(notifier.frames("c1")[0]["type"], "message.new");
        assert_eq!(notifier.frames("c2")[0]["type"], "message.new");
    }
}
