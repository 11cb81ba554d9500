//! Client actions. Each is declared once, in [`actions!`] below — its name, its frame (a struct
//! of [`crate::protocol`]), who may send it, and the function that applies it (in the file of its
//! group: `room.*` in `room.rs`, `message.*` in `message.rs`, …) — and the parser, the guest check,
//! [`CLIENT_ACTIONS`] and dispatch come from that line; tests hold the template's routes, the
//! `events/` samples and the AsyncAPI document to it. Every failure becomes an `error` frame to the
//! caller; nothing panics, nothing is dropped silently.

pub mod context;
pub mod files;
pub mod history;
pub mod message;
pub mod notes;
pub mod operator;
pub mod ping;
pub mod presence;
pub mod receipts;
pub mod room;
pub mod session;
pub mod support;
pub mod sync;
pub mod typing;

use crate::app::{Actor, App, Caller, ErrorContext};
use crate::error::{ChatError, Result};
use crate::protocol::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Who may send an action (past the token check of `$connect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone connected: users, operators, guests (each action checks membership itself).
    Anyone,
    /// Not guests: a guest token is anyone's for the asking, so it talks in its support sessions
    /// only.
    NotGuests,
}

/// Declares the client actions: `Variant(Frame) = "name", who => handler;`.
macro_rules! actions {
    ($( $variant:ident($frame:ty) = $name:literal, $who:ident => $handler:path; )*) => {
        /// Every frame a client sends, by its `action`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ClientFrame { $( $variant($frame), )* }

        /// Every client action name, in declaration order; the template has a route for each.
        pub const CLIENT_ACTIONS: &[&str] = &[$( $name ),*];

        impl ClientFrame {
            /// The frame's action name.
            pub fn action(&self) -> &'static str {
                match self { $( ClientFrame::$variant(_) => $name, )* }
            }
            /// Who may send it.
            pub fn who(&self) -> Who {
                match self { $( ClientFrame::$variant(_) => Who::$who, )* }
            }
        }

        /// Who may send an action; `None`: there is no such action.
        pub fn who_may_send(action: &str) -> Option<Who> {
            match action { $( $name => Some(Who::$who), )* _ => None }
        }

        fn parse_action(action: &str, body: Value) -> Result<ClientFrame> {
            Ok(match action {
                $( $name => ClientFrame::$variant(de(body)?), )*
                other => return Err(ChatError::invalid("action", format!("unknown action {other:?}; known actions: {}", CLIENT_ACTIONS.join(", ")))),
            })
        }

        async fn dispatch(app: &App, caller: &Caller, frame: ClientFrame) -> Result<()> {
            match frame { $( ClientFrame::$variant(f) => $handler(app, caller, f).await, )* }
        }
    };
}

actions! {
    Ping(Ping) = "ping", Anyone => ping::apply;
    RoomCreate(RoomCreate) = "room.create", NotGuests => room::create;
    RoomList(RoomList) = "room.list", Anyone => room::list;
    RoomAdd(RoomAdd) = "room.add", NotGuests => room::add;
    RoomRemove(RoomRemove) = "room.remove", NotGuests => room::remove;
    RoomLeave(RoomLeave) = "room.leave", Anyone => room::leave;
    RoomMute(RoomMute) = "room.mute", Anyone => room::mute;
    MessageSend(MessageSend) = "message.send", Anyone => message::send;
    MessageEdit(MessageEdit) = "message.edit", Anyone => message::edit;
    MessageDelete(MessageDelete) = "message.delete", Anyone => message::delete;
    Typing(Typing) = "typing", Anyone => typing::apply;
    Read(Cursor) = "read", Anyone => receipts::read;
    Delivered(Cursor) = "delivered", Anyone => receipts::delivered;
    History(History) = "history", Anyone => history::apply;
    Sync(Sync) = "sync", Anyone => sync::apply;
    PresenceQuery(PresenceQuery) = "presence.query", Anyone => presence::apply;
    SupportStart(SupportStart) = "support.start", Anyone => support::start;
    SupportQueue(SupportQueue) = "support.queue", Anyone => support::queue;
    SessionAccept(SessionRef) = "session.accept", Anyone => session::accept;
    SessionTransfer(SessionTransfer) = "session.transfer", Anyone => session::transfer;
    SessionClose(SessionClose) = "session.close", Anyone => session::close;
    SessionRate(SessionRate) = "session.rate", Anyone => session::rate;
    OperatorStatus(OperatorStatus) = "operator.status", Anyone => operator::status;
}

/// A frame's fields, naming the offending one on failure.
fn de<T: DeserializeOwned>(v: Value) -> Result<T> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names a missing or unknown field in backticks: "missing field `roomId`".
        let field = if path == "." { inner.split('`').nth(1).map(str::to_string) } else { Some(path) };
        ChatError::InvalidFrame { field, message: inner }
    })
}

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
    parse_action(&action, Value::Object(obj))
}

/// What an error about this raw frame should carry, read leniently before full parsing.
fn error_context(body: &str) -> ErrorContext {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |k: &str, max: usize| v.get(k).and_then(Value::as_str).map(|s| s.chars().take(max).collect::<String>());
    ErrorContext { action: s("action", MAX_REF_CHARS), client_id: s("clientId", MAX_ID_CHARS), reference: s("ref", MAX_REF_CHARS) }
}

/// Handles one frame from a connection: count it against the connection's flood limits (pings
/// are counted by their heartbeat), identify the caller, apply the action, report failures.
/// Every log line of the frame names its connection and action (the Lambda runtime's span adds
/// the request id and X-Ray trace id), and the frame's metrics line follows it.
pub async fn handle(app: &App, connection_id: &str, request_id: &str, body: &str) {
    let parsed = parse(body);
    let action = parsed.as_ref().map(|f| f.action()).unwrap_or("invalid");
    let span = tracing::info_span!("frame", connection_id, action);
    let started = std::time::Instant::now();
    tracing::Instrument::instrument(handle_parsed(app, connection_id, request_id, body, parsed), span).await;
    use crate::metrics::{emit, ms_since, Unit};
    emit(app.now(), &[("Frames", Unit::Count, 1.0), ("FrameMs", Unit::Milliseconds, ms_since(started))], &[("Action", action.into())]);
}

async fn handle_parsed(app: &App, connection_id: &str, request_id: &str, body: &str, parsed: Result<ClientFrame>) {
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
    // A frame that does not parse is told so whoever sends it; then the caller must be known.
    let result = async {
        let frame = parsed?;
        apply(app, &caller?, frame).await
    }
    .await;
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

/// Applies a parsed frame for the caller (who may send it is checked first).
pub async fn apply(app: &App, caller: &Caller, frame: ClientFrame) -> Result<()> {
    if frame.who() == Who::NotGuests && caller.role == crate::model::Role::Guest {
        // A guest token is anyone's for the asking: it talks in its support sessions only.
        return Err(ChatError::Forbidden("guests talk in their support sessions; they do not create rooms or change members".into()));
    }
    dispatch(app, caller, frame).await
}

// ---- validation helpers shared by the actions

pub(crate) fn check_id(field: &str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(ChatError::invalid(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > MAX_ID_CHARS {
        return Err(ChatError::invalid(field, format!("{field} is longer than {MAX_ID_CHARS} characters")));
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
pub(crate) mod tests;
#[cfg(test)]
use tests as tests_support;
