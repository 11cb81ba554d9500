//! Order-bound rooms: the site (`service` token) creates or finds the one room bound to an external
//! id such as `order:123`, with its members (buyer, seller) and what the site says about it (title,
//! link, status). Creating it again — also concurrently — returns the same room; a later call
//! updates the description and adds members who are missing.

use super::check_id;
use super::room::add_members;
use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{MemberRecord, RoomRecord};
use crate::protocol::{MemberRole, MemberView, RoomContext, RoomType, ServerFrame, UserRef, MAX_NAME_CHARS};

/// Most members an order-bound room starts with (buyer, seller, a few staff).
pub const MAX_CONTEXT_MEMBERS: usize = 20;
pub const MAX_STATUS_CHARS: usize = 64;
pub const MAX_URL_CHARS: usize = 2048;

/// What the site sends for a context's room.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContextChat {
    pub title: Option<String>,
    pub url: Option<String>,
    pub status: Option<String>,
    pub members: Vec<UserRef>,
}

/// The room bound to a context, after the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextRoom {
    pub room_id: String,
    pub created: bool,
    pub context: RoomContext,
    pub members: Vec<MemberView>,
}

/// A text field checked as sent (as the API document states it), then trimmed; empty is none.
fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    if v.as_ref().is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control)) {
        return Err(ChatError::invalid(field, format!("{field} must be at most {max} characters without control characters")));
    }
    Ok(v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
}

pub async fn upsert(app: &App, actor: &Actor, context_id: &str, c: ContextChat) -> Result<ContextRoom> {
    if !actor.is_service() {
        return Err(ChatError::Forbidden("only the site (a service token) binds rooms to contexts".into()));
    }
    check_id("contextId", context_id)?;
    let title = text("title", c.title, MAX_NAME_CHARS)?;
    let status = text("status", c.status, MAX_STATUS_CHARS)?;
    let url = text("url", c.url, MAX_URL_CHARS)?;
    if let Some(u) = &url {
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.contains(char::is_whitespace) {
            return Err(ChatError::invalid("url", "url must be an http or https URL"));
        }
    }
    if c.members.is_empty() || c.members.len() > MAX_CONTEXT_MEMBERS {
        return Err(ChatError::invalid("members", format!("members lists 1 to {MAX_CONTEXT_MEMBERS} users")));
    }
    let mut people: Vec<UserRef> = Vec::new();
    for m in c.members {
        check_id("members", &m.user_id)?;
        let name = text("members", m.name, MAX_NAME_CHARS)?;
        if !people.iter().any(|p| p.user_id == m.user_id) {
            people.push(UserRef { user_id: m.user_id, name });
        }
    }
    let context = RoomContext { id: context_id.to_string(), title: title.clone(), url, status };
    let room_id = ids::order_room_id(context_id);
    let now = app.now();
    let room = RoomRecord {
        name: title.clone(),
        context: Some(context.clone()),
        ..RoomRecord::new(room_id.clone(), RoomType::Order, &actor.user_id, now, people.len() as u32, MAX_CONTEXT_MEMBERS as u32 * 2)
    };
    let members: Vec<MemberRecord> = people.iter().map(|p| MemberRecord::new(&room, p, MemberRole::Member, now)).collect();
    let created = app.store.create_room(&room, &members).await?;
    if created {
        app.register_members(&room_id, &members.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>()).await?;
        for m in &members {
            app.fanout_users([m.user_id.as_str()], &ServerFrame::RoomJoined { room: room.view(m) }, None).await;
        }
    } else {
        let existing = app.store.get_room(&room_id).await?.ok_or_else(|| ChatError::internal("room vanished"))?;
        if existing.room_type != RoomType::Order {
            return Err(ChatError::Conflict(format!("room {room_id} is not an order room")));
        }
        if existing.context.as_ref() != Some(&context) || existing.name != title {
            app.store.set_room_context(&room_id, title.as_deref(), &context).await?;
        }
        let present: Vec<String> = app.store.list_members(&room_id).await?.into_iter().map(|m| m.user_id).collect();
        let missing: Vec<UserRef> = people.into_iter().filter(|p| !present.contains(&p.user_id)).collect();
        if !missing.is_empty() {
            match add_members(app, actor, &room_id, missing).await {
                // Another call added them at the same moment: fine, they are members now.
                Ok(_) | Err(ChatError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let last_seq = app.store.room_hint(&room_id).await?.map(|h| h.last_seq).unwrap_or(0);
    let members = app.store.list_members(&room_id).await?.iter().map(|m| m.view(last_seq)).collect();
    Ok(ContextRoom { room_id, created, context, members })
}
