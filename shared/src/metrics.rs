//! The product's own metrics, as CloudWatch Embedded Metric Format (EMF) log lines: one JSON line
//! on stdout per invocation, which CloudWatch Logs turns into metrics — no API call on the hot
//! path, no extra latency.
//!
//! Written here rather than with a crate: an EMF line is a JSON shape (`_aws.CloudWatchMetrics`
//! naming which keys are metrics), and the crates that exist (`metrics_cloudwatch_embedded`,
//! `aws-embedded-metrics`) bring a global recorder and a flush per invocation for what one
//! `println!` does.
//!
//! Cost is kept small: no dimensions (each metric name is one custom metric, $0.30 a month); what
//! would multiply them — the action, the room — is a property of the line, queried in Logs
//! Insights (`filter Action = "message.send" | stats avg(FrameMs)`) at no metric cost.

use serde_json::{json, Map, Value};

/// The namespace of every metric of the stack.
pub const NAMESPACE: &str = "Chat";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF line at `now_ms`: `metrics` (name, unit, value) and `properties` (searchable, not
/// metrics).
pub fn line(now_ms: u64, metrics: &[(&str, Unit, f64)], properties: &[(&str, Value)]) -> String {
    let mut root = Map::new();
    for (k, v) in properties {
        root.insert((*k).to_string(), v.clone());
    }
    for (name, _, value) in metrics {
        root.insert((*name).to_string(), json!(value));
    }
    let defs: Vec<Value> = metrics.iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.name() })).collect();
    root.insert(
        "_aws".into(),
        json!({ "Timestamp": now_ms, "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": defs }] }),
    );
    Value::Object(root).to_string()
}

/// Prints [`line`] on stdout, where Lambda's log capture (and CloudWatch's EMF extraction) reads
/// it — inside a Lambda function only (on AWS or the local platform), not in unit tests or the
/// bench, which call the handlers in-process.
pub fn emit(now_ms: u64, metrics: &[(&str, Unit, f64)], properties: &[(&str, Value)]) {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()) {
        println!("{}", line(now_ms, metrics, properties));
    }
}

/// Milliseconds since `started`, to a tenth.
pub fn ms_since(started: std::time::Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line is what CloudWatch's EMF specification asks for: every metric named in
    /// `CloudWatchMetrics` is a number at the top level, the timestamp in milliseconds.
    #[test]
    fn a_line_is_embedded_metric_format() {
        let l =
            line(1_795_000_000_000, &[("Frames", Unit::Count, 1.0), ("FrameMs", Unit::Milliseconds, 12.5)], &[("Action", json!("ping"))]);
        let v: Value = serde_json::from_str(&l).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!((v["_aws"]["Timestamp"].as_u64(), m["Namespace"].as_str()), (Some(1_795_000_000_000), Some("Chat")));
        assert_eq!(m["Dimensions"], json!([[]]));
        for d in m["Metrics"].as_array().unwrap() {
            assert!(v[d["Name"].as_str().unwrap()].is_number(), "{d} has its value");
        }
        assert_eq!(
            (v["FrameMs"].as_f64(), v["Action"].as_str(), m["Metrics"][1]["Unit"].as_str()),
            (Some(12.5), Some("ping"), Some("Milliseconds"))
        );
        assert!(!l.contains('\n'), "one line");
    }
}
