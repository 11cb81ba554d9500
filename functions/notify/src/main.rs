//! Sends Web Push to offline members: each `PushTopic` (SNS) record names users and a payload;
//! every browser subscription of those users gets it (encrypted, VAPID-signed), and the ones the
//! push service says are gone are removed. Rules: `chat::push::webpush`.

use aws_lambda_events::event::sns::SnsEvent;
use chat::handlers;
use chat::push::webpush::WebPushSender;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, sdk, app) = handlers::boot().await?;
    let sender = WebPushSender::new(handlers::vapid(&config, &sdk).await?, config.push_endpoints.clone())?;
    run(service_fn(|event: LambdaEvent<SnsEvent>| handlers::notify(&app, &sender, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};
    use chat::push::webpush::MemoryPushSender;
    use chat::push::PushSubscriptionRecord;
    use chat::store::PushStore;

    /// The sample SNS event carries a push batch for bob and carol: bob's two browsers get the
    /// payload, the one whose push service answers 410 is removed; carol has none.
    #[tokio::test]
    async fn the_sample_push_event_is_sent() {
        let e: SnsEvent = serde_json::from_str(include_str!("../../../events/sns/notify-push.json")).unwrap();
        let MemoryApp { app, store, .. } = memory_app(0, ChatConfig::default());
        // A browser's keys (P-256 point and auth secret), as `PushSubscription.toJSON()` gives them.
        let keys = ("BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY", "_ordMnz7uTCmrpBTeUV4Bw");
        for (i, endpoint) in ["https://push.example.net/live", "https://push.example.net/dead"].iter().enumerate() {
            let s = PushSubscriptionRecord {
                user_id: "bob".into(),
                id: chat::push::subscription_id(endpoint),
                endpoint: endpoint.to_string(),
                p256dh: keys.0.into(),
                auth: keys.1.into(),
                created_at: i as u64,
            };
            store.put_push_subscription(&s).await.unwrap();
        }
        let sender = MemoryPushSender::default();
        sender.mark_gone("https://push.example.net/dead");
        handlers::notify(&app, &sender, e).await.unwrap();
        let sent = sender.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].1["senderName"].as_str(), sent[0].1["preview"].as_str(), sent[0].1["roomTitle"].as_str()),
            (Some("Alice"), Some("Are you coming tonight?"), Some("Team"))
        );
        let left: Vec<String> = store.push_subscriptions("bob").await.unwrap().into_iter().map(|s| s.endpoint).collect();
        assert_eq!(left, ["https://push.example.net/live"]);
    }
}
