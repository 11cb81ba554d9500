//! Rooms: `room.create` (direct: one per pair of users, creating it twice returns it; group: up to
//! the configured size), `room.list`, `room.add` / `room.remove` (owner and admins of groups),
//! `room.leave` (groups). Membership changes are written to the room as system messages, so
//! members who were away learn of them through `sync`.

use super::{check_id, check_ref, json_len};
use crate::app::{Actor, App, Caller};
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
            let members =
                vec![MemberRecord::new(&room, &me, MemberRole::Member, now), MemberRecord::new(&room, &other, MemberRole::Member, now)];
            (room, members)
        }
        RoomType::Group => {
            let name = clean_name(f.name)?;
            if others.len() + 1 > app.cfg.max_group_size as usize {
                return Err(ChatError::RoomFull(format!(
                    "a group has at most {} members; this one would have {}",
                    app.cfg.max_group_size,
                    others.len() + 1
                )));
            }
            let refs = user_refs(app, &others).await?;
            let room = RoomRecord {
                name,
                ..RoomRecord::new(
                    ids::group_room_id(now),
                    RoomType::Group,
                    &caller.user_id,
                    now,
                    (others.len() + 1) as u32,
                    app.cfg.max_group_size,
                )
            };
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
    // Every member's live connections now receive the room's fan-outs.
    app.register_members(&room.room_id, &members.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>()).await?;
    app.reply(caller, &ServerFrame::RoomCreated { reference: f.reference, room: room.view(&members[0]), created: true }).await;
    app.fanout_users([caller.user_id.as_str()], &ServerFrame::RoomJoined { room: room.view(&members[0]) }, Some(&caller.connection_id))
        .await;
    if let Some(m) = members.get(1) {
        let others = members[1..].iter().map(|m| m.user_id.as_str());
        app.fanout_users(others, &ServerFrame::RoomJoined { room: room.view(m) }, None).await;
    }
    Ok(())
}

pub async fn list(app: &App, caller: &Caller, f: RoomList) -> Result<()> {
    check_ref(&f.reference)?;
    let page = list_page(app, &caller.user_id, &ListQuery { limit: f.limit, cursor: f.cursor, archived: f.archived }, Some(MAX_PAGE_BYTES))
        .await?;
    app.reply(
        caller,
        &ServerFrame::RoomList { reference: f.reference, rooms: page.rooms, has_more: page.has_more, next_cursor: page.next_cursor },
    )
    .await;
    Ok(())
}

/// Which rooms a list asks for, and where it continues.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// 1 to [`MAX_LIST_LIMIT`]; `None`: as many as the byte budget allows.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `Some(false)`: not archived only; `Some(true)`: archived only; `None`: all.
    pub archived: Option<bool>,
}

pub const MAX_LIST_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct RoomPage {
    pub rooms: Vec<RoomView>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// Where a room list continues: the time of its first page (the order is the order at that time,
/// so rooms that get new messages meanwhile neither repeat nor get skipped) and the last room
/// returned, as (activity, roomId). Written `t.a.roomId`: a position, not a secret — any
/// well-formed cursor is a place to continue from (the list is the caller's own rooms either way),
/// so the API document can state exactly what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListCursor {
    t: u64,
    a: u64,
    r: String,
}

/// Digits of a cursor's times (milliseconds up to the year 33658).
const CURSOR_DIGITS: usize = 15;

impl ListCursor {
    fn encode(&self) -> String {
        format!("{}.{}.{}", self.t, self.a, self.r)
    }

    fn decode(c: &str) -> Result<Self> {
        let bad = || ChatError::invalid("cursor", "cursor is `time.activity.roomId`, the previous page's nextCursor");
        let mut parts = c.splitn(3, '.');
        let mut number = || {
            parts
                .next()
                .filter(|p| !p.is_empty() && p.len() <= CURSOR_DIGITS && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u64>().ok())
        };
        let (Some(t), Some(a)) = (number(), number()) else { return Err(bad()) };
        let r = parts.next().ok_or_else(bad)?;
        check_id("cursor", r).map_err(|_| bad())?;
        Ok(ListCursor { t, a, r: r.to_string() })
    }
}

