//! Saved replies: the team's canned answers, each with a shortcut (`/refund` in the console's
//! composer). Read by operators, written by admins and the site (`service`). All of them are one
//! versioned document (`DeskStore`, `doc#replies`): the console reads them in one key lookup, and
//! concurrent writes never lose each other (a write retries on a newer version).
//!
//! Placeholders such as `{visitor.name}` are kept as written; the console fills them in.

use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use serde::{Deserialize, Serialize};

pub const DOC: &str = "replies";
pub const MAX_REPLIES: usize = 200;
pub const MAX_SHORTCUT_CHARS: usize = 32;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_TEXT_CHARS: usize = 2000;
/// The document's largest size: a DynamoDB item holds 400 KB.
pub const MAX_DOC_BYTES: usize = 350_000;
/// Attempts at a write that keeps losing to other writes.
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedReply {
    pub id: String,
    /// Lower-case letters, digits, `-` and `_`, unique in the team.
    pub shortcut: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub updated_at: u64,
    pub updated_by: String,
}

/// What a writer sends (`POST`, `PUT`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyInput {
    pub shortcut: String,
    #[serde(default)]
    pub title: Option<String>,
    pub text: String,
}

fn can_read(actor: &Actor) -> Result<()> {
    if actor.role.is_operator() || actor.role.manages_team() {
        return Ok(());
    }
    Err(ChatError::Forbidden("saved replies are for operators".into()))
}

fn can_write(actor: &Actor) -> Result<()> {
    if actor.role.manages_team() {
        return Ok(());
    }
    Err(ChatError::Forbidden("saved replies are written by admins (role admin) or the site (service token)".into()))
}

fn checked(input: ReplyInput) -> Result<ReplyInput> {
    let shortcut = input.shortcut.trim().trim_start_matches('/').to_string();
    if shortcut.is_empty()
        || shortcut.chars().count() > MAX_SHORTCUT_CHARS
        || !shortcut.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ChatError::invalid(
            "shortcut",
            format!("shortcut is 1 to {MAX_SHORTCUT_CHARS} lower-case letters, digits, - or _ (a leading / is dropped)"),
        ));
    }
    let title = match input.title {
        Some(t) if t.chars().count() > MAX_TITLE_CHARS || t.chars().any(char::is_control) => {
            return Err(ChatError::invalid("title", format!("title is up to {MAX_TITLE_CHARS} characters without control characters")))
        }
        Some(t) => Some(t.trim().to_string()).filter(|t| !t.is_empty()),
        None => None,
    };
    if input.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ChatError::invalid("text", format!("text is up to {MAX_TEXT_CHARS} characters")));
    }
    if input.text.chars().all(char::is_whitespace) {
        return Err(ChatError::invalid("text", "text must not be empty"));
    }
    let text = input.text.trim().to_string();
    Ok(ReplyInput { shortcut, title, text })
}

async fn read(app: &App) -> Result<(Vec<SavedReply>, u64)> {
    match app.store.get_doc(DOC).await? {
        None => Ok((Vec::new(), 0)),
        Some(doc) => {
            let replies = serde_json::from_str(&doc.body).map_err(|e| ChatError::Internal(format!("saved replies: {e}")))?;
            Ok((replies, doc.version))
        }
    }
}

/// The team's saved replies, by shortcut.
pub async fn list(app: &App, actor: &Actor) -> Result<Vec<SavedReply>> {
    can_read(actor)?;
    Ok(read(app).await?.0)
}

/// Applies `change` to the replies and writes them, again on a newer version if another write
/// came first.
async fn change<T>(app: &App, mut change: impl FnMut(&mut Vec<SavedReply>) -> Result<T>) -> Result<T> {
    for _ in 0..ATTEMPTS {
        let (mut replies, version) = read(app).await?;
        let out = change(&mut replies)?;
        replies.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
        let body = serde_json::to_string(&replies).expect("serializes");
        if body.len() > MAX_DOC_BYTES {
            return Err(ChatError::TooLarge(format!(
                "the saved replies would take more than {} KB: shorten or delete some",
                MAX_DOC_BYTES / 1000
            )));
        }
        if app.store.put_doc(DOC, &body, version, app.now()).await? {
            return Ok(out);
        }
    }
    Err(ChatError::Conflict("the saved replies are being changed by others; try again".into()))
}

fn unique(replies: &[SavedReply], shortcut: &str, except: Option<&str>) -> Result<()> {
    if replies.iter().any(|r| r.shortcut == shortcut && Some(r.id.as_str()) != except) {
        return Err(ChatError::Conflict(format!("the shortcut /{shortcut} is taken")));
    }
    Ok(())
}

pub async fn create(app: &App, actor: &Actor, input: ReplyInput) -> Result<SavedReply> {
    can_write(actor)?;
    let input = checked(input)?;
    let now = app.now();
    let reply = SavedReply {
        id: format!("rp_{}", crate::ids::ulid(now).to_ascii_lowercase()),
        shortcut: input.shortcut,
        title: input.title,
        text: input.text,
        updated_at: now,
        updated_by: actor.user_id.clone(),
    };
    change(app, |replies| {
        unique(replies, &reply.shortcut, None)?;
        if replies.len() >= MAX_REPLIES {
            return Err(ChatError::Conflict(format!("the team has {MAX_REPLIES} saved replies, the most there can be: delete one first")));
        }
        replies.push(reply.clone());
        Ok(reply.clone())
    })
    .await
}

pub async fn update(app: &App, actor: &Actor, id: &str, input: ReplyInput) -> Result<SavedReply> {
    can_write(actor)?;
    let input = checked(input)?;
    let now = app.now();
    change(app, |replies| {
        unique(replies, &input.shortcut, Some(id))?;
        let r = replies.iter_mut().find(|r| r.id == id).ok_or_else(|| ChatError::NotFound(format!("no saved reply {id}")))?;
        r.shortcut = input.shortcut.clone();
        r.title = input.title.clone();
        r.text = input.text.clone();
        r.updated_at = now;
        r.updated_by = actor.user_id.clone();
        Ok(r.clone())
    })
    .await
}

pub async fn delete(app: &App, actor: &Actor, id: &str) -> Result<()> {
    can_write(actor)?;
    change(app, |replies| {
        let before = replies.len();
        replies.retain(|r| r.id != id);
        if replies.len() == before {
            return Err(ChatError::NotFound(format!("no saved reply {id}")));
        }
        Ok(())
    })
    .await
}
