//! What the second round of attacks found, each over real sockets or real HTTP against a local
//! stack that behaves like AWS where it matters: the source address comes from the connection,
//! bodies past 10 MB get API Gateway's own 413, presigned S3 URLs hold only for what they were
//! signed for, an image's bytes must be what its type says, and one connection's flood neither
//! stalls others nor goes on forever. (Push endpoints: `push.rs`.)

use chat_tests::{direct, http, rest, uid, Client, StackSpec, TestStack, WAIT};

use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `X-Forwarded-For` is a header a client writes: the guest-token limit per address counts the
/// address the request came from, as API Gateway's `sourceIp` is the TCP peer.
#[tokio::test]
async fn the_source_address_is_the_connections_not_a_forwarded_header() {
    let s = TestStack::chat().await;
    let url = format!("{}/support/guest", s.api());
    let body = json!({"name": "Vera"}).to_string();
    let post = |xff: Option<String>| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
            if let Some(x) = &xff {
                h.push(("X-Forwarded-For", x));
            }
            http("POST", &url, &h, Some(body.as_bytes())).await
        }
    };
    for i in 0..20 {
        let r = post(None).await;
        assert_eq!(r.status, 201, "token {i}: {}", r.body);
    }
    assert_eq!(post(None).await.status, 429, "the 21st token of a minute from one address");
    for fake in ["203.0.113.7", "198.51.100.1, 203.0.113.9", "10.0.0.1", "::1", "garbage"] {
        let r = post(Some(fake.to_string())).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (429, Some("rate_limited")),
            "X-Forwarded-For: {fake} changed the source address: {}",
            r.body
        );
    }
}

/// Past API Gateway's 10 MB payload limit the answer is API Gateway's own JSON, not the local
/// server's text.
#[tokio::test]
async fn a_body_over_ten_megabytes_gets_api_gateways_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestStack::chat().await;
    let token = s.token(&uid("alice"), Some("Alice"), "user");
    let addr = s.api().strip_prefix("http://").unwrap().split('/').next().unwrap().to_string();
    for declared_only in [true, false] {
        let size = 10 * 1024 * 1024 + 1;
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!("POST /api/chats HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nConnection: close\r\n");
        let head = if declared_only {
            format!("{head}Content-Length: {size}\r\n\r\n")
        } else {
            format!("{head}Transfer-Encoding: chunked\r\n\r\n")
        };
        let (mut rd, mut wr) = sock.split();
        let write = async {
            let _ = wr.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len());
                let r = if declared_only {
                    wr.write_all(&chunk[..n]).await
                } else {
                    let framed = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
                    wr.write_all(&framed).await
                };
                if r.is_err() {
                    return; // the gateway answered and closed: fine
                }
                left -= n;
            }
            if !declared_only {
                let _ = wr.write_all(b"0\r\n\r\n").await;
            }
        };
        let mut out = Vec::new();
        let read = async {
            let _ = tokio::time::timeout(WAIT, rd.read_to_end(&mut out)).await;
        };
        tokio::join!(write, read);
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {text:?}"));
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
        let body = body.trim_start_matches(|c: char| c.is_ascii_hexdigit() || c == '\r' || c == '\n');
        assert!(body.starts_with("{\"message\":\"Request Entity Too Large\"}"), "{body:?}");
    }
}

