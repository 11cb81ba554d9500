//! The store contract (`chat::store::contract`) on DynamoDB Local through the DynamoDB store:
//! the same checks the in-memory double passes in `cargo test -p chat-shared`, so the two stores
//! keep the same promises (expiry, conditions, pagination, idempotency).

use chat::config::Tables;
use chat::store::contract::CHECKS;
use chat::store::dynamodb::DynamoStore;
use chat_tests::{uid, TestStack};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_store_keeps_the_contract() {
    let s = TestStack::chat().await;
    let env = &s.stack.spec.functions["MessageFunction"].environment;
    let tables = Tables::from_lookup(|k| env.get(k).cloned()).unwrap();
    let ddb = s.dynamodb().await;
    for check in CHECKS {
        let clock = Arc::new(chat::clock::ManualClock::new({
            use chat::clock::Clock;
            chat::clock::SystemClock.now_ms()
        }));
        let store = DynamoStore::new(ddb.clone(), tables.clone()).with_clock(clock.clone());
        let prefix = uid("c");
        (check.run)(&store, &clock, &prefix).await;
        println!("ok: {}", check.name);
    }
}
