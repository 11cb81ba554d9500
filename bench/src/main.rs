//! `chat-bench`: what each action costs, measured, not guessed.
//!
//! Part 1 runs the chat rules exactly as the message function does (`cmd::handle`) against
//! DynamoDB Local, counting capacity from `ReturnConsumedCapacity` and @connections posts, for a
//! 50-member room whose members are all connected, and history pages in a room of 50,000 messages.
//! Part 2 measures the REST routes (`chat::rest::handle`, as the `api` function runs them), the
//! indexer's writes per message, and search for a user in 100 rooms of 10,000 messages each.
//! Part 3 measures the dev gateway: cold start of a function binary (spawn → first `next` poll) and
//! the warm invocation overhead of the Runtime API path.
//!
//! ```text
//! cargo run --release -p chat-bench -- [--members 50] [--big-room 500,1000] [--messages 50000] [--sends 50]
//!     [--search-rooms 100] [--search-messages 10000]
//! ```

use async_trait::async_trait;
use chat::app::{App, ChatConfig};
use chat::clock::{Clock, SystemClock};
use chat::config::Tables;
use chat::model::{ConnectionRecord, Role};
use chat::notify::{Notifier, PostError};
use chat::store::dynamodb::{Capacity, CapacityMeter, DynamoStore};
use chat_dev::log::LogSink;
use chat_dev::services::EmbeddedServices;
use chat_dev::template::{LocalContext, StackSpec, Template};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts posts; remembers the last frame sent to each connection.
#[derive(Default)]
struct CountingNotifier {
    posts: AtomicU64,
    bytes: AtomicU64,
    last: Mutex<std::collections::HashMap<String, String>>,
}

#[async_trait]
impl Notifier for CountingNotifier {
    async fn post(&self, connection_id: &str, data: &str) -> Result<(), PostError> {
        self.posts.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        self.last.lock().unwrap().insert(connection_id.to_string(), data.to_string());
        Ok(())
    }
    async fn close(&self, _: &str) -> Result<(), PostError> {
        Ok(())
    }
}

struct Args {
    members: usize,
    big_rooms: Vec<usize>,
    messages: u64,
    sends: usize,
    search_rooms: usize,
    search_messages: u64,
}

fn args() -> Args {
    let mut a = Args { members: 50, big_rooms: vec![500, 1000], messages: 50_000, sends: 50, search_rooms: 100, search_messages: 10_000 };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let raw = it.next().unwrap_or_else(|| panic!("{f} takes a value"));
        if f == "--big-room" {
            a.big_rooms = raw.split(',').map(|n| n.trim().parse().unwrap_or_else(|_| panic!("--big-room takes sizes: 500,1000"))).collect();
            continue;
        }
        let v: u64 = raw.parse().unwrap_or_else(|_| panic!("{f} takes a number"));
        match f.as_str() {
            "--members" => a.members = v as usize,
            "--messages" => a.messages = v,
            "--sends" => a.sends = v as usize,
            "--search-rooms" => a.search_rooms = v as usize,
            "--search-messages" => a.search_messages = v,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

struct Row {
    action: String,
    read: f64,
    write: f64,
    /// What AWS bills: DynamoDB Local reports 4 units per transactional item of up to 1 KB, AWS
    /// bills 2 (prepare + commit).
    write_billed: f64,
    calls: f64,
    posts: f64,
    ms: f64,
}

async fn measure(meter: &CapacityMeter, notifier: &CountingNotifier, action: &str, n: usize, mut run: impl AsyncFnMut(usize)) -> Row {
    meter.reset();
    notifier.posts.store(0, Ordering::Relaxed);
    let started = Instant::now();
    for i in 0..n {
        run(i).await;
    }
    let elapsed = started.elapsed();
    let Capacity { read_units, write_units, transactional_write_units, calls } = meter.snapshot();
    let nf = n as f64;
    Row {
        action: action.to_string(),
        read: read_units / nf,
        write: write_units / nf,
        write_billed: (write_units - transactional_write_units / 2.0) / nf,
        calls: calls as f64 / nf,
        posts: notifier.posts.load(Ordering::Relaxed) as f64 / nf,
        ms: elapsed.as_secs_f64() * 1000.0 / nf,
    }
}

fn print_table(rows: &[Row]) {
    println!("| action | RCU | WCU reported | WCU billed on AWS | DynamoDB calls | @connections posts | ms (DynamoDB Local) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.action, r.read, r.write, r.write_billed, r.calls, r.posts, r.ms
        );
    }
    println!(
        "(RCU/WCU from ReturnConsumedCapacity on DynamoDB Local; it reports 4 WCU per transactional item up to 1 KB where AWS bills 2.)"
    );
}

/// A BatchWriteItem's put of an item given as (name, value) pairs.
fn put_request<const N: usize>(item: [(&str, aws_sdk_dynamodb::types::AttributeValue); N]) -> aws_sdk_dynamodb::types::WriteRequest {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let item = item.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().unwrap()).build()
}

/// Writes every request, 25 per BatchWriteItem, `concurrency` at once, retrying what DynamoDB
/// left unprocessed.
async fn batch_write_all(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<aws_sdk_dynamodb::types::WriteRequest>,
    concurrency: usize,
) {
    use futures_util::StreamExt;
    let chunks: Vec<_> = requests.chunks(25).map(|c| c.to_vec()).collect();
    futures_util::stream::iter(chunks)
        .for_each_concurrent(concurrency, |b| async move {
            let mut req = std::collections::HashMap::from([(table.to_string(), b)]);
            while !req.is_empty() {
                let out = ddb.batch_write_item().set_request_items(Some(req)).send().await.expect("seed");
                req = out.unprocessed_items.unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
            }
        })
        .await;
}

