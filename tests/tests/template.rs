//! No drift: what the local stack creates and routes is what `infra/template.yaml` deploys, every
//! route has a function crate, a binary and a sample event, and the protocol's actions are the
//! template's routes.

use chat_tests::chat_dev::template::{LocalContext, StackSpec, Template};
use chat_tests::{repo_root, TestStack};
use std::collections::BTreeSet;

fn spec() -> StackSpec {
    let ctx = LocalContext::default();
    let t = Template::load(&repo_root().join("infra/template.yaml"), &ctx).unwrap();
    StackSpec::from_template(&t, &ctx).unwrap()
}

#[tokio::test]
async fn the_local_tables_are_the_templates_tables() {
    let s = TestStack::chat().await;
    let ddb = s.dynamodb().await;
    let spec = &s.stack.spec;
    assert!(spec.tables.len() >= 6);
    for t in &spec.tables {
        let d = ddb.describe_table().table_name(&t.name).send().await.unwrap_or_else(|e| panic!("{} was not created: {e:?}", t.name));
        let d = d.table.unwrap();
        let keys: Vec<(String, String)> = d.key_schema().iter().map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string())).collect();
        assert_eq!(keys, t.key_schema(), "{}: key schema", t.logical_id);
        for a in d.attribute_definitions() {
            assert_eq!(Some(a.attribute_type().as_str().to_string()), t.attribute_type(a.attribute_name()), "{}: type of {}", t.logical_id, a.attribute_name());
        }
        let mut live: Vec<(String, Vec<(String, String)>, String, Vec<String>)> = d
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let p = g.projection().unwrap();
                let mut nk: Vec<String> = p.non_key_attributes().to_vec();
                nk.sort();
                (
                    g.index_name().unwrap().to_string(),
                    g.key_schema().iter().map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string())).collect(),
                    p.projection_type().unwrap().as_str().to_string(),
                    nk,
                )
            })
            .collect();
        let mut declared: Vec<_> = t
            .global_indexes()
            .into_iter()
            .map(|g| {
                let mut nk = g.non_key_attributes.clone();
                nk.sort();
                (g.name, g.key_schema, g.projection_type, nk)
            })
            .collect();
        live.sort();
        declared.sort();
        assert_eq!(live, declared, "{}: indexes", t.logical_id);
        let ttl = ddb.describe_time_to_live().table_name(&t.name).send().await.unwrap();
        let live_ttl = ttl.time_to_live_description().and_then(|d| d.attribute_name()).map(str::to_string);
        assert_eq!(live_ttl, t.ttl_attribute(), "{}: TTL", t.logical_id);
    }
    // The functions are told the same names.
    let env = &spec.functions["MessageFunction"].environment;
    for (var, logical) in [("CONNECTIONS_TABLE", "ConnectionsTable"), ("MESSAGES_TABLE", "MessagesTable"), ("IDEMPOTENCY_TABLE", "IdempotencyTable")] {
        assert_eq!(env[var], s.table(logical));
    }
}

#[tokio::test]
async fn the_gateway_serves_exactly_the_templates_routes() {
    let s = TestStack::chat().await;
    let health: serde_json::Value = serde_json::from_str(&chat_tests::http_get(&format!("{}/health", s.stack.http_url())).await.1).unwrap();
    let routes: BTreeSet<String> = health["routes"].as_object().unwrap().keys().cloned().collect();
    let declared: BTreeSet<String> = spec().websocket.routes.keys().cloned().collect();
    assert_eq!(routes, declared);
    for (route, function) in &spec().websocket.routes {
        assert_eq!(health["routes"][route], serde_json::json!(function));
    }
}

#[test]
fn every_protocol_action_is_a_route_and_every_route_is_an_action() {
    let spec = spec();
    let named: BTreeSet<&str> = spec.websocket.routes.keys().map(String::as_str).filter(|r| !r.starts_with('$')).collect();
    let actions: BTreeSet<&str> = chat::protocol::CLIENT_ACTIONS.iter().copied().collect();
    assert_eq!(named, actions);
    for special in ["$connect", "$disconnect", "$default"] {
        assert!(spec.websocket.routes.contains_key(special), "{special}");
    }
}

#[test]
fn every_route_has_a_function_crate_a_binary_and_a_sample_event() {
    let spec = spec();
    let root = repo_root();
    for (route, function) in &spec.websocket.routes {
        let f = &spec.functions[function];
        let manifest = std::fs::read_to_string(root.join("functions").join(&f.binary).join("Cargo.toml")).unwrap_or_else(|_| panic!("{route}: no crate functions/{}", f.binary));
        assert!(manifest.contains(&format!("name = \"{}\"", f.binary)), "{route}: functions/{} builds binary {}", f.binary, f.binary);
        assert!(chat_tests::bin_dir().join(&f.binary).exists(), "{route}: binary {} is built", f.binary);
        let event = match route.as_str() {
            "$connect" => "connect".to_string(),
            "$disconnect" => "disconnect".to_string(),
            "$default" => "default".to_string(),
            r => r.to_string(),
        };
        let text = std::fs::read_to_string(root.join("events").join(format!("{event}.json"))).unwrap_or_else(|_| panic!("{route}: no events/{event}.json"));
        let e: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("events/{event}.json: {e}"));
        assert_eq!(e.request_context.route_key.as_deref(), Some(route.as_str()));
    }
}

#[test]
fn the_function_environment_matches_what_the_code_reads() {
    // Config::from_env must succeed with exactly the environment the template gives.
    let spec = spec();
    for f in spec.functions.values() {
        for var in ["CONNECTIONS_TABLE", "USERS_TABLE", "ROOMS_TABLE", "MEMBERS_TABLE", "MESSAGES_TABLE", "IDEMPOTENCY_TABLE", "WS_ENDPOINT"] {
            assert!(f.environment.contains_key(var), "{}: {var}", f.logical_id);
        }
    }
    assert!(spec.functions["ConnectFunction"].environment.contains_key("JWT_SECRET_PARAM"));
}
