//! `chatctl`: development tokens for the local stack, and a raw WebSocket client.
//!
//! ```text
//! chatctl token --sub alice [--name Alice] [--role user|operator|guest|service] [--ttl SECS] [--secret-file .local/dev-secret]
//! chatctl connect URL --sub alice [--name Alice] [--role ...]   # wscat-like: stdin lines out, frames in
//! chatctl load URL [--sockets 100] [--rooms 10] [--rate 20] [--duration 20] [--secret-file F | --secret S]
//! chatctl vapid [--subject mailto:ops@example.com] [--parameter /chat/vapid]
//! chatctl redrive QUEUE [--stack NAME]        # replays a dead-letter queue (docs/RUNBOOK.md)
//! chatctl smoke WS_URL HTTP_URL [--secret-file F | --secret S]   # the canary: every step timed
//! ```
//! `vapid` prints a new Web Push VAPID key pair as the JSON the `VapidParameterName` SSM parameter
//! holds, and the `aws ssm put-parameter` command that stores it.
//! `load` opens the sockets, puts them in group rooms, sends at the rate and prints one JSON line:
//! send→ack and send→delivered p50/p99, deliveries per second, lost and duplicated deliveries.
//! The secret is the local stack's development secret (`.local/dev-secret`, written by `chat-dev`),
//! or `CHAT_JWT_SECRET`. It is never used outside the local stack.

use chat::auth::{mint_hs256, Claims};
use futures_util::{SinkExt, StreamExt};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

const USAGE: &str = "usage:
  chatctl token --sub ID [--name NAME] [--role user|operator|guest|service] [--ttl SECS] [--secret-file FILE]
  chatctl connect WS_URL --sub ID [--name NAME] [--role ROLE] [--secret-file FILE]
  chatctl load WS_URL [--sockets N] [--rooms R] [--rate PER_SEC] [--duration SECS] [--connect-concurrency N] [--secret-file FILE | --secret S]
  chatctl fanout WS_URL [--members 50] [--sends 30] [--secret-file FILE | --secret S]   (last of N recipients vs one)
  chatctl vapid [--subject mailto:you@example.com] [--parameter /chat/vapid]   (a Web Push VAPID key pair for SSM)
  chatctl redrive QUEUE [--stack NAME]   (replays a dead-letter queue: a URL or a logical name such as FanoutDeadLetterQueue)
  chatctl smoke WS_URL HTTP_URL [--secret-file FILE | --secret S]   (the canary: chat, REST, a file, a support session; each step timed)";

/// A new VAPID key pair: its JSON on stdout, how to store it on stderr.
fn vapid(args: &mut impl Iterator<Item = String>) -> Result<(), String> {
    let (mut subject, mut parameter) = ("mailto:admin@example.com".to_string(), "/chat/vapid".to_string());
    while let Some(flag) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--subject" => subject = val()?,
            "--parameter" => parameter = val()?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let json = chat::push::webpush::VapidKeys::generate(&subject)?.to_json();
    println!("{json}");
    eprintln!("Store it (the private key stays in SSM; browsers get the public one from GET /push/key):");
    eprintln!("  aws ssm put-parameter --name {parameter} --type SecureString --value '{json}'");
    Ok(())
}

struct TokenArgs {
    sub: Option<String>,
    name: Option<String>,
    role: String,
    ttl: u64,
    secret_file: String,
}

fn parse_token_args(args: &mut impl Iterator<Item = String>) -> Result<TokenArgs, String> {
    let mut t = TokenArgs { sub: None, name: None, role: "user".into(), ttl: 24 * 3600, secret_file: ".local/dev-secret".into() };
    while let Some(flag) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--sub" => t.sub = Some(val()?),
            "--name" => t.name = Some(val()?),
            "--role" => t.role = val()?,
            "--ttl" => t.ttl = val()?.parse().map_err(|_| "--ttl takes seconds")?,
            "--secret-file" => t.secret_file = val()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !["user", "operator", "guest", "service"].contains(&t.role.as_str()) {
        return Err(format!("--role must be user, operator, guest or service, not {}", t.role));
    }
    Ok(t)
}

