//! `GET /chats/{id}/messages` (history) and `POST /chats/{id}/messages` (send).

use super::{json_body, json_response, ok, path_param, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::cmd::{history, message as send, notes};
use crate::error::ChatError;
use crate::model::Appended;
use crate::protocol::{Message, MessageKind};
use lambda_http::http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryBody {
    room_id: String,
    messages: Vec<Message>,
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<u64>,
}

/// The same pages as the socket's `history`: newest first below `beforeSeq`.
pub async fn history(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let room_id = path_param(req, "id")?;
    let q = Query::of(req);
    let notes = q.bool("notes")?.unwrap_or(false);
    let (messages, has_more, next_cursor) = history::page(&api.app, actor, &room_id, q.num("beforeSeq")?, q.num("limit")?, notes).await?;
    ok(&HistoryBody { room_id, messages, has_more, next_cursor })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PostBody {
    client_id: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    kind: Option<MessageKind>,
    #[serde(default)]
    attachments: Vec<crate::protocol::Attachment>,
    #[serde(default, deserialize_with = "crate::protocol::whole::de_opt")]
    reply_to: Option<u64>,
    #[serde(default)]
    meta: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct MessageBody {
    message: Message,
}

/// Sends like `message.send`: `201` the first time, `200` with the same body for a `clientId`
/// seen before. The message reaches every live socket of every member. The site (`service`)
/// posts to any room; its messages default to `kind: system`.
pub async fn post(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let room_id = path_param(req, "id")?;
    let b: PostBody = json_body(req)?;
    let kind = b.kind.unwrap_or(if actor.is_service() { MessageKind::System } else { MessageKind::Text });
    let out = send::Outgoing {
        room_id,
        client_id: b.client_id,
        content: b.content,
        kind,
        reply_to: b.reply_to,
        meta: b.meta,
        attachments: b.attachments,
    };
    if kind == MessageKind::Note {
        let (appended, visitor) = notes::persist(&api.app, actor, out).await?;
        return Ok(match appended {
            Appended::Created(message) => {
                notes::broadcast(&api.app, &message, &visitor, None).await;
                json_response(StatusCode::CREATED, &MessageBody { message })
            }
            Appended::Duplicate(message) => ok(&MessageBody { message })?,
        });
    }
    let p = send::persist(&api.app, actor, out).await?;
    match p.appended {
        Appended::Created(message) => {
            send::broadcast(&api.app, actor, message.clone(), None, p.member_count).await;
            Ok(json_response(StatusCode::CREATED, &MessageBody { message }))
        }
        Appended::Duplicate(message) => ok(&MessageBody { message }),
    }
}
