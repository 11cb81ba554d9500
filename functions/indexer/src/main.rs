//! Keeps the full-text index: fed by the Messages table's DynamoDB stream (new, edited and deleted
//! messages). Rules: `chat::search`.

use aws_lambda_events::event::dynamodb::Event;
use chat::{config::Config, handlers};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_tracing();
    let config = Config::from_env()?;
    let sdk = handlers::sdk_config().await;
    let app = handlers::aws_app(&config, &sdk);
    run(service_fn(|event: LambdaEvent<Event>| handlers::index(&app, event.payload))).await
}
