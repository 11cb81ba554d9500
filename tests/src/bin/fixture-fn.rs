//! A Lambda function for the gateway's own tests, run through the Runtime API like the real ones.
//! Every event is appended to `$FIXTURE_LOG` (one JSON line). Behaviour by route/body:
//! - `$connect`: `?status=N` answers N; `?protocol=P` answers with `Sec-WebSocket-Protocol: P`;
//!   `?fail=1` returns a handler error.
//! - `echo`: posts the body back through the @connections API (the AWS SDK, signed requests).
//! - `sleep`: `{"ms": N}` then echo. `panic`: the handler panics. `exit`: the process exits.
//! - `whoami`: posts back GET @connections/{self}. `kick`: DELETE @connections/{self}.
//! - `$default`: posts back `{"route": "$default", "body": ...}`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::http as axum_http;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::io::Write;

fn log_event(event: &Value) {
    if let Ok(path) = std::env::var("FIXTURE_LOG") {
        let mut line = serde_json::to_vec(event).unwrap_or_default();
        line.push(b'\n');
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(&line);
        }
    }
}

fn ok(headers: &[(&str, &str)], status: i64) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    for (k, v) in headers {
        r.headers.insert(axum_http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    r
}

async fn handle(client: &aws_sdk_apigatewaymanagement::Client, raw: Value) -> Result<ApiGatewayProxyResponse, Error> {
    log_event(&raw);
    // What the real functions do: the event as aws_lambda_events types it.
    let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(raw)?;
    let route = event.request_context.route_key.clone().unwrap_or_default();
    let conn = event.request_context.connection_id.clone().unwrap_or_default();
    let post = |data: String| {
        let client = client.clone();
        let conn = conn.clone();
        async move {
            client
                .post_to_connection()
                .connection_id(conn)
                .data(Blob::new(data))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from(format!("{}", aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e))))
        }
    };
    match route.as_str() {
        "$connect" => {
            let q = &event.query_string_parameters;
            if q.first("fail").is_some() {
                return Err("connect handler failed on purpose".into());
            }
            let status = q.first("status").and_then(|s| s.parse().ok()).unwrap_or(200);
            return Ok(match q.first("protocol") {
                Some(p) => ok(&[("Sec-WebSocket-Protocol", p)], status),
                None => ok(&[], status),
            });
        }
        "$disconnect" => {}
        "echo" => post(event.body.clone().unwrap_or_default()).await?,
        "sleep" => {
            let body: Value = serde_json::from_str(event.body.as_deref().unwrap_or("{}")).unwrap_or(Value::Null);
            let ms = body.get("ms").and_then(Value::as_u64).unwrap_or(100);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            post(event.body.clone().unwrap_or_default()).await?
        }
        "panic" => panic!("fixture panics on purpose"),
        "exit" => std::process::exit(3),
        "whoami" => {
            let info = client.get_connection().connection_id(&conn).send().await.map_err(|e| Error::from(format!("{e:?}")))?;
            let out = json!({
                "route": "whoami",
                "connectionId": conn,
                "connectedAt": info.connected_at().map(|d| d.secs()),
                "lastActiveAt": info.last_active_at().map(|d| d.secs()),
                "sourceIp": info.identity().and_then(|i| i.source_ip()),
                "userAgent": info.identity().and_then(|i| i.user_agent()),
            });
            post(out.to_string()).await?
        }
        "kick" => {
            client.delete_connection().connection_id(&conn).send().await.map_err(|e| Error::from(format!("{e:?}")))?;
        }
        _ => post(json!({ "route": route, "body": event.body, "isBase64Encoded": event.is_base64_encoded }).to_string()).await?,
    }
    Ok(ok(&[], 200))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // The endpoint comes from AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, set by the gateway.
    let client = aws_sdk_apigatewaymanagement::Client::new(&sdk);
    run(service_fn(|e: LambdaEvent<Value>| handle(&client, e.payload))).await
}
