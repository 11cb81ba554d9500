//! Verifies AWS Signature Version 4 on requests to the local @connections API, as API Gateway does
//! (it answers 403 to an unsigned or wrongly signed request): a function that forgets to sign, or
//! signs with other credentials, fails locally as it would on AWS.

use aws_lc_rs::{digest, hmac};
use axum::http::{HeaderMap, Method, Uri};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes()).as_ref().to_vec()
}

/// RFC 3986 unreserved characters stay; everything else is %XX (upper case).
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Why a request was refused: API Gateway's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Mismatch,
    UnknownKey,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Missing => "Missing Authentication Token",
            Refusal::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
            Refusal::UnknownKey => "The security token included in the request is invalid.",
        }
    }
}

/// Checks the request's `Authorization` (AWS4-HMAC-SHA256) against `(access key, secret)`.
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], access_key: &str, secret: &str) -> Result<(), Refusal> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or(Refusal::Missing)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(Refusal::Missing)?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (credential, signed_headers, signature) = (credential.ok_or(Refusal::Missing)?, signed_headers.ok_or(Refusal::Missing)?, signature.ok_or(Refusal::Missing)?);
    let mut scope = credential.splitn(2, '/');
    let (key, scope) = (scope.next().unwrap_or_default(), scope.next().unwrap_or_default());
    if key != access_key {
        return Err(Refusal::UnknownKey);
    }
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() != 4 || parts[3] != "aws4_request" {
        return Err(Refusal::Mismatch);
    }
    let (date, region, service) = (parts[0], parts[1], parts[2]);
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;

    // The canonical request: each path segment encoded again (every service but S3 signs the
    // path as sent, encoded once more), the query sorted, the signed headers, the payload hash.
    let path: String = uri.path().split('/').map(uri_encode).collect::<Vec<_>>().join("/");
    let mut query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (uri_encode(&k), uri_encode(&v))).collect())
        .unwrap_or_default();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_else(|| sha256_hex(body));
    let canonical = format!("{}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload}", method.as_str());
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical.as_bytes()));
    let k = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k = hmac(&k, region);
    let k = hmac(&k, service);
    let k = hmac(&k, "aws4_request");
    let expected = hex(&hmac(&k, &to_sign));
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), signature.as_bytes()).is_err() {
        return Err(Refusal::Mismatch);
    }
    Ok(())
}
