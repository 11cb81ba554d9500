//! Work handed from one function to another, off the caller's path: the rest of a big fan-out
//! (past [`crate::app::ChatConfig::direct_fanout`] recipients, in batches) and presence
//! announcements (one Query per room of the user). [`sns::SnsTasks`] publishes them to the
//! template's `FanoutTopic`, whose subscriber (`functions/fanout`) runs them with
//! [`crate::app::App::run_task`]; without a queue (unit tests) they run inline.

pub mod sns;

use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
pub enum Task {
    /// Post one frame (already JSON) to these `[userId, connectionId]` targets.
    #[serde(rename = "deliver")]
    Deliver { frame: String, targets: Vec<(String, String)> },
    /// Tell everyone who shares a room with the user that they came online or went offline.
    #[serde(rename = "presence", rename_all = "camelCase")]
    Presence {
        user_id: String,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<u64>,
    },
    /// The support queue changed: tell waiting visitors their position and operators the queue.
    /// `removed` / `added`: the change that caused it, applied to the queue as read (its index is
    /// eventually consistent and may not show the change yet).
    #[serde(rename = "queue", rename_all = "camelCase")]
    Queue {
        #[serde(default)]
        removed: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        added: Option<crate::protocol::SupportSession>,
    },
}

#[async_trait]
pub trait TaskQueue: Send + Sync {
    async fn enqueue(&self, tasks: Vec<Task>) -> Result<()>;
}

/// A queue that keeps what it is given (tests, the bench): [`MemoryTasks::take`] hands it out.
#[derive(Default)]
pub struct MemoryTasks {
    queued: std::sync::Mutex<Vec<Task>>,
}

impl MemoryTasks {
    pub fn take(&self) -> Vec<Task> {
        std::mem::take(&mut self.queued.lock().unwrap())
    }
}

#[async_trait]
impl TaskQueue for MemoryTasks {
    async fn enqueue(&self, tasks: Vec<Task>) -> Result<()> {
        self.queued.lock().unwrap().extend(tasks);
        Ok(())
    }
}