fn mint(t: &TokenArgs) -> Result<String, String> {
    let sub = t.sub.clone().ok_or("--sub is required")?;
    let secret = match std::env::var("CHAT_JWT_SECRET") {
        Ok(s) if !s.is_empty() => s,
        _ => std::fs::read_to_string(&t.secret_file).map(|s| s.trim().to_string()).map_err(|e| {
            format!("cannot read the development secret {}: {e} (start the local stack with `make dev` first)", t.secret_file)
        })?,
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let claims =
        Claims { sub, name: t.name.clone(), role: Some(t.role.clone()), exp: now + t.ttl, iat: Some(now), iss: None, aud: None, nbf: None };
    Ok(mint_hs256(secret.as_bytes(), &claims))
}

async fn connect(url: String, token: String) -> Result<(), String> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("{url}{sep}token={token}")).await.map_err(|e| format!("cannot connect to {url}: {e}"))?;
    eprintln!("connected; type JSON frames, one per line (e.g. {{\"action\":\"ping\"}}); Ctrl-D quits");
    let (mut tx, mut rx) = ws.split();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    // The heartbeat (the server closes sockets that miss 3): a ping every 25 s, its pong not shown.
    let mut beat = tokio::time::interval(std::time::Duration::from_secs(25));
    loop {
        tokio::select! {
            _ = beat.tick() => tx.send(Message::Text(r#"{"action":"ping","ref":"heartbeat"}"#.into())).await.map_err(|e| e.to_string())?,
            line = lines.next_line() => match line {
                Ok(Some(l)) if !l.trim().is_empty() => tx.send(Message::Text(l.into())).await.map_err(|e| e.to_string())?,
                Ok(Some(_)) => {}
                _ => { let _ = tx.send(Message::Close(None)).await; return Ok(()); }
            },
            frame = rx.next() => match frame {
                Some(Ok(Message::Text(t))) if t.contains(r#""ref":"heartbeat""#) => {}
                Some(Ok(Message::Text(t))) => println!("< {t}"),
                Some(Ok(Message::Close(c))) => { eprintln!("closed by the server: {c:?}"); return Ok(()); }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Ok(()),
            },
        }
    }
}

mod load;
mod redrive;
mod smoke;

fn parse_load(args: &mut impl Iterator<Item = String>) -> Result<load::LoadArgs, String> {
    let url = args.next().ok_or("load needs the ws:// or wss:// URL")?;
    let mut a = load::LoadArgs {
        url,
        sockets: 100,
        rooms: 10,
        rate: 20.0,
        duration: std::time::Duration::from_secs(20),
        secret: String::new(),
        connect_concurrency: 50,
    };
    let mut secret_file = ".local/dev-secret".to_string();
    while let Some(flag) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|_| format!("{flag} takes a number"));
        match flag.as_str() {
            "--sockets" | "--members" => a.sockets = num(val()?)? as usize,
            "--sends" => a.duration = std::time::Duration::from_secs_f64(num(val()?)?),
            "--rooms" => a.rooms = num(val()?)? as usize,
            "--rate" => a.rate = num(val()?)?,
            "--duration" => a.duration = std::time::Duration::from_secs_f64(num(val()?)?),
            "--connect-concurrency" => a.connect_concurrency = num(val()?)? as usize,
            "--secret-file" => secret_file = val()?,
            "--secret" => a.secret = val()?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.secret.is_empty() {
        a.secret = std::fs::read_to_string(&secret_file)
            .map_err(|e| format!("{secret_file}: {e} (start the local stack once, or pass --secret)"))?
            .trim()
            .to_string();
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("load") => match parse_load(&mut args) {
            Ok(a) => load::run(a).await.map(|summary| println!("{summary}")),
            Err(e) => Err(e),
        },
        Some("fanout") => match parse_load(&mut args) {
            Ok(mut a) => {
                if !std::env::args().any(|x| x == "--members") {
                    a.sockets = 50;
                }
                if !std::env::args().any(|x| x == "--sends") {
                    a.duration = std::time::Duration::from_secs(30);
                }
                load::fanout(&a.url, &a.secret, a.sockets, a.duration.as_secs() as usize).await.map(|summary| println!("{summary}"))
            }
            Err(e) => Err(e),
        },
        Some("vapid") => vapid(&mut args),
        Some("redrive") => redrive::run(&mut args).await.map(|summary| println!("{summary}")),
        Some("smoke") => match smoke::run(&mut args).await {
            Ok(summary) => {
                println!("{summary}");
                Ok(())
            }
            Err(report) => {
                println!("{report}");
                Err("the canary failed".into())
            }
        },
        Some("token") => parse_token_args(&mut args).and_then(|t| mint(&t)).map(|tok| println!("{tok}")),
        Some("connect") => match args.next() {
            Some(url) => match parse_token_args(&mut args).and_then(|t| mint(&t)) {
                Ok(tok) => connect(url, tok).await,
                Err(e) => Err(e),
            },
            None => Err("connect needs the ws:// URL".into()),
        },
        _ => Err(USAGE.to_string()),
    };
    if let Err(e) = result {
        eprintln!("chatctl: {e}");
        std::process::exit(2);
    }
}
