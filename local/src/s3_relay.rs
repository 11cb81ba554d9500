//! A checking relay in front of the local S3 (moto, or LocalStack's): it enforces what S3 enforces
//! and the emulators do not — every request is signed with the stack's credentials, either in its
//! `Authorization` header (the functions' SDK calls) or as a presigned URL (what browsers upload
//! to and download from). A presigned URL holds only for the method, path, query and signed
//! headers (content type and length) it was signed for, until its `X-Amz-Expires`: anything
//! else is answered `403` with S3's own XML error, and nothing reaches the emulator.
//!
//! The functions' `AWS_ENDPOINT_URL_S3` points here, so the presigned URLs they mint do too: the
//! upload tests prove the product's rules against S3's, not against an emulator that accepts
//! anything.

use crate::log::LogSink;
use crate::relay::{Served, Upstream};
use crate::sigv4::Refusal;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Largest request body passed on (S3's single PUT allows 5 GB; locally uploads stay small).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The relay; stops when dropped.
pub struct S3Relay(Served);

struct Relay {
    upstream: Upstream,
    access_key: String,
    secret: String,
    log: LogSink,
}

impl S3Relay {
    /// Listens on a free local port and relays checked requests to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, access_key: &str, secret: &str, log: LogSink) -> Result<S3Relay, String> {
        let upstream = Upstream::new("S3", upstream)?;
        let state = Arc::new(Relay { upstream, access_key: access_key.to_string(), secret: secret.to_string(), log });
        let app = axum::Router::new().fallback(relay).with_state(state).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES));
        Ok(S3Relay(Served::start("S3", app).await?))
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.0.url()
    }
}

/// S3's error document.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let id = crate::util::hex(&crate::util::random_bytes::<8>()).to_uppercase();
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>");
    let mut r = (status, body).into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
    r.headers_mut().insert("x-amz-request-id", HeaderValue::from_str(&id).expect("hex is a header value"));
    r
}

async fn relay(State(st): State<Arc<Relay>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if method == Method::OPTIONS {
        // CORS preflights are answered by the bucket's CORS rules (the emulator has them).
        return forward(&st, &method, &uri, &headers, &body).await;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if let Err(r) = crate::sigv4::verify_s3(&method, &uri, &headers, &st.access_key, &st.secret, now) {
        st.log.gateway(&format!("S3: {method} {} refused ({r:?})", uri.path()));
        return match r {
            Refusal::Missing => s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied"),
            Refusal::Expired => s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
            Refusal::UnknownKey => {
                s3_error(StatusCode::FORBIDDEN, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
            }
            Refusal::Mismatch => s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
        };
    }
    forward(&st, &method, &uri, &headers, &body).await
}

async fn forward(st: &Relay, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    match st.upstream.forward(method, uri, headers, body).await {
        Ok(r) => r,
        Err(e) => {
            st.log.gateway(&format!("S3 relay: {e}"));
            s3_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The local S3 cannot be reached")
        }
    }
}
