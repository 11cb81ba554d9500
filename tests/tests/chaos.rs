//! Chaos (issue 13): thousands of messages through the real functions while the platform fails the
//! way AWS does — @connections posts answered 410 or 500 or delivered late, DynamoDB throttling and
//! transaction conflicts, function instances killed mid-invocation, `$disconnect` never delivered —
//! and clients drop their sockets at random.
//!
//! Each user's device behaves as the browser SDK does: one message in flight per room, resent with
//! the same clientId on a timeout, an error or a reconnect; on `unauthorized` or a lost socket it
//! reconnects and syncs; it pings as its heartbeat. At the end: every message is stored exactly
//! once, rooms' seqs are gapless, each sender's messages keep their order, every device's view is
//! the stored order, every user ends offline (the heartbeat sweeper cleans up the connections whose
//! `$disconnect` was lost), and no function process is left.
//!
//! `make test` runs 600 messages; `make chaos` runs `CHAOS_MESSAGES=20000`. Settings:
//! `CHAOS_MESSAGES`, `CHAOS_USERS` (default 12), `CHAOS_SEED` (42), `CHAOS_FAULTS` (the
//! `--faults` syntax; default [`DEFAULT_FAULTS`]), `CHAOS_DROP` (chance a device drops its socket
//! after an ack; 0.02).

use chat_tests::chat_dev::faults::{Fault, FaultConfig, Faults};
use chat_tests::{mint_token, stack_processes, Client, StackSpec, TestStack};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The fault mix of `make test` (per event: post, DynamoDB request, invocation, closed socket).
const DEFAULT_FAULTS: &str = "post410=0.01,post500=0.02,slow=0.03,slowMs=400,ddbThrottle=0.02,txConflict=0.05,kill=0.01,dropDisconnect=0.3";

/// No ack this long after a send: sent again (same clientId); doubled on each attempt, up to
/// [`MAX_ACK_TIMEOUT`].
const ACK_TIMEOUT: Duration = Duration::from_secs(4);
const MAX_ACK_TIMEOUT: Duration = Duration::from_secs(12);

fn ack_timeout(attempts: u32) -> Duration {
    (ACK_TIMEOUT * 2u32.pow(attempts.saturating_sub(1).min(4))).min(MAX_ACK_TIMEOUT)
}

/// After an error: sent again this much later (doubling with the attempts, up to 4 s), so that
/// failures under overload do not turn into a storm of resends.
fn retry_backoff(attempts: u32) -> Duration {
    (Duration::from_millis(250) * 2u32.pow(attempts.saturating_sub(1).min(4))).min(Duration::from_secs(4))
}
/// No answer to a sync page this long: asked again.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);
/// Heartbeats: the stack's `HeartbeatSeconds`; devices ping at that interval, as the SDK does (a
/// connection is swept only after 3 intervals without one).
const HEARTBEAT_SECONDS: u64 = 3;
const PING_EVERY: Duration = Duration::from_secs(HEARTBEAT_SECONDS);

struct Settings {
    messages: usize,
    users: usize,
    seed: u64,
    faults: FaultConfig,
    drop: f64,
}

fn settings() -> Settings {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let num = |k: &str, d: usize| env(k).map(|v| v.parse().unwrap_or_else(|_| panic!("{k} takes a number"))).unwrap_or(d);
    let seed = num("CHAOS_SEED", 42) as u64;
    let mut faults = FaultConfig::parse(&env("CHAOS_FAULTS").unwrap_or_else(|| DEFAULT_FAULTS.to_string()))
        .unwrap_or_else(|e| panic!("CHAOS_FAULTS: {e}"));
    if env("CHAOS_FAULTS").is_none_or(|f| !f.contains("seed=")) {
        faults.seed = seed;
    }
    let drop = env("CHAOS_DROP").map(|v| v.parse().expect("CHAOS_DROP takes a probability")).unwrap_or(0.02);
    Settings { messages: num("CHAOS_MESSAGES", 600), users: num("CHAOS_USERS", 12).max(4), seed, faults, drop }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    sends: u64,
    resends: u64,
    acks: u64,
    duplicate_acks: u64,
    connects: u64,
    refused_handshakes: u64,
    drops: u64,
    lost_sockets: u64,
    unauthorized: u64,
    gateway_errors: u64,
    error_frames: u64,
    sync_pages: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.sends += o.sends;
        self.resends += o.resends;
        self.acks += o.acks;
        self.duplicate_acks += o.duplicate_acks;
        self.connects += o.connects;
        self.refused_handshakes += o.refused_handshakes;
        self.drops += o.drops;
        self.lost_sockets += o.lost_sockets;
        self.unauthorized += o.unauthorized;
        self.gateway_errors += o.gateway_errors;
        self.error_frames += o.error_frames;
        self.sync_pages += o.sync_pages;
    }
}

