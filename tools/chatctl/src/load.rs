//! `chatctl load`: N sockets in R group rooms, messages at a steady rate, and what came of them:
//! send→ack and send→delivered latencies (p50/p99), deliveries per second, and every delivery lost
//! or duplicated. Works against the local stack (`ws://`) and a deployed one (`wss://`, tokens
//! signed with the deployment's secret).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub struct LoadArgs {
    pub url: String,
    pub sockets: usize,
    pub rooms: usize,
    pub rate: f64,
    pub duration: Duration,
    pub secret: String,
    /// Sockets opened at once while connecting.
    pub connect_concurrency: usize,
}

enum Event {
    Frame { socket: usize, at: Instant, frame: Value },
    Closed,
}

struct Socket {
    tx: mpsc::UnboundedSender<String>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

async fn open(url: &str, token: &str, socket: usize, events: mpsc::UnboundedSender<Event>) -> Result<Socket, String> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("{url}{sep}token={token}")).await.map_err(|e| format!("socket {socket}: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(text) => if sink.send(Message::Text(text.into())).await.is_err() { break },
                    None => { let _ = sink.send(Message::Close(None)).await; break }
                },
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let frame = serde_json::from_str(&t).unwrap_or(Value::Null);
                        if events.send(Event::Frame { socket, at: Instant::now(), frame }).is_err() { break }
                    }
                    Some(Ok(_)) => {}
                    _ => { let _ = events.send(Event::Closed); break }
                },
            }
        }
    });
    Ok(Socket { tx })
}

