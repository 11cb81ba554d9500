//! Every client action: `$default` and the named routes.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat::handlers;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_, _, app) = handlers::boot().await?;
    run(service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| handlers::message(&app, event.payload))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::app::ChatConfig;
    use chat::handlers::{memory_app, MemoryApp};

    /// Every sample event of a message route deserializes, carries a valid frame for its route,
    /// and the handler answers it (here: the connection is unknown, so `unauthorized`).
    #[tokio::test]
    async fn every_sample_event_deserializes_and_is_handled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue; // events/http (the api function), events/stream (the indexer)
            }
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if name == "connect" || name == "disconnect" {
                continue;
            }
            let e: ApiGatewayWebsocketProxyRequest = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let route = e.request_context.route_key.clone().unwrap();
            assert_eq!(route, if name == "default" { "$default".to_string() } else { name.clone() });
            let parsed = chat::cmd::parse(e.body.as_deref().unwrap());
            assert_eq!(parsed.is_ok(), route != "$default", "{name}: {parsed:?}");

            let MemoryApp { app, notifier, .. } = memory_app(0, ChatConfig::default());
            let conn = e.request_context.connection_id.clone().unwrap();
            let resp = handlers::message(&app, e).await.unwrap();
            assert_eq!(resp.status_code, 200);
            let frames = notifier.frames(&conn);
            let expected = if route == "$default" { "invalid_frame" } else { "unauthorized" };
            assert_eq!(frames.len(), 1, "{name}");
            assert_eq!(frames[0]["code"], expected, "{name}: {}", frames[0]);
            seen += 1;
        }
        assert_eq!(seen, chat::cmd::CLIENT_ACTIONS.len() + 1, "one sample per action, plus $default");
    }
}
