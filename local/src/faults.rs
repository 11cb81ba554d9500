//! Fault injection: the failures AWS has and the happy path of a local stack never shows.
//!
//! `chat-dev --faults post410=0.02,post500=0.02,slow=0.05,slowMs=1500,ddbThrottle=0.03,txConflict=0.03,kill=0.01,dropDisconnect=0.2,seed=42`
//!
//! | key | where | what happens |
//! |---|---|---|
//! | `post410` | @connections `POST` | `410 GoneException` for a connection whose socket is open (the function cleans the connection up; the client's next frame gets `unauthorized` and it reconnects) |
//! | `post500` | @connections `POST` | `500` for the post and for the SDK's retries of it: the recipient misses that frame |
//! | `slow`, `slowMs` | @connections `POST` | the frame is delivered `slowMs` (default 1000) late, and the post answers then |
//! | `ddbThrottle` | the functions' DynamoDB calls | `400 ProvisionedThroughputExceededException` (the SDK retries it) |
//! | `txConflict` | the functions' `TransactWriteItems` | `400 TransactionCanceledException`, every reason `TransactionConflict` |
//! | `kill` | Lambda | the instance is killed (SIGKILL) at a random point of an invocation it was handed; the caller sees the runtime exit |
//! | `dropDisconnect` | WebSocket | a closed socket's `$disconnect` is never invoked |
//! | `crash` | Lambda | the instance dies as it is handed an invocation, before the handler sees the event: the invocation fails, every time (the poisoned event of `tests/tests/deadletter.rs`) |
//! | `seed` | | the random streams' seed (default 1): the same seed draws the same decisions |
//!
//! Probabilities are per event (per post, per DynamoDB request, per invocation, per closed socket).
//! A [`Faults`] handle is shared by the gateway, the Lambda pools and the DynamoDB relay of one
//! stack; tests change its configuration while the stack runs and read what was injected.

