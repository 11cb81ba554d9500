//! [`Files`] on S3: presigned PUT and GET URLs (SigV4 query signing by the SDK), HeadObject,
//! CopyObject. Against a local endpoint (`AWS_ENDPOINT_URL_S3`, moto) addressing is path-style.

use super::{Files, ObjectInfo, Presigned};
use crate::error::{ChatError, Result};
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

pub struct S3Files {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Files {
    pub fn from_client(client: aws_sdk_s3::Client, bucket: &str) -> S3Files {
        S3Files { client, bucket: bucket.to_string() }
    }

    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> S3Files {
        let local = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build();
        S3Files { client: aws_sdk_s3::Client::from_conf(conf), bucket: bucket.to_string() }
    }
}

fn presigned(p: aws_sdk_s3::presigning::PresignedRequest) -> Presigned {
    Presigned {
        method: p.method().to_string(),
        url: p.uri().to_string(),
        headers: p.headers().filter(|(k, _)| !k.eq_ignore_ascii_case("host")).map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn s3_err(op: &str, e: impl std::fmt::Display) -> ChatError {
    ChatError::Internal(format!("S3 {op}: {e}"))
}

#[async_trait]
impl Files for S3Files {
    async fn presign_put(&self, key: &str, content_type: &str, size: u64, ttl: Duration) -> Result<Presigned> {
        let cfg = PresigningConfig::expires_in(ttl).map_err(|e| s3_err("presign", e))?;
        let p = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .presigned(cfg)
            .await
            .map_err(|e| s3_err("presign PutObject", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(presigned(p))
    }

    async fn presign_get(&self, key: &str, filename: &str, ttl: Duration) -> Result<Presigned> {
        let cfg = PresigningConfig::expires_in(ttl).map_err(|e| s3_err("presign", e))?;
        let p = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(super::content_disposition(filename))
            .presigned(cfg)
            .await
            .map_err(|e| s3_err("presign GetObject", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(presigned(p))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => Ok(Some(ObjectInfo {
                size: o.content_length().unwrap_or(0).max(0) as u64,
                content_type: o.content_type().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(s3_err("HeadObject", aws_sdk_s3::error::DisplayErrorContext(&e))),
        }
    }

    async fn read_prefix(&self, key: &str, n: u64) -> Result<Vec<u8>> {
        let o = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", n.saturating_sub(1)))
            .send()
            .await
            .map_err(|e| s3_err("GetObject", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        let body = o.body.collect().await.map_err(|e| s3_err("GetObject body", e))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn copy(&self, from: &str, to: &str, content_type: Option<&str>) -> Result<()> {
        let source = format!("{}/{}", self.bucket, from.split('/').map(urlencode).collect::<Vec<_>>().join("/"));
        let c = self.client.copy_object().bucket(&self.bucket).copy_source(source).key(to);
        let c = match content_type {
            Some(t) => c.metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace).content_type(t),
            None => c,
        };
        c.send().await.map_err(|e| s3_err("CopyObject", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(())
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
