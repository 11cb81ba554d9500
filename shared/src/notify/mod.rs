//! Posting frames to connections: [`apigw::ApiGatewayNotifier`] (the @connections API) in
//! Lambda, [`memory::MemoryNotifier`] in unit tests.

pub mod apigw;
pub mod memory;

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// The connection is gone (HTTP 410): clean it up.
    Gone,
    /// Anything else (timeout, throttling, 5xx); the connection may still be alive.
    Failed(String),
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one text frame to one connection.
    async fn post(&self, connection_id: &str, data: &str) -> Result<(), PostError>;
    /// Closes a connection (its `$disconnect` follows).
    async fn close(&self, connection_id: &str) -> Result<(), PostError>;
}
