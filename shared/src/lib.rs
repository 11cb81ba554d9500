//! The chat backend's rules, protocol and AWS adapters, shared by every Lambda function.
//!
//! - [`protocol`]: every WebSocket frame (serde).
//! - [`error`]: one error enum, mapped to client error codes.
//! - [`cmd`]: one file per client action.
//! - [`app`]: the rules' dependencies ([`store::Store`], [`notify::Notifier`], [`clock::Clock`])
//!   and delivery (replies, fan-out, presence).
//! - [`rest`]: the REST API (HTTP API, payload format 2.0) over the same rules.
//! - [`search`]: full-text search and the index the `indexer` function keeps.
//! - [`alerts`]: alerts to people who are not connected (SNS).
//! - [`support`]: the support desk's channels, queue broadcast and connection hooks.
//! - [`push`]: Web Push to members who are offline (SNS, then the `notify` function).
//! - [`heartbeat`]: heartbeats and the sweeper of dead connections.
//! - [`limits`]: flood limits per connection, and the strikes of users cut off.
//! - [`files`]: attachments' bytes (S3, presigned URLs).
//! - [`handlers`]: the Lambda entry points the functions wire up.
//! - [`metrics`]: the product's own metrics (CloudWatch Embedded Metric Format lines).

pub mod alerts;
pub mod app;
pub mod auth;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod error;
pub mod files;
pub mod handlers;
pub mod heartbeat;
pub mod ids;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod protocol;
pub mod push;
pub mod rest;
pub mod search;
pub mod store;
pub mod support;
pub mod tasks;
