//! Client actions: a frame is parsed into [`ClientFrame`] and each action's `apply` lives in its
//! own file. Every failure becomes an `error` frame to the caller; nothing panics, nothing is
//! dropped silently.

pub mod context;
pub mod files;
pub mod history;
pub mod message;
pub mod misc;
pub mod mute;
pub mod receipts;
pub mod room;
pub mod send;
pub mod support;
pub mod sync;
pub mod typing;

use crate::app::{Actor, App, Caller, ErrorContext};
use crate::error::{ChatError, Result};
use crate::protocol::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses a frame, naming the offending field on failure.
pub fn parse(body: &str) -> Result<ClientFrame> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| ChatError::InvalidFrame { field: None, message: format!("the frame is not valid JSON: {e}") })?;
    let Value::Object(mut obj) = value else {
        return Err(ChatError::InvalidFrame { field: None, message: "a frame is a JSON object with an \"action\"".into() });
    };
    let action = match obj.remove("action") {
        Some(Value::String(a)) => a,
        Some(_) => return Err(ChatError::invalid("action", "action must be a string")),
        None => return Err(ChatError::invalid("action", "missing field `action`")),
    };
    let body = Value::Object(obj);
    fn de<T: DeserializeOwned>(v: Value) -> Result<T> {
        serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde names a missing or unknown field in backticks: "missing field `roomId`".
            let field = if path == "." { inner.split('`').nth(1).map(str::to_string) } else { Some(path) };
            ChatError::InvalidFrame { field, message: inner }
        })
    }
    Ok(match action.as_str() {
        "ping" => ClientFrame::Ping(de(body)?),
        "room.create" => ClientFrame::RoomCreate(de(body)?),
        "room.list" => ClientFrame::RoomList(de(body)?),
        "room.add" => ClientFrame::RoomAdd(de(body)?),
        "room.remove" => ClientFrame::RoomRemove(de(body)?),
        "room.leave" => ClientFrame::RoomLeave(de(body)?),
        "room.mute" => ClientFrame::RoomMute(de(body)?),
        "message.send" => ClientFrame::MessageSend(de(body)?),
        "message.edit" => ClientFrame::MessageEdit(de(body)?),
        "message.delete" => ClientFrame::MessageDelete(de(body)?),
        "typing" => ClientFrame::Typing(de(body)?),
        "read" => ClientFrame::Read(de(body)?),
        "delivered" => ClientFrame::Delivered(de(body)?),
        "history" => ClientFrame::History(de(body)?),
        "sync" => ClientFrame::Sync(de(body)?),
        "presence.query" => ClientFrame::PresenceQuery(de(body)?),
        "support.start" => ClientFrame::SupportStart(de(body)?),
        "support.queue" => ClientFrame::SupportQueue(de(body)?),
        "session.accept" => ClientFrame::SessionAccept(de(body)?),
        "session.transfer" => ClientFrame::SessionTransfer(de(body)?),
        "session.close" => ClientFrame::SessionClose(de(body)?),
        "session.rate" => ClientFrame::SessionRate(de(body)?),
        other => {
            return Err(ChatError::invalid("action", format!("unknown action {other:?}; known actions: {}", CLIENT_ACTIONS.join(", "))));
        }
    })
}

/// What an error about this raw frame should carry, read leniently before full parsing.
fn error_context(body: &str) -> ErrorContext {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |k: &str, max: usize| v.get(k).and_then(Value::as_str).map(|s| s.chars().take(max).collect::<String>());
    ErrorContext { action: s("action", MAX_REF_CHARS), client_id: s("clientId", MAX_ID_BYTES), reference: s("ref", MAX_REF_CHARS) }
}

/// Handles one frame from a connection: count it against the connection's flood limits (pings
/// are counted by their heartbeat), identify the caller, apply the action, report failures.
pub async fn handle(app: &App, connection_id: &str, request_id: &str, body: &str) {
    let parsed = parse(body);
    let (count, caller) = if matches!(parsed, Ok(ClientFrame::Ping(_))) {
        (None, identify(app, connection_id, request_id).await)
    } else {
        let (count, caller) = tokio::join!(app.count_frame(connection_id), identify(app, connection_id, request_id));
        (Some(count), caller)
    };
    match count {
        Some(Ok(n)) => {
            use crate::limits::{verdict, Verdict, FRAME_WINDOW_SECS};
            let (soft, hard) = (app.cfg.frames_per_window, app.cfg.frames_before_close);
            match verdict(n, soft, hard) {
                Verdict::Pass => {}
                Verdict::Limit => {
                    let e = ChatError::RateLimited(format!(
                        "more than {soft} frames in {FRAME_WINDOW_SECS} s: slow down (past {hard} the connection is cut off)"
                    ));
                    app.reply_error(connection_id, request_id, &e, error_context(body)).await;
                    return;
                }
                Verdict::CutOff => {
                    if let Ok(c) = &caller {
                        app.cut_off(c, "frames", n, hard, &format!("in {FRAME_WINDOW_SECS} s")).await;
                    }
                    return;
                }
                Verdict::Drop => return,
            }
        }
        // The counter could not be written: availability first, the frame goes on.
        Some(Err(e)) => tracing::warn!(connection_id, error = %e, "cannot count the frame"),
        None => {}
    }
    let result = async { apply(app, &caller?, parsed?).await }.await;
    if let Err(e) = result {
        app.reply_error(connection_id, request_id, &e, error_context(body)).await;
    }
}

