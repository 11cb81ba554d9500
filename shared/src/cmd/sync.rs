//! `sync`: how a (re)connecting client catches up, with no time window. For every room the client
//! lists: the messages after its last seq (a page per room), edits since its version, current
//! unread count and receipts. Rooms it does not list come as `new`; rooms it lists but has left
//! come in `removed`. With `hasMore`, the client syncs again from the new last seqs.

use super::{check_id, check_ref, json_len};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::model::RoomConn;
use crate::protocol::*;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Rooms read per sync page (each costs a few queries).
const ROOMS_PER_PAGE: usize = 50;

pub async fn apply(app: &App, caller: &Caller, f: Sync) -> Result<()> {
    check_ref(&f.reference)?;
    if f.rooms.len() > MAX_SYNC_ROOMS {
        return Err(ChatError::invalid("rooms", format!("at most {MAX_SYNC_ROOMS} rooms per sync")));
    }
    for id in f.rooms.keys() {
        check_id("rooms", id)?;
    }
    for id in f.versions.keys() {
        check_id("versions", id)?;
    }
    if let Some(c) = &f.cursor {
        check_id("cursor", c)?;
    }
    let limit = f.limit.unwrap_or(MAX_HISTORY_LIMIT);
    if limit == 0 || limit > MAX_HISTORY_LIMIT {
        return Err(ChatError::invalid("limit", format!("limit must be 1 to {MAX_HISTORY_LIMIT}")));
    }

    let mut member_of: BTreeSet<String> = app.store.memberships(&caller.user_id).await?.into_iter().map(|m| m.room_id).collect();
    // The members index is eventually consistent: confirm listed rooms against the table.
    let unlisted: Vec<String> = f.rooms.keys().filter(|r| !member_of.contains(*r)).cloned().collect();
    let confirmed = app.store.get_memberships(&caller.user_id, &unlisted, true).await?;
    member_of.extend(confirmed.into_iter().map(|m| m.room_id));
    let removed: Vec<String> = f.rooms.keys().filter(|r| !member_of.contains(*r)).cloned().collect();

    // Rooms in a stable order (by id), from the cursor on: a page covers a run of rooms.
    let from_cursor: Vec<String> = member_of.into_iter().filter(|r| f.cursor.as_ref().is_none_or(|c| r >= c)).collect();
    let following_room = from_cursor.get(ROOMS_PER_PAGE).cloned();
    let ids: Vec<String> = from_cursor.into_iter().take(ROOMS_PER_PAGE).collect();
    let (rooms, mine) = futures_util::try_join!(app.store.get_rooms(&ids, true), app.store.get_memberships(&caller.user_id, &ids, true))?;
    let mut rooms: Vec<_> =
        rooms.into_iter().filter_map(|r| mine.iter().find(|m| m.room_id == r.room_id).cloned().map(|m| (r, m))).collect();
    rooms.sort_by(|a, b| a.0.room_id.cmp(&b.0.room_id));

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
                    .map(|m| Receipt { read_seq: m.effective_read(room.last_seq), user_id: m.user_id, delivered_seq: m.delivered_seq })
                    .collect();
                Ok::<_, ChatError>(RoomSync {
                    ver: room.last_ver,
                    room: room.view(&me),
                    messages,
                    has_more,
                    updates,
                    receipts,
                    new: known.is_none(),
                })
            }
        })
        .buffered(8)
        .try_collect()
        .await?;

    // One frame must stay under API Gateway's message limit. Rooms go in order until the budget is
    // spent; a room whose messages or updates are cut ends the page, and the next page (the
    // client sends `cursor` = `nextCursor` and its new last seqs) starts again at that room.
    let mut budget = MAX_PAGE_BYTES;
    let mut out: Vec<RoomSync> = Vec::with_capacity(room_syncs.len());
    let mut next_cursor = None;
    for mut rs in room_syncs {
        let base = json_len(&RoomSync { messages: Vec::new(), updates: Vec::new(), ..rs.clone() });
        if base > budget && !out.is_empty() {
            next_cursor = Some(rs.room.room_id.clone());
            break;
        }
        budget = budget.saturating_sub(base);
        let mut kept = 0;
        for m in &rs.messages {
            let l = json_len(m) + 1;
            // The first message of a page always goes, so paging always advances.
            if l > budget && !(kept == 0 && out.iter().all(|r| r.messages.is_empty())) {
                break;
            }
            budget = budget.saturating_sub(l);
            kept += 1;
        }
        if kept < rs.messages.len() {
            rs.messages.truncate(kept);
            rs.has_more = true;
        }
        let mut kept_updates = 0;
        for m in &rs.updates {
            let l = json_len(m) + 1;
            // As for messages: the first item of a page always goes, so paging always advances
            // (one item is at most ~100 KB of JSON, below API Gateway's 128 KB).
            let page_empty = kept == 0 && kept_updates == 0 && out.iter().all(|r| r.messages.is_empty() && r.updates.is_empty());
            if l > budget && !page_empty {
                break;
            }
            budget = budget.saturating_sub(l);
            kept_updates += 1;
        }
        if kept_updates < rs.updates.len() {
            rs.updates.truncate(kept_updates);
            // The client's version must not pass updates it has not received.
            rs.ver = rs.updates.last().and_then(|m| m.ver).unwrap_or_else(|| f.versions.get(&rs.room.room_id).copied().unwrap_or(0));
            rs.has_more = true;
        }
        let cut = rs.has_more;
        let id = rs.room.room_id.clone();
        out.push(rs);
        if cut {
            next_cursor = Some(id);
            break;
        }
    }
    if next_cursor.is_none() {
        // This page took the most rooms a page reads: continue with the next one.
        next_cursor = following_room;
    }
    // Rooms new to the client may be rooms it joined while its connection was being registered
    // (the members index it was registered from lags a little): register it there too.
    let new_rooms: Vec<RoomConn> = out
        .iter()
        .filter(|rs| rs.new)
        .map(|rs| RoomConn {
            room_id: rs.room.room_id.clone(),
            connection_id: caller.connection_id.clone(),
            user_id: caller.user_id.clone(),
            expires_at: app.now() / 1000 + crate::app::CONNECTION_TTL_SECS,
        })
        .collect();
    if !new_rooms.is_empty() {
        app.store.register_connections(&new_rooms).await?;
    }
    let has_more = next_cursor.is_some();
    app.reply(caller, &ServerFrame::Sync { reference: f.reference, rooms: out, has_more, next_cursor, removed }).await;
    Ok(())
}
