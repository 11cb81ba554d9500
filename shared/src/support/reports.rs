//! Support reports: what the desk did per day, per operator and in total.
//!
//! Kept by the writes, never computed by reading sessions: each session event adds to the
//! counters of its session's start day (UTC) — the team's row, and the operator's when one is
//! concerned ([`record`]: one or two `ADD` updates). Durations are counted in buckets
//! ([`BOUNDS_SECS`]) beside their sum, so a report gives averages and, within a bucket's width,
//! medians and 90th percentiles. A report ([`report`]) reads one row per day for the team and one
//! per (day, operator) — key lookups in batches, whatever the number of sessions: a month is 30
//! team rows plus 30 per operator.
//!
//! Events: `started` (a new session), `accepted` (with its wait), `answered` (an operator's first
//! reply, with the time since the start), `closed` (with the time since the start; `missed` when
//! no operator had replied), `rated` (the 1–5 score).

use crate::app::{Actor, App};
use crate::error::{ChatError, Result};
use crate::model::ReportRow;
use crate::protocol::SupportSession;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Upper bounds of the duration buckets, in seconds; one more bucket holds the longer ones.
pub const BOUNDS_SECS: [u64; 27] = [
    5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800,
    43200, 86400,
];
/// The longest range a report covers.
pub const MAX_DAYS: i64 = 92;

/// A session event, as the counters take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    Started,
    Accepted { wait_ms: u64 },
    Answered { after_ms: u64 },
    Closed { after_ms: u64, missed: bool },
    Rated { score: u8 },
}

fn bucket(ms: u64) -> usize {
    BOUNDS_SECS.iter().position(|b| ms <= b * 1000).unwrap_or(BOUNDS_SECS.len())
}

/// The counters an event adds to (its name, by how much).
pub fn counters(e: Event) -> Vec<(String, u64)> {
    let timed = |count: &str, prefix: &str, ms: u64| {
        vec![(count.to_string(), 1), (format!("{prefix}Ms"), ms), (format!("{prefix}{}", bucket(ms)), 1)]
    };
    match e {
        Event::Started => vec![("started".into(), 1)],
        Event::Accepted { wait_ms } => timed("accepted", "w", wait_ms),
        Event::Answered { after_ms } => timed("answered", "f", after_ms),
        Event::Closed { after_ms, missed } => {
            let mut c = timed("closed", "r", after_ms);
            if missed {
                c.push(("missed".into(), 1));
            }
            c
        }
        Event::Rated { score } => vec![("rated".into(), 1), ("csatSum".into(), u64::from(score)), (format!("csat{score}"), 1)],
    }
}

/// Adds a session's event to its day's rows. A report is no reason to fail the action: an error
/// is logged.
pub async fn record(app: &App, session: &SupportSession, operator: Option<&str>, e: Event) {
    let day = day_of(session.created_at);
    if let Err(err) = app.store.add_to_report(&day, operator, &counters(e)).await {
        tracing::warn!(session_id = %session.session_id, error = %err, "cannot add to the report");
    }
}

// ------------------------------------------------------------------------------------------------
// Days (proleptic Gregorian, UTC).

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day (`YYYY-MM-DD`) of a time in ms.
pub fn day_of(ms: u64) -> String {
    format_day((ms / 86_400_000) as i64)
}

/// A `YYYY-MM-DD` date, checked.
pub fn parse_day(field: &str, s: &str) -> Result<i64> {
    let bad = || ChatError::invalid(field, format!("{field} is a date, YYYY-MM-DD"));
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit())).and_then(|p| p.parse::<u32>().ok());
    let (y, m, d) = (num(0..4).ok_or_else(bad)?, num(5..7).ok_or_else(bad)?, num(8..10).ok_or_else(bad)?);
    let days = days_from_civil(i64::from(y), m, d);
    if !(1..=12).contains(&m) || d == 0 || format_day(days) != s {
        return Err(bad());
    }
    Ok(days)
}

