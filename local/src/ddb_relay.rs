//! A small HTTP relay in front of DynamoDB (Local) that injects DynamoDB's own failures into the
//! functions' calls: the functions' `AWS_ENDPOINT_URL_DYNAMODB` points here when fault injection
//! is on ([`crate::faults`]).
//!
//! - `ddbThrottle`: any `DynamoDB_20120810.*` request is answered `400
//!   ProvisionedThroughputExceededException` (the SDK's retry strategy retries it by itself);
//! - `txConflict`: a `DynamoDB_20120810.TransactWriteItems` is answered `400
//!   TransactionCanceledException` with one `TransactionConflict` reason per item, as DynamoDB
//!   answers a transaction that collided with another one on an item.
//!
//! Nothing reaches DynamoDB for an injected fault (a refused request did nothing, as on AWS).
//! Everything else — other targets (`DynamoDBStreams_20120810.*`), other paths — is passed through
//! unchanged over a few kept-alive connections.

use crate::faults::{Fault, Faults};
use crate::log::LogSink;
use crate::relay::{Served, Upstream};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

/// The relay; stops when dropped.
pub struct DdbRelay(Served);

struct Relay {
    upstream: Upstream,
    faults: Faults,
    log: LogSink,
}

const JSON_10: &str = "application/x-amz-json-1.0";

impl DdbRelay {
    /// Listens on a free local port and relays to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, faults: Faults, log: LogSink) -> Result<DdbRelay, String> {
        let upstream = Upstream::new("DynamoDB", upstream)?;
        let state = Arc::new(Relay { upstream, faults, log });
        let app = axum::Router::new().fallback(relay).with_state(state).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024));
        Ok(DdbRelay(Served::start("DynamoDB", app).await?))
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.0.url()
    }
}

/// DynamoDB's answer to a throttled request (what the SDK classifies as throttling and retries).
pub fn throttled() -> Response {
    error_response(json!({
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    }))
}

/// DynamoDB's answer to a transaction of `items` items that conflicted with another one.
pub fn transaction_conflict(items: usize) -> Response {
    let reasons: Vec<Value> =
        (0..items.max(1)).map(|_| json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" })).collect();
    let codes = vec!["TransactionConflict"; items.max(1)].join(", ");
    error_response(json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "CancellationReasons": reasons,
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"),
    }))
}

fn error_response(body: Value) -> Response {
    let mut r = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(JSON_10));
    h.insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&crate::util::hex(&crate::util::random_bytes::<16>())).expect("hex is a header value"),
    );
    r
}

