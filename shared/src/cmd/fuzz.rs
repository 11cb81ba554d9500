//! Property tests of every client action's input: arbitrary frames (known and unknown actions,
//! known field names with values of every JSON type, sizes and scripts, and bytes that are not JSON)
//! against the rules on the in-memory doubles. For every input: no panic, every frame the server
//! posts fits API Gateway's 128 KB, and an input the parser refuses gets exactly one `error` frame.
//!
//! `make test` runs 2,000 cases; `make fuzz` runs `FUZZ_CASES` (10 M by default) and prints how many
//! ran and what they produced.

use super::tests_support::World;
use crate::protocol::CLIENT_ACTIONS;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const FIELDS: &[&str] = &[
    "roomId", "clientId", "content", "kind", "replyTo", "seq", "members", "type", "name", "userId", "isTyping", "beforeSeq", "limit", "rooms", "versions", "cursor", "ref",
    "archived", "meta", "extra",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => "[a-z0-9_-]{0,12}",
        20 => "\\PC{0,40}",
        10 => "[\u{0}-\u{1f}\u{7f}\u{ff}\u{fffd}]{1,8}",
        1 => (1usize..20_000).prop_map(|n| "é".repeat(n)),
        // The room alice and bob share, so actions reach a real room.
        15 => Just(crate::ids::direct_room_id("alice", "bob")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (0u64..20).prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A frame: mostly an object with an action and some known fields, sometimes anything at all.
fn frame() -> impl Strategy<Value = String> {
    let action = prop_oneof![
        6 => prop::sample::select(CLIENT_ACTIONS.to_vec()).prop_map(|a| json!(a)),
        1 => text().prop_map(Value::String),
        1 => value(),
    ];
    let object = (proptest::option::weighted(0.95, action), prop::collection::vec((prop::sample::select(FIELDS.to_vec()), value()), 0..7)).prop_map(|(action, fields)| {
        let mut m = Map::new();
        if let Some(a) = action {
            m.insert("action".into(), a);
        }
        for (k, v) in fields {
            m.insert(k.to_string(), v);
        }
        Value::Object(m).to_string()
    });
    prop_oneof![
        8 => object,
        1 => value().prop_map(|v| v.to_string()),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Runs one frame from `a1`; checks the properties; returns whether the parser refused it.
pub(super) fn check(rt: &tokio::runtime::Runtime, w: &World, body: &str) -> Result<bool, String> {
    let refused = super::parse(body).is_err();
    rt.block_on(super::handle(&w.app, "a1", "fuzz", body));
    let mut answers = 0;
    for conn in ["a1", "a2", "b1"] {
        for f in w.notifier.take(conn) {
            let len = f.to_string().len();
            if len > 128 * 1024 {
                return Err(format!("a {len}-byte frame to {conn} for {}", &body[..body.len().min(200)]));
            }
            if conn == "a1" {
                answers += 1;
                if refused && f["type"] != "error" {
                    return Err(format!("a refused frame got {f} for {}", &body[..body.len().min(200)]));
                }
            }
        }
    }
    if refused && answers != 1 {
        return Err(format!("a refused frame got {answers} answers: {}", &body[..body.len().min(200)]));
    }
    Ok(refused)
}

pub(super) fn world(rt: &tokio::runtime::Runtime) -> World {
    rt.block_on(async {
        let w = World::new();
        w.connect("alice", "a1").await;
        w.connect("alice", "a2").await;
        w.connect("bob", "b1").await;
        w.direct("a1", "bob").await;
        w.frame("a1", json!({"action": "room.create", "type": "group", "members": ["bob"]})).await;
        for c in ["a1", "a2", "b1"] {
            w.notifier.take(c);
        }
        w
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_frame_gets_a_bounded_answer_and_refusals_an_error(body in frame()) {
        thread_local! {
            static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        }
        RT.with(|rt| {
            thread_local! { static W: std::cell::OnceCell<World> = const { std::cell::OnceCell::new() }; }
            W.with(|w| {
                let w = w.get_or_init(|| world(rt));
                check(rt, w, &body)
            })
        }).map_err(TestCaseError::fail)?;
    }
}

/// `make fuzz`: `FUZZ_CASES` frames (default 10 M) through the same checks, with a count at the end.
#[test]
#[ignore = "long: run with `make fuzz`"]
fn fuzz_many() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let cases: u64 = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut w = world(&rt);
    let strategy = frame();
    let started = std::time::Instant::now();
    let mut refused = 0u64;
    for i in 0..cases {
        if i % 200_000 == 0 && i > 0 {
            // A fresh world now and then, so the in-memory store does not grow without end.
            w = world(&rt);
            eprintln!("{i} frames, {refused} refused, {:.0}/s", i as f64 / started.elapsed().as_secs_f64());
        }
        let body = strategy.new_tree(&mut runner).unwrap().current();
        match check(&rt, &w, &body) {
            Ok(r) => refused += r as u64,
            Err(e) => panic!("frame {i}: {e}"),
        }
    }
    println!("fuzz: {cases} frames ({refused} refused by the parser, {} accepted), no panic, every answer under 128 KB, an error frame for every refusal, in {:.0} s (seed {seed})", cases - refused, started.elapsed().as_secs_f64());
}
