//! The local twin of an API Gateway WebSocket API stage and its @connections management API.
//!
//! WebSocket side (`ws://HOST:PORT/<stage>`): `$connect` runs during the handshake (non-2xx
//! rejects it), text frames are routed by the route selection expression to a named route or
//! `$default`, `$disconnect` fires after either side closes. Limits as AWS: 32 KB frames, 128 KB
//! messages (close 1009), idle timeout, maximum duration, 29 s integration timeout.
//!
//! @connections side, same host and stage, as the SDK calls it:
//! `POST|GET|DELETE /<stage>/@connections/{connectionId}`.
//!
//! Fault injection ([`crate::faults`]): posts answered 410 while the socket stays open, 500 (also
//! for the SDK's retries of that post), or delivered late; `$disconnect` not delivered.

use crate::faults::{Fault, Faults};
use crate::lambda::{FunctionPool, InvokeError, InvokeReport};
use crate::log::LogSink;
use crate::util::{aws_style_id, clf_time, iso8601, now_ms};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub stage: String,
    pub api_id: String,
    pub idle_timeout: Duration,
    pub max_duration: Duration,
    pub integration_timeout: Duration,
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    /// Static web pages served at `/`.
    pub web_dir: Option<PathBuf>,
    /// Local stack only: serve `GET /_dev/token?sub=&name=&role=`, which signs development tokens
    /// with this secret (the demo app's "sign in as a name"). Never set outside the local stack.
    pub dev_token_secret: Option<String>,
    /// The credentials functions sign @connections requests with (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`): requests not signed with them are refused with 403 as API
    /// Gateway refuses them. `None`: not checked (credentials the stack does not know).
    pub connections_credentials: Option<(String, String)>,
    /// Chaos: when a client vanishes without a close frame, do not deliver `$disconnect`
    /// (API Gateway delivers `$disconnect` on a best-effort basis). The backend must then clean up
    /// from the 410 of its next post.
    pub lose_disconnect_on_abort: bool,
    /// Fault injection for the whole stack (gateway, functions, DynamoDB): none by default.
    pub faults: Faults,
    /// Invocations one connection may have running or waiting for an instance at once; its
    /// further frames wait their turn on the connection. On AWS every frame gets its
    /// own Lambda instance; here a few instances serve everyone, so one socket's burst must not
    /// take them all and stall every other connection behind it. `None`: no limit (tests of
    /// Lambda's own queueing and throttling).
    pub max_inflight_per_connection: Option<usize>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            stage: "local".into(),
            api_id: "local".into(),
            idle_timeout: Duration::from_secs(600),
            max_duration: Duration::from_secs(7200),
            integration_timeout: Duration::from_secs(29),
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            web_dir: None,
            dev_token_secret: None,
            lose_disconnect_on_abort: false,
            connections_credentials: None,
            faults: Faults::none(),
            max_inflight_per_connection: Some(4),
        }
    }
}

enum Outbound {
    Frame(Message),
    Close(u16, String),
}

struct Connection {
    tx: mpsc::UnboundedSender<Outbound>,
    /// Invocations in flight for this connection ([`GatewayConfig::max_inflight_per_connection`]).
    inflight: Arc<tokio::sync::Semaphore>,
    connected_at: u64,
    last_active: AtomicU64,
    source_ip: String,
    user_agent: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CloseKind {
    /// A close frame from the client, or a close the gateway initiated.
    Clean,
    /// The TCP connection ended without a close frame.
    Abrupt,
}

pub struct Gateway {
    cfg: GatewayConfig,
    routes: BTreeMap<String, Arc<FunctionPool>>,
    /// The HTTP API, at [`crate::http_api::MOUNT`].
    http_api: Option<Arc<crate::http_api::HttpApi>>,
    /// Functions run by event sources (streams, topics), not by a route.
    other_pools: Vec<Arc<FunctionPool>>,
    /// SNS subscriptions of functions, at [`crate::sns::endpoint_path`].
    sns: Option<Arc<crate::sns::SnsSubscriptions>>,
    /// Throttling per route (the stage's default route settings, or the route's own).
    buckets: BTreeMap<String, Mutex<crate::http_api::Bucket>>,
    selection_path: Vec<String>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    /// SDK invocations (`amz-sdk-invocation-id`) whose posts fail with 500: their retries fail too.
    failed_posts: Mutex<std::collections::VecDeque<String>>,
    /// `host:port` the gateway listens on (the events' `domainName`).
    domain: String,
    log: LogSink,
}

impl Gateway {
    pub fn new(
        cfg: GatewayConfig,
        route_selection_expression: &str,
        routes: BTreeMap<String, Arc<FunctionPool>>,
        domain: String,
        log: LogSink,
    ) -> Result<Arc<Gateway>, String> {
        let selection_path = route_selection_expression
            .strip_prefix("$request.body.")
            .ok_or_else(|| format!("route selection expression {route_selection_expression} is not supported (use $request.body.<field>)"))?
            .split('.')
            .map(str::to_string)
            .collect();
        Ok(Arc::new(Gateway {
            cfg,
            routes,
            http_api: None,
            other_pools: Vec::new(),
            sns: None,
            buckets: BTreeMap::new(),
            selection_path,
            connections: Mutex::new(HashMap::new()),
            failed_posts: Mutex::new(std::collections::VecDeque::new()),
            domain,
            log,
        }))
    }

