//! The local twin of Lambda's DynamoDB Streams event source mapping: for each `Events: {Type:
//! DynamoDB}` of the template, poll the table's stream (DynamoDB Local serves the Streams API) and
//! invoke the function's real binary with a `Records` batch exactly as Lambda builds it. As on AWS:
//! batches of up to `BatchSize`, gathered for up to `MaximumBatchingWindowInSeconds`, shards in
//! order, a failed batch retried (split in halves with `BisectBatchOnFunctionError`) until it
//! succeeds or `MaximumRetryAttempts` is spent (then it is skipped and logged).

use crate::lambda::FunctionPool;
use crate::log::LogSink;
use crate::template::StreamSourceSpec;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use axum::body::Bytes;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How often an idle shard is read (Lambda reads each shard about four times a second).
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// DynamoDB JSON (`{"S": ..}`, `{"N": ..}`, ...), as stream records carry images.
pub fn attribute_json(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| json!(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => Value::Null,
    }
}

fn item_json(m: &std::collections::HashMap<String, AttributeValue>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect()
}

/// One stream record as Lambda puts it in `Records`.
pub fn record_json(r: &Record, region: &str, stream_arn: &str) -> Value {
    let mut ddb = Map::new();
    if let Some(s) = &r.dynamodb {
        if let Some(t) = s.approximate_creation_date_time() {
            ddb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
        if let Some(k) = s.keys() {
            ddb.insert("Keys".into(), Value::Object(item_json(k)));
        }
        if let Some(i) = s.new_image() {
            ddb.insert("NewImage".into(), Value::Object(item_json(i)));
        }
        if let Some(i) = s.old_image() {
            ddb.insert("OldImage".into(), Value::Object(item_json(i)));
        }
        if let Some(n) = s.sequence_number() {
            ddb.insert("SequenceNumber".into(), json!(n));
        }
        if let Some(n) = s.size_bytes() {
            ddb.insert("SizeBytes".into(), json!(n));
        }
        if let Some(v) = s.stream_view_type() {
            ddb.insert("StreamViewType".into(), json!(v.as_str()));
        }
    }
    json!({
        "eventID": r.event_id().unwrap_or_default(),
        "eventName": r.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventVersion": r.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region().unwrap_or(region),
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    })
}

pub struct StreamPoller {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StreamPoller {
    /// Starts one poller per event source.
    pub async fn start(
        sources: &[StreamSourceSpec],
        pools: &BTreeMap<String, Arc<FunctionPool>>,
        ddb: aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        region: &str,
        dead_letters: Option<Arc<crate::dead_letter::DeadLetters>>,
        log: LogSink,
    ) -> Result<StreamPoller, String> {
        let mut tasks = Vec::new();
        for s in sources {
            let pool = pools.get(&s.function).cloned().ok_or_else(|| format!("stream source of {}: no such function", s.function))?;
            let table = ddb
                .describe_table()
                .table_name(&s.table_name)
                .send()
                .await
                .map_err(|e| format!("DescribeTable {}: {}", s.table_name, aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
            let arn = table
                .table()
                .and_then(|t| t.latest_stream_arn())
                .map(str::to_string)
                .ok_or_else(|| format!("table {} has no stream (StreamSpecification)", s.table_name))?;
            let source = Poll {
                spec: s.clone(),
                pool,
                streams: streams.clone(),
                arn,
                region: region.to_string(),
                dead_letters: dead_letters.clone(),
                log: log.clone(),
            };
            tasks.push(tokio::spawn(source.run()));
        }
        Ok(StreamPoller { tasks })
    }

    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for StreamPoller {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Poll {
    spec: StreamSourceSpec,
    pool: Arc<FunctionPool>,
    streams: aws_sdk_dynamodbstreams::Client,
    arn: String,
    region: String,
    /// The on-failure destination's queue, when the source has one.
    dead_letters: Option<Arc<crate::dead_letter::DeadLetters>>,
    log: LogSink,
}

impl Poll {
    /// What Lambda sends an event source mapping's on-failure destination for a batch it gave up
    /// on: where the records are in the stream (not the records: they stay in the stream for 24
    /// hours; `chatctl redrive` reads them back from there).
    async fn on_failure(&self, shard: &str, batch: &[Record], attempts: i64) {
        let (Some(letters), Some(queue)) = (&self.dead_letters, &self.spec.on_failure_queue) else { return };
        let seq =
            |r: Option<&Record>| r.and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number()).unwrap_or_default().to_string();
        let at = |r: Option<&Record>| {
            r.and_then(|r| r.dynamodb.as_ref())
                .and_then(|d| d.approximate_creation_date_time())
                .map(|t| crate::util::iso8601(t.secs() as u64 * 1000))
        };
        let now = crate::util::now_ms();
        let body = json!({
            "requestContext": {
                "requestId": crate::util::hex(&crate::util::random_bytes::<16>()),
                "functionArn": format!("arn:aws:lambda:{}:000000000000:function:{}", self.region, self.spec.function),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts + 1,
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": crate::util::iso8601(now),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": seq(batch.first()),
                "endSequenceNumber": seq(batch.last()),
                "approximateArrivalOfFirstRecord": at(batch.first()),
                "approximateArrivalOfLastRecord": at(batch.last()),
                "batchSize": batch.len(),
                "streamArn": self.arn,
            },
        });
        match letters.send(queue, &body.to_string(), &[]).await {
            Ok(()) => {
                self.log.gateway(&format!("stream {} -> {}: where the batch was, to {queue}", self.spec.table_name, self.spec.function))
            }
            Err(e) => self.log.gateway(&format!("stream {} -> {}: on-failure destination: {e}", self.spec.table_name, self.spec.function)),
        }
    }

    async fn run(self) {
        // Shard id -> iterator; shards present at start begin at StartingPosition, shards that
        // appear later (splits) from their beginning.
        let mut iterators: BTreeMap<String, String> = BTreeMap::new();
        let mut done: BTreeSet<String> = BTreeSet::new();
        // The last record delivered per shard: a lost iterator resumes right after it.
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut first = true;
        loop {
            if let Err(e) = self.discover(&mut iterators, &done, &last, first).await {
                self.log.gateway(&format!("stream {} -> {}: {e}", self.spec.table_name, self.spec.function));
            }
            first = false;
            let mut any = false;
            for shard in iterators.keys().cloned().collect::<Vec<_>>() {
                let it = iterators[&shard].clone();
                match self.read(&it).await {
                    Ok((records, next)) => {
                        if let Some(n) = records.last().and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number()) {
                            last.insert(shard.clone(), n.to_string());
                        }
                        if !records.is_empty() {
                            any = true;
                            self.deliver(&shard, records).await;
                        }
                        match next {
                            Some(n) => {
                                iterators.insert(shard, n);
                            }
                            None => {
                                iterators.remove(&shard);
                                done.insert(shard);
                            }
                        }
                    }
                    Err(e) => {
                        // An expired or trimmed iterator: discover() gets a new one after the
                        // last record delivered.
                        if !e.contains("TrimmedDataAccess") && !e.contains("ExpiredIterator") {
                            self.log.gateway(&format!("stream {}: GetRecords: {e}", self.spec.table_name));
                        }
                        iterators.remove(&shard);
                    }
                }
            }
            if !any {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }

    async fn discover(
        &self,
        iterators: &mut BTreeMap<String, String>,
        done: &BTreeSet<String>,
        last: &BTreeMap<String, String>,
        first: bool,
    ) -> Result<(), String> {
        let d = self
            .streams
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .map_err(|e| format!("DescribeStream: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
        let shards = d.stream_description().map(|s| s.shards().to_vec()).unwrap_or_default();
        for sh in shards {
            let Some(id) = sh.shard_id() else { continue };
            if iterators.contains_key(id) || done.contains(id) {
                continue;
            }
            let req = self.streams.get_shard_iterator().stream_arn(&self.arn).shard_id(id);
            let req = match last.get(id) {
                Some(n) => req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(n),
                None if first && self.spec.starting_position == "LATEST" => req.shard_iterator_type(ShardIteratorType::Latest),
                None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let it =
                req.send().await.map_err(|e| format!("GetShardIterator: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)))?;
            if let Some(i) = it.shard_iterator() {
                iterators.insert(id.to_string(), i.to_string());
            }
        }
        Ok(())
    }

    /// Up to BatchSize records of a shard, waiting up to the batching window for more.
    async fn read(&self, iterator: &str) -> Result<(Vec<Record>, Option<String>), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.spec.batching_window_secs);
        let mut records = Vec::new();
        let mut it = Some(iterator.to_string());
        while let Some(cur) = it.clone() {
            let want = self.spec.batch_size as usize - records.len();
            let out = self.streams.get_records().shard_iterator(&cur).limit(want.min(1000) as i32).send().await.map_err(|e| {
                format!(
                    "{:?}: {}",
                    e.as_service_error().map(|s| s.meta().code().unwrap_or_default().to_string()),
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e)
                )
            })?;
            let got = out.records().to_vec();
            it = out.next_shard_iterator().map(str::to_string);
            let empty = got.is_empty();
            records.extend(got);
            if records.len() >= self.spec.batch_size as usize || tokio::time::Instant::now() >= deadline || (empty && records.is_empty()) {
                break;
            }
            if empty {
                tokio::time::sleep(POLL_INTERVAL.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
            }
        }
        Ok((records, it))
    }

    async fn deliver(&self, shard: &str, records: Vec<Record>) {
        let mut queue: Vec<(Vec<Record>, i64)> = vec![(records, 0)];
        while let Some((batch, attempts)) = queue.pop() {
            let event = json!({ "Records": batch.iter().map(|r| record_json(r, &self.region, &self.arn)).collect::<Vec<_>>() });
            let payload = Bytes::from(serde_json::to_vec(&event).expect("events serialize"));
            let (result, report) = self.pool.invoke(payload).await;
            match result {
                Ok(_) => self.log.gateway(&format!(
                    "stream {} -> {} records={} duration={:.1}ms ok",
                    self.spec.table_name,
                    self.spec.function,
                    batch.len(),
                    report.duration.as_secs_f64() * 1000.0
                )),
                Err(e) => {
                    self.log.gateway(&format!(
                        "stream {} -> {} records={} attempt={}: {e}",
                        self.spec.table_name,
                        self.spec.function,
                        batch.len(),
                        attempts + 1
                    ));
                    if self.spec.bisect_on_error && batch.len() > 1 {
                        let mut first = batch;
                        let second = first.split_off(first.len() / 2);
                        // Oldest first: the queue is a stack.
                        queue.push((second, attempts));
                        queue.push((first, attempts));
                    } else if self.spec.maximum_retry_attempts < 0 || attempts < self.spec.maximum_retry_attempts {
                        tokio::time::sleep(Duration::from_millis((200u64 << attempts.min(5) as u32).min(5_000))).await;
                        queue.push((batch, attempts + 1));
                    } else {
                        self.log.gateway(&format!(
                            "stream {} -> {}: {} records skipped after {} retries",
                            self.spec.table_name,
                            self.spec.function,
                            batch.len(),
                            attempts
                        ));
                        self.on_failure(shard, &batch, attempts).await;
                    }
                }
            }
        }
    }
}
