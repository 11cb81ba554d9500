//! `chat-dev`: starts the whole local stack and prints its `ws://` URL.
//!
//! ```text
//! chat-dev [--port 3001] [--host 127.0.0.1] [--stage local] [--template infra/template.yaml]
//!          [--bin-dir target/debug] [--web-dir web] [--tools-dir .local/tools]
//!          [--max-concurrency 10] [--max-queue 1000] [--idle-timeout SECS] [--max-duration SECS] [--no-provision]
//!          [--parameter Key=Value]...   (template parameters, e.g. AllowedOrigins=http://127.0.0.1:3001)
//!          [--faults post410=P,post500=P,slow=P,slowMs=MS,ddbThrottle=P,txConflict=P,kill=P,dropDisconnect=P,seed=N]
//! ```
//! `--faults` injects failures (see `chat_dev::faults`): @connections posts answered 410 or 500 or
//! delivered late, DynamoDB throttling and transaction conflicts, function instances killed
//! mid-invocation, `$disconnect` never delivered; `/health` counts what was injected.
//! With `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB`) set, no emulator is started and the
//! stack uses those endpoints (LocalStack: `AWS_ENDPOINT_URL=http://localhost:4566`).

use chat_dev::gateway::GatewayConfig;
use chat_dev::log::LogSink;
use chat_dev::services::{AwsTarget, EmbeddedServices};
use chat_dev::stack::{self, StackOptions};
use chat_dev::template::LocalContext;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

struct Args {
    host: String,
    port: u16,
    stage: String,
    template: PathBuf,
    bin_dir: PathBuf,
    web_dir: PathBuf,
    tools_dir: PathBuf,
    state_dir: PathBuf,
    max_concurrency: usize,
    max_queue: usize,
    idle_timeout: u64,
    max_duration: u64,
    provision: bool,
    /// Template parameter overrides (`--parameter Key=Value`, as `sam deploy --parameter-overrides`).
    parameters: BTreeMap<String, String>,
    /// Fault injection (`--faults`).
    faults: Option<chat_dev::faults::FaultConfig>,
}

const USAGE: &str = "usage: chat-dev [--port N] [--host ADDR] [--stage NAME] [--template FILE] [--bin-dir DIR] [--web-dir DIR] \
[--tools-dir DIR] [--state-dir DIR] [--max-concurrency N] [--max-queue N] [--idle-timeout SECS] [--max-duration SECS] [--no-provision] \
[--parameter Key=Value]... [--faults post410=P,post500=P,slow=P,slowMs=MS,ddbThrottle=P,txConflict=P,kill=P,dropDisconnect=P,seed=N]

  --faults   inject failures, each with probability P (0..1) per event: @connections posts answered
             410 (post410) or 500 (post500) or delivered slowMs late (slow); DynamoDB requests throttled
             (ddbThrottle) and transactions cancelled by a conflict (txConflict); function instances
             killed mid-invocation (kill); $disconnect not delivered (dropDisconnect). seed: the random
             streams' seed. Any subset, e.g. --faults kill=0.01,post410=0.02. /health counts them.";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        host: "127.0.0.1".into(),
        port: 3001,
        stage: "local".into(),
        template: "infra/template.yaml".into(),
        bin_dir: "target/debug".into(),
        web_dir: "web".into(),
        tools_dir: ".local/tools".into(),
        state_dir: ".local".into(),
        max_concurrency: 10,
        max_queue: 1000,
        idle_timeout: 600,
        max_duration: 7200,
        provision: true,
        parameters: BTreeMap::new(),
        faults: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--host" => a.host = val()?,
            "--port" => a.port = val()?.parse().map_err(|_| "--port takes a number".to_string())?,
            "--stage" => a.stage = val()?,
            "--template" => a.template = val()?.into(),
            "--bin-dir" => a.bin_dir = val()?.into(),
            "--web-dir" => a.web_dir = val()?.into(),
            "--tools-dir" => a.tools_dir = val()?.into(),
            "--state-dir" => a.state_dir = val()?.into(),
            "--max-concurrency" => a.max_concurrency = val()?.parse().map_err(|_| "--max-concurrency takes a number".to_string())?,
            "--max-queue" => a.max_queue = val()?.parse().map_err(|_| "--max-queue takes a number".to_string())?,
            "--idle-timeout" => a.idle_timeout = val()?.parse().map_err(|_| "--idle-timeout takes seconds".to_string())?,
            "--max-duration" => a.max_duration = val()?.parse().map_err(|_| "--max-duration takes seconds".to_string())?,
            "--no-provision" => a.provision = false,
            "--parameter" => {
                let kv = val()?;
                let (k, v) = kv.split_once('=').ok_or_else(|| format!("--parameter takes Key=Value, not {kv}"))?;
                a.parameters.insert(k.trim().to_string(), v.to_string());
            }
            "--faults" => a.faults = Some(chat_dev::faults::FaultConfig::parse(&val()?)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// The development JWT secret of this checkout (`.local/dev-secret`), created on first use.
/// `chatctl token` signs with the same file. Never used outside the local stack.
fn dev_secret(state_dir: &std::path::Path) -> Result<String, String> {
    let path = state_dir.join("dev-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if !s.trim().is_empty() {
            return Ok(s.trim().to_string());
        }
    }
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let secret = chat_dev::util::hex(&chat_dev::util::random_bytes::<32>());
    std::fs::write(&path, &secret).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(secret)
}

