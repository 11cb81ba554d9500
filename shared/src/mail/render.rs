//! The e-mails, in the visitor's language (the widget's seven), as HTML and plain text. Every
//! text from a person (names, messages, the team's name) is escaped; the link goes to the site's
//! own page (`siteUrl` in the settings, which only the site sets) and, for a guest, carries the
//! guest id in the fragment, which the widget there takes to reopen the conversation (a fragment
//! is never sent to a server, nor in a Referer).

use super::Email;
use crate::protocol::{Message, MessageKind, SupportSession};
use crate::support::settings::{Settings, LANGUAGES};

struct Texts {
    reply_subject: &'static str,
    transcript_subject: &'static str,
    reply_intro: &'static str,
    transcript_intro: &'static str,
    open: &'static str,
    you: &'static str,
    photo: &'static str,
    file: &'static str,
    why: &'static str,
}

const EN: Texts = Texts {
    reply_subject: "New reply from {team}",
    transcript_subject: "Your conversation with {team}",
    reply_intro: "{team} replied to you while you were away:",
    transcript_intro: "Here is your conversation with {team}.",
    open: "Continue the conversation",
    you: "You",
    photo: "Photo",
    file: "File",
    why: "You get this e-mail because you left your address in the chat on our site.",
};
const RU: Texts = Texts {
    reply_subject: "Новый ответ от {team}",
    transcript_subject: "Ваш разговор с {team}",
    reply_intro: "{team} ответили вам, пока вас не было:",
    transcript_intro: "Вот ваш разговор с {team}.",
    open: "Продолжить разговор",
    you: "Вы",
    photo: "Фото",
    file: "Файл",
    why: "Вы получили это письмо, потому что оставили свой адрес в чате на нашем сайте.",
};
const DE: Texts = Texts {
    reply_subject: "Neue Antwort von {team}",
    transcript_subject: "Ihr Gespräch mit {team}",
    reply_intro: "{team} hat Ihnen geantwortet, während Sie weg waren:",
    transcript_intro: "Hier ist Ihr Gespräch mit {team}.",
    open: "Gespräch fortsetzen",
    you: "Sie",
    photo: "Foto",
    file: "Datei",
    why: "Sie erhalten diese E-Mail, weil Sie Ihre Adresse im Chat auf unserer Website hinterlassen haben.",
};
const FR: Texts = Texts {
    reply_subject: "Nouvelle réponse de {team}",
    transcript_subject: "Votre conversation avec {team}",
    reply_intro: "{team} vous a répondu pendant votre absence :",
    transcript_intro: "Voici votre conversation avec {team}.",
    open: "Reprendre la conversation",
    you: "Vous",
    photo: "Photo",
    file: "Fichier",
    why: "Vous recevez cet e-mail parce que vous avez laissé votre adresse dans le chat de notre site.",
};
const ES: Texts = Texts {
    reply_subject: "Nueva respuesta de {team}",
    transcript_subject: "Tu conversación con {team}",
    reply_intro: "{team} te respondió mientras no estabas:",
    transcript_intro: "Aquí está tu conversación con {team}.",
    open: "Continuar la conversación",
    you: "Tú",
    photo: "Foto",
    file: "Archivo",
    why: "Recibes este correo porque dejaste tu dirección en el chat de nuestro sitio.",
};
const PT: Texts = Texts {
    reply_subject: "Nova resposta de {team}",
    transcript_subject: "A sua conversa com {team}",
    reply_intro: "{team} respondeu enquanto estava ausente:",
    transcript_intro: "Aqui está a sua conversa com {team}.",
    open: "Continuar a conversa",
    you: "Você",
    photo: "Foto",
    file: "Ficheiro",
    why: "Recebe este e-mail porque deixou o seu endereço no chat do nosso site.",
};
const AR: Texts = Texts {
    reply_subject: "رد جديد من {team}",
    transcript_subject: "محادثتك مع {team}",
    reply_intro: "رد عليك {team} أثناء غيابك:",
    transcript_intro: "إليك محادثتك مع {team}.",
    open: "متابعة المحادثة",
    you: "أنت",
    photo: "صورة",
    file: "ملف",
    why: "تلقيت هذه الرسالة لأنك تركت عنوانك في الدردشة على موقعنا.",
};

