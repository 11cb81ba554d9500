//! The site's settings: one versioned document (`DeskStore`, `doc#settings`) the site's backend
//! writes (`PUT /support/settings`, a `service` token or an admin) and the widget reads
//! (`GET /support/settings`: public, cacheable, with an ETag) — the brand, texts and languages,
//! the pre-chat form, business hours and what happens when the team is away. Changing them needs
//! no deploy.
//!
//! The server applies the hours too ([`is_open`]): outside them a new session raises no alert, and
//! with `awayBehavior: "hide"` `support.start` is refused.

use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DOC: &str = "settings";
pub const LANGUAGES: [&str; 7] = ["en", "ru", "de", "fr", "es", "pt", "ar"];
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_TEXT_KEYS: usize = 100;
const MAX_HOLIDAYS: usize = 100;
const MAX_INTERVALS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Right,
    Left,
}

/// What the widget does while the team is away (outside hours, or nobody online).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AwayBehavior {
    /// Say so, with the next opening time, and keep the conversation.
    Message,
    /// An e-mail form instead of the composer.
    Email,
    /// No bubble at all (and `support.start` is refused outside hours).
    Hide,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interval {
    /// `HH:MM`, 24-hour clock.
    pub open: String,
    /// `HH:MM` after `open`; `24:00` is the end of the day.
    pub close: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BusinessHours {
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Opening intervals per weekday (`mon` … `sun`); a day not listed is closed.
    #[serde(default)]
    pub days: BTreeMap<String, Vec<Interval>>,
    /// Closed dates (`YYYY-MM-DD`, in the time zone).
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldName {
    Name,
    Email,
    Phone,
    Choice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormField {
    pub name: FieldName,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The choices of a `choice` field (1 to 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreChatForm {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub fields: Vec<FormField>,
}

/// Every field is optional: the widget's defaults fill the rest, `data-*` attributes override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_avatar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
    /// Text overrides per language: `{"de": {"title": "Hilfe"}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_chat_form: Option<PreChatForm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_behavior: Option<AwayBehavior>,
    /// The site's page with the widget (https): e-mails to visitors link back to it, and the link
    /// reopens the conversation there. Only the site sets it, so no visitor can make the site's
    /// e-mails point elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
}

/// The stored settings, as `GET` answers them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Versioned {
    /// 0: never written (the defaults).
    pub version: u64,
    pub updated_at: u64,
    pub settings: Settings,
}

fn text(field: &str, v: &Option<String>, max: usize) -> Result<()> {
    if let Some(v) = v {
        if v.chars().count() > max || v.chars().any(char::is_control) {
            return Err(ChatError::invalid(field, format!("{field} is up to {max} characters without control characters")));
        }
    }
    Ok(())
}

fn minutes(field: &str, hhmm: &str) -> Result<u32> {
    let bad = || ChatError::invalid(field, format!("{field} is a time, HH:MM (00:00 to 24:00)"));
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Checks every field; the error names the first bad one.
pub fn validate(s: &Settings) -> Result<()> {
    if let Some(c) = &s.brand_color {
        if !(c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(ChatError::invalid("brandColor", "brandColor is #RRGGBB"));
        }
    }
    text("launcherLabel", &s.launcher_label, 40)?;
    text("teamName", &s.team_name, 60)?;
    text("greeting", &s.greeting, 500)?;
    text("teamAvatarUrl", &s.team_avatar_url, 2048)?;
    if let Some(u) = &s.team_avatar_url {
        if !u.starts_with("https://") {
            return Err(ChatError::invalid("teamAvatarUrl", "teamAvatarUrl is an https URL"));
        }
    }
    text("siteUrl", &s.site_url, 2048)?;
    if let Some(u) = &s.site_url {
        if !u.starts_with("https://") || u.contains('#') || u.chars().any(char::is_whitespace) {
            return Err(ChatError::invalid("siteUrl", "siteUrl is an https URL without a fragment"));
        }
    }
    if let Some(l) = &s.default_language {
        if !LANGUAGES.contains(&l.as_str()) {
            return Err(ChatError::invalid("defaultLanguage", format!("defaultLanguage is one of {}", LANGUAGES.join(", "))));
        }
    }
    for (lang, texts) in &s.texts {
        let field = format!("texts.{lang}");
        if !LANGUAGES.contains(&lang.as_str()) {
            return Err(ChatError::invalid(&field, format!("texts are given for {}", LANGUAGES.join(", "))));
        }
        if texts.len() > MAX_TEXT_KEYS {
            return Err(ChatError::invalid(&field, format!("at most {MAX_TEXT_KEYS} texts per language")));
        }
        for (k, v) in texts {
            if k.is_empty() || k.len() > 64 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
                return Err(ChatError::invalid(&field, "text keys are 1 to 64 letters, digits, '.', '_' or '-'"));
            }
            text(&format!("{field}.{k}"), &Some(v.clone()), 500)?;
        }
    }
    if let Some(f) = &s.pre_chat_form {
        if f.fields.len() > 4 {
            return Err(ChatError::invalid("preChatForm.fields", "at most 4 fields: name, email, phone and one choice"));
        }
        for (i, x) in f.fields.iter().enumerate() {
            let field = format!("preChatForm.fields[{i}]");
            if f.fields[..i].iter().any(|y| y.name == x.name) {
                return Err(ChatError::invalid(&field, "each field is asked once"));
            }
            text(&format!("{field}.label"), &x.label, 100)?;
            match (x.name, x.options.len()) {
                (FieldName::Choice, 1..=10) => {}
                (FieldName::Choice, _) => return Err(ChatError::invalid(&field, "a choice has 1 to 10 options")),
                (_, 0) => {}
                _ => return Err(ChatError::invalid(&field, "only a choice has options")),
            }
            for o in &x.options {
                if o.trim().is_empty() {
                    return Err(ChatError::invalid(&field, "options are not empty"));
                }
                text(&format!("{field}.options"), &Some(o.clone()), 100)?;
            }
        }
    }
    if let Some(h) = &s.business_hours {
        if jiff::tz::TimeZone::get(&h.time_zone).is_err() {
            return Err(ChatError::invalid("businessHours.timeZone", "timeZone is an IANA time zone name, e.g. Europe/Berlin"));
        }
        for (day, intervals) in &h.days {
            let field = format!("businessHours.days.{day}");
            if !DAYS.contains(&day.as_str()) {
                return Err(ChatError::invalid(&field, "days are mon, tue, wed, thu, fri, sat, sun"));
            }
            if intervals.len() > MAX_INTERVALS {
                return Err(ChatError::invalid(&field, format!("at most {MAX_INTERVALS} intervals a day")));
            }
            for i in intervals {
                if minutes(&field, &i.open)? >= minutes(&field, &i.close)? {
                    return Err(ChatError::invalid(&field, "an interval opens before it closes"));
                }
            }
        }
        if h.holidays.len() > MAX_HOLIDAYS {
            return Err(ChatError::invalid("businessHours.holidays", format!("at most {MAX_HOLIDAYS} holidays")));
        }
        for d in &h.holidays {
            super::reports::parse_day("businessHours.holidays", d)?;
        }
    }
    Ok(())
}

/// The pre-chat form's answers as a new session brings them (the page's attributes `email`,
/// `phone`, `choice`), checked like the widget checks them: an e-mail's shape, a phone's
/// characters, a choice among the options. Required-ness is the widget's to ask: a visitor the site
/// signed in may rightly come without the form.
pub fn check_pre_chat(s: &Settings, attributes: &BTreeMap<String, String>) -> Result<()> {
    let Some(form) = s.pre_chat_form.as_ref().filter(|f| f.enabled) else { return Ok(()) };
    let asked = |n: FieldName| form.fields.iter().find(|f| f.name == n);
    if let (Some(_), Some(e)) = (asked(FieldName::Email), attributes.get("email")) {
        let ok = e.len() <= 254
            && !e.chars().any(char::is_whitespace)
            && e.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            });
        if !ok {
            return Err(ChatError::invalid("context.attributes.email", "email is an e-mail address"));
        }
    }
    if let (Some(_), Some(p)) = (asked(FieldName::Phone), attributes.get("phone")) {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(5..=32).contains(&digits) || !p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            return Err(ChatError::invalid("context.attributes.phone", "phone is 5 to 32 digits, with + - ( ) . or spaces"));
        }
    }
    if let (Some(f), Some(c)) = (asked(FieldName::Choice), attributes.get("choice")) {
        if !f.options.iter().any(|o| o == c) {
            return Err(ChatError::invalid("context.attributes.choice", "choice is one of the form's options"));
        }
    }
    Ok(())
}

