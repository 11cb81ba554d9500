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
        let keys: Vec<(String, String)> =
            d.key_schema().iter().map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string())).collect();
        assert_eq!(keys, t.key_schema(), "{}: key schema", t.logical_id);
        for a in d.attribute_definitions() {
            assert_eq!(
                Some(a.attribute_type().as_str().to_string()),
                t.attribute_type(a.attribute_name()),
                "{}: type of {}",
                t.logical_id,
                a.attribute_name()
            );
        }
        type Index = (String, Vec<(String, String)>, String, Vec<String>);
        let mut live: Vec<Index> = d
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
    for (var, logical) in
        [("CONNECTIONS_TABLE", "ConnectionsTable"), ("MESSAGES_TABLE", "MessagesTable"), ("IDEMPOTENCY_TABLE", "IdempotencyTable")]
    {
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
    let actions: BTreeSet<&str> = chat::cmd::CLIENT_ACTIONS.iter().copied().collect();
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
        let manifest = std::fs::read_to_string(root.join("functions").join(&f.binary).join("Cargo.toml"))
            .unwrap_or_else(|_| panic!("{route}: no crate functions/{}", f.binary));
        assert!(manifest.contains(&format!("name = \"{}\"", f.binary)), "{route}: functions/{} builds binary {}", f.binary, f.binary);
        assert!(chat_tests::bin_dir().join(&f.binary).exists(), "{route}: binary {} is built", f.binary);
        let event = match route.as_str() {
            "$connect" => "connect".to_string(),
            "$disconnect" => "disconnect".to_string(),
            "$default" => "default".to_string(),
            r => r.to_string(),
        };
        let text = std::fs::read_to_string(root.join("events").join(format!("{event}.json")))
            .unwrap_or_else(|_| panic!("{route}: no events/{event}.json"));
        let e: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("events/{event}.json: {e}"));
        assert_eq!(e.request_context.route_key.as_deref(), Some(route.as_str()));
    }
}

#[test]
fn the_function_environment_matches_what_the_code_reads() {
    // Config::from_env must succeed with exactly the environment the template gives.
    let spec = spec();
    for f in spec.functions.values() {
        for var in
            ["CONNECTIONS_TABLE", "USERS_TABLE", "ROOMS_TABLE", "MEMBERS_TABLE", "MESSAGES_TABLE", "IDEMPOTENCY_TABLE", "WS_ENDPOINT"]
        {
            assert!(f.environment.contains_key(var), "{}: {var}", f.logical_id);
        }
    }
    for var in ["JWT_SECRET_PARAM", "JWKS_URL", "ALLOWED_ORIGINS"] {
        assert!(spec.functions["ConnectFunction"].environment.contains_key(var), "ConnectFunction: {var}");
    }
    // Web Push: the senders decide and publish, REST serves the public key, notify signs.
    for f in ["MessageFunction", "ApiFunction"] {
        for var in ["PUSH_TOPIC_ARN", "PUSH_INTERVAL_SECONDS", "PUSH_SUBSCRIPTIONS_TABLE"] {
            assert!(spec.functions[f].environment.contains_key(var), "{f}: {var}");
        }
    }
    for f in ["ApiFunction", "NotifyFunction"] {
        assert!(spec.functions[f].environment.contains_key("VAPID_PARAM"), "{f}: VAPID_PARAM");
    }
    assert_eq!(spec.functions["MessageFunction"].environment["PUSH_INTERVAL_SECONDS"], "60");
    // The push endpoint rules: both the registering and the sending function know the services.
    for f in ["ApiFunction", "NotifyFunction"] {
        assert_eq!(
            spec.functions[f].environment.get("PUSH_SERVICE_HOSTS").map(String::as_str),
            Some(chat::push::endpoint::DEFAULT_PUSH_HOSTS),
            "{f}: PUSH_SERVICE_HOSTS"
        );
    }
}

/// The local push service exception is the local platform's alone: the template (any function,
/// the globals, a parameter's default) never names it, so no deployed stack can push to an
/// address it lists.
#[test]
fn the_template_cannot_enable_the_local_push_exception() {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    assert!(
        !text.contains(chat::push::endpoint::LOCAL_ORIGINS_VAR),
        "infra/template.yaml names {}",
        chat::push::endpoint::LOCAL_ORIGINS_VAR
    );
    for f in spec().functions.values() {
        assert!(!f.environment.contains_key(chat::push::endpoint::LOCAL_ORIGINS_VAR), "{}", f.logical_id);
    }
}

