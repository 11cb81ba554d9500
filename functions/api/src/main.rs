//! The REST API behind the HTTP API (payload format 2.0): history, sending, archive, order-bound
//! rooms, search. Routes and rules: `chat::rest`.

use chat::{config::Config, handlers, rest};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_tracing();
    let config = Config::from_env()?;
    let sdk = handlers::sdk_config().await;
    let api = rest::Api { app: handlers::aws_app(&config, &sdk), verifier: handlers::verifier(&config, &sdk).await? };
    run(service_fn(|req: Request| async { Ok::<_, Error>(rest::handle(&api, req).await) })).await
}
