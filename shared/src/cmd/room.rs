//! Rooms: `room.create` (direct: one per pair of users, creating it twice returns it; group: up to
//! the configured size), `room.list`, `room.add` / `room.remove` (owner and admins of groups),
//! `room.leave` (groups). Membership changes are written to the room as system messages, so
//! members who were away learn of them through `sync`.

use super::{check_id, check_ref, json_len};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{MemberRecord, NewMessage, RoomRecord};
use crate::protocol::*;
use serde_json::json;
use std::collections::BTreeSet;

const MAX_ADD_PER_REQUEST: usize = 50;

fn clean_name(name: Option<String>) -> Result<Option<String>> {
    let Some(n) = name else { return Ok(None) };
    let n = n.trim().to_string();
    if n.is_empty() {
        return Ok(None);
    }
    if n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control) {
        return Err(ChatError::invalid("name", format!("name must be at most {MAX_NAME_CHARS} characters without control characters")));
    }
    Ok(Some(n))
}

fn unique_others(field: &str, ids: &[String], me: &str) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for id in ids {
        check_id(field, id)?;
        if id != me && seen.insert(id.clone()) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

async fn user_refs(app: &App, ids: &[String]) -> Result<Vec<UserRef>> {
    let users = app.store.get_users(ids).await?;
    Ok(ids
        .iter()
        .map(|id| UserRef { user_id: id.clone(), name: users.iter().find(|u| &u.user_id == id).and_then(|u| u.name.clone()) })
        .collect())
}

fn display(u: &UserRef) -> &str {
    u.name.as_deref().unwrap_or(&u.user_id)
}

pub async fn create(app: &App, caller: &Caller, f: RoomCreate) -> Result<()> {
    check_ref(&f.reference)?;
    let now = app.now();
    let me = UserRef { user_id: caller.user_id.clone(), name: caller.name.clone() };
    let others = unique_others("members", &f.members, &caller.user_id)?;
    let (room, members) = match f.room_type {
        RoomType::Direct => {
            if others.len() != 1 || f.members.len() != 1 {
                return Err(ChatError::invalid("members", "a direct room has exactly one other member"));
            }
            let other = user_refs(app, &others).await?.remove(0);
            let room = RoomRecord {
                participants: vec![me.clone(), other.clone()],
                ..RoomRecord::new(ids::direct_room_id(&caller.user_id, &other.user_id), RoomType::Direct, &caller.user_id, now, 2, 2)
            };
            let members = vec![MemberRecord::new(&room, &me, MemberRole::Member, now), MemberRecord::new(&room, &other, MemberRole::Member, now)];
            (room, members)
        }
        RoomType::Group => {
            let name = clean_name(f.name)?;
            if others.len() + 1 > app.cfg.max_group_size as usize {
                return Err(ChatError::RoomFull(format!("a group has at most {} members", app.cfg.max_group_size)));
            }
            let refs = user_refs(app, &others).await?;
            let room = RoomRecord { name, ..RoomRecord::new(ids::group_room_id(now), RoomType::Group, &caller.user_id, now, (others.len() + 1) as u32, app.cfg.max_group_size) };
            let mut members = vec![MemberRecord::new(&room, &me, MemberRole::Owner, now)];
            members.extend(refs.iter().map(|r| MemberRecord::new(&room, r, MemberRole::Member, now)));
            (room, members)
        }
        other => {
            return Err(ChatError::invalid("type", format!("rooms of type {other:?} are not created with room.create").to_lowercase()));
        }
    };
    if !app.store.create_room(&room, &members).await? {
        // The direct room of this pair exists: return it.
        let existing = app.store.get_room(&room.room_id).await?.ok_or_else(|| ChatError::internal("room vanished"))?;
        let member = app.member_checked(&room.room_id, &caller.user_id).await?;
        app.reply(caller, &ServerFrame::RoomCreated { reference: f.reference, room: existing.view(&member), created: false }).await;
        return Ok(());
    }
    app.reply(caller, &ServerFrame::RoomCreated { reference: f.reference, room: room.view(&members[0]), created: true }).await;
    app.fanout([caller.user_id.as_str()], &ServerFrame::RoomJoined { room: room.view(&members[0]) }, Some(&caller.connection_id)).await;
    if let Some(m) = members.get(1) {
        let others = members[1..].iter().map(|m| m.user_id.as_str());
        app.fanout(others, &ServerFrame::RoomJoined { room: room.view(m) }, None).await;
    }
    Ok(())
}

pub async fn list(app: &App, caller: &Caller, f: RoomList) -> Result<()> {
    check_ref(&f.reference)?;
    let (rooms, has_more) = room_views(app, &caller.user_id).await?;
    app.reply(caller, &ServerFrame::RoomList { reference: f.reference, rooms, has_more }).await;
    Ok(())
}

/// The user's rooms, most recently active first, cut to fit one frame.
pub(crate) async fn room_views(app: &App, user_id: &str) -> Result<(Vec<RoomView>, bool)> {
    let ids: Vec<String> = app.store.memberships(user_id).await?.into_iter().map(|m| m.room_id).collect();
    let (rooms, members) = futures_util::try_join!(app.store.get_rooms(&ids), app.store.get_memberships(user_id, &ids))?;
    let mut views: Vec<RoomView> = rooms
        .iter()
        .filter_map(|r| members.iter().find(|m| m.room_id == r.room_id).map(|m| r.view(m)))
        .collect();
    views.sort_by_key(|v| std::cmp::Reverse(v.last_message.as_ref().map(|m| m.created_at).unwrap_or(v.created_at)));
    let mut size = 0;
    let cut = views.iter().position(|v| {
        size += json_len(v) + 1;
        size > MAX_PAGE_BYTES
    });
    let has_more = cut.is_some();
    if let Some(c) = cut {
        views.truncate(c);
    }
    Ok((views, has_more))
}

/// Checks the caller may manage a group room's members.
async fn managed_group(app: &App, caller: &Caller, room_id: &str) -> Result<(RoomRecord, MemberRecord)> {
    let me = app.member_checked(room_id, &caller.user_id).await?;
    let room = app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
    if room.room_type != RoomType::Group {
        return Err(ChatError::Forbidden("only group rooms have members added or removed".into()));
    }
    if !matches!(me.role, MemberRole::Owner | MemberRole::Admin) {
        return Err(ChatError::Forbidden("only the room's owner and admins manage its members".into()));
    }
    Ok((room, me))
}

/// Appends a system message about a membership change and sends it to `to` (user ids).
async fn system_message<'a>(app: &App, caller: &Caller, room_id: &str, content: String, meta: serde_json::Value, to: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let now = app.now();
    let appended = app
        .store
        .append_message(NewMessage {
            room_id: room_id.to_string(),
            client_id: format!("sys-{}", ids::ulid(now)),
            id: ids::ulid(now),
            sender_id: caller.user_id.clone(),
            sender_name: caller.name.clone(),
            kind: MessageKind::System,
            content,
            reply_to: None,
            meta: Some(meta),
            created_at: now,
        })
        .await?;
    let message = appended.message().clone();
    // The actor has read their own system message (ignored if they just left).
    let _ = app.store.advance_cursor(room_id, &caller.user_id, crate::model::CursorKind::Read, message.seq).await;
    app.fanout(to, &ServerFrame::MessageNew { message }, None).await;
    Ok(())
}

