//! Token verification on `$connect`: HS256 with a configured secret, and/or RS256/ES256 against a
//! JWKS URL (Cognito, Auth0). Claims: `sub`, `name`, `role` (`user` | `operator` | `guest`), `exp`.
//! `alg: none`, unknown algorithms, wrong keys, expired or malformed tokens are all refused.

use crate::model::Role;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Not valid before (epoch seconds), checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Who the token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub name: Option<String>,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("no token: pass it in Sec-WebSocket-Protocol or ?token=")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("key lookup failed: {0}")]
    Keys(String),
}

#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub hs256_secret: Option<Vec<u8>>,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

pub struct Verifier {
    cfg: AuthConfig,
    jwks: RwLock<Option<(Instant, JwkSet)>>,
}

const JWKS_TTL: Duration = Duration::from_secs(600);
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);
const MAX_ID_CHARS: usize = crate::protocol::MAX_ID_CHARS;

impl Verifier {
    pub fn new(cfg: AuthConfig) -> Verifier {
        Verifier { cfg, jwks: RwLock::new(None) }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = 30;
        // A token that says it is not valid yet is refused (with the same 30 s of leeway).
        v.validate_nbf = true;
        v.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();
        match &self.cfg.audience {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        if let Some(i) = &self.cfg.issuer {
            v.set_issuer(&[i]);
        }
        v
    }

    /// Signs a token with the HS256 secret (guest tokens); `None` without one.
    pub fn sign_hs256(&self, claims: &Claims) -> Option<String> {
        self.cfg.hs256_secret.as_ref().map(|s| mint_hs256(s, claims))
    }

    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => {
                let secret = self.cfg.hs256_secret.as_ref().ok_or_else(|| AuthError::Invalid("HS256 tokens are not accepted".into()))?;
                DecodingKey::from_secret(secret)
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let kid = header.kid.clone().ok_or_else(|| AuthError::Invalid("token has no kid".into()))?;
                self.jwk_key(&kid).await?
            }
            other => return Err(AuthError::Invalid(format!("algorithm {other:?} is not accepted"))),
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation(header.alg)).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(e.to_string()),
        })?;
        let c = data.claims;
        if c.sub.is_empty() || c.sub.chars().count() > MAX_ID_CHARS || c.sub.chars().any(char::is_control) {
            return Err(AuthError::Invalid("sub must be 1 to 128 characters without control characters".into()));
        }
        let role = match c.role.as_deref() {
            None | Some("user") => Role::User,
            Some("operator") => Role::Operator,
            Some("admin") => Role::Admin,
            Some("guest") => Role::Guest,
            Some("service") => Role::Service,
            Some(other) => return Err(AuthError::Invalid(format!("unknown role {other}"))),
        };
        let name = c
            .name
            .map(|n| n.chars().filter(|ch| !ch.is_control()).take(crate::protocol::MAX_NAME_CHARS).collect::<String>())
            .filter(|n| !n.is_empty());
        Ok(Identity { user_id: c.sub, name, role })
    }

    async fn jwk_key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let url = self.cfg.jwks_url.as_ref().ok_or_else(|| AuthError::Invalid("RS256/ES256 tokens need a JWKS URL".into()))?;
        {
            let cache = self.jwks.read().await;
            if let Some((at, set)) = cache.as_ref() {
                if let Some(jwk) = set.find(kid) {
                    if at.elapsed() < JWKS_TTL {
                        return DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Keys(e.to_string()));
                    }
                } else if at.elapsed() < JWKS_MIN_REFRESH {
                    return Err(AuthError::Invalid(format!("unknown kid {kid}")));
                }
            }
        }
        let body = http_get(url).await.map_err(AuthError::Keys)?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| AuthError::Keys(format!("JWKS is not valid: {e}")))?;
        let key = set.find(kid).map(DecodingKey::from_jwk);
        *self.jwks.write().await = Some((Instant::now(), set));
        match key {
            Some(k) => k.map_err(|e| AuthError::Keys(e.to_string())),
            None => Err(AuthError::Invalid(format!("unknown kid {kid}"))),
        }
    }
}

