//! E-mail follow-up of support sessions (Amazon SES).
//!
//! A visitor who left an e-mail address (the pre-chat or the away form: the session's
//! `context.attributes.email`) and is not connected is e-mailed an operator's reply, and, when
//! they asked for it (`context.attributes.transcript = "yes"`), the transcript when the session
//! closes — never an internal note (notes live in their own stream, `crate::cmd::notes`; these
//! e-mails read the session's room only).
//!
//! Nothing of this is on the send path: the send publishes a [`MailEvent`] ([`MailQueue`]: the
//! template's `MailTopic`), and the mail function (`functions/mailer`, [`handle`]) reads the
//! session, decides, renders ([`render`]) and sends ([`Mailer`]: SES v2). At most one reply
//! e-mail per session per `EMAIL_INTERVAL_SECONDS` (a conditional write on the session's mail
//! document); it carries every reply since the last one, so a reply inside the interval is not
//! lost but goes with the next. The transcript is sent once per session.

pub mod render;
pub mod ses;
pub mod sns;

use crate::app::App;
use crate::error::{ChatError, Result};
use crate::protocol::{Message, MessageKind, SupportSession};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The session attribute holding the visitor's e-mail address.
pub const EMAIL_ATTRIBUTE: &str = "email";
/// The session attribute by which the visitor asks for the transcript (`"yes"`).
pub const TRANSCRIPT_ATTRIBUTE: &str = "transcript";
/// Messages of a reply e-mail at most (the newest).
pub const MAX_REPLY_MESSAGES: usize = 20;
/// Messages of a transcript at most (a longer session's transcript says it is cut).
pub const MAX_TRANSCRIPT_MESSAGES: usize = 1000;

/// What the mail function is handed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum MailEvent {
    /// An operator replied (`seq`) while these users were connected to the session.
    #[serde(rename_all = "camelCase")]
    Reply { session_id: String, seq: u64, connected: Vec<String> },
    /// The session closed.
    #[serde(rename_all = "camelCase")]
    Transcript { session_id: String },
}

/// Where mail events go (SNS in Lambda, memory in tests).
#[async_trait]
pub trait MailQueue: Send + Sync {
    async fn publish(&self, event: &MailEvent) -> Result<()>;
}

/// One e-mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Sends e-mails (SES v2 in Lambda, memory in tests).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<()>;
}

/// Keeps what it is given (tests).
#[derive(Default)]
pub struct MemoryMail {
    events: std::sync::Mutex<Vec<MailEvent>>,
    sent: std::sync::Mutex<Vec<Email>>,
}

impl MemoryMail {
    pub fn events(&self) -> Vec<MailEvent> {
        std::mem::take(&mut self.events.lock().unwrap())
    }
    pub fn sent(&self) -> Vec<Email> {
        std::mem::take(&mut self.sent.lock().unwrap())
    }
}

#[async_trait]
impl MailQueue for MemoryMail {
    async fn publish(&self, event: &MailEvent) -> Result<()> {
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }
}

#[async_trait]
impl Mailer for MemoryMail {
    async fn send(&self, email: &Email) -> Result<()> {
        self.sent.lock().unwrap().push(email.clone());
        Ok(())
    }
}

/// After an operator's message in a session was fanned out: when someone of the room was not
/// connected (`connected` with the sender fewer than its members), the mail function is told.
/// Costs nothing when the site sends no e-mail or everyone is there. Never fails the send.
pub async fn reply_sent(app: &App, message: &Message, connected: Option<&BTreeSet<String>>, member_count: Option<u32>) {
    let Some(queue) = app.mail.as_ref() else { return };
    if !matches!(message.kind, MessageKind::Text | MessageKind::Image | MessageKind::File) {
        return;
    }
    let Some(connected) = connected else { return };
    let present = connected.len() + usize::from(!connected.contains(&message.sender_id));
    if member_count.is_some_and(|m| present >= m as usize) {
        return;
    }
    let event = MailEvent::Reply { session_id: message.room_id.clone(), seq: message.seq, connected: connected.iter().cloned().collect() };
    if let Err(e) = queue.publish(&event).await {
        tracing::warn!(session_id = %message.room_id, error = %e, "mail: cannot publish the reply");
    }
}

/// After a session closed: the transcript, if the visitor asked for it and left an address.
pub async fn session_closed(app: &App, session: &SupportSession) {
    let Some(queue) = app.mail.as_ref() else { return };
    if wants_transcript(session) && address(session).is_some() {
        if let Err(e) = queue.publish(&MailEvent::Transcript { session_id: session.session_id.clone() }).await {
            tracing::warn!(session_id = %session.session_id, error = %e, "mail: cannot publish the transcript");
        }
    }
}

fn wants_transcript(session: &SupportSession) -> bool {
    session.context.attributes.get(TRANSCRIPT_ATTRIBUTE).is_some_and(|v| v == "yes" || v == "true")
}

/// The visitor's address, if it looks like one (the server checked its shape at the start).
pub fn address(session: &SupportSession) -> Option<&str> {
    let a = session.context.attributes.get(EMAIL_ATTRIBUTE)?.trim();
    let (local, domain) = a.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !a.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(a)
}

/// What [`handle`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        messages: usize,
    },
    /// Not sent, and why (logged).
    Skipped(&'static str),
}

