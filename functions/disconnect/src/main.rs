//! `$disconnect`: unregisters the connection.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::{config::Config, handlers};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    handlers::init_tracing();
    let config = Config::from_env()?;
    let sdk = handlers::sdk_config().await;
    let app = handlers::aws_app(&config, &sdk);
    run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| handlers::disconnect(&app, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_deserializes() {
        let e: ApiGatewayWebsocketProxyRequest = serde_json::from_str(include_str!("../../../events/disconnect.json")).unwrap();
        assert_eq!(e.request_context.route_key.as_deref(), Some("$disconnect"));
        assert_eq!(e.request_context.disconnect_status_code, Some(1001));
    }
}
