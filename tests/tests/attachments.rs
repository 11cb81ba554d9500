//! Attachments over real HTTP and sockets: presigned uploads to the template's bucket (moto's S3),
//! the server's own check of every upload before a message names it, members-only downloads.

use chat_tests::{direct, http, rest, uid, TestStack};
use serde_json::{json, Value};

fn token(s: &TestStack, sub: &str) -> String {
    s.token(sub, Some(sub), "user")
}

async fn upload_url(s: &TestStack, tok: &str, room: &str, name: &str, size: usize, mime: &str) -> chat_tests::HttpReply {
    rest("POST", &format!("{}/chats/{room}/uploads", s.api()), Some(tok), Some(&json!({"name": name, "size": size, "mimeType": mime})))
        .await
}

/// Asks for an upload URL and uploads `bytes` through it (declaring `size` and `mime`).
async fn upload(s: &TestStack, tok: &str, room: &str, name: &str, bytes: &[u8], mime: &str) -> Value {
    let r = upload_url(s, tok, room, name, bytes.len(), mime).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let u = r.json();
    assert_eq!(u["method"], "PUT");
    let headers: Vec<(String, String)> =
        u["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let put = http("PUT", u["url"].as_str().unwrap(), &h, Some(bytes)).await;
    assert!(put.status == 200 || put.status == 204, "upload: {} {}", put.status, put.body);
    json!({"key": u["key"], "name": name, "size": bytes.len(), "mimeType": mime})
}

fn sha(b: &[u8]) -> String {
    // FNV-1a 64 is enough to tell the bytes apart here.
    let mut h: u64 = 0xcbf29ce484222325;
    for x in b {
        h ^= *x as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[tokio::test]
async fn a_file_uploaded_through_a_presigned_url_reaches_the_other_member_byte_for_byte() {
    let s = TestStack::chat().await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    let mut b = s.user(&bob).await;
    let room = direct(&mut a, &bob).await;
    // A PNG's header (640 × 480) and then noise: the server reads the size from the header.
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&640u32.to_be_bytes());
    bytes.extend_from_slice(&480u32.to_be_bytes());
    bytes.extend((bytes.len() as u32..70_000u32).map(|i| (i * 7 + i / 13) as u8));
    let att = upload(&s, &token(&s, &alice), &room, "holiday photo.png", &bytes, "image/png").await;
    assert!(att["key"].as_str().unwrap().starts_with(&format!("uploads/{room}/")));

    let ack = a
        .request(json!({"action": "message.send", "roomId": room, "clientId": "f1", "kind": "image", "content": "", "attachments": [att]}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let stored = &ack["message"]["attachments"][0];
    let key = stored["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("rooms/{room}/")), "{key}");
    assert_eq!(
        (stored["name"].as_str(), stored["size"].as_u64(), stored["mimeType"].as_str()),
        (Some("holiday photo.png"), Some(70_000), Some("image/png"))
    );
    assert_eq!((stored["width"].as_u64(), stored["height"].as_u64()), (Some(640), Some(480)));
    let got = b.expect_type("message.new").await;
    assert_eq!(got["message"]["attachments"][0]["key"], json!(key));
    // The room list says "Photo" for a picture without a caption.
    let list = b.request(json!({"action": "room.list"})).await;
    assert_eq!(list["rooms"][0]["lastMessage"]["text"], "Photo");

    // Bob downloads the same bytes, named as sent.
    let d = rest("GET", &format!("{}/chats/{room}/attachments?key={}", s.api(), urlencode(&key)), Some(&token(&s, &bob)), None).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let file = http("GET", d.json()["url"].as_str().unwrap(), &[], None).await;
    assert_eq!(file.status, 200);
    assert_eq!(sha(&file.bytes), sha(&bytes));
    let cd = file.header("content-disposition").unwrap_or_default().to_string();
    assert!(cd.contains("holiday_photo.png") || cd.contains("holiday"), "{cd}");

    // A retry of the same clientId is the same message, not a second copy.
    let again = a
        .request(json!({"action": "message.send", "roomId": room, "clientId": "f1", "kind": "image", "content": "", "attachments": [att]}))
        .await;
    assert_eq!((again["duplicate"].as_bool(), again["message"]["seq"].as_u64()), (Some(true), ack["message"]["seq"].as_u64()));

    // A non-member gets nothing.
    let carol = uid("carol");
    let no = rest("GET", &format!("{}/chats/{room}/attachments?key={}", s.api(), urlencode(&key)), Some(&token(&s, &carol)), None).await;
    assert_eq!((no.status, no.json()["code"].as_str()), (403, Some("not_member")));
}

#[tokio::test]
async fn bad_uploads_and_lying_messages_are_refused_with_clear_errors() {
    let s = TestStack::chat().await;
    let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
    let mut a = s.user(&alice).await;
    let room = direct(&mut a, &bob).await;
    let other = direct(&mut a, &carol).await;
    let ta = token(&s, &alice);

    let big = upload_url(&s, &ta, &room, "huge.pdf", 26 * 1024 * 1024, "application/pdf").await;
    assert_eq!((big.status, big.json()["code"].as_str()), (413, Some("too_large")), "{}", big.body);
    let exe = upload_url(&s, &ta, &room, "setup.exe", 1000, "application/x-msdownload").await;
    assert_eq!((exe.status, exe.json()["field"].as_str()), (400, Some("mimeType")), "{}", exe.body);
    let outsider = upload_url(&s, &token(&s, &uid("dave")), &room, "a.txt", 10, "text/plain").await;
    assert_eq!((outsider.status, outsider.json()["code"].as_str()), (403, Some("not_member")));

    let code_field = |f: &Value| (f["code"].as_str().unwrap_or("").to_string(), f["field"].as_str().unwrap_or("").to_string());
    // An upload of another room cannot be sent here.
    let elsewhere = upload(&s, &ta, &other, "notes.txt", b"for carol", "text/plain").await;
    let f =
        a.request(json!({"action": "message.send", "roomId": room, "clientId": "x1", "kind": "file", "attachments": [elsewhere]})).await;
    assert_eq!(code_field(&f), ("not_found".into(), "attachments[0].key".into()), "{f}");
    // A key that was never uploaded.
    let ghost = json!({"key": format!("uploads/{room}/01KAXKQ5V6Z8R3N1M2P4T7W9Y0/ghost.txt"), "name": "ghost.txt", "size": 5, "mimeType": "text/plain"});
    let f = a.request(json!({"action": "message.send", "roomId": room, "clientId": "x2", "kind": "file", "attachments": [ghost]})).await;
    assert_eq!(code_field(&f), ("not_found".into(), "attachments[0].key".into()), "{f}");
    // A size that lies: 9 bytes uploaded, 900 declared.
    let mut liar = upload(&s, &ta, &room, "small.txt", b"nine byte", "text/plain").await;
    liar["size"] = json!(900);
    let f = a.request(json!({"action": "message.send", "roomId": room, "clientId": "x3", "kind": "file", "attachments": [liar]})).await;
    assert_eq!(code_field(&f), ("invalid_frame".into(), "attachments[0].size".into()), "{f}");
    // A type that lies, and a non-image as an image.
    let mut typed = upload(&s, &ta, &room, "t.txt", b"plain text", "text/plain").await;
    typed["mimeType"] = json!("application/pdf");
    let f = a.request(json!({"action": "message.send", "roomId": room, "clientId": "x4", "kind": "file", "attachments": [typed]})).await;
    assert_eq!(code_field(&f), ("invalid_frame".into(), "attachments[0].mimeType".into()), "{f}");
    let doc = upload(&s, &ta, &room, "d.txt", b"a document", "text/plain").await;
    let f = a.request(json!({"action": "message.send", "roomId": room, "clientId": "x5", "kind": "image", "attachments": [doc]})).await;
    assert_eq!(code_field(&f), ("invalid_frame".into(), "attachments[0].mimeType".into()), "{f}");
    // Nothing of that was stored, and the budget of the refused sends was given back: a real one
    // still goes through as seq 1.
    let ok = a.request(json!({"action": "message.send", "roomId": room, "clientId": "x6", "kind": "file", "content": "the notes", "attachments": [doc]})).await;
    assert_eq!((ok["type"].as_str(), ok["message"]["seq"].as_u64()), (Some("ack"), Some(1)), "{ok}");
    // A download key of another room names no file of this one.
    let d =
        rest("GET", &format!("{}/chats/{room}/attachments?key={}", s.api(), urlencode(&format!("rooms/{other}/x/y.txt"))), Some(&ta), None)
            .await;
    assert_eq!((d.status, d.json()["code"].as_str(), d.json()["field"].as_str()), (404, Some("not_found"), Some("key")));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