/// The Web Push VAPID key pair of this checkout (`.local/vapid.json`), created on first use: a
/// browser subscribed to the local stack stays valid across restarts (re-register it: the tables
/// are in memory).
fn dev_vapid(state_dir: &std::path::Path) -> Result<String, String> {
    let path = state_dir.join("vapid.json");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if chat::push::webpush::VapidKeys::from_json(&s).is_ok() {
            return Ok(s.trim().to_string());
        }
    }
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let json = chat::push::webpush::VapidKeys::generate(chat_dev::stack::LOCAL_VAPID_SUBJECT)?.to_json();
    std::fs::write(&path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(json)
}

async fn run(args: Args) -> Result<(), String> {
    let log = LogSink::Print;
    let external = AwsTarget::from_env();
    let (services, aws) = if external.endpoint("DYNAMODB").is_some() {
        log.gateway(&format!("using AWS endpoints from the environment: {:?}", external.endpoints));
        (None, external)
    } else {
        let s = EmbeddedServices::start(&args.tools_dir, &log).await?;
        let target = s.target(&external.region);
        (Some(s), target)
    };
    let secret = dev_secret(&args.state_dir)?;
    let ctx = LocalContext { parameter_overrides: args.parameters.clone(), ..LocalContext::default() };
    let started = stack::start(StackOptions {
        template: args.template.clone(),
        context: ctx,
        bin_dir: args.bin_dir.clone(),
        bind: format!("{}:{}", args.host, args.port).parse::<SocketAddr>().map_err(|e| format!("bad --host/--port: {e}"))?,
        gateway: GatewayConfig {
            stage: args.stage.clone(),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_duration: Duration::from_secs(args.max_duration),
            web_dir: Some(args.web_dir.clone()),
            dev_token_secret: Some(secret.clone()),
            faults: args.faults.map(chat_dev::faults::Faults::new).unwrap_or_default(),
            ..GatewayConfig::default()
        },
        max_concurrency: args.max_concurrency,
        max_queue: args.max_queue,
        aws,
        function_env: BTreeMap::new(),
        ssm_value: Some(secret),
        ssm_values: BTreeMap::from([(chat_dev::stack::VAPID_VAR.to_string(), dev_vapid(&args.state_dir)?)]),
        provision: args.provision,
        log: log.clone(),
    })
    .await;
    let running = match started {
        Ok(r) => r,
        Err(e) => {
            if let Some(s) = services {
                s.stop().await;
            }
            return Err(e);
        }
    };
    let ws = running.ws_url();
    println!();
    println!("chat-dev: the local stack is up (routes: {})", running.spec.websocket.routes.keys().cloned().collect::<Vec<_>>().join(" "));
    println!("{ws}");
    if running.spec.http_api.is_some() {
        println!("{}", running.api_url());
    }
    println!();
    println!("  demo app     {}/", running.http_url());
    println!("  console      {}/console/  (support desk: operators)", running.http_url());
    println!("  widget       {}/widget/demo.html  (a site with the one-line embed)", running.http_url());
    if running.spec.http_api.is_some() {
        println!();
        println!("The one line for a site's pages (before </body>):");
        println!("  <script src=\"{}/widget.js\" data-chat-url=\"{}\" async></script>", running.http_url(), running.api_url());
    }
    println!("  @connections {}/@connections/{{id}}", running.connections_endpoint());
    println!("  REST API     {}/chats  (docs: {}/openapi.yaml)", running.api_url(), running.api_url());
    println!("  health       {}/health", running.http_url());
    if let Some(f) = &args.faults {
        println!("  faults       {}  (injected so far: /health, \"faults\")", f.spec());
    }
    println!();
    println!("Try it (in another terminal):");
    println!("  TOKEN=$(target/debug/chatctl token --sub alice --name Alice)");
    println!("  npx wscat -c \"{ws}?token=$TOKEN\"");
    println!("  > {{\"action\":\"ping\"}}");
    println!("Ctrl-C stops everything.");

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("\nchat-dev: stopping");
    running.stop().await;
    if let Some(s) = services {
        s.stop().await;
    }
    println!("chat-dev: stopped");
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("chat-dev: {e}");
        std::process::exit(1);
    }
}
