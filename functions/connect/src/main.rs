//! `$connect`: verifies the token and registers the connection.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, sdk, app) = handlers::boot().await?;
    let verifier = handlers::verifier(&config, &sdk).await?;
    run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        handlers::connect(&app, &verifier, &config.allowed_origins, event.payload)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_deserializes() {
        let e: ApiGatewayWebsocketProxyRequest = serde_json::from_str(include_str!("../../../events/connect.json")).unwrap();
        assert_eq!(e.request_context.route_key.as_deref(), Some("$connect"));
        let protocols = e.headers.get("sec-websocket-protocol").and_then(|v| v.to_str().ok());
        let (token, answer) = chat::auth::token_from_request(e.query_string_parameters.first("token"), protocols).unwrap();
        assert_eq!(token.matches('.').count(), 2);
        assert_eq!(answer.as_deref(), Some("chat.v1"));
    }
}