// ------------------------------------------------------------------------------------------------
// The report.

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Durations {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_ms: Option<u64>,
    /// The bound of the bucket that holds the median (within a bucket's width).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Csat {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    /// How many rated 1, 2, 3, 4, 5.
    pub distribution: [u64; 5],
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// New sessions (an operator's: the sessions they took).
    pub started: u64,
    pub accepted: u64,
    /// Sessions an operator replied in.
    pub answered: u64,
    /// Closed with no operator reply.
    pub missed: u64,
    pub closed: u64,
    pub wait: Durations,
    pub first_response: Durations,
    pub resolution: Durations,
    pub csat: Csat,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayStats {
    pub date: String,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorStats {
    pub operator_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub total: Stats,
    pub days: Vec<DayStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    /// The team's (or, with `operatorId`, that operator's) totals.
    pub total: Stats,
    /// Every day of the range, oldest first (days without activity: zeros).
    pub days: Vec<DayStats>,
    pub operators: Vec<OperatorStats>,
}

fn durations(c: &BTreeMap<String, u64>, count: &str, prefix: &str) -> Durations {
    let n = c.get(count).copied().unwrap_or(0);
    let counted: Vec<u64> = (0..=BOUNDS_SECS.len()).map(|i| c.get(&format!("{prefix}{i}")).copied().unwrap_or(0)).collect();
    let total: u64 = counted.iter().sum();
    let at = |q: f64| -> Option<u64> {
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, k) in counted.iter().enumerate() {
            seen += k;
            if seen >= rank {
                // Past the last bound: the last bound ("a day or more").
                return Some(BOUNDS_SECS[i.min(BOUNDS_SECS.len() - 1)] * 1000);
            }
        }
        None
    };
    Durations { count: n, average_ms: c.get(&format!("{prefix}Ms")).filter(|_| n > 0).map(|s| s / n), median_ms: at(0.5), p90_ms: at(0.9) }
}

fn stats(c: &BTreeMap<String, u64>) -> Stats {
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let rated = get("rated");
    let distribution = [get("csat1"), get("csat2"), get("csat3"), get("csat4"), get("csat5")];
    Stats {
        started: get("started"),
        accepted: get("accepted"),
        answered: get("answered"),
        missed: get("missed"),
        closed: get("closed"),
        wait: durations(c, "accepted", "w"),
        first_response: durations(c, "answered", "f"),
        resolution: durations(c, "closed", "r"),
        csat: Csat {
            count: rated,
            average: (rated > 0).then(|| (get("csatSum") as f64 / rated as f64 * 100.0).round() / 100.0),
            distribution,
        },
    }
}

fn sum<'a>(rows: impl IntoIterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in rows {
        for (k, v) in r {
            *out.entry(k.clone()).or_insert(0) += v;
        }
    }
    out
}

/// An operator's counters: `started` is the sessions they took.
fn operator_counters(row: &ReportRow) -> BTreeMap<String, u64> {
    let mut c = row.counters.clone();
    c.insert("started".into(), c.get("accepted").copied().unwrap_or(0));
    c
}

