//! The Lambda entry points. Each function's `main.rs` builds the [`App`] from [`Config`] and
//! hands events to one of these.

use crate::app::{App, CONNECTION_TTL_SECS};
use crate::auth::{token_from_request, AuthConfig, OriginPolicy, Verifier};
use crate::clock::SystemClock;
use crate::cmd;
use crate::config::Config;
use crate::error::ChatError;
use crate::model::ConnectionRecord;
use crate::notify::apigw::ApiGatewayNotifier;
use crate::store::dynamodb::DynamoStore;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use std::sync::Arc;

pub type Error = lambda_runtime::Error;

pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// What every function starts with: tracing, configuration from the environment, the AWS SDK
/// configuration, and the app wired to AWS.
pub async fn boot() -> Result<(Config, aws_config::SdkConfig, App), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    let app = aws_app(&config, &sdk);
    Ok((config, sdk, app))
}

/// The features every function's app runs with (their connection hooks and tasks).
pub fn features() -> Vec<Arc<dyn crate::app::Feature>> {
    vec![Arc::new(crate::support::SupportDesk)]
}

/// An app on the in-memory doubles with every feature, and handles on the doubles: what the
/// functions' and the rules' unit tests run on.
pub struct MemoryApp {
    pub app: App,
    pub store: Arc<crate::store::memory::MemoryStore>,
    pub notifier: Arc<crate::notify::memory::MemoryNotifier>,
    pub clock: Arc<crate::clock::ManualClock>,
}

/// [`MemoryApp`] at `now_ms` (a clock the test moves), with `cfg`.
pub fn memory_app(now_ms: u64, cfg: crate::app::ChatConfig) -> MemoryApp {
    let clock = Arc::new(crate::clock::ManualClock::new(now_ms));
    let store = Arc::new(crate::store::memory::MemoryStore::new().with_clock(clock.clone()));
    let notifier = Arc::new(crate::notify::memory::MemoryNotifier::new());
    let app = App::new(store.clone(), notifier.clone(), clock.clone(), cfg).with_features(features());
    MemoryApp { app, store, notifier, clock }
}

/// The production wiring: DynamoDB, the @connections API, the system clock.
pub fn aws_app(cfg: &Config, sdk: &aws_config::SdkConfig) -> App {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), cfg.tables.clone());
    let mut app =
        App::new(Arc::new(store), Arc::new(ApiGatewayNotifier::new(sdk, &cfg.ws_endpoint)), Arc::new(SystemClock), cfg.chat.clone())
            .with_features(features());
    if let Some(arn) = &cfg.fanout_topic_arn {
        app = app.with_tasks(Arc::new(crate::tasks::sns::SnsTasks::new(sdk, arn)));
    }
    if let Some(bucket) = &cfg.attachments_bucket {
        app = app.with_files(Arc::new(crate::files::s3::S3Files::new(sdk, bucket)));
    }
    if let Some(arn) = &cfg.support_alert_topic_arn {
        app = app.with_alerts(Arc::new(crate::alerts::sns::SnsAlerts::new(sdk, arn)));
    }
    if let Some(arn) = &cfg.push_topic_arn {
        app = app.with_push(Arc::new(crate::push::sns::SnsPush::new(sdk, arn)));
    }
    if let (Some(arn), Some(_)) = (&cfg.mail_topic_arn, &cfg.email_sender) {
        app = app.with_mail(Arc::new(crate::mail::sns::SnsMail::new(sdk, arn)));
    }
    app
}