/// Whether the team is open at `now_ms` by these settings (no hours: always).
pub fn is_open(s: &Settings, now_ms: u64) -> bool {
    let Some(h) = &s.business_hours else { return true };
    let Ok(tz) = jiff::tz::TimeZone::get(&h.time_zone) else { return true };
    let Ok(ts) = jiff::Timestamp::from_millisecond(now_ms as i64) else { return true };
    let local = ts.to_zoned(tz);
    let date = local.date();
    let day = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
    if h.holidays.contains(&day) {
        return false;
    }
    let weekday = DAYS[local.weekday().to_monday_zero_offset() as usize];
    let now = local.hour() as u32 * 60 + local.minute() as u32;
    h.days.get(weekday).is_some_and(|intervals| {
        intervals.iter().any(|i| match (minutes("", &i.open), minutes("", &i.close)) {
            (Ok(a), Ok(b)) => a <= now && now < b,
            _ => false,
        })
    })
}

/// The stored settings (defaults, version 0, when none were written).
pub async fn get(app: &App) -> Result<Versioned> {
    Ok(match app.store.get_doc(DOC).await? {
        None => Versioned { version: 0, updated_at: 0, settings: Settings::default() },
        Some(doc) => Versioned {
            version: doc.version,
            updated_at: doc.updated_at,
            settings: serde_json::from_str(&doc.body).map_err(|e| ChatError::Internal(format!("settings: {e}")))?,
        },
    })
}

