//! Alerts to people who are not connected: "a visitor is waiting and no operator is online".
//! [`sns::SnsAlerts`] publishes to the template's `SupportAlertTopic` (operators subscribe e-mail,
//! SMS or HTTPS endpoints there); [`MemoryAlerts`] keeps them for tests.

pub mod sns;

use crate::error::Result;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// One line, ASCII, under 100 characters (SNS's e-mail subject rules).
    pub subject: String,
    pub body: String,
    /// Message attributes (for subscription filter policies), e.g. `kind` = `visitor.waiting`.
    pub attributes: Vec<(String, String)>,
}

#[async_trait]
pub trait Alerts: Send + Sync {
    async fn alert(&self, alert: Alert) -> Result<()>;
}

/// Keeps what it is given (tests).
#[derive(Default)]
pub struct MemoryAlerts {
    sent: std::sync::Mutex<Vec<Alert>>,
}

impl MemoryAlerts {
    pub fn sent(&self) -> Vec<Alert> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Alerts for MemoryAlerts {
    async fn alert(&self, alert: Alert) -> Result<()> {
        self.sent.lock().unwrap().push(alert);
        Ok(())
    }
}

/// SNS subjects: ASCII printable, no line breaks, under 100 characters.
pub fn subject_line(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    if out.len() > 99 {
        out.truncate(96);
        out.push_str("...");
    }
    out
}
