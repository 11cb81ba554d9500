//! Configuration from the environment the template (or the local gateway) gives each function.

use crate::app::ChatConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub connections: String,
    pub users: String,
    pub rooms: String,
    pub members: String,
    pub messages: String,
    pub idempotency: String,
    pub search: String,
    pub room_conns: String,
    pub support: String,
    pub beats: String,
    pub push_subscriptions: String,
    pub limits: String,
}

impl Tables {
    /// The tables' names from variables the template sets (`CONNECTIONS_TABLE`, …), looked up
    /// with `get` (the environment in Lambda; a function's template environment in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Tables, String> {
        let required = |name: &str| get(name).ok_or_else(|| format!("environment variable {name} is not set"));
        Ok(Tables {
            connections: required("CONNECTIONS_TABLE")?,
            users: required("USERS_TABLE")?,
            rooms: required("ROOMS_TABLE")?,
            members: required("MEMBERS_TABLE")?,
            messages: required("MESSAGES_TABLE")?,
            idempotency: required("IDEMPOTENCY_TABLE")?,
            search: required("SEARCH_TABLE")?,
            room_conns: required("ROOM_CONNS_TABLE")?,
            support: required("SUPPORT_TABLE")?,
            beats: required("BEATS_TABLE")?,
            push_subscriptions: required("PUSH_SUBSCRIPTIONS_TABLE")?,
            limits: required("LIMITS_TABLE")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// The @connections endpoint: `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI` when set (the local
    /// gateway sets it), else the template's `WS_ENDPOINT`.
    pub ws_endpoint: String,
    pub chat: ChatConfig,
    /// HS256 secret given directly (tests); normally it comes from SSM (`jwt_secret_param`).
    pub jwt_secret: Option<String>,
    pub jwt_secret_param: Option<String>,
    pub jwks_url: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// `FANOUT_TOPIC_ARN`: where big fan-outs and presence announcements are handed over.
    pub fanout_topic_arn: Option<String>,
    /// `SUPPORT_ALERT_TOPIC_ARN`: where "a visitor waits, no operator is online" is published.
    pub support_alert_topic_arn: Option<String>,
    /// `ATTACHMENTS_BUCKET`: where attachments are uploaded (none: messages carry no files).
    pub attachments_bucket: Option<String>,
    /// `ALLOWED_ORIGINS`: pages of these origins may connect (`*`: any).
    pub allowed_origins: crate::auth::OriginPolicy,
    /// `PUSH_TOPIC_ARN`: where pushes to offline members are published (`PUSH_INTERVAL_SECONDS`
    /// apart at most per member and room: `chat.push_interval_secs`).
    pub push_topic_arn: Option<String>,
    /// `VAPID_PARAM`: the SSM parameter holding the VAPID key pair (JSON).
    pub vapid_param: Option<String>,
    /// Which push endpoints subscriptions may name and pushes go to (`PUSH_SERVICE_HOSTS`).
    pub push_endpoints: crate::push::endpoint::EndpointPolicy,
    /// `MAIL_TOPIC_ARN`: where e-mail follow-ups of support sessions are handed to the mail
    /// function; used only with an `EMAIL_SENDER` (the SES identity e-mails come from).
    pub mail_topic_arn: Option<String>,
    pub email_sender: Option<String>,
    /// `EMAIL_CONFIGURATION_SET`: the SES configuration set e-mails are sent through.
    pub email_configuration_set: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let tables = Tables::from_lookup(var)?;
        let ws_endpoint = var("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
            .or_else(|| var("WS_ENDPOINT"))
            .ok_or("neither WS_ENDPOINT nor AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI is set")?;
        let max_group_size = match var("MAX_GROUP_SIZE") {
            Some(v) => v.parse().map_err(|_| format!("MAX_GROUP_SIZE={v} is not a number"))?,
            None => ChatConfig::default().max_group_size,
        };
        let max_sends_per_window = match var("MAX_SENDS_PER_10S") {
            Some(v) => v.parse().map_err(|_| format!("MAX_SENDS_PER_10S={v} is not a number"))?,
            None => ChatConfig::default().max_sends_per_window,
        };
        let frames_per_window = match var("MAX_FRAMES_PER_10S") {
            Some(v) => v.parse().ok().filter(|n: &u64| *n > 0).ok_or_else(|| format!("MAX_FRAMES_PER_10S={v} is not a positive number"))?,
            None => ChatConfig::default().frames_per_window,
        };
        let operator_capacity = match var("OPERATOR_CAPACITY") {
            Some(v) => v.parse().map_err(|_| format!("OPERATOR_CAPACITY={v} is not a number"))?,
            None => ChatConfig::default().operator_capacity,
        };
        let heartbeat_secs = match var("HEARTBEAT_SECONDS") {
            Some(v) => v.parse().ok().filter(|s: &u64| *s > 0).ok_or_else(|| format!("HEARTBEAT_SECONDS={v} is not a positive number"))?,
            None => ChatConfig::default().heartbeat_secs,
        };
        let max_upload_bytes = match var("MAX_UPLOAD_BYTES") {
            Some(v) => v.parse().map_err(|_| format!("MAX_UPLOAD_BYTES={v} is not a number"))?,
            None => ChatConfig::default().max_upload_bytes,
        };
        let upload_types =
            var("ALLOWED_UPLOAD_TYPES").map(|v| crate::app::parse_types(&v)).unwrap_or_else(|| ChatConfig::default().upload_types);
        let push_interval_secs = match var("PUSH_INTERVAL_SECONDS") {
            Some(v) => v.parse().map_err(|_| format!("PUSH_INTERVAL_SECONDS={v} is not a number"))?,
            None => ChatConfig::default().push_interval_secs,
        };
        let email_interval_secs = match var("EMAIL_INTERVAL_SECONDS") {
            Some(v) => v.parse().map_err(|_| format!("EMAIL_INTERVAL_SECONDS={v} is not a number"))?,
            None => ChatConfig::default().email_interval_secs,
        };
        let auto_assign = var("SUPPORT_AUTO_ASSIGN").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Config {
            tables,
            ws_endpoint,
            chat: ChatConfig {
                max_group_size,
                max_sends_per_window,
                operator_capacity,
                auto_assign,
                heartbeat_secs,
                max_upload_bytes,
                upload_types,
                push_interval_secs,
                email_interval_secs,
                frames_per_window,
                frames_before_close: frames_per_window.saturating_mul(2),
                ..ChatConfig::default()
            },
            jwt_secret: var("JWT_SECRET"),
            jwt_secret_param: var("JWT_SECRET_PARAM"),
            jwks_url: var("JWKS_URL"),
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            fanout_topic_arn: var("FANOUT_TOPIC_ARN"),
            support_alert_topic_arn: var("SUPPORT_ALERT_TOPIC_ARN"),
            attachments_bucket: var("ATTACHMENTS_BUCKET"),
            allowed_origins: crate::auth::OriginPolicy::parse(&var("ALLOWED_ORIGINS").unwrap_or_default()),
            push_topic_arn: var("PUSH_TOPIC_ARN"),
            vapid_param: var("VAPID_PARAM"),
            push_endpoints: crate::push::endpoint::EndpointPolicy::from_env(),
            mail_topic_arn: var("MAIL_TOPIC_ARN"),
            email_sender: var("EMAIL_SENDER").filter(|s| !s.trim().is_empty()),
            email_configuration_set: var("EMAIL_CONFIGURATION_SET"),
        })
    }
}
