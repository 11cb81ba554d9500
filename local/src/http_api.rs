//! The local twin of an API Gateway HTTP API (`$default` stage, Lambda proxy integrations,
//! payload format 2.0), mounted at `/api` on the gateway's port. The routes, CORS configuration
//! and throttling come from the template; events are built as AWS builds them (`routeKey`,
//! `rawPath` without the `/api` mount, `rawQueryString`, lower-case headers with duplicates joined
//! by commas, `cookies`, `pathParameters`, `requestContext.http`, base64 bodies for non-text
//! content types), and the function's answer is read as AWS reads it (`statusCode`, `headers`,
//! `cookies`, `body`, `isBase64Encoded`, or any JSON as a 200).
//!
//! What API Gateway answers itself: `404 {"message":"Not Found"}` (no route),
//! `500 {"message":"Internal Server Error"}` (function error or bad response),
//! `503 {"message":"Service Unavailable"}` (integration timeout), `429 {"message":"Too Many
//! Requests"}` (stage throttling), `413` above 10 MB, and CORS preflights.

use crate::lambda::{FunctionPool, InvokeError};
use crate::log::LogSink;
use crate::template::{CorsSpec, HttpApiSpec};
use crate::util::{aws_style_id, clf_time, now_ms};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the HTTP API is mounted on the gateway's port (on AWS it has a URL of its own).
pub const MOUNT: &str = "/api";
/// API Gateway's payload limit for HTTP APIs.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How specific a route's match is (higher wins): method given, literal segments, segments.
type Specificity = (u8, usize, usize);

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

#[derive(Clone)]
struct Route {
    key: String,
    method: String,
    segments: Vec<Segment>,
    pool: Arc<FunctionPool>,
}

