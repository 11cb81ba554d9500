//! Test harness: whole local stacks on free ports, real WebSocket clients.
//!
//! - The AWS emulators (DynamoDB Local, moto) start once per test binary, on free ports, from a
//!   dedicated thread (their `PDEATHSIG` is tied to it and to this process), and die with it.
//! - Every [`TestStack`] is its own gateway on a free port, running the real function binaries,
//!   with its own tables (a unique stack name prefixes them): tests and parallel runs never collide.

pub mod desk;

use chat_dev::gateway::GatewayConfig;
use chat_dev::log::LogSink;
use chat_dev::services::{AwsTarget, EmbeddedServices};
use chat_dev::stack::{self, RunningStack, StackOptions};
use chat_dev::template::LocalContext;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

pub use chat_dev;

/// How long a test waits for an expected frame before failing.
pub const WAIT: Duration = Duration::from_secs(15);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

pub fn bin_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("debug"),
        None => repo_root().join("target").join("debug"),
    }
}

/// The AWS services of this test process: with `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB`)
/// set, those (LocalStack: `make test-localstack`); else the embedded emulators, started on first
/// use.
pub fn aws() -> AwsTarget {
    static AWS: OnceLock<AwsTarget> = OnceLock::new();
    AWS.get_or_init(|| {
        let external = AwsTarget::from_env();
        if external.endpoint("DYNAMODB").is_some() {
            return external;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("aws-emulators".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let log = if std::env::var_os("CHAT_DEV_VERBOSE").is_some() { LogSink::Print } else { LogSink::capture() };
                    let tools = repo_root().join(".local").join("tools");
                    match EmbeddedServices::start(&tools, &log).await {
                        Ok(s) => {
                            tx.send(Ok(s.target("us-east-1"))).unwrap();
                            // Keep the processes (and this thread, their parent) alive.
                            std::future::pending::<()>().await;
                            drop(s);
                        }
                        Err(e) => tx.send(Err(e)).unwrap(),
                    }
                });
            })
            .unwrap();
        match rx.recv().unwrap() {
            Ok(t) => t,
            Err(e) => panic!("cannot start the AWS emulators: {e}"),
        }
    })
    .clone()
}

pub struct StackSpec {
    pub template: PathBuf,
    pub gateway: GatewayConfig,
    pub max_concurrency: usize,
    pub max_queue: usize,
    pub function_env: BTreeMap<String, String>,
    /// Start the emulators and create the template's resources.
    pub with_aws: bool,
    /// Template parameter overrides; `{stack}` is replaced by the stack's unique name.
    pub parameters: BTreeMap<String, String>,
}

impl Default for StackSpec {
    fn default() -> Self {
        StackSpec {
            template: repo_root().join("infra").join("template.yaml"),
            gateway: GatewayConfig::default(),
            max_concurrency: 10,
            max_queue: 100,
            function_env: BTreeMap::new(),
            with_aws: true,
            // Stacks share the emulators: each keeps its JWT secret and VAPID keys under its own name.
            parameters: BTreeMap::from([
                ("JwtSecretParameterName".to_string(), "/chat-tests/{stack}/jwt-secret".to_string()),
                ("VapidParameterName".to_string(), "/chat-tests/{stack}/vapid".to_string()),
            ]),
        }
    }
}

pub struct TestStack {
    pub stack: RunningStack,
    pub secret: String,
    pub log: LogSink,
    pub aws: Option<AwsTarget>,
    pub stack_name: String,
    /// The stack's Web Push VAPID key pair (fresh per stack), as its SSM parameter holds it.
    pub vapid: chat::push::webpush::VapidKeys,
}

fn unique(prefix: &str) -> String {
    let r = chat_dev::util::random_bytes::<4>();
    format!("{prefix}{}", chat_dev::util::hex(&r))
}

impl TestStack {
    /// The real template, the real functions, DynamoDB Local: the chat backend.
    pub async fn chat() -> TestStack {
        Self::start(StackSpec::default()).await
    }

