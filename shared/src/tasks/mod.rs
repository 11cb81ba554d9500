//! Work handed from one function to another, off the caller's path: the rest of a big fan-out
//! (past [`crate::app::ChatConfig::direct_fanout`] recipients, in batches), presence
//! announcements (one Query per room of the user), and features' own tasks (the support queue's
//! broadcast). [`sns::SnsTasks`] publishes them to the
//! template's `FanoutTopic`, whose subscriber (`functions/fanout`) runs them with
//! [`crate::app::App::run_task`]; without a queue (unit tests) they run inline.

pub mod sns;

use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One piece of work: the delivery layer's own (posts, presence), or a feature's, which its
/// [`crate::app::Feature`] runs. On the wire a JSON object with `task` naming it.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Post one frame (already JSON) to these `[userId, connectionId]` targets.
    Deliver { frame: String, targets: Vec<(String, String)> },
    /// Tell everyone who shares a room with the user that they came online or went offline.
    Presence { user_id: String, online: bool, last_seen: Option<u64> },
    /// A feature's task: `task` is its name, `body` the rest of the object.
    Feature { task: String, body: serde_json::Map<String, serde_json::Value> },
}

/// The delivery layer's own tasks, as they travel.
#[derive(Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
enum Own {
    #[serde(rename = "deliver")]
    Deliver { frame: String, targets: Vec<(String, String)> },
    #[serde(rename = "presence", rename_all = "camelCase")]
    Presence {
        user_id: String,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<u64>,
    },
}

impl Task {
    /// The `task` name (an SNS message attribute, for filtering and logs).
    pub fn name(&self) -> &str {
        match self {
            Task::Deliver { .. } => "deliver",
            Task::Presence { .. } => "presence",
            Task::Feature { task, .. } => task,
        }
    }
}

impl Serialize for Task {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Task::Deliver { frame, targets } => Own::Deliver { frame: frame.clone(), targets: targets.clone() }.serialize(s),
            Task::Presence { user_id, online, last_seen } => {
                Own::Presence { user_id: user_id.clone(), online: *online, last_seen: *last_seen }.serialize(s)
            }
            Task::Feature { task, body } => {
                let mut m = body.clone();
                m.insert("task".into(), serde_json::Value::String(task.clone()));
                m.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Task, D::Error> {
        use serde::de::Error;
        let mut m = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        match m.get("task").and_then(|t| t.as_str()) {
            Some("deliver" | "presence") => match serde_json::from_value::<Own>(serde_json::Value::Object(m)).map_err(D::Error::custom)? {
                Own::Deliver { frame, targets } => Ok(Task::Deliver { frame, targets }),
                Own::Presence { user_id, online, last_seen } => Ok(Task::Presence { user_id, online, last_seen }),
            },
            Some(_) => {
                let Some(serde_json::Value::String(task)) = m.remove("task") else { unreachable!("checked above") };
                Ok(Task::Feature { task, body: m })
            }
            None => Err(D::Error::custom("a task is an object with a string `task`")),
        }
    }
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