pub async fn run(a: LoadArgs) -> Result<Value, String> {
    if a.rooms == 0 || a.sockets < a.rooms * 2 {
        return Err("--sockets must be at least twice --rooms (rooms of two or more)".into());
    }
    let run_id = chat::ids::ulid(chat::clock::Clock::now_ms(&chat::clock::SystemClock))[20..].to_ascii_lowercase();
    let users: Vec<String> = (0..a.sockets).map(|i| format!("load{run_id}-{i}")).collect();
    let (etx, mut erx) = mpsc::unbounded_channel::<Event>();
    eprintln!("connecting {} sockets...", a.sockets);
    let started = Instant::now();
    let secret = Arc::new(a.secret.clone());
    let opened: Vec<Result<Socket, String>> = futures_util::stream::iter(users.iter().enumerate())
        .map(|(i, u)| {
            let (url, etx, secret) = (a.url.clone(), etx.clone(), secret.clone());
            let now = chat::clock::Clock::now_ms(&chat::clock::SystemClock) / 1000;
            let token = chat::auth::mint_hs256(
                secret.as_bytes(),
                &chat::auth::Claims {
                    sub: u.clone(),
                    name: Some(format!("Load {i}")),
                    role: Some("user".into()),
                    exp: now + 3 * 3600,
                    iat: Some(now),
                    iss: None,
                    aud: None,
                    nbf: None,
                },
            );
            async move { open(&url, &token, i, etx).await }
        })
        .buffered(a.connect_concurrency.max(1))
        .collect()
        .await;
    let sockets: Vec<Socket> = opened.into_iter().collect::<Result<_, _>>()?;
    let connect_secs = started.elapsed().as_secs_f64();
    eprintln!("connected in {connect_secs:.1} s; creating {} rooms...", a.rooms);

    // Rooms: consecutive users, the first of each creates it.
    let per = a.sockets / a.rooms;
    let mut members: Vec<Vec<usize>> = (0..a.rooms).map(|r| (r * per..(r + 1) * per).collect()).collect();
    for (i, extra) in (a.rooms * per..a.sockets).enumerate() {
        members[i % a.rooms].push(extra);
    }
    for (r, m) in members.iter().enumerate() {
        let others: Vec<&String> = m[1..].iter().map(|i| &users[*i]).collect();
        sockets[m[0]].tx.send(json!({"action": "room.create", "type": "group", "name": format!("Load {r}"), "members": others, "ref": format!("room-{r}")}).to_string()).map_err(|e| e.to_string())?;
    }
    let mut room_ids: Vec<Option<String>> = vec![None; a.rooms];
    let mut joined: HashSet<(usize, String)> = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while room_ids.iter().any(Option::is_none) || joined.len() < a.sockets {
        let ev = tokio::time::timeout_at(deadline.into(), erx.recv())
            .await
            .map_err(|_| format!("rooms not ready in 120 s ({} of {} joined)", joined.len(), a.sockets))?
            .ok_or("no sockets")?;
        if let Event::Frame { socket, frame, .. } = ev {
            match frame["type"].as_str() {
                Some("room.created") => {
                    let r: usize =
                        frame["ref"].as_str().and_then(|s| s.strip_prefix("room-")).and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
                    if r < a.rooms {
                        room_ids[r] = frame["room"]["roomId"].as_str().map(str::to_string);
                        joined.insert((socket, room_ids[r].clone().unwrap_or_default()));
                    }
                }
                Some("room.joined") => {
                    joined.insert((socket, frame["room"]["roomId"].as_str().unwrap_or_default().to_string()));
                }
                Some("error") => return Err(format!("socket {socket}: {frame}")),
                _ => {}
            }
        }
    }
    let room_ids: Vec<String> = room_ids.into_iter().map(Option::unwrap).collect();
    let room_of: HashMap<&str, usize> = room_ids.iter().enumerate().map(|(i, r)| (r.as_str(), i)).collect();
    eprintln!("{} rooms of ~{per} ready; sending {:.0} messages/s for {:.0} s...", a.rooms, a.rate, a.duration.as_secs_f64());

    // Sending: a steady rate, one message in flight per socket (as the SDK does per room).
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ started.elapsed().as_nanos() as u64);
    let mut in_flight: HashSet<usize> = HashSet::new();
    let mut sent_at: HashMap<String, (Instant, usize, usize)> = HashMap::new(); // clientId -> (when, socket, room)
    let mut acked: HashMap<String, (u64, f64)> = HashMap::new(); // clientId -> (seq, ms)
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut deliveries: HashMap<(usize, u64), Vec<(usize, Instant)>> = HashMap::new(); // (room, seq) -> receivers
    let mut closed = 0;
    let (mut expected_total, mut delivery_total) = (0usize, 0usize);
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(0.001));
    let send_start = Instant::now();
    let send_end = send_start + a.duration;
    let mut next_send = send_start;
    let mut n = 0u64;
    let grace = Duration::from_secs(10);
    // Every socket beats like the SDK does (the server closes sockets that miss 3 heartbeats).
    let mut beat = tokio::time::interval(Duration::from_secs(25));
    beat.tick().await;
    loop {
        let now = Instant::now();
        if now >= send_end && sent_at.len() <= acked.len() + errors.values().sum::<u64>() as usize && delivery_total >= expected_total {
            break; // everything answered and delivered
        }
        if now >= send_end + grace {
            break;
        }
        let wake = if now < send_end { next_send.min(send_end) } else { now + Duration::from_millis(50) };
        tokio::select! {
            _ = beat.tick() => {
                for s in &sockets {
                    let _ = s.tx.send(json!({"action": "ping"}).to_string());
                }
            }
            _ = tokio::time::sleep_until(wake.into()), if now < send_end => {
                while next_send <= Instant::now() && next_send < send_end {
                    next_send += interval;
                    let r = rng.below(a.rooms);
                    let candidates: Vec<usize> = members[r].iter().copied().filter(|s| !in_flight.contains(s)).collect();
                    if candidates.is_empty() {
                        continue;
                    }
                    let s = candidates[rng.below(candidates.len())];
                    n += 1;
                    let client_id = format!("{run_id}-{n}");
                    in_flight.insert(s);
                    sent_at.insert(client_id.clone(), (Instant::now(), s, r));
                    let _ = sockets[s].tx.send(json!({"action": "message.send", "roomId": room_ids[r], "clientId": client_id, "content": format!("load message {n}")}).to_string());
                }
            }
            ev = erx.recv() => match ev {
                Some(Event::Frame { socket, at, frame }) => match frame["type"].as_str() {
                    Some("ack") => {
                        let id = frame["clientId"].as_str().unwrap_or_default().to_string();
                        if let Some((t, s, r)) = sent_at.get(&id) {
                            expected_total += members[*r].len() - 1;
                            acked.insert(id, (frame["message"]["seq"].as_u64().unwrap_or(0), at.duration_since(*t).as_secs_f64() * 1000.0));
                            in_flight.remove(s);
                        }
                    }
                    Some("message.new") => {
                        if let Some(r) = frame["message"]["roomId"].as_str().and_then(|r| room_of.get(r)) {
                            delivery_total += 1;
                            deliveries.entry((*r, frame["message"]["seq"].as_u64().unwrap_or(0))).or_default().push((socket, at));
                        }
                    }
                    Some("error") => {
                        *errors.entry(frame["code"].as_str().unwrap_or("?").to_string()).or_default() += 1;
                        in_flight.remove(&socket);
                    }
                    None if frame["message"].is_string() => {
                        // API Gateway's own error frame (e.g. a throttled function).
                        *errors.entry(frame["message"].as_str().unwrap_or_default().to_string()).or_default() += 1;
                        in_flight.remove(&socket);
                    }
                    _ => {}
                },
                Some(Event::Closed) => closed += 1,
                None => break,
            },
        }
    }
    let elapsed = send_start.elapsed().as_secs_f64();
    drop(sockets);

    // What came of it.
    let mut ack_ms: Vec<f64> = acked.values().map(|(_, ms)| *ms).collect();
    ack_ms.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let mut delivered_ms = Vec::new();
    let (mut lost, mut duplicated, mut expected) = (0u64, 0u64, 0u64);
    for (id, (seq, _)) in &acked {
        let (t, s, r) = sent_at[id];
        let want: HashSet<usize> = members[r].iter().copied().filter(|m| *m != s).collect();
        expected += want.len() as u64;
        let got = deliveries.get(&(r, *seq)).cloned().unwrap_or_default();
        let mut seen = HashSet::new();
        for (receiver, at) in got {
            if !seen.insert(receiver) {
                duplicated += 1;
            } else if want.contains(&receiver) {
                delivered_ms.push(at.duration_since(t).as_secs_f64() * 1000.0);
            }
        }
        lost += want.difference(&seen).count() as u64;
    }
    delivered_ms.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let summary = json!({
        "sockets": a.sockets, "rooms": a.rooms, "rate": a.rate, "seconds": (elapsed * 10.0).round() / 10.0,
        "connectSeconds": (connect_secs * 10.0).round() / 10.0,
        "sent": sent_at.len(), "acked": acked.len(), "errors": errors, "unanswered": sent_at.len() - acked.len() - errors.values().sum::<u64>() as usize,
        "ackP50Ms": percentile(&ack_ms, 0.5).round(), "ackP99Ms": percentile(&ack_ms, 0.99).round(),
        "deliveredP50Ms": percentile(&delivered_ms, 0.5).round(), "deliveredP99Ms": percentile(&delivered_ms, 0.99).round(),
        "deliveries": delivered_ms.len(), "expectedDeliveries": expected, "deliveriesPerSecond": (delivered_ms.len() as f64 / elapsed).round(),
        "lost": lost, "duplicated": duplicated, "socketsClosed": closed,
    });
    Ok(summary)
}

