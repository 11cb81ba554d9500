//! Visitors as the console finds them: a visitor's sessions (their past, with ratings) and the
//! sessions whose visitor's name or e-mail matches a query. Operators only; they read any support
//! session read-only (`crate::cmd::notes::readable`).
//!
//! The name and e-mail are indexed when a session starts (a few postings of the search index in
//! the partition [`INDEX`], each naming the session), so finding them is one Query, never a scan.

use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use crate::model::{Posting, PostingKey};
use crate::protocol::SupportSession;
use crate::search::text;

/// The search-index partition of visitors' names and e-mails.
pub const INDEX: &str = "support#visitors";
pub const MAX_SESSIONS: usize = 50;
pub const MAX_FOUND: usize = 20;

fn operators_only(actor: &Actor) -> Result<()> {
    if actor.role.is_operator() || actor.role.manages_team() {
        return Ok(());
    }
    Err(ChatError::Forbidden("visitors' sessions are for operators".into()))
}

/// Indexes a new session's visitor (name, e-mail from the page's attributes). Logged, not failed.
pub async fn index(app: &App, session: &SupportSession) {
    let email = session.context.attributes.get("email").cloned().unwrap_or_default();
    let text = format!("{} {}", session.visitor.name.clone().unwrap_or_default(), email);
    let terms = text::index_terms(&text);
    let Some(id) = session.session_id.strip_prefix("sp_") else { return };
    let postings: Vec<Posting> = terms
        .iter()
        .map(|t| Posting { key: PostingKey { room_id: INDEX.into(), term: t.clone(), id: id.to_string() }, seq: 0, terms: terms.clone() })
        .collect();
    if let Err(e) = app.store.index_write(&postings, &[]).await {
        tracing::warn!(session_id = %session.session_id, error = %e, "cannot index the visitor");
    }
}

fn newest_first(mut s: Vec<SupportSession>) -> Vec<SupportSession> {
    s.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    s
}

async fn sessions(app: &App, ids: Vec<String>) -> Result<Vec<SupportSession>> {
    Ok(newest_first(app.store.get_rooms(&ids, false).await?.into_iter().filter_map(|r| r.support).collect()))
}

/// A visitor's sessions, newest first (at most [`MAX_SESSIONS`]).
pub async fn of_visitor(app: &App, actor: &Actor, visitor_id: &str) -> Result<Vec<SupportSession>> {
    operators_only(actor)?;
    crate::cmd::check_id("visitorId", visitor_id)?;
    let mut ids: Vec<String> =
        app.store.memberships(visitor_id).await?.into_iter().map(|m| m.room_id).filter(|r| r.starts_with("sp_")).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a)); // sp_ + ULID: newest first
    ids.truncate(MAX_SESSIONS);
    sessions(app, ids).await
}

/// A query: 1 to 256 characters.
pub fn check_query(q: &str) -> Result<()> {
    if q.is_empty() || q.chars().count() > crate::search::MAX_QUERY_CHARS {
        return Err(ChatError::invalid("q", format!("q is 1 to {} characters", crate::search::MAX_QUERY_CHARS)));
    }
    Ok(())
}

/// Sessions whose visitor's name or e-mail has every word of `q`, newest first.
pub async fn find(app: &App, actor: &Actor, q: &str) -> Result<Vec<SupportSession>> {
    operators_only(actor)?;
    check_query(q)?;
    let mut terms = text::query_terms(q);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    terms.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    let postings = app.store.search_room(INDEX, &terms[0], &terms[1..], None, MAX_FOUND).await?;
    sessions(app, postings.into_iter().map(|p| format!("sp_{}", p.key.id)).collect()).await
}
