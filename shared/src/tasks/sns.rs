//! [`TaskQueue`] on SNS: up to ten tasks per `PublishBatch` call (256 KB per call).

use super::{Task, TaskQueue};
use crate::error::{ChatError, Result};
use async_trait::async_trait;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

pub struct SnsTasks {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsTasks {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: &str) -> SnsTasks {
        SnsTasks { client: aws_sdk_sns::Client::new(sdk), topic_arn: topic_arn.to_string() }
    }
}

/// SNS's limits: 10 entries and 256 KiB per batch.
const MAX_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 250 * 1024;

#[async_trait]
impl TaskQueue for SnsTasks {
    async fn enqueue(&self, tasks: Vec<Task>) -> Result<()> {
        let mut batches: Vec<Vec<(String, String)>> = vec![Vec::new()];
        let mut size = 0;
        for t in &tasks {
            let body = serde_json::to_string(t).map_err(ChatError::internal)?;
            let kind = t.name().to_string();
            if batches.last().is_some_and(|b| b.len() == MAX_ENTRIES) || size + body.len() > MAX_BATCH_BYTES {
                batches.push(Vec::new());
                size = 0;
            }
            size += body.len();
            batches.last_mut().expect("one batch at least").push((body, kind));
        }
        for batch in batches.into_iter().filter(|b| !b.is_empty()) {
            let entries = batch
                .into_iter()
                .enumerate()
                .map(|(i, (body, kind))| {
                    PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message(body)
                        .message_attributes(
                            "task",
                            MessageAttributeValue::builder().data_type("String").string_value(kind).build().expect("type and value set"),
                        )
                        .build()
                        .map_err(ChatError::internal)
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .publish_batch()
                .topic_arn(&self.topic_arn)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await
                .map_err(|e| ChatError::Internal(format!("SNS PublishBatch: {}", aws_sdk_sns::error::DisplayErrorContext(&e))))?;
            if !out.failed().is_empty() {
                return Err(ChatError::Internal(format!(
                    "SNS PublishBatch: {} of the tasks failed: {:?}",
                    out.failed().len(),
                    out.failed().first().map(|f| f.code())
                )));
            }
        }
        Ok(())
    }
}
