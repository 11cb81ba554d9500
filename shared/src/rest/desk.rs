//! The support team's tools over REST: saved replies (`GET /support/replies` for operators;
//! `POST`, `PUT /support/replies/{id}`, `DELETE /support/replies/{id}` for admins and the site)
//! and reports (`GET /support/reports?from&to&operatorId`). The rules are in
//! `crate::support::{replies, reports}`.

use super::{json_body, json_response, ok, path_param, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::error::ChatError;
use crate::support::replies::{self, ReplyInput, SavedReply};
use crate::support::{reports, settings, visitors};
use lambda_http::http::HeaderValue;
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
    let text = q.str("q")?;
    if let Some(t) = &text {
        visitors::check_query(t)?;
    }
    let sessions = match (q.str("visitorId")?, text) {
        (Some(v), _) => visitors::of_visitor(&api.app, actor, &v).await?,
        (None, Some(text)) => visitors::find(&api.app, actor, &text).await?,
        (None, None) => return Err(ChatError::invalid("visitorId", "give visitorId or q")),
    };
    ok(&SessionsBody { sessions })
}

fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// `GET /support/settings`: public (the widget reads it before any token), cacheable for a
/// minute, with an ETag: `If-None-Match` with the current one is a `304` without a body.
pub async fn get_settings(api: &Api, req: &Request) -> Result<HttpResponse, ChatError> {
    let v = settings::get(&api.app).await?;
    let tag = etag(v.version);
    let matches = req.headers().get("if-none-match").and_then(|h| h.to_str().ok()).is_some_and(|h| h.split(',').any(|t| t.trim() == tag));
    let mut r = if matches {
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, &v)
    };
    let h = r.headers_mut();
    h.insert("etag", HeaderValue::from_str(&tag).expect("a number in quotes"));
    h.insert("cache-control", HeaderValue::from_static("public, max-age=60"));
    Ok(r)
}

/// `PUT /support/settings`: the whole document, validated; `If-Match` (the version read) makes
/// a change made meanwhile a `409`.
pub async fn put_settings(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let expected = match req.headers().get("if-match").map(|h| h.to_str().unwrap_or_default().trim().trim_matches('"')) {
        None | Some("*") => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| ChatError::invalid("If-Match", "If-Match is the ETag of GET /support/settings"))?),
    };
    let body: settings::Settings = json_body(req)?;
    let v = settings::put(&api.app, actor, body, expected).await?;
    let mut r = json_response(StatusCode::OK, &v);
    r.headers_mut().insert("etag", HeaderValue::from_str(&etag(v.version)).expect("a number in quotes"));
    Ok(r)
}

pub async fn report(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let q = Query::of(req);
    let from = q.str("from")?.ok_or_else(|| ChatError::invalid("from", "from (YYYY-MM-DD) is required"))?;
    let to = q.str("to")?.ok_or_else(|| ChatError::invalid("to", "to (YYYY-MM-DD) is required"))?;
    ok(&reports::report(&api.app, actor, &from, &to, q.str("operatorId")?).await?)
}