/// The token verifier; the HS256 secret comes from SSM (`JWT_SECRET_PARAM`) unless given directly.
pub async fn verifier(cfg: &Config, sdk: &aws_config::SdkConfig) -> Result<Verifier, Error> {
    let secret = match (&cfg.jwt_secret, &cfg.jwt_secret_param) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(param)) => {
            let out = aws_sdk_ssm::Client::new(sdk).get_parameter().name(param).with_decryption(true).send().await.map_err(|e| {
                format!("cannot read the JWT secret from SSM parameter {param}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e))
            })?;
            out.parameter.and_then(|p| p.value)
        }
        (None, None) => None,
    };
    if secret.is_none() && cfg.jwks_url.is_none() {
        return Err("no way to verify tokens: set JWT_SECRET_PARAM (or JWT_SECRET) and/or JWKS_URL".into());
    }
    Ok(Verifier::new(AuthConfig {
        hs256_secret: secret.map(String::into_bytes),
        jwks_url: cfg.jwks_url.clone(),
        issuer: cfg.jwt_issuer.clone(),
        audience: cfg.jwt_audience.clone(),
    }))
}

/// The VAPID key pair of Web Push, from the SSM parameter `VAPID_PARAM` (JSON, see
/// [`crate::push::webpush`]).
pub async fn vapid(cfg: &Config, sdk: &aws_config::SdkConfig) -> Result<crate::push::webpush::VapidKeys, Error> {
    let param = cfg.vapid_param.as_deref().ok_or("VAPID_PARAM is not set: Web Push needs the VAPID key pair's SSM parameter")?;
    let text = ssm_parameter(sdk, param).await?;
    Ok(crate::push::webpush::VapidKeys::from_json(&text).map_err(|e| format!("SSM parameter {param}: {e}"))?)
}