/// `chatctl fanout`: how much longer the last of N recipients waits than the only recipient of a
/// direct room. Sequential sends (one at a time), each timed from send to ack and to the last
/// `message.new`, in a direct room and in a group of `members`.
pub async fn fanout(url: &str, secret: &str, members: usize, sends: usize) -> Result<Value, String> {
    let run_id = chat::ids::ulid(chat::clock::Clock::now_ms(&chat::clock::SystemClock))[20..].to_ascii_lowercase();
    let users: Vec<String> = (0..members.max(2)).map(|i| format!("fan{run_id}-{i}")).collect();
    let (etx, mut erx) = mpsc::unbounded_channel::<Event>();
    let now = chat::clock::Clock::now_ms(&chat::clock::SystemClock) / 1000;
    let mut sockets = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let token = chat::auth::mint_hs256(
            secret.as_bytes(),
            &chat::auth::Claims {
                sub: u.clone(),
                name: None,
                role: Some("user".into()),
                exp: now + 3600,
                iat: Some(now),
                iss: None,
                aud: None,
                nbf: None,
            },
        );
        sockets.push(open(url, &token, i, etx.clone()).await?);
    }
    // Rooms: a direct room (1 recipient) and a group of everyone (members - 1 recipients).
    sockets[0]
        .tx
        .send(json!({"action": "room.create", "type": "direct", "members": [users[1]], "ref": "dm"}).to_string())
        .map_err(|e| e.to_string())?;
    sockets[0]
        .tx
        .send(json!({"action": "room.create", "type": "group", "name": "Fan-out", "members": users[1..], "ref": "group"}).to_string())
        .map_err(|e| e.to_string())?;
    let (mut dm, mut group) = (None, None);
    let mut joined = 0;
    while dm.is_none() || group.is_none() || joined < users.len() - 1 + 1 {
        match tokio::time::timeout(Duration::from_secs(60), erx.recv()).await {
            Ok(Some(Event::Frame { frame, .. })) => match (frame["type"].as_str(), frame["ref"].as_str()) {
                (Some("room.created"), Some("dm")) => dm = frame["room"]["roomId"].as_str().map(str::to_string),
                (Some("room.created"), Some("group")) => group = frame["room"]["roomId"].as_str().map(str::to_string),
                (Some("room.joined"), _) => joined += 1,
                _ => {}
            },
            _ => return Err("rooms not created".into()),
        }
    }
    let mut out = serde_json::Map::new();
    for (label, room, recipients) in [("direct", dm.unwrap(), 1usize), ("group", group.unwrap(), users.len() - 1)] {
        let (mut acks, mut lasts) = (Vec::new(), Vec::new());
        for k in 0..sends {
            let id = format!("{label}-{k}");
            let t = Instant::now();
            sockets[0]
                .tx
                .send(json!({"action": "message.send", "roomId": room, "clientId": id, "content": "fan-out check"}).to_string())
                .map_err(|e| e.to_string())?;
            let (mut ack, mut got) = (None, 0);
            let mut last = t;
            while ack.is_none() || got < recipients {
                match tokio::time::timeout(Duration::from_secs(30), erx.recv()).await {
                    Ok(Some(Event::Frame { at, frame, .. })) => match frame["type"].as_str() {
                        Some("ack") if frame["clientId"] == json!(id) => ack = Some(at),
                        Some("message.new") if frame["message"]["clientId"] == json!(id) => {
                            got += 1;
                            last = last.max(at);
                        }
                        _ => {}
                    },
                    _ => return Err(format!("{label}: message {k} not delivered in 30 s ({got} of {recipients})")),
                }
            }
            acks.push(ack.unwrap().duration_since(t).as_secs_f64() * 1000.0);
            lasts.push(last.duration_since(t).as_secs_f64() * 1000.0);
        }
        acks.sort_by(|x, y| x.partial_cmp(y).unwrap());
        lasts.sort_by(|x, y| x.partial_cmp(y).unwrap());
        out.insert(label.into(), json!({ "recipients": recipients, "ackP50Ms": (percentile(&acks, 0.5) * 10.0).round() / 10.0, "lastDeliveryP50Ms": (percentile(&lasts, 0.5) * 10.0).round() / 10.0, "lastDeliveryP90Ms": (percentile(&lasts, 0.9) * 10.0).round() / 10.0 }));
    }
    let ratio = |o: &serde_json::Map<String, Value>| {
        let after_ack = |k: &str| o[k]["lastDeliveryP50Ms"].as_f64().unwrap_or(0.0) - o[k]["ackP50Ms"].as_f64().unwrap_or(0.0);
        (
            o["group"]["lastDeliveryP50Ms"].as_f64().unwrap_or(0.0) / o["direct"]["lastDeliveryP50Ms"].as_f64().unwrap_or(1.0),
            after_ack("group"),
            after_ack("direct"),
        )
    };
    let (r, g, d) = ratio(&out);
    out.insert("lastOfGroupOverOnlyOfDirect".into(), json!((r * 100.0).round() / 100.0));
    out.insert("afterAckMs".into(), json!({"group": (g * 10.0).round() / 10.0, "direct": (d * 10.0).round() / 10.0}));
    Ok(Value::Object(out))
}
