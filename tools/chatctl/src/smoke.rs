//! `chatctl smoke WS_URL HTTP_URL [--secret-file F | --secret S]`: the canary. Runs what a site's
//! users do, end to end, against a stack — local (`make dev`) or deployed (`make deploy`) — and
//! prints each step's time as a JSON line; exits non-zero at the first step that fails.
//!
//! Two users connect, one creates a room and sends; the other receives it and reads it back over
//! REST; a file is uploaded to its presigned URL, sent, and downloaded again byte for byte; a
//! visitor gets a guest token, starts a support session, an operator accepts it, they talk, the
//! operator closes it and the visitor rates it. Users and the operator are signed with the stack's
//! HS256 secret (the `JwtSecretParameterName` SSM parameter on AWS; `.local/dev-secret` locally).

use chat::auth::{mint_hs256, Claims};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

/// How long a step may take before the canary fails it.
const STEP: Duration = Duration::from_secs(15);

type Https =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

pub async fn run(args: &mut impl Iterator<Item = String>) -> Result<String, String> {
    let (mut ws_url, mut http_url, mut secret) = (None, None, std::env::var("CHAT_JWT_SECRET").ok().filter(|s| !s.is_empty()));
    let mut secret_file = ".local/dev-secret".to_string();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--secret" => secret = Some(args.next().ok_or("--secret needs a value")?),
            "--secret-file" => secret_file = args.next().ok_or("--secret-file needs a path")?,
            u if ws_url.is_none() => ws_url = Some(u.to_string()),
            u if http_url.is_none() => http_url = Some(u.trim_end_matches('/').to_string()),
            other => return Err(format!("smoke: unexpected {other}")),
        }
    }
    let (ws_url, api) = (ws_url.ok_or("smoke needs the ws:// URL")?, http_url.ok_or("smoke needs the REST API's URL")?);
    let secret = match secret {
        Some(s) => s,
        None => {
            std::fs::read_to_string(&secret_file).map(|s| s.trim().to_string()).map_err(|e| format!("the secret {secret_file}: {e}"))?
        }
    };
    let run_id = format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0));
    let token = |sub: &str, name: &str, role: &str| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let c = Claims {
            sub: sub.into(),
            name: Some(name.into()),
            role: Some(role.into()),
            exp: now + 600,
            iat: Some(now),
            iss: None,
            aud: None,
            nbf: None,
        };
        mint_hs256(secret.as_bytes(), &c)
    };
    let (alice, bob, op) = (format!("smoke-{run_id}-alice"), format!("smoke-{run_id}-bob"), format!("smoke-{run_id}-op"));
    let (ta, tb, to) = (token(&alice, "Alice", "user"), token(&bob, "Bob", "user"), token(&op, "Olga", "operator"));
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build(),
    );
    let mut steps = Steps::default();

    // Chat: two users, a room, a message both ways of the socket, history over REST.
    let mut a = steps.time("connect", Socket::open(&ws_url, &ta)).await?;
    let mut b = Socket::open(&ws_url, &tb).await?;
    let room = steps
        .time(
            "room.create",
            a.request(json!({"action": "room.create", "type": "group", "name": "Smoke", "members": [bob]}), "room.created"),
        )
        .await?["room"]["roomId"]
        .as_str()
        .ok_or("room.create answered no roomId")?
        .to_string();
    let text = format!("smoke test {run_id}");
    steps
        .time(
            "message.send",
            a.request(json!({"action": "message.send", "roomId": room, "clientId": format!("{run_id}-1"), "content": text}), "ack"),
        )
        .await?;
    steps.time("message.new delivered", b.expect(|f| f["type"] == "message.new" && f["message"]["content"] == json!(text))).await?;
    let history = steps.time("GET /chats/{id}/messages", rest(&http, "GET", &format!("{api}/chats/{room}/messages"), &tb, None)).await?;
    if !history["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["content"] == json!(text))) {
        return Err(steps.fail(format!("history lacks the message: {history}")));
    }

    // A file: presigned upload, sent in a message, downloaded back.
    let bytes = format!("smoke file {run_id}\n").into_bytes();
    let up = steps
        .time(
            "POST /chats/{id}/uploads",
            rest(
                &http,
                "POST",
                &format!("{api}/chats/{room}/uploads"),
                &ta,
                Some(json!({"name": "smoke.txt", "size": bytes.len(), "mimeType": "text/plain"})),
            ),
        )
        .await?;
    let headers: Vec<(String, String)> =
        up["headers"].as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
    steps.time("PUT upload", raw(&http, "PUT", up["url"].as_str().unwrap_or_default(), &headers, bytes.clone())).await?;
    let attachment = json!({"key": up["key"], "name": "smoke.txt", "size": bytes.len(), "mimeType": "text/plain"});
    let sent = steps
        .time(
            "message.send (file)",
            a.request(json!({"action": "message.send", "roomId": room, "clientId": format!("{run_id}-2"), "kind": "file", "attachments": [attachment]}), "ack"),
        )
        .await?;
    let key = sent["message"]["attachments"][0]["key"].as_str().ok_or("the file message carries no key")?.to_string();
    let down = steps
        .time("GET /chats/{id}/attachments", rest(&http, "GET", &format!("{api}/chats/{room}/attachments?key={}", encode(&key)), &tb, None))
        .await?;
    let got = steps.time("GET download", raw(&http, "GET", down["url"].as_str().unwrap_or_default(), &[], Vec::new())).await?;
    if got != bytes {
        return Err(steps.fail("the downloaded file differs from the uploaded one".into()));
    }

    // Support: a visitor's session, accepted, answered, closed and rated.
    let guest = steps
        .time("POST /support/guest", rest(&http, "POST", &format!("{api}/support/guest"), "", Some(json!({"name": "Smoke visitor"}))))
        .await?;
    let tg = guest["token"].as_str().ok_or("no guest token")?.to_string();
    let mut o = Socket::open(&ws_url, &to).await?;
    o.request(json!({"action": "support.queue"}), "queue.updated").await.ok();
    let mut g = Socket::open(&ws_url, &tg).await?;
    let started = steps
        .time(
            "support.start",
            g.request(
                json!({"action": "support.start", "clientId": format!("{run_id}-s"), "content": "Hello, is anyone there?"}),
                "session.started",
            ),
        )
        .await?;
    let session =
        started["session"]["sessionId"].as_str().or(started["sessionId"].as_str()).ok_or("session.started has no sessionId")?.to_string();
    steps.time("session.accept", o.request(json!({"action": "session.accept", "sessionId": session}), "session.accepted")).await?;
    o.request(
        json!({"action": "message.send", "roomId": session, "clientId": format!("{run_id}-o"), "content": "Hi, how can I help?"}),
        "ack",
    )
    .await?;
    steps.time("operator reply delivered", g.expect(|f| f["type"] == "message.new" && f["message"]["senderId"] == json!(op))).await?;
    steps.time("session.close", o.request(json!({"action": "session.close", "sessionId": session}), "session.closed")).await?;
    steps.time("session.rate", g.request(json!({"action": "session.rate", "sessionId": session, "score": 5}), "session.rated")).await?;
    Ok(json!({ "ok": true, "steps": steps.done, "totalMs": steps.total_ms() }).to_string())
}

