//! [`MailQueue`] on SNS: one `Publish` per event to the template's `MailTopic`, to which the mail
//! function is subscribed.

use super::{MailEvent, MailQueue};
use crate::error::{ChatError, Result};
use async_trait::async_trait;

pub struct SnsMail {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsMail {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: &str) -> SnsMail {
        SnsMail { client: aws_sdk_sns::Client::new(sdk), topic_arn: topic_arn.to_string() }
    }
}

#[async_trait]
impl MailQueue for SnsMail {
    async fn publish(&self, event: &MailEvent) -> Result<()> {
        let body = serde_json::to_string(event).map_err(ChatError::internal)?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .send()
            .await
            .map_err(|e| ChatError::Internal(format!("SNS Publish: {}", aws_sdk_sns::error::DisplayErrorContext(&e))))?;
        Ok(())
    }
}
