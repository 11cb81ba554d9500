//! The support desk's test actors: guests with tokens from `POST /support/guest`, operators
//! watching the queue, sessions started with a first message.

use crate::{rest, uid, Client, TestStack};
use serde_json::{json, Value};

/// A guest token from the REST API (as the widget gets it), and its socket.
pub async fn guest(s: &TestStack, name: &str) -> (Client, String, String) {
    let r = rest("POST", &format!("{}/support/guest", s.api()), None, Some(&json!({"name": name}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.json();
    let (token, id) = (g["token"].as_str().unwrap().to_string(), g["guestId"].as_str().unwrap().to_string());
    assert_eq!(g["wsUrl"].as_str(), Some(s.ws_url().as_str()));
    let c = Client::connect(&format!("{}?token={token}", s.ws_url()), &[]).await.unwrap();
    (c, id, token)
}

pub async fn operator(s: &TestStack, id: &str, name: &str) -> Client {
    let url = format!("{}?token={}", s.ws_url(), s.token(id, Some(name), "operator"));
    let mut c = Client::connect(&url, &[]).await.unwrap();
    let q = c.request(json!({"action": "support.queue"})).await;
    assert_eq!(q["type"], "queue.updated", "{q}");
    c
}

/// `support.start` with a first message: the session, then its queue position.
pub async fn start(c: &mut Client, content: &str) -> (Value, Value) {
    let started = c.request(json!({"action": "support.start", "content": content, "clientId": uid("c"), "context": {"url": "https://shop.example.com/cart", "locale": "en-GB"}})).await;
    assert_eq!(started["type"], "session.started", "{started}");
    let sid = started["session"]["sessionId"].as_str().unwrap().to_string();
    let pos = if started["session"]["status"] == "waiting" {
        c.expect(|f| f["type"] == "queue.position" && f["sessionId"] == json!(sid)).await
    } else {
        Value::Null
    };
    c.expect(|f| f["type"] == "ack").await;
    (started["session"].clone(), pos)
}

pub fn sid(session: &Value) -> String {
    session["sessionId"].as_str().unwrap().to_string()
}