/// `GET /support/reports?from&to&operatorId`: operators, admins and the site.
pub async fn report(app: &App, actor: &Actor, from: &str, to: &str, operator_id: Option<String>) -> Result<Report> {
    if !(actor.role.is_operator() || actor.role.manages_team()) {
        return Err(ChatError::Forbidden("reports are for operators".into()));
    }
    let (a, b) = (parse_day("from", from)?, parse_day("to", to)?);
    if b < a {
        return Err(ChatError::invalid("to", "to is on or after from"));
    }
    if b - a + 1 > MAX_DAYS {
        return Err(ChatError::invalid("to", format!("a report covers at most {MAX_DAYS} days")));
    }
    if let Some(o) = &operator_id {
        crate::cmd::check_id("operatorId", o)?;
    }
    let days: Vec<String> = (a..=b).map(format_day).collect();
    let team = app.store.team_report(&days).await?;
    let operators: BTreeSet<String> = match &operator_id {
        Some(o) => BTreeSet::from([o.clone()]),
        None => team.iter().flat_map(|r| r.operators.iter().cloned()).collect(),
    };
    // Only the (day, operator) rows that exist: the team's row of a day lists its operators.
    let keys: Vec<(String, String)> =
        team.iter().flat_map(|r| r.operators.iter().filter(|o| operators.contains(*o)).map(|o| (r.day.clone(), o.clone()))).collect();
    let op_rows = app.store.operator_report(&keys).await?;
    let names = app.store.get_users(&operators.iter().cloned().collect::<Vec<_>>()).await.unwrap_or_default();
    let per_day = |rows: &[&ReportRow], counters: &dyn Fn(&ReportRow) -> BTreeMap<String, u64>| -> Vec<DayStats> {
        days.iter()
            .map(|d| DayStats {
                date: d.clone(),
                stats: stats(&sum(rows.iter().filter(|r| &r.day == d).map(|r| counters(r)).collect::<Vec<_>>().iter())),
            })
            .collect()
    };
    let operators: Vec<OperatorStats> = operators
        .iter()
        .map(|o| {
            let rows: Vec<&ReportRow> = op_rows.iter().filter(|r| r.operator.as_deref() == Some(o)).collect();
            let all: Vec<BTreeMap<String, u64>> = rows.iter().map(|r| operator_counters(r)).collect();
            OperatorStats {
                operator_id: o.clone(),
                name: names.iter().find(|u| &u.user_id == o).and_then(|u| u.name.clone()),
                total: stats(&sum(all.iter())),
                days: per_day(&rows, &operator_counters),
            }
        })
        .collect();
    let (total, by_day) = match &operator_id {
        Some(_) => (operators.first().map(|o| o.total.clone()).unwrap_or_default(), operators.first().map(|o| o.days.clone())),
        None => {
            let rows: Vec<&ReportRow> = team.iter().collect();
            (stats(&sum(team.iter().map(|r| &r.counters))), Some(per_day(&rows, &|r: &ReportRow| r.counters.clone())))
        }
    };
    let days = by_day.unwrap_or_else(|| days.iter().map(|d| DayStats { date: d.clone(), stats: Stats::default() }).collect());
    Ok(Report { from: from.to_string(), to: to.to_string(), operator_id, total, days, operators })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_bad_dates_are_refused() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_000_000_000), "2026-11-30");
        assert_eq!(parse_day("from", "2024-02-29").unwrap(), days_from_civil(2024, 2, 29));
        for bad in ["2023-02-29", "2026-13-01", "2026-1-01", "2026-01-00", "20260101", "2026-01-0x", "+026-01-01"] {
            assert!(parse_day("from", bad).is_err(), "{bad}");
        }
        for d in [-1000, 0, 19_000, 20_000, 100_000] {
            let s = format_day(d);
            assert_eq!(parse_day("x", &s).unwrap(), d, "{s}");
        }
    }

    #[test]
    fn percentiles_come_from_the_buckets_and_averages_from_the_sums() {
        let mut c = BTreeMap::new();
        for wait in [3_000, 4_000, 25_000, 50_000, 700_000] {
            for (k, v) in counters(Event::Accepted { wait_ms: wait }) {
                *c.entry(k).or_insert(0) += v;
            }
        }
        let d = durations(&c, "accepted", "w");
        assert_eq!(d, Durations { count: 5, average_ms: Some(156_400), median_ms: Some(30_000), p90_ms: Some(900_000) });
        let none = durations(&BTreeMap::new(), "accepted", "w");
        assert_eq!(none, Durations::default());
        let mut c = BTreeMap::new();
        for (k, v) in counters(Event::Closed { after_ms: 10 * 86_400_000, missed: true }) {
            c.insert(k, v);
        }
        assert_eq!(durations(&c, "closed", "r").median_ms, Some(86_400_000), "a day or more");
        assert_eq!(c.get("missed"), Some(&1));
    }
}