struct Pending {
    client_id: String,
    /// When to send it (again): now for a new one, after a reconnect; the ack timeout after a
    /// send; a backoff after an error.
    due: Instant,
    attempts: u32,
}

/// What a frame asks the device to do.
enum Next {
    Go,
    Reconnect,
}

/// One user's device.
struct Device {
    user: String,
    url: String,
    sock: Option<Client>,
    rooms: Vec<String>,
    /// Messages still to send, per room (their clientIds; the content is the clientId too).
    plan: BTreeMap<String, VecDeque<String>>,
    /// The one message in flight per room.
    pending: BTreeMap<String, Pending>,
    /// Every message sent, per room, in the order written.
    written: BTreeMap<String, Vec<String>>,
    acked: HashMap<String, u64>,
    /// What the device holds: room → seq → clientId (`""` for system messages).
    view: BTreeMap<String, BTreeMap<u64, String>>,
    next_ref: u64,
    next_ping: Instant,
    rng: u64,
    drop: f64,
    stats: Stats,
}

impl Device {
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((splitmix(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn lose_socket(&mut self) {
        if let Some(c) = self.sock.take() {
            c.kill();
        }
    }

    async fn send(&mut self, v: Value) {
        let Some(c) = self.sock.as_mut() else { return };
        if c.send_raw(WsMessage::Text(v.to_string().into())).await.is_err() {
            self.stats.lost_sockets += 1;
            self.lose_socket();
        }
    }

    /// The next frame before `until`; `None` on a timeout or a lost socket (then `sock` is gone).
    async fn next_frame(&mut self, until: Instant) -> Option<Value> {
        let c = self.sock.as_mut()?;
        let within = until.saturating_duration_since(Instant::now());
        match c.wait_for(&|_| true, within).await {
            Some(v) => Some(v),
            None => {
                if c.closed.is_some() {
                    self.stats.lost_sockets += 1;
                    self.lose_socket();
                }
                None
            }
        }
    }

    fn hold(&mut self, m: &Value) {
        let room = m["roomId"].as_str().expect("a message has its room").to_string();
        let seq = m["seq"].as_u64().expect("a message has its seq");
        let cid = if m["kind"] == "text" { m["clientId"].as_str().unwrap_or_default().to_string() } else { String::new() };
        if let Some(held) = self.view.entry(room.clone()).or_default().insert(seq, cid.clone()) {
            assert_eq!(held, cid, "{}: seq {seq} of {room} came as two different messages", self.user);
        }
    }

    /// Handles any frame: holds messages, settles acks, schedules resends.
    fn on_frame(&mut self, f: &Value) -> Next {
        match f["type"].as_str() {
            Some("ack") => {
                self.hold(&f["message"]);
                let room = f["message"]["roomId"].as_str().unwrap().to_string();
                let cid = f["clientId"].as_str().unwrap_or_default();
                if self.pending.get(&room).is_some_and(|p| p.client_id == cid) {
                    self.pending.remove(&room);
                    self.acked.insert(cid.to_string(), f["message"]["seq"].as_u64().unwrap());
                    self.stats.acks += 1;
                    if f["duplicate"] == true {
                        self.stats.duplicate_acks += 1;
                    }
                }
            }
            Some("message.new") => self.hold(&f["message"]),
            Some("sync") => {
                for rs in f["rooms"].as_array().into_iter().flatten() {
                    for m in rs["messages"].as_array().into_iter().flatten() {
                        self.hold(m);
                    }
                }
            }
            Some("error") => {
                self.stats.error_frames += 1;
                match f["code"].as_str() {
                    Some("unauthorized") => {
                        self.stats.unauthorized += 1;
                        return Next::Reconnect;
                    }
                    Some("internal") | Some("rate_limited") => {
                        let cid = f["clientId"].as_str().unwrap_or_default();
                        let now = Instant::now();
                        for p in self.pending.values_mut().filter(|p| p.client_id == cid) {
                            p.due = p.due.min(now + retry_backoff(p.attempts));
                        }
                    }
                    _ => panic!("{}: unexpected error frame {f}", self.user),
                }
            }
            None if f["message"].is_string() => {
                // API Gateway's own frames ("Internal server error": the function failed or was
                // killed). Which request it answers is unknown: everything in flight goes again.
                self.stats.gateway_errors += 1;
                let now = Instant::now();
                for p in self.pending.values_mut() {
                    p.due = p.due.min(now + retry_backoff(p.attempts));
                }
            }
            _ => {} // pong, presence, room.joined, read, …
        }
        Next::Go
    }

    /// Highest seq held with every seq before it, per room.
    fn held_up_to(&self) -> BTreeMap<String, u64> {
        self.rooms
            .iter()
            .map(|r| {
                let v = self.view.get(r);
                let mut n = 0;
                while v.is_some_and(|v| v.contains_key(&(n + 1))) {
                    n += 1;
                }
                (r.clone(), n)
            })
            .collect()
    }

    /// Syncs page after page until nothing more. `false`: the socket is gone or unregistered.
    async fn sync(&mut self) -> bool {
        let mut cursor = Value::Null;
        let mut failures = 0;
        loop {
            self.next_ref += 1;
            let r = format!("s{}", self.next_ref);
            self.send(json!({"action": "sync", "rooms": self.held_up_to(), "cursor": cursor, "ref": r})).await;
            let until = Instant::now() + SYNC_TIMEOUT;
            let page = loop {
                let Some(f) = self.next_frame(until).await else {
                    if self.sock.is_none() {
                        return false;
                    }
                    break None; // timed out: ask again
                };
                let mine = f["ref"] == json!(r);
                if let Next::Reconnect = self.on_frame(&f) {
                    return false;
                }
                if mine && f["type"] == "sync" {
                    break Some(f);
                }
                if mine || f["message"] == "Internal server error" {
                    break None; // failed (or maybe it was another request's): ask again
                }
            };
            let Some(p) = page else {
                // Backing off, so that errors under overload do not turn into a storm.
                failures += 1;
                tokio::time::sleep(retry_backoff(failures)).await;
                continue;
            };
            {
                self.stats.sync_pages += 1;
                if p["hasMore"] != true {
                    return true;
                }
                cursor = p["nextCursor"].clone();
            }
        }
    }

    /// Connects (again), catches up and sends what is in flight again.
    async fn connect(&mut self, deadline: Instant) {
        loop {
            assert!(Instant::now() < deadline, "{}: cannot get connected and synced before the deadline ({:?})", self.user, self.stats);
            self.lose_socket();
            match Client::connect(&self.url, &[]).await {
                Ok(c) => self.sock = Some(c),
                Err(_) => {
                    // A handshake refused (its $connect failed or was killed): try again shortly.
                    self.stats.refused_handshakes += 1;
                    tokio::time::sleep(Duration::from_millis(100 + splitmix(&mut self.rng) % 200)).await;
                    continue;
                }
            }
            self.stats.connects += 1;
            self.next_ping = Instant::now() + PING_EVERY;
            if self.sync().await {
                let now = Instant::now();
                for p in self.pending.values_mut() {
                    p.due = now;
                }
                return;
            }
        }
    }

    /// Sends every planned message until each one is acked, dropping the socket now and then.
    async fn run(&mut self, deadline: Instant) {
        loop {
            if self.pending.is_empty() && self.plan.values().all(VecDeque::is_empty) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: not every message was acked before the deadline: {} pending, {} planned; {:?}",
                    self.user,
                    self.pending.len(),
                    self.plan.values().map(VecDeque::len).sum::<usize>(),
                    self.stats
                );
            }
            if self.sock.is_none() {
                self.connect(deadline).await;
                continue;
            }
            let now = Instant::now();
            for room in self.rooms.clone() {
                if !self.pending.contains_key(&room) {
                    if let Some(cid) = self.plan.get_mut(&room).and_then(VecDeque::pop_front) {
                        self.written.entry(room.clone()).or_default().push(cid.clone());
                        self.pending.insert(room.clone(), Pending { client_id: cid, due: now, attempts: 0 });
                    }
                }
            }
            let due: Vec<(String, String, u32)> =
                self.pending.iter().filter(|(_, p)| now >= p.due).map(|(r, p)| (r.clone(), p.client_id.clone(), p.attempts)).collect();
            for (room, cid, attempts) in due {
                if attempts == 0 {
                    self.stats.sends += 1;
                } else {
                    self.stats.resends += 1;
                }
                let p = self.pending.get_mut(&room).unwrap();
                p.attempts += 1;
                p.due = now + ack_timeout(p.attempts);
                self.send(json!({"action": "message.send", "roomId": room, "clientId": cid, "content": cid})).await;
            }
            if now >= self.next_ping {
                self.next_ping = now + PING_EVERY;
                self.send(json!({"action": "ping"})).await;
            }
            let until = self.pending.values().map(|p| p.due).chain([self.next_ping]).min().unwrap();
            let acks_before = self.stats.acks;
            if let Some(f) = self.next_frame(until).await {
                if let Next::Reconnect = self.on_frame(&f) {
                    self.lose_socket();
                }
            }
            if self.stats.acks > acks_before && self.sock.is_some() && self.chance(self.drop) {
                self.stats.drops += 1;
                if self.chance(0.3) {
                    // A close frame (a tab closed), or …
                    close(self.sock.take().unwrap(), 1001).await;
                } else {
                    // … the network gone: no close frame.
                    self.lose_socket();
                }
            }
        }
    }

    /// After the chaos: connected, unregistered or not, synced to the end.
    async fn catch_up(&mut self, deadline: Instant) {
        loop {
            if self.sock.is_none() {
                self.connect(deadline).await;
                continue;
            }
            if self.sync().await {
                return;
            }
            self.lose_socket();
        }
    }
}

/// Closes with a close frame and waits a moment for the server's (however loaded the machine is,
/// this never fails: the socket goes either way).
async fn close(mut c: Client, code: u16) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    if c.send_raw(WsMessage::Close(Some(CloseFrame { code: code.into(), reason: "bye".into() }))).await.is_ok() {
        let _ = c.wait_for(&|_| false, Duration::from_secs(5)).await;
    }
    c.kill();
}