async fn seed_messages(ddb: &aws_sdk_dynamodb::Client, table: &str, room: &str, n: u64) {
    use aws_sdk_dynamodb::types::{AttributeValue as A, WriteRequest};
    let started = Instant::now();
    let requests: Vec<WriteRequest> = (1..=n)
        .map(|seq| {
            put_request([
                ("roomId", A::S(room.into())),
                ("seq", A::N(seq.to_string())),
                ("id", A::S(chat::ids::ulid(1_795_000_000_000 + seq))),
                ("senderId", A::S(format!("u{}", seq % 50))),
                ("senderName", A::S(format!("User {}", seq % 50))),
                ("kind", A::S("text".into())),
                ("content", A::S(format!("Seeded message number {seq}, about the length of a chat line."))),
                ("createdAt", A::N((1_795_000_000_000 + seq).to_string())),
            ])
        })
        .collect();
    batch_write_all(ddb, table, requests, 8).await;
    eprintln!("seeded {n} messages in {:.1}s", started.elapsed().as_secs_f64());
}

/// `n` users, `<user>i`, each with one live connection `<conn>i` (its row and its user's set;
/// rooms register them when they are created).
async fn connected_users(app: &App, user: &str, conn: &str, name: &str, n: usize) -> Vec<String> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let (u, c, label) = (format!("{user}{i}"), format!("{conn}{i}"), format!("{name} {i}"));
        let rec = ConnectionRecord {
            connection_id: c.clone(),
            user_id: u.clone(),
            name: Some(label.clone()),
            role: Role::User,
            connected_at: 0,
            expires_at: u64::MAX / 2,
        };
        app.store.put_connection(&rec).await.unwrap();
        app.store.attach_connection(&u, Some(&label), &c, 0).await.unwrap();
        users.push(u);
    }
    users
}