    /// Adds the HTTP API and the functions event sources invoke (before the gateway serves).
    pub fn with_extras(
        self: Arc<Self>,
        http_api: Option<crate::http_api::HttpApi>,
        other_pools: Vec<Arc<FunctionPool>>,
        sns: Option<Arc<crate::sns::SnsSubscriptions>>,
    ) -> Arc<Self> {
        let mut gw = Arc::try_unwrap(self).unwrap_or_else(|_| panic!("with_extras is called before the gateway is shared"));
        gw.http_api = http_api.map(Arc::new);
        gw.other_pools = other_pools;
        gw.sns = sns;
        if gw.cfg.faults.active() {
            for p in gw.pools() {
                p.set_faults(gw.cfg.faults.clone());
            }
        }
        Arc::new(gw)
    }

    /// Throttles each route as the stage's `DefaultRouteSettings` / `RouteSettings` say.
    pub fn with_throttling(self: Arc<Self>, default: Option<(u32, f64)>, per_route: &BTreeMap<String, (u32, f64)>) -> Arc<Self> {
        let mut gw = Arc::try_unwrap(self).unwrap_or_else(|_| panic!("with_throttling is called before the gateway is shared"));
        for route in gw.routes.keys() {
            if let Some((burst, rate)) = per_route.get(route).copied().or(default) {
                gw.buckets.insert(route.clone(), Mutex::new(crate::http_api::Bucket::new(burst, rate)));
            }
        }
        Arc::new(gw)
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    pub fn connection_count(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    pub fn pools(&self) -> Vec<Arc<FunctionPool>> {
        let mut seen = Vec::<Arc<FunctionPool>>::new();
        let http = self.http_api.iter().flat_map(|h| h.pools());
        for p in self.routes.values().cloned().chain(http).chain(self.other_pools.iter().cloned()).collect::<Vec<_>>().iter() {
            if !seen.iter().any(|s| Arc::ptr_eq(s, p)) {
                seen.push(p.clone());
            }
        }
        seen
    }

    /// Closes every socket (stack shutdown); `$disconnect` is not delivered.
    pub fn close_all(&self) {
        for (_, c) in self.connections.lock().unwrap().drain() {
            let _ = c.tx.send(Outbound::Close(1001, "Going away".into()));
        }
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let stage = &self.cfg.stage;
        let mut router = Router::new()
            .route("/health", get(health))
            .route(&format!("/{stage}"), get(ws_handshake))
            .route(&format!("/{stage}/@connections/{{id}}"), get(get_connection).post(post_to_connection).delete(delete_connection));
        if self.cfg.dev_token_secret.is_some() {
            router = router.route("/_dev/token", get(dev_token));
        }
        if self.sns.is_some() {
            router = router.route("/_aws/sns/{function}", axum::routing::post(sns_notification));
        }
        if self.http_api.is_some() {
            let mount = crate::http_api::MOUNT;
            router = router
                .route(mount, axum::routing::any(http_api))
                .route(&format!("{mount}/"), axum::routing::any(http_api))
                .route(&format!("{mount}/{{*rest}}"), axum::routing::any(http_api));
        }
        if self.cfg.web_dir.is_some() {
            // The support widget's one-line embed: `<script src="…/widget.js" async>`.
            router = router.route("/widget.js", get(widget_script)).route("/widget.js.map", get(widget_script)).fallback(static_page);
        }
        router.with_state(self.clone())
    }

    fn route_for(&self, body: &str) -> Option<(String, Arc<FunctionPool>)> {
        let selected = serde_json::from_str::<Value>(body).ok().and_then(|v| {
            let mut cur = &v;
            for key in &self.selection_path {
                cur = cur.get(key)?;
            }
            match cur {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        });
        if let Some(key) = selected.filter(|k| !k.starts_with('$')) {
            if let Some(pool) = self.routes.get(&key) {
                return Some((key, pool.clone()));
            }
        }
        self.routes.get("$default").map(|p| ("$default".to_string(), p.clone()))
    }

    fn request_context(&self, route_key: &str, event_type: &str, connection_id: &str, conn: (&str, &str, u64)) -> Map<String, Value> {
        let now = now_ms();
        let (source_ip, user_agent, connected_at) = conn;
        let mut ctx = Map::new();
        ctx.insert("routeKey".into(), json!(route_key));
        ctx.insert("eventType".into(), json!(event_type));
        ctx.insert("extendedRequestId".into(), json!(aws_style_id()));
        ctx.insert("requestTime".into(), json!(clf_time(now)));
        ctx.insert("messageDirection".into(), json!("IN"));
        ctx.insert("stage".into(), json!(self.cfg.stage));
        ctx.insert("connectedAt".into(), json!(connected_at));
        ctx.insert("requestTimeEpoch".into(), json!(now));
        ctx.insert("identity".into(), json!({ "sourceIp": source_ip, "userAgent": user_agent }));
        ctx.insert("requestId".into(), ctx["extendedRequestId"].clone());
        ctx.insert("domainName".into(), json!(self.domain));
        ctx.insert("connectionId".into(), json!(connection_id));
        ctx.insert("apiId".into(), json!(self.cfg.api_id));
        ctx
    }

    /// Invokes a route's function within the integration timeout, and logs the invocation.
    async fn invoke(&self, route_key: &str, pool: &Arc<FunctionPool>, event: Value) -> Result<Bytes, InvokeError> {
        let payload = Bytes::from(serde_json::to_vec(&event).expect("events serialize"));
        let run = pool.invoke(payload);
        let (result, report) = match tokio::time::timeout(self.cfg.integration_timeout, run).await {
            Ok(r) => r,
            Err(_) => {
                self.log.gateway(&format!(
                    "{route_key} -> {}: integration timed out after {:?}",
                    pool.name(),
                    self.cfg.integration_timeout
                ));
                return Err(InvokeError::Timeout);
            }
        };
        self.log_invocation(route_key, pool.name(), &report, &result);
        result
    }

    fn log_invocation(&self, route_key: &str, function: &str, r: &InvokeReport, result: &Result<Bytes, InvokeError>) {
        let init = r.init_duration.map(|d| format!(" init={:.1}ms (cold start)", d.as_secs_f64() * 1000.0)).unwrap_or_default();
        let outcome = match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        self.log.gateway(&format!(
            "{route_key} -> {function} instance={} request={} duration={:.1}ms{init} {outcome}",
            r.instance,
            r.request_id,
            r.duration.as_secs_f64() * 1000.0
        ));
    }

    async fn run_socket(self: Arc<Self>, socket: WebSocket, id: String, conn: Arc<Connection>, mut rx: mpsc::UnboundedReceiver<Outbound>) {
        let (mut sink, mut stream) = socket.split();
        let started = tokio::time::Instant::now();
        let max_deadline = started + self.cfg.max_duration;
        let (code, reason, kind) = loop {
            let idle_deadline = {
                let last = conn.last_active.load(Ordering::Relaxed);
                let idle_left = (last + self.cfg.idle_timeout.as_millis() as u64).saturating_sub(now_ms());
                tokio::time::Instant::now() + Duration::from_millis(idle_left)
            };
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        conn.last_active.store(now_ms(), Ordering::Relaxed);
                        tokio::spawn(self.clone().dispatch(id.clone(), conn.clone(), text.to_string(), false));
                    }
                    Some(Ok(Message::Binary(bin))) => {
                        conn.last_active.store(now_ms(), Ordering::Relaxed);
                        use base64::Engine;
                        let body = base64::engine::general_purpose::STANDARD.encode(&bin);
                        tokio::spawn(self.clone().dispatch(id.clone(), conn.clone(), body, true));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        conn.last_active.store(now_ms(), Ordering::Relaxed);
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break match frame {
                            Some(f) => (f.code, if f.reason.is_empty() { format!("Client-side close frame status set to {}", f.code) } else { f.reason.to_string() }, CloseKind::Clean),
                            None => (1005, "Client-side close frame status not set".to_string(), CloseKind::Clean),
                        };
                    }
                    Some(Err(e)) => {
                        let text = e.to_string();
                        if text.contains("Space limit exceeded") || text.contains("too long") || text.contains("too big") || text.contains("Capacity") {
                            let _ = sink.send(Message::Close(Some(CloseFrame { code: 1009, reason: "Message too big".into() }))).await;
                            break (1009, "Message too big".to_string(), CloseKind::Clean);
                        }
                        if text.to_ascii_lowercase().contains("utf-8") || text.contains("Utf8") {
                            // A text frame that is not UTF-8: closed as RFC 6455 says (1007).
                            let _ = sink.send(Message::Close(Some(CloseFrame { code: 1007, reason: "Invalid frame payload data".into() }))).await;
                            break (1007, "Invalid frame payload data".to_string(), CloseKind::Clean);
                        }
                        break (1006, format!("Going away ({text})"), CloseKind::Abrupt);
                    }
                    None => break (1006, "Going away".to_string(), CloseKind::Abrupt),
                },
                out = rx.recv() => match out {
                    Some(Outbound::Frame(m)) => {
                        if sink.send(m).await.is_err() {
                            break (1006, "Going away".to_string(), CloseKind::Abrupt);
                        }
                    }
                    Some(Outbound::Close(code, reason)) => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.clone().into() }))).await;
                        break (code, reason, CloseKind::Clean);
                    }
                    None => break (1001, "Going away".to_string(), CloseKind::Clean),
                },
                _ = tokio::time::sleep_until(idle_deadline) => {
                    let last = conn.last_active.load(Ordering::Relaxed);
                    if now_ms() >= last + self.cfg.idle_timeout.as_millis() as u64 {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                        break (1001, "Going away".to_string(), CloseKind::Clean);
                    }
                }
                _ = tokio::time::sleep_until(max_deadline) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                    break (1001, "Going away".to_string(), CloseKind::Clean);
                }
            }
        };
        self.connections.lock().unwrap().remove(&id);
        let _ = sink.close().await;
        if kind == CloseKind::Abrupt && self.cfg.lose_disconnect_on_abort {
            self.log.gateway(&format!("{id}: connection lost without close frame; $disconnect not delivered (lose_disconnect_on_abort)"));
            return;
        }
        if self.cfg.faults.roll(Fault::DropDisconnect) {
            self.log.gateway(&format!("fault: {id} closed ({code}); $disconnect not delivered"));
            return;
        }
        self.disconnect(&id, (&conn.source_ip, &conn.user_agent, conn.connected_at), code, &reason).await;
    }

    async fn disconnect(&self, id: &str, conn: (&str, &str, u64), code: u16, reason: &str) {
        let Some(pool) = self.routes.get("$disconnect").cloned() else { return };
        let mut ctx = self.request_context("$disconnect", "DISCONNECT", id, conn);
        ctx.insert("disconnectStatusCode".into(), json!(code));
        ctx.insert("disconnectReason".into(), json!(reason));
        let headers = json!({ "Host": self.domain, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" });
        let multi: Map<String, Value> = headers.as_object().unwrap().iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
        let event = json!({ "headers": headers, "multiValueHeaders": multi, "requestContext": ctx, "isBase64Encoded": false });
        // Errors of $disconnect reach nobody, as on AWS.
        let _ = self.invoke("$disconnect", &pool, event).await;
    }

    async fn dispatch(self: Arc<Self>, id: String, conn: Arc<Connection>, body: String, is_base64: bool) {
        let conn_info = (conn.source_ip.as_str(), conn.user_agent.as_str(), conn.connected_at);
        let route =
            if is_base64 { self.routes.get("$default").map(|p| ("$default".to_string(), p.clone())) } else { self.route_for(&body) };
        let Some((route_key, pool)) = route else {
            let request_id = aws_style_id();
            let _ = conn.tx.send(Outbound::Frame(Message::Text(
                json!({ "message": "Forbidden", "connectionId": id, "requestId": request_id }).to_string().into(),
            )));
            self.log.gateway(&format!("{id}: no route matches and there is no $default: Forbidden"));
            return;
        };
        if self.buckets.get(&route_key).is_some_and(|b| !b.lock().unwrap().take()) {
            // Over the route's throttling limits: refused before the integration runs.
            let _ = conn.tx.send(Outbound::Frame(Message::Text(
                json!({ "message": "Too Many Requests", "connectionId": id, "requestId": aws_style_id() }).to_string().into(),
            )));
            self.log.gateway(&format!("{id}: {route_key} throttled (Too Many Requests)"));
            return;
        }
        // This connection's turn; a connection that closed meanwhile sends nothing more.
        let Ok(_turn) = conn.inflight.clone().acquire_owned().await else { return };
        if !self.connections.lock().unwrap().contains_key(&id) {
            return;
        }
        let mut ctx = self.request_context(&route_key, "MESSAGE", &id, conn_info);
        ctx.insert("messageId".into(), json!(aws_style_id()));
        let request_id = ctx["requestId"].as_str().unwrap_or_default().to_string();
        let event = json!({ "requestContext": ctx, "body": body, "isBase64Encoded": is_base64 });
        if self.invoke(&route_key, &pool, event).await.is_err() {
            let _ = conn.tx.send(Outbound::Frame(Message::Text(
                json!({ "message": "Internal server error", "connectionId": id, "requestId": request_id }).to_string().into(),
            )));
        }
    }
}

/// Canonical spelling of header names as browsers send them (hyper lower-cases them).
fn header_case(name: &str) -> String {
    match name {
        "sec-websocket-key" => "Sec-WebSocket-Key".into(),
        "sec-websocket-version" => "Sec-WebSocket-Version".into(),
        "sec-websocket-protocol" => "Sec-WebSocket-Protocol".into(),
        "sec-websocket-extensions" => "Sec-WebSocket-Extensions".into(),
        other => other
            .split('-')
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

fn plain(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn ws_handshake(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return plain(StatusCode::UPGRADE_REQUIRED, json!({ "message": "This is a WebSocket endpoint: connect with ws://" }));
    };
    let id = aws_style_id();
    let connected_at = now_ms();
    // The source address is the TCP peer's, as API Gateway takes it (a client's X-Forwarded-For
    // is a header like any other, with the peer appended).
    let source_ip = peer.ip().to_string();
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();

    let mut protocol: Option<HeaderValue> = None;
    if gw.buckets.get("$connect").is_some_and(|b| !b.lock().unwrap().take()) {
        // Over the $connect route's throttling limits: refused before the integration runs.
        gw.log.gateway(&format!("{id}: $connect throttled (429)"));
        return plain(StatusCode::TOO_MANY_REQUESTS, json!({ "message": "Too Many Requests" }));
    }
    if let Some(pool) = gw.routes.get("$connect").cloned() {
        let mut single = Map::new();
        let mut multi: Map<String, Value> = Map::new();
        for (name, value) in headers.iter() {
            let name = header_case(name.as_str());
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            single.insert(name.clone(), json!(value));
            multi.entry(name).or_insert_with(|| json!([])).as_array_mut().unwrap().push(json!(value));
        }
        let forwarded = match single.get("X-Forwarded-For").and_then(Value::as_str) {
            Some(given) => format!("{given}, {source_ip}"),
            None => source_ip.clone(),
        };
        single.insert("X-Forwarded-For".into(), json!(forwarded));
        multi.insert("X-Forwarded-For".into(), json!([forwarded]));
        single.entry("X-Forwarded-Proto").or_insert(json!("http"));
        for k in ["X-Forwarded-For", "X-Forwarded-Proto"] {
            let v = single[k].clone();
            multi.entry(k).or_insert_with(|| json!([v]));
        }
        let mut event = json!({
            "headers": single,
            "multiValueHeaders": multi,
            "requestContext": gw.request_context("$connect", "CONNECT", &id, (&source_ip, &user_agent, connected_at)),
            "isBase64Encoded": false,
        });
        if let Some(q) = uri.query().filter(|q| !q.is_empty()) {
            let mut qs = Map::new();
            let mut mqs: Map<String, Value> = Map::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                qs.insert(k.to_string(), json!(v));
                mqs.entry(k.to_string()).or_insert_with(|| json!([])).as_array_mut().unwrap().push(json!(v));
            }
            event["queryStringParameters"] = Value::Object(qs);
            event["multiValueQueryStringParameters"] = Value::Object(mqs);
        }
        match gw.invoke("$connect", &pool, event).await {
            Ok(body) => {
                let resp: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let status = resp.get("statusCode").and_then(Value::as_u64).unwrap_or(200) as u16;
                if !(200..300).contains(&status) {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let body = resp.get("body").and_then(Value::as_str).unwrap_or_default().to_string();
                    gw.log.gateway(&format!("{id}: $connect rejected the handshake with {status}"));
                    return (status, body).into_response();
                }
                let find_header = |obj: Option<&Value>| {
                    obj.and_then(Value::as_object).and_then(|h| {
                        h.iter().find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol")).map(|(_, v)| match v {
                            Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or_default().to_string(),
                            other => other.as_str().unwrap_or_default().to_string(),
                        })
                    })
                };
                protocol = find_header(resp.get("headers"))
                    .or_else(|| find_header(resp.get("multiValueHeaders")))
                    .and_then(|p| HeaderValue::from_str(&p).ok());
            }
            Err(_) => {
                return plain(StatusCode::INTERNAL_SERVER_ERROR, json!({ "message": "Internal server error" }));
            }
        }
    }

    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Connection {
        tx,
        inflight: Arc::new(tokio::sync::Semaphore::new(
            gw.cfg.max_inflight_per_connection.unwrap_or(tokio::sync::Semaphore::MAX_PERMITS).max(1),
        )),
        connected_at,
        last_active: AtomicU64::new(connected_at),
        source_ip: source_ip.clone(),
        user_agent: user_agent.clone(),
    });
    let gw_fail = gw.clone();
    let id_fail = id.clone();
    let conn_fail = (source_ip, user_agent, connected_at);
    let gw_run = gw.clone();
    let mut response = ws
        .max_frame_size(gw.cfg.max_frame_bytes)
        .max_message_size(gw.cfg.max_message_bytes)
        .on_failed_upgrade(move |_| {
            // $connect succeeded but the socket never opened: tell the backend it is gone.
            tokio::spawn(async move {
                gw_fail.disconnect(&id_fail, (&conn_fail.0, &conn_fail.1, conn_fail.2), 1006, "Going away").await;
            });
        })
        .on_upgrade(move |socket| async move {
            gw_run.connections.lock().unwrap().insert(id.clone(), conn.clone());
            gw_run.clone().run_socket(socket, id, conn, rx).await;
        });
    if let Some(p) = protocol {
        response.headers_mut().insert(HeaderName::from_static("sec-websocket-protocol"), p);
    }
    response
}

