//! The canary (`chatctl smoke`, what an operator runs after `make deploy`) passes against the local
//! stack: chat both ways, history over REST, a file up and down, a support session to its rating;
//! it prints every step's time and fails loudly when a step fails.

use chat_tests::{bin_dir, TestStack};
use serde_json::Value;

async fn smoke(args: &[&str]) -> (bool, Value) {
    let out = tokio::process::Command::new(bin_dir().join("chatctl"))
        .arg("smoke")
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run chatctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON line, not {stdout:?} ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_passes_against_the_local_stack_and_fails_when_a_step_fails() {
    let s = TestStack::chat().await;
    let (ws, api) = (s.ws_url(), s.api());
    let (ok, report) = smoke(&[&ws, &api, "--secret", &s.secret]).await;
    assert!(ok, "{report}\n{}", s.logs());
    println!("{report}");
    let steps: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|st| st["step"].as_str().unwrap()).collect();
    for step in
        ["connect", "message.new delivered", "GET /chats/{id}/messages", "PUT upload", "GET download", "support.start", "session.rate"]
    {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
    assert!(report["steps"].as_array().unwrap().iter().all(|st| st["ms"].as_f64().is_some_and(|ms| ms >= 0.0)));
    // The product's metrics: each function printed its Embedded Metric Format lines (the
    // message function one per frame, with its action; the indexer its lag).
    let emf = |function: &str, key: &str| -> Vec<Value> {
        let prefix = format!("[{function}] ");
        s.logs()
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Chat" && v[key].is_number())
            .collect()
    };
    assert!(emf("MessageFunction", "FrameMs").iter().any(|v| v["Action"] == "message.send" && v["Frames"] == 1.0), "{}", s.logs());
    assert!(emf("MessageFunction", "SendPosts").iter().any(|v| v["SendRecipients"].as_f64() >= Some(1.0)), "per-send fan-out metrics");
    let queue = ["MessageFunction", "FanoutFunction"].iter().flat_map(|f| emf(f, "QueueLength")).count();
    assert!(queue > 0, "queue metrics at support changes");
    chat_tests::eventually("the indexer's metrics", || async { (!emf("IndexerFunction", "IndexLagMs").is_empty()).then_some(()) }).await;
    // A wrong secret: the first step fails, named, and the exit status says so.
    let (ok, report) = smoke(&[&ws, &api, "--secret", "not-the-secret"]).await;
    assert!(!ok, "{report}");
    assert_eq!((report["ok"].as_bool(), report["failed"].as_str()), (Some(false), Some("connect")), "{report}");
}
