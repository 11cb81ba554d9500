//! [`Notifier`] over API Gateway's @connections API (aws-sdk-apigatewaymanagement).

use super::{Notifier, PostError};
use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use std::time::Duration;

pub struct ApiGatewayNotifier {
    client: Client,
    timeout: Duration,
}

impl ApiGatewayNotifier {
    /// `endpoint`: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` (or the local
    /// gateway's `http://127.0.0.1:PORT/{stage}`).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(endpoint).build();
        ApiGatewayNotifier { client: Client::from_conf(conf), timeout: Duration::from_secs(3) }
    }
}

#[async_trait]
impl Notifier for ApiGatewayNotifier {
    async fn post(&self, connection_id: &str, data: &str) -> Result<(), PostError> {
        let call = self.client.post_to_connection().connection_id(connection_id).data(Blob::new(data.as_bytes())).send();
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(PostError::Failed("timed out".into())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => match e.as_service_error() {
                Some(s) if s.is_gone_exception() => Err(PostError::Gone),
                _ => Err(PostError::Failed(aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e).to_string())),
            },
        }
    }

    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        match self.client.delete_connection().connection_id(connection_id).send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_gone_exception() => Err(PostError::Gone),
                _ => Err(PostError::Failed(aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e).to_string())),
            },
        }
    }
}
