//! The dev gateway behaves like API Gateway's WebSocket API, its @connections API and Lambda:
//! real sockets, a real function binary (`fixture-fn`) through the Runtime API.

use chat_tests::chat_dev::gateway::GatewayConfig;
use chat_tests::{eventually, Client, StackSpec, TestStack};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

struct Fixture {
    stack: TestStack,
    events: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn template(with_default: bool, timeout: u32) -> String {
    let mut routes = String::new();
    let mut keys = vec!["$connect", "$disconnect", "echo", "sleep", "panic", "exit", "whoami", "kick", "limited"];
    if with_default {
        keys.push("$default");
    }
    for (i, k) in keys.iter().enumerate() {
        routes.push_str(&format!(
            "  Route{i}:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {{ ApiId: !Ref Api, RouteKey: \"{k}\", Target: !Sub \"integrations/${{Integ}}\" }}\n"
        ));
    }
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  StageName: {{ Type: String, Default: prod }}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {{ Name: fixture, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }}
  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{FixtureFunction.Arn}}/invocations"
  NoIntegrationRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {{ ApiId: !Ref Api, RouteKey: orphan }}
{routes}  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: !Ref StageName
      RouteSettings: {{ limited: {{ ThrottlingBurstLimit: 3, ThrottlingRateLimit: 1 }} }}
  FixtureFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildMethod: rust-cargolambda, BuildProperties: {{ Binary: fixture-fn }} }}
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      MemorySize: 128
      Timeout: {timeout}
"#
    )
}

async fn fixture_with(with_default: bool, timeout: u32, gateway: GatewayConfig, max_concurrency: usize) -> Fixture {
    fixture_queue(with_default, timeout, gateway, max_concurrency, 100).await
}

async fn fixture_queue(with_default: bool, timeout: u32, gateway: GatewayConfig, max_concurrency: usize, max_queue: usize) -> Fixture {
    fixture_template(template(with_default, timeout), gateway, max_concurrency, max_queue).await
}

async fn fixture_template(text: String, gateway: GatewayConfig, max_concurrency: usize, max_queue: usize) -> Fixture {
    let dir =
        std::env::temp_dir().join(format!("chat-gw-{}", chat_tests::chat_dev::util::hex(&chat_tests::chat_dev::util::random_bytes::<6>())));
    std::fs::create_dir_all(&dir).unwrap();
    let tpl = dir.join("template.yaml");
    std::fs::write(&tpl, text).unwrap();
    let events = dir.join("events.jsonl");
    let mut env = BTreeMap::new();
    env.insert("FIXTURE_LOG".to_string(), events.display().to_string());
    let stack = TestStack::start(StackSpec {
        template: tpl,
        gateway,
        max_concurrency,
        max_queue,
        function_env: env,
        with_aws: false,
        parameters: BTreeMap::new(),
    })
    .await;
    Fixture { stack, events, _dir: TempDir(dir) }
}

async fn fixture() -> Fixture {
    fixture_with(true, 10, GatewayConfig::default(), 10).await
}

impl Fixture {
    fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
    async fn event(&self, route: &str, connection_id: Option<&str>) -> Value {
        eventually(&format!("a {route} event"), || async {
            self.events().into_iter().find(|e| {
                e["requestContext"]["routeKey"] == json!(route)
                    && connection_id.is_none_or(|c| e["requestContext"]["connectionId"] == json!(c))
            })
        })
        .await
    }
    async fn client(&self, query: &str) -> Result<Client, String> {
        Client::connect(&format!("{}{query}", self.stack.ws_url()), &[]).await
    }
    /// Connects and learns the connection id (from `whoami`).
    async fn connected(&self) -> (Client, String) {
        let mut c = self.client("").await.unwrap();
        c.send(json!({"action": "whoami"})).await;
        let who = c.expect(|f| f["route"] == json!("whoami")).await;
        let id = who["connectionId"].as_str().unwrap().to_string();
        (c, id)
    }
}

#[tokio::test]
async fn handshake_is_rejected_with_the_handlers_status() {
    let f = fixture().await;
    assert_eq!(f.client("?status=401").await.err().as_deref(), Some("401"));
    assert_eq!(f.client("?status=403").await.err().as_deref(), Some("403"));
    // A failing $connect handler is a 500, as on AWS.
    assert_eq!(f.client("?fail=1").await.err().as_deref(), Some("500"));
    // The handler saw the query string and headers.
    let e = f.event("$connect", None).await;
    assert_eq!(e["requestContext"]["eventType"], "CONNECT");
    assert!(e["queryStringParameters"]["status"].is_string());
    assert!(e["headers"]["Sec-WebSocket-Key"].is_string(), "{e}");
    assert_eq!(e["multiValueHeaders"]["Sec-WebSocket-Version"], json!(["13"]));
    // No socket, so no $disconnect.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!f.events().iter().any(|e| e["requestContext"]["routeKey"] == "$disconnect"));
}

