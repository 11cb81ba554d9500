//! `chat-dev`: the local platform. A twin of API Gateway's WebSocket API and @connections API
//! that runs the real Lambda binaries through the Lambda Runtime API, against local AWS services,
//! all derived from `infra/template.yaml`.

pub mod ddb_relay;
pub mod dead_letter;
pub mod faults;
pub mod gateway;
pub mod http_api;
pub mod lambda;
pub mod log;
pub mod provision;
pub mod relay;
pub mod s3_relay;
pub mod schedule;
pub mod services;
pub mod sigv4;
pub mod sns;
pub mod stack;
pub mod streams;
pub mod template;
pub mod util;
