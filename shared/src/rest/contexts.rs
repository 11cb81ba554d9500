//! `PUT /contexts/{contextId}/chat`: the room bound to the site's order (or any external id).

use super::{json_body, json_response, path_param, Api, HttpResponse};
use crate::app::Actor;
use crate::cmd::context::{self, ContextChat};
use crate::error::ChatError;
use crate::protocol::{MemberView, RoomContext, UserRef};
use lambda_http::http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    status: Option<String>,
    members: Vec<UserRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextBody {
    room_id: String,
    created: bool,
    context: RoomContext,
    members: Vec<MemberView>,
}

/// `201` when the room was created, `200` when it existed (its description is updated and
/// missing members are added).
pub async fn put(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let context_id = path_param(req, "contextId")?;
    if !actor.is_service() {
        return Err(ChatError::Forbidden("only the site (a service token) binds rooms to contexts".into()));
    }
    let b: PutBody = json_body(req)?;
    let r = context::upsert(&api.app, actor, &context_id, ContextChat { title: b.title, url: b.url, status: b.status, members: b.members })
        .await?;
    let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json_response(status, &ContextBody { room_id: r.room_id, created: r.created, context: r.context, members: r.members }))
}