/// The mail document of a session (`DeskStore`): when the last reply e-mail went and the newest
/// seq it carried.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mailed {
    at: u64,
    seq: u64,
}

fn doc_name(session_id: &str, what: &str) -> String {
    format!("mail#{session_id}#{what}")
}

/// The mail function's rule for one event.
pub async fn handle(app: &App, mailer: &dyn Mailer, event: &MailEvent) -> Result<Outcome> {
    let session_id = match event {
        MailEvent::Reply { session_id, .. } | MailEvent::Transcript { session_id } => session_id,
    };
    let Some(room) = app.store.get_room(session_id).await? else { return Ok(Outcome::Skipped("no such session")) };
    let Some(session) = room.support.clone() else { return Ok(Outcome::Skipped("not a support session")) };
    let Some(to) = address(&session).map(str::to_string) else { return Ok(Outcome::Skipped("the visitor left no e-mail address")) };
    let settings = crate::support::settings::get(app).await?.settings;
    let visitor = session.visitor.user_id.clone();
    let now = app.now();
    match event {
        MailEvent::Reply { seq, connected, .. } => {
            if connected.contains(&visitor) {
                return Ok(Outcome::Skipped("the visitor was connected"));
            }
            let name = doc_name(session_id, "reply");
            let (version, last) = mailed(app, &name).await?;
            if *seq <= last.seq {
                return Ok(Outcome::Skipped("an earlier e-mail carried this reply"));
            }
            if version > 0 && now.saturating_sub(last.at) < app.cfg.email_interval_secs.saturating_mul(1000) {
                return Ok(Outcome::Skipped("an e-mail went to this session less than EMAIL_INTERVAL_SECONDS ago"));
            }
            // What the visitor has not read: after their read cursor and the last e-mail.
            let read = app.store.get_member(session_id, &visitor).await?.map_or(0, |m| m.read_seq);
            let from = read.max(last.seq);
            let mut replies: Vec<Message> = app
                .store
                .messages_after(session_id, from, 100)
                .await?
                .into_iter()
                .filter(|m| {
                    m.sender_id != visitor && m.kind != MessageKind::System && m.kind != MessageKind::Note && m.deleted_at.is_none()
                })
                .collect();
            if replies.is_empty() {
                return Ok(Outcome::Skipped("the visitor has read every reply"));
            }
            if replies.len() > MAX_REPLY_MESSAGES {
                replies.drain(..replies.len() - MAX_REPLY_MESSAGES);
            }
            let newest = replies.iter().map(|m| m.seq).max().unwrap_or(*seq);
            // The claim: one writer per interval (the document's version is the condition).
            if !claim(app, &name, &Mailed { at: now, seq: newest }, version).await? {
                return Ok(Outcome::Skipped("another invocation mailed this session just now"));
            }
            let email = render::reply(&settings, &session, &to, &replies);
            send_or_release(app, mailer, &email, &name, &last, version + 1).await?;
            Ok(Outcome::Sent { messages: replies.len() })
        }
        MailEvent::Transcript { .. } => {
            if !wants_transcript(&session) {
                return Ok(Outcome::Skipped("the visitor did not ask for a transcript"));
            }
            let name = doc_name(session_id, "transcript");
            let (version, before) = mailed(app, &name).await?;
            if before.at > 0 {
                return Ok(Outcome::Skipped("the transcript was sent already"));
            }
            let mut messages = Vec::new();
            let mut after = 0;
            loop {
                let page = app.store.messages_after(session_id, after, 200).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                messages.extend(page.into_iter().filter(|m| m.kind != MessageKind::Note && m.deleted_at.is_none()));
                if messages.len() >= MAX_TRANSCRIPT_MESSAGES {
                    messages.truncate(MAX_TRANSCRIPT_MESSAGES);
                    break;
                }
            }
            if !claim(app, &name, &Mailed { at: now, seq: after }, version).await? {
                return Ok(Outcome::Skipped("the transcript was sent already"));
            }
            let email = render::transcript(&settings, &session, &to, &messages);
            send_or_release(app, mailer, &email, &name, &before, version + 1).await?;
            Ok(Outcome::Sent { messages: messages.len() })
        }
    }
}

/// The session's mail document: its version (0: never written) and what it says.
async fn mailed(app: &App, name: &str) -> Result<(u64, Mailed)> {
    Ok(match app.store.get_doc(name).await? {
        Some(d) => (d.version, serde_json::from_str(&d.body).map_err(ChatError::internal)?),
        None => (0, Mailed::default()),
    })
}

/// Writes the session's mail document if it is still at `version`: `false` if another
/// invocation came first.
async fn claim(app: &App, name: &str, mailed: &Mailed, version: u64) -> Result<bool> {
    app.store.put_doc(name, &serde_json::to_string(mailed).map_err(ChatError::internal)?, version, app.now()).await
}

/// Sends; when SES refuses, puts the document back as it was (as a newer version), so Lambda's
/// retry of the event tries again instead of finding it claimed.
async fn send_or_release(app: &App, mailer: &dyn Mailer, email: &Email, name: &str, before: &Mailed, claimed: u64) -> Result<()> {
    if let Err(e) = mailer.send(email).await {
        if let Err(r) = claim(app, name, before, claimed).await {
            tracing::warn!(doc = name, error = %r, "mail: cannot release the claim");
        }
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