async fn relay(State(st): State<Arc<Relay>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
        if st.faults.roll(Fault::DdbThrottle) {
            st.log.gateway(&format!("fault: DynamoDB {op} throttled (ProvisionedThroughputExceededException)"));
            return throttled();
        }
        if op == "TransactWriteItems" && st.faults.decide(Fault::TxConflict) {
            let items = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("TransactItems").and_then(Value::as_array).map(Vec::len))
                .unwrap_or(1);
            st.faults.record(Fault::TxConflict);
            st.log.gateway(&format!("fault: DynamoDB TransactWriteItems of {items} items cancelled (TransactionConflict)"));
            return transaction_conflict(items);
        }
    }
    match st.upstream.forward(&method, &uri, &headers, &body).await {
        Ok(r) => r,
        Err(e) => {
            st.log.gateway(&format!("DynamoDB relay: {e}"));
            (StatusCode::BAD_GATEWAY, e).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultConfig;
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    use std::sync::Mutex;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    async fn client(endpoint: &str, attempts: u32) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(endpoint)
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    fn put(n: usize) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(Put::builder().table_name("T").item("k", aws_sdk_dynamodb::types::AttributeValue::S(n.to_string())).build().unwrap())
            .build()
    }

    /// A POST over a fresh connection: status, body, headers (lower case).
    async fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, std::collections::HashMap<String, String>) {
        let host = url.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(host).await.unwrap();
        let mut req = format!("POST / HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
        let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
        (status, body.to_string(), headers)
    }

    /// What the relay answers is what the AWS SDK parses as DynamoDB's own errors.
    #[tokio::test]
    async fn the_sdk_reads_injected_faults_as_dynamodbs_errors() {
        // Nothing listens upstream: only injected answers can come back.
        let dead = format!("http://127.0.0.1:{}", crate::util::free_port());
        let faults = Faults::new(FaultConfig { tx_conflict: 1.0, ..FaultConfig::default() });
        let relay = DdbRelay::start(&dead, faults.clone(), LogSink::capture()).await.unwrap();
        let ddb = client(&relay.url(), 1).await;
        let e = ddb.transact_write_items().set_transact_items(Some(vec![put(1), put(2), put(3)])).send().await.unwrap_err();
        match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => {
                let codes: Vec<&str> = c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("")).collect();
                assert_eq!(codes, vec!["TransactionConflict"; 3]);
                assert!(c.message().unwrap_or_default().contains("[TransactionConflict, TransactionConflict, TransactionConflict]"));
            }
            other => panic!("not a TransactionCanceledException: {other:?}"),
        }
        assert_eq!(faults.injected(Fault::TxConflict), 1);

        // Throttling: the SDK retries it (three attempts), then gives the error back.
        faults.set(FaultConfig { ddb_throttle: 1.0, ..FaultConfig::default() });
        let ddb = client(&relay.url(), 3).await;
        let e = ddb.get_item().table_name("T").key("k", aws_sdk_dynamodb::types::AttributeValue::S("1".into())).send().await.unwrap_err();
        assert!(
            matches!(
                e.as_service_error(),
                Some(aws_sdk_dynamodb::operation::get_item::GetItemError::ProvisionedThroughputExceededException(_))
            ),
            "{e:?}"
        );
        assert_eq!(faults.injected(Fault::DdbThrottle), 3, "retried by the SDK");
    }

    /// Without a fault, requests and answers pass unchanged (a fake DynamoDB answering chunked,
    /// then with a length, on one kept-alive connection).
    #[tokio::test]
    async fn passes_requests_through_on_kept_alive_connections() {
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = upstream.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen2 = seen.clone();
        let accepts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepts2 = accepts.clone();
        tokio::spawn(async move {
            loop {
                let (s, _) = upstream.accept().await.unwrap();
                accepts2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let seen = seen2.clone();
                tokio::spawn(async move {
                    let mut s = BufReader::new(s);
                    let mut n = 0;
                    loop {
                        let mut head = String::new();
                        let mut line = String::new();
                        let mut len = 0;
                        loop {
                            line.clear();
                            if s.read_line(&mut line).await.unwrap() == 0 {
                                return;
                            }
                            if line.to_ascii_lowercase().starts_with("content-length:") {
                                len = line[15..].trim().parse().unwrap();
                            }
                            if line.trim().is_empty() {
                                break;
                            }
                            head.push_str(&line);
                        }
                        let mut body = vec![0; len];
                        s.read_exact(&mut body).await.unwrap();
                        seen.lock().unwrap().push(format!("{head}{}", String::from_utf8_lossy(&body)));
                        n += 1;
                        let reply = if n % 2 == 1 {
                            "HTTP/1.1 200 OK\r\nx-amz-crc32: 123\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n"
                                .to_string()
                        } else {
                            "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nx-amz-crc32: 456\r\n\r\n{\"b\": 2}".to_string()
                        };
                        s.get_mut().write_all(reply.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        let relay = DdbRelay::start(&format!("http://{up}"), Faults::new(FaultConfig::default()), LogSink::capture()).await.unwrap();
        let streams_target = [("x-amz-target", "DynamoDBStreams_20120810.GetRecords")];
        let ddb_target = [("x-amz-target", "DynamoDB_20120810.GetItem")];
        let r1 = post(&relay.url(), &streams_target, b"{\"x\":1}").await;
        assert_eq!((r1.0, r1.1.as_str(), r1.2.get("x-amz-crc32").map(String::as_str)), (200, "{\"a\": 1}", Some("123")));
        let r2 = post(&relay.url(), &ddb_target, b"{\"y\":2}").await;
        assert_eq!((r2.0, r2.1.as_str(), r2.2.get("x-amz-crc32").map(String::as_str)), (200, "{\"b\": 2}", Some("456")));
        let seen = seen.lock().unwrap().clone();
        assert!(seen[0].contains("x-amz-target: DynamoDBStreams_20120810.GetRecords") && seen[0].ends_with("{\"x\":1}"), "{seen:?}");
        assert!(seen[1].contains("x-amz-target: DynamoDB_20120810.GetItem") && seen[1].ends_with("{\"y\":2}"), "{seen:?}");
        assert_eq!(accepts.load(std::sync::atomic::Ordering::SeqCst), 1, "one kept-alive upstream connection");
    }
}
