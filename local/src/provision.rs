//! Creates the template's tables (keys, GSIs, TTL), buckets, topics and SSM parameters in the
//! target services. Idempotent: what exists is left alone.

use crate::services::AwsTarget;
use crate::template::{StackSpec, TableSpec};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use std::time::Duration;

pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// DynamoDB Streams (DynamoDB Local serves it on its own port).
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl Clients {
    pub async fn new(target: &AwsTarget) -> Clients {
        let conf = target.sdk_config().await;
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("DYNAMODB") {
            ddb = ddb.endpoint_url(ep);
        }
        let mut streams = aws_sdk_dynamodbstreams::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("DYNAMODB_STREAMS").or(target.endpoint("DYNAMODB")) {
            streams = streams.endpoint_url(ep);
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(&conf).force_path_style(true);
        if let Some(ep) = target.endpoint("S3") {
            s3 = s3.endpoint_url(ep);
        }
        let mut sns = aws_sdk_sns::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("SNS") {
            sns = sns.endpoint_url(ep);
        }
        let mut sqs = aws_sdk_sqs::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("SQS") {
            sqs = sqs.endpoint_url(ep);
        }
        let mut ssm = aws_sdk_ssm::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("SSM") {
            ssm = ssm.endpoint_url(ep);
        }
        let mut ses = aws_sdk_sesv2::config::Builder::from(&conf);
        if let Some(ep) = target.endpoint("SESV2") {
            ses = ses.endpoint_url(ep);
        }
        Clients {
            ses: aws_sdk_sesv2::Client::from_conf(ses.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb.build()),
            streams: aws_sdk_dynamodbstreams::Client::from_conf(streams.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            ssm: aws_sdk_ssm::Client::from_conf(ssm.build()),
        }
    }
}

fn key_schema(keys: &[(String, String)]) -> Result<Vec<KeySchemaElement>, String> {
    keys.iter()
        .map(|(name, ty)| {
            KeySchemaElement::builder().attribute_name(name).key_type(KeyType::from(ty.as_str())).build().map_err(|e| e.to_string())
        })
        .collect()
}

pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, t: &TableSpec) -> Result<bool, String> {
    let mut req =
        ddb.create_table().table_name(&t.name).billing_mode(BillingMode::PayPerRequest).set_key_schema(Some(key_schema(&t.key_schema())?));
    let defs = t.properties.get("AttributeDefinitions").and_then(|d| d.as_array()).cloned().unwrap_or_default();
    for d in defs {
        let name = d.get("AttributeName").and_then(|v| v.as_str()).unwrap_or_default();
        let ty = d.get("AttributeType").and_then(|v| v.as_str()).unwrap_or("S");
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(ty))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for g in t.global_indexes() {
        let mut p = Projection::builder().projection_type(ProjectionType::from(g.projection_type.as_str()));
        for a in &g.non_key_attributes {
            p = p.non_key_attributes(a);
        }
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&g.name)
                .set_key_schema(Some(key_schema(&g.key_schema)?))
                .projection(p.build())
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(view) = t.stream_view_type() {
        req = req.stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let svc = e.as_service_error().map(|s| s.is_resource_in_use_exception()).unwrap_or(false);
            if svc {
                return Ok(false);
            }
            return Err(format!("CreateTable {}: {}", t.name, aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
        }
    }
    if let Some(attr) = t.ttl_attribute() {
        ddb.update_time_to_live()
            .table_name(&t.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().attribute_name(attr).enabled(true).build().map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| format!("UpdateTimeToLive {}: {}", t.name, aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    }
    Ok(true)
}

/// Creates everything the stack needs; SSM parameters get `ssm_value` (skipped when `None`).
pub async fn provision(spec: &StackSpec, clients: &Clients, ssm_value: Option<&str>) -> Result<(), String> {
    provision_with(spec, clients, ssm_value, &std::collections::BTreeMap::new()).await
}

/// [`provision`], with values of their own for the SSM parameters named by some environment
/// variables (`VAPID_PARAM` → the VAPID key pair's JSON); the others get `ssm_value`.
pub async fn provision_with(
    spec: &StackSpec,
    clients: &Clients,
    ssm_value: Option<&str>,
    by_var: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    // DynamoDB Local may still be warming up: retry the first call for a few seconds.
    let mut attempt = 0;
    loop {
        match clients.dynamodb.list_tables().limit(1).send().await {
            Ok(_) => break,
            Err(e) if attempt < 50 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("DynamoDB is not reachable: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))),
        }
    }
    let creates = spec.tables.iter().map(|t| create_table(&clients.dynamodb, t));
    for r in futures_util::future::join_all(creates).await {
        r?;
    }
    for b in &spec.buckets {
        if let Err(e) = clients.s3.create_bucket().bucket(b).send().await {
            let exists = e.as_service_error().map(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()).unwrap_or(false);
            if !exists {
                return Err(format!("CreateBucket {b}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
            }
        }
    }
    for t in &spec.topics {
        let name = t.rsplit(':').next().unwrap_or(t);
        clients
            .sns
            .create_topic()
            .name(name)
            .send()
            .await
            .map_err(|e| format!("CreateTopic {name}: {}", aws_sdk_sns::error::DisplayErrorContext(&e)))?;
    }
    for q in &spec.queues {
        clients
            .sqs
            .create_queue()
            .queue_name(q)
            .send()
            .await
            .map_err(|e| format!("CreateQueue {q}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    }
    for p in &spec.ssm_parameters {
        let own = spec.ssm_parameter_vars.get(p).and_then(|var| by_var.get(var));
        let Some(value) = own.map(String::as_str).or(ssm_value) else { continue };
        clients
            .ssm
            .put_parameter()
            .name(p)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| format!("PutParameter {p}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)))?;
    }
    provision_email(spec, clients).await;
    Ok(())
}

/// SES as the functions use it: the sender identities (`EMAIL_SENDER`, verified at once by the
/// local services) and the configuration sets (`EMAIL_CONFIGURATION_SET`). Best effort: an
/// emulator without SES only loses the e-mail follow-up, which then fails visibly in its log.
async fn provision_email(spec: &StackSpec, clients: &Clients) {
    let values = |var: &str| -> std::collections::BTreeSet<String> {
        spec.functions.values().filter_map(|f| f.environment.get(var)).filter(|v| !v.trim().is_empty()).cloned().collect()
    };
    for sender in values("EMAIL_SENDER") {
        if let Err(e) = clients.ses.create_email_identity().email_identity(&sender).send().await {
            if !e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) {
                eprintln!("chat-dev: SES CreateEmailIdentity {sender}: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e));
            }
        }
    }
    for set in values("EMAIL_CONFIGURATION_SET") {
        if let Err(e) = clients.ses.create_configuration_set().configuration_set_name(&set).send().await {
            if !e.as_service_error().is_some_and(|s| s.is_already_exists_exception()) {
                eprintln!("chat-dev: SES CreateConfigurationSet {set}: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e));
            }
        }
    }
}

/// The account the services belong to, from the ARN of a topic they make (`CreateTopic` is
/// idempotent: the same small topic each time); `None` when SNS cannot tell.
pub async fn account_id(clients: &Clients) -> Option<String> {
    let out = clients.sns.create_topic().name("chat-dev-account").send().await.ok()?;
    let arn = out.topic_arn()?.to_string();
    arn.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_string)
}
