//! The `notify` side: Web Push requests to the browsers of the users of a [`PushBatch`].
//!
//! - Payload encryption: RFC 8291 (`aes128gcm`, RFC 8188) with `web-push-native` (RustCrypto).
//! - VAPID (RFC 8292): an ES256 JWT (`aud` = the endpoint's origin, `exp` within 24 h, `sub` the
//!   operator's contact) signed with `jwt-simple`, sent as `Authorization: vapid t=…, k=…`.
//! - A subscription the push service answers 404 or 410 for is gone: it is removed.
//!
//! The VAPID key pair lives in SSM (`VAPID_PARAM`, a SecureString) as JSON:
//! `{"publicKey": "<base64url 65 bytes>", "privateKey": "<base64url 32 bytes>", "subject": "mailto:…"}`
//! (`chatctl vapid` makes one).

use super::endpoint::{EndpointPolicy, PublicResolver};
use super::{PushBatch, PushSubscriptionRecord};
use crate::store::PushStore;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use web_push_native::jwt_simple::prelude::{Claims, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair};

/// How long a push service keeps a push for a browser that is offline (the `TTL` header).
pub const PUSH_TTL_SECS: u64 = 24 * 3600;
/// Lifetime of a VAPID token (RFC 8292: at most 24 hours).
pub const VAPID_TOKEN_HOURS: u64 = 12;
/// Push requests in flight at once.
const SEND_CONCURRENCY: usize = 32;
/// A push service that has not answered in this time is given up on (for this push).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The VAPID key pair and contact of this application server.
pub struct VapidKeys {
    key: ES256KeyPair,
    /// The public key, base64url of the 65-byte uncompressed point: the browser's
    /// `applicationServerKey`.
    pub public_key: String,
    /// `mailto:` or `https:` contact of the operator (the JWT's `sub`).
    pub subject: String,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKeys").field("public_key", &self.public_key).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The JSON kept in SSM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VapidJson {
    pub public_key: String,
    pub private_key: String,
    pub subject: String,
}

impl VapidKeys {
    /// A new key pair.
    pub fn generate(subject: &str) -> Result<VapidKeys, String> {
        check_subject(subject)?;
        let key = ES256KeyPair::generate();
        let public_key = URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
        Ok(VapidKeys { key, public_key, subject: subject.to_string() })
    }

