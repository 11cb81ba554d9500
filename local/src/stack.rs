//! A whole local stack: the template's functions behind the gateway, pointed at AWS services
//! (embedded emulators, LocalStack or AWS), provisioned from the same template.

use crate::gateway::{Gateway, GatewayConfig};
use crate::lambda::{FunctionPool, LambdaSettings};
use crate::log::LogSink;
use crate::provision::{provision_with, Clients};
use crate::services::AwsTarget;
use crate::template::{LocalContext, StackSpec, Template};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct StackOptions {
    pub template: PathBuf,
    pub context: LocalContext,
    /// Where the function binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    pub bind: SocketAddr,
    pub gateway: GatewayConfig,
    pub max_concurrency: usize,
    /// Invocations per function that may wait for a free instance; more are throttled.
    pub max_queue: usize,
    pub aws: AwsTarget,
    /// Extra environment for every function (after the template's).
    pub function_env: BTreeMap<String, String>,
    /// The value every SSM parameter the functions read is created with (the development JWT
    /// secret). `None`: parameters are not created.
    pub ssm_value: Option<String>,
    /// Values of their own for the parameters named by these environment variables
    /// (`VAPID_PARAM`: the Web Push key pair's JSON; a fresh pair when not given).
    pub ssm_values: BTreeMap<String, String>,
    /// Create tables, buckets, topics and parameters before starting.
    pub provision: bool,
    pub log: LogSink,
}

/// The template parameter naming the SES identity e-mails come from, and its local value.
const EMAIL_SENDER_PARAM: &str = "EmailSender";
pub const LOCAL_EMAIL_SENDER: &str = "support@chat-dev.example.com";

/// The environment variable naming the VAPID key pair's SSM parameter.
pub const VAPID_VAR: &str = "VAPID_PARAM";
/// The VAPID contact of local stacks.
pub const LOCAL_VAPID_SUBJECT: &str = "mailto:dev@localhost";

pub struct RunningStack {
    pub spec: StackSpec,
    pub gateway: Arc<Gateway>,
    pub addr: SocketAddr,
    streams: Option<crate::streams::StreamPoller>,
    _schedules: crate::schedule::Schedules,
    /// Fault injection's DynamoDB relay (stops when dropped).
    _ddb_relay: Option<crate::ddb_relay::DdbRelay>,
    /// The S3 relay that checks signatures and presigned URLs (stops when dropped).
    s3_relay: Option<crate::s3_relay::S3Relay>,
    server: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningStack {
    /// `ws://127.0.0.1:PORT/<stage>`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/{}", self.addr, self.gateway.config().stage)
    }
    /// The @connections endpoint, as the SDK wants it: `http://127.0.0.1:PORT/<stage>`.
    /// Where the functions reach S3 (the checking relay), if the stack has S3.
    pub fn s3_url(&self) -> Option<String> {
        self.s3_relay.as_ref().map(|r| r.url())
    }

    pub fn connections_endpoint(&self) -> String {
        format!("http://{}/{}", self.addr, self.gateway.config().stage)
    }
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The REST API's base URL (`http://127.0.0.1:PORT/api`); on AWS its routes sit at the root of
    /// the HTTP API's own URL.
    pub fn api_url(&self) -> String {
        format!("http://{}{}", self.addr, crate::http_api::MOUNT)
    }

    pub async fn stop(mut self) {
        if let Some(p) = self.streams.take() {
            p.stop();
        }
        self.gateway.close_all();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        for p in self.gateway.pools() {
            p.shutdown();
        }
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        for p in self.gateway.pools() {
            p.shutdown();
        }
        self.server.abort();
    }
}

