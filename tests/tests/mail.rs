//! E-mail follow-up of support sessions (issue 20): the real functions on the local stack send
//! through the local services' SES (moto), and the test reads the sent e-mails back from it
//! (`/moto-api/data.json`). The mail function is fed by `MailTopic` (SNS), as on AWS.

use chat_tests::desk::{guest, operator};
use chat_tests::{eventually, rest, uid, Client, TestStack};
use serde_json::{json, Value};

/// The e-mails the local SES sent to `to`: (subject, HTML body).
async fn sent_to(s: &TestStack, to: &str) -> Vec<(String, String)> {
    let ses = s.aws.as_ref().and_then(|a| a.endpoint("SESV2")).expect("the local SES").to_string();
    let (status, body) = chat_tests::http_get(&format!("{ses}/moto-api/data.json")).await;
    assert_eq!(status, 200, "{body}");
    let data: Value = serde_json::from_str(&body).unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|x| x == to)))
        .map(|m| (m["subject"].as_str().unwrap_or_default().to_string(), m["body"].as_str().unwrap_or_default().to_string()))
        .collect()
}

async fn send(c: &mut Client, room: &str, content: &str, kind: &str) {
    let a = c.request(json!({"action": "message.send", "roomId": room, "clientId": uid("m"), "content": content, "kind": kind})).await;
    assert_eq!(a["type"], "ack", "{a}");
}

#[tokio::test]
async fn an_away_visitor_gets_the_reply_once_per_interval_and_the_transcript_never_a_note() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        eprintln!("reads the sent e-mails from moto: not on LocalStack");
        return;
    }
    let s = TestStack::chat().await;
    let site = s.token("shop", Some("Shop"), "service");
    let settings = json!({"siteUrl": "https://shop.example/help", "teamName": "Shop <Team>"});
    let r = rest("PUT", &format!("{}/support/settings", s.api()), Some(&site), Some(&settings)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let email = format!("{}@example.org", uid("vera"));
    let (mut v, guest_id, _) = guest(&s, "Vera").await;
    let started = v
        .request(json!({"action": "support.start", "content": "Hallo, wo ist mein Paket?", "clientId": uid("c"),
            "context": {"locale": "de-DE", "attributes": {"email": email, "transcript": "yes"}}}))
        .await;
    assert_eq!(started["type"], "session.started", "{started}");
    let sid = started["session"]["sessionId"].as_str().unwrap().to_string();
    let mut op = operator(&s, &uid("olga"), "Olga").await;
    let acc = op.request(json!({"action": "session.accept", "sessionId": sid})).await;
    assert_eq!(acc["type"], "session.accepted", "{acc}");
    v.expect_type("operator.joined").await;

    // While the visitor is connected: a reply, no e-mail. A note is never mailed.
    send(&mut op, &sid, "Einen Moment bitte", "text").await;
    let seen = v.expect(|f| f["type"] == "message.new" && f["message"]["content"] == "Einen Moment bitte").await;
    v.send(json!({"action": "read", "roomId": sid, "seq": seen["message"]["seq"]})).await;
    op.expect(|f| f["type"] == "read" && f["userId"] == json!(guest_id)).await;
    send(&mut op, &sid, "NOTE-7731 customer is angry", "note").await;

    // The visitor leaves; the operator's next reply is e-mailed, in German, escaped, with the link back.
    v.close(1000, "bye").await;
    op.expect(|f| f["type"] == "presence" && f["userId"] == json!(guest_id) && f["online"] == json!(false)).await;
    send(&mut op, &sid, "Ihr Paket kommt morgen <b>sicher</b>", "text").await;
    let mails = eventually("the reply e-mail", || async {
        let m = sent_to(&s, &email).await;
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (subject, html) = &mails[0];
    assert_eq!(subject, "Neue Antwort von Shop <Team>");
    assert!(html.contains("Ihr Paket kommt morgen &lt;b&gt;sicher&lt;/b&gt;"), "{html}");
    assert!(html.contains("Shop &lt;Team&gt; hat Ihnen geantwortet"), "{html}");
    assert!(html.contains(&format!("href=\"https://shop.example/help#chat-resume={guest_id}\"")), "{html}");
    assert!(!html.contains("Einen Moment bitte"), "what the visitor read is not mailed: {html}");
    assert!(!html.contains("NOTE-7731"), "a note was mailed: {html}");

    // A second reply inside EMAIL_INTERVAL_SECONDS: the mail function says why it sends nothing.
    send(&mut op, &sid, "Noch etwas?", "text").await;
    eventually("the mail function's decision on the second reply", || async {
        s.logs().contains("less than EMAIL_INTERVAL_SECONDS ago").then_some(())
    })
    .await;
    assert_eq!(sent_to(&s, &email).await.len(), 1);

    // The session closes: the transcript the visitor asked for, without the note.
    let closed = op.request(json!({"action": "session.close", "sessionId": sid})).await;
    assert_eq!(closed["type"], "session.closed", "{closed}");
    let mails = eventually("the transcript", || async {
        let m = sent_to(&s, &email).await;
        (m.len() >= 2).then_some(m)
    })
    .await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (subject, html) = &mails[1];
    assert_eq!(subject, "Ihr Gespräch mit Shop <Team>");
    for line in ["Hallo, wo ist mein Paket?", "Einen Moment bitte", "&lt;b&gt;sicher", "Noch etwas?", ">Sie<", ">Olga<"] {
        assert!(html.contains(line), "{line} is not in the transcript: {html}");
    }
    assert!(!html.contains("NOTE-7731"), "a note was in the transcript: {html}");
    assert!(s.logs().contains("sns -> MailFunction"), "the mail function was fed through MailTopic");
}