    /// From the JSON in SSM; the public key must be the private key's.
    pub fn from_json(text: &str) -> Result<VapidKeys, String> {
        let j: VapidJson =
            serde_json::from_str(text).map_err(|e| format!("the VAPID parameter is not {{publicKey, privateKey, subject}} JSON: {e}"))?;
        check_subject(&j.subject)?;
        let raw = URL_SAFE_NO_PAD.decode(j.private_key.trim_end_matches('=')).map_err(|e| format!("privateKey is not base64url: {e}"))?;
        let key = ES256KeyPair::from_bytes(&raw).map_err(|e| format!("privateKey is not a P-256 private key (32 bytes): {e}"))?;
        let public_key = URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
        if j.public_key.trim_end_matches('=') != public_key {
            return Err("publicKey is not the public key of privateKey".into());
        }
        Ok(VapidKeys { key, public_key, subject: j.subject })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&VapidJson {
            public_key: self.public_key.clone(),
            private_key: URL_SAFE_NO_PAD.encode(self.key.to_bytes()),
            subject: self.subject.clone(),
        })
        .expect("serializes")
    }

    /// `vapid t=<JWT>, k=<public key>` for a push to `endpoint`.
    pub fn authorization(&self, endpoint: &str) -> Result<String, String> {
        let aud = origin(endpoint)?;
        let claims = Claims::create(web_push_native::jwt_simple::prelude::Duration::from_hours(VAPID_TOKEN_HOURS))
            .with_audience(aud)
            .with_subject(&self.subject);
        let token = self.key.sign(claims).map_err(|e| format!("VAPID signature: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

fn check_subject(subject: &str) -> Result<(), String> {
    if subject.starts_with("mailto:") || subject.starts_with("https://") {
        Ok(())
    } else {
        Err(format!("the VAPID subject is a mailto: or https: URL, not {subject:?}"))
    }
}

/// The origin of a URL (`scheme://host[:port]`, the port only when it is not the scheme's
/// default): the `aud` of a VAPID token.
pub fn origin(endpoint: &str) -> Result<String, String> {
    let uri: hyper::Uri = endpoint.parse().map_err(|e| format!("bad endpoint {endpoint}: {e}"))?;
    let scheme = uri.scheme_str().ok_or_else(|| format!("endpoint without scheme: {endpoint}"))?.to_ascii_lowercase();
    let host = uri.host().ok_or_else(|| format!("endpoint without host: {endpoint}"))?.to_ascii_lowercase();
    Ok(match (scheme.as_str(), uri.port_u16()) {
        ("https", Some(443)) | ("http", Some(80)) | (_, None) => format!("{scheme}://{host}"),
        (_, Some(p)) => format!("{scheme}://{host}:{p}"),
    })
}

/// Encrypts a payload for a subscription (RFC 8291, `aes128gcm`).
pub fn encrypt(sub: &PushSubscriptionRecord, payload: &[u8]) -> Result<Vec<u8>, String> {
    let (public, auth) = subscription_keys(&sub.p256dh, &sub.auth)?;
    web_push_native::encrypt(payload.to_vec(), &public, &auth).map_err(|e| format!("encryption: {e}"))
}

/// Checks and decodes a subscription's keys: `p256dh` a P-256 point (65 bytes uncompressed),
/// `auth` 16 bytes, both base64url.
pub fn subscription_keys(p256dh: &str, auth: &str) -> Result<(web_push_native::p256::PublicKey, web_push_native::Auth), String> {
    let key = URL_SAFE_NO_PAD.decode(p256dh.trim_end_matches('=')).map_err(|_| "keys.p256dh is not base64url".to_string())?;
    if key.len() != 65 || key[0] != 4 {
        return Err("keys.p256dh is an uncompressed P-256 point (65 bytes)".into());
    }
    let public = web_push_native::p256::PublicKey::from_sec1_bytes(&key).map_err(|_| "keys.p256dh is not a point of P-256".to_string())?;
    let secret = URL_SAFE_NO_PAD.decode(auth.trim_end_matches('=')).map_err(|_| "keys.auth is not base64url".to_string())?;
    if secret.len() != 16 {
        return Err("keys.auth is 16 bytes".into());
    }
    Ok((public, web_push_native::Auth::clone_from_slice(&secret)))
}

/// What a push service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// 404 or 410: the subscription expired or was unsubscribed.
    Gone,
    /// The endpoint breaks the [`EndpointPolicy`] (registered before the rules, or the allowed
    /// hosts changed): nothing was sent, and nothing ever will be.
    Refused(String),
    Failed(String),
}

/// Sends one encrypted push (HTTP in Lambda; a memory double in tests).
#[async_trait]
pub trait PushSender: Send + Sync {
    /// `topic`: pushes with the same topic replace each other while undelivered (RFC 8030).
    async fn send(&self, sub: &PushSubscriptionRecord, payload: &[u8], topic: &str) -> SendOutcome;
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector<PublicResolver>>,
    http_body_util::Full<hyper::body::Bytes>,
>;

/// [`PushSender`] over HTTPS (HTTP only for the local platform's test push service), with
/// connections kept alive across invocations of a warm instance. Every endpoint is checked
/// against the [`EndpointPolicy`] before anything is sent, and names are connected to only at
/// their public addresses ([`PublicResolver`]); redirects are not followed.
pub struct WebPushSender {
    vapid: VapidKeys,
    policy: EndpointPolicy,
    client: HttpClient,
}

impl WebPushSender {
    pub fn new(vapid: VapidKeys, policy: EndpointPolicy) -> Result<WebPushSender, String> {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(PublicResolver);
        http.enforce_http(false);
        http.set_connect_timeout(Some(SEND_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Ok(WebPushSender { vapid, policy, client })
    }

    pub fn vapid(&self) -> &VapidKeys {
        &self.vapid
    }

    fn request(
        &self,
        sub: &PushSubscriptionRecord,
        payload: &[u8],
        topic: &str,
    ) -> Result<hyper::Request<http_body_util::Full<hyper::body::Bytes>>, String> {
        let body = encrypt(sub, payload)?;
        hyper::Request::post(&sub.endpoint)
            .header("ttl", PUSH_TTL_SECS.to_string())
            .header("urgency", "normal")
            .header("topic", topic)
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .header("authorization", self.vapid.authorization(&sub.endpoint)?)
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))
    }
}

#[async_trait]
impl PushSender for WebPushSender {
    async fn send(&self, sub: &PushSubscriptionRecord, payload: &[u8], topic: &str) -> SendOutcome {
        if let Err(why) = self.policy.check(&sub.endpoint) {
            return SendOutcome::Refused(format!("endpoint {why}"));
        }
        let req = match self.request(sub, payload, topic) {
            Ok(r) => r,
            Err(e) => return SendOutcome::Failed(e),
        };
        match tokio::time::timeout(SEND_TIMEOUT, self.client.request(req)).await {
            Err(_) => SendOutcome::Failed("timed out".into()),
            Ok(Err(e)) => SendOutcome::Failed(e.to_string()),
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                // The body is small (an error description at most): read it so the connection
                // can be reused.
                let body = http_body_util::BodyExt::collect(resp.into_body()).await.map(|b| b.to_bytes()).unwrap_or_default();
                match status {
                    200..=299 => SendOutcome::Delivered,
                    404 | 410 => SendOutcome::Gone,
                    _ => SendOutcome::Failed(format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]))),
                }
            }
        }
    }
}

