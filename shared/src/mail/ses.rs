//! [`Mailer`] on Amazon SES (API v2): `SendEmail` from the one sender identity, through the
//! template's configuration set, with an HTML and a text part.

use super::{Email, Mailer};
use crate::error::{ChatError, Result};
use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    /// `Name <address>` or an address of the verified identity (`EMAIL_SENDER`).
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(sdk: &aws_config::SdkConfig, from: &str, configuration_set: Option<&str>) -> SesMailer {
        SesMailer {
            client: aws_sdk_sesv2::Client::new(sdk),
            from: from.to_string(),
            configuration_set: configuration_set.filter(|c| !c.is_empty()).map(str::to_string),
        }
    }
}

fn content(data: &str) -> Result<Content> {
    Content::builder().data(data).charset("UTF-8").build().map_err(ChatError::internal)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<()> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().html(content(&email.html)?).text(content(&email.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| ChatError::Internal(format!("SES SendEmail: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e))))?;
        Ok(())
    }
}