#[tokio::test]
async fn handshake_echoes_the_protocol_the_handler_returns() {
    let f = fixture().await;
    let c = Client::connect(&format!("{}?protocol=chat.v1", f.stack.ws_url()), &["chat.v1", "a.b.c"]).await.unwrap();
    assert_eq!(c.protocol.as_deref(), Some("chat.v1"));
    let e = f.event("$connect", None).await;
    assert_eq!(e["headers"]["Sec-WebSocket-Protocol"], "chat.v1, a.b.c");
    // Every request context field AWS fills.
    let ctx = &e["requestContext"];
    for k in [
        "connectionId",
        "connectedAt",
        "domainName",
        "stage",
        "apiId",
        "routeKey",
        "eventType",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "messageDirection",
        "extendedRequestId",
    ] {
        assert!(!ctx[k].is_null(), "requestContext.{k} missing: {ctx}");
    }
    assert_eq!(ctx["stage"], "local");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
}

#[tokio::test]
async fn frames_are_routed_by_action_else_to_default() {
    let f = fixture().await;
    let mut c = f.client("").await.unwrap();
    c.send(json!({"action": "echo", "n": 1})).await;
    assert_eq!(c.expect(|v| v["n"] == 1).await["action"], "echo");
    for (body, why) in [
        (r#"{"action":"nosuchroute"}"#, "unknown action"),
        ("plain text", "not JSON"),
        (r#"{"other":1}"#, "no action"),
        (r#"{"action":"orphan"}"#, "route without integration"),
    ] {
        c.send_raw(Message::Text(body.into())).await.unwrap();
        let v = c.expect(|v| v["body"] == json!(body)).await;
        assert_eq!(v["route"], "$default", "{why}");
    }
    let e = f.event("$default", None).await;
    assert_eq!(e["requestContext"]["eventType"], "MESSAGE");
    assert!(e["requestContext"]["messageId"].is_string());
    // Binary frames reach $default base64-encoded.
    c.send_raw(Message::Binary(vec![0u8, 1, 2].into())).await.unwrap();
    let v = c.expect(|v| v["isBase64Encoded"] == true).await;
    assert_eq!(v["body"], "AAEC");
}

#[tokio::test]
async fn without_a_default_route_unmatched_frames_get_forbidden() {
    let f = fixture_with(false, 10, GatewayConfig::default(), 10).await;
    let (mut c, id) = f.connected().await;
    c.send(json!({"action": "nosuchroute"})).await;
    let v = c.expect(|v| v["message"] == "Forbidden").await;
    assert_eq!(v["connectionId"], json!(id));
    assert!(v["requestId"].is_string());
}

#[tokio::test]
async fn connections_api_posts_reads_and_deletes() {
    let f = fixture().await;
    let api = f.stack.connections_api().await;
    let (mut c, id) = f.connected().await;

    api.post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(r#"{"hello":"from the SDK"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(c.expect(|v| v["hello"].is_string()).await["hello"], "from the SDK");

    let info = api.get_connection().connection_id(&id).send().await.unwrap();
    assert!(info.connected_at().is_some() && info.last_active_at().is_some());
    assert_eq!(info.identity().and_then(|i| i.source_ip()), Some("127.0.0.1"));

    // Too large for API Gateway: 413 PayloadTooLargeException.
    let big = vec![b'x'; 129 * 1024];
    let err = api
        .post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(big))
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().is_some_and(|e| e.is_payload_too_large_exception()), "{err:?}");

    api.delete_connection().connection_id(&id).send().await.unwrap();
    let close = c.expect_closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1000));
    let e = f.event("$disconnect", Some(&id)).await;
    assert_eq!(e["requestContext"]["eventType"], "DISCONNECT");
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1000);

    // Gone now: every verb answers 410 GoneException.
    let post = api
        .post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert!(post.as_service_error().is_some_and(|e| e.is_gone_exception()), "{post:?}");
    let get = api.get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(get.as_service_error().is_some_and(|e| e.is_gone_exception()), "{get:?}");
    let del = api.delete_connection().connection_id(&id).send().await.unwrap_err();
    assert!(del.as_service_error().is_some_and(|e| e.is_gone_exception()), "{del:?}");
    let unknown = api
        .post_to_connection()
        .connection_id("NoSuchConn0000=")
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert!(unknown.as_service_error().is_some_and(|e| e.is_gone_exception()));
}

