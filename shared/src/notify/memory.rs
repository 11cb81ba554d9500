//! In-memory [`Notifier`]: records posts; connections can be marked gone.

use super::{Notifier, PostError};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryNotifier {
    sent: Mutex<HashMap<String, Vec<String>>>,
    gone: Mutex<HashSet<String>>,
    closed: Mutex<Vec<String>>,
}

impl MemoryNotifier {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn mark_gone(&self, connection_id: &str) {
        self.gone.lock().unwrap().insert(connection_id.to_string());
    }
    /// Frames sent to a connection, parsed.
    pub fn frames(&self, connection_id: &str) -> Vec<serde_json::Value> {
        self.sent
            .lock()
            .unwrap()
            .get(connection_id)
            .map(|v| v.iter().map(|s| serde_json::from_str(s).unwrap()).collect())
            .unwrap_or_default()
    }
    pub fn take(&self, connection_id: &str) -> Vec<serde_json::Value> {
        let v = self.frames(connection_id);
        self.sent.lock().unwrap().remove(connection_id);
        v
    }
    pub fn closed(&self) -> Vec<String> {
        self.closed.lock().unwrap().clone()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn post(&self, connection_id: &str, data: &str) -> Result<(), PostError> {
        if self.gone.lock().unwrap().contains(connection_id) {
            return Err(PostError::Gone);
        }
        self.sent.lock().unwrap().entry(connection_id.to_string()).or_default().push(data.to_string());
        Ok(())
    }
    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        if !self.gone.lock().unwrap().insert(connection_id.to_string()) {
            return Err(PostError::Gone);
        }
        self.closed.lock().unwrap().push(connection_id.to_string());
        Ok(())
    }
}
