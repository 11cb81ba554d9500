//! Web Push subscriptions: `POST /push/subscriptions` (a browser's `PushSubscription.toJSON()`),
//! `DELETE /push/subscriptions` (`{endpoint}`), and `GET /push/key` (the VAPID public key, the
//! `applicationServerKey` a page subscribes with). The pushes themselves: `crate::push`.

use super::{json_body, json_response, ok, Api, HttpResponse};
use crate::app::Actor;
use crate::error::ChatError;
use crate::push::{subscription_id, PushSubscriptionRecord};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

/// Longest endpoint URL accepted (push services' are a few hundred characters).
pub const MAX_ENDPOINT_CHARS: usize = 2048;

/// Where `GET /push/key` finds the VAPID public key: read from SSM on first use (the rest of the
/// API works without it).
#[derive(Default)]
pub enum PushKey {
    /// Push is not configured: `GET /push/key` answers 404.
    #[default]
    None,
    Ssm {
        sdk: Box<aws_config::SdkConfig>,
        param: String,
        cached: tokio::sync::OnceCell<String>,
    },
}

impl PushKey {
    pub fn from_config(cfg: &crate::config::Config, sdk: &aws_config::SdkConfig) -> PushKey {
        match &cfg.vapid_param {
            Some(param) => PushKey::Ssm { sdk: Box::new(sdk.clone()), param: param.clone(), cached: Default::default() },
            None => PushKey::None,
        }
    }

    async fn public_key(&self) -> Result<String, ChatError> {
        match self {
            PushKey::None => Err(ChatError::NotFound("Web Push is not configured on this server".into())),
            PushKey::Ssm { sdk, param, cached } => cached
                .get_or_try_init(|| async {
                    let text = crate::handlers::ssm_parameter(sdk, param).await.map_err(|e| ChatError::Internal(e.to_string()))?;
                    let keys = crate::push::webpush::VapidKeys::from_json(&text)
                        .map_err(|e| ChatError::Internal(format!("SSM parameter {param}: {e}")))?;
                    Ok::<String, ChatError>(keys.public_key)
                })
                .await
                .cloned(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyBody {
    public_key: String,
}

/// `GET /push/key`: `{publicKey}`, base64url of the 65-byte P-256 point.
pub async fn key(api: &Api, _req: &Request) -> Result<HttpResponse, ChatError> {
    ok(&KeyBody { public_key: api.push_key.public_key().await? })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscribeBody {
    endpoint: String,
    keys: Keys,
    /// What `PushSubscription.toJSON()` carries too (ignored: a push service answers 410 once a
    /// subscription expired, which removes it).
    #[serde(default)]
    #[allow(dead_code)]
    expiration_time: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    p256dh: String,
    auth: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionBody {
    id: String,
    endpoint: String,
    created_at: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UnsubscribeBody {
    endpoint: String,
}

fn person(actor: &Actor) -> Result<(), ChatError> {
    if actor.is_service() {
        return Err(ChatError::Forbidden("push subscriptions belong to people, not to the site's service token".into()));
    }
    Ok(())
}

/// An endpoint the server may push to (see [`crate::push::endpoint`]).
fn check_endpoint(api: &Api, endpoint: &str) -> Result<(), ChatError> {
    if endpoint.is_empty() || endpoint.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(ChatError::invalid("endpoint", format!("endpoint is a URL of 1 to {MAX_ENDPOINT_CHARS} characters")));
    }
    api.push_endpoints.check(endpoint).map_err(|why| ChatError::invalid("endpoint", format!("endpoint {why}")))
}

/// `POST /push/subscriptions`: registers the caller's browser (again: the same endpoint replaces
/// its keys). `201 {id, endpoint, createdAt}`.
pub async fn subscribe(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    person(actor)?;
    let b: SubscribeBody = json_body(req)?;
    check_endpoint(api, &b.endpoint)?;
    crate::push::webpush::subscription_keys(&b.keys.p256dh, &b.keys.auth)
        .map_err(|e| ChatError::invalid(if e.contains("auth") { "keys.auth" } else { "keys.p256dh" }, e))?;
    let rec = PushSubscriptionRecord {
        user_id: actor.user_id.clone(),
        id: subscription_id(&b.endpoint),
        endpoint: b.endpoint,
        p256dh: b.keys.p256dh,
        auth: b.keys.auth,
        created_at: api.app.now(),
    };
    api.app.store.put_push_subscription(&rec).await?;
    Ok(json_response(StatusCode::CREATED, &SubscriptionBody { id: rec.id, endpoint: rec.endpoint, created_at: rec.created_at }))
}

/// `DELETE /push/subscriptions` `{endpoint}`: `204`, or `404` when the caller has no such
/// subscription.
pub async fn unsubscribe(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    person(actor)?;
    let b: UnsubscribeBody = json_body(req)?;
    if b.endpoint.is_empty() || b.endpoint.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(ChatError::invalid("endpoint", format!("endpoint is a URL of 1 to {MAX_ENDPOINT_CHARS} characters")));
    }
    if !api.app.store.delete_push_subscription(&actor.user_id, &subscription_id(&b.endpoint)).await? {
        return Err(ChatError::NotFound("no push subscription with this endpoint".into()));
    }
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}