#[tokio::test]
async fn a_function_can_close_its_own_connection() {
    let f = fixture().await;
    let (mut c, id) = f.connected().await;
    c.send(json!({"action": "kick"})).await;
    c.expect_closed(Duration::from_secs(5)).await;
    f.event("$disconnect", Some(&id)).await;
}

#[tokio::test]
async fn disconnect_fires_on_client_close_with_its_code() {
    let f = fixture().await;
    let (c, id) = f.connected().await;
    c.close(4001, "bye now").await;
    let e = f.event("$disconnect", Some(&id)).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 4001);
    assert_eq!(e["requestContext"]["disconnectReason"], "bye now");
}

#[tokio::test]
async fn idle_connections_are_closed_and_disconnected() {
    let cfg = GatewayConfig { idle_timeout: Duration::from_millis(800), ..GatewayConfig::default() };
    let f = fixture_with(true, 10, cfg, 10).await;
    let (mut c, id) = f.connected().await;
    let started = std::time::Instant::now();
    let close = c.expect_closed(Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(500), "closed too early: {:?}", started.elapsed());
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1001));
    let e = f.event("$disconnect", Some(&id)).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1001);
}

#[tokio::test]
async fn activity_keeps_a_connection_open_until_its_maximum_duration() {
    let cfg =
        GatewayConfig { idle_timeout: Duration::from_millis(600), max_duration: Duration::from_millis(1500), ..GatewayConfig::default() };
    let f = fixture_with(true, 10, cfg, 10).await;
    let (mut c, _) = f.connected().await;
    let started = std::time::Instant::now();
    // A ping every 200 ms keeps the idle timeout away, not the maximum duration.
    while c.closed.is_none() && started.elapsed() < Duration::from_secs(4) {
        let _ = c.send_raw(Message::Ping(vec![1].into())).await;
        let _ = c.wait_for(&|_| false, Duration::from_millis(200)).await;
    }
    let lived = started.elapsed();
    assert!(lived >= Duration::from_millis(1200) && lived < Duration::from_secs(3), "lived {lived:?}");
}

#[tokio::test]
async fn a_message_over_128_kb_closes_with_1009() {
    let f = fixture().await;
    let (mut c, id) = f.connected().await;
    let big = format!(r#"{{"action":"echo","pad":"{}"}}"#, "x".repeat(129 * 1024));
    // Sent as 32 KB frames, as API Gateway requires: the message limit still applies.
    send_fragmented(&mut c, big.as_bytes(), 32 * 1024).await;
    let close = c.expect_closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1009));
    let e = f.event("$disconnect", Some(&id)).await;
    assert_eq!(e["requestContext"]["disconnectStatusCode"], 1009);
}

#[tokio::test]
async fn frames_over_32_kb_are_refused_but_fragmented_messages_pass() {
    let f = fixture().await;
    let (mut c, _) = f.connected().await;
    // 100 KB in 32 KB frames: accepted and routed.
    let body = format!(r#"{{"action":"echo","pad":"{}"}}"#, "y".repeat(100 * 1024));
    send_fragmented(&mut c, body.as_bytes(), 32 * 1024).await;
    let v = c.expect(|v| v["pad"].is_string()).await;
    assert_eq!(v["pad"].as_str().unwrap().len(), 100 * 1024);
    // The same as one 100 KB frame: closed with 1009.
    c.send_raw(Message::Text(body.into())).await.unwrap();
    let close = c.expect_closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1009));
}

async fn send_fragmented(c: &mut Client, data: &[u8], frame: usize) {
    let chunks: Vec<&[u8]> = data.chunks(frame).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
        let mut fr = Frame::message(chunk.to_vec(), opcode, i == chunks.len() - 1);
        fr.header_mut().is_final = i == chunks.len() - 1;
        if c.send_raw(Message::Frame(fr)).await.is_err() {
            return; // the server may close before the last fragment
        }
    }
}

#[tokio::test]
async fn a_crashing_function_gives_internal_server_error_and_the_next_invocation_works() {
    let f = fixture().await;
    let (mut c, id) = f.connected().await;
    for action in ["exit", "panic"] {
        c.send(json!({"action": action})).await;
        let v = c.expect(|v| v["message"] == "Internal server error").await;
        assert_eq!(v["connectionId"], json!(id));
        assert!(v["requestId"].is_string());
        c.send(json!({"action": "echo", "after": action})).await;
        c.expect(|v| v["after"] == json!(action)).await;
    }
    let logs = f.stack.logs();
    assert!(logs.contains("exited during an invocation"), "{logs}");
}