/// The user's rooms, most recently active first, a page at a time.
///
/// The order is the order as it was at the first page's time `T` (kept in the cursor): a room
/// whose last activity is after `T` is placed by its last message at or before `T`, so paging
/// while new messages reorder rooms neither repeats nor skips a room. Rooms joined after `T` wait
/// for the next first page. The page also stops before `byte_budget` bytes of rooms (one frame).
pub async fn list_page(app: &App, user_id: &str, q: &ListQuery, byte_budget: Option<usize>) -> Result<RoomPage> {
    if let Some(l) = q.limit {
        if l == 0 || l > MAX_LIST_LIMIT {
            return Err(ChatError::invalid("limit", format!("limit must be 1 to {MAX_LIST_LIMIT}")));
        }
    }
    let cursor = q.cursor.as_deref().map(ListCursor::decode).transpose()?;
    let t = cursor.as_ref().map(|c| c.t).unwrap_or_else(|| app.now());
    let ids: Vec<String> = app.store.memberships(user_id).await?.into_iter().map(|m| m.room_id).collect();
    // A room list is a read model: a copy a moment old is harmless (half the read units).
    let (rooms, members) = futures_util::try_join!(app.store.get_rooms(&ids, false), app.store.get_memberships(user_id, &ids, false))?;
    let mut entries: Vec<(u64, RoomView)> = Vec::with_capacity(rooms.len());
    for r in &rooms {
        let Some(m) = members.iter().find(|m| m.room_id == r.room_id) else { continue };
        if m.joined_at > t {
            continue;
        }
        let view = r.view(m);
        if q.archived.is_some_and(|a| a != view.archived) {
            continue;
        }
        let mut activity = r.activity();
        if activity > t {
            // Changed since the first page: place it where it was then.
            activity = app.store.activity_at(&r.room_id, r.last_seq, t).await?.unwrap_or(r.created_at).min(t);
        }
        entries.push((activity, view));
    }
    entries.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.room_id.cmp(&a.1.room_id)));
    if let Some(c) = &cursor {
        entries.retain(|(a, v)| *a < c.a || (*a == c.a && v.room_id < c.r));
    }
    let limit = q.limit.map(|l| l as usize).unwrap_or(usize::MAX);
    let mut size = 0;
    let mut take = 0;
    for (_, v) in &entries {
        if take == limit {
            break;
        }
        size += json_len(v) + 1;
        if byte_budget.is_some_and(|b| size > b) && take > 0 {
            break;
        }
        take += 1;
    }
    let has_more = entries.len() > take;
    let next_cursor = if has_more {
        entries.get(take.saturating_sub(1)).map(|(a, v)| ListCursor { t, a: *a, r: v.room_id.clone() }.encode())
    } else {
        None
    };
    entries.truncate(take);
    Ok(RoomPage { rooms: entries.into_iter().map(|(_, v)| v).collect(), has_more, next_cursor })
}

/// One room as a member sees it, with every member and their cursors.
pub async fn detail(app: &App, actor: &Actor, room_id: &str) -> Result<(RoomView, Vec<MemberView>)> {
    check_id("roomId", room_id)?;
    let members = app.members_checked(room_id, &actor.user_id).await?;
    let room = app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
    let me = members.iter().find(|m| m.user_id == actor.user_id).ok_or_else(|| ChatError::NotMember(room_id.to_string()))?;
    Ok((room.view(me), members.iter().map(|m| m.view(room.last_seq)).collect()))
}

