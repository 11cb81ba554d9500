//! The first README command, as a newcomer runs it: the `chat-dev` binary starts the emulators,
//! the gateway and the functions, prints a `ws://` line, answers a `ping` from the real `message`
//! binary, and on Ctrl-C (SIGINT) stops every process it started and stops listening.

use chat_tests::{bin_dir, mint_token, repo_root, Client};
use serde_json::json;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fields of `/proc/<pid>/stat` after `pid (comm)`: state, ppid, ... (comm may hold spaces,
/// so they start after the last ')').
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(')')?.1.split_whitespace().map(str::to_string).collect())
}

/// Every process below `pid` (children, their children, ...), from /proc.
fn descendants(pid: u32) -> BTreeSet<u32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
            parent_of.push((p, ppid));
        }
    }
    let mut out = BTreeSet::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, parent) in &parent_of {
            if parent == p && out.insert(child) {
                frontier.push(child);
            }
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_dev_prints_a_ws_url_that_answers_and_ctrl_c_stops_everything() {
    let state = std::env::temp_dir().join(format!("chat-dev-test-{}", std::process::id()));
    let mut child = Command::new(bin_dir().join("chat-dev"))
        .args(["--port", "0", "--state-dir"])
        .arg(&state)
        .args(["--tools-dir"])
        .arg(repo_root().join(".local/tools"))
        .args(["--bin-dir"])
        .arg(bin_dir())
        .current_dir(repo_root())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chat-dev runs (cargo build --workspace --bins)");
    let pid = child.id();

    // Read stdout until the ws:// line; keep draining it afterwards so chat-dev never blocks.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut printed = Vec::new();
    let ws_url = loop {
        match rx.recv_timeout(Duration::from_secs(60).saturating_sub(started.elapsed())) {
            Ok(line) if line.starts_with("ws://") => break line,
            Ok(line) => printed.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!("no ws:// line from chat-dev ({e}); it printed:\n{}", printed.join("\n"));
            }
        }
    };
    assert!(ws_url.ends_with("/local"), "{ws_url}");

    // A development token signed with the secret `chatctl token` uses, over a real socket.
    let secret = std::fs::read_to_string(state.join("dev-secret")).unwrap();
    let token = mint_token(secret.trim(), "alice", Some("Alice"), "user", 600);
    let mut c = Client::connect(&format!("{ws_url}?token={token}"), &[]).await.expect("connects");
    assert_eq!(c.request(json!({"action": "ping"})).await["type"], "pong");
    c.close(1000, "bye").await;

    // The REST API's base URL, on its own line right after the ws:// one, and it answers.
    let api_url = rx.recv_timeout(Duration::from_secs(5)).expect("the line after the ws:// one");
    assert_eq!(api_url, format!("{}/api", ws_url.replace("ws://", "http://").trim_end_matches("/local")));
    let chats = chat_tests::rest("GET", &format!("{api_url}/chats"), Some(&token), None).await;
    assert_eq!((chats.status, chats.json()["rooms"].as_array().map(Vec::len)), (200, Some(0)), "{}", chats.body);

    // The one-line snippet for a site's pages, with this stack's URLs, and widget.js it names.
    let http = ws_url.replace("ws://", "http://").trim_end_matches("/local").to_string();
    let snippet = format!("  <script src=\"{http}/widget.js\" data-chat-url=\"{api_url}\" async></script>");
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the snippet line") != snippet {}
    let (status, body) = chat_tests::http_get(&format!("{http}/widget.js")).await;
    assert!(status == 200 && body.len() > 1000, "widget.js: {status}");

    // What it started: the emulators and the function instances.
    let started_procs = descendants(pid);
    let names: Vec<String> = started_procs
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/cmdline")).ok())
        .map(|c| c.replace('\0', " "))
        .collect();
    for expected in ["DynamoDBLocal.jar", "moto_server", "debug/connect", "debug/message"] {
        assert!(names.iter().any(|n| n.contains(expected)), "{expected} among {names:#?}");
    }
    let addr = ws_url.trim_start_matches("ws://").trim_end_matches("/local").to_string();

    // Ctrl-C.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "chat-dev still running 20 s after SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chat-dev exited with {status}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while started_procs.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left: Vec<u32> = started_procs.iter().copied().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "still running after Ctrl-C: {left:?}");
    assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still listening after Ctrl-C");
    let _ = std::fs::remove_dir_all(&state);
}