use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The kinds of fault, in the order of [`Fault::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Post410,
    Post500,
    Slow,
    DdbThrottle,
    TxConflict,
    Kill,
    DropDisconnect,
    Crash,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::Post410,
        Fault::Post500,
        Fault::Slow,
        Fault::DdbThrottle,
        Fault::TxConflict,
        Fault::Kill,
        Fault::DropDisconnect,
        Fault::Crash,
    ];

    /// The key in `--faults` and in `/health`.
    pub fn key(self) -> &'static str {
        match self {
            Fault::Post410 => "post410",
            Fault::Post500 => "post500",
            Fault::Slow => "slow",
            Fault::DdbThrottle => "ddbThrottle",
            Fault::TxConflict => "txConflict",
            Fault::Kill => "kill",
            Fault::DropDisconnect => "dropDisconnect",
            Fault::Crash => "crash",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Probabilities (0..=1) of each fault, the delay of a slow post, and the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    pub post410: f64,
    pub post500: f64,
    pub slow: f64,
    pub slow_ms: u64,
    pub ddb_throttle: f64,
    pub tx_conflict: f64,
    pub kill: f64,
    pub drop_disconnect: f64,
    pub crash: f64,
    pub seed: u64,
}

impl Default for FaultConfig {
    /// No faults.
    fn default() -> Self {
        FaultConfig {
            post410: 0.0,
            post500: 0.0,
            slow: 0.0,
            slow_ms: 1000,
            ddb_throttle: 0.0,
            tx_conflict: 0.0,
            kill: 0.0,
            drop_disconnect: 0.0,
            crash: 0.0,
            seed: 1,
        }
    }
}

/// The `--faults` syntax, for messages.
pub const SYNTAX: &str = "post410=P,post500=P,slow=P,slowMs=MS,ddbThrottle=P,txConflict=P,kill=P,dropDisconnect=P,crash=P,seed=N (P in 0..1; any subset, in any order; \"none\" for none)";

impl FaultConfig {
    /// Parses `post410=0.02,slow=0.05,slowMs=1500,seed=42` (any subset, any order; `none`).
    pub fn parse(spec: &str) -> Result<FaultConfig, String> {
        let mut c = FaultConfig::default();
        let spec = spec.trim();
        if spec.is_empty() || spec == "none" {
            return Ok(c);
        }
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("--faults: {part:?} is not key=value; syntax: {SYNTAX}"))?;
            let (k, v) = (k.trim(), v.trim());
            let p = || -> Result<f64, String> {
                match v.parse::<f64>() {
                    Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
                    _ => Err(format!("--faults: {k} takes a probability from 0 to 1, not {v:?}")),
                }
            };
            match k {
                "post410" => c.post410 = p()?,
                "post500" => c.post500 = p()?,
                "slow" => c.slow = p()?,
                "slowMs" => c.slow_ms = v.parse().map_err(|_| format!("--faults: slowMs takes milliseconds, not {v:?}"))?,
                "ddbThrottle" => c.ddb_throttle = p()?,
                "txConflict" => c.tx_conflict = p()?,
                "kill" => c.kill = p()?,
                "dropDisconnect" => c.drop_disconnect = p()?,
                "crash" => c.crash = p()?,
                "seed" => c.seed = v.parse().map_err(|_| format!("--faults: seed takes a whole number, not {v:?}"))?,
                other => return Err(format!("--faults: unknown key {other:?}; syntax: {SYNTAX}")),
            }
        }
        Ok(c)
    }

    pub fn probability(&self, f: Fault) -> f64 {
        match f {
            Fault::Post410 => self.post410,
            Fault::Post500 => self.post500,
            Fault::Slow => self.slow,
            Fault::DdbThrottle => self.ddb_throttle,
            Fault::TxConflict => self.tx_conflict,
            Fault::Kill => self.kill,
            Fault::DropDisconnect => self.drop_disconnect,
            Fault::Crash => self.crash,
        }
    }

    /// Back to the `--faults` syntax (every key).
    pub fn spec(&self) -> String {
        let mut parts: Vec<String> = Fault::ALL.iter().map(|f| format!("{}={}", f.key(), self.probability(*f))).collect();
        parts.insert(3, format!("slowMs={}", self.slow_ms));
        parts.push(format!("seed={}", self.seed));
        parts.join(",")
    }

    /// Every probability zero.
    pub fn is_quiet(&self) -> bool {
        Fault::ALL.iter().all(|f| self.probability(*f) == 0.0)
    }
}

impl std::str::FromStr for FaultConfig {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultConfig::parse(s)
    }
}

/// SplitMix64: small, fast, good enough to draw faults from, and reproducible from a seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Inner {
    cfg: RwLock<FaultConfig>,
    /// One random stream per kind: how often one kind is drawn does not change another's draws.
    rngs: [Mutex<u64>; 8],
    injected: [AtomicU64; 8],
}

/// The fault injector of one stack: a cheap handle (clones share it). The default injects nothing
/// and costs nothing ([`Faults::active`] is false: no DynamoDB relay is started).
#[derive(Clone, Default)]
pub struct Faults(Option<Arc<Inner>>);

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => write!(f, "Faults(off)"),
            Some(_) => write!(f, "Faults({})", self.config().spec()),
        }
    }
}

impl Faults {
    /// No fault injection (the default).
    pub fn none() -> Faults {
        Faults(None)
    }

    /// Injects faults as `cfg` says. The stack is wired for every kind (the DynamoDB relay runs)
    /// even when `cfg` is quiet, so [`Faults::set`] can turn any of them on later.
    pub fn new(cfg: FaultConfig) -> Faults {
        let rngs = std::array::from_fn(|i| Mutex::new(cfg.seed ^ (0xA076_1D64_78BD_642F_u64.wrapping_mul(i as u64 + 1))));
        Faults(Some(Arc::new(Inner { cfg: RwLock::new(cfg), rngs, injected: Default::default() })))
    }

    /// From the `--faults` syntax.
    pub fn parse(spec: &str) -> Result<Faults, String> {
        Ok(Faults::new(FaultConfig::parse(spec)?))
    }

    pub fn active(&self) -> bool {
        self.0.is_some()
    }

    pub fn config(&self) -> FaultConfig {
        self.0.as_ref().map(|i| *i.cfg.read().unwrap()).unwrap_or_default()
    }

    /// Changes the probabilities while the stack runs (counters and random streams go on).
    pub fn set(&self, cfg: FaultConfig) {
        if let Some(i) = &self.0 {
            *i.cfg.write().unwrap() = cfg;
        }
    }

    /// A draw in `0..1` from `kind`'s stream.
    fn draw(&self, inner: &Inner, kind: Fault) -> f64 {
        let mut s = inner.rngs[kind.index()].lock().unwrap();
        (splitmix(&mut s) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether to inject `kind` now; not counted (see [`Faults::record`]).
    pub fn decide(&self, kind: Fault) -> bool {
        let Some(inner) = &self.0 else { return false };
        let p = inner.cfg.read().unwrap().probability(kind);
        p > 0.0 && self.draw(inner, kind) < p
    }

    /// Counts one injected fault.
    pub fn record(&self, kind: Fault) {
        if let Some(i) = &self.0 {
            i.injected[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`Faults::decide`], counted when it says yes.
    pub fn roll(&self, kind: Fault) -> bool {
        let yes = self.decide(kind);
        if yes {
            self.record(kind);
        }
        yes
    }

    /// A whole number in `0..=max` from `kind`'s stream (where in an invocation to kill it).
    pub fn uniform(&self, kind: Fault, max: u64) -> u64 {
        let Some(inner) = &self.0 else { return 0 };
        (self.draw(inner, kind) * (max as f64 + 1.0)).floor().min(max as f64) as u64
    }

    /// How late a slow post is delivered.
    pub fn slow_delay(&self) -> Duration {
        Duration::from_millis(self.config().slow_ms)
    }

    /// How many of `kind` were injected so far.
    pub fn injected(&self, kind: Fault) -> u64 {
        self.0.as_ref().map(|i| i.injected[kind.index()].load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// `{"config": "post410=…,seed=…", "injected": {"post410": n, …}}` (for `/health`).
    pub fn to_json(&self) -> Value {
        let injected: Map<String, Value> = Fault::ALL.iter().map(|f| (f.key().to_string(), json!(self.injected(*f)))).collect();
        json!({ "config": self.config().spec(), "injected": injected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_syntax() {
        let c = FaultConfig::parse(
            "post410=0.02,post500=0.02,slow=0.05,slowMs=1500,ddbThrottle=0.03,txConflict=0.03,kill=0.01,dropDisconnect=0.2,crash=0.5,seed=42",
        )
        .unwrap();
        assert_eq!(
            c,
            FaultConfig {
                post410: 0.02,
                post500: 0.02,
                slow: 0.05,
                slow_ms: 1500,
                ddb_throttle: 0.03,
                tx_conflict: 0.03,
                kill: 0.01,
                drop_disconnect: 0.2,
                crash: 0.5,
                seed: 42
            }
        );
        // The spec it prints reads back the same.
        assert_eq!(FaultConfig::parse(&c.spec()).unwrap(), c);
        // Any subset, spaces, a trailing comma; "none".
        let c = FaultConfig::parse(" kill = 1 , ").unwrap();
        assert_eq!((c.kill, c.post410, c.slow_ms, c.seed), (1.0, 0.0, 1000, 1));
        assert!(FaultConfig::parse("none").unwrap().is_quiet());
        assert!(FaultConfig::parse("").unwrap().is_quiet());
        assert!(!c.is_quiet());
    }

    #[test]
    fn refuses_what_is_not_the_syntax() {
        for bad in ["post410", "post410=2", "post410=-0.1", "post410=x", "slowMs=1.5", "seed=-1", "gremlins=0.5", "kill=0.1;slow=1"] {
            let e = FaultConfig::parse(bad).unwrap_err();
            assert!(e.starts_with("--faults:"), "{bad}: {e}");
        }
    }

    #[test]
    fn draws_are_reproducible_per_seed_and_independent_per_kind() {
        let cfg = FaultConfig { post410: 0.3, kill: 0.5, seed: 7, ..FaultConfig::default() };
        let draws = |f: &Faults| (0..200).map(|_| f.decide(Fault::Post410)).collect::<Vec<_>>();
        let (a, b) = (Faults::new(cfg), Faults::new(cfg));
        // Draws of another kind in between do not shift this kind's stream.
        for _ in 0..37 {
            b.decide(Fault::Kill);
        }
        let (da, db) = (draws(&a), draws(&b));
        assert_eq!(da, db);
        let hits = da.iter().filter(|x| **x).count();
        assert!((30..=90).contains(&hits), "about 30% of 200: {hits}");
        let other = Faults::new(FaultConfig { seed: 8, ..cfg });
        assert_ne!(draws(&other), da, "another seed, other draws");
        // Zero never fires, one always does; only roll counts.
        let f = Faults::new(FaultConfig { slow: 1.0, ..FaultConfig::default() });
        assert!((0..100).all(|_| f.decide(Fault::Slow)) && (0..100).all(|_| !f.decide(Fault::Post500)));
        assert_eq!(f.injected(Fault::Slow), 0);
        assert!(f.roll(Fault::Slow));
        assert_eq!(f.injected(Fault::Slow), 1);
        assert_eq!(f.to_json()["injected"]["slow"], 1);
        // Off: nothing, and no counters.
        let off = Faults::none();
        assert!(!off.active() && !off.roll(Fault::Kill) && off.to_json()["injected"]["kill"] == 0);
        assert!((0..100).all(|_| f.uniform(Fault::Kill, 10) <= 10));
    }
}
