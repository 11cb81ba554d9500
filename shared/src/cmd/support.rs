//! The support desk: a visitor starts a session (a room of type `support`, id `sp_<ulid>`) and
//! waits in the queue; operators see the queue live, one of them accepts (a conditional write:
//! exactly one wins), may transfer it to another online operator; either side closes it; the
//! visitor rates it once.
//!
//! Who hears what: operators' connections are registered in the channel [`OPS_CHANNEL`] of
//! `RoomConnsTable` (on `$connect`), waiting visitors' connections in [`WAITING_CHANNEL`] (on
//! `support.start`), so a queue change costs one Query of the queue index and one Query per
//! channel, whatever the number of sessions. The count of online operators is the number of
//! distinct users in the operators' channel (one Query, never a scan).

use super::{check_content, check_id, check_ref};
use crate::alerts::Alert;
use crate::app::{App, Caller, FanoutReport};
use crate::error::{ChatError, Result};
use crate::ids;
use crate::model::{ConnectionRecord, MemberRecord, Role, RoomConn, RoomRecord, StartOutcome};
use crate::protocol::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// `RoomConnsTable` partition of operators' live connections.
pub const OPS_CHANNEL: &str = "support#operators";
/// `RoomConnsTable` partition of waiting visitors' live connections.
pub const WAITING_CHANNEL: &str = "support#waiting";
pub const CHANNELS: [&str; 2] = [OPS_CHANNEL, WAITING_CHANNEL];

/// Waits the estimate is the median of.
pub const RECENT_WAITS: usize = 20;
/// The estimate per position while no session was ever accepted.
pub const FALLBACK_WAIT_SECS: u64 = 60;
/// Entries of `queue.updated` at most (the oldest); `total` in `operatorsOnline`'s frame says how
/// many wait in all. Keeps the frame far below 128 KB.
pub const MAX_QUEUE_ENTRIES: usize = 200;
pub const MAX_RESOLUTION_CHARS: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 1000;
const MAX_ATTRIBUTES: usize = 20;

fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn clean_opt(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
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

fn require_operator(caller: &Caller, what: &str) -> Result<()> {
    if caller.role != Role::Operator {
        return Err(ChatError::Forbidden(format!("only operators {what}")));
    }
    Ok(())
}

/// A session as the caller may see it: its visitor, an operator, or (waiting sessions) any
/// operator. Everyone else gets `not_member`, whether or not it exists.
async fn session_for(app: &App, caller: &Caller, session_id: &str) -> Result<(RoomRecord, SupportSession)> {
    check_id("sessionId", session_id)?;
    let not_member = || ChatError::NotMember(session_id.to_string());
    let room = app.store.get_room(session_id).await?.ok_or_else(not_member)?;
    let session = room.support.clone().ok_or_else(not_member)?;
    let is_visitor = session.visitor.user_id == caller.user_id;
    let is_operator = caller.role == Role::Operator;
    if !is_visitor && !is_operator {
        return Err(not_member());
    }
    Ok((room, session))
}

fn me(caller: &Caller) -> UserRef {
    UserRef { user_id: caller.user_id.clone(), name: caller.name.clone() }
}

/// The online operators (distinct users of the operators' channel).
pub async fn online_operators(app: &App) -> Result<Vec<String>> {
    let conns = app.store.room_connections(OPS_CHANNEL).await?;
    Ok(conns.into_iter().map(|c| c.user_id).collect::<BTreeSet<_>>().into_iter().collect())
}

/// Seconds a visitor at `position` is told to expect: the median of the last [`RECENT_WAITS`]
/// accepted sessions' waits (each one ahead in the queue adds one such wait), or
/// [`FALLBACK_WAIT_SECS`] per position before any session was accepted.
pub fn estimate(recent_waits_ms: &[u64], position: u32) -> u64 {
    let per = if recent_waits_ms.is_empty() {
        FALLBACK_WAIT_SECS
    } else {
        let mut w = recent_waits_ms.to_vec();
        w.sort_unstable();
        let mid = w.len() / 2;
        let median_ms = if w.len() % 2 == 0 { (w[mid - 1] + w[mid]) / 2 } else { w[mid] };
        median_ms.div_ceil(1000).max(1)
    };
    per * position.max(1) as u64
}

/// `support.start`: the visitor's open session, or a new waiting one; then its queue position.
pub async fn start(app: &App, caller: &Caller, f: SupportStart) -> Result<()> {
    check_ref(&f.reference)?;
    if matches!(caller.role, Role::Operator | Role::Service) {
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
    let (session_id, created) = match app.store.open_session(&caller.user_id).await? {
        Some(id) => (id, false),
        None => {
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
        super::send::apply(app, caller, send).await?;
    }
    if created {
        if operators.is_empty() {
            alert_no_operator(app, &session).await;
        }
        if app.cfg.auto_assign && !operators.is_empty() && auto_assign(app, &session, &operators).await {
            return Ok(());
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
async fn assign(app: &App, session: &SupportSession, operator: &UserRef, capacity: Option<u32>) -> Result<(RoomRecord, MemberRecord)> {
    let now = app.now();
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::NotFound("no such session".into()))?;
    let member = MemberRecord::new(&room, operator, MemberRole::Admin, now);
    app.store.accept_session(&session.session_id, &member, now, now.saturating_sub(session.created_at), capacity).await?;
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
async fn leave_waiting(app: &App, visitor_id: &str) {
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

fn queue_frame(reference: Option<String>, queue: &[SupportSession], operators_online: u32, waits: &[u64]) -> ServerFrame {
    ServerFrame::QueueUpdated {
        reference,
        queue: queue
            .iter()
            .take(MAX_QUEUE_ENTRIES)
            .map(|s| QueueEntry {
                session_id: s.session_id.clone(),
                visitor: s.visitor.clone(),
                since: s.created_at,
                first_message: s.first_message.clone(),
                page_url: s.context.url.clone(),
            })
            .collect(),
        total: queue.len() as u32,
        operators_online,
        estimated_wait_seconds: estimate(waits, queue.len() as u32 + 1),
    }
}

/// Applies a change the queue index may not show yet.
fn adjust(queue: &mut Vec<SupportSession>, removed: &[String], added: Option<&SupportSession>) {
    queue.retain(|s| !removed.contains(&s.session_id));
    if let Some(a) = added {
        if !queue.iter().any(|s| s.session_id == a.session_id) {
            queue.push(a.clone());
            queue.sort_by(|x, y| (x.created_at, &x.session_id).cmp(&(y.created_at, &y.session_id)));
        }
    }
}

/// The queue changed: hand the broadcast over (it posts to every waiting visitor and operator),
/// or run it here without a task queue.
pub async fn queue_changed(app: &App, removed: &[String], added: Option<&SupportSession>) {
    if let Some(q) = &app.tasks {
        match q.enqueue(vec![crate::tasks::Task::Queue { removed: removed.to_vec(), added: added.cloned() }]).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot hand the queue broadcast over: running it here"),
        }
    }
    broadcast_queue_now(app, removed, added).await;
}

/// `queue.position` to every waiting visitor's connection, `queue.updated` to every operator's.
pub async fn broadcast_queue_now(app: &App, removed: &[String], added: Option<&SupportSession>) -> FanoutReport {
    let read = async {
        let mut queue = app.store.queue().await?;
        adjust(&mut queue, removed, added);
        let ops = app.store.room_connections(OPS_CHANNEL).await?;
        let visitors = app.store.room_connections(WAITING_CHANNEL).await?;
        let waits = app.store.recent_waits(RECENT_WAITS).await?;
        Ok::<_, ChatError>((queue, ops, visitors, waits))
    };
    let (queue, ops, visitors, waits) = match read.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "queue broadcast: cannot read the queue");
            return FanoutReport { failed: 1, ..Default::default() };
        }
    };
    let online = ops.iter().map(|c| c.user_id.as_str()).collect::<BTreeSet<_>>().len() as u32;
    let position: HashMap<&str, (u32, &str)> =
        queue.iter().enumerate().map(|(i, s)| (s.visitor.user_id.as_str(), (i as u32 + 1, s.session_id.as_str()))).collect();
    let mut posts = Vec::with_capacity(ops.len() + visitors.len());
    let ops_frame = Arc::new(queue_frame(None, &queue, online, &waits).to_json());
    for c in ops {
        posts.push(((c.user_id, c.connection_id), ops_frame.clone()));
    }
    for c in visitors {
        if let Some((p, sid)) = position.get(c.user_id.as_str()) {
            let f = ServerFrame::QueuePosition {
                session_id: sid.to_string(),
                position: *p,
                estimated_wait_seconds: estimate(&waits, *p),
                operators_online: online,
            };
            posts.push(((c.user_id, c.connection_id), Arc::new(f.to_json())));
        }
    }
    app.post_each(posts, true).await
}

/// `session.accept` (operators): exactly one of concurrent accepts wins.
pub async fn accept(app: &App, caller: &Caller, f: SessionRef) -> Result<()> {
    check_ref(&f.reference)?;
    require_operator(caller, "accept sessions")?;
    let (_, session) = session_for(app, caller, &f.session_id).await?;
    if session.status != SessionStatus::Waiting {
        let by = session.operator.as_ref().map(|o| o.name.clone().unwrap_or_else(|| o.user_id.clone()));
        return Err(ChatError::Conflict(match (session.status, by) {
            (SessionStatus::Active, Some(by)) => format!("the session was accepted by {by}"),
            _ => "the session is no longer waiting".into(),
        }));
    }
    let (room, member) = assign(app, &session, &me(caller), None).await?;
    let messages = app.store.messages_before(&session.session_id, None, DEFAULT_HISTORY_LIMIT).await?;
    let session = room.support.clone().unwrap_or(session);
    app.reply(
        caller,
        &ServerFrame::SessionAccepted {
            reference: f.reference,
            session: session.clone(),
            room: room.view(&member),
            messages: messages.clone(),
        },
    )
    .await;
    // The operator's other consoles.
    app.fanout_users(
        [caller.user_id.as_str()],
        &ServerFrame::SessionAccepted { reference: None, session, room: room.view(&member), messages },
        Some(&caller.connection_id),
    )
    .await;
    Ok(())
}

/// `session.transfer` (the session's operator): to another online operator under capacity.
pub async fn transfer(app: &App, caller: &Caller, f: SessionTransfer) -> Result<()> {
    check_ref(&f.reference)?;
    require_operator(caller, "transfer sessions")?;
    check_id("toOperatorId", &f.to_operator_id)?;
    let (_, session) = session_for(app, caller, &f.session_id).await?;
    if session.status != SessionStatus::Active || session.operator.as_ref().map(|o| o.user_id.as_str()) != Some(caller.user_id.as_str()) {
        return Err(ChatError::Forbidden("only the session's operator transfers it, while it is active".into()));
    }
    if f.to_operator_id == caller.user_id {
        return Err(ChatError::invalid("toOperatorId", "the session is yours already"));
    }
    if !online_operators(app).await?.contains(&f.to_operator_id) {
        return Err(ChatError::Conflict(format!("operator {} is not online", f.to_operator_id)));
    }
    let target = app.store.get_users(std::slice::from_ref(&f.to_operator_id)).await?;
    let to = UserRef { user_id: f.to_operator_id.clone(), name: target.first().and_then(|u| u.name.clone()) };
    let now = app.now();
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::NotMember(session.session_id.clone()))?;
    let member = MemberRecord::new(&room, &to, MemberRole::Admin, now);
    app.store.transfer_session(&session.session_id, &caller.user_id, &member, app.cfg.operator_capacity).await?;
    app.unregister_member(&session.session_id, &caller.user_id).await?;
    app.register_members(&session.session_id, std::slice::from_ref(&to.user_id)).await?;
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::Internal("the session vanished".into()))?;
    let session = room.support.clone().unwrap_or(session);
    let messages = app.store.messages_before(&session.session_id, None, DEFAULT_HISTORY_LIMIT).await?;
    app.fanout_users(
        [to.user_id.as_str()],
        &ServerFrame::SessionAccepted { reference: None, session: session.clone(), room: room.view(&member), messages },
        None,
    )
    .await;
    let moved = ServerFrame::SessionTransferred { reference: None, session: session.clone(), from: me(caller), to: to.clone() };
    app.fanout_room(&session.session_id, &moved, None, None).await;
    app.fanout_room(
        &session.session_id,
        &ServerFrame::OperatorJoined { session_id: session.session_id.clone(), operator_id: to.user_id.clone(), name: to.name.clone() },
        None,
        None,
    )
    .await;
    app.fanout_users(
        [caller.user_id.as_str()],
        &ServerFrame::RoomLeft { reference: None, room_id: session.session_id.clone(), by: caller.user_id.clone() },
        Some(&caller.connection_id),
    )
    .await;
    app.reply(caller, &ServerFrame::SessionTransferred { reference: f.reference, session, from: me(caller), to }).await;
    Ok(())
}

/// `session.close`: by the visitor, the session's operator, or any operator while it waits.
pub async fn close(app: &App, caller: &Caller, f: SessionClose) -> Result<()> {
    check_ref(&f.reference)?;
    let resolution = clean_opt("resolution", f.resolution, MAX_RESOLUTION_CHARS)?;
    let (_, session) = session_for(app, caller, &f.session_id).await?;
    let is_visitor = session.visitor.user_id == caller.user_id;
    let is_its_operator = session.operator.as_ref().is_some_and(|o| o.user_id == caller.user_id);
    if !(is_visitor || is_its_operator || (caller.role == Role::Operator && session.status == SessionStatus::Waiting)) {
        return Err(ChatError::Forbidden("only the visitor or the session's operator closes it".into()));
    }
    if session.status == SessionStatus::Closed {
        return Err(ChatError::Conflict("the session is closed already".into()));
    }
    let was_waiting = session.status == SessionStatus::Waiting;
    app.store.close_session(&session, &caller.user_id, resolution.as_deref(), app.now()).await?;
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::Internal("the session vanished".into()))?;
    let session = room.support.clone().unwrap_or(session);
    let frame = |reference| ServerFrame::SessionClosed { reference, session: session.clone(), rating_requested: session.rating.is_none() };
    app.fanout_room(&session.session_id, &frame(None), Some(&caller.connection_id), None).await;
    app.reply(caller, &frame(f.reference)).await;
    if was_waiting {
        leave_waiting(app, &session.visitor.user_id).await;
        queue_changed(app, std::slice::from_ref(&session.session_id), None).await;
    }
    Ok(())
}

