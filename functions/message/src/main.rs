//! Every client action: `$default` and the named routes.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::{config::Config, handlers};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_tracing();
    let config = Config::from_env()?;
    let sdk = handlers::sdk_config().await;
    let app = handlers::aws_app(&config, &sdk);
    run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| handlers::message(&app, event.payload))).await
}
