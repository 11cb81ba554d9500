//! `support.start` and `support.queue`: a visitor starts a session (a room of type `support`, id
//! `sp_<ulid>`) and waits in the queue; operators see the queue live. What follows is in
//! [`super::session`]; channels, the queue broadcast and the desk's connection hooks in
//! [`crate::support`].

use super::{check_content, check_id, check_ref};
use crate::alerts::Alert;
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{MemberRecord, Role, RoomConn, RoomRecord, StartOutcome};
use crate::protocol::*;
use crate::support::reports::{self, Event};
use crate::support::{adjust, estimate, online_operators, queue_changed, queue_frame, RECENT_WAITS, WAITING_CHANNEL};
use std::collections::BTreeSet;

const MAX_ATTRIBUTES: usize = 20;

pub(super) fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

pub(super) fn clean_opt(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if v.chars().count() > max => Err(ChatError::invalid(field, format!("{field} is longer than {max} characters"))),
        Some(v) => Ok(Some(clip(v.trim(), max)).filter(|v| !v.is_empty())),
    }
}

/// The visitor's page, checked: URLs http(s) up to 2,048 characters, at most 20 attributes.
fn clean_context(c: Option<VisitorContext>) -> Result<VisitorContext> {
    let Some(c) = c else { return Ok(VisitorContext::default()) };
    let url = |field: &str, v: Option<String>| -> Result<Option<String>> {
        let v = clean_opt(field, v, 2048)?;
        if let Some(u) = &v {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ChatError::invalid(field, format!("{field} must be an http or https URL")));
            }
        }
        Ok(v)
    };
    if c.attributes.len() > MAX_ATTRIBUTES {
        return Err(ChatError::invalid("context.attributes", format!("at most {MAX_ATTRIBUTES} attributes")));
    }
    for (k, v) in &c.attributes {
        if k.is_empty() || k.chars().count() > 64 || v.chars().count() > 256 {
            return Err(ChatError::invalid("context.attributes", "attribute names are 1 to 64 characters, values up to 256"));
        }
    }
    Ok(VisitorContext {
        url: url("context.url", c.url)?,
        referrer: url("context.referrer", c.referrer)?,
        user_agent: clean_opt("context.userAgent", c.user_agent, 512)?,
        locale: clean_opt("context.locale", c.locale, 35)?,
        attributes: c.attributes.into_iter().map(|(k, v)| (clip(&k, 64), clip(&v, 256))).collect(),
    })
}

pub(super) fn require_operator(caller: &Caller, what: &str) -> Result<()> {
    if !caller.role.is_operator() {
        return Err(ChatError::Forbidden(format!("only operators {what}")));
    }
    Ok(())
}

/// A session as the caller may see it: its visitor, an operator, or (waiting sessions) any
/// operator. Everyone else gets `not_member`, whether or not it exists.
pub(super) async fn session_for(app: &App, caller: &Caller, session_id: &str) -> Result<(RoomRecord, SupportSession)> {
    check_id("sessionId", session_id)?;
    let not_member = || ChatError::NotMember(session_id.to_string());
    let room = app.store.get_room(session_id).await?.ok_or_else(not_member)?;
    let session = room.support.clone().ok_or_else(not_member)?;
    let is_visitor = session.visitor.user_id == caller.user_id;
    let is_operator = caller.role.is_operator();
    if !is_visitor && !is_operator {
        return Err(not_member());
    }
    Ok((room, session))
}

pub(super) fn me(caller: &Caller) -> UserRef {
    UserRef { user_id: caller.user_id.clone(), name: caller.name.clone() }
}