/// `session.rate` (the visitor, once, after close).
pub async fn rate(app: &App, caller: &Caller, f: SessionRate) -> Result<()> {
    check_ref(&f.reference)?;
    if !(1..=5).contains(&f.score) {
        return Err(ChatError::invalid("score", "score is 1 to 5"));
    }
    let comment = clean_opt("comment", f.comment, MAX_COMMENT_CHARS)?;
    let (_, session) = session_for(app, caller, &f.session_id).await?;
    if session.visitor.user_id != caller.user_id {
        return Err(ChatError::Forbidden("only the visitor rates the session".into()));
    }
    if session.status != SessionStatus::Closed {
        return Err(ChatError::Conflict("a session is rated once it is closed".into()));
    }
    if session.rating.is_some() {
        return Err(ChatError::Conflict("the session was rated already".into()));
    }
    let rating = Rating { score: f.score, comment, rated_at: app.now() };
    app.store.rate_session(&session.session_id, &rating).await?;
    let session = SupportSession { rating: Some(rating), ..session };
    app.fanout_room(
        &session.session_id,
        &ServerFrame::SessionRated { reference: None, session: session.clone() },
        Some(&caller.connection_id),
        None,
    )
    .await;
    app.reply(caller, &ServerFrame::SessionRated { reference: f.reference, session }).await;
    Ok(())
}