pub async fn start(opts: StackOptions) -> Result<RunningStack, String> {
    let mut ctx = opts.context.clone();
    ctx.parameter_overrides.entry("StageName".into()).or_insert_with(|| opts.gateway.stage.clone());
    ctx.region = opts.aws.region.clone();
    let clients = Clients::new(&opts.aws).await;
    if opts.provision {
        // ARNs name the account of the services the stack runs on (moto started by hand,
        // LocalStack with another account), not a fixed one.
        if let Some(account) = crate::provision::account_id(&clients).await {
            ctx.account_id = account;
        }
    }
    let mut template = Template::load(&opts.template, &ctx).map_err(|e| e.to_string())?;
    // Locally the site sends e-mail (to the local services' SES, where tests read it back),
    // from a sender of its own unless one is given.
    if template.parameters.get(EMAIL_SENDER_PARAM).is_some_and(String::is_empty)
        && !ctx.parameter_overrides.contains_key(EMAIL_SENDER_PARAM)
    {
        ctx.parameter_overrides.insert(EMAIL_SENDER_PARAM.into(), LOCAL_EMAIL_SENDER.into());
        template = Template::load(&opts.template, &ctx).map_err(|e| e.to_string())?;
    }
    let spec = StackSpec::from_template(&template, &ctx).map_err(|e| e.to_string())?;
    if opts.provision {
        let mut by_var = opts.ssm_values.clone();
        if spec.ssm_parameter_vars.values().any(|v| v == VAPID_VAR) && !by_var.contains_key(VAPID_VAR) {
            by_var.insert(VAPID_VAR.into(), chat::push::webpush::VapidKeys::generate(LOCAL_VAPID_SUBJECT)?.to_json());
        }
        provision_with(&spec, &clients, opts.ssm_value.as_deref(), &by_var).await?;
    }
    // Where asynchronous work that fails for good goes: the template's queues, per function.
    let dead_letters = if spec.queues.is_empty() {
        None
    } else {
        match crate::dead_letter::DeadLetters::resolve(clients.sqs.clone(), &spec.queues).await {
            Ok(d) => Some(d),
            Err(e) if !opts.provision => {
                opts.log.gateway(&format!("dead-letter queues unavailable: {e}"));
                None
            }
            Err(e) => return Err(e),
        }
    };
    let dead_letter_targets: BTreeMap<String, crate::dead_letter::DeadLetterTarget> = spec
        .functions
        .iter()
        .filter_map(|(id, f)| {
            Some((id.clone(), crate::dead_letter::DeadLetterTarget { letters: dead_letters.clone()?, queue: f.dead_letter_queue.clone()? }))
        })
        .collect();

    let listener = tokio::net::TcpListener::bind(opts.bind).await.map_err(|e| format!("cannot listen on {}: {e}", opts.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut gw_cfg = opts.gateway.clone();
    gw_cfg.stage = spec.stage_name.clone();
    let env = opts.aws.function_env();
    if let (Some(k), Some(s)) = (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        // The functions sign with these: the local @connections API checks they did.
        gw_cfg.connections_credentials.get_or_insert((k.clone(), s.clone()));
    }

    let mut base_env = opts.aws.function_env();
    // The @connections API of this gateway, where the SDK looks for the management endpoint.
    base_env.insert("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI".into(), format!("http://{addr}/{}", gw_cfg.stage));
    // Fault injection: the functions reach DynamoDB through a relay that throttles and cancels.
    let ddb_relay = match (gw_cfg.faults.active(), opts.aws.endpoint("DYNAMODB")) {
        (true, Some(upstream)) => Some(crate::ddb_relay::DdbRelay::start(upstream, gw_cfg.faults.clone(), opts.log.clone()).await?),
        _ => None,
    };
    if let Some(r) = &ddb_relay {
        base_env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), r.url());
    }
    // The functions (and the presigned URLs they mint) reach S3 through a relay that enforces
    // signatures and presigned URLs' conditions as S3 does; the emulators check none.
    let s3_relay = match (opts.aws.endpoint("S3"), env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(upstream), Some(k), Some(secret)) => Some(crate::s3_relay::S3Relay::start(upstream, k, secret, opts.log.clone()).await?),
        _ => None,
    };
    if let Some(r) = &s3_relay {
        base_env.insert("AWS_ENDPOINT_URL_S3".into(), r.url());
    }
    let settings = LambdaSettings {
        bin_dir: opts.bin_dir.clone(),
        max_concurrency: opts.max_concurrency,
        max_queue: opts.max_queue,
        region: ctx.region.clone(),
        account_id: ctx.account_id.clone(),
        base_env,
        log: opts.log.clone(),
    };
    let mut pools: BTreeMap<String, Arc<FunctionPool>> = BTreeMap::new();
    let mut routes = BTreeMap::new();
    for (route, function) in &spec.websocket.routes {
        let pool = pools
            .entry(function.clone())
            .or_insert_with(|| FunctionPool::new(spec.functions[function].clone(), settings.clone(), &opts.function_env))
            .clone();
        if !pool.binary_path().exists() {
            return Err(format!("{}: binary {} not found; build it with `cargo build`", function, pool.binary_path().display()));
        }
        routes.insert(route.clone(), pool);
    }
    let mut pool_of = |function: &str| -> Result<Arc<FunctionPool>, String> {
        let pool = pools
            .entry(function.to_string())
            .or_insert_with(|| FunctionPool::new(spec.functions[function].clone(), settings.clone(), &opts.function_env))
            .clone();
        if !pool.binary_path().exists() {
            return Err(format!("{}: binary {} not found; build it with `cargo build`", function, pool.binary_path().display()));
        }
        Ok(pool)
    };
    let http_api = match &spec.http_api {
        Some(h) => {
            let http_pools: BTreeMap<String, Arc<FunctionPool>> =
                h.routes.values().map(|f| pool_of(f).map(|p| (f.clone(), p))).collect::<Result<_, _>>()?;
            Some(crate::http_api::HttpApi::new(h, &http_pools, addr.to_string(), ctx.account_id.clone(), opts.log.clone())?)
        }
        None => None,
    };
    let stream_pools: BTreeMap<String, Arc<FunctionPool>> =
        spec.stream_sources.iter().map(|s| pool_of(&s.function).map(|p| (s.function.clone(), p))).collect::<Result<_, _>>()?;
    let sns_pools: BTreeMap<String, Arc<FunctionPool>> =
        spec.sns_sources.iter().map(|s| pool_of(&s.function).map(|p| (s.function.clone(), p))).collect::<Result<_, _>>()?;
    let sns = if spec.sns_sources.is_empty() {
        None
    } else {
        let subs = Arc::new(crate::sns::SnsSubscriptions::new(
            &spec.sns_sources,
            sns_pools.clone(),
            dead_letter_targets.clone(),
            opts.log.clone(),
        ));
        subs.subscribe(&clients.sns, &addr.to_string()).await?;
        Some(subs)
    };
    let schedule_pools: BTreeMap<String, Arc<FunctionPool>> =
        spec.schedule_sources.iter().map(|s| pool_of(&s.function).map(|p| (s.function.clone(), p))).collect::<Result<_, _>>()?;
    let others: Vec<Arc<FunctionPool>> = stream_pools.values().chain(sns_pools.values()).chain(schedule_pools.values()).cloned().collect();
    let gateway = Gateway::new(gw_cfg, &spec.websocket.route_selection_expression, routes, addr.to_string(), opts.log.clone())?
        .with_extras(http_api, others, sns.clone())
        .with_throttling(spec.websocket.throttle, &spec.websocket.route_throttle);
    let streams = if spec.stream_sources.is_empty() {
        None
    } else {
        Some(
            crate::streams::StreamPoller::start(
                &spec.stream_sources,
                &stream_pools,
                clients.dynamodb.clone(),
                clients.streams.clone(),
                &ctx.region,
                dead_letters.clone(),
                opts.log.clone(),
            )
            .await?,
        )
    };
    let schedules = crate::schedule::Schedules::start(
        &spec.schedule_sources,
        &schedule_pools,
        dead_letter_targets,
        &ctx.region,
        &ctx.account_id,
        opts.log.clone(),
    );
    let app = gateway.router().into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    // SNS (LocalStack's, AWS's) delivers only once a subscription is confirmed: the gateway now
    // serves, so the confirmations reach it; the stack is ready when none is pending.
    if let Some(subs) = &sns {
        subs.confirmed(Duration::from_secs(30)).await?;
    }
    Ok(RunningStack { spec, gateway, addr, streams, _schedules: schedules, _ddb_relay: ddb_relay, s3_relay, server, shutdown: Some(tx) })
}