fn gone(id: &str) -> Response {
    let mut r = plain(StatusCode::GONE, json!({ "message": format!("connection {id} is gone") }));
    r.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("GoneException"));
    r
}

/// API Gateway checks the SigV4 signature of every @connections request first.
fn refused(gw: &Gateway, method: &axum::http::Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let (key, secret) = gw.cfg.connections_credentials.as_ref()?;
    match crate::sigv4::verify(method, uri, headers, body, key, secret) {
        Ok(()) => None,
        Err(r) => {
            gw.log.gateway(&format!("@connections {method} {}: 403 ({})", uri.path(), r.message()));
            let mut resp = plain(StatusCode::FORBIDDEN, json!({ "message": r.message() }));
            let kind = if r == crate::sigv4::Refusal::Missing { "MissingAuthenticationTokenException" } else { "ForbiddenException" };
            resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(kind));
            Some(resp)
        }
    }
}

async fn post_to_connection(State(gw): State<Arc<Gateway>>, Path(id): Path<String>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refused(&gw, &axum::http::Method::POST, &uri, &headers, &body) {
        return r;
    }
    if body.len() > gw.cfg.max_message_bytes {
        let mut r = plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({ "message": format!("payload of {} bytes exceeds {} bytes", body.len(), gw.cfg.max_message_bytes) }),
        );
        r.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("PayloadTooLargeException"));
        return r;
    }
    let conn = gw.connections.lock().unwrap().get(&id).cloned();
    let Some(mut conn) = conn else { return gone(&id) };
    let faults = &gw.cfg.faults;
    if faults.active() {
        let invocation = headers.get("amz-sdk-invocation-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_of_failed = invocation.as_ref().is_some_and(|i| gw.failed_posts.lock().unwrap().contains(i));
        if retry_of_failed || faults.roll(Fault::Post500) {
            if !retry_of_failed {
                gw.log.gateway(&format!("fault: POST @connections/{id}: 500"));
                if let Some(i) = invocation {
                    let mut failed = gw.failed_posts.lock().unwrap();
                    failed.push_back(i);
                    if failed.len() > 4096 {
                        failed.pop_front();
                    }
                }
            }
            let mut r = plain(StatusCode::INTERNAL_SERVER_ERROR, json!({ "message": "Internal server error" }));
            r.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("InternalServerErrorException"));
            return r;
        }
        if faults.roll(Fault::Post410) {
            gw.log.gateway(&format!("fault: POST @connections/{id}: 410 while the socket is open"));
            return gone(&id);
        }
        if faults.roll(Fault::Slow) {
            let delay = faults.slow_delay();
            gw.log.gateway(&format!("fault: POST @connections/{id}: delivered {} ms late", delay.as_millis()));
            tokio::time::sleep(delay).await;
            let again = gw.connections.lock().unwrap().get(&id).cloned();
            let Some(c) = again else { return gone(&id) };
            conn = c;
        }
    }
    let frame = match String::from_utf8(body.to_vec()) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(body),
    };
    if conn.tx.send(Outbound::Frame(frame)).is_err() {
        return gone(&id);
    }
    StatusCode::OK.into_response()
}