async fn updated_view(app: &App, caller: &Caller, room_id: &str) -> Result<RoomView> {
    let room = app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
    let me = app.member_checked(room_id, &caller.user_id).await?;
    Ok(room.view(&me))
}

pub async fn add(app: &App, caller: &Caller, f: RoomAdd) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    let ids = unique_others("members", &f.members, &caller.user_id)?;
    if ids.is_empty() || ids.len() > MAX_ADD_PER_REQUEST {
        return Err(ChatError::invalid("members", format!("members lists 1 to {MAX_ADD_PER_REQUEST} other users")));
    }
    let (room, _) = managed_group(app, caller, &f.room_id).await?;
    let existing: BTreeSet<String> = app.store.list_members(&f.room_id).await?.into_iter().map(|m| m.user_id).collect();
    let new_ids: Vec<String> = ids.into_iter().filter(|i| !existing.contains(i)).collect();
    if new_ids.is_empty() {
        app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: updated_view(app, caller, &f.room_id).await? }).await;
        return Ok(());
    }
    let refs = user_refs(app, &new_ids).await?;
    let now = app.now();
    let new_members: Vec<MemberRecord> = refs.iter().map(|r| MemberRecord::new(&room, r, MemberRole::Member, now)).collect();
    app.store.add_members(&f.room_id, &new_members).await?;
    // The new members learn of the room first, then everyone gets the system message.
    let room = app.store.get_room(&f.room_id).await?.unwrap_or(room);
    if let Some(m) = new_members.first() {
        app.fanout(new_ids.iter().map(String::as_str), &ServerFrame::RoomJoined { room: room.view(m) }, None).await;
    }
    let names = refs.iter().map(display).collect::<Vec<_>>().join(", ");
    let by = caller.name.clone().unwrap_or_else(|| caller.user_id.clone());
    let everyone: Vec<String> = existing.into_iter().chain(new_ids.iter().cloned()).collect();
    system_message(app, caller, &f.room_id, format!("{by} added {names}"), json!({ "event": "member.added", "userIds": new_ids, "by": caller.user_id }), everyone.iter().map(String::as_str)).await?;
    app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: updated_view(app, caller, &f.room_id).await? }).await;
    Ok(())
}

