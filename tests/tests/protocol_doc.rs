//! `docs/asyncapi.yaml` describes every frame the code defines, and nothing else.

use chat::cmd::CLIENT_ACTIONS;
use chat::error::ErrorCode;
use chat::protocol::SERVER_TYPES;
use serde_json::Value;
use std::collections::BTreeSet;

fn doc() -> Value {
    let text = std::fs::read_to_string(chat_tests::repo_root().join("docs/asyncapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// (wire name, the `action` or `type` const of its payload) of every message in the document.
fn messages(doc: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    doc["components"]["messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| {
            let props = &m["payload"]["properties"];
            (
                m["name"].as_str().unwrap().to_string(),
                props["action"]["const"].as_str().map(str::to_string),
                props["type"]["const"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn every_client_action_and_server_type_is_documented_and_nothing_else() {
    let d = doc();
    assert_eq!(d["asyncapi"], "3.0.0");
    let msgs = messages(&d);
    let actions: BTreeSet<String> = msgs.iter().filter_map(|(name, action, _)| action.clone().inspect(|a| assert_eq!(a, name))).collect();
    let types: BTreeSet<String> = msgs.iter().filter_map(|(name, _, ty)| ty.clone().inspect(|t| assert_eq!(t, name))).collect();
    assert_eq!(actions, CLIENT_ACTIONS.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(), "client actions");
    assert_eq!(types, SERVER_TYPES.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(), "server frame types");
}

#[test]
fn every_error_code_is_documented() {
    let d = doc();
    let documented: BTreeSet<String> =
        d["components"]["schemas"]["ErrorCode"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let code: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(documented, code);
    // as_str agrees with serde
    for c in ErrorCode::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), Value::String(c.as_str().to_string()));
    }
}

#[test]
fn documented_client_examples_parse_as_the_code_parses_them() {
    let d = doc();
    for m in d["components"]["messages"].as_object().unwrap().values() {
        if m["payload"]["properties"]["action"]["const"].is_null() {
            continue;
        }
        for ex in m["examples"].as_array().into_iter().flatten() {
            let frame = ex["payload"].to_string();
            chat::cmd::parse(&frame).unwrap_or_else(|e| panic!("{} example {frame}: {e}", m["name"]));
        }
    }
}