/// Replaces the settings (the site or an admin): a new version. `expected`: the version the
/// writer read (`If-Match`); another write since is a `conflict`.
pub async fn put(app: &App, actor: &Actor, settings: Settings, expected: Option<u64>) -> Result<Versioned> {
    if !actor.role.manages_team() {
        return Err(ChatError::Forbidden("the site's settings are written by the site (service token) or an admin".into()));
    }
    validate(&settings)?;
    let body = serde_json::to_string(&settings).expect("serializes");
    let now = app.now();
    for _ in 0..5 {
        let current = app.store.get_doc(DOC).await?.map_or(0, |d| d.version);
        if expected.is_some_and(|e| e != current) {
            return Err(ChatError::Conflict(format!("the settings are at version {current} now; read them again")));
        }
        if app.store.put_doc(DOC, &body, current, now).await? {
            return Ok(Versioned { version: current + 1, updated_at: now, settings });
        }
        if expected.is_some() {
            return Err(ChatError::Conflict("the settings were changed meanwhile; read them again".into()));
        }
    }
    Err(ChatError::Conflict("the settings are being changed by others; try again".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(json: serde_json::Value) -> Settings {
        serde_json::from_value(serde_json::json!({ "businessHours": json })).unwrap()
    }

    #[test]
    fn hours_follow_the_sites_time_zone_days_and_holidays() {
        let s = hours(serde_json::json!({
            "timeZone": "Europe/Berlin",
            "days": {"mon": [{"open": "09:00", "close": "12:00"}, {"open": "13:00", "close": "17:30"}], "sat": [{"open": "10:00", "close": "24:00"}]},
            "holidays": ["2026-12-28"]
        }));
        validate(&s).unwrap();
        let at = |iso: &str| iso.parse::<jiff::Timestamp>().unwrap().as_millisecond() as u64;
        // Monday 7 December 2026; Berlin is UTC+1 in winter.
        assert!(is_open(&s, at("2026-12-07T08:00:00Z")), "09:00 in Berlin");
        assert!(!is_open(&s, at("2026-12-07T07:59:00Z")), "08:59");
        assert!(!is_open(&s, at("2026-12-07T11:30:00Z")), "12:30: lunch");
        assert!(!is_open(&s, at("2026-12-07T16:30:00Z")), "17:30 closes");
        assert!(!is_open(&s, at("2026-12-08T10:00:00Z")), "Tuesday: closed");
        assert!(is_open(&s, at("2026-12-12T22:59:00Z")), "Saturday 23:59");
        assert!(!is_open(&s, at("2026-12-28T10:00:00Z")), "a holiday (a Monday)");
        // Summer time: UTC+2.
        assert!(is_open(&s, at("2026-06-01T07:00:00Z")), "Monday 1 June, 09:00 in Berlin");
        assert!(is_open(&Settings::default(), 0), "no hours: always open");
    }

    #[test]
    fn the_pre_chat_answers_are_checked_like_the_widget_checks_them() {
        let s: Settings = serde_json::from_value(serde_json::json!({"preChatForm": {"enabled": true, "fields": [
            {"name": "email", "required": true}, {"name": "phone"}, {"name": "choice", "options": ["Orders", "Returns"]}
        ]}}))
        .unwrap();
        let a = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        check_pre_chat(&s, &a(&[("email", "vera@example.com"), ("phone", "+49 (30) 123-456"), ("choice", "Returns")])).unwrap();
        check_pre_chat(&s, &a(&[])).unwrap();
        for (bad, field) in [
            (("email", "vera@example"), "email"),
            (("email", "v era@x.com"), "email"),
            (("phone", "12"), "phone"),
            (("phone", "12345abc"), "phone"),
            (("choice", "Other"), "choice"),
        ] {
            let e = check_pre_chat(&s, &a(&[bad])).unwrap_err();
            assert_eq!(e.field(), Some(format!("context.attributes.{field}")), "{bad:?}");
        }
        // A form that does not ask for it checks nothing; a disabled form neither.
        check_pre_chat(&Settings::default(), &a(&[("email", "not an address")])).unwrap();
    }

    #[test]
    fn bad_settings_name_their_field() {
        let bad = |json: serde_json::Value, field: &str| {
            let s: Settings = serde_json::from_value(json.clone()).unwrap();
            let e = validate(&s).unwrap_err();
            assert_eq!(e.field().as_deref(), Some(field), "{json}: {e:?}");
        };
        bad(serde_json::json!({"brandColor": "blue"}), "brandColor");
        bad(serde_json::json!({"teamAvatarUrl": "http://x"}), "teamAvatarUrl");
        bad(serde_json::json!({"defaultLanguage": "it"}), "defaultLanguage");
        bad(serde_json::json!({"texts": {"it": {"title": "x"}}}), "texts.it");
        bad(serde_json::json!({"businessHours": {"timeZone": "Mars/Olympus"}}), "businessHours.timeZone");
        bad(
            serde_json::json!({"businessHours": {"timeZone": "UTC", "days": {"mon": [{"open": "17:00", "close": "09:00"}]}}}),
            "businessHours.days.mon",
        );
        bad(
            serde_json::json!({"businessHours": {"timeZone": "UTC", "days": {"mon": [{"open": "9:00", "close": "17:00"}]}}}),
            "businessHours.days.mon",
        );
        bad(serde_json::json!({"businessHours": {"timeZone": "UTC", "holidays": ["2026-02-30"]}}), "businessHours.holidays");
        bad(serde_json::json!({"preChatForm": {"enabled": true, "fields": [{"name": "choice"}]}}), "preChatForm.fields[0]");
        bad(
            serde_json::json!({"preChatForm": {"enabled": true, "fields": [{"name": "email"}, {"name": "email"}]}}),
            "preChatForm.fields[1]",
        );
    }
}