impl Route {
    fn parse(key: &str, pool: Arc<FunctionPool>) -> Result<Route, String> {
        if key == "$default" {
            return Ok(Route { key: key.into(), method: "ANY".into(), segments: vec![Segment::Greedy("$default".into())], pool });
        }
        let (method, path) = key.split_once(' ').ok_or_else(|| format!("route key {key} is not `METHOD /path`"))?;
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(p) if p.ends_with('+') => Segment::Greedy(p.trim_end_matches('+').to_string()),
                Some(p) => Segment::Param(p.to_string()),
                None => Segment::Literal(s.to_string()),
            })
            .collect();
        Ok(Route { key: key.into(), method: method.to_ascii_uppercase(), segments, pool })
    }

    /// Path parameters if `path` matches, and how specific the match is (higher wins).
    fn matches(&self, method: &str, path: &[&str]) -> Option<(BTreeMap<String, String>, Specificity)> {
        if self.key == "$default" {
            return Some((BTreeMap::new(), (0, 0, 0)));
        }
        if self.method != "ANY" && self.method != method {
            return None;
        }
        let mut params = BTreeMap::new();
        let (mut literals, mut vars) = (0, 0);
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Greedy(name) => {
                    if i >= path.len() {
                        return None;
                    }
                    params.insert(name.clone(), path[i..].join("/"));
                    return Some((params, (1, literals, vars)));
                }
                _ if i >= path.len() => return None,
                Segment::Literal(l) => {
                    if l != path[i] {
                        return None;
                    }
                    literals += 1;
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), percent_decode(path[i]));
                    vars += 1;
                }
            }
        }
        if path.len() != self.segments.len() {
            return None;
        }
        let exact_method = if self.method == "ANY" { 0 } else { 1 };
        Some((params, (2 + exact_method, literals, usize::MAX - vars)))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A token bucket, as API Gateway throttles (burst = the bucket's size, rate = refill per second).
pub struct Bucket {
    burst: f64,
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(burst: u32, rate: f64) -> Bucket {
        Bucket { burst: burst as f64, rate, tokens: burst as f64, at: Instant::now() }
    }

    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct HttpApi {
    routes: Vec<Route>,
    cors: Option<CorsSpec>,
    bucket: Option<Mutex<Bucket>>,
    timeout: Duration,
    api_id: String,
    account_id: String,
    domain: String,
    log: LogSink,
}

fn message(status: StatusCode, text: &str) -> Response {
    let mut r = (status, axum::Json(json!({ "message": text }))).into_response();
    r.headers_mut().insert("apigw-requestid", HeaderValue::from_str(&aws_style_id()).unwrap_or(HeaderValue::from_static("local")));
    r
}

fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let ct = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(ct.as_str(), "application/json" | "application/xml" | "application/javascript")
}

impl HttpApi {
    pub fn new(
        spec: &HttpApiSpec,
        pools: &BTreeMap<String, Arc<FunctionPool>>,
        domain: String,
        account_id: String,
        log: LogSink,
    ) -> Result<HttpApi, String> {
        let routes = spec
            .routes
            .iter()
            .map(|(key, f)| Route::parse(key, pools.get(f).cloned().ok_or_else(|| format!("route {key}: no function {f}"))?))
            .collect::<Result<Vec<_>, String>>()?;
        let bucket = spec.throttle.map(|(burst, rate)| Mutex::new(Bucket::new(burst, rate)));
        Ok(HttpApi {
            routes,
            cors: spec.cors.clone(),
            bucket,
            timeout: Duration::from_millis(spec.timeout_ms.min(30_000)),
            api_id: "local".into(),
            account_id,
            domain,
            log,
        })
    }

    pub fn pools(&self) -> Vec<Arc<FunctionPool>> {
        self.routes.iter().map(|r| r.pool.clone()).collect()
    }

    pub fn route_keys(&self) -> Vec<(String, String)> {
        self.routes.iter().map(|r| (r.key.clone(), r.pool.name().to_string())).collect()
    }

    fn cors_origin(&self, origin: Option<&str>) -> Option<String> {
        let (cors, origin) = (self.cors.as_ref()?, origin?);
        if cors.allow_origins.iter().any(|o| o == "*") {
            return Some(if cors.allow_credentials { origin.to_string() } else { "*".to_string() });
        }
        let o = origin.trim_end_matches('/').to_ascii_lowercase();
        cors.allow_origins.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&o)).then(|| origin.to_string())
    }

    fn add_cors(&self, headers: &mut HeaderMap, origin: Option<&str>) {
        let Some(allowed) = self.cors_origin(origin) else { return };
        let cors = self.cors.as_ref().expect("cors_origin checked it");
        let set = |h: &mut HeaderMap, k: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(HeaderName::from_static(k), v);
            }
        };
        set(headers, "access-control-allow-origin", allowed);
        if cors.allow_credentials {
            set(headers, "access-control-allow-credentials", "true".into());
        }
        if !cors.expose_headers.is_empty() {
            set(headers, "access-control-expose-headers", cors.expose_headers.join(","));
        }
        headers.append(axum::http::header::VARY, HeaderValue::from_static("Origin"));
    }

    /// Serves one request to `/api/...`.
    pub async fn serve(self: Arc<Self>, peer: SocketAddr, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let started = Instant::now();
        let origin = headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
        // CORS preflight: answered by API Gateway itself, never routed.
        if let Some(cors) = self
            .cors
            .as_ref()
            .filter(|_| method == Method::OPTIONS && origin.is_some() && headers.contains_key("access-control-request-method"))
        {
            let mut r = StatusCode::NO_CONTENT.into_response();
            if self.cors_origin(origin.as_deref()).is_some() {
                self.add_cors(r.headers_mut(), origin.as_deref());
                let h = r.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&cors.allow_methods.join(",")) {
                    h.insert("access-control-allow-methods", v);
                }
                if let Ok(v) = HeaderValue::from_str(&cors.allow_headers.join(",")) {
                    h.insert("access-control-allow-headers", v);
                }
                if let Some(age) = cors.max_age {
                    h.insert("access-control-max-age", HeaderValue::from(age));
                }
            }
            return r;
        }
        let mut response = self.route(peer, &method, &uri, &headers, body).await;
        self.add_cors(response.headers_mut(), origin.as_deref());
        self.log.gateway(&format!(
            "HTTP {method} {} -> {} ({:.1} ms)",
            uri.path(),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
        response
    }

    async fn route(&self, peer: SocketAddr, method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Response {
        if body.len() > MAX_BODY_BYTES {
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        if let Some(b) = &self.bucket {
            if !b.lock().unwrap().take() {
                return message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            }
        }
        let path = uri.path().strip_prefix(MOUNT).unwrap_or(uri.path());
        let path = if path.is_empty() { "/" } else { path };
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let best = self
            .routes
            .iter()
            .filter_map(|r| r.matches(method.as_str(), &segments).map(|(p, score)| (r, p, score)))
            .max_by(|a, b| a.2.cmp(&b.2));
        let Some((route, params, _)) = best else {
            return message(StatusCode::NOT_FOUND, "Not Found");
        };
        let event = self.event(peer, method, path, uri.query().unwrap_or_default(), headers, body, &route.key, &params);
        let payload = Bytes::from(serde_json::to_vec(&event).expect("events serialize"));
        let result = match tokio::time::timeout(self.timeout, route.pool.invoke(payload)).await {
            Err(_) => {
                self.log.gateway(&format!("HTTP {} -> {}: integration timed out after {:?}", route.key, route.pool.name(), self.timeout));
                return message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
            }
            Ok((r, _report)) => r,
        };
        match result {
            Ok(out) => to_response(&out).unwrap_or_else(|| {
                self.log.gateway(&format!("HTTP {}: the function's response is not a valid payload 2.0 response", route.key));
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }),
            Err(InvokeError::Handler(e)) => {
                self.log.gateway(&format!("HTTP {} -> {}: {e}", route.key, route.pool.name()));
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            Err(e) => {
                self.log.gateway(&format!("HTTP {} -> {}: {e}", route.key, route.pool.name()));
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        peer: SocketAddr,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: Bytes,
        route_key: &str,
        params: &BTreeMap<String, String>,
    ) -> Value {
        let now = now_ms();
        let mut hs: Map<String, Value> = Map::new();
        let mut cookies: Vec<String> = Vec::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name.as_str() == "cookie" {
                cookies.extend(value.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
                continue;
            }
            match hs.get_mut(name.as_str()) {
                Some(Value::String(v)) => {
                    v.push(',');
                    v.push_str(&value);
                }
                _ => {
                    hs.insert(name.as_str().to_string(), json!(value));
                }
            }
        }
        // The source address is the TCP peer's, as API Gateway takes it; a client's own
        // X-Forwarded-For is only a header, with the peer appended.
        let source_ip = peer.ip().to_string();
        let forwarded = match hs.get("x-forwarded-for").and_then(Value::as_str) {
            Some(given) => format!("{given}, {source_ip}"),
            None => source_ip.clone(),
        };
        hs.insert("x-forwarded-for".into(), json!(forwarded));
        hs.entry("x-forwarded-proto").or_insert(json!("http"));
        hs.entry("x-forwarded-port").or_insert(json!(self.domain.rsplit(':').next().unwrap_or("80")));
        let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let request_id = aws_style_id();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": hs,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "domainName": self.domain,
                "domainPrefix": self.domain.split('.').next().unwrap_or(&self.domain),
                "http": { "method": method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": user_agent },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": "$default",
                "time": clf_time(now),
                "timeEpoch": now,
            },
            "isBase64Encoded": false,
        });
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        if !query.is_empty() {
            let mut qs: Map<String, Value> = Map::new();
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                match qs.get_mut(k.as_ref()) {
                    Some(Value::String(s)) => {
                        s.push(',');
                        s.push_str(&v);
                    }
                    _ => {
                        qs.insert(k.into_owned(), json!(v));
                    }
                }
            }
            event["queryStringParameters"] = Value::Object(qs);
        }
        if !params.is_empty() {
            event["pathParameters"] = json!(params);
        }
        if !body.is_empty() {
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
            match std::str::from_utf8(&body) {
                Ok(text) if is_text(ct) => event["body"] = json!(text),
                _ => {
                    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
                    event["isBase64Encoded"] = json!(true);
                }
            }
        }
        event
    }
}

/// Reads a payload 2.0 response; `None` if it is not one.
fn to_response(out: &[u8]) -> Option<Response> {
    let v: Value = serde_json::from_slice(out).ok()?;
    let has_status = v.as_object().is_some_and(|o| o.contains_key("statusCode"));
    if !has_status {
        // Format inference: any JSON is a 200 with that JSON as the body.
        let mut r = Response::new(Body::from(out.to_vec()));
        r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        return Some(r);
    }
    let status = StatusCode::from_u16(v.get("statusCode")?.as_u64()? as u16).ok()?;
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(b)) if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            base64::engine::general_purpose::STANDARD.decode(b).ok()?
        }
        Some(Value::String(b)) => b.clone().into_bytes(),
        Some(_) => return None,
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    for (source, multi) in [(v.get("headers"), false), (v.get("multiValueHeaders"), true)] {
        let Some(obj) = source.and_then(Value::as_object) else { continue };
        for (k, val) in obj {
            let Ok(name) = HeaderName::from_bytes(k.as_bytes()) else { continue };
            let values: Vec<String> = match (val, multi) {
                (Value::Array(a), _) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                (Value::String(s), _) => vec![s.clone()],
                (other, _) => vec![other.to_string()],
            };
            for value in values {
                if let Ok(hv) = HeaderValue::from_str(&value) {
                    h.append(name.clone(), hv);
                }
            }
        }
    }
    if let Some(cookies) = v.get("cookies").and_then(Value::as_array) {
        for c in cookies.iter().filter_map(Value::as_str) {
            if let Ok(hv) = HeaderValue::from_str(c) {
                h.append("set-cookie", hv);
            }
        }
    }
    h.insert("apigw-requestid", HeaderValue::from_str(&aws_style_id()).unwrap_or(HeaderValue::from_static("local")));
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_route_wins() {
        let dummy = || -> Arc<FunctionPool> { crate::lambda::FunctionPool::for_tests("F") };
        let routes: Vec<Route> = ["GET /chats/{id}", "GET /chats/mine", "ANY /{proxy+}", "$default", "POST /chats/{id}"]
            .iter()
            .map(|k| Route::parse(k, dummy()).unwrap())
            .collect();
        let best = |m: &str, p: &str| {
            let segs: Vec<&str> = p.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
            routes
                .iter()
                .filter_map(|r| r.matches(m, &segs).map(|(params, s)| (r.key.clone(), params, s)))
                .max_by(|a, b| a.2.cmp(&b.2))
                .map(|(k, p, _)| (k, p))
        };
        assert_eq!(best("GET", "/chats/mine").unwrap().0, "GET /chats/mine");
        let (k, p) = best("GET", "/chats/a%20b").unwrap();
        assert_eq!((k.as_str(), p["id"].as_str()), ("GET /chats/{id}", "a b"));
        assert_eq!(best("POST", "/chats/x").unwrap().0, "POST /chats/{id}");
        assert_eq!(
            best("DELETE", "/x/y").unwrap(),
            ("ANY /{proxy+}".to_string(), BTreeMap::from([("proxy".to_string(), "x/y".to_string())]))
        );
        assert_eq!(best("GET", "/").unwrap().0, "$default");
    }
}