/// A SecureString parameter's value.
pub async fn ssm_parameter(sdk: &aws_config::SdkConfig, param: &str) -> Result<String, Error> {
    let out = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(param)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| format!("cannot read SSM parameter {param}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
    Ok(out.parameter.and_then(|p| p.value).ok_or_else(|| format!("SSM parameter {param} has no value"))?)
}

/// The notify function: each record of the `PushTopic` event is a [`crate::push::PushBatch`];
/// its payload goes to every browser subscription of its users, and subscriptions the push
/// service says are gone are removed. Only a record that is not a batch fails the invocation
/// (failed single pushes are logged: retrying would push the others twice).
pub async fn notify(
    app: &App,
    sender: &dyn crate::push::webpush::PushSender,
    event: aws_lambda_events::event::sns::SnsEvent,
) -> Result<(), Error> {
    for record in event.records {
        let batch: crate::push::PushBatch =
            serde_json::from_str(&record.sns.message).map_err(|e| format!("a push batch is not valid: {e}"))?;
        let r = crate::push::webpush::deliver(app.store.as_ref(), sender, &batch).await;
        tracing::info!(room_id = %batch.payload.room_id, users = r.users, sent = r.sent, removed = r.removed, failed = r.failed, "pushed");
        use crate::metrics::{emit, Unit};
        emit(
            app.now(),
            &[
                ("PushesSent", Unit::Count, r.sent as f64),
                ("PushesFailed", Unit::Count, r.failed as f64),
                ("PushesGone", Unit::Count, r.removed as f64),
            ],
            &[],
        );
    }
    Ok(())
}

/// The mail function: each record of the `MailTopic` event is a [`crate::mail::MailEvent`],
/// decided and sent by [`crate::mail::handle`]. A failed send fails the invocation (Lambda
/// retries, then the dead-letter queue); the session's mail document keeps a retry from sending
/// twice.
pub async fn mail(app: &App, mailer: &dyn crate::mail::Mailer, event: aws_lambda_events::event::sns::SnsEvent) -> Result<(), Error> {
    for record in event.records {
        let e: crate::mail::MailEvent = serde_json::from_str(&record.sns.message).map_err(|e| format!("a mail event is not valid: {e}"))?;
        let outcome = crate::mail::handle(app, mailer, &e).await?;
        tracing::info!(event = ?e, outcome = ?outcome, "mail");
        if let crate::mail::Outcome::Sent { .. } = outcome {
            crate::metrics::emit(app.now(), &[("EmailsSent", crate::metrics::Unit::Count, 1.0)], &[]);
        }
    }
    Ok(())
}

fn response(status: i64, body: Option<&str>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = body.map(|b| Body::Text(b.to_string()));
    r
}

/// `$connect`: refuse pages of other origins (403), verify the token (401 and no socket
/// otherwise), register the connection, announce the user if this is their first connection.
pub async fn connect(
    app: &App,
    verifier: &Verifier,
    origins: &OriginPolicy,
    event: ApiGatewayWebsocketProxyRequest,
) -> Result<ApiGatewayProxyResponse, Error> {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    let origin = event.headers.get("origin").and_then(|v| v.to_str().ok());
    if !origins.allows(origin) {
        tracing::info!(connection_id, origin, "refused: origin not allowed");
        return Ok(response(403, Some("Forbidden")));
    }
    let query_token = event.query_string_parameters.first("token").map(str::to_string);
    let protocols = event.headers.get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some((token, answer_protocol)) = token_from_request(query_token.as_deref(), protocols.as_deref()) else {
        tracing::info!(connection_id, "refused: no token");
        return Ok(response(401, Some("Unauthorized")));
    };
    let identity = match verifier.verify(&token).await {
        Ok(i) => i,
        Err(e) => {
            tracing::info!(connection_id, reason = %e, "refused: bad token");
            return Ok(response(401, Some("Unauthorized")));
        }
    };
    if identity.role == crate::model::Role::Service {
        tracing::info!(connection_id, "refused: service tokens are for the REST API");
        return Ok(response(403, Some("Forbidden")));
    }
    // A user cut off for flooding comes back only after their penalty (crate::limits).
    match app.reconnect_wait(&identity.user_id).await {
        Ok(Some(wait_ms)) => {
            tracing::info!(connection_id, user_id = %identity.user_id, wait_ms, "refused: cut off for flooding, penalty running");
            return Ok(response(429, Some("Too Many Requests")));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(connection_id, error = %e, "cannot read the user's flood strikes"),
    }
    let now = app.now();
    let record = ConnectionRecord {
        connection_id: connection_id.clone(),
        user_id: identity.user_id.clone(),
        name: identity.name.clone(),
        role: identity.role,
        connected_at: now,
        expires_at: now / 1000 + CONNECTION_TTL_SECS,
    };
    if let Err(e) = register_connection(app, &record).await {
        tracing::error!(connection_id, error = %e, "cannot register the connection");
        return Ok(response(500, Some("Internal server error")));
    }
    tracing::info!(connection_id, user_id = %identity.user_id, role = ?identity.role, "connected");
    let mut r = response(200, None);
    if let Some(p) = answer_protocol {
        if let Ok(v) = p.parse() {
            r.headers.insert("sec-websocket-protocol", v);
        }
    }
    Ok(r)
}

/// What `$connect` does once the caller is known: the connection's row, its first heartbeat, the
/// user's rooms and presence, the features' hooks (an operator's console hears the queue).
/// Returns whether the user came online with it.
pub async fn register_connection(app: &App, record: &ConnectionRecord) -> Result<bool, ChatError> {
    app.store.put_connection(record).await?;
    app.beat(&record.connection_id, &record.user_id).await?;
    let came_online = app.attach(&record.user_id, record.name.as_deref(), &record.connection_id).await?;
    for f in &app.features {
        f.connected(app, record, came_online).await?;
    }
    Ok(came_online)
}

/// `$disconnect`: unregister; announce the user offline if it was their last connection.
pub async fn disconnect(app: &App, event: ApiGatewayWebsocketProxyRequest) -> Result<ApiGatewayProxyResponse, Error> {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    if let Err(e) = app.detach(&connection_id).await {
        tracing::error!(connection_id, error = %e, "disconnect cleanup failed");
    }
    Ok(response(200, None))
}

/// Every other route: one client frame.
pub async fn message(app: &App, event: ApiGatewayWebsocketProxyRequest) -> Result<ApiGatewayProxyResponse, Error> {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    let request_id = event.request_context.request_id.clone().unwrap_or_default();
    if event.is_base64_encoded {
        let e = ChatError::InvalidFrame { field: None, message: "binary frames are not supported: send JSON text frames".into() };
        app.reply_error(&connection_id, &request_id, &e, Default::default()).await;
        return Ok(response(200, None));
    }
    let body = event.body.unwrap_or_default();
    cmd::handle(app, &connection_id, &request_id, &body).await;
    Ok(response(200, None))
}

/// The fanout function: runs the tasks other invocations handed over through `FanoutTopic`. An
/// error makes Lambda retry the invocation (a frame may then reach someone twice; clients drop
/// what they hold by seq).
pub async fn tasks(app: &App, event: aws_lambda_events::event::sns::SnsEvent) -> Result<(), Error> {
    for record in event.records {
        let task: crate::tasks::Task = serde_json::from_str(&record.sns.message).map_err(|e| format!("a task is not valid: {e}"))?;
        let started = std::time::Instant::now();
        let report = app.run_task(task).await;
        tracing::info!(posted = report.posted, gone = report.gone, failed = report.failed, "task done");
        use crate::metrics::{emit, ms_since, Unit};
        emit(
            app.now(),
            &[
                ("TaskPosts", Unit::Count, report.posted as f64),
                ("TaskGone", Unit::Count, report.gone as f64),
                ("TaskPostsFailed", Unit::Count, report.failed as f64),
                ("TaskMs", Unit::Milliseconds, ms_since(started)),
            ],
            &[],
        );
    }
    Ok(())
}

/// The sweeper (an EventBridge schedule, `SWEEP_SCHEDULE` apart): connections without heartbeats
/// are cleaned up and closed.
pub async fn sweep(app: &App, period_secs: u64, _event: aws_lambda_events::event::cloudwatch_events::CloudWatchEvent) -> Result<(), Error> {
    let report = app.sweep(period_secs).await;
    tracing::info!(buckets = report.buckets, swept = report.swept, "swept");
    crate::metrics::emit(app.now(), &[("Swept", crate::metrics::Unit::Count, report.swept as f64)], &[]);
    Ok(())
}

/// The indexer: postings for every new, edited and deleted message of a stream batch. Writes are
/// idempotent, so a batch Lambda retries after an error is simply written again.
pub async fn index(app: &App, event: aws_lambda_events::event::dynamodb::Event) -> Result<(), Error> {
    // Records in stream order; for each posting the last one wins (an insert then an edit of the
    // same message in one batch ends as the edit says).
    let mut last: std::collections::BTreeMap<crate::model::PostingKey, Option<crate::model::Posting>> = std::collections::BTreeMap::new();
    // How far behind the stream the index is: from the oldest record's write to now.
    let oldest = event.records.iter().map(|r| r.change.approximate_creation_date_time.timestamp_millis()).filter(|t| *t > 0).min();
    for record in event.records {
        let image = |item: serde_dynamo::Item| -> Result<Option<crate::protocol::Message>, Error> {
            let map: std::collections::HashMap<String, serde_dynamo::AttributeValue> = item.into();
            if map.is_empty() {
                return Ok(None);
            }
            Ok(Some(serde_dynamo::from_item(map).map_err(|e| format!("a stream image is not a message: {e}"))?))
        };
        let old = image(record.change.old_image)?;
        let new = image(record.change.new_image)?;
        let (p, d) = crate::search::postings_for_change(old.as_ref(), new.as_ref());
        for k in d {
            last.insert(k, None);
        }
        for p in p {
            last.insert(p.key.clone(), Some(p));
        }
    }
    let mut put = Vec::new();
    let mut delete = Vec::new();
    for (k, v) in last {
        match v {
            Some(p) => put.push(p),
            None => delete.push(k),
        }
    }
    let (puts, deletes) = (put.len(), delete.len());
    app.store.index_write(&put, &delete).await.map_err(|e| e.to_string())?;
    tracing::info!(puts, deletes, "indexed");
    use crate::metrics::{emit, Unit};
    let lag = oldest.map(|t| (app.now() as i64 - t).max(0) as f64).unwrap_or(0.0);
    emit(app.now(), &[("IndexLagMs", Unit::Milliseconds, lag), ("PostingsWritten", Unit::Count, (puts + deletes) as f64)], &[]);
    Ok(())
}
