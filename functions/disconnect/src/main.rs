//! `$disconnect`: unregisters the connection.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_, _, app) = handlers::boot().await?;
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