/// GET over HTTPS (or HTTP, for local key servers), for the JWKS.
async fn http_get(url: &str) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<hyper::body::Bytes>> = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad JWKS URL {url}: {e}"))?;
    let resp = tokio::time::timeout(Duration::from_secs(3), client.get(uri))
        .await
        .map_err(|_| format!("{url}: timed out"))?
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let body = resp.into_body().collect().await.map_err(|e| format!("{url}: {e}"))?;
    Ok(body.to_bytes().to_vec())
}

/// Signs an HS256 token (development tokens, tests).
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).expect("HS256 signing cannot fail")
}

/// Finds the token in a `$connect` request: `?token=` or the `Sec-WebSocket-Protocol` header
/// (browsers cannot set other headers). Returns the token and the subprotocol to answer with:
/// the first offered protocol that is not the token (e.g. `chat.v1`), else the token itself.
pub fn token_from_request(query_token: Option<&str>, protocol_header: Option<&str>) -> Option<(String, Option<String>)> {
    let offered: Vec<&str> = protocol_header.map(|h| h.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let jwt_like = |s: &str| s.matches('.').count() == 2;
    if let Some(t) = offered.iter().find(|p| jwt_like(p)) {
        let answer = offered.iter().find(|p| !jwt_like(p)).unwrap_or(t).to_string();
        return Some((t.to_string(), Some(answer)));
    }
    let answer = offered.first().map(|s| s.to_string());
    query_token.filter(|t| !t.is_empty()).map(|t| (t.to_string(), answer))
}

/// The origins whose pages may open a socket (`ALLOWED_ORIGINS`): exact origins
/// (`https://shop.example.com`, compared without case and trailing `/`) or one level of wildcard
/// subdomains (`https://*.example.com`). An empty list allows every origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// `"*"` or an empty string allows every origin; otherwise a comma-separated list.
    pub fn parse(list: &str) -> OriginPolicy {
        let allowed: Vec<String> =
            list.split(',').map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()).filter(|o| !o.is_empty()).collect();
        if allowed.iter().any(|o| o == "*") {
            return OriginPolicy::default();
        }
        OriginPolicy { allowed }
    }

    pub fn allows_any(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether a handshake carrying `origin` may connect. A request without an `Origin` header
    /// does not come from a web page (servers, native apps): the origin check cannot apply to it
    /// and the token alone decides.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.allows_any() {
            return true;
        }
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        self.allowed.iter().any(|a| match a.split_once("://*.") {
            Some((scheme, domain)) => origin
                .strip_prefix(scheme)
                .and_then(|r| r.strip_prefix("://"))
                .and_then(|host| host.strip_suffix(domain))
                .and_then(|sub| sub.strip_suffix('.'))
                .is_some_and(|sub| !sub.is_empty() && !sub.contains('.') && !sub.contains('/')),
            None => *a == origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_matched_exactly_or_by_one_wildcard_label() {
        let any = OriginPolicy::parse(" * ");
        assert!(any.allows_any() && any.allows(Some("https://evil.example")));
        assert!(OriginPolicy::parse("").allows(Some("https://evil.example")));
        let p = OriginPolicy::parse("https://Shop.example.com/, https://*.example.org, http://localhost:3000");
        assert!(p.allows(None), "no Origin: not a browser page");
        assert!(p.allows(Some("https://shop.example.com")));
        assert!(p.allows(Some("HTTPS://SHOP.EXAMPLE.COM")));
        assert!(p.allows(Some("http://localhost:3000")));
        assert!(p.allows(Some("https://help.example.org")));
        for bad in [
            "https://evil.example",
            "http://shop.example.com",
            "https://shop.example.com.evil.example",
            "https://example.org",
            "https://a.b.example.org",
            "https://evilexample.org",
            "http://help.example.org",
            "null",
            "http://localhost:3001",
        ] {
            assert!(!p.allows(Some(bad)), "{bad}");
        }
    }

    fn claims(exp_offset: i64) -> Claims {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        Claims {
            sub: "alice".into(),
            name: Some("Alice".into()),
            role: Some("operator".into()),
            exp: (now + exp_offset) as u64,
            iat: None,
            iss: None,
            aud: None,
            nbf: None,
        }
    }

    fn verifier(secret: &[u8]) -> Verifier {
        Verifier::new(AuthConfig { hs256_secret: Some(secret.to_vec()), ..Default::default() })
    }

    #[tokio::test]
    async fn good_token_passes() {
        let t = mint_hs256(b"s3cret", &claims(60));
        let id = verifier(b"s3cret").verify(&t).await.unwrap();
        assert_eq!(id, Identity { user_id: "alice".into(), name: Some("Alice".into()), role: Role::Operator });
    }

    #[tokio::test]
    async fn bad_tokens_fail() {
        let v = verifier(b"s3cret");
        assert_eq!(v.verify(&mint_hs256(b"s3cret", &claims(-120))).await, Err(AuthError::Expired));
        assert!(v.verify(&mint_hs256(b"other", &claims(60))).await.is_err(), "wrong key");
        assert!(v.verify("not.a.token").await.is_err(), "malformed");
        // alg: none, with the same claims
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&serde_json::to_string(&claims(60)).unwrap()));
        assert!(v.verify(&none).await.is_err(), "alg none");
        let mut bad_role = claims(60);
        bad_role.role = Some("root".into());
        assert!(v.verify(&mint_hs256(b"s3cret", &bad_role)).await.is_err(), "unknown role");
        // Not valid yet: refused; valid from a moment ago (or within the leeway): accepted.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let future = Claims { nbf: Some(now + 3600), ..claims(7200) };
        assert!(v.verify(&mint_hs256(b"s3cret", &future)).await.is_err(), "nbf in the future");
        let started = Claims { nbf: Some(now - 5), ..claims(60) };
        assert!(v.verify(&mint_hs256(b"s3cret", &started)).await.is_ok(), "nbf in the past");
    }

    /// ES256 tokens verified against a JWKS served over HTTP, with key rotation by `kid`.
    #[tokio::test]
    async fn es256_tokens_are_verified_against_a_jwks_url() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref(); // 0x04 || X || Y
        let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig", "x": b64(&point[1..33]), "y": b64(&point[33..65])}]}).to_string();
        // A one-file JWKS server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    jwks.len(),
                    jwks
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        let v = Verifier::new(AuthConfig {
            jwks_url: Some(url),
            issuer: Some("https://idp.example".into()),
            audience: Some("chat".into()),
            ..Default::default()
        });
        let sign = |kid: &str, iss: &str| {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(kid.into());
            let mut c = claims(60);
            c.iss = Some(iss.into());
            c.aud = Some("chat".into());
            jsonwebtoken::encode(&header, &c, &EncodingKey::from_ec_der(pkcs8.as_ref())).unwrap()
        };
        assert_eq!(v.verify(&sign("k1", "https://idp.example")).await.unwrap().user_id, "alice");
        assert!(v.verify(&sign("k1", "https://evil.example")).await.is_err(), "wrong issuer");
        assert!(v.verify(&sign("k2", "https://idp.example")).await.is_err(), "unknown kid");
        // HS256 is refused when no secret is configured (no algorithm confusion).
        assert!(v.verify(&mint_hs256(b"anything", &claims(60))).await.is_err());
    }

    #[test]
    fn token_sources() {
        assert_eq!(token_from_request(Some("a.b.c"), None), Some(("a.b.c".into(), None)));
        assert_eq!(token_from_request(None, Some("chat.v1, x.y.z")), Some(("x.y.z".into(), Some("chat.v1".into()))));
        assert_eq!(token_from_request(None, Some("x.y.z")), Some(("x.y.z".into(), Some("x.y.z".into()))));
        assert_eq!(token_from_request(None, Some("chat.v1")), None);
    }
}
