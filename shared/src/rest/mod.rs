//! The REST API: an API Gateway HTTP API (payload format 2.0) in front of the `api` function
//! (lambda_http). Each route is declared once in [`routes!`] below (its route key, whether it needs
//! a token, its handler) and is a thin translation of HTTP to the same chat rules the socket uses
//! (`cmd/`), one file per route group, so the two can never disagree:
//!
//! - [`chats`]: `GET /chats`, `GET /chats/{id}`, archive, members;
//! - [`messages`]: history and sending;
//! - [`files`]: attachments' presigned uploads and downloads;
//! - [`contexts`]: order-bound rooms (the site's `service` token);
//! - [`search`]: full-text search;
//! - [`support`]: guest tokens for the support widget;
//! - [`push`]: Web Push subscriptions and the VAPID public key;
//! - [`desk`]: the support team's saved replies and reports.
//!
//! Authentication is `Authorization: Bearer <JWT>`, verified by the same [`Verifier`] as
//! `$connect`. Every error is `application/problem+json` ([`Problem`]).

pub mod chats;
pub mod contexts;
pub mod desk;
pub mod files;
pub mod messages;
pub mod push;
pub mod search;
pub mod support;

use crate::app::{Actor, App};
use crate::auth::Verifier;
use crate::error::{ChatError, ErrorCode};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Declares the routes: `"METHOD /path" => public|user handler;` — `public` handlers answer anyone
/// (`(api, req)`), `user` ones the bearer of a verified token (`(api, actor, req)`).
macro_rules! routes {
    ($( $key:literal => $access:ident $handler:path; )*) => {
        /// Every route the function serves, as API Gateway route keys. The template declares
        /// exactly these, and `docs/openapi.yaml` describes exactly these (tests keep the three
        /// in step).
        pub const ROUTES: &[&str] = &[$( $key ),*];

        async fn route_request(api: &Api, route: &str, req: &Request) -> Result<HttpResponse, ChatError> {
            match route {
                $( $key => routes!(@call $access $handler, api, req), )*
                other => Err(ChatError::NotFound(format!("no route {other}"))),
            }
        }
    };
    (@call public $handler:path, $api:ident, $req:ident) => { $handler($api, $req).await };
    (@call user $handler:path, $api:ident, $req:ident) => {{
        let actor = authenticate($api, $req).await?;
        $handler($api, &actor, $req).await
    }};
}

routes! {
    "GET /health" => public health;
    "GET /chats" => user chats::list;
    "GET /chats/{id}" => user chats::get;
    "GET /chats/{id}/messages" => user messages::history;
    "POST /chats/{id}/messages" => user messages::post;
    "POST /chats/{id}/archive" => user chats::archive;
    "DELETE /chats/{id}/archive" => user chats::unarchive;
    "POST /chats/{id}/members" => user chats::add_members;
    "PUT /contexts/{contextId}/chat" => user contexts::put;
    "GET /search" => user search::get;
    "GET /openapi.yaml" => public openapi;
    "POST /support/guest" => public support::guest;
    "POST /chats/{id}/uploads" => user files::upload;
    "GET /chats/{id}/attachments" => user files::download;
    "GET /push/key" => public push::key;
    "POST /push/subscriptions" => user push::subscribe;
    "DELETE /push/subscriptions" => user push::unsubscribe;
    "GET /support/replies" => user desk::list_replies;
    "POST /support/replies" => user desk::create_reply;
    "PUT /support/replies/{id}" => user desk::update_reply;
    "DELETE /support/replies/{id}" => user desk::delete_reply;
    "GET /support/reports" => user desk::report;
    "GET /support/sessions" => user desk::sessions;
}

/// `GET /health`.
async fn health(_api: &Api, _req: &Request) -> Result<HttpResponse, ChatError> {
    ok(&serde_json::json!({ "status": "ok" }))
}

/// `GET /openapi.yaml`: the OpenAPI document.
async fn openapi(_api: &Api, _req: &Request) -> Result<HttpResponse, ChatError> {
    let mut r = Response::new(Body::Text(OPENAPI.to_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    Ok(r)
}

/// Largest request body, in bytes (a message is at most 16 KiB of content; JSON escaping and the
/// other fields fit in this).
pub const MAX_BODY_BYTES: usize = 128 * 1024;

pub struct Api {
    pub app: App,
    pub verifier: Verifier,
    /// The WebSocket URL clients connect to (`wss://…/stage`), told to guests with their token.
    pub ws_url: String,
    /// `iss` / `aud` put in the tokens this API signs (guest tokens), when configured.
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// The VAPID public key `GET /push/key` answers with.
    pub push_key: push::PushKey,
    /// Which endpoints `POST /push/subscriptions` accepts.
    pub push_endpoints: crate::push::endpoint::EndpointPolicy,
}

impl Api {
    pub fn new(app: App, verifier: Verifier, cfg: &crate::config::Config) -> Api {
        let ws_url = cfg.ws_endpoint.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        Api {
            app,
            verifier,
            ws_url,
            issuer: cfg.jwt_issuer.clone(),
            audience: cfg.jwt_audience.clone(),
            push_key: push::PushKey::None,
            push_endpoints: cfg.push_endpoints.clone(),
        }
    }

    pub fn with_push_key(self, push_key: push::PushKey) -> Api {
        Api { push_key, ..self }
    }
}

pub type HttpResponse = Response<Body>;

/// An RFC 9457 problem: `type`, `title`, `status`, `detail`, plus the client error `code` (the
/// same codes as the socket's error frames) and the offending `field`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::NotMember => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidFrame => StatusCode::BAD_REQUEST,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Conflict | ErrorCode::RoomFull => StatusCode::CONFLICT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn title_of(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthorized => "Not authenticated",
        ErrorCode::Forbidden => "Not allowed",
        ErrorCode::NotMember => "Not a member of this room",
        ErrorCode::NotFound => "Not found",
        ErrorCode::InvalidFrame => "Invalid request",
        ErrorCode::TooLarge => "Too large",
        ErrorCode::RateLimited => "Too many requests",
        ErrorCode::Conflict => "Conflict",
        ErrorCode::RoomFull => "Room full",
        ErrorCode::Internal => "Internal error",
    }
}

