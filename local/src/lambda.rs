//! The local Lambda service: runs each function as its real compiled binary through the Lambda
//! Runtime API (`/2018-06-01/runtime/...`), like the Lambda service does.
//!
//! Every instance (sandbox) gets its own Runtime API listener, so the service always knows which
//! instance polls `next`. One invocation per instance at a time; idle instances are reused (warm);
//! a new instance is spawned when all are busy, up to `max_concurrency` per function. Beyond that,
//! up to `max_queue` invocations wait for a free instance and further ones are refused at once as
//! Lambda refuses them when a function is throttled (`TooManyRequestsException`, "Rate
//! Exceeded."). An invocation runs to its end (or to the function's timeout, when its instance is
//! stopped) even if whoever asked stops waiting, as on Lambda: the instance count never exceeds the
//! limit and nothing leaks. An instance that exits or times out is replaced on the next
//! invocation.
//!
//! Fault injection ([`crate::faults`], `kill`): an instance is killed with SIGKILL at a random
//! point of an invocation it was handed, before it answers; the caller sees the runtime exit
//! (`Crashed`), whatever the function did so far stays done, and the next invocation gets another
//! instance.

use crate::faults::{Fault, Faults};
use crate::log::{LogSink, Stream};
use crate::template::FunctionSpec;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{oneshot, Semaphore};

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeError {
    /// The handler returned an error (`/invocation/{id}/error`); the runtime's JSON body.
    Handler(String),
    /// The runtime reported an init error (`/runtime/init/error`).
    Init(String),
    /// The instance exited while the invocation was pending.
    Crashed(String),
    /// The function ran past its configured timeout; the instance was stopped.
    Timeout,
    /// The binary could not be started.
    Spawn(String),
    /// Every instance is busy and the queue is full (Lambda: `TooManyRequestsException`).
    Throttled,
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Handler(b) => write!(f, "handler error: {b}"),
            InvokeError::Init(b) => write!(f, "init error: {b}"),
            InvokeError::Crashed(s) => write!(f, "runtime exited: {s}"),
            InvokeError::Timeout => write!(f, "task timed out"),
            InvokeError::Spawn(s) => write!(f, "cannot start function: {s}"),
            InvokeError::Throttled => write!(f, "throttled: Rate Exceeded."),
        }
    }
}

/// What the caller learns about an invocation besides its result.
#[derive(Debug, Clone)]
pub struct InvokeReport {
    pub request_id: String,
    pub duration: Duration,
    /// Spawn to first `next` poll, on a cold start.
    pub init_duration: Option<Duration>,
    pub instance: u64,
}

type Reply = oneshot::Sender<Result<Bytes, InvokeError>>;

struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: Reply,
}

#[derive(Default)]
struct InstanceState {
    alive: bool,
    /// Assigned but not yet handed to the runtime.
    pending: Option<Invocation>,
    /// A `next` poll waiting for work.
    waiting_next: Option<oneshot::Sender<Invocation>>,
    /// Handed to the runtime, awaiting its response.
    current: Option<(String, Reply)>,
    first_poll: Option<Instant>,
}

struct Instance {
    id: u64,
    function: String,
    spawned_at: Instant,
    state: Mutex<InstanceState>,
    pid: Option<u32>,
}

impl Instance {
    fn is_alive(&self) -> bool {
        self.state.lock().unwrap().alive
    }

    fn assign(&self, inv: Invocation) {
        let mut st = self.state.lock().unwrap();
        if !st.alive {
            let _ = inv.reply.send(Err(InvokeError::Crashed("instance is gone".into())));
            return;
        }
        let inv = match st.waiting_next.take() {
            Some(tx) => match tx.send(inv) {
                Ok(()) => return,
                Err(inv) => inv, // that poll was abandoned
            },
            None => inv,
        };
        st.pending = Some(inv);
    }

    /// The runtime's `next` poll received `inv`: remember it as current, unless the instance died.
    /// Returns what the runtime is sent: request id, event, deadline.
    fn deliver(&self, inv: Invocation) -> Option<(String, Bytes, u64)> {
        let mut st = self.state.lock().unwrap();
        if !st.alive {
            let _ = inv.reply.send(Err(InvokeError::Crashed("instance is gone".into())));
            return None;
        }
        st.current = Some((inv.request_id.clone(), inv.reply));
        Some((inv.request_id, inv.payload, inv.deadline_ms))
    }