async fn get_connection(State(gw): State<Arc<Gateway>>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&gw, &axum::http::Method::GET, &uri, &headers, b"") {
        return r;
    }
    let conn = gw.connections.lock().unwrap().get(&id).cloned();
    let Some(conn) = conn else { return gone(&id) };
    plain(
        StatusCode::OK,
        json!({
            "connectedAt": iso8601(conn.connected_at),
            "identity": { "sourceIp": conn.source_ip, "userAgent": conn.user_agent },
            "lastActiveAt": iso8601(conn.last_active.load(Ordering::Relaxed)),
        }),
    )
}

async fn delete_connection(State(gw): State<Arc<Gateway>>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&gw, &axum::http::Method::DELETE, &uri, &headers, b"") {
        return r;
    }
    let conn = gw.connections.lock().unwrap().get(&id).cloned();
    let Some(conn) = conn else { return gone(&id) };
    if conn.tx.send(Outbound::Close(1000, "Connection Closed Normally".into())).is_err() {
        return gone(&id);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn http_api(State(gw): State<Arc<Gateway>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: axum::extract::Request) -> Response {
    let Some(api) = gw.http_api.clone() else { return StatusCode::NOT_FOUND.into_response() };
    let (parts, body) = req.into_parts();
    // API Gateway's own answer above its payload limit (JSON, as every error it writes itself).
    let too_large = || plain(StatusCode::PAYLOAD_TOO_LARGE, json!({ "message": "Request Entity Too Large" }));
    let declared = parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > crate::http_api::MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, crate::http_api::MAX_BODY_BYTES).await else { return too_large() };
    api.serve(peer, parts.method, parts.uri, parts.headers, body).await
}