/// `support.start`: the visitor's open session, or a new waiting one; then its queue position.
pub async fn start(app: &App, caller: &Caller, f: SupportStart) -> Result<()> {
    check_ref(&f.reference)?;
    if caller.role.is_operator() || caller.role == Role::Service {
        return Err(ChatError::Forbidden("operators answer support sessions; visitors start them".into()));
    }
    let context = clean_context(f.context)?;
    if let Some(c) = &f.content {
        check_content(c)?;
    }
    if let Some(id) = &f.client_id {
        check_id("clientId", id)?;
    }
    let now = app.now();
    let visitor = me(caller);
    // Outside the site's business hours nobody is alerted; with `awayBehavior: hide` no session starts.
    let mut hours_open = true;
    let (session_id, created) = match app.store.open_session(&caller.user_id).await? {
        Some(id) => (id, false),
        None => {
            let settings = crate::support::settings::get(app).await?.settings;
            hours_open = crate::support::settings::is_open(&settings, now);
            if !hours_open && settings.away_behavior == Some(crate::support::settings::AwayBehavior::Hide) {
                return Err(ChatError::Forbidden("the support team is closed now (the site's business hours); try again later".into()));
            }
            crate::support::settings::check_pre_chat(&settings, &context.attributes)?;
            let id = format!("sp_{}", ids::ulid(now));
            let mut room = RoomRecord::new(id.clone(), RoomType::Support, &caller.user_id, now, 1, 2);
            room.name = Some(caller.name.clone().unwrap_or_else(|| "Visitor".into()));
            room.support = Some(SupportSession {
                session_id: id.clone(),
                status: SessionStatus::Waiting,
                visitor: visitor.clone(),
                operator: None,
                context,
                first_message: f.content.as_deref().map(|c| clip(c, 200)),
                created_at: now,
                accepted_at: None,
                first_response_at: None,
                closed_at: None,
                closed_by: None,
                resolution: None,
                rating: None,
            });
            let member = MemberRecord::new(&room, &visitor, MemberRole::Member, now);
            match app.store.start_session(&room, &member).await? {
                StartOutcome::Created => (id, true),
                StartOutcome::Existing(other) => (other, false),
            }
        }
    };
    let room = app.store.get_room(&session_id).await?.ok_or_else(|| ChatError::Internal(format!("session {session_id} vanished")))?;
    let session = room.support.clone().ok_or_else(|| ChatError::Internal(format!("room {session_id} is no session")))?;
    let member = app.member_checked(&session_id, &caller.user_id).await?;
    let operators = online_operators(app).await?;
    let waiting = session.status == SessionStatus::Waiting;
    if created {
        // The visitor's live connections (this one and other tabs) hear the room's messages.
        app.register_members(&session_id, std::slice::from_ref(&caller.user_id)).await?;
        // The visitor's other tabs learn of the room like of any room joined.
        app.fanout_users([caller.user_id.as_str()], &ServerFrame::RoomJoined { room: room.view(&member) }, Some(&caller.connection_id))
            .await;
    }
    app.reply(
        caller,
        &ServerFrame::SessionStarted {
            reference: f.reference,
            session: session.clone(),
            room: room.view(&member),
            created,
            operators_online: operators.len() as u32,
        },
    )
    .await;
    if waiting {
        // Every tab of the visitor hears its queue position.
        let conns = app
            .store
            .get_users(std::slice::from_ref(&caller.user_id))
            .await?
            .into_iter()
            .flat_map(|u| u.conns)
            .chain([caller.connection_id.clone()])
            .collect::<BTreeSet<_>>();
        let until = now / 1000 + crate::app::CONNECTION_TTL_SECS;
        let entries: Vec<RoomConn> = conns
            .into_iter()
            .map(|c| RoomConn { room_id: WAITING_CHANNEL.into(), connection_id: c, user_id: caller.user_id.clone(), expires_at: until })
            .collect();
        app.store.register_connections(&entries).await?;
        let mut queue = app.store.queue().await?;
        adjust(&mut queue, &[], Some(&session));
        let position = queue.iter().position(|s| s.session_id == session_id).map(|p| p as u32 + 1).unwrap_or(1);
        let waits = app.store.recent_waits(RECENT_WAITS).await?;
        app.reply(
            caller,
            &ServerFrame::QueuePosition {
                session_id: session_id.clone(),
                position,
                estimated_wait_seconds: estimate(&waits, position),
                operators_online: operators.len() as u32,
            },
        )
        .await;
    }
    if let Some(content) = f.content {
        let client_id = f.client_id.unwrap_or_else(|| format!("start-{}", ids::ulid(now)));
        let send = MessageSend {
            reference: None,
            room_id: session_id.clone(),
            client_id,
            content,
            kind: MessageKind::Text,
            reply_to: None,
            attachments: Vec::new(),
        };
        super::message::send(app, caller, send).await?;
    }
    if created {
        reports::record(app, &session, None, Event::Started).await;
        crate::support::visitors::index(app, &session).await;
        if operators.is_empty() && hours_open {
            alert_no_operator(app, &session).await;
        }
        if app.cfg.auto_assign && !operators.is_empty() && auto_assign(app, &session, &operators).await {
            return Ok(());
        }
        if hours_open {
            crate::support::roster::push_waiting(app, &session).await;
        }
        queue_changed(app, &[], Some(&session)).await;
    }
    Ok(())
}

