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

/// Every action has at least one example in the document (and each parses, above): a document
/// whose examples vanished would pass that test without this one.
#[test]
fn every_client_action_has_an_example() {
    let d = doc();
    for m in d["components"]["messages"].as_object().unwrap().values() {
        if m["payload"]["properties"]["action"]["const"].is_null() {
            continue;
        }
        assert!(m["examples"].as_array().is_some_and(|e| !e.is_empty()), "{} has no example", m["name"]);
    }
}

/// The typing rule's numbers are the protocol's constants in the SDK's defaults, the README and
/// the AsyncAPI document.
#[test]
fn the_typing_rule_is_stated_the_same_everywhere() {
    use chat::protocol::{TYPING_EXPIRY_MS, TYPING_INTERVAL_MS, TYPING_REPEAT_MS};
    let read = |p: &str| std::fs::read_to_string(chat_tests::repo_root().join(p)).unwrap();
    let secs = |ms: u64| format!("{}", ms as f64 / 1000.0);
    let js = |ms: u64| format!("{}_{:03}", ms / 1000, ms % 1000);
    let sdk = read("web/sdk/chat.js");
    for (key, ms) in [("typingInterval", TYPING_REPEAT_MS), ("typingExpiry", TYPING_EXPIRY_MS)] {
        assert!(sdk.contains(&format!("{key}: {},", js(ms))), "web/sdk/chat.js: {key} is not {ms} ms");
    }
    let readme = read("README.md");
    let asyncapi = read("docs/asyncapi.yaml");
    for (what, text) in [("README.md", &readme), ("docs/asyncapi.yaml", &asyncapi)] {
        let flat = text.replace("**", "").split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("every {} s", secs(TYPING_REPEAT_MS))), "{what}: the repeat interval");
        assert!(
            flat.contains(&format!("{} s after its last", secs(TYPING_EXPIRY_MS)))
                || flat.contains(&format!("within {} s of its last", secs(TYPING_EXPIRY_MS))),
            "{what}: the expiry"
        );
        assert!(
            flat.contains(&format!("every {} s", secs(TYPING_INTERVAL_MS)))
                || flat.contains(&format!("per {} s", secs(TYPING_INTERVAL_MS))),
            "{what}: the throttle"
        );
    }
}

/// The SDK's list of the server's error codes (`web/sdk/codes.js`) is the server's.
#[test]
fn the_sdk_knows_exactly_the_servers_error_codes() {
    let js = std::fs::read_to_string(chat_tests::repo_root().join("web/sdk/codes.js")).unwrap();
    let block = js
        .split("export const SERVER_CODES = Object.freeze({")
        .nth(1)
        .and_then(|b| b.split("});").next())
        .expect("SERVER_CODES in web/sdk/codes.js");
    let listed: BTreeSet<String> = block
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| {
            let v = v.trim().trim_end_matches(',').trim_matches('\'');
            assert_eq!(k.trim(), v, "SERVER_CODES.{k} is spelled as its value");
            v.to_string()
        })
        .collect();
    let code: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(listed, code);
}