/// Archives a room for the caller (`on`) or brings it back. An archived room leaves the default
/// list until a message newer than the archiving arrives; then it is back, unarchived, by itself.
pub async fn set_archived(app: &App, actor: &Actor, room_id: &str, on: bool) -> Result<RoomView> {
    check_id("roomId", room_id)?;
    let me = app.member_checked(room_id, &actor.user_id).await?;
    let room = app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
    if !app.store.set_archived(room_id, &actor.user_id, on.then_some(room.last_seq)).await? {
        return Err(ChatError::NotMember(room_id.to_string()));
    }
    let me = MemberRecord { archived: on, archived_seq: on.then_some(room.last_seq), ..me };
    Ok(room.view(&me))
}

/// Checks the caller may manage a group room's members.
async fn managed_group(app: &App, caller: &Actor, room_id: &str) -> Result<(RoomRecord, MemberRecord)> {
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

/// Appends a system message about a membership change and sends it to the room.
pub(crate) async fn system_message(app: &App, actor: &Actor, room_id: &str, content: String, meta: serde_json::Value) -> Result<()> {
    let now = app.now();
    let hint = app.store.room_hint(room_id).await?.map(|h| h.last_seq).unwrap_or(0);
    let appended = app
        .store
        .append_message(
            NewMessage {
                room_id: room_id.to_string(),
                client_id: format!("sys-{}", ids::ulid(now)),
                id: ids::ulid(now),
                sender_id: actor.user_id.clone(),
                sender_name: actor.name.clone(),
                kind: MessageKind::System,
                content,
                reply_to: None,
                attachments: Vec::new(),
                meta: Some(meta),
                created_at: now,
            },
            hint,
        )
        .await?;
    let message = appended.message().clone();
    if !actor.is_service() {
        // The actor has read their own system message (ignored if they just left).
        let _ = app.store.advance_cursor(room_id, &actor.user_id, crate::model::CursorKind::Read, message.seq).await;
    }
    app.fanout_room(room_id, &ServerFrame::MessageNew { message }, None, None).await;
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
    add_members(app, &caller.actor, &f.room_id, ids.into_iter().map(|user_id| UserRef { user_id, name: None }).collect()).await?;
    app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: updated_view(app, caller, &f.room_id).await? }).await;
    Ok(())
}

/// Adds users to a room: a group's owner and admins, or the site (`service`) to groups and order
/// rooms. Users already in the room are left alone. The new members get `room.joined`, then
/// everyone the system message. Returns the members added.
pub async fn add_members(app: &App, actor: &Actor, room_id: &str, wanted: Vec<UserRef>) -> Result<Vec<MemberRecord>> {
    let mut seen = BTreeSet::new();
    let mut wanted_unique = Vec::new();
    for u in wanted {
        check_id("members", &u.user_id)?;
        let name = clean_name(u.name).map_err(|_| {
            ChatError::invalid("members", format!("a member's name must be at most {MAX_NAME_CHARS} characters without control characters"))
        })?;
        if u.user_id != actor.user_id && seen.insert(u.user_id.clone()) {
            wanted_unique.push(UserRef { user_id: u.user_id, name });
        }
    }
    if wanted_unique.is_empty() || wanted_unique.len() > MAX_ADD_PER_REQUEST {
        return Err(ChatError::invalid("members", format!("members lists 1 to {MAX_ADD_PER_REQUEST} other users")));
    }
    let room = if actor.is_service() {
        let room = app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        if !matches!(room.room_type, RoomType::Group | RoomType::Order) {
            return Err(ChatError::Forbidden("the site adds members to group and order rooms only".into()));
        }
        room
    } else {
        managed_group(app, actor, room_id).await?.0
    };
    let existing: BTreeSet<String> = app.store.list_members(room_id).await?.into_iter().map(|m| m.user_id).collect();
    let new: Vec<UserRef> = wanted_unique.into_iter().filter(|u| !existing.contains(&u.user_id)).collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let unnamed: Vec<String> = new.iter().filter(|u| u.name.is_none()).map(|u| u.user_id.clone()).collect();
    let known = user_refs(app, &unnamed).await?;
    let refs: Vec<UserRef> = new
        .into_iter()
        .map(|u| if u.name.is_some() { u } else { known.iter().find(|k| k.user_id == u.user_id).cloned().unwrap_or(u) })
        .collect();
    let now = app.now();
    let new_members: Vec<MemberRecord> = refs.iter().map(|r| MemberRecord::new(&room, r, MemberRole::Member, now)).collect();
    app.store.add_members(room_id, &new_members).await?;
    let new_ids: Vec<String> = refs.iter().map(|r| r.user_id.clone()).collect();
    app.register_members(room_id, &new_ids).await?;
    // The new members learn of the room first, then everyone gets the system message.
    let room = app.store.get_room(room_id).await?.unwrap_or(room);
    for m in &new_members {
        app.fanout_users([m.user_id.as_str()], &ServerFrame::RoomJoined { room: room.view(m) }, None).await;
    }
    let names = refs.iter().map(display).collect::<Vec<_>>().join(", ");
    let by = actor.name.clone().unwrap_or_else(|| actor.user_id.clone());
    system_message(
        app,
        actor,
        room_id,
        format!("{by} added {names}"),
        json!({ "event": "member.added", "userIds": new_ids, "by": actor.user_id }),
    )
    .await?;
    Ok(new_members)
}