async fn upload_url(s: &TestStack, tok: &str, room: &str, name: &str, size: usize, mime: &str) -> Value {
    let r =
        rest("POST", &format!("{}/chats/{room}/uploads", s.api()), Some(tok), Some(&json!({"name": name, "size": size, "mimeType": mime})))
            .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn signed_headers(u: &Value) -> Vec<(String, String)> {
    u["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

async fn put(url: &str, headers: &[(String, String)], method: &str, body: &[u8]) -> chat_tests::HttpReply {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http(method, url, &h, Some(body)).await
}

fn s3_code(r: &chat_tests::HttpReply) -> String {
    r.body.split("<Code>").nth(1).and_then(|c| c.split("</Code>").next()).unwrap_or_default().to_string()
}

/// A presigned upload URL holds for its method, path, content type and length, until it
/// expires; anything else is S3's 403 and nothing is written (the report: an upload URL with its
/// path changed to another room's stored key replaced that file).
#[tokio::test]
async fn presigned_urls_hold_only_for_what_they_were_signed_for() {
    let s = TestStack::chat().await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let ta = s.token(&alice, Some("Alice"), "user");
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    let theirs = direct(&mut a, &carol).await;
    // A file stored in the other room, the target of the attack.
    let body = b"carol's contract".to_vec();
    let u = upload_url(&s, &ta, &theirs, "contract.txt", body.len(), "text/plain").await;
    assert_eq!(put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", &body).await.status, 200);
    let ack = a.request(json!({"action": "message.send", "roomId": theirs, "clientId": "c1", "kind": "file", "content": "", "attachments": [{"key": u["key"], "name": "contract.txt", "size": body.len(), "mimeType": "text/plain"}]})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let stored = ack["message"]["attachments"][0]["key"].as_str().unwrap().to_string();

    let evil = b"replaced by mallory".to_vec();
    let mine = upload_url(&s, &ta, &room, "x.txt", evil.len(), "text/plain").await;
    let url = mine["url"].as_str().unwrap().to_string();
    let headers = signed_headers(&mine);
    let my_key = mine["key"].as_str().unwrap();
    // The path changed to the stored key of another room.
    let moved = url.replacen(
        &my_key.split('/').map(urlencode).collect::<Vec<_>>().join("/"),
        &stored.split('/').map(urlencode).collect::<Vec<_>>().join("/"),
        1,
    );
    assert_ne!(moved, url);
    let r = put(&moved, &headers, "PUT", &evil).await;
    assert_eq!((r.status, s3_code(&r).as_str()), (403, "SignatureDoesNotMatch"), "{}", r.body);
    // Another method.
    for m in ["POST", "DELETE", "GET"] {
        let r = put(&url, &headers, m, &evil).await;
        assert_eq!((r.status, s3_code(&r).as_str()), (403, "SignatureDoesNotMatch"), "{m}: {}", r.body);
    }
    // Another type.
    let typed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| if k.eq_ignore_ascii_case("content-type") { (k.clone(), "text/html".into()) } else { (k.clone(), v.clone()) })
        .collect();
    let r = put(&url, &typed, "PUT", b"<script>alert(1)</script>!!").await;
    assert_eq!((r.status, s3_code(&r).as_str()), (403, "SignatureDoesNotMatch"), "{}", r.body);
    // Another size (more bytes than signed, with the length they have).
    let bigger: Vec<(String, String)> = headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("content-length")).cloned().collect();
    let r = put(&url, &bigger, "PUT", &[evil.clone(), vec![b'!'; 1000]].concat()).await;
    assert_eq!((r.status, s3_code(&r).as_str()), (403, "SignatureDoesNotMatch"), "{}", r.body);
    // No signature at all.
    let bare = url.split('?').next().unwrap();
    let r = put(bare, &headers, "PUT", &evil).await;
    assert_eq!((r.status, s3_code(&r).as_str()), (403, "AccessDenied"), "{}", r.body);
    // The other room's file is untouched.
    let d = rest("GET", &format!("{}/chats/{theirs}/attachments?key={}", s.api(), urlencode(&stored)), Some(&ta), None).await;
    let file = http("GET", d.json()["url"].as_str().unwrap(), &[], None).await;
    assert_eq!((file.status, file.bytes.as_slice()), (200, body.as_slice()));
    // A download URL does not upload.
    let r = put(d.json()["url"].as_str().unwrap(), &headers, "PUT", &evil).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The URL as signed works (the control).
    assert_eq!(put(&url, &headers, "PUT", &evil).await.status, 200);

    // An expired URL: signed an hour ago for a minute.
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf).endpoint_url(s.stack.s3_url().expect("the stack has S3")).force_path_style(true).build(),
    );
    let bucket = s.stack.spec.functions["MessageFunction"].environment["ATTACHMENTS_BUCKET"].clone();
    let old = aws_sdk_s3::presigning::PresigningConfig::builder()
        .start_time(std::time::SystemTime::now() - Duration::from_secs(3600))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let p = s3.put_object().bucket(&bucket).key(my_key).content_type("text/plain").presigned(old).await.unwrap();
    let h: Vec<(String, String)> =
        p.headers().filter(|(k, _)| !k.eq_ignore_ascii_case("host")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let r = put(p.uri(), &h, "PUT", &evil).await;
    assert_eq!((r.status, s3_code(&r).as_str()), (403, "AccessDenied"), "{}", r.body);
    assert!(r.body.contains("Request has expired"), "{}", r.body);
}

/// HTML declared as a PNG is refused at send; a type a browser would run is stored (and so
/// downloaded) as bytes to save, never under its own type.
#[tokio::test]
async fn an_images_bytes_must_be_its_type_and_active_files_are_stored_inert() {
    let mut spec = StackSpec::default();
    spec.parameters.insert("AllowedUploadTypes".into(), "image/png,image/jpeg,text/plain,text/html,image/svg+xml".into());
    let s = TestStack::start(spec).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let ta = s.token(&alice, Some("Alice"), "user");
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    let send_file = |kind: &'static str, u: &Value, name: &str, size: usize, mime: &str| json!({"action": "message.send", "roomId": room, "clientId": uid("c"), "kind": kind, "content": "", "attachments": [{"key": u["key"], "name": name, "size": size, "mimeType": mime}]});

    let html = b"<html><body><script>alert(document.domain)</script></body></html>".to_vec();
    for (kind, mime) in [("image", "image/png"), ("file", "image/png"), ("file", "image/jpeg")] {
        let u = upload_url(&s, &ta, &room, "cat.png", html.len(), mime).await;
        assert_eq!(put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", &html).await.status, 200);
        let f = a.request(send_file(kind, &u, "cat.png", html.len(), mime)).await;
        assert_eq!(
            (f["code"].as_str(), f["field"].as_str()),
            (Some("invalid_frame"), Some("attachments[0].mimeType")),
            "{kind} {mime}: {f}"
        );
        assert!(f["message"].as_str().unwrap().contains("not an image"), "{f}");
    }
    // A JPEG declared as a PNG is not a PNG either.
    let jpeg = [&[0xff, 0xd8, 0xff, 0xe0][..], &[0u8; 60]].concat();
    let u = upload_url(&s, &ta, &room, "p.png", jpeg.len(), "image/png").await;
    put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", &jpeg).await;
    let f = a.request(send_file("image", &u, "p.png", jpeg.len(), "image/png")).await;
    assert_eq!(f["field"].as_str(), Some("attachments[0].mimeType"), "{f}");
    // An SVG is not an image message (scripts run in it).
    let u = upload_url(&s, &ta, &room, "logo.svg", 10, "image/svg+xml").await;
    put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", b"<svg></svg>"[..10].as_ref()).await;
    let f = a.request(send_file("image", &u, "logo.svg", 10, "image/svg+xml")).await;
    assert_eq!(f["field"].as_str(), Some("attachments[0].mimeType"), "{f}");

    // HTML the site allows as a file: stored and downloaded as application/octet-stream, as an
    // attachment.
    let u = upload_url(&s, &ta, &room, "page.html", html.len(), "text/html").await;
    assert_eq!(put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", &html).await.status, 200);
    let ack = a.request(send_file("file", &u, "page.html", html.len(), "text/html")).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["message"]["attachments"][0]["mimeType"], "text/html", "the message says what was sent");
    let key = ack["message"]["attachments"][0]["key"].as_str().unwrap();
    let d = rest("GET", &format!("{}/chats/{room}/attachments?key={}", s.api(), urlencode(key)), Some(&ta), None).await;
    let file = http("GET", d.json()["url"].as_str().unwrap(), &[], None).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("application/octet-stream"));
    assert!(file.header("content-disposition").unwrap_or_default().starts_with("attachment"), "{:?}", file.headers);
    assert_eq!(file.bytes, html);
    // A real PNG still goes through as an image.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 3, 8, 6, 0, 0, 0]);
    let u = upload_url(&s, &ta, &room, "dot.png", png.len(), "image/png").await;
    put(u["url"].as_str().unwrap(), &signed_headers(&u), "PUT", &png).await;
    let ok = a.request(send_file("image", &u, "dot.png", png.len(), "image/png")).await;
    assert_eq!((ok["type"].as_str(), ok["message"]["attachments"][0]["width"].as_u64()), (Some("ack"), Some(2)), "{ok}");
}

/// One connection sends 1,000 frames at once while another user pings: the flooder is told
/// (`rate_limited`), then cut off with a reason and kept from reconnecting for a while; the other
/// user's pings are all answered; nothing the flood sent past the limits was applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_connection_is_cut_off_and_stalls_nobody() {
    use chat::limits::{FRAMES_BEFORE_CLOSE, FRAMES_PER_WINDOW, PENALTY_BASE_SECS};
    let s = TestStack::chat().await;
    let (mallory, bob) = (uid("mallory"), uid("bob"));
    let mut m = s.user(&mallory).await;
    let room = direct(&mut m, &bob).await;
    let mut b = s.user(&bob).await;
    // Bob keeps talking to the server until the flood is over: a ping now and then (a client
    // sends one per heartbeat interval; more would be a flood of its own) and, in between,
    // presence queries five times a second; each answer's time is kept.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let bob_room = room.clone();
    let pinger = tokio::spawn(async move {
        let mut rtts = Vec::new();
        let mut i = 0;
        while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
            let t = Instant::now();
            let (frame, want) = if i % 20 == 0 {
                (json!({"action": "ping"}), "pong")
            } else {
                (json!({"action": "presence.query", "roomId": bob_room}), "presence.list")
            };
            let answer = b.request(frame).await;
            assert_eq!(answer["type"], want, "{answer}");
            rtts.push(t.elapsed());
            i += 1;
            tokio::time::sleep_until((t + Duration::from_millis(200)).into()).await;
        }
        (b, rtts)
    });
    // The flood: 1,000 sends, without waiting for anything.
    const FLOOD: usize = 1000;
    let started = Instant::now();
    let mut sent = 0;
    for i in 0..FLOOD {
        let f = json!({"action": "message.send", "roomId": room, "clientId": format!("f{i}"), "content": format!("flood {i}")});
        if m.send_raw(tokio_tungstenite::tungstenite::Message::Text(f.to_string().into())).await.is_err() {
            break; // closed under the flood: what should happen
        }
        sent += 1;
    }
    let why = m.wait_for(&|f: &Value| f["message"].as_str().is_some_and(|t| t.contains("reconnect in")), WAIT * 2).await;
    let why = why.unwrap_or_else(|| panic!("no frame said the flooding connection is closed ({sent} frames sent)"));
    m.expect_closed(WAIT).await;
    // What the functions answered (the stage's own throttling answers a burst past its limits
    // with API Gateway's {"message": "Too Many Requests"}, which has no type).
    let all = m.drain(Duration::ZERO).await;
    let throttled = all.iter().filter(|f| f["message"] == "Too Many Requests").count();
    let frames: Vec<Value> = all.into_iter().filter(|f| f.get("type").is_some()).collect();
    let cut_after = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut b, rtts) = pinger.await.unwrap();
    assert!(why["message"].as_str().unwrap().contains(&format!("reconnect in {PENALTY_BASE_SECS} s")), "{why}");
    let limited = frames.iter().filter(|f| f["code"] == "rate_limited").count();
    let acks = frames.iter().filter(|f| f["type"] == "ack").count();
    assert!(!frames.iter().any(|f| f["message"].as_str().is_some_and(|t| t.contains("reconnect in"))), "one frame says why");
    // Windows are fixed (10 s): a flood that straddles a window's end meets each bound twice at
    // most.
    assert!(acks <= 2 * FRAMES_PER_WINDOW as usize, "{acks} sends applied past the soft limit");
    assert!(limited >= (FRAMES_BEFORE_CLOSE - FRAMES_PER_WINDOW) as usize, "only {limited} rate_limited answers");
    assert!(
        frames.len() <= 2 * FRAMES_BEFORE_CLOSE as usize,
        "{} answers ({acks} acks, {limited} limited, cut after {cut_after:?}): frames past the cut were still served: {:?}",
        frames.len(),
        frames
            .iter()
            .map(|f| f["message"].as_str().unwrap_or("ack").chars().take(30).collect::<String>())
            .collect::<std::collections::BTreeSet<_>>()
    );
    // Nothing past the cut was stored: the room holds exactly the acked sends.
    let h = b.request(json!({"action": "history", "roomId": room, "limit": 100})).await;
    assert_eq!(h["messages"].as_array().unwrap().len(), acks, "{h}");
    // The flooder's user cannot come straight back.
    let again = Client::connect(&format!("{}?token={}", s.ws_url(), s.token(&mallory, Some("Mallory"), "user")), &[]).await;
    let err = again.err().expect("the reconnect is refused");
    assert!(err.contains("429"), "{err}");
    // Others can.
    let _carol = s.user(&uid("carol")).await;
    let worst = rtts.iter().max().copied().unwrap_or_default();
    assert!(!rtts.is_empty());
    println!("flood: {sent} frames sent, {throttled} refused by the stage's throttling, {acks} acked, {limited} rate_limited, cut off after {:.1} s; bob's pings: {} answered, worst {} ms", cut_after.as_secs_f64(), rtts.len(), worst.as_millis());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
