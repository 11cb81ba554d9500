//! `session.accept`, `session.transfer`, `session.close`, `session.rate`: one operator of the
//! queue accepts a session (a conditional write: exactly one wins), may transfer it to another
//! online operator; either side closes it; the visitor rates it once.

use super::support::{assign, clean_opt, leave_waiting, me, require_operator, session_for};
use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::model::MemberRecord;
use crate::protocol::*;
use crate::support::reports::{self, Event};
use crate::support::{online_operators, queue_changed};

pub const MAX_RESOLUTION_CHARS: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 1000;

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
    let notes = super::notes::newest(app, &session.session_id, DEFAULT_HISTORY_LIMIT).await;
    let session = room.support.clone().unwrap_or(session);
    app.reply(
        caller,
        &ServerFrame::SessionAccepted {
            reference: f.reference,
            session: session.clone(),
            room: room.view(&member),
            messages: messages.clone(),
            notes: notes.clone(),
        },
    )
    .await;
    // The operator's other consoles.
    app.fanout_users(
        [caller.user_id.as_str()],
        &ServerFrame::SessionAccepted { reference: None, session, room: room.view(&member), messages, notes },
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
    let notes = super::notes::newest(app, &session.session_id, DEFAULT_HISTORY_LIMIT).await;
    app.fanout_users(
        [to.user_id.as_str()],
        &ServerFrame::SessionAccepted { reference: None, session: session.clone(), room: room.view(&member), messages, notes },
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
    if !(is_visitor || is_its_operator || (caller.role.is_operator() && session.status == SessionStatus::Waiting)) {
        return Err(ChatError::Forbidden("only the visitor or the session's operator closes it".into()));
    }
    if session.status == SessionStatus::Closed {
        return Err(ChatError::Conflict("the session is closed already".into()));
    }
    let was_waiting = session.status == SessionStatus::Waiting;
    let now = app.now();
    app.store.close_session(&session, &caller.user_id, resolution.as_deref(), now).await?;
    let after_ms = now.saturating_sub(session.created_at);
    let missed = session.first_response_at.is_none();
    reports::record(app, &session, session.operator.as_ref().map(|o| o.user_id.as_str()), Event::Closed { after_ms, missed }).await;
    let room = app.store.get_room(&session.session_id).await?.ok_or_else(|| ChatError::Internal("the session vanished".into()))?;
    let session = room.support.clone().unwrap_or(session);
    let frame = |reference| ServerFrame::SessionClosed { reference, session: session.clone(), rating_requested: session.rating.is_none() };
    app.fanout_room(&session.session_id, &frame(None), Some(&caller.connection_id), None).await;
    app.reply(caller, &frame(f.reference)).await;
    crate::mail::session_closed(app, &session).await;
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
    reports::record(app, &session, session.operator.as_ref().map(|o| o.user_id.as_str()), Event::Rated { score: f.score }).await;
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