    fn complete(&self, request_id: &str, result: Result<Bytes, InvokeError>) -> bool {
        let mut st = self.state.lock().unwrap();
        match st.current.take() {
            Some((id, reply)) if id == request_id => {
                let _ = reply.send(result);
                true
            }
            other => {
                st.current = other;
                false
            }
        }
    }

    /// The process is gone: fail whatever was assigned to it.
    fn died(&self, why: InvokeError) {
        let mut st = self.state.lock().unwrap();
        st.alive = false;
        st.waiting_next = None;
        if let Some(inv) = st.pending.take() {
            let _ = inv.reply.send(Err(why.clone()));
        }
        if let Some((_, reply)) = st.current.take() {
            let _ = reply.send(Err(why));
        }
    }

    fn fail_current(&self, why: InvokeError) {
        let mut st = self.state.lock().unwrap();
        if let Some((_, reply)) = st.current.take() {
            let _ = reply.send(Err(why));
        }
    }

    /// Fault injection: kills the process if it is still running invocation `request_id`, and
    /// fails that invocation as a runtime that died does. The instance is dead from this moment
    /// (never handed another invocation), before the process is reaped.
    fn kill_during(&self, request_id: &str, faults: &Faults, kind: Fault) -> bool {
        let mut st = self.state.lock().unwrap();
        if !st.alive || st.current.as_ref().is_none_or(|(id, _)| id != request_id) {
            return false;
        }
        // Counted before anyone can learn of it.
        faults.record(kind);
        st.alive = false;
        st.waiting_next = None;
        let why = InvokeError::Crashed(format!("Runtime exited with signal: 9 (SIGKILL) (fault injection: {})", kind.key()));
        if let Some((_, reply)) = st.current.take() {
            let _ = reply.send(Err(why.clone()));
        }
        if let Some(inv) = st.pending.take() {
            let _ = inv.reply.send(Err(why));
        }
        // Under the lock: the runtime's answer cannot complete the invocation in between.
        self.kill();
        true
    }

