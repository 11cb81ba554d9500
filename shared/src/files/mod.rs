//! Attachments' bytes: [`s3::S3Files`] (the template's private bucket) in Lambda, [`MemoryFiles`]
//! in unit tests. Files never travel through the socket: a member asks the REST API for a
//! presigned upload URL under the room's `uploads/` prefix, uploads, then names the object in
//! `message.send`; the server checks it (it exists there, with the declared size and type) and
//! copies it to the room's permanent `rooms/` prefix. Objects left under `uploads/` (never sent)
//! are removed by the bucket's lifecycle rule.

pub mod s3;

use crate::error::Result;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// What an object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A presigned request the client makes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    /// Headers the request must carry exactly (they are signed).
    pub headers: Vec<(String, String)>,
}

#[async_trait]
pub trait Files: Send + Sync {
    /// A PUT URL for `key`, bound to its content type (and length, where the signer can).
    async fn presign_put(&self, key: &str, content_type: &str, size: u64, ttl: Duration) -> Result<Presigned>;
    /// A GET URL that downloads `key` as `filename`.
    async fn presign_get(&self, key: &str, filename: &str, ttl: Duration) -> Result<Presigned>;
    /// The object's size and type; `None` if there is none.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;
    /// Copies an object inside the bucket.
    async fn copy(&self, from: &str, to: &str) -> Result<()>;
}

/// Objects in memory; presigned URLs are `memory://` placeholders.
#[derive(Default)]
pub struct MemoryFiles {
    objects: Mutex<HashMap<String, (Vec<u8>, String)>>,
}

impl MemoryFiles {
    /// Stands for a client's upload through a presigned URL.
    pub fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) {
        self.objects.lock().unwrap().insert(key.to_string(), (bytes, content_type.to_string()));
    }
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().unwrap().get(key).map(|o| o.0.clone())
    }
}

#[async_trait]
impl Files for MemoryFiles {
    async fn presign_put(&self, key: &str, content_type: &str, _size: u64, _ttl: Duration) -> Result<Presigned> {
        Ok(Presigned { method: "PUT".into(), url: format!("memory://{key}"), headers: vec![("content-type".into(), content_type.into())] })
    }
    async fn presign_get(&self, key: &str, _filename: &str, _ttl: Duration) -> Result<Presigned> {
        Ok(Presigned { method: "GET".into(), url: format!("memory://{key}"), headers: vec![] })
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        Ok(self.objects.lock().unwrap().get(key).map(|(b, t)| ObjectInfo { size: b.len() as u64, content_type: Some(t.clone()) }))
    }
    async fn copy(&self, from: &str, to: &str) -> Result<()> {
        let mut o = self.objects.lock().unwrap();
        let v = o.get(from).cloned().ok_or_else(|| crate::error::ChatError::NotFound(format!("no object {from}")))?;
        o.insert(to.to_string(), v);
        Ok(())
    }
}

/// `Content-Disposition` for a download: the name as typed, safely (RFC 6266 / 5987).
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dispositions_are_safe() {
        assert_eq!(super::content_disposition("a b.pdf"), "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf");
        assert_eq!(super::content_disposition("\"x\"\n.txt"), "attachment; filename=\"_x__.txt\"; filename*=UTF-8''%22x%22%0A.txt");
    }
}