    pub async fn start(spec: StackSpec) -> TestStack {
        let log = LogSink::capture();
        let secret = chat_dev::util::hex(&chat_dev::util::random_bytes::<16>());
        let vapid = chat::push::webpush::VapidKeys::generate(chat_dev::stack::LOCAL_VAPID_SUBJECT).unwrap();
        let aws = if spec.with_aws { Some(aws()) } else { None };
        let stack_name = unique("t");
        let mut ctx = LocalContext { stack_name: stack_name.clone(), ..LocalContext::default() };
        for (k, v) in spec.parameters {
            ctx.parameter_overrides.insert(k, v.replace("{stack}", &stack_name));
        }
        let opts = StackOptions {
            template: spec.template,
            context: ctx,
            bin_dir: bin_dir(),
            bind: "127.0.0.1:0".parse().unwrap(),
            gateway: spec.gateway,
            max_concurrency: spec.max_concurrency,
            max_queue: spec.max_queue,
            aws: aws.clone().unwrap_or_else(|| AwsTarget {
                region: "us-east-1".into(),
                endpoints: BTreeMap::new(),
                dummy_credentials: true,
            }),
            function_env: {
                // Marks this stack's function processes (see [`stack_processes`]).
                let mut env = spec.function_env;
                env.insert(STACK_MARKER.into(), stack_name.clone());
                env
            },
            ssm_value: Some(secret.clone()),
            ssm_values: BTreeMap::from([(chat_dev::stack::VAPID_VAR.to_string(), vapid.to_json())]),
            provision: spec.with_aws,
            log: log.clone(),
        };
        let stack = match stack::start(opts).await {
            Ok(s) => s,
            Err(e) => panic!("cannot start the stack: {e}\n(run `cargo build --workspace --bins` and `scripts/install-tools.sh` first; `make test` does)"),
        };
        TestStack { stack, secret, log, aws, stack_name, vapid }
    }

    pub fn ws_url(&self) -> String {
        self.stack.ws_url()
    }

    /// The gateway's `/health` JSON (functions' instances and pids, injected faults).
    pub async fn health(&self) -> Value {
        let (status, body) = http_get(&format!("{}/health", self.stack.http_url())).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("/health is JSON")
    }

    /// The REST API's base URL (`http://127.0.0.1:PORT/api`).
    pub fn api(&self) -> String {
        self.stack.api_url()
    }

    pub fn token(&self, sub: &str, name: Option<&str>, role: &str) -> String {
        self.token_exp(sub, name, role, 3600)
    }

    pub fn token_exp(&self, sub: &str, name: Option<&str>, role: &str, ttl: i64) -> String {
        mint_token(&self.secret, sub, name, role, ttl)
    }

    /// A connected user (token in `?token=`); waits until the gateway has registered the socket.
    pub async fn user(&self, sub: &str) -> Client {
        let name = format!("{}{}", sub[..1].to_uppercase(), &sub[1..]);
        let url = format!("{}?token={}", self.ws_url(), self.token(sub, Some(&name), "user"));
        Client::connect(&url, &[]).await.unwrap_or_else(|e| panic!("{sub} cannot connect: {e}"))
    }

    /// Gateway and function output so far (for failure messages).
    pub fn logs(&self) -> String {
        self.log.lines().join("\n")
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let aws = self.aws.as_ref().expect("stack has AWS");
        let conf = aws.sdk_config().await;
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&conf).endpoint_url(aws.endpoint("DYNAMODB").unwrap()).build(),
        )
    }

    /// SNS of the services this stack runs on.
    pub async fn sns(&self) -> aws_sdk_sns::Client {
        let aws = self.aws.as_ref().expect("stack has AWS");
        let conf = aws.sdk_config().await;
        aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(&conf).endpoint_url(aws.endpoint("SNS").unwrap()).build())
    }

    /// SQS of the services this stack runs on.
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        let aws = self.aws.as_ref().expect("stack has AWS");
        let conf = aws.sdk_config().await;
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&conf).endpoint_url(aws.endpoint("SQS").unwrap()).build())
    }

    /// The physical name of a template table (or queue) on this stack.
    pub fn table(&self, logical_id: &str) -> String {
        format!("{}-{}", self.stack_name, logical_id)
    }

    /// An @connections client of this stack, as the AWS SDK sees it.
    pub async fn connections_api(&self) -> aws_sdk_apigatewaymanagement::Client {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await;
        aws_sdk_apigatewaymanagement::Client::from_conf(
            aws_sdk_apigatewaymanagement::config::Builder::from(&conf).endpoint_url(self.stack.connections_endpoint()).build(),
        )
    }
}

/// The environment variable every function process of a [`TestStack`] carries, with the stack's
/// name as its value.
pub const STACK_MARKER: &str = "CHAT_TEST_STACK";

