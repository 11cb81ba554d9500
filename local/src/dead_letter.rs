//! What Lambda does with asynchronous work that fails for good, played locally as AWS does it.
//!
//! - An asynchronous invocation (an SNS notification, a scheduled event) is tried three times
//!   (two retries); a throttled one waits and is tried again. After the third error its event
//!   goes to the function's dead-letter queue (`DeadLetterQueue: {Type: SQS}`), the body the event
//!   as it was, with the attributes `RequestID`, `ErrorCode` and `ErrorMessage`.
//! - A stream batch that still fails after its retries is skipped, and where it was (shard,
//!   sequence numbers) goes to the source's on-failure destination (`streams.rs`).
//!
//! The queues are the template's, created in the local services (`provision.rs`); `chatctl
//! redrive` replays them here as on AWS.

use crate::lambda::{FunctionPool, InvokeError};
use crate::log::LogSink;
use aws_sdk_sqs::types::MessageAttributeValue;
use axum::body::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The template's queues, by name, as the local services know them.
pub struct DeadLetters {
    sqs: aws_sdk_sqs::Client,
    urls: BTreeMap<String, String>,
}

impl DeadLetters {
    /// Looks up each queue's URL (they are created by `provision`).
    pub async fn resolve(sqs: aws_sdk_sqs::Client, names: &[String]) -> Result<Arc<DeadLetters>, String> {
        let mut urls = BTreeMap::new();
        for name in names {
            let out = sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| format!("GetQueueUrl {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            urls.insert(name.clone(), out.queue_url().unwrap_or_default().to_string());
        }
        Ok(Arc::new(DeadLetters { sqs, urls }))
    }

    /// Sends `body` to the queue `name`, with string attributes.
    pub async fn send(&self, name: &str, body: &str, attributes: &[(&str, String)]) -> Result<(), String> {
        let url = self.urls.get(name).ok_or_else(|| format!("no queue {name} in the template"))?;
        let mut req = self.sqs.send_message().queue_url(url).message_body(body);
        for (k, v) in attributes {
            let (ty, v) = if v.parse::<f64>().is_ok() { ("Number", v) } else { ("String", v) };
            let value = MessageAttributeValue::builder().data_type(ty).string_value(v).build().map_err(|e| e.to_string())?;
            req = req.message_attributes(*k, value);
        }
        req.send().await.map(|_| ()).map_err(|e| format!("SendMessage {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))
    }
}

/// Where an asynchronous invocation's event goes when it fails for good.
#[derive(Clone)]
pub struct DeadLetterTarget {
    pub letters: Arc<DeadLetters>,
    pub queue: String,
}

/// Runs one asynchronous invocation as Lambda does (with shorter waits): throttled, it waits and
/// is tried again; a function error is retried twice; then the event goes to `dead_letter` (or,
/// without one, is dropped, as on AWS). `source` names it in the log (`sns -> FanoutFunction`).
pub async fn invoke_async(pool: &Arc<FunctionPool>, payload: Bytes, dead_letter: Option<&DeadLetterTarget>, log: &LogSink, source: &str) {
    let (mut errors, mut throttles) = (0u32, 0u32);
    loop {
        let (result, report) = pool.invoke(payload.clone()).await;
        match result {
            Ok(_) => {
                log.gateway(&format!("{source} duration={:.1}ms ok", report.duration.as_secs_f64() * 1000.0));
                return;
            }
            Err(InvokeError::Throttled) => {
                throttles += 1;
                tokio::time::sleep(Duration::from_millis((50u64 << throttles.min(6)).min(2_000))).await;
            }
            Err(e) => {
                errors += 1;
                log.gateway(&format!("{source} attempt={errors}: {e}"));
                if errors < 3 {
                    tokio::time::sleep(Duration::from_millis(500 << errors)).await;
                    continue;
                }
                let Some(dl) = dead_letter else {
                    log.gateway(&format!("{source}: dropped after 3 attempts (no dead-letter queue)"));
                    return;
                };
                let body = String::from_utf8_lossy(&payload);
                let attributes =
                    [("RequestID", report.request_id.clone()), ("ErrorCode", "200".to_string()), ("ErrorMessage", e.to_string())];
                match dl.letters.send(&dl.queue, &body, &attributes).await {
                    Ok(()) => log.gateway(&format!("{source}: to the dead-letter queue {} after 3 attempts", dl.queue)),
                    Err(err) => log.gateway(&format!("{source}: lost after 3 attempts: {err}")),
                }
                return;
            }
        }
    }
}
