//! `history`: a newest-first page below a cursor. One query of `limit + 1` items: the cost depends
//! on the page size, never on the room's size.

use super::{check_id, check_ref, json_len};
use crate::app::{Actor, App, Caller};
use crate::error::{ChatError, Result};
use crate::protocol::{History, Message, ServerFrame, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, MAX_PAGE_BYTES};

pub async fn apply(app: &App, caller: &Caller, f: History) -> Result<()> {
    check_ref(&f.reference)?;
    let (messages, has_more, next_cursor) = page(app, &caller.actor, &f.room_id, f.before_seq, f.limit, f.notes).await?;
    app.reply(caller, &ServerFrame::History { reference: f.reference, room_id: f.room_id, messages, has_more, next_cursor }).await;
    Ok(())
}

/// A member's page of history: newest first below `before_seq`, `has_more`, and the next page's
/// `beforeSeq`. The same pages over the socket and REST. `notes`: a support session's internal
/// notes instead (its operators only, [`super::notes`]).
pub async fn page(
    app: &App,
    actor: &Actor,
    room_id: &str,
    before_seq: Option<u64>,
    limit: Option<u32>,
    notes: bool,
) -> Result<(Vec<Message>, bool, Option<u64>)> {
    let f = History { reference: None, room_id: room_id.to_string(), before_seq, limit, notes };
    check_id("roomId", &f.room_id)?;
    let limit = f.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if limit == 0 || limit > MAX_HISTORY_LIMIT {
        return Err(ChatError::invalid("limit", format!("limit must be 1 to {MAX_HISTORY_LIMIT}")));
    }
    if f.before_seq == Some(0) {
        return Err(ChatError::invalid("beforeSeq", "beforeSeq must be 1 or more"));
    }
    let mut messages = if notes {
        super::notes::check_reader(app, actor, &f.room_id).await?;
        let stream = super::notes::stream(&f.room_id);
        app.store.messages_before(&stream, f.before_seq, limit + 1).await?.into_iter().map(super::notes::shown).collect()
    } else {
        if let Err(e) = app.member_checked(&f.room_id, &actor.user_id).await {
            // The team's operators read any support session, read-only.
            if !super::notes::team_reads(app, actor, &f.room_id).await? {
                return Err(e);
            }
        }
        app.store.messages_before(&f.room_id, f.before_seq, limit + 1).await?
    };
    let mut has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    // Keep the frame under API Gateway's 128 KB message limit.
    let mut size = 0;
    if let Some(cut) = messages.iter().position(|m| {
        size += json_len(m) + 1;
        size > MAX_PAGE_BYTES
    }) {
        messages.truncate(cut.max(1));
        has_more = true;
    }
    let next_cursor = if has_more { messages.last().map(|m| m.seq) } else { None };
    Ok((messages, has_more, next_cursor))
}
