use super::render;
use super::*;
use crate::protocol::{SessionStatus, UserRef, VisitorContext};
use crate::support::settings::Settings;

fn session(visitor: &str, locale: Option<&str>, email: &str) -> SupportSession {
    let mut context = VisitorContext { locale: locale.map(str::to_string), ..Default::default() };
    context.attributes.insert(EMAIL_ATTRIBUTE.into(), email.into());
    SupportSession {
        session_id: "sp_1".into(),
        status: SessionStatus::Active,
        visitor: UserRef { user_id: visitor.into(), name: Some("Vera".into()) },
        operator: Some(UserRef { user_id: "olga".into(), name: Some("Olga".into()) }),
        context,
        first_message: None,
        created_at: 1,
        accepted_at: Some(2),
        first_response_at: Some(3),
        closed_at: None,
        closed_by: None,
        resolution: None,
        rating: None,
    }
}

fn message(seq: u64, sender: &str, content: &str) -> Message {
    serde_json::from_value(serde_json::json!({
        "roomId": "sp_1", "seq": seq, "id": format!("m{seq}"), "senderId": sender, "senderName": "Olga <b>",
        "kind": "text", "content": content, "createdAt": seq
    }))
    .unwrap()
}

const GUEST: &str = "g_0123456789abcdef0123456789abcdef";

#[test]
fn a_reply_is_escaped_and_links_back_with_the_guest_id_in_the_fragment() {
    let settings =
        Settings { site_url: Some("https://shop.example/help".into()), team_name: Some("Shop & Co".into()), ..Default::default() };
    let e = render::reply(
        &settings,
        &session(GUEST, Some("en-GB"), "v@example.org"),
        "v@example.org",
        &[message(2, "olga", "<script>x</script> ok")],
    );
    assert_eq!(e.subject, "New reply from Shop & Co");
    assert!(e.html.contains("&lt;script&gt;x&lt;/script&gt; ok") && !e.html.contains("<script>"), "{}", e.html);
    assert!(e.html.contains("Olga &lt;b&gt;") && e.html.contains("Shop &amp; Co"));
    assert!(e.html.contains(&format!("href=\"https://shop.example/help#chat-resume={GUEST}\"")));
    assert!(e.text.contains("<script>x</script> ok") && e.text.contains(&format!("#chat-resume={GUEST}")));
}

#[test]
fn a_signed_in_visitor_gets_a_link_without_an_id_and_no_site_url_means_no_link() {
    let with = Settings { site_url: Some("https://shop.example/".into()), ..Default::default() };
    assert_eq!(render::link(&with, &session("user-42", None, "v@example.org")).as_deref(), Some("https://shop.example/#chat-open"));
    let e = render::reply(&Settings::default(), &session(GUEST, None, "v@example.org"), "v@example.org", &[message(2, "olga", "hi")]);
    assert!(!e.html.contains("href="));
}

#[test]
fn the_language_is_the_visitors_then_the_sites_then_english() {
    let de = Settings { default_language: Some("de".into()), ..Default::default() };
    assert_eq!(render::language(&de, &session(GUEST, Some("ar-EG"), "a@b.c")), "ar");
    assert_eq!(render::language(&de, &session(GUEST, Some("ja-JP"), "a@b.c")), "de");
    assert_eq!(render::language(&Settings::default(), &session(GUEST, None, "a@b.c")), "en");
    let e = render::transcript(&de, &session(GUEST, Some("ar"), "a@b.c"), "a@b.c", &[message(1, GUEST, "مرحبا")]);
    assert!(e.html.contains("dir=\"rtl\"") && e.html.contains("أنت") && e.subject.contains("محادثتك"));
}

#[test]
fn only_an_address_of_some_shape_is_mailed() {
    assert_eq!(address(&session(GUEST, None, " v@example.org ")), Some("v@example.org"));
    for bad in ["", "v", "v@localhost", "@example.org", "a b@example.org"] {
        assert_eq!(address(&session(GUEST, None, bad)), None, "{bad}");
    }
}