    fn kill(&self) {
        if let Some(pid) = self.pid {
            // SAFETY: plain kill(2) on the instance's own process group.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

/// Settings shared by every function of a stack.
#[derive(Clone)]
pub struct LambdaSettings {
    pub bin_dir: PathBuf,
    pub max_concurrency: usize,
    /// Invocations that may wait for a free instance; more are throttled.
    pub max_queue: usize,
    pub region: String,
    pub account_id: String,
    /// Environment every instance gets on top of the function's own (endpoints, credentials).
    pub base_env: BTreeMap<String, String>,
    pub log: LogSink,
}

/// Counters for one function, for `/health` and tests.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct PoolStats {
    pub spawned: u64,
    pub live: usize,
    pub busy: usize,
    pub queued: usize,
    pub invocations: u64,
    pub throttled: u64,
    pub timeouts: u64,
    /// Process ids of the live instances.
    pub pids: Vec<u32>,
}

pub struct FunctionPool {
    spec: FunctionSpec,
    settings: LambdaSettings,
    env: BTreeMap<String, String>,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Arc<Instance>>>,
    live: Mutex<Vec<Arc<Instance>>>,
    spawned: AtomicU64,
    invocations: AtomicU64,
    busy: AtomicUsize,
    queued: AtomicUsize,
    throttled: AtomicU64,
    timeouts: AtomicU64,
    next_request: AtomicU64,
    /// Fault injection (set by the stack; none by default).
    faults: Mutex<Faults>,
    /// Recent invocation durations (µs, moving average): where in an invocation a kill lands.
    recent_us: Arc<AtomicU64>,
}

impl FunctionPool {
    pub fn new(spec: FunctionSpec, settings: LambdaSettings, extra_env: &BTreeMap<String, String>) -> Arc<Self> {
        let mut env = settings.base_env.clone();
        env.extend(spec.environment.clone());
        env.extend(extra_env.clone());
        let name = spec.logical_id.clone();
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), name.clone());
        env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), spec.memory_mb.to_string());
        env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
        env.insert("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{name}"));
        env.insert("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into());
        env.insert("AWS_EXECUTION_ENV".into(), "AWS_Lambda_provided.al2023".into());
        env.insert("AWS_REGION".into(), settings.region.clone());
        env.insert("AWS_DEFAULT_REGION".into(), settings.region.clone());
        env.insert("_HANDLER".into(), "bootstrap".into());
        env.insert("TZ".into(), ":UTC".into());
        env.insert("LANG".into(), "en_US.UTF-8".into());
        if let Ok(path) = std::env::var("PATH") {
            env.insert("PATH".into(), path);
        }
        Arc::new(FunctionPool {
            permits: Arc::new(Semaphore::new(settings.max_concurrency.max(1))),
            spec,
            settings,
            env,
            idle: Mutex::new(Vec::new()),
            live: Mutex::new(Vec::new()),
            spawned: AtomicU64::new(0),
            invocations: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            throttled: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            next_request: AtomicU64::new(0),
            faults: Mutex::new(Faults::none()),
            recent_us: Arc::new(AtomicU64::new(20_000)),
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.logical_id
    }

    /// A pool that is never invoked (unit tests of routing).
    #[cfg(test)]
    pub fn for_tests(name: &str) -> Arc<Self> {
        let spec = FunctionSpec {
            logical_id: name.into(),
            binary: name.into(),
            memory_mb: 128,
            timeout_secs: 3,
            environment: BTreeMap::new(),
            dead_letter_queue: None,
        };
        let settings = LambdaSettings {
            bin_dir: PathBuf::new(),
            max_concurrency: 1,
            max_queue: 1,
            region: "us-east-1".into(),
            account_id: "0".into(),
            base_env: BTreeMap::new(),
            log: LogSink::capture(),
        };
        FunctionPool::new(spec, settings, &BTreeMap::new())
    }

    /// Injects the faults of `faults` into this function's invocations (`kill`).
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    /// The process ids of the instances alive now.
    pub fn pids(&self) -> Vec<u32> {
        self.live.lock().unwrap().iter().filter(|i| i.is_alive()).filter_map(|i| i.pid).collect()
    }

    pub fn binary_path(&self) -> PathBuf {
        self.settings.bin_dir.join(&self.spec.binary)
    }

    pub fn stats(&self) -> PoolStats {
        let live = self.live.lock().unwrap().iter().filter(|i| i.is_alive()).count();
        PoolStats {
            spawned: self.spawned.load(Ordering::Relaxed),
            live,
            busy: self.busy.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            invocations: self.invocations.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            pids: self.pids(),
        }
    }

    /// Stops every instance (stack shutdown).
    pub fn shutdown(&self) {
        for inst in self.live.lock().unwrap().drain(..) {
            inst.kill();
        }
        self.idle.lock().unwrap().clear();
    }

    /// Invokes the function with `payload` (the event JSON) and returns the runtime's response body.
    /// The invocation runs in its own task: dropping this future (a caller that stops waiting)
    /// leaves it to finish or time out, and its instance and slot are always given back.
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> (Result<Bytes, InvokeError>, InvokeReport) {
        let request_id = self.request_id();
        if self.permits.available_permits() == 0 && self.queued.load(Ordering::Relaxed) >= self.settings.max_queue {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return (Err(InvokeError::Throttled), InvokeReport { request_id, duration: Duration::ZERO, init_duration: None, instance: 0 });
        }
        let pool = self.clone();
        let started = Instant::now();
        match tokio::spawn(async move { pool.run_invocation(payload, request_id).await }).await {
            Ok(r) => r,
            Err(e) => (
                Err(InvokeError::Crashed(format!("invocation task failed: {e}"))),
                InvokeReport { request_id: String::new(), duration: started.elapsed(), init_duration: None, instance: 0 },
            ),
        }
    }

    async fn run_invocation(self: Arc<Self>, payload: Bytes, request_id: String) -> (Result<Bytes, InvokeError>, InvokeReport) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let permit = self.permits.clone().acquire_owned().await.expect("semaphore is never closed");
        self.queued.fetch_sub(1, Ordering::Relaxed);
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let warm = loop {
            let candidate = self.idle.lock().unwrap().pop();
            match candidate {
                Some(i) if i.is_alive() => break Some(i),
                Some(_) => continue,
                None => break None,
            }
        };
        let (instance, cold) = match warm {
            Some(i) => (i, false),
            None => match self.spawn().await {
                Ok(i) => (i, true),
                Err(e) => {
                    self.busy.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                    let report = InvokeReport { request_id, duration: started.elapsed(), init_duration: None, instance: 0 };
                    return (Err(e), report);
                }
            },
        };
        let timeout = Duration::from_secs(self.spec.timeout_secs.max(1) as u64);
        let deadline_ms = crate::util::now_ms() + timeout.as_millis() as u64;
        let (tx, rx) = oneshot::channel();
        instance.assign(Invocation { request_id: request_id.clone(), payload, deadline_ms, reply: tx });
        // On a cold start the function's init counts towards its timeout, as on Lambda.
        let result = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(InvokeError::Crashed("instance dropped the invocation".into())),
            Err(_) => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                instance.fail_current(InvokeError::Timeout);
                instance.kill();
                Err(InvokeError::Timeout)
            }
        };
        let init_duration =
            if cold { instance.state.lock().unwrap().first_poll.map(|t| t.duration_since(instance.spawned_at)) } else { None };
        if result.is_ok() {
            let us = started.elapsed().as_micros().min(u64::MAX as u128) as u64;
            let old = self.recent_us.load(Ordering::Relaxed);
            self.recent_us.store((old * 7 + us) / 8, Ordering::Relaxed);
        }
        if instance.is_alive() && !matches!(result, Err(InvokeError::Timeout)) {
            self.idle.lock().unwrap().push(instance.clone());
        }
        self.busy.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
        let report = InvokeReport { request_id, duration: started.elapsed(), init_duration, instance: instance.id };
        (result, report)
    }

    fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        let r = crate::util::random_bytes::<6>();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (n as u32) ^ u32::from_be_bytes([r[0], r[1], r[2], r[3]]),
            r[4] as u16 * 256 + r[5] as u16,
            n & 0xfff,
            (n >> 12) & 0xfff,
            crate::util::now_ms()
        )
    }

    async fn spawn(self: &Arc<Self>) -> Result<Arc<Instance>, InvokeError> {
        let id = self.spawned.fetch_add(1, Ordering::Relaxed) + 1;
        let bin = self.binary_path();
        if !bin.exists() {
            return Err(InvokeError::Spawn(format!("{} does not exist (build the functions first: cargo build)", bin.display())));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| InvokeError::Spawn(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| InvokeError::Spawn(e.to_string()))?;

        let mut cmd = tokio::process::Command::new(&bin);
        cmd.env_clear()
            .envs(&self.env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("{}/[$LATEST]{:032x}", crate::util::log_date(), id))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        crate::util::die_with_parent(&mut cmd, true);
        let spawned_at = Instant::now();
        let mut child = cmd.spawn().map_err(|e| InvokeError::Spawn(format!("{}: {e}", bin.display())))?;
        let instance = Arc::new(Instance {
            id,
            function: self.spec.logical_id.clone(),
            spawned_at,
            state: Mutex::new(InstanceState { alive: true, ..Default::default() }),
            pid: child.id(),
        });
        for (pipe, stream) in [(child.stdout.take().map(Pipe::Out), Stream::Stdout), (child.stderr.take().map(Pipe::Err), Stream::Stderr)] {
            if let Some(pipe) = pipe {
                let log = self.settings.log.clone();
                let name = self.spec.logical_id.clone();
                tokio::spawn(async move {
                    let mut lines = match pipe {
                        Pipe::Out(o) => LinesOf::Out(BufReader::new(o).lines()),
                        Pipe::Err(e) => LinesOf::Err(BufReader::new(e).lines()),
                    };
                    while let Ok(Some(line)) = lines.next().await {
                        log.function(&name, stream, &line);
                    }
                });
            }
        }
        let server = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(RuntimeState {
                instance: instance.clone(),
                arn: self.arn(),
                faults: self.faults.lock().unwrap().clone(),
                recent_us: self.recent_us.clone(),
                log: self.settings.log.clone(),
            });
        let server_task = tokio::spawn(async move {
            let _ = axum::serve(listener, server).await;
        });
        {
            let instance = instance.clone();
            let log = self.settings.log.clone();
            tokio::spawn(async move {
                let status = child.wait().await;
                server_task.abort();
                let why = match status {
                    Ok(s) => format!("Runtime exited with {s}"),
                    Err(e) => format!("Runtime wait failed: {e}"),
                };
                let was_busy = {
                    let st = instance.state.lock().unwrap();
                    st.current.is_some() || st.pending.is_some()
                };
                if was_busy {
                    log.gateway(&format!("{}: instance {} exited during an invocation: {why}", instance.function, instance.id));
                }
                instance.died(InvokeError::Crashed(why));
            });
        }
        self.live.lock().unwrap().retain(|i| i.is_alive());
        self.live.lock().unwrap().push(instance.clone());
        // The invocation is queued on the instance; the runtime picks it up on its first poll.
        Ok(instance)
    }

    fn arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.settings.region, self.settings.account_id, self.spec.logical_id)
    }
}