pub async fn remove(app: &App, caller: &Caller, f: RoomRemove) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    check_id("userId", &f.user_id)?;
    if f.user_id == caller.user_id {
        return Err(ChatError::invalid("userId", "to remove yourself, use room.leave"));
    }
    let (_, me) = managed_group(app, &caller.actor, &f.room_id).await?;
    let target = app
        .store
        .get_member(&f.room_id, &f.user_id)
        .await?
        .ok_or_else(|| ChatError::NotFound(format!("{} is not a member of this room", f.user_id)))?;
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
    // From here on the room's fan-outs skip them.
    app.unregister_member(&f.room_id, &f.user_id).await?;
    let by = caller.name.clone().unwrap_or_else(|| caller.user_id.clone());
    let who = target.name.clone().unwrap_or_else(|| target.user_id.clone());
    system_message(
        app,
        &caller.actor,
        &f.room_id,
        format!("{by} removed {who}"),
        json!({ "event": "member.removed", "userIds": [f.user_id], "by": caller.user_id }),
    )
    .await?;
    app.fanout_users(
        [f.user_id.as_str()],
        &ServerFrame::RoomLeft { reference: None, room_id: f.room_id.clone(), by: caller.user_id.clone() },
        None,
    )
    .await;
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
    app.unregister_member(&f.room_id, &caller.user_id).await?;
    let who = caller.name.clone().unwrap_or_else(|| caller.user_id.clone());
    system_message(
        app,
        &caller.actor,
        &f.room_id,
        format!("{who} left"),
        json!({ "event": "member.left", "userIds": [caller.user_id], "by": caller.user_id }),
    )
    .await?;
    app.reply(caller, &ServerFrame::RoomLeft { reference: f.reference, room_id: f.room_id.clone(), by: caller.user_id.clone() }).await;
    app.fanout_users(
        [caller.user_id.as_str()],
        &ServerFrame::RoomLeft { reference: None, room_id: f.room_id.clone(), by: caller.user_id.clone() },
        Some(&caller.connection_id),
    )
    .await;
    Ok(())
}

/// `room.mute {roomId, muted}`: the caller mutes a room (no Web Push for it; messages still
/// arrive on live sockets) or unmutes it. One conditional write on the caller's member row (it is
/// the membership check), answered with `room.updated`.
pub async fn mute(app: &App, caller: &Caller, f: RoomMute) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    let me = app.store.set_muted(&f.room_id, &caller.user_id, f.muted).await?.ok_or_else(|| ChatError::NotMember(f.room_id.clone()))?;
    let room = app.store.get_room(&f.room_id).await?.ok_or_else(|| ChatError::NotMember(f.room_id.clone()))?;
    app.reply(caller, &ServerFrame::RoomUpdated { reference: f.reference, room: room.view(&me) }).await;
    Ok(())
}
