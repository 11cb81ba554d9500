//! `$connect`: verifies the token and registers the connection.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::{config::Config, handlers};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_tracing();
    let config = Config::from_env()?;
    let sdk = handlers::sdk_config().await;
    let app = handlers::aws_app(&config, &sdk);
    let verifier = handlers::verifier(&config, &sdk).await?;
    run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| handlers::connect(&app, &verifier, event.payload))).await
}
