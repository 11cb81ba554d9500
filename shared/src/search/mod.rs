//! Full-text search over the caller's rooms.
//!
//! The index is kept off the send path: the `indexer` function reads the Messages table's stream
//! and writes one posting per (room, term, message) ([`postings_for_change`]); edits re-index,
//! deletes un-index. A query ([`search`]) reads, for each of the caller's rooms, the postings of
//! its rarest-looking term (the longest) newest first, keeping those that carry every other term,
//! merges the rooms by message id (ULIDs sort by time) and checks the page against the messages
//! themselves and the caller's memberships. Cost: one Query per room, whatever the room's size.
//! Operators also search their sessions' internal notes (one more Query per session).

pub mod text;

use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use crate::model::{Posting, PostingKey};
use crate::protocol::Message;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;

pub const DEFAULT_SEARCH_LIMIT: u32 = 20;
pub const MAX_SEARCH_LIMIT: u32 = 50;
pub const MAX_QUERY_CHARS: usize = 256;
/// Rooms queried at once.
const ROOM_CONCURRENCY: usize = 16;

fn terms_of(m: &Message) -> Vec<String> {
    if m.deleted_at.is_some() || m.content.is_empty() {
        return Vec::new();
    }
    text::index_terms(&m.content)
}

/// What the index must write and remove when a message changes from `old` to `new` (`None`: did
/// not exist / no longer exists).
pub fn postings_for_change(old: Option<&Message>, new: Option<&Message>) -> (Vec<Posting>, Vec<PostingKey>) {
    let old_terms = old.map(terms_of).unwrap_or_default();
    let new_terms = new.map(terms_of).unwrap_or_default();
    if old_terms == new_terms {
        return (Vec::new(), Vec::new());
    }
    let key = |m: &Message, term: &str| PostingKey { room_id: m.room_id.clone(), term: term.to_string(), id: m.id.clone() };
    let delete = match old {
        Some(o) => old_terms.iter().filter(|t| !new_terms.contains(t)).map(|t| key(o, t)).collect(),
        None => Vec::new(),
    };
    let put = match new {
        Some(n) => new_terms.iter().map(|t| Posting { key: key(n, t), seq: n.seq, terms: new_terms.clone() }).collect(),
        None => Vec::new(),
    };
    (put, delete)
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub q: String,
    pub room_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub message: Message,
    pub snippet: text::Snippet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub results: Vec<SearchHit>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// Where results continue: below this message id (a position any well-formed id names).
fn decode_cursor(c: &str) -> Result<String> {
    if crate::ids::is_message_id(c) {
        Ok(c.to_string())
    } else {
        Err(ChatError::invalid("cursor", "cursor is a message id (26 characters of Crockford base32), the previous page's nextCursor"))
    }
}

pub async fn search(app: &App, actor: &Actor, q: SearchQuery) -> Result<SearchPage> {
    let limit = q.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(ChatError::invalid("limit", format!("limit must be 1 to {MAX_SEARCH_LIMIT}")));
    }
    if q.q.trim().is_empty() || q.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ChatError::invalid("q", format!("q is 1 to {MAX_QUERY_CHARS} characters")));
    }
    let terms = text::query_terms(&q.q);
    if terms.len() > text::MAX_QUERY_TERMS {
        return Err(ChatError::invalid("q", format!("q has more than {} words", text::MAX_QUERY_TERMS)));
    }
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rooms: Vec<String> = match &q.room_id {
        Some(r) => {
            crate::cmd::check_id("roomId", r)?;
            app.member_checked(r, &actor.user_id).await?;
            vec![r.clone()]
        }
        None => app.store.memberships(&actor.user_id).await?.into_iter().map(|m| m.room_id).collect(),
    };
    // Operators find their sessions' internal notes too (each session's notes stream).
    let with_notes = actor.role.is_operator();
    if with_notes {
        let notes: Vec<String> = rooms.iter().filter(|r| r.starts_with("sp_")).map(|r| crate::cmd::notes::stream(r)).collect();
        rooms.extend(notes);
    }
    if terms.is_empty() || rooms.is_empty() {
        return Ok(SearchPage { results: Vec::new(), has_more: false, next_cursor: None });
    }
    // The longest term is usually the rarest: read its postings, filter on the others.
    let mut by_length = terms.clone();
    by_length.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    let (primary, also) = (by_length[0].clone(), by_length[1..].to_vec());
    let want = limit as usize + 1;
    let per_room: Vec<Vec<Posting>> = stream::iter(rooms)
        .map(|room| {
            let (primary, also, before) = (&primary, &also, &before);
            async move { app.store.search_room(&room, primary, also, before.as_deref(), want).await }
        })
        .buffer_unordered(ROOM_CONCURRENCY)
        .try_collect()
        .await?;
    let mut candidates: Vec<Posting> = per_room.into_iter().flatten().collect();
    candidates.sort_by(|a, b| b.key.id.cmp(&a.key.id));
    candidates.dedup_by(|a, b| a.key.id == b.key.id);
    let has_more = candidates.len() > limit as usize;
    candidates.truncate(limit as usize);
    let next_cursor = if has_more { candidates.last().map(|p| p.key.id.clone()) } else { None };

    // The page, checked against the messages as they are now (the index follows a moment
    // behind) and the caller's memberships as they are now (a room just left drops out).
    let keys: Vec<(String, u64)> = candidates.iter().map(|p| (p.key.room_id.clone(), p.seq)).collect();
    // A notes stream belongs to its session: the caller must be a member of that.
    let owner = |room: &str| room.strip_suffix("#notes").unwrap_or(room).to_string();
    let page_rooms: Vec<String> = keys.iter().map(|k| owner(&k.0)).collect::<BTreeSet<_>>().into_iter().collect();
    let (messages, mine) =
        futures_util::try_join!(app.store.get_messages(&keys), app.store.get_memberships(&actor.user_id, &page_rooms, true))?;
    let member_of: BTreeSet<&str> = mine.iter().map(|m| m.room_id.as_str()).collect();
    let mut results = Vec::with_capacity(candidates.len());
    for p in &candidates {
        let Some(m) = messages.iter().find(|m| m.room_id == p.key.room_id && m.seq == p.seq) else { continue };
        let session = owner(&m.room_id);
        if !member_of.contains(session.as_str()) || (session != m.room_id && !with_notes) {
            continue;
        }
        let has = terms_of(m);
        if !terms.iter().all(|t| has.contains(t)) {
            continue;
        }
        results.push(SearchHit { snippet: text::snippet(&m.content, &terms), message: crate::cmd::notes::shown(m.clone()) });
    }
    Ok(SearchPage { results, has_more, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MessageKind;

    fn msg(content: &str) -> Message {
        Message {
            room_id: "r".into(),
            seq: 1,
            id: "01J".into(),
            sender_id: "u".into(),
            sender_name: None,
            kind: MessageKind::Text,
            content: content.into(),
            reply_to: None,
            attachments: Vec::new(),
            client_id: None,
            created_at: 1,
            edited_at: None,
            deleted_at: None,
            ver: None,
            meta: None,
        }
    }

    #[test]
    fn edits_reindex_and_deletes_unindex() {
        let a = msg("refund for the café");
        let (put, del) = postings_for_change(None, Some(&a));
        assert_eq!(put.iter().map(|p| p.key.term.as_str()).collect::<Vec<_>>(), ["refund", "cafe"]);
        assert!(del.is_empty());
        assert!(put.iter().all(|p| p.terms == ["refund", "cafe"]));
        let b = Message { content: "refund shipped".into(), ver: Some(1), ..a.clone() };
        let (put, del) = postings_for_change(Some(&a), Some(&b));
        assert_eq!(del.iter().map(|k| k.term.as_str()).collect::<Vec<_>>(), ["cafe"]);
        assert_eq!(put.iter().map(|p| p.key.term.as_str()).collect::<Vec<_>>(), ["refund", "ship"]);
        let gone = Message { content: String::new(), deleted_at: Some(2), ..b.clone() };
        let (put, del) = postings_for_change(Some(&b), Some(&gone));
        assert!(put.is_empty());
        assert_eq!(del.len(), 2);
        // An edit that changes no terms writes nothing.
        let same = Message { content: "Refunds shipped!".into(), ..b.clone() };
        assert_eq!(postings_for_change(Some(&b), Some(&same)), (Vec::new(), Vec::new()));
    }
}