/// Assigns a new session to the online operator with the fewest open sessions under capacity;
/// `false` if none could take it (it waits).
async fn auto_assign(app: &App, session: &SupportSession, operators: &[String]) -> bool {
    let loads = match app.store.operator_loads(operators).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "auto-assign: cannot read loads");
            return false;
        }
    };
    let mut candidates: Vec<(u32, &String)> =
        operators.iter().map(|o| (loads.get(o).copied().unwrap_or(0), o)).filter(|(l, _)| *l < app.cfg.operator_capacity).collect();
    candidates.sort();
    let names = app.store.get_users(operators).await.unwrap_or_default();
    for (_, op) in candidates {
        let name = names.iter().find(|u| &u.user_id == op).and_then(|u| u.name.clone());
        let operator = UserRef { user_id: op.clone(), name };
        match assign(app, session, &operator, Some(app.cfg.operator_capacity)).await {
            Ok((room, member)) => {
                let messages = app.store.messages_before(&session.session_id, None, DEFAULT_HISTORY_LIMIT).await.unwrap_or_default();
                let frame = ServerFrame::SessionAccepted {
                    reference: None,
                    session: room.support.clone().unwrap_or_else(|| session.clone()),
                    room: room.view(&member),
                    messages,
                    notes: Vec::new(),
                };
                app.fanout_users([op.as_str()], &frame, None).await;
                return true;
            }
            Err(ChatError::Conflict(_)) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "auto-assign failed");
                return false;
            }
        }
    }
    false
}

/// The conditional write that makes `operator` the session's one operator, then what follows it:
/// the operator's connections registered in the room, the visitor's taken out of the waiting
/// channel, `operator.joined` to the room, the queue update.
pub(super) async fn assign(
    app: &App,
    session: &SupportSession,
    operator: &UserRef,
    capacity: Option<u32>,
) -> Result<(RoomRecord, MemberRecord)> {
    let now = app.now();
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::NotFound("no such session".into()))?;
    let member = MemberRecord::new(&room, operator, MemberRole::Admin, now);
    let wait_ms = now.saturating_sub(session.created_at);
    app.store.accept_session(&session.session_id, &member, now, wait_ms, capacity).await?;
    reports::record(app, session, Some(&operator.user_id), Event::Accepted { wait_ms }).await;
    app.register_members(&session.session_id, std::slice::from_ref(&operator.user_id)).await?;
    leave_waiting(app, &session.visitor.user_id).await;
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::Internal("the session vanished".into()))?;
    app.fanout_room(
        &session.session_id,
        &ServerFrame::OperatorJoined {
            session_id: session.session_id.clone(),
            operator_id: operator.user_id.clone(),
            name: operator.name.clone(),
        },
        None,
        None,
    )
    .await;
    queue_changed(app, std::slice::from_ref(&session.session_id), None).await;
    Ok((room, member))
}

/// Takes the visitor's connections out of the waiting channel.
pub(super) async fn leave_waiting(app: &App, visitor_id: &str) {
    let conns = app
        .store
        .get_users(&[visitor_id.to_string()])
        .await
        .unwrap_or_default()
        .into_iter()
        .flat_map(|u| u.conns)
        .map(|c| (WAITING_CHANNEL.to_string(), c))
        .collect::<Vec<_>>();
    if let Err(e) = app.store.unregister_connections(&conns).await {
        tracing::warn!(visitor_id, error = %e, "cannot take the visitor out of the waiting channel");
    }
}

/// "A visitor waits and nobody is online": one alert per new session.
async fn alert_no_operator(app: &App, session: &SupportSession) {
    let who = session.visitor.name.clone().unwrap_or_else(|| session.visitor.user_id.clone());
    let alert = Alert {
        subject: format!("Visitor waiting: {who}"),
        body: format!(
            "{who} started a support session and no operator is online.\n\nFirst message: {}\nPage: {}\nSession: {}\nSince: {} (ms since epoch)\n\nOpen the operator console to answer; the visitor's messages are kept.",
            session.first_message.as_deref().unwrap_or("(none yet)"),
            session.context.url.as_deref().unwrap_or("(unknown)"),
            session.session_id,
            session.created_at
        ),
        attributes: vec![("kind".into(), "visitor.waiting".into()), ("sessionId".into(), session.session_id.clone())],
    };
    match &app.alerts {
        Some(a) => {
            if let Err(e) = a.alert(alert).await {
                tracing::error!(session_id = %session.session_id, error = %e, "cannot publish the no-operator alert");
            }
        }
        None => {
            tracing::warn!(session_id = %session.session_id, subject = %alert.subject, "no operator online (no alert topic configured)")
        }
    }
}

/// `support.queue` (operators): the queue now.
pub async fn queue(app: &App, caller: &Caller, f: SupportQueue) -> Result<()> {
    check_ref(&f.reference)?;
    require_operator(caller, "see the queue")?;
    let queue = app.store.queue().await?;
    let operators = online_operators(app).await?;
    let waits = app.store.recent_waits(RECENT_WAITS).await?;
    app.reply(caller, &queue_frame(f.reference, &queue, operators.len() as u32, &waits)).await;
    Ok(())
}
