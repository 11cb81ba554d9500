//! The REST API behind the HTTP API (payload format 2.0): history, sending, archive, order-bound
//! rooms, search. Routes and rules: `chat::rest`.

use chat::{handlers, rest};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, sdk, app) = handlers::boot().await?;
    let verifier = handlers::verifier(&config, &sdk).await?;
    let api = rest::Api::new(app, verifier, &config).with_push_key(rest::push::PushKey::from_config(&config, &sdk));
    run(service_fn(|req: Request| async { Ok::<_, Error>(rest::handle(&api, req).await) })).await
}

#[cfg(test)]
mod tests {
    use chat::app::ChatConfig;
    use chat::auth::{AuthConfig, Verifier};
    use chat::handlers::memory_app;
    use chat::rest::{handle, Api};

    /// Every sample event of `events/http` (tokens signed with `events-secret`) is a payload 2.0
    /// event lambda_http reads, routed by its `routeKey`, answered in order on in-memory doubles.
    #[tokio::test]
    async fn the_sample_events_are_handled_in_order() {
        let app = memory_app(1_795_434_000_000, ChatConfig::default()).app;
        let api = Api {
            app,
            verifier: Verifier::new(AuthConfig { hs256_secret: Some(b"events-secret".to_vec()), ..Default::default() }),
            ws_url: "ws://localhost/local".into(),
            issuer: None,
            audience: None,
            push_key: Default::default(),
            push_endpoints: Default::default(),
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/http");
        let run = |name: &str| {
            let text = std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap();
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let body =
            |r: &lambda_http::Response<lambda_http::Body>| -> serde_json::Value { serde_json::from_slice(r.body().as_ref()).unwrap() };
        let expect = [("health", 200), ("get-chats", 200), ("put-context", 201), ("get-messages", 403), ("search", 200)];
        for (name, status) in expect {
            let r = handle(&api, run(name)).await;
            assert_eq!(r.status().as_u16(), status, "{name}: {}", body(&r));
        }
        // The sample post goes to a room alice is not in (its id is a placeholder): 403.
        let r = handle(&api, run("post-message")).await;
        assert_eq!((r.status().as_u16(), body(&r)["code"].as_str()), (403, Some("not_member")));
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), expect.len() + 1, "every sample is run");
    }
}
