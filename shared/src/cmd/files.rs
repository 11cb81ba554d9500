//! Attachments of `message.send`: what a message may name, and the server's own check of each
//! uploaded object (local S3 emulators enforce none of a presigned URL's conditions, and a
//! client could upload something else than it declared; the check is the guarantee).
//!
//! Keys: a member uploads to `uploads/<roomId>/<ulid>/<name>` (minted by `POST
//! /chats/{id}/uploads`); a sent file is copied to `rooms/<roomId>/<ulid>/<name>`, which the
//! message names. The bucket's lifecycle rule removes what stays under `uploads/`.

use crate::app::App;
use crate::error::{ChatError, Result};
use crate::protocol::{Attachment, MessageKind, MAX_ATTACHMENTS};

pub const MAX_FILE_NAME_CHARS: usize = 255;

/// The key a new upload to the room gets.
pub fn upload_key(room_id: &str, id: &str, name: &str) -> String {
    format!("uploads/{room_id}/{id}/{}", safe_name(name))
}

/// A name safe in a key and a URL: letters, digits, `.-_`, at most 100 characters.
pub fn safe_name(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).take(100).collect();
    if s.trim_matches(['.', '_']).is_empty() {
        "file".into()
    } else {
        s
    }
}

/// The declared upload, checked before a URL is minted for it (and again at send).
pub fn check_declared(app: &App, field: &str, name: &str, size: u64, mime_type: &str) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_FILE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ChatError::invalid(
            &format!("{field}name"),
            format!("a file name is 1 to {MAX_FILE_NAME_CHARS} characters without control characters"),
        ));
    }
    if size == 0 {
        return Err(ChatError::invalid(&format!("{field}size"), "an empty file cannot be sent"));
    }
    if size > app.cfg.max_upload_bytes {
        return Err(ChatError::TooLarge(format!("the file is {size} bytes; the limit is {} bytes", app.cfg.max_upload_bytes)));
    }
    let t = mime_type.trim().to_ascii_lowercase();
    if !app.cfg.upload_types.iter().any(|a| a == &t) {
        return Err(ChatError::invalid(
            &format!("{field}mimeType"),
            format!("{mime_type:?} is not an allowed type; allowed: {}", app.cfg.upload_types.join(", ")),
        ));
    }
    Ok(())
}

/// What a message may say about its files, before anything is read.
pub fn check(app: &App, room_id: &str, kind: MessageKind, attachments: &[Attachment]) -> Result<()> {
    match (kind, attachments.is_empty()) {
        (MessageKind::Image | MessageKind::File, true) => {
            return Err(ChatError::invalid("attachments", "image and file messages carry attachments"))
        }
        (MessageKind::Text | MessageKind::System, false) => {
            return Err(ChatError::invalid("kind", "a message with attachments is of kind image or file"))
        }
        _ => {}
    }
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(ChatError::invalid("attachments", format!("at most {MAX_ATTACHMENTS} attachments per message")));
    }
    let prefix = format!("uploads/{room_id}/");
    for (i, a) in attachments.iter().enumerate() {
        let field = format!("attachments[{i}].");
        let parts: Vec<&str> = a.key.split('/').collect();
        if !a.key.starts_with(&prefix) || parts.len() != 4 || parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return Err(ChatError::absent(
                &format!("{field}key"),
                "no upload of this room has that key: upload through POST /chats/{id}/uploads of this room first",
            ));
        }
        check_declared(app, &field, &a.name, a.size, &a.mime_type)?;
        if kind == MessageKind::Image && !crate::files::RASTER_TYPES.contains(&a.mime_type.trim().to_ascii_lowercase().as_str()) {
            return Err(ChatError::invalid(
                &format!("{field}mimeType"),
                format!("an image message carries {} images (send other files as kind file)", crate::files::RASTER_TYPES.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Checks each upload against what the message declares (it exists, with that size and type)
/// and copies it to the room's permanent prefix; returns the attachments as stored.
pub async fn claim(app: &App, attachments: &[Attachment]) -> Result<Vec<Attachment>> {
    if attachments.is_empty() {
        return Ok(Vec::new());
    }
    let files = app.files.as_ref().ok_or_else(|| ChatError::Internal("attachments are not configured (ATTACHMENTS_BUCKET)".into()))?;
    let mut out = Vec::with_capacity(attachments.len());
    for (i, a) in attachments.iter().enumerate() {
        let field = format!("attachments[{i}]");
        let Some(info) = files.head(&a.key).await? else {
            return Err(ChatError::absent(&format!("{field}.key"), format!("nothing was uploaded at {}", a.key)));
        };
        if info.size != a.size {
            return Err(ChatError::invalid(&format!("{field}.size"), format!("the uploaded file is {} bytes, not {}", info.size, a.size)));
        }
        let uploaded = info.content_type.unwrap_or_default();
        let base = |t: &str| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if base(&uploaded) != base(&a.mime_type) {
            return Err(ChatError::invalid(
                &format!("{field}.mimeType"),
                format!("the uploaded file is {uploaded:?}, not {:?}", a.mime_type),
            ));
        }
        // Raster images: the bytes must be what the type says (HTML declared as image/png is
        // refused), and their size comes from the header (the same ranged GET), so clients can
        // lay them out before they load.
        let declared = base(&a.mime_type);
        let (width, height) = if crate::files::RASTER_TYPES.contains(&declared.as_str()) {
            let b = files.read_prefix(&a.key, crate::files::IMAGE_HEADER_BYTES).await?;
            match crate::files::sniff_raster(&b) {
                Some(t) if t == declared => {}
                found => {
                    let what = found.map(|t| format!("a {t} file")).unwrap_or_else(|| "not an image".into());
                    return Err(ChatError::invalid(&format!("{field}.mimeType"), format!("the uploaded file is {what}, not {declared}")));
                }
            }
            crate::files::image_size(&b).map(|(w, h)| (Some(w), Some(h))).unwrap_or((None, None))
        } else {
            (None, None)
        };
        // Types a browser would run or render (markup, scripts, SVG) are stored as bytes to save:
        // no download of them is ever rendered, whatever a site allowed to be uploaded.
        let store_as = crate::files::is_active_type(&declared).then_some(crate::files::INERT_TYPE);
        let permanent = format!("rooms/{}", &a.key["uploads/".len()..]);
        files.copy(&a.key, &permanent, store_as).await?;
        out.push(Attachment { key: permanent, width, height, ..a.clone() });
    }
    Ok(out)
}
