//! [`Alerts`] on SNS: one `Publish` per alert to the support alert topic.

use super::{Alert, Alerts};
use crate::error::{ChatError, Result};
use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: &str) -> SnsAlerts {
        SnsAlerts { client: aws_sdk_sns::Client::new(sdk), topic_arn: topic_arn.to_string() }
    }
}

#[async_trait]
impl Alerts for SnsAlerts {
    async fn alert(&self, alert: Alert) -> Result<()> {
        let mut req = self.client.publish().topic_arn(&self.topic_arn).subject(super::subject_line(&alert.subject)).message(alert.body);
        for (k, v) in alert.attributes {
            req = req.message_attributes(
                k,
                MessageAttributeValue::builder().data_type("String").string_value(v).build().map_err(ChatError::internal)?,
            );
        }
        req.send().await.map_err(|e| ChatError::Internal(format!("SNS Publish: {}", aws_sdk_sns::error::DisplayErrorContext(&e))))?;
        Ok(())
    }
}