/// `$connect` of an operator: their console hears the queue.
pub async fn operator_connected(app: &App, user_id: &str, connection_id: &str, came_online: bool) -> Result<()> {
    let until = app.now() / 1000 + crate::app::CONNECTION_TTL_SECS;
    app.store
        .register_connections(&[RoomConn {
            room_id: OPS_CHANNEL.into(),
            connection_id: connection_id.into(),
            user_id: user_id.into(),
            expires_at: until,
        }])
        .await?;
    if came_online {
        // Waiting visitors see the team is back (and operators the new count).
        queue_changed(app, &[], None).await;
    }
    Ok(())
}

/// `$disconnect`: the connection leaves the support channel it was in.
pub async fn connection_closed(app: &App, rec: &ConnectionRecord) -> Result<()> {
    let channel = match rec.role {
        Role::Operator => OPS_CHANNEL,
        Role::Guest => WAITING_CHANNEL,
        _ => return Ok(()),
    };
    app.store.unregister_connections(&[(channel.to_string(), rec.connection_id.clone())]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_the_median_wait_per_position_with_a_fallback() {
        assert_eq!(estimate(&[], 1), FALLBACK_WAIT_SECS);
        assert_eq!(estimate(&[], 3), 3 * FALLBACK_WAIT_SECS);
        assert_eq!(estimate(&[10_000, 30_000, 20_000], 1), 20);
        assert_eq!(estimate(&[10_000, 30_000, 20_000, 40_000], 2), 50);
        assert_eq!(estimate(&[1], 1), 1, "never zero");
    }
}