#[tokio::test]
async fn a_function_past_its_timeout_is_stopped_and_replaced() {
    let f = fixture_with(true, 1, GatewayConfig::default(), 10).await;
    let (mut c, _) = f.connected().await;
    c.send(json!({"action": "sleep", "ms": 3000, "tag": "slow"})).await;
    c.expect(|v| v["message"] == "Internal server error").await;
    c.send(json!({"action": "echo", "tag": "after"})).await;
    c.expect(|v| v["tag"] == "after").await;
    c.assert_none(|v| v["tag"] == "slow", Duration::from_millis(2500)).await;
}

#[tokio::test]
async fn concurrent_invocations_spawn_instances_up_to_the_limit() {
    let f = fixture_with(true, 10, GatewayConfig::default(), 3).await;
    let (mut c, _) = f.connected().await;
    // Warm reuse: invocations that do not overlap stay on the instances already there. (The echo
    // arrives before its invocation has returned: wait until the instance is idle again.)
    for i in 0..3 {
        c.send(json!({"action": "echo", "seq": i})).await;
        c.expect(|v| v["seq"] == i).await;
        eventually("the instance idle", || async { (health(&f).await["functions"]["FixtureFunction"]["busy"] == 0).then_some(()) }).await;
    }
    let spawned_before = health(&f).await["functions"]["FixtureFunction"]["spawned"].as_u64().unwrap();
    assert!(spawned_before <= 2, "sequential invocations should reuse warm instances, spawned {spawned_before}");
    // Six 700 ms invocations at once: three instances, never more.
    let started = std::time::Instant::now();
    for i in 0..6 {
        c.send(json!({"action": "sleep", "ms": 700, "n": i})).await;
    }
    for i in 0..6 {
        c.expect(|v| v["n"] == i).await;
    }
    let elapsed = started.elapsed();
    let h = health(&f).await;
    assert_eq!(h["functions"]["FixtureFunction"]["spawned"], 3, "{h}");
    assert!(elapsed >= Duration::from_millis(1400), "six 700 ms calls on three instances take two rounds: {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_capacity_the_gateway_queues_then_throttles_like_lambda_and_recovers() {
    // Two instances, two waiting: the rest is refused at once ("Internal server error" frames, as
    // API Gateway answers a throttled Lambda), never held, never half-done. (Lambda's own
    // queueing: without the local platform's share per connection.)
    let f = fixture_queue(true, 10, GatewayConfig { max_inflight_per_connection: None, ..GatewayConfig::default() }, 2, 2).await;
    let (mut c, _) = f.connected().await;
    for i in 0..10 {
        c.send(json!({"action": "sleep", "ms": 800, "n": i})).await;
    }
    let mut done = 0;
    let mut refused = 0;
    while done + refused < 10 {
        let v = c.expect(|v| v["n"].is_u64() || v["message"] == "Internal server error").await;
        if v["n"].is_u64() {
            done += 1
        } else {
            refused += 1
        }
    }
    assert!((2..=4).contains(&done), "two running, two queued: {done} done, {refused} refused");
    let h = health(&f).await;
    let fx = &h["functions"]["FixtureFunction"];
    assert!(fx["throttled"].as_u64().unwrap() >= 6, "{h}");
    assert!(fx["spawned"].as_u64().unwrap() <= 2, "never more instances than the limit: {h}");
    // Recovered: nothing busy or queued, and the next call works.
    eventually("idle again", || async {
        let h = health(&f).await;
        (h["functions"]["FixtureFunction"]["busy"] == 0 && h["functions"]["FixtureFunction"]["queued"] == 0).then_some(())
    })
    .await;
    c.send(json!({"action": "echo", "tag": "after"})).await;
    c.expect(|v| v["tag"] == "after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_invocation_gives_its_instance_back() {
    // API Gateway stops waiting (its integration timeout) long before the function's timeout:
    // the client gets its error at once, the invocation runs on, and its instance comes back.
    let gateway = GatewayConfig { integration_timeout: Duration::from_millis(300), ..GatewayConfig::default() };
    let f = fixture_queue(true, 10, gateway, 2, 4).await;
    let (mut c, _) = f.connected().await;
    for i in 0..8 {
        c.send(json!({"action": "sleep", "ms": 1000, "n": i})).await;
    }
    for _ in 0..8 {
        c.expect(|v| v["message"] == "Internal server error").await;
    }
    eventually("instances given back", || async {
        let h = health(&f).await;
        let fx = &h["functions"]["FixtureFunction"];
        (fx["busy"] == 0 && fx["queued"] == 0).then_some(())
    })
    .await;
    let h = health(&f).await;
    let fx = &h["functions"]["FixtureFunction"];
    assert!(fx["spawned"].as_u64().unwrap() <= 2 && fx["live"].as_u64().unwrap() <= 2, "{h}");
    c.send(json!({"action": "echo", "tag": "after"})).await;
    c.expect(|v| v["tag"] == "after").await;
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;
    let f = fixture().await;
    let (mut c, id) = f.connected().await;
    let bad = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    c.send_raw(Message::Frame(bad)).await.unwrap();
    let close = c.expect_closed(Duration::from_secs(5)).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1007, "{close:?}");
    let d = f.event("$disconnect", Some(&id)).await;
    assert_eq!(d["requestContext"]["disconnectStatusCode"], 1007);
}

#[tokio::test]
async fn connections_requests_must_be_signed_with_the_stacks_credentials() {
    let f = fixture().await;
    let (mut c, id) = f.connected().await;
    let url = format!("{}/@connections/{}", f.stack.stack.connections_endpoint(), id.replace('=', "%3D").replace('+', "%2B"));
    // Unsigned: refused as API Gateway refuses it.
    let r = chat_tests::http("POST", &url, &[], Some(b"{\"unsigned\":1}")).await;
    assert_eq!((r.status, r.json()["message"].as_str()), (403, Some("Missing Authentication Token")), "{}", r.body);
    // Signed with another secret: refused.
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new("test", "not-the-secret", None, None, "tests"))
        .load()
        .await;
    let wrong = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&conf).endpoint_url(f.stack.stack.connections_endpoint()).build(),
    );
    let e = wrong
        .post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new("{}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    c.assert_none(|v| v["unsigned"].is_number(), Duration::from_millis(300)).await;
    // Signed right (the SDK with the stack's credentials): delivered.
    let api = f.stack.connections_api().await;
    api.post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(r#"{"signed":1}"#))
        .send()
        .await
        .unwrap();
    c.expect(|v| v["signed"] == 1).await;
}

#[tokio::test]
async fn routes_are_throttled_as_the_stage_settings_say() {
    let f = fixture().await;
    let (mut c, _) = f.connected().await;
    // `limited`: a bucket of 3, refilled at 1 per second. Ten at once: three pass.
    for i in 0..10 {
        c.send(json!({"action": "limited", "n": i})).await;
    }
    let mut passed = 0;
    let mut refused = 0;
    while passed + refused < 10 {
        let v = c.expect(|v| v["route"] == "limited" || v["message"] == "Too Many Requests").await;
        if v["route"] == "limited" {
            passed += 1
        } else {
            refused += 1
        }
    }
    assert!((3..=4).contains(&passed), "{passed} passed");
    // Other routes have their own limits (none here), and the bucket refills.
    c.send(json!({"action": "echo", "tag": "unaffected"})).await;
    c.expect(|v| v["tag"] == "unaffected").await;
    // Within a few seconds the bucket has a token again: a send gets through.
    let mut through = false;
    for k in 0..10 {
        c.send(json!({"action": "limited", "again": k})).await;
        let v = c.expect(|v| v["route"] == "limited" || v["message"] == "Too Many Requests").await;
        if v["route"] == "limited" {
            through = true;
            break;
        }
        // Waiting for the refill (1 token per second) is the behaviour under test.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(through, "the bucket refills");
}

#[tokio::test]
async fn handshakes_are_throttled_as_the_connect_route_settings_say() {
    let text = template(true, 10).replace(
        "RouteSettings: { limited:",
        "RouteSettings: { \"$connect\": { ThrottlingBurstLimit: 2, ThrottlingRateLimit: 0.5 }, limited:",
    );
    let f = fixture_template(text, GatewayConfig::default(), 10, 100).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(match f.client("").await {
            Ok(_) => 101,
            Err(code) => code.parse::<u16>().unwrap_or(0),
        });
    }
    assert_eq!(statuses, vec![101, 101, 429, 429], "a bucket of two");
}

async fn health(f: &Fixture) -> Value {
    let url = format!("{}/health", f.stack.stack.http_url());
    serde_json::from_str(&chat_tests::http_get(&url).await.1).unwrap()
}

#[tokio::test]
async fn health_reports_routes_and_instances() {
    let f = fixture().await;
    let h = health(&f).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["routes"]["echo"], "FixtureFunction");
}