#[derive(Default)]
struct Steps {
    done: Vec<Value>,
    current: String,
}

impl Steps {
    async fn time<T>(&mut self, name: &str, f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
        self.current = name.to_string();
        let started = Instant::now();
        let out = tokio::time::timeout(STEP, f).await.map_err(|_| format!("timed out after {} s", STEP.as_secs())).and_then(|r| r);
        match out {
            Ok(v) => {
                self.done.push(json!({ "step": name, "ms": (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0 }));
                Ok(v)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&self, why: String) -> String {
        json!({ "ok": false, "failed": self.current, "error": why, "steps": self.done }).to_string()
    }

    fn total_ms(&self) -> f64 {
        self.done.iter().filter_map(|s| s["ms"].as_f64()).sum::<f64>().round()
    }
}

struct Socket {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Socket {
    async fn open(url: &str, token: &str) -> Result<Socket, String> {
        let sep = if url.contains('?') { '&' } else { '?' };
        let (ws, _) = tokio_tungstenite::connect_async(format!("{url}{sep}token={token}")).await.map_err(|e| format!("connect: {e}"))?;
        Ok(Socket { ws })
    }

    /// Sends a frame with a `ref` and waits for the answer of `answer` type to it (or its error).
    async fn request(&mut self, mut frame: Value, answer: &str) -> Result<Value, String> {
        let reference = format!("r{}", SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        frame["ref"] = json!(reference);
        self.ws.send(Message::Text(frame.to_string().into())).await.map_err(|e| format!("send: {e}"))?;
        let answer = answer.to_string();
        self.expect(move |f| f["ref"] == json!(reference) && (f["type"] == json!(answer) || f["type"] == "error")).await.and_then(|f| {
            if f["type"] == "error" {
                Err(format!("{} answered {f}", frame["action"]))
            } else {
                Ok(f)
            }
        })
    }

    async fn expect(&mut self, pred: impl Fn(&Value) -> bool) -> Result<Value, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let f: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if pred(&f) {
                        return Ok(f);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("socket: {e}")),
                None => return Err("the socket closed".into()),
            }
        }
    }
}

/// A REST call with a bearer token (none when empty) and a JSON body; the JSON answer of a 2xx.
async fn rest(http: &Https, method: &str, url: &str, token: &str, body: Option<Value>) -> Result<Value, String> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if !token.is_empty() {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    let bytes = raw(http, method, url, &headers, body.map(|b| b.to_string().into_bytes()).unwrap_or_default()).await?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{method} {url}: not JSON: {e}"))
}

/// Any HTTP(S) call: the body of a 2xx answer, else an error with the status and body.
async fn raw(http: &Https, method: &str, url: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| format!("{method} {url}: {e}"))?;
    let resp = http.request(req).await.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| format!("{method} {url}: {e}"))?.to_bytes().to_vec();
    if !status.is_success() {
        return Err(format!("{method} {url}: {status} {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(bytes)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