pub async fn remove(app: &App, caller: &Caller, f: RoomRemove) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    check_id("userId", &f.user_id)?;
    if f.user_id == caller.user_id {
        return Err(ChatError::invalid("userId", "to remove yourself, use room.leave"));
    }
    let (_, me) = managed_group(app, caller, &f.room_id).await?;
    let target = app.store.get_member(&f.room_id, &f.user_id).await?.ok_or_else(|| ChatError::NotFound(format!("{} is not a member of this room", f.user_id)))?;
    let allowed = match target.role {
        MemberRole::Owner => false,
        MemberRole::Admin => me.role == MemberRole::Owner,
        MemberRole::Member => true,
    };
    if !allowed {
        return Err(ChatError::Forbidden("you cannot remove this member".into()));
    }
    if !app.store.remove_member(&f.room_id, &f.user_id).await? {
        return Err(ChatError::NotFound(format!("{} is not a member of this room", f.user_id)));
    }
    let remaining: Vec<String> = app.store.list_members(&f.room_id).await?.into_iter().map(|m| m.user_id).collect();
    let by = caller.name.clone().unwrap_or_else(|| caller.user_id.clone());
    let who = target.name.clone().unwrap_or_else(|| target.user_id.clone());
    system_message(app, caller, &f.room_id, format!("{by} removed {who}"), json!({ "event": "member.removed", "userIds": [f.user_id], "by": caller.user_id }), remaining.iter().map(String::as_str)).await?;
    app.fanout([f.user_id.as_str()], &ServerFrame::RoomLeft { reference: None, room_id: f.room_id.clone(), by: caller.user_id.clone() }, None).await;
    app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: updated_view(app, caller, &f.room_id).await? }).await;
    Ok(())
}

pub async fn leave(app: &App, caller: &Caller, f: RoomLeave) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    app.member_checked(&f.room_id, &caller.user_id).await?;
    let room = app.store.get_room(&f.room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {} does not exist", f.room_id)))?;
    if room.room_type != RoomType::Group {
        return Err(ChatError::Forbidden("only group rooms can be left".into()));
    }
    if !app.store.remove_member(&f.room_id, &caller.user_id).await? {
        return Err(ChatError::NotMember(f.room_id));
    }
    let remaining: Vec<String> = app.store.list_members(&f.room_id).await?.into_iter().map(|m| m.user_id).collect();
    let who = caller.name.clone().unwrap_or_else(|| caller.user_id.clone());
    system_message(app, caller, &f.room_id, format!("{who} left"), json!({ "event": "member.left", "userIds": [caller.user_id], "by": caller.user_id }), remaining.iter().map(String::as_str)).await?;
    app.reply(caller, &ServerFrame::RoomLeft { reference: f.reference, room_id: f.room_id.clone(), by: caller.user_id.clone() }).await;
    app.fanout([caller.user_id.as_str()], &ServerFrame::RoomLeft { reference: None, room_id: f.room_id.clone(), by: caller.user_id.clone() }, Some(&caller.connection_id)).await;
    Ok(())
}