enum Pipe {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

enum LinesOf {
    Out(tokio::io::Lines<BufReader<tokio::process::ChildStdout>>),
    Err(tokio::io::Lines<BufReader<tokio::process::ChildStderr>>),
}

impl LinesOf {
    async fn next(&mut self) -> std::io::Result<Option<String>> {
        match self {
            LinesOf::Out(l) => l.next_line().await,
            LinesOf::Err(l) => l.next_line().await,
        }
    }
}

#[derive(Clone)]
struct RuntimeState {
    instance: Arc<Instance>,
    arn: String,
    faults: Faults,
    recent_us: Arc<AtomicU64>,
    log: LogSink,
}

async fn next(State(rt): State<RuntimeState>) -> Response {
    let inst = &rt.instance;
    let waiting = {
        let mut st = inst.state.lock().unwrap();
        if st.first_poll.is_none() {
            st.first_poll = Some(Instant::now());
        }
        match st.pending.take() {
            Some(inv) => Ok(inv),
            None => {
                let (tx, rx) = oneshot::channel();
                st.waiting_next = Some(tx);
                Err(rx)
            }
        }
    };
    let inv = match waiting {
        Ok(inv) => inv,
        Err(rx) => match rx.await {
            Ok(inv) => inv,
            Err(_) => return StatusCode::GONE.into_response(),
        },
    };
    let Some((request_id, payload, deadline_ms)) = inst.deliver(inv) else {
        return StatusCode::GONE.into_response();
    };
    if rt.faults.decide(Fault::Crash) && inst.kill_during(&request_id, &rt.faults, Fault::Crash) {
        rt.log.gateway(&format!("fault: {} instance {} crashed as invocation {request_id} was handed to it", inst.function, inst.id));
        return StatusCode::GONE.into_response();
    }
    if rt.faults.decide(Fault::Kill) {
        // Somewhere in the invocation: up to about as long as invocations take lately.
        let within = rt.recent_us.load(Ordering::Relaxed).clamp(1_000, 2_000_000);
        let after = Duration::from_micros(rt.faults.uniform(Fault::Kill, within));
        let (instance, faults, log, id) = (inst.clone(), rt.faults.clone(), rt.log.clone(), request_id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if instance.kill_during(&id, &faults, Fault::Kill) {
                log.gateway(&format!(
                    "fault: {} instance {} killed {:.1}ms into invocation {id}",
                    instance.function,
                    instance.id,
                    after.as_secs_f64() * 1000.0
                ));
            }
        });
    }
    let mut headers = HeaderMap::new();
    let hv = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", hv(&request_id));
    headers.insert("lambda-runtime-deadline-ms", hv(&deadline_ms.to_string()));
    headers.insert("lambda-runtime-invoked-function-arn", hv(&rt.arn));
    headers.insert(
        "lambda-runtime-trace-id",
        hv(&format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            crate::util::now_ms() / 1000,
            crate::util::hex(&crate::util::random_bytes::<12>()),
            crate::util::hex(&crate::util::random_bytes::<8>())
        )),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, payload).into_response()
}

async fn response(State(rt): State<RuntimeState>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if rt.instance.complete(&id, Ok(body)) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn error(State(rt): State<RuntimeState>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    if rt.instance.complete(&id, Err(InvokeError::Handler(text))) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn init_error(State(rt): State<RuntimeState>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    rt.instance.died(InvokeError::Init(text));
    rt.instance.kill();
    StatusCode::ACCEPTED
}
