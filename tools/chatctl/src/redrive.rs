//! `chatctl redrive QUEUE [--stack NAME]`: replays what a dead-letter queue of the stack holds,
//! through the path it failed on, then deletes each message replayed (docs/RUNBOOK.md).
//!
//! - An SNS event (FanoutTopic, PushTopic, MailTopic: `FanoutDeadLetterQueue`, `NotifyDeadLetterQueue`, `MailDeadLetterQueue`) is
//!   published again to its topic, with its attributes: the function gets it as before.
//! - A scheduled event (`SweeperDeadLetterQueue`) is not run again: the next scheduled sweep does
//!   the same work; it is deleted and counted as `skipped`.
//! - A stream batch's place (`IndexerDeadLetterQueue`: shard and sequence numbers) is read back
//!   from the stream (it keeps records 24 hours) and indexed here, with the indexer's own code and
//!   configuration (run with the indexer's environment: its table names).
//!
//! A message that cannot be replayed stays in the queue (invisible for five minutes) and is
//! counted as `failed`. QUEUE is a queue URL, or a logical name of the template: the queue whose
//! name starts with `<stack>-<QUEUE>` (CloudFormation's naming; the local stack's too).

use serde_json::{json, Value};

pub async fn run(args: &mut impl Iterator<Item = String>) -> Result<String, String> {
    let mut queue = None;
    let mut stack = std::env::var("CHAT_STACK").unwrap_or_else(|_| "chat".into());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--stack" => stack = args.next().ok_or("--stack needs a name")?,
            q if queue.is_none() && !q.starts_with("--") => queue = Some(q.to_string()),
            other => return Err(format!("redrive: unexpected {other}")),
        }
    }
    let queue = queue.ok_or("redrive needs the queue: a URL or a logical name such as FanoutDeadLetterQueue")?;
    let sdk = chat::handlers::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = resolve(&sqs, &queue, &stack).await?;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let mut indexer = None;
    let (mut replayed, mut skipped, mut failed) = (0u32, 0u32, 0u32);
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap_or(Value::Null);
            let outcome = if body.pointer("/Records/0/EventSource") == Some(&json!("aws:sns")) {
                republish(&sns, &body).await.map(|_| true)
            } else if body.get("source") == Some(&json!("aws.events")) {
                Ok(false)
            } else if body.get("DDBStreamBatchInfo").is_some() {
                if indexer.is_none() {
                    let config =
                        chat::config::Config::from_env().map_err(|e| format!("the indexer's configuration (its environment): {e}"))?;
                    indexer = Some(chat::handlers::aws_app(&config, &sdk));
                }
                reindex(&sdk, indexer.as_ref().expect("set above"), &body["DDBStreamBatchInfo"]).await.map(|_| true)
            } else {
                Err("not an event this stack's consumers get".to_string())
            };
            match outcome {
                Ok(done) => {
                    if done {
                        replayed += 1;
                    } else {
                        skipped += 1;
                    }
                    sqs.delete_message()
                        .queue_url(&url)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| format!("DeleteMessage: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
                }
                Err(e) => {
                    eprintln!("chatctl redrive: {}: {e}", m.message_id().unwrap_or_default());
                    failed += 1;
                }
            }
        }
    }
    Ok(json!({ "queue": url, "replayed": replayed, "skipped": skipped, "failed": failed }).to_string())
}

async fn resolve(sqs: &aws_sdk_sqs::Client, queue: &str, stack: &str) -> Result<String, String> {
    if queue.starts_with("http://") || queue.starts_with("https://") {
        return Ok(queue.to_string());
    }
    let prefix = format!("{stack}-{queue}");
    let out = sqs
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .map_err(|e| format!("ListQueues: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    match out.queue_urls() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no queue named {prefix}…: give its URL, or --stack")),
        many => Err(format!("several queues named {prefix}…: give one URL of {many:?}")),
    }
}

/// Publishes an SNS event's message again to its topic, with its attributes.
async fn republish(sns: &aws_sdk_sns::Client, event: &Value) -> Result<(), String> {
    use aws_sdk_sns::types::MessageAttributeValue;
    let n = &event["Records"][0]["Sns"];
    let topic = n["TopicArn"].as_str().ok_or("the event names no topic")?;
    let mut req = sns.publish().topic_arn(topic).message(n["Message"].as_str().unwrap_or_default());
    for (k, a) in n["MessageAttributes"].as_object().into_iter().flatten() {
        let v = MessageAttributeValue::builder()
            .data_type(a["Type"].as_str().unwrap_or("String"))
            .string_value(a["Value"].as_str().unwrap_or_default())
            .build()
            .map_err(|e| e.to_string())?;
        req = req.message_attributes(k, v);
    }
    req.send().await.map(|_| ()).map_err(|e| format!("Publish: {}", aws_sdk_sns::error::DisplayErrorContext(&e)))
}

/// Reads the batch's records back from the stream and indexes them with the indexer's code.
async fn reindex(sdk: &aws_config::SdkConfig, app: &chat::app::App, info: &Value) -> Result<(), String> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let (arn, shard) = (info["streamArn"].as_str().unwrap_or_default(), info["shardId"].as_str().unwrap_or_default());
    let (start, end) = (info["startSequenceNumber"].as_str().unwrap_or_default(), info["endSequenceNumber"].as_str().unwrap_or_default());
    let err = |e: &dyn std::fmt::Display| format!("the stream ({arn} {shard}): {e}");
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(start)
        .send()
        .await
        .map_err(|e| err(&aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?
        .shard_iterator;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let mut records = Vec::new();
    'read: while let Some(it) = iterator.take() {
        let out = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .map_err(|e| err(&aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
        let empty = out.records().is_empty();
        for r in out.records() {
            let seq = r.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default().to_string();
            records.push(chat_dev::streams::record_json(r, &region, arn));
            if seq == end {
                break 'read;
            }
        }
        if empty {
            return Err(err(&"the batch's last record is not in the stream any more (older than 24 hours?)"));
        }
        iterator = out.next_shard_iterator;
    }
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(json!({ "Records": records })).map_err(|e| err(&e))?;
    chat::handlers::index(app, event).await.map_err(|e| err(&e))
}