/// Records what it would send (the payload in clear); endpoints can be marked gone.
#[derive(Default)]
pub struct MemoryPushSender {
    sent: std::sync::Mutex<Vec<(String, serde_json::Value)>>,
    gone: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl MemoryPushSender {
    pub fn mark_gone(&self, endpoint: &str) {
        self.gone.lock().unwrap().insert(endpoint.to_string());
    }
    /// (endpoint, payload) of every push delivered.
    pub fn sent(&self) -> Vec<(String, serde_json::Value)> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl PushSender for MemoryPushSender {
    async fn send(&self, sub: &PushSubscriptionRecord, payload: &[u8], _topic: &str) -> SendOutcome {
        if self.gone.lock().unwrap().contains(&sub.endpoint) {
            return SendOutcome::Gone;
        }
        if let Err(e) = subscription_keys(&sub.p256dh, &sub.auth) {
            return SendOutcome::Failed(e);
        }
        self.sent.lock().unwrap().push((sub.endpoint.clone(), serde_json::from_slice(payload).unwrap_or_default()));
        SendOutcome::Delivered
    }
}

/// What the notify function did with a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NotifyReport {
    pub users: usize,
    pub sent: usize,
    /// Subscriptions the push service said are gone, or whose endpoint breaks the rules, removed.
    pub removed: usize,
    pub failed: usize,
}

/// The `Topic` of a room's pushes: a newer push of the room replaces an undelivered older one.
pub fn topic(room_id: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, room_id.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..24])
}

/// Sends the batch's payload to every subscription of every user of the batch; removes the
/// subscriptions that are gone. Failures of single pushes are counted, not returned (a retry of
/// the whole batch would push the others twice).
pub async fn deliver(store: &dyn PushStore, sender: &dyn PushSender, batch: &PushBatch) -> NotifyReport {
    let payload = serde_json::to_vec(&batch.payload).expect("payloads serialize");
    let topic = topic(&batch.payload.room_id);
    let mut report = NotifyReport { users: batch.user_ids.len(), ..Default::default() };
    let lists: Vec<(String, crate::error::Result<Vec<PushSubscriptionRecord>>)> = stream::iter(batch.user_ids.iter().cloned())
        .map(|u| async move { (u.clone(), store.push_subscriptions(&u).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut subs = Vec::new();
    for (user, l) in lists {
        match l {
            Ok(l) => subs.extend(l),
            Err(e) => {
                report.failed += 1;
                tracing::warn!(user_id = %user, error = %e, "cannot read the user's push subscriptions");
            }
        }
    }
    let (payload, topic) = (&payload, &topic);
    let outcomes: Vec<(PushSubscriptionRecord, SendOutcome)> = stream::iter(subs)
        .map(|s| async move {
            let o = sender.send(&s, payload, topic).await;
            (s, o)
        })
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    for (s, o) in outcomes {
        match o {
            SendOutcome::Delivered => report.sent += 1,
            SendOutcome::Gone | SendOutcome::Refused(_) => match store.delete_push_subscription(&s.user_id, &s.id).await {
                Ok(_) => {
                    report.removed += 1;
                    match o {
                        SendOutcome::Refused(why) => {
                            tracing::warn!(user_id = %s.user_id, subscription = %s.id, why, "push endpoint refused, nothing sent: subscription removed")
                        }
                        _ => tracing::info!(user_id = %s.user_id, subscription = %s.id, "push subscription gone: removed"),
                    }
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(user_id = %s.user_id, subscription = %s.id, error = %e, "cannot remove a gone push subscription");
                }
            },
            SendOutcome::Failed(e) => {
                report.failed += 1;
                tracing::warn!(user_id = %s.user_id, subscription = %s.id, error = %e, "push failed");
            }
        }
    }
    report
}