/// The process ids of every live (not zombie) process of this user whose environment carries
/// `CHAT_TEST_STACK=<stack_name>`: the stack's function instances, whoever spawned them.
pub fn stack_processes(stack_name: &str) -> Vec<u32> {
    let needle = format!("{STACK_MARKER}={stack_name}");
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        if !env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            continue;
        }
        // A zombie has given everything back; only its parent's wait is missing.
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
            .unwrap_or(false);
        if !zombie {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

/// An HS256 token for `sub`, signed with `secret`, expiring `ttl` seconds from now (negative: expired).
pub fn mint_token(secret: &str, sub: &str, name: Option<&str>, role: &str, ttl: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = chat::auth::Claims {
        sub: sub.into(),
        name: name.map(str::to_string),
        role: Some(role.into()),
        exp: (now + ttl) as u64,
        iat: Some(now as u64),
        iss: None,
        aud: None,
        nbf: None,
    };
    chat::auth::mint_hs256(secret.as_bytes(), &claims)
}

/// A WebSocket client that buffers incoming frames so tests can wait for the one they expect.
pub struct Client {
    reader: tokio::task::JoinHandle<()>,
    tx: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        Message,
    >,
    rx: mpsc::UnboundedReceiver<Incoming>,
    buffer: VecDeque<Value>,
    pub closed: Option<Option<CloseFrame>>,
    pub protocol: Option<String>,
    next_ref: u64,
}

#[derive(Debug)]
enum Incoming {
    Frame(Value),
    Closed(Option<CloseFrame>),
}

impl Client {
    /// Connects; `protocols` go in `Sec-WebSocket-Protocol`. An HTTP status refusing the handshake
    /// comes back as `Err(status)`.
    pub async fn connect(url: &str, protocols: &[&str]) -> Result<Client, String> {
        Self::connect_with(url, protocols, &[]).await
    }

    /// [`Client::connect`] with extra handshake headers (`Origin`, `User-Agent`, ...).
    pub async fn connect_with(url: &str, protocols: &[&str], headers: &[(&str, &str)]) -> Result<Client, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        if !protocols.is_empty() {
            req.headers_mut().insert("sec-websocket-protocol", protocols.join(", ").parse().unwrap());
        }
        for (name, value) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            req.headers_mut().insert(name, value.parse().map_err(|_| format!("bad header value {value}"))?);
        }
        let (ws, resp) = match tokio_tungstenite::connect_async(req).await {
            Ok(x) => x,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => return Err(r.status().as_u16().to_string()),
            Err(e) => return Err(e.to_string()),
        };
        let protocol = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_string);
        let (tx, mut stream) = ws.split();
        let (itx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(m) = stream.next().await {
                match m {
                    Ok(Message::Text(t)) => {
                        let v = serde_json::from_str(&t).unwrap_or(Value::String(t.to_string()));
                        if itx.send(Incoming::Frame(v)).is_err() {
                            return;
                        }
                    }
                    Ok(Message::Close(c)) => {
                        let _ = itx.send(Incoming::Closed(c));
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let _ = itx.send(Incoming::Closed(None));
                        return;
                    }
                }
            }
            let _ = itx.send(Incoming::Closed(None));
        });
        Ok(Client { reader, tx, rx, buffer: VecDeque::new(), closed: None, protocol, next_ref: 0 })
    }

    pub async fn send(&mut self, v: Value) {
        self.tx.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    pub async fn send_raw(&mut self, m: Message) -> Result<(), String> {
        self.tx.send(m).await.map_err(|e| e.to_string())
    }

    /// Sends `v` with a fresh `ref` and returns the frame answering it.
    pub async fn request(&mut self, mut v: Value) -> Value {
        self.next_ref += 1;
        let r = format!("r{}", self.next_ref);
        v["ref"] = json!(r);
        self.send(v).await;
        self.expect(|f| f["ref"] == json!(r)).await
    }

    async fn pull(&mut self, deadline: tokio::time::Instant) -> Option<Value> {
        if self.closed.is_some() {
            return None;
        }
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Ok(Some(Incoming::Frame(v))) => Some(v),
            Ok(Some(Incoming::Closed(c))) => {
                self.closed = Some(c);
                None
            }
            Ok(None) => {
                self.closed = Some(None);
                None
            }
            Err(_) => None,
        }
    }

    /// Waits for the first frame matching `pred` (earlier non-matching frames stay buffered).
    pub async fn expect(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        match self.wait_for(&pred, WAIT).await {
            Some(v) => v,
            None => panic!("no matching frame within {WAIT:?}; buffered: {:?}; closed: {:?}", self.buffer, self.closed),
        }
    }

    pub async fn expect_type(&mut self, t: &str) -> Value {
        let t = t.to_string();
        self.expect(move |f| f["type"] == json!(t)).await
    }

    pub async fn wait_for(&mut self, pred: &impl Fn(&Value) -> bool, within: Duration) -> Option<Value> {
        if let Some(i) = self.buffer.iter().position(pred) {
            return self.buffer.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        while let Some(v) = self.pull(deadline).await {
            if pred(&v) {
                return Some(v);
            }
            self.buffer.push_back(v);
        }
        None
    }

    /// Asserts that no frame matching `pred` arrives within `within`.
    pub async fn assert_none(&mut self, pred: impl Fn(&Value) -> bool, within: Duration) {
        if let Some(v) = self.wait_for(&pred, within).await {
            panic!("unexpected frame: {v}");
        }
    }

    /// Every frame received so far and within `within`, in order.
    pub async fn drain(&mut self, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        while let Some(v) = self.pull(deadline).await {
            self.buffer.push_back(v);
        }
        self.buffer.drain(..).collect()
    }

    /// Waits until the server closes the socket; returns the close frame.
    pub async fn expect_closed(&mut self, within: Duration) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + within;
        while self.closed.is_none() {
            if tokio::time::Instant::now() >= deadline {
                panic!("socket not closed within {within:?}");
            }
            if let Some(v) = self.pull(deadline).await {
                self.buffer.push_back(v);
            }
        }
        self.closed.clone().flatten()
    }

    /// Drops the TCP connection without a close frame (a killed browser tab, a lost network).
    pub fn kill(self) {
        self.reader.abort();
        drop(self.tx);
    }

    pub async fn close(mut self, code: u16, reason: &str) {
        let _ = self.tx.send(Message::Close(Some(CloseFrame { code: code.into(), reason: reason.to_string().into() }))).await;
        let _ = self.expect_closed(Duration::from_secs(5)).await;
    }
}

