//! [`PushPublisher`] on SNS: one `Publish` per batch to the template's `PushTopic`, with message
//! attributes `room`, `kind` and `recipients` (for subscription filter policies and metrics).

use super::{PushBatch, PushPublisher};
use crate::error::{ChatError, Result};
use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

pub struct SnsPush {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPush {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: &str) -> SnsPush {
        SnsPush { client: aws_sdk_sns::Client::new(sdk), topic_arn: topic_arn.to_string() }
    }
}

fn attr(data_type: &str, value: String) -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder().data_type(data_type).string_value(value).build().map_err(ChatError::internal)
}

#[async_trait]
impl PushPublisher for SnsPush {
    async fn publish(&self, batch: PushBatch) -> Result<()> {
        let kind = serde_json::to_value(batch.payload.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let body = serde_json::to_string(&batch).map_err(ChatError::internal)?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes("room", attr("String", batch.payload.room_id.clone())?)
            .message_attributes("kind", attr("String", kind)?)
            .message_attributes("recipients", attr("Number", batch.user_ids.len().to_string())?)
            .send()
            .await
            .map_err(|e| ChatError::Internal(format!("SNS Publish: {}", aws_sdk_sns::error::DisplayErrorContext(&e))))?;
        Ok(())
    }
}
