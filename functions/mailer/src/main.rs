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
