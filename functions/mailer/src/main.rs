//! E-mails visitors of support sessions (Amazon SES): each `MailTopic` record is an operator's
//! reply to a visitor who was not connected, or a closed session's transcript. Rules:
//! `chat::mail`.

use aws_lambda_events::event::sns::SnsEvent;
use chat::handlers;
use chat::mail::ses::SesMailer;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, sdk, app) = handlers::boot().await?;
    // Without a sender nothing is published to MailTopic, so this function is never invoked.
    let sender = config.email_sender.clone().unwrap_or_default();
    if sender.is_empty() {
        tracing::warn!("EMAIL_SENDER is not set: the site sends no e-mail");
    }
    let mailer = SesMailer::new(&sdk, &sender, config.email_configuration_set.as_deref());
    run(service_fn(|event: LambdaEvent<SnsEvent>| handlers::mail(&app, &mailer, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};
    use chat::mail::{MailEvent, MemoryMail};

    /// The sample event is an operator's reply; for a session the store does not hold, nothing
    /// is sent and the invocation succeeds (a retry could not do better).
    #[tokio::test]
    async fn the_sample_mail_event_is_read_and_a_missing_session_sends_nothing() {
        let e: SnsEvent = serde_json::from_str(include_str!("../../../events/sns/mail-reply.json")).unwrap();
        let parsed: MailEvent = serde_json::from_str(&e.records[0].sns.message).unwrap();
        assert!(matches!(parsed, MailEvent::Reply { seq: 4, .. }));
        let MemoryApp { app, .. } = memory_app(0, ChatConfig::default());
        let mailer = MemoryMail::default();
        handlers::mail(&app, &mailer, e).await.unwrap();
        assert!(mailer.sent().is_empty());
    }
}
