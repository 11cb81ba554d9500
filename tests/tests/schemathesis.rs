//! schemathesis (property-based, from `docs/openapi.yaml`) against the real REST API: no 5xx, no
//! response outside the documented statuses, content types and schemas, and invalid requests
//! refused — as a user, as the site's service token and as an admin of the support team. Configuration: `tests/schemathesis.toml`.

use chat_tests::{repo_root, rest, TestStack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_response_outside_the_schema() {
    let st = repo_root().join(".local/tools/st/bin/st");
    assert!(st.exists(), "schemathesis is not installed: run scripts/install-tools.sh all (make test does)");
    let s = TestStack::chat().await;
    let service = s.token("shop", Some("Shop"), "service");
    let alice = s.token("alice", Some("Alice"), "user");
    // A room with some history, so room routes answer with data.
    let r = rest(
        "PUT",
        &format!("{}/contexts/order:st-1/chat", s.api()),
        Some(&service),
        Some(&json!({"title": "Order 1", "status": "paid", "members": [{"userId": "alice", "name": "Alice"}, {"userId": "bob"}]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let room = r.json()["roomId"].as_str().unwrap().to_string();
    for (i, token) in [&service, &alice, &alice].iter().enumerate() {
        let m = rest(
            "POST",
            &format!("{}/chats/{room}/messages", s.api()),
            Some(token),
            Some(&json!({"clientId": format!("seed-{i}"), "content": format!("seed message {i} about the parcel")})),
        )
        .await;
        assert_eq!(m.status, 201, "{}", m.body);
    }
    // An admin: the support team's routes (saved replies, reports, sessions) with their data.
    let admin = s.token("ada", Some("Ada"), "admin");
    for (who, token) in [("user", &alice), ("service", &service), ("admin", &admin)] {
        let out = tokio::process::Command::new(&st)
            .arg("--config-file")
            .arg(repo_root().join("tests/schemathesis.toml"))
            .arg("run")
            .arg(repo_root().join("docs/openapi.yaml"))
            .arg("--url")
            .arg(s.api())
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"))
            // One worker: hypothesis' lambda introspection is not thread-safe ("AST constructor
            // recursion depth mismatch" with several workers).
            .arg("--workers")
            .arg("1")
            .env("CHAT_ROOM_ID", &room)
            .env("SCHEMATHESIS_HOOKS", repo_root().join("tests/schemathesis_hooks.py"))
            .env("NO_COLOR", "1")
            .current_dir(std::env::temp_dir())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run schemathesis");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "schemathesis as {who} found problems:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(report.contains(&format!("Tested: {}", chat::rest::ROUTES.len())), "every operation is tested:\n{report}");
    }
}
