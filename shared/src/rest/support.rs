//! `POST /support/guest`: a short-lived guest token for a website visitor (role `guest`), so the
//! widget can open a socket without the site signing anything. A returning visitor sends back
//! the `guestId` it keeps (in localStorage) and gets a token for the same id, hence its open
//! session and history. At most [`GUEST_TOKENS_PER_MINUTE`] per source IP per minute.
//!
//! A site that knows its user signs the token itself instead (HS256 with the same secret, or
//! its identity provider's keys): `sub` = its user id, `role` = `guest` (or `user`), `name`.

use super::{json_body, json_response, Api, HttpResponse};
use crate::auth::Claims;
use crate::error::ChatError;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

pub const GUEST_TOKENS_PER_MINUTE: u32 = 20;
/// A guest token lives this long; the widget asks for a new one (same guest id) on reconnect.
pub const GUEST_TOKEN_SECS: u64 = 3600;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GuestBody {
    /// The id this browser was given before (`g_` + 32 hex digits).
    #[serde(default)]
    guest_id: Option<String>,
    /// The name the visitor typed, if any (shown to operators).
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GuestToken {
    token: String,
    guest_id: String,
    /// Milliseconds since the epoch.
    expires_at: u64,
    /// The WebSocket URL to connect to with the token.
    ws_url: String,
}

fn valid_guest_id(id: &str) -> bool {
    id.len() == 34 && id.starts_with("g_") && id[2..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub async fn guest(api: &Api, req: &Request) -> Result<HttpResponse, ChatError> {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let body: GuestBody = if req.body().is_empty() { GuestBody::default() } else { json_body(req)? };
    if let Some(id) = &body.guest_id {
        if !valid_guest_id(id) {
            return Err(ChatError::invalid("guestId", "guestId is the id this endpoint gave before (g_ and 32 hex digits)"));
        }
    }
    // Checked as sent (as the API document states it), then trimmed.
    if body.name.as_ref().is_some_and(|n| n.chars().count() > crate::protocol::MAX_NAME_CHARS || n.chars().any(char::is_control)) {
        return Err(ChatError::invalid(
            "name",
            format!("name is at most {} characters without control characters", crate::protocol::MAX_NAME_CHARS),
        ));
    }
    let name = body.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let now = api.app.now();
    let minute = now / 60_000;
    if api.app.store.count(&format!("ip#{ip}#{minute}"), (minute + 2) * 60).await? > u64::from(GUEST_TOKENS_PER_MINUTE) {
        return Err(ChatError::RateLimited(format!("at most {GUEST_TOKENS_PER_MINUTE} guest tokens per minute from one address")));
    }
    let guest_id = body.guest_id.unwrap_or_else(|| format!("g_{}", crate::ids::hex(&crate::ids::random_bytes::<16>())));
    let exp = now / 1000 + GUEST_TOKEN_SECS;
    let claims = Claims {
        sub: guest_id.clone(),
        name,
        role: Some("guest".into()),
        exp,
        iat: Some(now / 1000),
        iss: api.issuer.clone(),
        aud: api.audience.clone(),
        nbf: None,
    };
    let token = api
        .verifier
        .sign_hs256(&claims)
        .ok_or_else(|| ChatError::Internal("guest tokens need the HS256 secret (JwtSecretParameterName)".into()))?;
    let ws_url = api.ws_url.clone();
    Ok(json_response(StatusCode::CREATED, &GuestToken { token, guest_id, expires_at: exp * 1000, ws_url }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn guest_ids_are_checked() {
        assert!(super::valid_guest_id("g_0123456789abcdef0123456789abcdef"));
        assert!(!super::valid_guest_id("g_0123456789ABCDEF0123456789abcdef"));
        assert!(!super::valid_guest_id("alice"));
    }
}
