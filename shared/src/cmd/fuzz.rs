//! Property tests of every client action's input: arbitrary frames (known and unknown actions,
//! known field names with values of every JSON type, sizes and scripts, and bytes that are not JSON)
//! against the rules on the in-memory doubles. For every input: no panic, every frame the server
//! posts fits API Gateway's 128 KB, and an input the parser refuses gets exactly one `error` frame.
//!
//! `make test` runs 2,000 cases; `make fuzz` runs `FUZZ_CASES` (10 M by default) and prints how many
//! ran and what they produced.

use super::tests_support::World;
use super::CLIENT_ACTIONS;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const FIELDS: &[&str] = &[
    "roomId",
    "clientId",
    "content",
    "kind",
    "replyTo",
    "seq",
    "members",
    "type",
    "name",
    "userId",
    "isTyping",
    "beforeSeq",
    "limit",
    "rooms",
    "versions",
    "cursor",
    "ref",
    "archived",
    "meta",
    "extra",
    "sessionId",
    "context",
    "score",
    "comment",
    "resolution",
    "toOperatorId",
    "muted",
];

/// Stands for the world's real support session in generated frames (replaced before sending).
const SESSION: &str = "@session";

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

/// An id: mostly the room alice and bob share (so actions reach a real room), else anything.
fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(json!(crate::ids::direct_room_id("alice", "bob"))),
        2 => "[a-z0-9_-]{1,20}".prop_map(Value::String),
        1 => text().prop_map(Value::String),
        1 => value(),
    ]
}

/// A session id: mostly the world's real session, else anything.
fn session() -> impl Strategy<Value = Value> {
    prop_oneof![6 => Just(json!(SESSION)), 1 => id()]
}

fn small() -> impl Strategy<Value = Value> {
    prop_oneof![8 => (0u64..12).prop_map(|n| json!(n)), 1 => value()]
}

fn user() -> impl Strategy<Value = Value> {
    prop_oneof![6 => prop::sample::select(vec!["bob", "alice", "carol", "dave"]).prop_map(|u| json!(u)), 1 => text().prop_map(Value::String), 1 => value()]
}

