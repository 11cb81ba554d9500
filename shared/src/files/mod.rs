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
    /// Copies an object inside the bucket; `content_type` replaces the stored type.
    async fn copy(&self, from: &str, to: &str, content_type: Option<&str>) -> Result<()>;
    /// The first `n` bytes of an object (a ranged GET).
    async fn read_prefix(&self, key: &str, n: u64) -> Result<Vec<u8>>;
}

/// Bytes of an image's start the server reads to find its size.
pub const IMAGE_HEADER_BYTES: u64 = 64 * 1024;

/// The raster image types a browser shows inline; a file declared as one of them must start
/// with its signature bytes.
pub const RASTER_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Types a browser runs or renders as a document (scripts, markup, SVG): never stored under
/// their own type, so no download is ever one of them, whatever a site allows to be uploaded.
pub const ACTIVE_TYPES: [&str; 12] = [
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
    "text/javascript",
    "application/ecmascript",
    "text/ecmascript",
    "application/x-javascript",
    "application/x-shockwave-flash",
    "application/pdf+html",
];

/// What active files are stored as: bytes to save, never to render.
pub const INERT_TYPE: &str = "application/octet-stream";

/// Whether a type (parameters ignored) is one a browser would run or render as a document; any
/// `+xml` type and anything naming script or html counts.
pub fn is_active_type(t: &str) -> bool {
    let t = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    ACTIVE_TYPES.contains(&t.as_str()) || t.ends_with("+xml") || t.contains("script") || t.contains("html")
}

/// The raster type the bytes start with (PNG, JPEG, GIF, WebP signatures).
pub fn sniff_raster(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Width and height of a PNG, GIF, JPEG or WebP from its first bytes; `None` if they do not say.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| -> Option<u32> { Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as u32) };
    let le16 = |i: usize| -> Option<u32> { Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]) as u32) };
    let be32 = |i: usize| -> Option<u32> { Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    let le24 = |i: usize| -> Option<u32> { Some(u32::from_le_bytes([*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?, 0])) };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
            b"VP8L" => {
                let v = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some(((v & 0x3fff) + 1, ((v >> 14) & 0x3fff) + 1))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        };
    }
    if b.starts_with(&[0xff, 0xd8]) {
        // JPEG: walk the segments to the first start-of-frame.
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                return None;
            }
            let marker = b[i + 1];
            if marker == 0xff {
                i += 1;
                continue;
            }
            let len = be16(i + 2)? as usize;
            if matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
                return Some((be16(i + 7)?, be16(i + 5)?));
            }
            i += 2 + len;
        }
    }
    None
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
    async fn read_prefix(&self, key: &str, n: u64) -> Result<Vec<u8>> {
        Ok(self.objects.lock().unwrap().get(key).map(|(b, _)| b.iter().take(n as usize).copied().collect()).unwrap_or_default())
    }
    async fn copy(&self, from: &str, to: &str, content_type: Option<&str>) -> Result<()> {
        let mut o = self.objects.lock().unwrap();
        let (bytes, stored) = o.get(from).cloned().ok_or_else(|| crate::error::ChatError::NotFound(format!("no object {from}")))?;
        o.insert(to.to_string(), (bytes, content_type.map(str::to_string).unwrap_or(stored)));
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
    fn image_sizes_come_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(super::image_size(&png), Some((640, 480)));
        let gif = [b"GIF89a".as_slice(), &[0x20, 0x03, 0x58, 0x02]].concat();
        assert_eq!(super::image_size(&gif), Some((800, 600)));
        // JPEG: SOI, an APP0 of 16 bytes, SOF0 with height 300 and width 400.
        let mut jpg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
        jpg.extend_from_slice(&[0u8; 14]);
        jpg.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90, 0x03, 0, 0, 0, 0, 0, 0]);
        assert_eq!(super::image_size(&jpg), Some((400, 300)));
        assert_eq!(super::image_size(b"not an image"), None);
    }

    #[test]
    fn raster_images_are_told_by_their_bytes_and_active_types_are_known() {
        assert_eq!(super::sniff_raster(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(super::sniff_raster(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(super::sniff_raster(b"GIF89a.."), Some("image/gif"));
        assert_eq!(super::sniff_raster(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(super::sniff_raster(b"<html><script>alert(1)</script>"), None);
        assert_eq!(super::sniff_raster(b""), None);
        for t in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/javascript",
            "application/rss+xml",
            "application/x-ecmascript",
        ] {
            assert!(super::is_active_type(t), "{t}");
        }
        for t in ["image/png", "application/pdf", "text/plain", "text/csv", "application/msword"] {
            assert!(!super::is_active_type(t), "{t}");
        }
    }

    #[test]
    fn dispositions_are_safe() {
        assert_eq!(super::content_disposition("a b.pdf"), "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf");
        assert_eq!(super::content_disposition("\"x\"\n.txt"), "attachment; filename=\"_x__.txt\"; filename*=UTF-8''%22x%22%0A.txt");
    }
}