/// A unique id with a readable prefix (tests share the emulators).
pub fn uid(prefix: &str) -> String {
    format!("{prefix}{}", chat_dev::util::hex(&chat_dev::util::random_bytes::<3>()))
}

/// Creates (or finds) the direct room of the client's user and `other`; returns its id.
pub async fn direct(c: &mut Client, other: &str) -> String {
    let r = c.request(json!({"action": "room.create", "type": "direct", "members": [other]})).await;
    assert_eq!(r["type"], "room.created", "{r}");
    r["room"]["roomId"].as_str().unwrap().to_string()
}

/// Creates a group "Team" of the client's user and `members`; returns its id.
pub async fn group(c: &mut Client, members: &[&str]) -> String {
    let r = c.request(json!({"action": "room.create", "type": "group", "name": "Team", "members": members})).await;
    assert_eq!(r["type"], "room.created", "{r}");
    r["room"]["roomId"].as_str().unwrap().to_string()
}

/// Polls `f` until it returns `Some`, or fails after [`WAIT`].
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An HTTP answer: status, headers (names lower case), body.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy), for JSON and pages.
    pub body: String,
    /// The body as it came (files).
    pub bytes: Vec<u8>,
}

impl HttpReply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 request (one connection per request): enough for the REST API's tests.
pub async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> HttpReply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    s.write_all(&bytes).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4)).unwrap_or((out.len(), out.len()));
    let head = String::from_utf8_lossy(&out[..split.0]).into_owned();
    let raw = &out[split.1..];
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body: Vec<u8> = if chunked {
        let mut body = Vec::new();
        let mut rest = raw;
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let after = &rest[eol + 2..];
            body.extend_from_slice(&after[..n.min(after.len())]);
            rest = after.get(n + 2..).unwrap_or(&[]);
        }
        body
    } else {
        raw.to_vec()
    };
    HttpReply { status, headers, body: String::from_utf8_lossy(&body).into_owned(), bytes: body }
}

/// A REST call with a bearer token and an optional JSON body.
pub async fn rest(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> HttpReply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let text = body.map(|b| b.to_string());
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    http(method, url, &headers, text.as_deref().map(str::as_bytes)).await
}

/// A plain HTTP GET (status, body), enough for `/health` and static pages.
pub async fn http_get(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}