/// The fields an action takes, with values that are mostly of the right type.
fn fields_of(action: &str) -> BoxedStrategy<Vec<(&'static str, Value)>> {
    let content = prop_oneof![8 => text().prop_map(Value::String), 1 => value()];
    match action {
        "message.send" => (id(), "[a-z0-9-]{1,12}".prop_map(Value::String), content, proptest::option::of(prop::sample::select(vec!["text", "image", "file", "system", "note"]).prop_map(|k| json!(k))), proptest::option::of(small()))
            .prop_map(|(r, c, t, k, rt)| {
                let mut f = vec![("roomId", r), ("clientId", c), ("content", t)];
                if let Some(k) = k {
                    f.push(("kind", k));
                }
                if let Some(rt) = rt {
                    f.push(("replyTo", rt));
                }
                f
            })
            .boxed(),
        "message.edit" => (id(), small(), content).prop_map(|(r, q, t)| vec![("roomId", r), ("seq", q), ("content", t)]).boxed(),
        "message.delete" | "read" | "delivered" => (id(), small()).prop_map(|(r, q)| vec![("roomId", r), ("seq", q)]).boxed(),
        "typing" => (id(), any::<bool>()).prop_map(|(r, t)| vec![("roomId", r), ("isTyping", json!(t))]).boxed(),
        "room.mute" => (id(), any::<bool>()).prop_map(|(r, m)| vec![("roomId", r), ("muted", json!(m))]).boxed(),
        "history" => (id(), proptest::option::of(small()), proptest::option::of(small())).prop_map(|(r, b, l)| {
            let mut f = vec![("roomId", r)];
            f.extend(b.map(|b| ("beforeSeq", b)));
            f.extend(l.map(|l| ("limit", l)));
            f
        }).boxed(),
        "presence.query" | "room.leave" => id().prop_map(|r| vec![("roomId", r)]).boxed(),
        "room.create" => (prop::sample::select(vec!["direct", "group", "support", "order"]), prop::collection::vec(user(), 0..4), proptest::option::of(text()))
            .prop_map(|(t, m, n)| {
                let mut f = vec![("type", json!(t)), ("members", Value::Array(m))];
                f.extend(n.map(|n| ("name", json!(n))));
                f
            })
            .boxed(),
        "room.add" => (id(), prop::collection::vec(user(), 0..4)).prop_map(|(r, m)| vec![("roomId", r), ("members", Value::Array(m))]).boxed(),
        "room.remove" => (id(), user()).prop_map(|(r, u)| vec![("roomId", r), ("userId", u)]).boxed(),
        "room.list" => (proptest::option::of(small()), proptest::option::of(any::<bool>())).prop_map(|(l, a)| {
            let mut f = Vec::new();
            f.extend(l.map(|l| ("limit", l)));
            f.extend(a.map(|a| ("archived", json!(a))));
            f
        }).boxed(),
        "support.start" => (
            proptest::option::of(prop_oneof![
                4 => (proptest::option::of(prop_oneof![3 => "https://[a-z]{1,8}\\.example/[a-z]{0,8}".prop_map(Value::String), 1 => value()]), proptest::option::of(text()), proptest::option::of(value()))
                    .prop_map(|(url, locale, attrs)| {
                        let mut c = Map::new();
                        if let Some(u) = url { c.insert("url".into(), u); }
                        if let Some(l) = locale { c.insert("locale".into(), json!(l)); }
                        if let Some(a) = attrs { c.insert("attributes".into(), a); }
                        Value::Object(c)
                    }),
                1 => value(),
            ]),
            proptest::option::of(content.clone()),
            proptest::option::of("[a-z0-9-]{1,12}".prop_map(Value::String)),
        )
            .prop_map(|(ctx, t, c)| {
                let mut f = Vec::new();
                if let Some(ctx) = ctx { f.push(("context", ctx)); }
                if let Some(t) = t { f.push(("content", t)); }
                if let Some(c) = c { f.push(("clientId", c)); }
                f
            })
            .boxed(),
        "session.accept" => session().prop_map(|s| vec![("sessionId", s)]).boxed(),
        "session.transfer" => (session(), user()).prop_map(|(s, u)| vec![("sessionId", s), ("toOperatorId", u)]).boxed(),
        "session.close" => (session(), proptest::option::of(content.clone())).prop_map(|(s, r)| {
            let mut f = vec![("sessionId", s)];
            if let Some(r) = r { f.push(("resolution", r)); }
            f
        }).boxed(),
        "session.rate" => (session(), small(), proptest::option::of(content)).prop_map(|(s, n, c)| {
            let mut f = vec![("sessionId", s), ("score", n)];
            if let Some(c) = c { f.push(("comment", c)); }
            f
        }).boxed(),
        "sync" => (prop::collection::btree_map(prop_oneof![Just(crate::ids::direct_room_id("alice", "bob")), text()], small(), 0..3)).prop_map(|m| vec![("rooms", Value::Object(m.into_iter().collect()))]).boxed(),
        _ => Just(Vec::new()).boxed(),
    }
}