/// (DynamoDB action, table field) for every call in the DynamoDB adapter: `self.client.<op>()`,
/// transaction items (`Put::builder()`, `Update::builder()`, `Delete::builder()`) and the batch
/// helpers, each followed by the table it names.
fn dynamodb_calls() -> BTreeSet<(String, String)> {
    let dir = repo_root().join("shared/src/store/dynamodb");
    let mut src = String::new();
    for f in std::fs::read_dir(&dir).unwrap() {
        src.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    let ops = [
        ("self.client\n            .get_item()", "GetItem"),
        (".get_item()", "GetItem"),
        (".put_item()", "PutItem"),
        (".update_item()", "UpdateItem"),
        (".delete_item()", "DeleteItem"),
        (".query()", "Query"),
        ("Put::builder()", "PutItem"),
        ("Update::builder()", "UpdateItem"),
        ("Delete::builder()", "DeleteItem"),
        ("self.batch_get(&self.t.", "BatchGetItem"),
        ("self.batch_write_puts(&self.t.", "BatchWriteItem"),
        ("self.batch_write(&self.t.", "BatchWriteItem"),
        ("self.batch_get_with(&self.t.", "BatchGetItem"),
        ("self.get(&self.t.", "GetItem"),
    ];
    let mut out = BTreeSet::new();
    for (marker, action) in ops {
        for (at, _) in src.match_indices(marker) {
            let rest = &src[at..];
            // The table is the first `self.t.<field>` after the marker.
            let Some(t) = rest.find("self.t.") else { continue };
            if t > 400 {
                continue; // a helper's definition, not a call
            }
            let field: String = rest[t + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            out.insert((action.to_string(), field));
        }
    }
    assert!(out.len() >= 15, "the scan found too little: {out:?}");
    out
}

/// Which DynamoDB actions a function's policy grants on a table (by logical id).
fn granted(template: &serde_json::Value, function: &str, table_logical: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let statements = template["Resources"][function]["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
    for st in statements {
        let resources = match &st["Resource"] {
            serde_json::Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        // `!GetAtt T.Arn`, or an index of it: `!Sub "${T.Arn}/index/…"`.
        let on_table = resources.iter().any(|r| {
            r["Fn::GetAtt"][0] == table_logical
                || r["Fn::Sub"].as_str().is_some_and(|s| s.starts_with(&format!("${{{table_logical}.Arn}}/index/")))
        });
        if on_table {
            for a in st["Action"].as_array().unwrap() {
                out.insert(a.as_str().unwrap().trim_start_matches("dynamodb:").to_string());
            }
        }
    }
    out
}

#[test]
fn the_functions_may_call_every_dynamodb_operation_the_code_makes() {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let t = Template::parse(&text, &LocalContext::default()).unwrap();
    let doc = serde_json::json!({ "Resources": t.resources });
    let table_of = |field: &str| -> String {
        let cap: String = field
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().unwrap().to_uppercase().chain(c).collect::<String>()
            })
            .collect();
        format!("{cap}Table")
    };
    let pairs = |v: &[(&str, &str)]| -> BTreeSet<(String, String)> { v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect() };
    // Only the $connect path writes connection rows and checks which still exist.
    let connect_only = pairs(&[("PutItem", "connections"), ("BatchGetItem", "connections")]);
    // Only REST reads search results; the indexer writes the messages' index (and the message
    // function a new session's visitor: support::visitors).
    let search_only = pairs(&[("BatchGetItem", "messages"), ("Query", "search")]);
    let indexer_only = pairs(&[("BatchWriteItem", "search")]);
    // Only sockets identify their connection, charge its send budget and remove members, beat,
    // and read a flooder's strikes (the REST API counts guest tokens in the limits table, which
    // is UpdateItem on it like the sockets' frame counters). The support desk's sessions are
    // socket-only too (REST reads saved replies, reports and sessions on its own grants).
    let socket_only = pairs(&[
        ("GetItem", "connections"),
        ("DeleteItem", "members"),
        ("PutItem", "room_conns"),
        ("Query", "rooms"),
        ("GetItem", "support"),
        ("PutItem", "support"),
        ("DeleteItem", "support"),
        ("BatchGetItem", "support"),
        ("UpdateItem", "support"),
        ("UpdateItem", "beats"),
        ("GetItem", "limits"),
    ]);
    // Only the sweeper reads heartbeats.
    let sweeper_only = pairs(&[("Query", "beats")]);
    // Browsers' push subscriptions: REST registers and removes them, NotifyFunction reads them
    // and removes gone ones; sockets never touch them.
    let push_only = pairs(&[("PutItem", "push_subscriptions"), ("Query", "push_subscriptions"), ("DeleteItem", "push_subscriptions")]);
    let functions = [
        "ConnectFunction",
        "DisconnectFunction",
        "MessageFunction",
        "ApiFunction",
        "IndexerFunction",
        "FanoutFunction",
        "SweeperFunction",
        "NotifyFunction",
        "MailFunction",
    ];
    for (action, field) in dynamodb_calls() {
        let table = table_of(&field);
        let call = (action.clone(), field.clone());
        let anyone = functions.iter().any(|f| granted(&doc, f, &table).contains(&action));
        assert!(anyone, "no function may call {action} on {table}");
        if !connect_only.contains(&call)
            && !search_only.contains(&call)
            && !indexer_only.contains(&call)
            && !sweeper_only.contains(&call)
            && !push_only.contains(&call)
        {
            assert!(
                granted(&doc, "MessageFunction", &table).contains(&action),
                "MessageFunction calls {action} on {table} but is not granted it"
            );
        }
        if !connect_only.contains(&call) && !indexer_only.contains(&call) && !socket_only.contains(&call) && !sweeper_only.contains(&call) {
            assert!(granted(&doc, "ApiFunction", &table).contains(&action), "ApiFunction calls {action} on {table} but is not granted it");
        }
    }
    assert_eq!(granted(&doc, "IndexerFunction", "SearchTable"), ["BatchWriteItem".to_string()].into_iter().collect());
    // NotifyFunction: its VAPID parameter, Query and DeleteItem on the subscriptions, nothing else.
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    assert_eq!(granted(&doc, "NotifyFunction", "PushSubscriptionsTable"), set(&["Query", "DeleteItem"]));
    let statements = doc["Resources"]["NotifyFunction"]["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
    let actions: BTreeSet<String> =
        statements.iter().flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string())).collect();
    assert_eq!(actions, set(&["ssm:GetParameter", "dynamodb:Query", "dynamodb:DeleteItem"]));
    let ssm = statements.iter().find(|s| s["Action"][0] == "ssm:GetParameter").unwrap();
    assert!(ssm["Resource"]["Fn::Sub"].as_str().unwrap().ends_with("parameter${VapidParameterName}"), "{ssm}");
    // Only REST and the message function publish pushes; only NotifyFunction is subscribed.
    for f in ["MessageFunction", "ApiFunction"] {
        let st = doc["Resources"][f]["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
        assert!(st.iter().any(|s| s["Action"][0] == "sns:Publish" && s["Resource"]["Ref"] == "PushTopic"), "{f} publishes to PushTopic");
    }
    let subscribed: Vec<String> =
        spec().sns_sources.into_iter().filter(|s| s.topic_logical_id == "PushTopic").map(|s| s.function).collect();
    assert_eq!(subscribed, ["NotifyFunction"]);
}

/// `docs/openapi.yaml`, the `api` function's routes and the template's HTTP API routes are the
/// same set, and every route of the HTTP API goes to the `api` function.
#[test]
fn the_openapi_document_the_function_and_the_template_have_the_same_routes() {
    let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(repo_root().join("docs/openapi.yaml")).unwrap()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if let Some(op) = item.get(method) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
                assert!(op["operationId"].is_string(), "{method} {path}: operationId");
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: responses");
            }
        }
    }
    let served: BTreeSet<String> = chat::rest::ROUTES.iter().map(|r| r.to_string()).collect();
    let http = spec().http_api.expect("the template has an HTTP API");
    let declared: BTreeSet<String> = http.routes.keys().cloned().collect();
    assert_eq!(documented, served, "docs/openapi.yaml vs chat::rest::ROUTES");
    assert_eq!(declared, served, "infra/template.yaml vs chat::rest::ROUTES");
    assert!(http.routes.values().all(|f| f == "ApiFunction"));
    assert_eq!(http.payload_format_version, "2.0");
    assert!(http.cors.is_some() && http.throttle.is_some(), "CORS and throttling are configured");
}

