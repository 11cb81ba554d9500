//! The support team's tools over REST: saved replies (`GET /support/replies` for operators;
//! `POST`, `PUT /support/replies/{id}`, `DELETE /support/replies/{id}` for admins and the site)
//! and reports (`GET /support/reports?from&to&operatorId`). The rules are in
//! `crate::support::{replies, reports}`.

use super::{json_body, json_response, ok, path_param, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::error::ChatError;
use crate::support::replies::{self, ReplyInput, SavedReply};
use crate::support::{reports, visitors};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
struct RepliesBody {
    replies: Vec<SavedReply>,
}

#[derive(Serialize)]
struct ReplyBody {
    reply: SavedReply,
}

pub async fn list_replies(api: &Api, actor: &Actor, _req: &Request) -> Result<HttpResponse, ChatError> {
    ok(&RepliesBody { replies: replies::list(&api.app, actor).await? })
}

pub async fn create_reply(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let input: ReplyInput = json_body(req)?;
    let reply = replies::create(&api.app, actor, input).await?;
    Ok(json_response(StatusCode::CREATED, &ReplyBody { reply }))
}

pub async fn update_reply(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let id = path_param(req, "id")?;
    let input: ReplyInput = json_body(req)?;
    ok(&ReplyBody { reply: replies::update(&api.app, actor, &id, input).await? })
}

pub async fn delete_reply(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let id = path_param(req, "id")?;
    replies::delete(&api.app, actor, &id).await?;
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

#[derive(Serialize)]
struct SessionsBody {
    sessions: Vec<crate::protocol::SupportSession>,
}

/// `GET /support/sessions?visitorId` (a visitor's sessions) or `?q` (by the visitor's name or
/// e-mail): operators.
pub async fn sessions(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let q = Query::of(req);
    let sessions = match (q.str("visitorId")?, q.str("q")?) {
        (Some(v), _) => visitors::of_visitor(&api.app, actor, &v).await?,
        (None, Some(text)) => visitors::find(&api.app, actor, &text).await?,
        (None, None) => return Err(ChatError::invalid("visitorId", "give visitorId or q")),
    };
    ok(&SessionsBody { sessions })
}

pub async fn report(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let q = Query::of(req);
    let from = q.str("from")?.ok_or_else(|| ChatError::invalid("from", "from (YYYY-MM-DD) is required"))?;
    let to = q.str("to")?.ok_or_else(|| ChatError::invalid("to", "to (YYYY-MM-DD) is required"))?;
    ok(&reports::report(&api.app, actor, &from, &to, q.str("operatorId")?).await?)
}
