//! Keeps the full-text index: fed by the Messages table's DynamoDB stream (new, edited and deleted
//! messages). Rules: `chat::search`.

use aws_lambda_events::event::dynamodb::Event;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_, _, app) = handlers::boot().await?;
    run(service_fn(|event: LambdaEvent<Event>| handlers::index(&app, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};

    /// The sample stream batch (an insert, then an edit that drops "refund") leaves postings for
    /// the edited text only.
    #[tokio::test]
    async fn the_sample_stream_event_is_indexed() {
        let e: Event = serde_json::from_str(include_str!("../../../events/stream/messages.json")).unwrap();
        assert_eq!(e.records.len(), 2);
        let MemoryApp { app, store, .. } = memory_app(0, ChatConfig::default());
        handlers::index(&app, e).await.unwrap();
        use chat::store::SearchStore;
        assert_eq!(store.search_room("or_sample", "parcel", &[], None, 10).await.unwrap().len(), 1);
        assert!(store.search_room("or_sample", "refund", &[], None, 10).await.unwrap().is_empty());
    }
}