/// The README's Repository table names every function crate and every top-level folder of the
/// repository (drift a reader would trip over).
#[test]
fn the_readme_names_every_function_and_folder() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let table = readme.split("## Repository").nth(1).expect("a Repository section");
    for f in std::fs::read_dir(repo_root().join("functions")).unwrap().flatten() {
        let name = format!("`functions/{}`", f.file_name().to_string_lossy());
        assert!(table.contains(&name), "README's Repository table does not name {name}");
    }
    for dir in ["shared", "local", "tools", "infra", "events", "tests", "web", "docs", "bench", "scripts"] {
        assert!(
            table.contains(&format!("`{dir}/")) || table.contains(&format!("`{dir}`")),
            "README's Repository table does not name {dir}/"
        );
    }
}

/// No function, queue or table ships unwatched, and no asynchronous work is dropped silently:
/// every function has an Errors and a Throttles alarm, every queue an alarm on its depth, every
/// table one on throttled reads and writes; every function invoked asynchronously (SNS, schedule)
/// has a dead-letter queue, every stream source bisects, retries a bounded number of times and
/// sends what fails to a queue; every alarm notifies AlarmTopic and names a section of
/// docs/RUNBOOK.md that exists.
#[test]
fn every_function_queue_and_table_is_watched_and_no_async_work_is_dropped() {
    use serde_json::Value;
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let doc = chat_tests::chat_dev::template::template_json(&text).unwrap();
    let resources = doc["Resources"].as_object().unwrap();
    let of_type = |ty: &str| -> Vec<String> { resources.iter().filter(|(_, r)| r["Type"] == ty).map(|(k, _)| k.clone()).collect() };
    let alarms: Vec<&Value> = resources.values().filter(|r| r["Type"] == "AWS::CloudWatch::Alarm").map(|r| &r["Properties"]).collect();
    // Every metric an alarm reads (a plain alarm's, or each of a metric-math alarm's), with the
    // resource its dimension names (Ref or GetAtt).
    let watched = |namespace: &str, metric: &str| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for a in &alarms {
            let mut metrics: Vec<Value> = vec![json_metric(a)];
            for m in a["Metrics"].as_array().into_iter().flatten() {
                metrics.push(m["MetricStat"]["Metric"].clone());
            }
            for m in metrics.iter().filter(|m| m["Namespace"] == namespace && m["MetricName"] == metric) {
                for d in m["Dimensions"].as_array().into_iter().flatten() {
                    let v = &d["Value"];
                    if let Some(r) = v["Ref"].as_str().or_else(|| v["Fn::GetAtt"][0].as_str()) {
                        out.insert(r.to_string());
                    }
                }
            }
        }
        out
    };
    fn json_metric(a: &Value) -> Value {
        serde_json::json!({ "Namespace": a["Namespace"], "MetricName": a["MetricName"], "Dimensions": a["Dimensions"] })
    }
    let functions: BTreeSet<String> = of_type("AWS::Serverless::Function").into_iter().collect();
    assert!(functions.len() >= 8);
    assert_eq!(watched("AWS/Lambda", "Errors"), functions, "an Errors alarm per function");
    assert_eq!(watched("AWS/Lambda", "Throttles"), functions, "a Throttles alarm per function");
    let queues: BTreeSet<String> = of_type("AWS::SQS::Queue").into_iter().collect();
    assert_eq!(watched("AWS/SQS", "ApproximateNumberOfMessagesVisible"), queues, "a depth alarm per queue");
    let tables: BTreeSet<String> = of_type("AWS::DynamoDB::Table").into_iter().collect();
    assert_eq!(watched("AWS/DynamoDB", "ReadThrottleEvents"), tables, "a throttle alarm per table (reads)");
    assert_eq!(watched("AWS/DynamoDB", "WriteThrottleEvents"), tables, "a throttle alarm per table (writes)");
    let streams: Vec<&String> = functions
        .iter()
        .filter(|f| resources[*f]["Properties"]["Events"].as_object().is_some_and(|e| e.values().any(|e| e["Type"] == "DynamoDB")))
        .collect();
    assert_eq!(watched("AWS/Lambda", "IteratorAge").iter().collect::<Vec<_>>(), streams, "stream consumers' lag is watched");

    for f in &functions {
        let p = &resources[f]["Properties"];
        for (name, e) in p["Events"].as_object().into_iter().flatten() {
            match e["Type"].as_str().unwrap_or_default() {
                "SNS" | "Schedule" => {
                    let q = p["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0].as_str();
                    assert!(
                        p["DeadLetterQueue"]["Type"] == "SQS" && q.is_some_and(|q| queues.contains(q)),
                        "{f}: {name} is asynchronous: a DeadLetterQueue"
                    );
                }
                "DynamoDB" => {
                    let s = &e["Properties"];
                    assert_eq!(s["BisectBatchOnFunctionError"], true, "{f}.{name}");
                    assert!(s["MaximumRetryAttempts"].as_i64().is_some_and(|n| (0..=100).contains(&n)), "{f}.{name}: bounded retries");
                    let q = s["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0].as_str();
                    assert!(q.is_some_and(|q| queues.contains(q)), "{f}.{name}: failed records go to a queue");
                }
                _ => {}
            }
        }
    }
    for q in &queues {
        let p = &resources[q]["Properties"];
        assert_eq!(
            (p["MessageRetentionPeriod"].as_i64(), p["SqsManagedSseEnabled"].as_bool()),
            (Some(1_209_600), Some(true)),
            "{q}: 14 days, encrypted"
        );
    }
    let runbook = std::fs::read_to_string(repo_root().join("docs/RUNBOOK.md")).unwrap();
    for a in &alarms {
        assert_eq!(a["AlarmActions"][0]["Ref"], "AlarmTopic", "{a}");
        let d = a["AlarmDescription"].as_str().unwrap();
        let section = d.rsplit_once("Runbook: ").map(|(_, s)| s).unwrap_or_else(|| panic!("{d}: names its runbook section"));
        assert!(runbook.contains(&format!("<a id=\"{section}\"></a>")), "docs/RUNBOOK.md has the section {section}");
    }
}

/// The e-mail follow-up (shared/src/mail): the senders publish to MailTopic, only MailFunction is
/// subscribed, and it may send from the one identity through the stack's configuration set and
/// read what an e-mail needs — nothing else.
#[test]
fn the_mail_function_sends_from_the_one_identity_only() {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let t = Template::parse(&text, &LocalContext::default()).unwrap();
    let doc = serde_json::json!({ "Resources": t.resources });
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    let statements = doc["Resources"]["MailFunction"]["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
    let actions: BTreeSet<String> =
        statements.iter().flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string())).collect();
    assert_eq!(actions, set(&["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "ses:SendEmail"]));
    let ses = statements.iter().find(|s| s["Action"][0] == "ses:SendEmail").unwrap();
    let resources: Vec<&str> = ses["Resource"].as_array().unwrap().iter().map(|r| r["Fn::Sub"].as_str().unwrap()).collect();
    assert_eq!(resources.len(), 2, "{ses}");
    assert!(
        resources[0].ends_with(":identity/${EmailSender}") && resources[1].ends_with(":configuration-set/${MailConfigurationSet}"),
        "{resources:?}"
    );
    assert_eq!(granted(&doc, "MailFunction", "SupportTable"), set(&["GetItem", "UpdateItem"]));
    assert_eq!(granted(&doc, "MailFunction", "MessagesTable"), set(&["Query"]));
    for f in ["MessageFunction", "ApiFunction"] {
        let st = doc["Resources"][f]["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
        assert!(st.iter().any(|s| s["Action"][0] == "sns:Publish" && s["Resource"]["Ref"] == "MailTopic"), "{f} publishes to MailTopic");
    }
    let subscribed: Vec<String> =
        spec().sns_sources.into_iter().filter(|s| s.topic_logical_id == "MailTopic").map(|s| s.function).collect();
    assert_eq!(subscribed, ["MailFunction"]);
    let env = &spec().functions["MailFunction"].environment;
    assert_eq!(env["EMAIL_INTERVAL_SECONDS"], "900");
    assert!(env.contains_key("EMAIL_SENDER") && env.contains_key("EMAIL_CONFIGURATION_SET"));
}
