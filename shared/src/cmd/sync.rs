//! `sync`: how a (re)connecting client catches up, with no time window. For every room the client
//! lists: the messages after its last seq (a page per room), edits since its version, current
//! unread count and receipts. Rooms it does not list come as `new`; rooms it lists but has left
//! come in `removed`. With `hasMore`, the client syncs again from the new last seqs.

use super::{check_id, check_ref, json_len};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::protocol::*;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;

pub async fn apply(app: &App, caller: &Caller, f: Sync) -> Result<()> {
    check_ref(&f.reference)?;
    if f.rooms.len() > MAX_SYNC_ROOMS {
        return Err(ChatError::invalid("rooms", format!("at most {MAX_SYNC_ROOMS} rooms per sync")));
    }
    for id in f.rooms.keys().chain(f.versions.keys()) {
        check_id("rooms", id)?;
    }
    let limit = f.limit.unwrap_or(MAX_HISTORY_LIMIT);
    if limit == 0 || limit > MAX_HISTORY_LIMIT {
        return Err(ChatError::invalid("limit", format!("limit must be 1 to {MAX_HISTORY_LIMIT}")));
    }

    let mut member_of: BTreeSet<String> = app.store.memberships(&caller.user_id).await?.into_iter().map(|m| m.room_id).collect();
    // The members index is eventually consistent: confirm listed rooms against the table.
    let unlisted: Vec<String> = f.rooms.keys().filter(|r| !member_of.contains(*r)).cloned().collect();
    let confirmed = app.store.get_memberships(&caller.user_id, &unlisted).await?;
    member_of.extend(confirmed.into_iter().map(|m| m.room_id));
    let removed: Vec<String> = f.rooms.keys().filter(|r| !member_of.contains(*r)).cloned().collect();

    let ids: Vec<String> = member_of.into_iter().collect();
    let (rooms, mine) = futures_util::try_join!(app.store.get_rooms(&ids), app.store.get_memberships(&caller.user_id, &ids))?;
    let mut rooms: Vec<_> = rooms.into_iter().filter_map(|r| mine.iter().find(|m| m.room_id == r.room_id).cloned().map(|m| (r, m))).collect();
    // Known rooms with news first, then the rest by activity.
    rooms.sort_by_key(|(r, m)| {
        let behind = f.rooms.get(&r.room_id).is_some_and(|s| *s < r.last_seq) || m.read_seq < r.last_seq;
        (std::cmp::Reverse(behind), std::cmp::Reverse(r.last_message_at.unwrap_or(r.created_at)))
    });

    let room_syncs: Vec<RoomSync> = stream::iter(rooms)
        .map(|(room, me)| {
            let f = &f;
            async move {
                let known = f.rooms.get(&room.room_id).copied();
                let (messages, has_more) = match known {
                    Some(last) if last < room.last_seq => {
                        let mut msgs = app.store.messages_after(&room.room_id, last, limit + 1).await?;
                        let more = msgs.len() > limit as usize;
                        msgs.truncate(limit as usize);
                        (msgs, more)
                    }
                    _ => (Vec::new(), false),
                };
                let updates = match f.versions.get(&room.room_id) {
                    Some(v) if *v < room.last_ver => app.store.messages_changed_since(&room.room_id, *v, limit).await?,
                    _ => Vec::new(),
                };
                let receipts = app
                    .store
                    .list_members(&room.room_id)
                    .await?
                    .into_iter()
                    .filter(|m| m.user_id != caller.user_id)
                    .map(|m| Receipt { user_id: m.user_id, read_seq: m.read_seq, delivered_seq: m.delivered_seq })
                    .collect();
                Ok::<_, ChatError>(RoomSync { ver: room.last_ver, room: room.view(&me), messages, has_more, updates, receipts, new: known.is_none() })
            }
        })
        .buffered(8)
        .try_collect()
        .await?;

    // One frame must stay under API Gateway's message limit: past the budget, rooms keep their
    // state but their messages wait for the next page.
    let mut budget = MAX_PAGE_BYTES;
    let mut out = Vec::with_capacity(room_syncs.len());
    for mut rs in room_syncs {
        let base = json_len(&RoomSync { messages: Vec::new(), updates: Vec::new(), ..rs.clone() });
        budget = budget.saturating_sub(base);
        let mut kept = 0;
        for m in &rs.messages {
            let l = json_len(m) + 1;
            if l > budget {
                break;
            }
            budget -= l;
            kept += 1;
        }
        if kept < rs.messages.len() {
            rs.messages.truncate(kept);
            rs.has_more = true;
        }
        let mut kept_updates = 0;
        for m in &rs.updates {
            let l = json_len(m) + 1;
            if l > budget {
                break;
            }
            budget -= l;
            kept_updates += 1;
        }
        if kept_updates < rs.updates.len() {
            rs.updates.truncate(kept_updates);
            // The client's version must not pass updates it has not received.
            rs.ver = rs.updates.last().and_then(|m| m.ver).unwrap_or_else(|| f.versions.get(&rs.room.room_id).copied().unwrap_or(0));
            rs.has_more = true;
        }
        out.push(rs);
    }
    let has_more = out.iter().any(|r| r.has_more);
    app.reply(caller, &ServerFrame::Sync { reference: f.reference, rooms: out, has_more, removed }).await;
    Ok(())
}