#[tokio::main]
async fn main() {
    let a = args();
    let log = LogSink::capture();
    eprintln!("starting DynamoDB Local and moto...");
    let services = EmbeddedServices::start(&root().join(".local/tools"), &log).await.expect("emulators (run scripts/install-tools.sh)");
    let aws = services.target("us-east-1");
    let ctx = LocalContext { stack_name: "bench".into(), ..LocalContext::default() };
    let template = Template::load(&root().join("infra/template.yaml"), &ctx).unwrap();
    let spec = StackSpec::from_template(&template, &ctx).unwrap();
    let clients = chat_dev::provision::Clients::new(&aws).await;
    chat_dev::provision::provision(&spec, &clients, Some("bench-secret")).await.unwrap();
    let env = &spec.functions["MessageFunction"].environment;
    let tables = Tables::from_lookup(|k| env.get(k).cloned()).expect("the template names every table");
    let store = DynamoStore::new(clients.dynamodb.clone(), tables.clone());
    let meter = store.meter();
    let notifier = Arc::new(CountingNotifier::default());
    // Push on, as deployed (the decision runs after every fan-out; batches are kept in memory).
    // The flood limits are lifted: the bench sends from few connections fast.
    let cfg = ChatConfig {
        max_group_size: a.members.max(a.big_rooms.iter().copied().max().unwrap_or(0)).max(2) as u32,
        max_sends_per_window: u32::MAX,
        frames_per_window: u64::MAX - 1,
        frames_before_close: u64::MAX - 1,
        pings_per_interval: u64::MAX - 1,
        pings_before_close: u64::MAX - 1,
        ..ChatConfig::default()
    };
    let app = App::new(Arc::new(store), notifier.clone(), Arc::new(SystemClock), cfg)
        .with_features(chat::handlers::features())
        .with_push(Arc::new(chat::push::MemoryPush::default()));

    // ---- 1. A room of N members, all connected.
    let users = connected_users(&app, "user", "conn", "User", a.members).await;
    let handle = |conn: &str, frame: Value| {
        let app = app.clone();
        let conn = conn.to_string();
        async move { chat::cmd::handle(&app, &conn, "bench", &frame.to_string()).await }
    };
    handle("conn0", json!({"action": "room.create", "type": "group", "name": "Bench", "members": users[1..]})).await;
    let last = notifier.last.lock().unwrap().get("conn0").cloned().unwrap();
    let room = serde_json::from_str::<Value>(&last).unwrap()["room"]["roomId"].as_str().unwrap().to_string();

    let mut rows = Vec::new();
    // Each send from another member (a member's first send in its 10 s window, the usual case),
    // then one member's burst (every send after the first in the same window).
    rows.push(measure(&meter, &notifier, &format!("message.send ({} members connected)", a.members), a.sends, async |i| {
        handle(&format!("conn{}", i % a.members), json!({"action": "message.send", "roomId": room, "clientId": format!("b{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})).await
    }).await);
    rows.push(measure(&meter, &notifier, "message.send, one member's burst (same 10 s window)", a.sends, async |i| {
        handle("conn0", json!({"action": "message.send", "roomId": room, "clientId": format!("burst{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})).await
    }).await);
    // The same send carrying one attachment (a 20 KB image uploaded beforehand): the server's
    // check (HeadObject) and copy to the room's prefix (CopyObject) on moto's S3.
    let bucket = "bench-attachmentsbucket";
    let files_app = app.clone().with_files(Arc::new(chat::files::s3::S3Files::from_client(clients.s3.clone(), bucket)));
    for i in 0..a.sends {
        let key = format!("uploads/{room}/up{i:04}/photo.png");
        // A PNG's header (it must start with its signature bytes) and 20 KB in all.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0".to_vec();
        png.resize(20_000, 7);
        clients.s3.put_object().bucket(bucket).key(&key).content_type("image/png").body(png.into()).send().await.unwrap();
    }
    rows.push(measure(&meter, &notifier, &format!("message.send with an attachment ({} members; + HeadObject + CopyObject)", a.members), a.sends, async |i| {
        let att = json!({"key": format!("uploads/{room}/up{i:04}/photo.png"), "name": "photo.png", "size": 20_000, "mimeType": "image/png"});
        chat::cmd::handle(&files_app, &format!("conn{}", (i + 7) % a.members), "bench", &json!({"action": "message.send", "roomId": room, "clientId": format!("att{i}"), "kind": "image", "attachments": [att]}).to_string()).await
    }).await);
    rows.push(measure(&meter, &notifier, "message.send, retried clientId", a.sends, async |i| {
        handle(&format!("conn{}", i % a.members), json!({"action": "message.send", "roomId": room, "clientId": format!("b{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})).await
    }).await);
    rows.push(
        measure(&meter, &notifier, "typing (first of 2 s)", a.sends.min(users.len() - 1), async |i| {
            handle(&format!("conn{}", i + 1), json!({"action": "typing", "roomId": room, "isTyping": true})).await
        })
        .await,
    );
    rows.push(
        measure(&meter, &notifier, "typing (throttled)", a.sends.min(users.len() - 1), async |i| {
            handle(&format!("conn{}", i + 1), json!({"action": "typing", "roomId": room, "isTyping": true})).await
        })
        .await,
    );
    rows.push(
        measure(&meter, &notifier, "read", a.sends.min(users.len() - 1), async |i| {
            handle(&format!("conn{}", i + 1), json!({"action": "read", "roomId": room, "seq": 10})).await
        })
        .await,
    );
    rows.push(
        measure(&meter, &notifier, "sync (1 room, 50 new messages)", 10, async |_| {
            handle("conn1", json!({"action": "sync", "rooms": {room.clone(): 0}})).await
        })
        .await,
    );
    rows.push(measure(&meter, &notifier, "ping", 20, async |_| handle("conn0", json!({"action": "ping"})).await).await);
    rows.push(measure(&meter, &notifier, "room.list (1 room)", 20, async |_| handle("conn1", json!({"action": "room.list"})).await).await);

    // The same in rooms of `--big-room` members (500 and 1,000 by default), all connected: the
    // push decision reads no member row when everyone is there.
    for &size in &a.big_rooms {
        let big = connected_users(&app, &format!("big{size}-"), &format!("bigconn{size}-"), "Big", size).await;
        let first = format!("bigconn{size}-0");
        handle(&first, json!({"action": "room.create", "type": "group", "name": "Big", "members": big[1..]})).await;
        let last = notifier.last.lock().unwrap().get(&first).cloned().unwrap();
        let big_group = serde_json::from_str::<Value>(&last).unwrap()["room"]["roomId"].as_str().unwrap().to_string();
        rows.push(measure(&meter, &notifier, &format!("message.send ({size} members connected)"), a.sends, async |i| {
            handle(&format!("bigconn{size}-{}", i % size), json!({"action": "message.send", "roomId": big_group, "clientId": format!("big{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})).await
        }).await);
        rows.push(
            measure(&meter, &notifier, &format!("typing ({size} members connected)"), 10, async |i| {
                handle(&format!("bigconn{size}-{}", i + 1), json!({"action": "typing", "roomId": big_group, "isTyping": true})).await
            })
            .await,
        );
        // One member offline: the decision reads the member rows and claims their push slot.
        let gone = format!("bigconn{size}-{}", size - 1);
        app.detach(&gone).await.unwrap();
        rows.push(measure(&meter, &notifier, &format!("message.send ({size} members, 1 offline: member rows read)"), a.sends, async |i| {
            handle(&format!("bigconn{size}-{}", i % (size - 1)), json!({"action": "message.send", "roomId": big_group, "clientId": format!("off{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})).await
        }).await);
    }

    // $connect and $disconnect for a user in 1, 20 and 200 rooms (each with a connected peer):
    // what ConnectFunction / DisconnectFunction do after the token check (presence is handed to
    // FanoutFunction), and what FanoutFunction then does for the announcement.
    let queue = Arc::new(chat::tasks::MemoryTasks::default());
    let queued_app = app.clone().with_tasks(queue.clone());
    for rooms in [1usize, 20, 200] {
        let user = format!("roamer{rooms}");
        for r in 0..rooms {
            let peer = format!("peer{rooms}-{r}");
            let pconn = format!("pconn{rooms}-{r}");
            app.store
                .put_connection(&ConnectionRecord {
                    connection_id: pconn.clone(),
                    user_id: peer.clone(),
                    name: None,
                    role: Role::User,
                    connected_at: 0,
                    expires_at: u64::MAX / 2,
                })
                .await
                .unwrap();
            app.attach(&peer, None, &pconn).await.unwrap();
            chat::cmd::handle(&app, &pconn, "bench", &json!({"action": "room.create", "type": "direct", "members": [user]}).to_string())
                .await;
        }
        let (mut on, mut off, mut presence) = (Vec::new(), Vec::new(), Vec::new());
        let snap = |t: Instant| (meter.snapshot(), notifier.posts.load(Ordering::Relaxed), t.elapsed());
        let reset = || {
            meter.reset();
            notifier.posts.store(0, Ordering::Relaxed);
            Instant::now()
        };
        for i in 0..5 {
            let conn = format!("roam{rooms}-{i}");
            let t = reset();
            let now = chat::clock::SystemClock.now_ms();
            queued_app
                .store
                .put_connection(&ConnectionRecord {
                    connection_id: conn.clone(),
                    user_id: user.clone(),
                    name: None,
                    role: Role::User,
                    connected_at: now,
                    expires_at: now / 1000 + 7800,
                })
                .await
                .unwrap();
            queued_app.attach(&user, None, &conn).await.unwrap();
            on.push(snap(t));
            for task in queue.take() {
                let t = reset();
                app.run_task(task).await;
                presence.push(snap(t));
            }
            let t = reset();
            queued_app.detach(&conn).await.unwrap();
            off.push(snap(t));
            queue.take();
        }
        for (label, v) in [
            ("$connect (ConnectFunction)", &on),
            ("presence announcement (FanoutFunction)", &presence),
            ("$disconnect (DisconnectFunction)", &off),
        ] {
            let n = v.len().max(1) as f64;
            let read = v.iter().map(|x| x.0.read_units).sum::<f64>() / n;
            let write = v.iter().map(|x| x.0.write_units).sum::<f64>() / n;
            let calls = v.iter().map(|x| x.0.calls as f64).sum::<f64>() / n;
            let posts = v.iter().map(|x| x.1 as f64).sum::<f64>() / n;
            let ms = v.iter().map(|x| x.2.as_secs_f64() * 1000.0).sum::<f64>() / n;
            rows.push(Row {
                action: format!("{label}, user in {rooms} rooms (co-members online)"),
                read,
                write,
                write_billed: write,
                calls,
                posts,
                ms,
            });
        }
    }

    // ---- 2. History pages in a big room.
    handle("conn0", json!({"action": "room.create", "type": "direct", "members": ["user1"]})).await;
    let last = notifier.last.lock().unwrap().get("conn0").cloned().unwrap();
    let big_room = serde_json::from_str::<Value>(&last).unwrap()["room"]["roomId"].as_str().unwrap().to_string();
    seed_messages(&clients.dynamodb, &tables.messages, &big_room, a.messages).await;
    clients
        .dynamodb
        .update_item()
        .table_name(&tables.rooms)
        .key("roomId", aws_sdk_dynamodb::types::AttributeValue::S(big_room.clone()))
        .update_expression("SET lastSeq = :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N(a.messages.to_string()))
        .send()
        .await
        .unwrap();
    for (label, before) in [("newest", None), ("middle", Some(a.messages / 2)), ("oldest", Some(51))] {
        let frame = match before {
            Some(b) => json!({"action": "history", "roomId": big_room, "limit": 50, "beforeSeq": b}),
            None => json!({"action": "history", "roomId": big_room, "limit": 50}),
        };
        rows.push(
            measure(&meter, &notifier, &format!("history, 50 per page, {label} page of {}", a.messages), 10, async |_| {
                handle("conn0", frame.clone()).await
            })
            .await,
        );
    }
    println!();
    print_table(&rows);

    let send = &rows[0];
    // On-demand prices, us-east-1 (2026): DynamoDB $0.625 per million write units, $0.125 per
    // million read units; API Gateway WebSocket $1.00 per million messages (each post and each
    // client frame is one message, per 32 KB); Lambda $0.20 per million requests.
    let ddb = send.write_billed * 0.625 + send.read * 0.125;
    let apigw = (send.posts + 1.0) * 1.00;
    let lambda_req = 0.20;
    println!();
    println!("Cost of 1 million message.send in a {}-member room with everyone connected (on-demand, us-east-1):", a.members);
    println!("  DynamoDB      ${ddb:>8.2}  ({:.1} WCU + {:.1} RCU per send)", send.write_billed, send.read);
    println!("  API Gateway   ${apigw:>8.2}  (1 inbound frame + {:.0} posts per send)", send.posts);
    println!("  Lambda        ${lambda_req:>8.2}  requests, plus duration (256 MB arm64: $3.33 per million seconds)");

    // ---- 3. REST routes, the indexer, search at scale.
    rest_figures(&a, &app, &meter, &notifier, &clients.dynamodb, &tables, &room, &big_room).await;

    // ---- 4. The support desk with a long queue.
    support_figures(&app, &meter, &notifier).await;
    mail_figures(&app, &meter, &notifier).await;

    // ---- 5. The gateway: cold start and warm overhead of the Runtime API path.
    let mut env = aws.function_env();
    env.insert("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI".into(), "http://127.0.0.1:9/local".into());
    gateway_figures(spec.functions["MessageFunction"].clone(), env).await;
    services.stop().await;
}

async fn gateway_figures(message_fn: chat_dev::template::FunctionSpec, aws_env: std::collections::BTreeMap<String, String>) {
    use chat_dev::lambda::{FunctionPool, LambdaSettings};
    use chat_dev::template::FunctionSpec;
    let bin_dir = root().join("target/debug");
    if !bin_dir.join("fixture-fn").exists() {
        println!("\n(gateway figures skipped: build target/debug/fixture-fn with `cargo build --workspace --bins`)");
        return;
    }
    let settings = LambdaSettings {
        bin_dir,
        max_concurrency: 1,
        max_queue: 10,
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        base_env: Default::default(),
        log: LogSink::capture(),
    };
    let spec = FunctionSpec {
        logical_id: "Fixture".into(),
        binary: "fixture-fn".into(),
        memory_mb: 128,
        timeout_secs: 10,
        environment: Default::default(),
        dead_letter_queue: None,
    };
    // A $connect event the fixture answers at once, without any I/O.
    let event = axum::body::Bytes::from(std::fs::read(root().join("events/connect.json")).unwrap());
    let mut colds = Vec::new();
    for _ in 0..10 {
        let pool = FunctionPool::new(spec.clone(), settings.clone(), &Default::default());
        let (r, report) = pool.invoke(event.clone()).await;
        r.expect("fixture answers");
        colds.push(report.init_duration.unwrap().as_secs_f64() * 1000.0);
        pool.shutdown();
    }
    // The real message function: SDK clients and configuration at init, as on Lambda.
    let mut message_colds = Vec::new();
    let real = LambdaSettings { base_env: aws_env, ..settings.clone() };
    let ping = axum::body::Bytes::from(std::fs::read(root().join("events/ping.json")).unwrap());
    for _ in 0..10 {
        let pool = FunctionPool::new(message_fn.clone(), real.clone(), &Default::default());
        let (r, report) = pool.invoke(ping.clone()).await;
        r.expect("message function answers");
        message_colds.push(report.init_duration.unwrap().as_secs_f64() * 1000.0);
        pool.shutdown();
    }
    let pool = FunctionPool::new(spec, settings, &Default::default());
    let _ = pool.invoke(event.clone()).await;
    let mut warm = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let (r, _) = pool.invoke(event.clone()).await;
        r.unwrap();
        warm.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    pool.shutdown();
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    let (cold_med, cold_p90) = med(&mut colds);
    let (warm_med, warm_p90) = med(&mut warm);
    let (msg_med, msg_p90) = med(&mut message_colds);
    println!();
    println!("Dev gateway (Lambda Runtime API path, debug binaries):");
    println!("  cold start, spawn -> first `next` poll, fixture function: median {cold_med:.1} ms, p90 {cold_p90:.1} ms (10 spawns)");
    println!("  cold start, spawn -> first `next` poll, message function: median {msg_med:.1} ms, p90 {msg_p90:.1} ms (10 spawns)");
    println!("  warm invocation overhead (no-op handler): median {warm_med:.2} ms, p90 {warm_p90:.2} ms (300 invocations)");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A payload 2.0 request as API Gateway hands it to the `api` function.
fn rest_request(
    method: &str,
    path: &str,
    route: &str,
    token: &str,
    query: &str,
    params: &[(&str, &str)],
    body: Option<Value>,
) -> lambda_http::Request {
    let mut e = json!({
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": query,
        "headers": {"authorization": format!("Bearer {token}"), "content-type": "application/json", "host": "bench.local"},
        "requestContext": {"accountId": "0", "apiId": "bench", "domainName": "bench.local", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": route, "stage": "$default", "time": "23/Nov/2026:12:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false,
    });
    if !params.is_empty() {
        e["pathParameters"] = params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>().into();
    }
    if let Some(b) = body {
        e["body"] = json!(b.to_string());
    }
    lambda_http::request::from_str(&e.to_string()).expect("a payload 2.0 event")
}

#[allow(clippy::too_many_arguments)]
async fn rest_figures(
    a: &Args,
    app: &App,
    meter: &CapacityMeter,
    notifier: &CountingNotifier,
    ddb: &aws_sdk_dynamodb::Client,
    tables: &Tables,
    room: &str,
    big_room: &str,
) {
    use chat::auth::{mint_hs256, AuthConfig, Claims, Verifier};
    let api = chat::rest::Api {
        app: app.clone(),
        verifier: Verifier::new(AuthConfig { hs256_secret: Some(b"bench-secret".to_vec()), ..Default::default() }),
        ws_url: "ws://bench/local".into(),
        issuer: None,
        audience: None,
        push_key: Default::default(),
        push_endpoints: Default::default(),
    };
    let token = |sub: &str, role: &str| {
        mint_hs256(
            b"bench-secret",
            &Claims {
                sub: sub.into(),
                name: Some(sub.into()),
                role: Some(role.into()),
                exp: 4_102_444_800,
                iat: None,
                iss: None,
                aud: None,
                nbf: None,
            },
        )
    };
    let (u0, site) = (token("user0", "user"), token("shop", "service"));
    // user0 in 20 more rooms, so the list has something to sort.
    for i in 0..20 {
        chat::cmd::handle(
            app,
            "conn0",
            "bench",
            &json!({"action": "room.create", "type": "direct", "members": [format!("pal{i}")]}).to_string(),
        )
        .await;
    }
    let call = |req: lambda_http::Request| {
        let api = &api;
        async move {
            let r = chat::rest::handle(api, req).await;
            assert!(r.status().is_success(), "{}: {:?}", r.status(), r.body());
        }
    };
    let mut rows = Vec::new();
    rows.push(
        measure(meter, notifier, "GET /chats?limit=20 (member of 22 rooms)", 20, async |_| {
            call(rest_request("GET", "/chats", "GET /chats", &u0, "limit=20", &[], None)).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, &format!("GET /chats/{{id}} ({} members)", a.members), 20, async |_| {
            call(rest_request("GET", "/chats/x", "GET /chats/{id}", &u0, "", &[("id", room)], None)).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, &format!("GET /chats/{{id}}/messages?limit=50 (room of {})", a.messages), 20, async |_| {
            call(rest_request("GET", "/chats/x/messages", "GET /chats/{id}/messages", &u0, "limit=50", &[("id", big_room)], None)).await
        })
        .await,
    );
    rows.push(measure(meter, notifier, &format!("POST /chats/{{id}}/messages ({} members connected)", a.members), a.sends, async |i| {
        call(rest_request("POST", "/chats/x/messages", "POST /chats/{id}/messages", &u0, "", &[("id", room)], Some(json!({"clientId": format!("rest{i}"), "content": "Hello everyone, this is a typical chat line of about eighty characters."})))).await
    }).await);
    rows.push(
        measure(meter, notifier, "POST /chats/{id}/archive", 10, async |_| {
            call(rest_request("POST", "/chats/x/archive", "POST /chats/{id}/archive", &u0, "", &[("id", room)], None)).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, "DELETE /chats/{id}/archive", 10, async |_| {
            call(rest_request("DELETE", "/chats/x/archive", "DELETE /chats/{id}/archive", &u0, "", &[("id", room)], None)).await
        })
        .await,
    );
    let body = json!({"title": "Order", "status": "paid", "members": [{"userId": "user0"}, {"userId": "user1"}]});
    // The same ten contexts twice: created, then found.
    for label in ["PUT /contexts/{contextId}/chat (new)", "PUT /contexts/{contextId}/chat (existing)"] {
        rows.push(
            measure(meter, notifier, label, 10, async |i| {
                let id = format!("order:{i}");
                let route = "PUT /contexts/{contextId}/chat";
                call(rest_request("PUT", "/contexts/x/chat", route, &site, "", &[("contextId", &id)], Some(body.clone()))).await
            })
            .await,
        );
    }

    // The indexer: what one typical chat line costs to index (a stream batch of 100 inserts).
    let records: Vec<Value> = (0..100)
        .map(|i| {
            json!({"eventID": format!("e{i}"), "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {"Keys": {"roomId": {"S": "ix"}, "seq": {"N": (i + 1).to_string()}}, "NewImage": {
                    "roomId": {"S": "ix"}, "seq": {"N": (i + 1).to_string()}, "id": {"S": chat::ids::ulid(1_795_000_000_000 + i)}, "senderId": {"S": "u"},
                    "kind": {"S": "text"}, "content": {"S": "Hello everyone, this is a typical chat line of about eighty characters."}, "createdAt": {"N": "1795000000000"}},
                    "SequenceNumber": format!("{}", 1000 + i), "SizeBytes": 200, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:0:table/ix/stream/x"})
        })
        .collect();
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(json!({ "Records": records })).unwrap();
    let terms = chat::search::text::index_terms("Hello everyone, this is a typical chat line of about eighty characters.").len();
    let mut ix = measure(meter, notifier, &format!("indexer, per message (a typical line: {terms} terms)"), 1, async |_| {
        chat::handlers::index(app, event.clone()).await.unwrap()
    })
    .await;
    for v in [&mut ix.read, &mut ix.write, &mut ix.write_billed, &mut ix.calls, &mut ix.ms] {
        *v /= 100.0;
    }
    rows.push(ix);

    // Search for a user in N rooms of M messages each: the index holds every posting of three
    // terms of different frequency ("order" in 30% of messages, "parcel" 5%, "refund" 1%), the
    // messages themselves the newest 100 per room (what a page can show).
    let (rooms_n, msgs) = (a.search_rooms, a.search_messages);
    let searcher = "searcher";
    let started = Instant::now();
    let mut room_ids = Vec::new();
    for r in 0..rooms_n {
        let id = format!("gr_search{r:03}");
        let rec = chat::model::RoomRecord::new(id.clone(), chat::protocol::RoomType::Group, searcher, 0, 1, 10);
        let m = chat::model::MemberRecord::new(
            &rec,
            &chat::protocol::UserRef { user_id: searcher.into(), name: None },
            chat::protocol::MemberRole::Owner,
            0,
        );
        app.store.create_room(&rec, &[m]).await.unwrap();
        room_ids.push(id);
    }
    let terms_of = |q: u64| -> Vec<&'static str> {
        let mut t = Vec::new();
        if q % 10 < 3 {
            t.push("order");
        }
        if q.is_multiple_of(20) {
            t.push("parcel");
        }
        if q.is_multiple_of(100) {
            t.push("refund");
        }
        t
    };
    let id_of = |r: usize, q: u64| chat::ids::ulid(1_790_000_000_000 + q * 1000 + r as u64);
    use aws_sdk_dynamodb::types::{AttributeValue as A, WriteRequest};
    let mut reqs: Vec<WriteRequest> = Vec::new();
    let mut messages: Vec<WriteRequest> = Vec::new();
    for (r, room_id) in room_ids.iter().enumerate() {
        for q in 1..=msgs {
            let t = terms_of(q);
            let stems: Vec<String> = t.iter().map(|w| chat::search::text::query_terms(w)[0].clone()).collect();
            let id = id_of(r, q);
            for stem in &stems {
                let item = [
                    ("roomTerm", A::S(format!("{room_id}#{stem}"))),
                    ("id", A::S(id.clone())),
                    ("seq", A::N(q.to_string())),
                    ("terms", A::Ss(stems.clone())),
                ];
                reqs.push(put_request(item));
            }
            if q > msgs.saturating_sub(100) {
                let content =
                    format!("Message {q} about {} and the delivery", if t.is_empty() { "nothing".to_string() } else { t.join(" ") });
                let item = [
                    ("roomId", A::S(room_id.clone())),
                    ("seq", A::N(q.to_string())),
                    ("id", A::S(id.clone())),
                    ("senderId", A::S("someone".into())),
                    ("kind", A::S("text".into())),
                    ("content", A::S(content)),
                    ("createdAt", A::N((1_790_000_000_000 + q * 1000 + r as u64).to_string())),
                ];
                messages.push(put_request(item));
            }
        }
    }
    let postings = reqs.len();
    for (table, batch) in [(&tables.search, reqs), (&tables.messages, messages)] {
        batch_write_all(ddb, table, batch, 16).await;
    }
    eprintln!("seeded {postings} postings for {rooms_n} rooms of {msgs} messages in {:.1}s", started.elapsed().as_secs_f64());
    let us = token(searcher, "user");
    for (label, q) in [
        ("a rare term (1%)", "refund"),
        ("a common term (30%)", "order"),
        ("two terms, AND", "parcel%20order"),
        ("a term in no message", "zebra"),
    ] {
        let query = format!("q={q}&limit=20");
        let row = measure(meter, notifier, &format!("GET /search, {label}, {rooms_n} rooms x {msgs} messages"), 5, async |_| {
            call(rest_request("GET", "/search", "GET /search", &us, &query, &[], None)).await
        })
        .await;
        rows.push(row);
    }
    let one = format!("q=order&limit=20&roomId={}", room_ids[0]);
    rows.push(
        measure(meter, notifier, &format!("GET /search?roomId=.. (one room of {msgs})"), 10, async |_| {
            call(rest_request("GET", "/search", "GET /search", &us, &one, &[], None)).await
        })
        .await,
    );
    println!();
    println!("REST routes (chat::rest::handle as the api function runs it), the indexer, search:");
    print_table(&rows);
}

/// Queue operations with `WAITING` sessions waiting and `OPERATORS` operators online: what the
/// message function does per action (queue broadcasts handed over as tasks), and what the fanout
/// function then does for one broadcast.
async fn support_figures(app: &App, meter: &CapacityMeter, notifier: &CountingNotifier) {
    const WAITING: usize = 1000;
    const OPERATORS: usize = 50;
    let tasks = Arc::new(chat::tasks::MemoryTasks::default());
    let app = app.clone().with_tasks(tasks.clone());
    let now = chat::clock::SystemClock.now_ms();
    let connect = async |id: String, role: Role| {
        let conn = format!("c-{id}");
        let rec = ConnectionRecord {
            connection_id: conn.clone(),
            user_id: id.clone(),
            name: Some(id.clone()),
            role,
            connected_at: now,
            expires_at: now / 1000 + 7800,
        };
        app.store.put_connection(&rec).await.unwrap();
        let came = app.attach(&id, Some(&id), &conn).await.unwrap();
        for f in &app.features {
            f.connected(&app, &rec, came).await.unwrap();
        }
        conn
    };
    eprintln!("support desk: {OPERATORS} operators online, {WAITING} visitors waiting...");
    let mut ops = Vec::new();
    for i in 0..OPERATORS {
        ops.push(connect(format!("op{i}"), Role::Operator).await);
    }
    let handle = |conn: String, frame: Value| {
        let app = app.clone();
        async move { chat::cmd::handle(&app, &conn, "bench", &frame.to_string()).await }
    };
    let mut visitors = Vec::new();
    for i in 0..WAITING + 50 {
        visitors.push(connect(format!("g{i}"), Role::Guest).await);
    }
    for v in &visitors[..WAITING] {
        handle(v.clone(), json!({"action": "support.start", "content": "Hello, I have a question about my order", "clientId": "first", "context": {"url": "https://shop.example.com/orders/1234"}})).await;
    }
    tasks.take();
    let sid_of = |conn: &str| -> String {
        let last = notifier.last.lock().unwrap().get(conn).cloned().unwrap_or_default();
        serde_json::from_str::<Value>(&last)
            .ok()
            .and_then(|v| {
                v["sessionId"].as_str().or(v["message"]["roomId"].as_str()).or(v["session"]["sessionId"].as_str()).map(str::to_string)
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    let n = 20;
    rows.push(measure(meter, notifier, &format!("support.start, new session ({WAITING} waiting, {OPERATORS} operators online), first message included"), n, async |i| {
        handle(visitors[WAITING + i].clone(), json!({"action": "support.start", "content": "Hello, I have a question about my order", "clientId": "first", "context": {"url": "https://shop.example.com/orders/1234"}})).await
    }).await);
    tasks.take();
    rows.push(
        measure(meter, notifier, "support.start, returning visitor (open session)", n, async |i| {
            handle(visitors[i].clone(), json!({"action": "support.start"})).await
        })
        .await,
    );
    tasks.take();
    rows.push(
        measure(meter, notifier, &format!("support.queue (operator reads {WAITING} waiting)"), n, async |i| {
            handle(ops[i % OPERATORS].clone(), json!({"action": "support.queue"})).await
        })
        .await,
    );
    let sessions: Vec<String> = visitors[..n].iter().map(|v| sid_of(v)).collect();
    rows.push(
        measure(meter, notifier, "session.accept (the winner)", n, async |i| {
            handle(ops[i % OPERATORS].clone(), json!({"action": "session.accept", "sessionId": sessions[i]})).await
        })
        .await,
    );
    let queued = tasks.take();
    rows.push(
        measure(meter, notifier, "session.accept (a loser: conflict)", n, async |i| {
            handle(ops[(i + 1) % OPERATORS].clone(), json!({"action": "session.accept", "sessionId": sessions[i]})).await
        })
        .await,
    );
    // The operators' tools: an internal note, the first reply (noted once per session for the
    // reports), a later reply, availability.
    rows.push(
        measure(meter, notifier, "message.send kind note (the session's operator; its own sequence)", n, async |i| {
            handle(ops[i % OPERATORS].clone(), json!({"action": "message.send", "roomId": sessions[i], "clientId": format!("note{i}"), "kind": "note", "content": "Refund approved by finance, ticket 4411"})).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, "message.send, the operator's first reply (+ first response noted, report rows)", n, async |i| {
            handle(ops[i % OPERATORS].clone(), json!({"action": "message.send", "roomId": sessions[i], "clientId": format!("reply{i}"), "content": "Hello! Let me check your order."})).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, "message.send, a later reply", n, async |i| {
            handle(
                ops[i % OPERATORS].clone(),
                json!({"action": "message.send", "roomId": sessions[i], "clientId": format!("again{i}"), "content": "It ships tomorrow."}),
            )
            .await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, "history {notes: true} (an operator of the team)", n, async |i| {
            handle(ops[(i + 3) % OPERATORS].clone(), json!({"action": "history", "roomId": sessions[i], "notes": true})).await
        })
        .await,
    );
    rows.push(
        measure(
            meter,
            notifier,
            &format!("operator.status away, then online ({OPERATORS} operators, {WAITING} waiting: + queue broadcast task)"),
            10,
            async |i| {
                let status = if i % 2 == 0 { "away" } else { "online" };
                handle(ops[0].clone(), json!({"action": "operator.status", "status": status})).await
            },
        )
        .await,
    );
    tasks.take();
    let broadcast = queued.into_iter().next().expect("a queue broadcast was handed over");
    rows.push(
        measure(
            meter,
            notifier,
            &format!("queue broadcast (FanoutFunction): {WAITING} positions + {OPERATORS} queue updates"),
            3,
            async |_| {
                app.run_task(broadcast.clone()).await;
            },
        )
        .await,
    );
    rows.push(
        measure(meter, notifier, "session.close (operator)", n, async |i| {
            handle(ops[i % OPERATORS].clone(), json!({"action": "session.close", "sessionId": sessions[i], "resolution": "Solved"})).await
        })
        .await,
    );
    rows.push(
        measure(meter, notifier, "session.rate (visitor)", n, async |i| {
            handle(visitors[i].clone(), json!({"action": "session.rate", "sessionId": sessions[i], "score": 5})).await
        })
        .await,
    );
    tasks.take();
    println!();
    println!("Support desk, {WAITING} sessions waiting, {OPERATORS} operators online:");
    print_table(&rows);
    report_figures(&app, meter, notifier, OPERATORS).await;
}

/// The e-mail follow-up: what an operator's reply to a visitor who is away adds to the send (the
/// MailTopic hand-over: no DynamoDB), and what the mail function reads and writes per e-mail (SES
/// itself is the memory double here: $0.10 per 1,000 e-mails on AWS).
async fn mail_figures(app: &App, meter: &CapacityMeter, notifier: &CountingNotifier) {
    let n = 20;
    let mail = Arc::new(chat::mail::MemoryMail::default());
    let app = app.clone().with_mail(mail.clone());
    let now = chat::clock::SystemClock.now_ms();
    let handle = |conn: String, frame: Value| {
        let app = app.clone();
        async move { chat::cmd::handle(&app, &conn, "bench", &frame.to_string()).await }
    };
    let connect = async |id: &str, role: Role| {
        let conn = format!("c-{id}");
        let rec = ConnectionRecord {
            connection_id: conn.clone(),
            user_id: id.to_string(),
            name: Some(id.to_string()),
            role,
            connected_at: now,
            expires_at: now / 1000 + 7800,
        };
        app.store.put_connection(&rec).await.unwrap();
        app.attach(id, Some(id), &conn).await.unwrap();
        conn
    };
    let op = connect("mail-op", Role::Operator).await;
    let mut sessions = Vec::new();
    for i in 0..n {
        let v = connect(&format!("mail-v{i}"), Role::Guest).await;
        let context = json!({"locale": "de", "attributes": {"email": format!("v{i}@example.org"), "transcript": "yes"}});
        handle(v.clone(), json!({"action": "support.start", "content": "Wo ist mein Paket?", "clientId": "first", "context": context}))
            .await;
        let last = notifier.last.lock().unwrap().get(&v).cloned().unwrap_or_default();
        let sid = serde_json::from_str::<Value>(&last)
            .ok()
            .and_then(|f| {
                f["sessionId"].as_str().or(f["message"]["roomId"].as_str()).or(f["session"]["sessionId"].as_str()).map(str::to_string)
            })
            .unwrap_or_default();
        assert!(sid.starts_with("sp_"), "no session for the bench's visitor {i}: {last}");
        handle(op.clone(), json!({"action": "session.accept", "sessionId": sid})).await;
        app.detach(&v).await.unwrap();
        sessions.push(sid);
    }
    mail.events();
    let mut rows = Vec::new();
    rows.push(
        measure(
            meter,
            notifier,
            "message.send, the first reply to a visitor who is away (+ first response, report rows; the MailTopic hand-over reads nothing)",
            n,
            async |i| {
                handle(
                    op.clone(),
                    json!({"action": "message.send", "roomId": sessions[i], "clientId": "r1", "content": "Ihr Paket kommt morgen."}),
                )
                .await
            },
        )
        .await,
    );
    let events = mail.events();
    rows.push(
        measure(
            meter,
            notifier,
            "MailFunction: the reply e-mail (session, settings, read cursor, replies; the interval claimed)",
            n,
            async |i| {
                chat::mail::handle(&app, mail.as_ref(), &events[i]).await.unwrap();
            },
        )
        .await,
    );
    for sid in &sessions {
        handle(op.clone(), json!({"action": "message.send", "roomId": sid, "clientId": "r2", "content": "Noch etwas?"})).await;
    }
    let events = mail.events();
    rows.push(
        measure(meter, notifier, "MailFunction: a reply inside EMAIL_INTERVAL_SECONDS (nothing sent)", n, async |i| {
            chat::mail::handle(&app, mail.as_ref(), &events[i]).await.unwrap();
        })
        .await,
    );
    for sid in &sessions {
        handle(op.clone(), json!({"action": "session.close", "sessionId": sid})).await;
    }
    let events = mail.events();
    rows.push(
        measure(meter, notifier, "MailFunction: the transcript of a 4-message session", n, async |i| {
            chat::mail::handle(&app, mail.as_ref(), &events[i]).await.unwrap();
        })
        .await,
    );
    println!();
    println!("E-mail follow-up (SES not counted):");
    print_table(&rows);
}

/// A month's report: the day rows 100,000 sessions leave (3,334 a day, across `operators`
/// operators), then `GET /support/reports` over them. Its cost depends on days and operators,
/// never on sessions.
async fn report_figures(app: &App, meter: &CapacityMeter, notifier: &CountingNotifier, operators: usize) {
    use chat::support::reports::{counters, day_of, Event};
    const SESSIONS: u64 = 100_000;
    const DAYS: u64 = 30;
    let first = 1_767_225_600_000u64; // 2026-01-01
    let per_day = SESSIONS.div_ceil(DAYS);
    eprintln!("reports: the day rows of {SESSIONS} sessions over {DAYS} days...");
    for d in 0..DAYS {
        let day = day_of(first + d * 86_400_000);
        for o in 0..operators {
            // Each operator's share of the day, as the writes would have added it.
            let share = per_day / operators as u64;
            let mut sum: std::collections::BTreeMap<String, u64> = Default::default();
            for e in [
                Event::Started,
                Event::Accepted { wait_ms: 40_000 },
                Event::Answered { after_ms: 70_000 },
                Event::Closed { after_ms: 900_000, missed: false },
                Event::Rated { score: 5 },
            ] {
                for (k, v) in counters(e) {
                    *sum.entry(k).or_insert(0) += v * share;
                }
            }
            let c: Vec<(String, u64)> = sum.into_iter().collect();
            app.store.add_to_report(&day, Some(&format!("op{o}")), &c).await.unwrap();
        }
    }
    let admin = chat::app::Actor { user_id: "ada".into(), name: None, role: Role::Admin };
    let (from, to) = (day_of(first), day_of(first + (DAYS - 1) * 86_400_000));
    let row = measure(
        meter,
        notifier,
        &format!("GET /support/reports, {DAYS} days, {SESSIONS} sessions, {operators} operators"),
        5,
        async |_| {
            let r = chat::support::reports::report(app, &admin, &from, &to, None).await.unwrap();
            assert_eq!(r.operators.len(), operators);
        },
    )
    .await;
    let one = measure(meter, notifier, &format!("GET /support/reports?operatorId, {DAYS} days"), 5, async |_| {
        chat::support::reports::report(app, &admin, &from, &to, Some("op1".into())).await.unwrap();
    })
    .await;
    println!();
    println!("Reports (kept by the writes: per session ≈ 2 UpdateItems each at start, accept, first reply, close and rating):");
    print_table(&[row, one]);
}
