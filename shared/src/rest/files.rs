//! Attachments: `POST /chats/{id}/uploads` mints a presigned upload for a member,
//! `GET /chats/{id}/attachments?key=` a presigned download of a file sent in the room.

use super::{json_body, json_response, ok, path_param, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::cmd::files::{check_declared, upload_key};
use crate::error::ChatError;
use lambda_http::http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Upload URLs expire after this; downloads after [`DOWNLOAD_TTL`].
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadBody {
    name: String,
    #[serde(deserialize_with = "crate::protocol::whole::de")]
    size: u64,
    mime_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Upload {
    /// Name it in `message.send`'s `attachments` once uploaded.
    key: String,
    url: String,
    method: String,
    /// Headers the upload must send as they are (they are signed).
    headers: BTreeMap<String, String>,
    expires_at: u64,
    max_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Download {
    url: String,
    expires_at: u64,
}

async fn member_or_site(api: &Api, actor: &Actor, room_id: &str) -> Result<(), ChatError> {
    if actor.is_service() {
        api.app.store.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        return Ok(());
    }
    api.app.member_checked(room_id, &actor.user_id).await.map(|_| ())
}

pub async fn upload(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let room_id = path_param(req, "id")?;
    let b: UploadBody = json_body(req)?;
    check_declared(&api.app, "", &b.name, b.size, &b.mime_type)?;
    member_or_site(api, actor, &room_id).await?;
    let files = api.app.files.as_ref().ok_or_else(|| ChatError::Internal("attachments are not configured (ATTACHMENTS_BUCKET)".into()))?;
    let now = api.app.now();
    let key = upload_key(&room_id, &crate::ids::ulid(now), &b.name);
    let p = files.presign_put(&key, &b.mime_type.trim().to_ascii_lowercase(), b.size, UPLOAD_TTL).await?;
    let body = Upload {
        key,
        url: p.url,
        method: p.method,
        headers: p.headers.into_iter().collect(),
        expires_at: now + UPLOAD_TTL.as_millis() as u64,
        max_bytes: api.app.cfg.max_upload_bytes,
    };
    Ok(json_response(StatusCode::CREATED, &body))
}

pub async fn download(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let room_id = path_param(req, "id")?;
    let key = Query::of(req).str("key")?.ok_or_else(|| ChatError::invalid("key", "key is the attachment's key, from the message"))?;
    member_or_site(api, actor, &room_id).await?;
    let prefix = format!("rooms/{room_id}/");
    let parts: Vec<&str> = key.split('/').collect();
    if !key.starts_with(&prefix) || parts.len() != 4 || parts.iter().any(|p| p.is_empty() || *p == "..") {
        return Err(ChatError::absent("key", "no file of this room has that key"));
    }
    let files = api.app.files.as_ref().ok_or_else(|| ChatError::Internal("attachments are not configured (ATTACHMENTS_BUCKET)".into()))?;
    let name = parts[3];
    let p = files.presign_get(&key, name, DOWNLOAD_TTL).await?;
    ok(&Download { url: p.url, expires_at: api.app.now() + DOWNLOAD_TTL.as_millis() as u64 })
}
