//! Verifies AWS Signature Version 4 as AWS does: on requests to the local @connections API (API
//! Gateway answers 403 to an unsigned or wrongly signed request: a function that forgets to sign,
//! or signs with other credentials, fails locally as it would on AWS), and on requests to the
//! local S3 ([`crate::s3_relay`]): signed headers, or a presigned URL's query — its method, path,
//! signed headers (content type and length) and expiry.

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

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Mismatch,
    UnknownKey,
    /// A presigned URL past its `X-Amz-Expires`.
    Expired,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Missing => "Missing Authentication Token",
            Refusal::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
            Refusal::UnknownKey => "The security token included in the request is invalid.",
            Refusal::Expired => "Request has expired",
        }
    }
}

/// The parts of a signature, from the `Authorization` header or a presigned URL's query.
struct Signed<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
    amz_date: &'a str,
}

/// How a service signs its path: every service but S3 encodes the path as sent once more; S3
/// signs each segment encoded once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PathStyle {
    Twice,
    S3,
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Checks a signature over the canonical request; `skip_query` names the query parameter that is
/// the signature itself (presigned URLs).
#[allow(clippy::too_many_arguments)]
fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    sig: &Signed,
    payload: &str,
    style: PathStyle,
    skip_query: Option<&str>,
    access_key: &str,
    secret: &str,
) -> Result<(), Refusal> {
    let mut scope = sig.credential.splitn(2, '/');
    let (key, scope) = (scope.next().unwrap_or_default(), scope.next().unwrap_or_default());
    if key != access_key {
        return Err(Refusal::UnknownKey);
    }
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() != 4 || parts[3] != "aws4_request" {
        return Err(Refusal::Mismatch);
    }
    let (date, region, service) = (parts[0], parts[1], parts[2]);
    let path: String = match style {
        PathStyle::Twice => uri.path().split('/').map(uri_encode).collect::<Vec<_>>().join("/"),
        PathStyle::S3 => {
            uri.path().split('/').map(|seg| uri_encode(&String::from_utf8_lossy(&percent_decode(seg)))).collect::<Vec<_>>().join("/")
        }
    };
    let mut query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| Some(k.as_ref()) != skip_query)
                .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
                .collect()
        })
        .unwrap_or_default();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in sig.signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = format!("{}\n{path}\n{query}\n{canonical_headers}\n{}\n{payload}", method.as_str(), sig.signed_headers);
    let to_sign = format!("AWS4-HMAC-SHA256\n{}\n{scope}\n{}", sig.amz_date, sha256_hex(canonical.as_bytes()));
    let k = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k = hmac(&k, region);
    let k = hmac(&k, service);
    let k = hmac(&k, "aws4_request");
    let expected = hex(&hmac(&k, &to_sign));
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), sig.signature.as_bytes()).is_err() {
        return Err(Refusal::Mismatch);
    }
    Ok(())
}

/// The signature of an `Authorization: AWS4-HMAC-SHA256 …` header.
fn from_header(headers: &HeaderMap) -> Result<Signed<'_>, Refusal> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or(Refusal::Missing)?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(Refusal::Missing)?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
    Ok(Signed {
        credential: credential.ok_or(Refusal::Missing)?,
        signed_headers: signed_headers.ok_or(Refusal::Missing)?,
        signature: signature.ok_or(Refusal::Missing)?,
        amz_date,
    })
}

/// Checks the request's `Authorization` (AWS4-HMAC-SHA256) against `(access key, secret)`, as
/// API Gateway does.
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], access_key: &str, secret: &str) -> Result<(), Refusal> {
    let sig = from_header(headers)?;
    let payload = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_else(|| sha256_hex(body));
    check(method, uri, headers, &sig, &payload, PathStyle::Twice, None, access_key, secret)
}

/// Whether a request carries a presigned URL's signature (`X-Amz-Signature` in its query).
pub fn is_presigned(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "X-Amz-Signature"))
}

/// Checks a request to S3: a presigned URL (its signature over the method, path, query and signed
/// headers, with `UNSIGNED-PAYLOAD`, and its expiry against `now_secs`) or an `Authorization`
/// header.
pub fn verify_s3(method: &Method, uri: &Uri, headers: &HeaderMap, access_key: &str, secret: &str, now_secs: u64) -> Result<(), Refusal> {
    if !is_presigned(uri) {
        let sig = from_header(headers)?;
        let payload = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
        return check(method, uri, headers, &sig, payload, PathStyle::S3, None, access_key, secret);
    }
    let q: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
        return Err(Refusal::Missing);
    }
    let sig = Signed {
        credential: get("X-Amz-Credential").ok_or(Refusal::Missing)?,
        signed_headers: get("X-Amz-SignedHeaders").ok_or(Refusal::Missing)?,
        signature: get("X-Amz-Signature").ok_or(Refusal::Missing)?,
        amz_date: get("X-Amz-Date").ok_or(Refusal::Missing)?,
    };
    check(method, uri, headers, &sig, "UNSIGNED-PAYLOAD", PathStyle::S3, Some("X-Amz-Signature"), access_key, secret)?;
    let expires: u64 = get("X-Amz-Expires").and_then(|v| v.parse().ok()).ok_or(Refusal::Missing)?;
    let signed_at = amz_date_secs(sig.amz_date).ok_or(Refusal::Mismatch)?;
    if now_secs > signed_at + expires {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// `20261207T101500Z` → seconds since the epoch.
fn amz_date_secs(d: &str) -> Option<u64> {
    if d.len() != 16 || !d.ends_with('Z') || d.as_bytes()[8] != b'T' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| d.get(r)?.parse::<i64>().ok();
    let (y, m, day, h, min, s) = (n(0..4)?, n(4..6)?, n(6..8)?, n(9..11)?, n(11..13)?, n(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn amz_dates_are_read() {
        assert_eq!(super::amz_date_secs("19700101T000000Z"), Some(0));
        assert_eq!(super::amz_date_secs("20261207T101500Z"), Some(1_796_638_500));
        assert_eq!(super::amz_date_secs("2026-12-07"), None);
    }

    #[test]
    fn percent_escapes_are_decoded_once() {
        assert_eq!(super::percent_decode("a%20b%2Fc%"), b"a b/c%".to_vec());
    }
}
