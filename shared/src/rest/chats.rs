//! `GET /chats`, `GET /chats/{id}`, `POST|DELETE /chats/{id}/archive`, `POST /chats/{id}/members`.

use super::{json_body, ok, path_param, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::cmd::room::{self, ListQuery};
use crate::error::ChatError;
use crate::protocol::{MemberView, RoomView, UserRef};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

/// REST pages are smaller than a socket frame's worth by default.
pub const DEFAULT_LIST_LIMIT: u32 = 20;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoomListBody {
    rooms: Vec<RoomView>,
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /chats?limit&cursor&archived=false`: the same rooms and unread counts as `room.list`.
pub async fn list(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let q = Query::of(req);
    let query = ListQuery {
        limit: Some(q.num("limit")?.unwrap_or(DEFAULT_LIST_LIMIT)),
        cursor: q.str("cursor")?,
        archived: Some(q.bool("archived")?.unwrap_or(false)),
    };
    let page = room::list_page(&api.app, &actor.user_id, &query, None).await?;
    ok(&RoomListBody { rooms: page.rooms, has_more: page.has_more, next_cursor: page.next_cursor })
}

#[derive(Serialize)]
struct RoomBody {
    room: RoomView,
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<MemberView>>,
}

/// `GET /chats/{id}`: the room as the caller sees it, with every member and their cursors.
pub async fn get(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let (room, members) = room::detail(&api.app, actor, &path_param(req, "id")?).await?;
    ok(&RoomBody { room, members: Some(members) })
}

/// `POST /chats/{id}/archive` (`on`) and `DELETE /chats/{id}/archive`.
/// `POST /chats/{id}/archive`.
pub async fn archive(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    set_archived(api, actor, req, true).await
}

/// `DELETE /chats/{id}/archive`.
pub async fn unarchive(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    set_archived(api, actor, req, false).await
}

async fn set_archived(api: &Api, actor: &Actor, req: &Request, on: bool) -> Result<HttpResponse, ChatError> {
    let room = room::set_archived(&api.app, actor, &path_param(req, "id")?, on).await?;
    ok(&RoomBody { room, members: None })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddMembersBody {
    members: Vec<UserRef>,
}

#[derive(Serialize)]
struct MembersBody {
    added: Vec<MemberView>,
    members: Vec<MemberView>,
}

/// `POST /chats/{id}/members {members: [{userId, name?}]}`: the site, or a group's owner/admins.
pub async fn add_members(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let room_id = path_param(req, "id")?;
    crate::cmd::check_id("id", &room_id)?;
    let body: AddMembersBody = json_body(req)?;
    let added = room::add_members(&api.app, actor, &room_id, body.members).await?;
    let (members, last_seq) = futures_util::try_join!(api.app.store.list_members(&room_id), api.app.store.room_hint(&room_id))?;
    let last_seq = last_seq.map(|h| h.last_seq).unwrap_or(0);
    ok(&MembersBody {
        added: added.iter().map(|m| m.view(last_seq)).collect(),
        members: members.iter().map(|m| m.view(last_seq)).collect(),
    })
}
