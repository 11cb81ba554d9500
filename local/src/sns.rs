//! The local twin of SNS → Lambda subscriptions: for each `Events: {Type: SNS}` of the template,
//! the gateway subscribes its own HTTP endpoint (`/_aws/sns/<Function>`) to the topic in the
//! emulator; each notification is answered at once and the function's real binary is invoked
//! asynchronously with the SNS event Lambda builds (`Records[].Sns`): retried twice on a function
//! error, and kept until it runs when throttled, as Lambda treats asynchronous invocations.
//!
//! A subscription is confirmed as SNS requires: its `SubscriptionConfirmation` is answered with
//! `ConfirmSubscription` (moto confirms HTTP subscriptions by itself; LocalStack and SNS do not),
//! and [`SnsSubscriptions::confirmed`] waits until no subscription of the gateway is pending.

use crate::lambda::FunctionPool;
use crate::log::LogSink;
use crate::template::SnsSourceSpec;
use axum::body::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Where the gateway receives the notifications of a function's subscription.
pub fn endpoint_path(function: &str) -> String {
    format!("/_aws/sns/{function}")
}

pub struct SnsSubscriptions {
    pools: BTreeMap<String, Arc<FunctionPool>>,
    /// Each function's dead-letter queue.
    dead_letters: BTreeMap<String, crate::dead_letter::DeadLetterTarget>,
    sources: Vec<SnsSourceSpec>,
    log: LogSink,
    /// The emulator's SNS (to confirm subscriptions), once subscribed.
    client: std::sync::OnceLock<aws_sdk_sns::Client>,
    /// The endpoints subscribed (`http://gateway/_aws/sns/<Function>`).
    endpoints: std::sync::Mutex<Vec<(String, String)>>,
}

impl SnsSubscriptions {
    pub fn new(
        sources: &[SnsSourceSpec],
        pools: BTreeMap<String, Arc<FunctionPool>>,
        dead_letters: BTreeMap<String, crate::dead_letter::DeadLetterTarget>,
        log: LogSink,
    ) -> SnsSubscriptions {
        SnsSubscriptions { pools, dead_letters, sources: sources.to_vec(), log, client: Default::default(), endpoints: Default::default() }
    }

    /// Subscribes `http://{gateway}/_aws/sns/<Function>` to each topic.
    pub async fn subscribe(&self, sns: &aws_sdk_sns::Client, gateway: &str) -> Result<(), String> {
        let _ = self.client.set(sns.clone());
        for s in &self.sources {
            let endpoint = format!("http://{gateway}{}", endpoint_path(&s.function));
            self.endpoints.lock().unwrap().push((s.topic_arn.clone(), endpoint.clone()));
            sns.subscribe()
                .topic_arn(&s.topic_arn)
                .protocol("http")
                .endpoint(&endpoint)
                .send()
                .await
                .map_err(|e| format!("Subscribe {} to {}: {}", s.function, s.topic_arn, aws_sdk_sns::error::DisplayErrorContext(&e)))?;
        }
        Ok(())
    }

    /// Answers a `SubscriptionConfirmation` with `ConfirmSubscription` (its topic and token).
    fn confirm(self: &Arc<Self>, function: &str, n: &Value) {
        let (Some(client), Some(topic), Some(token)) =
            (self.client.get().cloned(), n.get("TopicArn").and_then(Value::as_str), n.get("Token").and_then(Value::as_str))
        else {
            self.log.gateway(&format!("sns -> {function}: a subscription confirmation without topic or token"));
            return;
        };
        let (topic, token, log, function) = (topic.to_string(), token.to_string(), self.log.clone(), function.to_string());
        tokio::spawn(async move {
            match client.confirm_subscription().topic_arn(&topic).token(&token).send().await {
                Ok(_) => log.gateway(&format!("sns -> {function}: subscription to {topic} confirmed")),
                Err(e) => log.gateway(&format!(
                    "sns -> {function}: cannot confirm the subscription to {topic}: {}",
                    aws_sdk_sns::error::DisplayErrorContext(&e)
                )),
            }
        });
    }

    /// Waits until every subscription of the gateway is confirmed (no longer
    /// `PendingConfirmation`), at most `within`.
    pub async fn confirmed(&self, within: Duration) -> Result<(), String> {
        let Some(client) = self.client.get() else { return Ok(()) };
        let wanted = self.endpoints.lock().unwrap().clone();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let mut pending = Vec::new();
            for (topic, endpoint) in &wanted {
                let out = client
                    .list_subscriptions_by_topic()
                    .topic_arn(topic)
                    .send()
                    .await
                    .map_err(|e| format!("ListSubscriptionsByTopic {topic}: {}", aws_sdk_sns::error::DisplayErrorContext(&e)))?;
                let confirmed = out
                    .subscriptions()
                    .iter()
                    .any(|s| s.endpoint() == Some(endpoint.as_str()) && s.subscription_arn().is_some_and(|a| a.starts_with("arn:")));
                if !confirmed {
                    pending.push(format!("{endpoint} on {topic}"));
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("SNS subscriptions not confirmed within {within:?}: {}", pending.join(", ")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One notification POSTed by SNS for `function`.
    pub fn receive(self: &Arc<Self>, function: &str, body: &[u8]) -> Result<(), String> {
        let pool = self.pools.get(function).cloned().ok_or_else(|| format!("no SNS subscription for {function}"))?;
        let n: Value = serde_json::from_slice(body).map_err(|e| format!("not an SNS notification: {e}"))?;
        match n.get("Type").and_then(Value::as_str) {
            Some("Notification") => {}
            Some("SubscriptionConfirmation") => {
                self.confirm(function, &n);
                return Ok(());
            }
            _ => return Ok(()), // UnsubscribeConfirmation: nothing to do
        }
        let topic = n.get("TopicArn").and_then(Value::as_str).unwrap_or_default().to_string();
        let attributes: serde_json::Map<String, Value> = n
            .get("MessageAttributes")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), json!({ "Type": v.get("Type").cloned().unwrap_or(json!("String")), "Value": v.get("Value").cloned().unwrap_or(Value::Null) }))).collect())
            .unwrap_or_default();
        let event = json!({ "Records": [{
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic}:{}", crate::util::hex(&crate::util::random_bytes::<16>())),
            "EventSource": "aws:sns",
            "Sns": {
                "SignatureVersion": n.get("SignatureVersion").cloned().unwrap_or(json!("1")),
                "Timestamp": n.get("Timestamp").cloned().unwrap_or(Value::Null),
                "Signature": n.get("Signature").cloned().unwrap_or(json!("")),
                "SigningCertUrl": n.get("SigningCertURL").cloned().unwrap_or(json!("")),
                "MessageId": n.get("MessageId").cloned().unwrap_or(json!("")),
                "Message": n.get("Message").cloned().unwrap_or(json!("")),
                "MessageAttributes": attributes,
                "Type": "Notification",
                "UnsubscribeUrl": n.get("UnsubscribeURL").cloned().unwrap_or(json!("")),
                "TopicArn": topic,
                "Subject": n.get("Subject").cloned().unwrap_or(Value::Null),
            }
        }]});
        let payload = Bytes::from(serde_json::to_vec(&event).expect("events serialize"));
        let log = self.log.clone();
        let source = format!("sns -> {function}");
        let dead_letter = self.dead_letters.get(function).cloned();
        // Asynchronous invocation, as Lambda does it: retried twice, then to the dead-letter queue.
        tokio::spawn(async move { crate::dead_letter::invoke_async(&pool, payload, dead_letter.as_ref(), &log, &source).await });
        Ok(())
    }
}