/// A frame: mostly a well-formed frame of a known action with one field sometimes spoiled (a wrong
/// type, a huge value, an unknown or missing field), sometimes anything at all.
fn frame() -> impl Strategy<Value = String> {
    let well_formed = prop::sample::select(CLIENT_ACTIONS.to_vec())
        .prop_flat_map(|a| {
            (
                Just(a),
                fields_of(a),
                proptest::option::weighted(0.3, (prop::sample::select(FIELDS.to_vec()), value())),
                any::<bool>(),
                proptest::option::of("[a-z0-9]{1,10}"),
            )
        })
        .prop_map(|(action, fields, spoil, drop_one, reference)| {
            let mut m = Map::new();
            m.insert("action".into(), json!(action));
            let n = fields.len();
            for (i, (k, v)) in fields.into_iter().enumerate() {
                if drop_one && spoil.is_some() && i + 1 == n {
                    continue; // a required field missing
                }
                m.insert(k.to_string(), v);
            }
            if let Some((k, v)) = spoil {
                m.insert(k.to_string(), v);
            }
            if let Some(r) = reference {
                m.insert("ref".into(), json!(r));
            }
            Value::Object(m).to_string()
        });
    let any_object = (proptest::option::weighted(0.9, prop_oneof![3 => prop::sample::select(CLIENT_ACTIONS.to_vec()).prop_map(|a| json!(a)), 1 => text().prop_map(Value::String), 1 => value()]), prop::collection::vec((prop::sample::select(FIELDS.to_vec()), value()), 0..7))
        .prop_map(|(action, fields)| {
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
        12 => well_formed,
        4 => any_object,
        1 => value().prop_map(|v| v.to_string()),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Runs one frame from `a1` (a user), or from `o1` (an operator) when `as_operator`; checks the
/// properties; returns whether the parser refused it.
pub(super) fn check(rt: &tokio::runtime::Runtime, w: &World, body: &str, as_operator: bool) -> Result<bool, String> {
    let session = w.session.get().cloned().unwrap_or_default();
    let body = &body.replace(SESSION, &session);
    let sender = if as_operator { "o1" } else { "a1" };
    let refused = super::parse(body).is_err();
    rt.block_on(super::handle(&w.app, sender, "fuzz", body));
    let mut answers = 0;
    for conn in ["a1", "a2", "b1", "o1"] {
        for f in w.notifier.take(conn) {
            let len = f.to_string().len();
            if len > 128 * 1024 {
                return Err(format!("a {len}-byte frame to {conn} for {}", body.chars().take(200).collect::<String>()));
            }
            if f["code"] == "internal" {
                return Err(format!("an internal error to {conn} for {}: {f}", body.chars().take(200).collect::<String>()));
            }
            if conn == sender {
                answers += 1;
                if refused && f["type"] != "error" {
                    return Err(format!("a refused frame got {f} for {}", body.chars().take(200).collect::<String>()));
                }
            }
        }
    }
    if refused && answers != 1 {
        return Err(format!("a refused frame got {answers} answers: {}", body.chars().take(200).collect::<String>()));
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
        // A support session bob waits in, and an operator online.
        w.connect_operator("olga", "o1").await;
        w.frame("b1", json!({"action": "support.start", "content": "help"})).await;
        let started = w.notifier.take("b1").into_iter().find(|f| f["type"] == "session.started").expect("bob's session");
        let _ = w.session.set(started["session"]["sessionId"].as_str().unwrap().to_string());
        for c in ["a1", "a2", "b1", "o1"] {
            w.notifier.take(c);
        }
        w
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_frame_gets_a_bounded_answer_and_refusals_an_error(body in frame(), as_operator in prop::bool::weighted(0.25)) {
        thread_local! {
            static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        }
        RT.with(|rt| {
            thread_local! { static W: std::cell::OnceCell<World> = const { std::cell::OnceCell::new() }; }
            W.with(|w| {
                let w = w.get_or_init(|| world(rt));
                check(rt, w, &body, as_operator)
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
    let mut runner =
        TestRunner::new_with_rng(Config::default(), TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut w = world(&rt);
    let strategy = (frame(), prop::bool::weighted(0.25));
    let started = std::time::Instant::now();
    let mut refused = 0u64;
    for i in 0..cases {
        if i % 200_000 == 0 && i > 0 {
            // A fresh world now and then, so the in-memory store does not grow without end.
            w = world(&rt);
            eprintln!("{i} frames, {refused} refused, {:.0}/s", i as f64 / started.elapsed().as_secs_f64());
        }
        let (body, as_operator) = strategy.new_tree(&mut runner).unwrap().current();
        match check(&rt, &w, &body, as_operator) {
            Ok(r) => refused += r as u64,
            Err(e) => panic!("frame {i}: {e}"),
        }
    }
    println!("fuzz: {cases} frames ({refused} refused by the parser, {} accepted), no panic, every answer under 128 KB, an error frame for every refusal, in {:.0} s (seed {seed})", cases - refused, started.elapsed().as_secs_f64());
}