async fn sns_notification(State(gw): State<Arc<Gateway>>, Path(function): Path<String>, body: Bytes) -> Response {
    let Some(sns) = gw.sns.clone() else { return StatusCode::NOT_FOUND.into_response() };
    match sns.receive(&function, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            gw.log.gateway(&format!("sns: {e}"));
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// The pages under `web/`, with the headers a site should serve them with: a strict
/// Content-Security-Policy (scripts, styles and connections from the page's own origin, and its
/// WebSocket), no MIME sniffing, no referrer to other sites, no framing.
/// Attachments go to and come from the S3 bucket's own origin (locally moto, on another port of
/// this machine), so uploads (`connect-src`) and thumbnails (`img-src`) name it.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http://127.0.0.1:* http://localhost:*; connect-src 'self' ws: wss: http://127.0.0.1:* http://localhost:*; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/widget.js` (the embed snippet's short URL) and its source map are the bundle
/// `web/dist/widget.js` that `make web` (scripts/build-web.sh) builds from `web/widget/widget.js`.
async fn widget_script(State(gw): State<Arc<Gateway>>, req: axum::extract::Request) -> Response {
    let built = gw.cfg.web_dir.as_ref().is_some_and(|d| d.join("dist/widget.js").is_file());
    if !built {
        return (StatusCode::NOT_FOUND, "web/dist/widget.js is not built: run `make web` (scripts/build-web.sh)\n").into_response();
    }
    let (mut parts, body) = req.into_parts();
    let file = if parts.uri.path().ends_with(".map") { "/dist/widget.js.map" } else { "/dist/widget.js" };
    parts.uri = file.parse().expect("a valid path");
    static_page(State(gw), axum::extract::Request::from_parts(parts, body)).await
}

async fn static_page(State(gw): State<Arc<Gateway>>, req: axum::extract::Request) -> Response {
    use tower::ServiceExt;
    let Some(dir) = gw.cfg.web_dir.clone() else { return StatusCode::NOT_FOUND.into_response() };
    let mut resp = match tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true).oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => match e {},
    };
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(PAGE_CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Scripts are public: the widget on a site's own pages loads the SDK module from here, and
    // module scripts of another origin need CORS.
    if h.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("javascript")) {
        h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }
    resp
}