impl Problem {
    pub fn from_error(e: &ChatError) -> Problem {
        let code = e.code();
        Problem {
            kind: format!("/problems/{}", code.as_str()),
            title: title_of(code).to_string(),
            status: status_of(code).as_u16(),
            detail: e.client_message(),
            code,
            field: e.field(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut r = json_response(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), self);
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match self.code {
            ErrorCode::Unauthorized => {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ErrorCode::RateLimited => {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
            }
            _ => {}
        }
        r
    }
}

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let mut r = Response::new(Body::Text(serde_json::to_string(body).expect("responses serialize")));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn ok<T: Serialize>(body: &T) -> Result<HttpResponse, ChatError> {
    Ok(json_response(StatusCode::OK, body))
}

/// Handles one request; never fails (every error is a problem response).
pub async fn handle(api: &Api, req: Request) -> HttpResponse {
    let route = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let result = route_request(api, &route, &req).await;
    match result {
        Ok(r) => r,
        Err(e) => {
            if let ChatError::Internal(detail) = &e {
                let request_id = match req.request_context_ref() {
                    Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
                    _ => String::new(),
                };
                tracing::error!(route, request_id, detail, "internal error");
            }
            Problem::from_error(&e).response()
        }
    }
}

/// The OpenAPI document, served at `GET /openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");

/// The caller, from `Authorization: Bearer <JWT>`.
async fn authenticate(api: &Api, req: &Request) -> Result<Actor, ChatError> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).filter(|t| !t.is_empty())
    else {
        return Err(ChatError::Unauthorized("send Authorization: Bearer <token>".into()));
    };
    match api.verifier.verify(token).await {
        Ok(i) => Ok(Actor { user_id: i.user_id, name: i.name, role: i.role }),
        Err(crate::auth::AuthError::Expired) => Err(ChatError::Unauthorized("the token has expired".into())),
        Err(crate::auth::AuthError::Keys(e)) => Err(ChatError::Internal(format!("JWKS: {e}"))),
        Err(_) => Err(ChatError::Unauthorized("the token is not valid".into())),
    }
}

/// A path parameter (API Gateway decodes them).
pub(crate) fn path_param(req: &Request, name: &str) -> Result<String, ChatError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_string)
        .ok_or_else(|| ChatError::invalid(name, format!("missing path parameter {name}")))
}

/// Query parameters; each appears at most once.
pub(crate) struct Query<'a>(&'a Request);

impl<'a> Query<'a> {
    pub fn of(req: &'a Request) -> Self {
        Query(req)
    }
    pub fn str(&self, name: &str) -> Result<Option<String>, ChatError> {
        let Some(q) = self.0.query_string_parameters_ref() else { return Ok(None) };
        match q.all(name) {
            None => Ok(None),
            Some(v) if v.len() > 1 => Err(ChatError::invalid(name, format!("{name} is given more than once"))),
            Some(v) => Ok(v.first().map(|s| s.to_string())),
        }
    }
    /// A whole number up to [`whole::MAX`](crate::protocol::whole::MAX) (JSON's safe integers).
    pub fn num<T: TryFrom<u64>>(&self, name: &str) -> Result<Option<T>, ChatError> {
        let bad = || ChatError::invalid(name, format!("{name} must be a whole number from 0 to {}", crate::protocol::whole::MAX));
        match self.str(name)? {
            None => Ok(None),
            Some(v) => v.parse::<u64>().ok().and_then(crate::protocol::whole::in_range).map(Some).ok_or_else(bad),
        }
    }
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ChatError> {
        match self.str(name)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ChatError::invalid(name, format!("{name} is true or false"))),
        }
    }
}

/// The JSON body, naming the offending field on failure.
pub(crate) fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ChatError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ChatError::TooLarge(format!("the body is {} bytes; the limit is {MAX_BODY_BYTES}", bytes.len())));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ChatError::InvalidFrame { field: None, message: "the request needs a JSON body".into() });
    }
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let ct = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if ct != "application/json" && !ct.ends_with("+json") {
            return Err(ChatError::InvalidFrame { field: None, message: format!("the body must be application/json, not {ct}") });
        }
    }
    // Every body is a JSON object (serde would also read a struct from an array).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ChatError::InvalidFrame { field: None, message: "the body must be a JSON object".into() });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." { inner.split('`').nth(1).map(str::to_string) } else { Some(path) };
        ChatError::InvalidFrame { field, message: format!("the body is not valid: {inner}") }
    })?;
    de.end().map_err(|e| ChatError::InvalidFrame { field: None, message: format!("the body is not valid JSON: {e}") })?;
    Ok(value)
}