/// The visitor's language: the widget's locale at the start, else the site's default, else English.
pub fn language(settings: &Settings, session: &SupportSession) -> &'static str {
    let from_locale = session.context.locale.as_deref().and_then(|l| {
        let l = l.get(..2)?.to_ascii_lowercase();
        LANGUAGES.iter().copied().find(|x| *x == l)
    });
    from_locale.or_else(|| settings.default_language.as_deref().and_then(|l| LANGUAGES.iter().copied().find(|x| *x == l))).unwrap_or("en")
}

fn texts(lang: &str) -> &'static Texts {
    match lang {
        "ru" => &RU,
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        "pt" => &PT,
        "ar" => &AR,
        _ => &EN,
    }
}

/// HTML-escapes text (element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The link back to the site: `siteUrl#chat-resume=<guest id>` for a guest (the widget takes
/// the id and opens the conversation), `siteUrl#chat-open` for a visitor the site signed in.
pub fn link(settings: &Settings, session: &SupportSession) -> Option<String> {
    let base = settings.site_url.as_deref()?;
    let id = &session.visitor.user_id;
    let is_guest = id.len() == 34 && id.starts_with("g_") && id[2..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    Some(if is_guest { format!("{base}#chat-resume={id}") } else { format!("{base}#chat-open") })
}

fn team(settings: &Settings) -> String {
    settings.team_name.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "Support".into())
}

fn body_of(m: &Message, t: &Texts) -> String {
    let label = match m.kind {
        MessageKind::Image => Some(t.photo),
        MessageKind::File => Some(t.file),
        _ => None,
    };
    let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
    match (label, m.content.trim().is_empty()) {
        (Some(l), true) => format!("[{l}: {}]", names.join(", ")),
        (Some(l), false) => format!("[{l}: {}] {}", names.join(", "), m.content.trim()),
        (None, _) => m.content.trim().to_string(),
    }
}

fn who(m: &Message, session: &SupportSession, t: &Texts) -> String {
    if m.sender_id == session.visitor.user_id {
        return t.you.to_string();
    }
    m.sender_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Support".into())
}

fn build(settings: &Settings, session: &SupportSession, to: &str, subject: String, intro: String, messages: &[Message]) -> Email {
    let lang = language(settings, session);
    let t = texts(lang);
    let dir = if lang == "ar" { "rtl" } else { "ltr" };
    let color = settings.brand_color.clone().unwrap_or_else(|| "#2563eb".into());
    let link = link(settings, session);
    let mut html = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2937;margin:0;padding:24px;background:#f9fafb\">\
         <div style=\"max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px\">\
         <p style=\"margin:0 0 16px\">{}</p>",
        esc(&subject),
        esc(&intro)
    );
    let mut text = format!("{intro}\n\n");
    for m in messages {
        let (name, body) = (who(m, session, t), body_of(m, t));
        html.push_str(&format!(
            "<div style=\"margin:0 0 12px\"><div style=\"font-size:13px;color:#4b5563\">{}</div>\
             <div dir=\"auto\" style=\"white-space:pre-wrap;margin-top:2px\">{}</div></div>",
            esc(&name),
            esc(&body)
        ));
        text.push_str(&format!("{name}:\n{body}\n\n"));
    }
    if let Some(l) = &link {
        html.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"background:{};color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">{}</a></p>",
            esc(l),
            esc(&color),
            esc(t.open)
        ));
        text.push_str(&format!("{}: {l}\n\n", t.open));
    }
    html.push_str(&format!("<p style=\"font-size:12px;color:#4b5563;margin:16px 0 0\">{}</p></div></body></html>", esc(t.why)));
    text.push_str(t.why);
    text.push('\n');
    Email { to: to.to_string(), subject, html, text }
}

/// An operator's replies the visitor has not seen.
pub fn reply(settings: &Settings, session: &SupportSession, to: &str, replies: &[Message]) -> Email {
    let t = texts(language(settings, session));
    let team = team(settings);
    build(settings, session, to, t.reply_subject.replace("{team}", &team), t.reply_intro.replace("{team}", &team), replies)
}

/// The whole conversation (no internal notes: they are not in the room).
pub fn transcript(settings: &Settings, session: &SupportSession, to: &str, messages: &[Message]) -> Email {
    let t = texts(language(settings, session));
    let team = team(settings);
    build(settings, session, to, t.transcript_subject.replace("{team}", &team), t.transcript_intro.replace("{team}", &team), messages)
}