/// The rooms: one of everyone (and the observer), two halves, and direct rooms across and along.
struct Rooms {
    all: String,
    /// Per user: the rooms they write in, weighted (a room listed twice gets twice the messages).
    weighted: Vec<Vec<String>>,
    members: BTreeMap<String, Vec<String>>,
}

async fn create_rooms(s: &TestStack, users: &[String], observer: &str) -> Rooms {
    let n = users.len();
    let half = n / 2;
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut weighted = vec![Vec::new(); n];
    let mut c0 = s.user(&users[0]).await;
    let others: Vec<&str> = users[1..].iter().map(String::as_str).chain([observer]).collect();
    let r = c0.request(json!({"action": "room.create", "type": "group", "name": "Everyone", "members": others})).await;
    let all = r["room"]["roomId"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
    members.insert(all.clone(), users.iter().cloned().chain([observer.to_string()]).collect());
    for (lo, hi) in [(0, half), (half, n)] {
        let mut c = s.user(&users[lo]).await;
        let m: Vec<&str> = users[lo + 1..hi].iter().map(String::as_str).collect();
        let r = c.request(json!({"action": "room.create", "type": "group", "name": "Half", "members": m})).await;
        let id = r["room"]["roomId"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
        members.insert(id.clone(), users[lo..hi].to_vec());
        for w in weighted.iter_mut().take(hi).skip(lo) {
            w.extend([id.clone(), id.clone()]);
        }
        c.close(1000, "").await;
    }
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for i in 0..n {
        pairs.insert((i.min((i + half) % n), i.max((i + half) % n)));
        let (a, b) = ((i / 2) * 2, ((i / 2) * 2 + 1) % n);
        pairs.insert((a.min(b), a.max(b)));
    }
    for (a, b) in pairs.into_iter().filter(|(a, b)| a != b) {
        let mut c = s.user(&users[a]).await;
        let r = c.request(json!({"action": "room.create", "type": "direct", "members": [users[b]]})).await;
        let id = r["room"]["roomId"].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
        members.insert(id.clone(), vec![users[a].clone(), users[b].clone()]);
        weighted[a].extend([id.clone(), id.clone()]);
        weighted[b].extend([id.clone(), id.clone()]);
        c.close(1000, "").await;
    }
    for w in weighted.iter_mut() {
        w.push(all.clone());
    }
    c0.close(1000, "").await;
    Rooms { all, weighted, members }
}

/// The room's stored messages, read from DynamoDB directly: seq → (clientId, senderId, kind).
async fn stored(s: &TestStack, room: &str) -> BTreeMap<u64, (String, String, String)> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ddb = s.dynamodb().await;
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let resp = ddb
            .query()
            .table_name(s.table("MessagesTable"))
            .key_condition_expression("roomId = :r")
            .expression_attribute_values(":r", AttributeValue::S(room.into()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query messages");
        for item in resp.items() {
            let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let seq: u64 = item["seq"].as_n().unwrap().parse().unwrap();
            assert!(out.insert(seq, (get("clientId"), get("senderId"), get("kind"))).is_none());
        }
        start = resp.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

/// For a failure message: each user's live connection ids, and whether each still has its row.
async fn connections_of(s: &TestStack, users: &[&str]) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ddb = s.dynamodb().await;
    let mut out = String::new();
    for u in users {
        let item = ddb
            .get_item()
            .table_name(s.table("UsersTable"))
            .key("userId", AttributeValue::S(u.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("get user")
            .item;
        let conns = item.as_ref().and_then(|i| i.get("conns")).and_then(|c| c.as_ss().ok()).cloned().unwrap_or_default();
        for c in conns {
            let row = ddb
                .get_item()
                .table_name(s.table("ConnectionsTable"))
                .key("connectionId", AttributeValue::S(c.clone()))
                .consistent_read(true)
                .send()
                .await
                .expect("get connection")
                .item;
            out.push_str(&format!(
                "\n  {u}: {c} ({})",
                if row.is_some() {
                    "row present"
                } else {
                    "NO ROW: a cleanup stopped between deleting the row and detaching it from the user"
                }
            ));
        }
    }
    out
}

async fn users_online(s: &TestStack, users: &[String]) -> Vec<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ddb = s.dynamodb().await;
    let mut online = Vec::new();
    for u in users {
        let out = ddb
            .get_item()
            .table_name(s.table("UsersTable"))
            .key("userId", AttributeValue::S(u.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("get user");
        if out.item.as_ref().and_then(|i| i.get("conns")).and_then(|c| c.as_ss().ok()).is_some_and(|c| !c.is_empty()) {
            online.push(u.clone());
        }
    }
    online
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_nothing_lost_nothing_duplicated_order_kept_presence_converges_nothing_leaks() {
    let cfg = settings();
    let started = Instant::now();
    let faults = Faults::new(FaultConfig { seed: cfg.faults.seed, ..FaultConfig::default() });
    let mut spec = StackSpec::default();
    spec.gateway.faults = faults.clone();
    spec.parameters.insert("MaxSendsPer10Seconds".into(), "100000".into());
    spec.parameters.insert("MaxFramesPer10Seconds".into(), "100000".into());
    spec.parameters.insert("HeartbeatSeconds".into(), HEARTBEAT_SECONDS.to_string());
    spec.parameters.insert("SweepSchedule".into(), format!("rate({HEARTBEAT_SECONDS} seconds)"));
    let s = TestStack::start(spec).await;
    let tag = chat_tests::uid("");
    let users: Vec<String> = (0..cfg.users).map(|i| format!("chaos{tag}-u{i}")).collect();
    let observer = format!("chaos{tag}-obs");
    let rooms = create_rooms(&s, &users, &observer).await;
    let mut phases: Vec<(&str, f64)> = vec![("setup", started.elapsed().as_secs_f64())];
    let mut lap = Instant::now();
    let mut phase = |name: &'static str, phases: &mut Vec<(&str, f64)>| {
        phases.push((name, lap.elapsed().as_secs_f64()));
        lap = Instant::now();
    };

    // Each user's messages, round robin over their (weighted) rooms.
    let per_user = cfg.messages.div_ceil(cfg.users);
    let total = per_user * cfg.users;
    let mut devices: Vec<Device> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut plan: BTreeMap<String, VecDeque<String>> = BTreeMap::new();
            for k in 0..per_user {
                let room = &rooms.weighted[i][k % rooms.weighted[i].len()];
                plan.entry(room.clone()).or_default().push_back(format!("{u}-m{k}"));
            }
            let mut own: Vec<String> = rooms.weighted[i].clone();
            own.sort();
            own.dedup();
            Device {
                user: u.clone(),
                url: format!("{}?token={}", s.ws_url(), mint_token(&s.secret, u, Some(u), "user", 6 * 3600)),
                sock: None,
                rooms: own,
                plan,
                pending: BTreeMap::new(),
                written: BTreeMap::new(),
                acked: HashMap::new(),
                view: BTreeMap::new(),
                next_ref: 0,
                next_ping: Instant::now(),
                rng: splitmix(&mut (cfg.seed ^ (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D))),
                drop: cfg.drop,
                stats: Stats::default(),
            }
        })
        .collect();

    // The chaos: faults on, every device sends all its messages.
    faults.set(cfg.faults);
    let chaos_started = Instant::now();
    let deadline = chaos_started + Duration::from_secs(300) + Duration::from_millis(100 * total as u64);
    let tasks: Vec<_> = devices
        .drain(..)
        .map(|mut d| {
            tokio::spawn(async move {
                d.run(deadline).await;
                d
            })
        })
        .collect();
    for t in tasks {
        match t.await {
            Ok(d) => devices.push(d),
            Err(e) => panic!("a device failed: {e}\n/health: {}", s.health().await),
        }
    }
    let chaos_took = chaos_started.elapsed();
    phase("chaos", &mut phases);
    let injected: BTreeMap<&str, u64> = Fault::ALL.iter().map(|f| (f.key(), faults.injected(*f))).collect();

    // The chaos stops (lost $disconnects go on: presence must converge without them).
    faults.set(FaultConfig { drop_disconnect: cfg.faults.drop_disconnect, seed: cfg.faults.seed, ..FaultConfig::default() });
    let deadline = Instant::now() + Duration::from_secs(180);
    let tasks: Vec<_> = devices
        .drain(..)
        .map(|mut d| {
            tokio::spawn(async move {
                d.catch_up(deadline).await;
                d
            })
        })
        .collect();
    for t in tasks {
        devices.push(t.await.unwrap_or_else(|e| panic!("a device failed to catch up: {e}")));
    }

    // Nothing lost, nothing duplicated, per-room order intact, every view the stored one.
    phase("catch-up", &mut phases);
    let mut stats = Stats::default();
    for d in &devices {
        stats += d.stats;
        assert_eq!(d.acked.len(), per_user, "{}: every send acked", d.user);
    }
    let mut stored_texts = 0;
    for (room, members) in &rooms.members {
        let st = stored(&s, room).await;
        let seqs: Vec<u64> = st.keys().copied().collect();
        assert_eq!(seqs, (1..=st.len() as u64).collect::<Vec<_>>(), "{room}: seqs 1..n without gaps");
        let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
        for (seq, (cid, sender, kind)) in &st {
            if kind == "text" {
                assert!(seen.insert(cid.as_str(), *seq).is_none(), "{room}: clientId {cid} stored twice");
                assert!(cid.starts_with(&format!("{sender}-m")), "{room}: seq {seq} {cid} by {sender}");
            }
        }
        stored_texts += seen.len();
        for d in devices.iter().filter(|d| members.contains(&d.user)) {
            let written = d.written.get(room).cloned().unwrap_or_default();
            let at: Vec<u64> = written
                .iter()
                .map(|c| *seen.get(c.as_str()).unwrap_or_else(|| panic!("{room}: {c} of {} was acked but is not stored", d.user)))
                .collect();
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{room}: {}'s messages out of the order written: {at:?}", d.user);
            for c in &written {
                assert_eq!(d.acked.get(c), seen.get(c.as_str()), "{room}: {c} acked with another seq than stored");
            }
            let view: BTreeMap<u64, String> = d.view.get(room).cloned().unwrap_or_default();
            let want: BTreeMap<u64, String> =
                st.iter().map(|(q, (c, _, k))| (*q, if k == "text" { c.clone() } else { String::new() })).collect();
            assert!(view == want, "{room}: {}'s view differs from the stored order ({} held, {} stored)", d.user, view.len(), want.len());
        }
    }
    assert_eq!(stored_texts, total, "every message stored once");

    // Presence: everyone leaves, half without a close frame, half of the $disconnects lost: the
    // heartbeat sweeper must bring those users offline. A fresh observer asks.
    faults.set(FaultConfig { drop_disconnect: 0.5, seed: cfg.faults.seed, ..FaultConfig::default() });
    let dropped_before = faults.injected(Fault::DropDisconnect);
    phase("checks", &mut phases);
    let mut rng = cfg.seed;
    for mut d in devices.drain(..) {
        match (d.sock.take(), splitmix(&mut rng) % 2) {
            (Some(c), 0) => close(c, 1000).await,
            (Some(c), _) => c.kill(),
            (None, _) => {}
        }
    }
    chat_tests::eventually("the gateway to see every socket closed", || async { (s.stack.gateway.connection_count() == 0).then_some(()) })
        .await;
    let mut obs = s.user(&observer).await;
    let wait = Instant::now();
    let offline_after = loop {
        let q = obs.request(json!({"action": "presence.query", "roomId": rooms.all})).await;
        let online: Vec<&str> = q["users"]
            .as_array()
            .unwrap_or_else(|| panic!("{q}"))
            .iter()
            .filter(|u| u["online"] == true && u["userId"] != json!(observer))
            .filter_map(|u| u["userId"].as_str())
            .collect();
        if online.is_empty() {
            break wait.elapsed();
        }
        if wait.elapsed() > Duration::from_secs(90) {
            panic!(
                "still online 90 s after everyone left: {online:?} (heartbeats every {HEARTBEAT_SECONDS} s); their connections:{}",
                connections_of(&s, &online).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        obs.send(json!({"action": "ping"})).await;
    };
    assert_eq!(users_online(&s, &users).await, Vec::<String>::new(), "UsersTable agrees");
    let lost_disconnects = faults.injected(Fault::DropDisconnect) - dropped_before;
    close(obs, 1000).await;
    let obs_offline = Instant::now();
    loop {
        if users_online(&s, std::slice::from_ref(&observer)).await.is_empty() {
            break;
        }
        assert!(obs_offline.elapsed() < Duration::from_secs(90), "the observer stays online");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    phase("presence", &mut phases);
    // No leaks: instances idle and within the limit, exactly the pool's processes alive; none after stop.
    let leak_wait = Instant::now();
    loop {
        let h = s.health().await;
        let fs = h["functions"].as_object().unwrap().clone();
        let idle = fs.values().all(|f| f["busy"] == 0 && f["queued"] == 0 && f["live"].as_u64().unwrap() <= 10);
        let pids: BTreeSet<u64> = fs.values().flat_map(|f| f["pids"].as_array().unwrap().iter().filter_map(Value::as_u64)).collect();
        let procs: BTreeSet<u64> = stack_processes(&s.stack_name).into_iter().map(u64::from).collect();
        if idle && pids == procs {
            break;
        }
        assert!(
            leak_wait.elapsed() < Duration::from_secs(60),
            "instances not idle, or processes the pools do not know: pools {pids:?}, processes {procs:?}\n{h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stack_name = s.stack_name.clone();
    s.stack.stop().await;
    let stopped = Instant::now();
    while !stack_processes(&stack_name).is_empty() {
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "function processes left after the stack stopped: {:?}",
            stack_processes(&stack_name)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phase("leaks and stop", &mut phases);

    println!(
        "chaos: {total} messages from {} users in {} rooms in {:.1}s (chaos phase {:.1}s, {:.1} msg/s); faults injected {injected:?}; \
         devices: {} sends, {} resends, {} duplicate acks, {} connects, {} refused handshakes, {} sockets dropped, {} lost, {} unauthorized, {} gateway errors, {} error frames, {} sync pages; \
         {} reconnects; {lost_disconnects} of the {} last closes without $disconnect, all offline {:.1}s after; phases {phases:?}; result: ok",
        cfg.users,
        rooms.members.len(),
        started.elapsed().as_secs_f64(),
        chaos_took.as_secs_f64(),
        total as f64 / chaos_took.as_secs_f64(),
        stats.sends,
        stats.resends,
        stats.duplicate_acks,
        stats.connects,
        stats.refused_handshakes,
        stats.drops,
        stats.lost_sockets,
        stats.unauthorized,
        stats.gateway_errors,
        stats.error_frames,
        stats.sync_pages,
        stats.connects - cfg.users as u64,
        cfg.users,
        offline_after.as_secs_f64(),
    );
    for f in Fault::ALL {
        if cfg.faults.probability(f) > 0.0 {
            assert!(injected[f.key()] > 0, "no {} fault was injected: {injected:?}", f.key());
        }
    }
}

/// The connection id of a user's only connection.
async fn connection_of(s: &TestStack, user: &str) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ddb = s.dynamodb().await;
    let out = ddb
        .get_item()
        .table_name(s.table("UsersTable"))
        .key("userId", AttributeValue::S(user.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.unwrap()["conns"].as_ss().unwrap()[0].clone()
}

/// Each fault on its own, with probability 1: what it does, that it is counted, and that turning
/// it off brings the normal behaviour back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_does_what_it_says() {
    use aws_sdk_apigatewaymanagement::primitives::Blob;
    let faults = Faults::new(FaultConfig::default());
    let only = |f: FaultConfig| faults.set(f);
    let mut spec = StackSpec::default();
    spec.gateway.faults = faults.clone();
    let s = TestStack::start(spec).await;
    let (alice, bob) = (chat_tests::uid("alice"), chat_tests::uid("bob"));
    let mut a = s.user(&alice).await;
    assert_eq!(a.request(json!({"action": "ping"})).await["type"], "pong");
    let conn = connection_of(&s, &alice).await;
    let api = s.connections_api().await;
    let post = |text: &'static str| api.post_to_connection().connection_id(&conn).data(Blob::new(text)).send();

    // post410: Gone, though the socket is open; nothing delivered.
    only(FaultConfig { post410: 1.0, ..FaultConfig::default() });
    let e = post("\"gone?\"").await.unwrap_err();
    assert!(e.as_service_error().is_some_and(|e| e.is_gone_exception()), "{e:?}");
    // post500: the SDK retries, and every retry of that post fails too; counted once.
    only(FaultConfig { post500: 1.0, ..FaultConfig::default() });
    let e = post("\"failed\"").await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500), "{e:?}");
    assert_eq!(faults.injected(Fault::Post500), 1);
    a.assert_none(|f| f == "gone?" || f == "failed", Duration::from_millis(300)).await;
    // slow: delivered, late.
    only(FaultConfig { slow: 1.0, slow_ms: 700, ..FaultConfig::default() });
    let t = Instant::now();
    post("\"late\"").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(700));
    a.expect(|f| f == "late").await;

    // ddbThrottle: every DynamoDB call of the functions throttled; the SDK retries, then the
    // action fails with `internal`.
    only(FaultConfig { ddb_throttle: 1.0, ..FaultConfig::default() });
    let r = a.request(json!({"action": "room.create", "type": "direct", "members": [bob]})).await;
    assert_eq!((r["type"].as_str(), r["code"].as_str()), (Some("error"), Some("internal")), "{r}");
    assert!(faults.injected(Fault::DdbThrottle) >= 3, "retried: {}", faults.injected(Fault::DdbThrottle));
    // txConflict: the room's transaction is cancelled; nothing is created.
    only(FaultConfig { tx_conflict: 1.0, ..FaultConfig::default() });
    let r = a.request(json!({"action": "room.create", "type": "direct", "members": [bob]})).await;
    assert_eq!((r["type"].as_str(), r["code"].as_str()), (Some("error"), Some("internal")), "{r}");
    assert!(faults.injected(Fault::TxConflict) >= 1);
    only(FaultConfig::default());
    let r = a.request(json!({"action": "room.create", "type": "direct", "members": [bob]})).await;
    assert_eq!((r["type"].as_str(), r["created"].as_bool()), (Some("room.created"), Some(true)), "{r}");

    // kill: an instance dies mid-invocation (the client gets API Gateway's error frame); the pool
    // replaces it and leaks nothing.
    only(FaultConfig { kill: 1.0, ..FaultConfig::default() });
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries <= 50, "no kill landed in 50 invocations");
        // Not pings: fifty in one heartbeat interval would be a ping flood (crate::limits).
        a.send(json!({"action": "room.list"})).await;
        let f = a.expect(|f| f["type"] == "room.list" || f["message"] == "Internal server error").await;
        if f["message"] == "Internal server error" {
            break;
        }
    }
    only(FaultConfig::default());
    assert!(faults.injected(Fault::Kill) >= 1);
    assert_eq!(a.request(json!({"action": "ping"})).await["type"], "pong");
    let started = Instant::now();
    loop {
        let h = s.health().await;
        assert!(h["faults"]["injected"]["kill"].as_u64() >= Some(1), "{h}");
        let pids: BTreeSet<u64> = h["functions"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|f| f["pids"].as_array().unwrap().iter().filter_map(Value::as_u64))
            .collect();
        let procs: BTreeSet<u64> = stack_processes(&s.stack_name).into_iter().map(u64::from).collect();
        if pids == procs {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "pools {pids:?} and processes {procs:?} differ");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // dropDisconnect: a closed socket's $disconnect never runs: its row stays.
    only(FaultConfig { drop_disconnect: 1.0, ..FaultConfig::default() });
    let mut b = s.user(&bob).await;
    assert_eq!(b.request(json!({"action": "ping"})).await["type"], "pong");
    let bob_conn = connection_of(&s, &bob).await;
    b.close(1000, "bye").await;
    chat_tests::eventually("the lost $disconnect", || async { (faults.injected(Fault::DropDisconnect) == 1).then_some(()) }).await;
    assert!(s.logs().contains(&format!("fault: {bob_conn} closed (1000); $disconnect not delivered")), "{}", s.logs());
    assert_eq!(users_online(&s, std::slice::from_ref(&bob)).await, vec![bob.clone()], "no $disconnect: still online");
}