async fn health(State(gw): State<Arc<Gateway>>) -> Response {
    let functions: Map<String, Value> = gw.pools().iter().map(|p| (p.name().to_string(), json!(p.stats()))).collect();
    plain(
        StatusCode::OK,
        json!({
            "status": "ok",
            "stage": gw.cfg.stage,
            "connections": gw.connection_count(),
            "routes": gw.routes.iter().map(|(k, p)| (k.clone(), json!(p.name()))).collect::<Map<String, Value>>(),
            "httpRoutes": gw.http_api.iter().flat_map(|h| h.route_keys()).map(|(k, f)| (k, json!(f))).collect::<Map<String, Value>>(),
            "functions": functions,
            "faults": if gw.cfg.faults.active() { gw.cfg.faults.to_json() } else { Value::Null },
        }),
    )
}

#[derive(serde::Deserialize)]
struct DevTokenQuery {
    sub: String,
    name: Option<String>,
    role: Option<String>,
}

/// `GET /_dev/token?sub=alice&name=Alice&role=user` -> `{token, wsUrl, userId, name, role}`.
async fn dev_token(State(gw): State<Arc<Gateway>>, axum::extract::Query(q): axum::extract::Query<DevTokenQuery>) -> Response {
    let Some(secret) = gw.cfg.dev_token_secret.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sub = q.sub.trim().to_string();
    let role = q.role.unwrap_or_else(|| "user".into());
    if sub.is_empty()
        || sub.chars().count() > 128
        || sub.chars().any(char::is_control)
        || !["user", "operator", "guest", "service"].contains(&role.as_str())
    {
        return plain(StatusCode::BAD_REQUEST, json!({ "message": "sub must be 1-128 characters; role user, operator, guest or service" }));
    }
    let now = now_ms() / 1000;
    let name = q.name.filter(|n| !n.trim().is_empty());
    let claims = chat::auth::Claims {
        sub: sub.clone(),
        name: name.clone(),
        role: Some(role.clone()),
        exp: now + 24 * 3600,
        iat: Some(now),
        iss: None,
        aud: None,
        nbf: None,
    };
    let token = chat::auth::mint_hs256(secret.as_bytes(), &claims);
    plain(
        StatusCode::OK,
        json!({ "token": token, "wsUrl": format!("ws://{}/{}", gw.domain, gw.cfg.stage), "userId": sub, "name": name, "role": role }),
    )
}