async fn identify(app: &App, connection_id: &str, request_id: &str) -> Result<Caller> {
    let Some(c) = app.store.get_connection(connection_id).await? else {
        return Err(ChatError::Unauthorized("this connection is not registered; reconnect".into()));
    };
    Ok(Caller {
        connection_id: connection_id.to_string(),
        actor: Actor { user_id: c.user_id, name: c.name, role: c.role },
        request_id: request_id.to_string(),
    })
}

pub async fn apply(app: &App, caller: &Caller, frame: ClientFrame) -> Result<()> {
    if caller.role == crate::model::Role::Guest
        && matches!(frame, ClientFrame::RoomCreate(_) | ClientFrame::RoomAdd(_) | ClientFrame::RoomRemove(_))
    {
        // A guest token is anyone's for the asking: it talks in its support sessions only.
        return Err(ChatError::Forbidden("guests talk in their support sessions; they do not create rooms or change members".into()));
    }
    match frame {
        ClientFrame::Ping(f) => misc::ping(app, caller, f).await,
        ClientFrame::RoomCreate(f) => room::create(app, caller, f).await,
        ClientFrame::RoomList(f) => room::list(app, caller, f).await,
        ClientFrame::RoomAdd(f) => room::add(app, caller, f).await,
        ClientFrame::RoomRemove(f) => room::remove(app, caller, f).await,
        ClientFrame::RoomLeave(f) => room::leave(app, caller, f).await,
        ClientFrame::RoomMute(f) => mute::apply(app, caller, f).await,
        ClientFrame::MessageSend(f) => send::apply(app, caller, f).await,
        ClientFrame::MessageEdit(f) => message::edit(app, caller, f).await,
        ClientFrame::MessageDelete(f) => message::delete(app, caller, f).await,
        ClientFrame::Typing(f) => typing::apply(app, caller, f).await,
        ClientFrame::Read(f) => receipts::apply(app, caller, f, crate::model::CursorKind::Read).await,
        ClientFrame::Delivered(f) => receipts::apply(app, caller, f, crate::model::CursorKind::Delivered).await,
        ClientFrame::History(f) => history::apply(app, caller, f).await,
        ClientFrame::Sync(f) => sync::apply(app, caller, f).await,
        ClientFrame::PresenceQuery(f) => misc::presence_query(app, caller, f).await,
        ClientFrame::SupportStart(f) => support::start(app, caller, f).await,
        ClientFrame::SupportQueue(f) => support::queue(app, caller, f).await,
        ClientFrame::SessionAccept(f) => support::accept(app, caller, f).await,
        ClientFrame::SessionTransfer(f) => support::transfer(app, caller, f).await,
        ClientFrame::SessionClose(f) => support::close(app, caller, f).await,
        ClientFrame::SessionRate(f) => support::rate(app, caller, f).await,
    }
}

// ---- validation helpers shared by the actions

pub(crate) fn check_id(field: &str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(ChatError::invalid(field, format!("{field} must not be empty")));
    }
    if v.len() > MAX_ID_BYTES {
        return Err(ChatError::invalid(field, format!("{field} is longer than {MAX_ID_BYTES} bytes")));
    }
    if v.chars().any(char::is_control) {
        return Err(ChatError::invalid(field, format!("{field} contains control characters")));
    }
    Ok(())
}

pub(crate) fn check_ref(reference: &Option<String>) -> Result<()> {
    match reference {
        Some(r) if r.chars().count() > MAX_REF_CHARS => {
            Err(ChatError::invalid("ref", format!("ref is longer than {MAX_REF_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_content(content: &str) -> Result<()> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(ChatError::TooLarge(format!("content is {} bytes; the limit is {MAX_CONTENT_BYTES}", content.len())));
    }
    if content.trim().is_empty() {
        return Err(ChatError::invalid("content", "content must not be empty"));
    }
    Ok(())
}

/// Serialized size of a value, to cut pages below API Gateway's message limit.
pub(crate) fn json_len<T: serde::Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
#[cfg(test)]
use tests as tests_support;
