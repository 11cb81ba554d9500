//! Small helpers: clocks, ids, time formats, child-process hygiene.

use aws_smithy_types::date_time::{DateTime, Format};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source works");
    b
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id shaped like API Gateway's connection, request and message ids: 16 characters of
/// base64 ending in `=` (e.g. `L0SM9cOFvHcCIhw=`). Never contains `/`.
pub fn aws_style_id() -> String {
    use base64::Engine;
    let mut s = base64::engine::general_purpose::STANDARD.encode(random_bytes::<11>());
    s = s.replace('/', "_");
    s
}

/// `2026-11-22T13:19:00.123Z`
pub fn iso8601(ms: u64) -> String {
    DateTime::from_millis(ms as i64).fmt(Format::DateTime).unwrap_or_default()
}

/// API Gateway's `requestTime`: `22/Nov/2026:13:19:00 +0000`.
pub fn clf_time(ms: u64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let iso = DateTime::from_secs((ms / 1000) as i64).fmt(Format::DateTime).unwrap_or_default();
    // iso: YYYY-MM-DDTHH:MM:SSZ
    let (date, time) = iso.split_once('T').unwrap_or(("1970-01-01", "00:00:00Z"));
    let mut d = date.split('-');
    let (y, m, day) = (d.next().unwrap_or("1970"), d.next().unwrap_or("01"), d.next().unwrap_or("01"));
    let month = MONTHS[m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1];
    format!("{day}/{month}/{y}:{} +0000", time.trim_end_matches('Z'))
}

/// `2026/11/22`, as in Lambda log stream names.
pub fn log_date() -> String {
    iso8601(now_ms()).get(..10).unwrap_or("1970-01-01").replace('-', "/")
}

/// Makes a child die when the thread that spawned it exits (Linux `PR_SET_PDEATHSIG`), so that a
/// killed `chat-dev` or test process never leaves emulators or function instances behind.
/// With `own_group`, the child leads a new process group (it does not get the terminal's Ctrl-C;
/// its parent stops it).
pub fn die_with_parent(cmd: &mut tokio::process::Command, own_group: bool) {
    if own_group {
        cmd.process_group(0);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_formats() {
        assert_eq!(super::iso8601(1_795_353_540_123), "2026-11-22T13:19:00.123Z");
        assert_eq!(super::clf_time(1_795_353_540_123), "22/Nov/2026:13:19:00 +0000");
        let id = super::aws_style_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('=') && !id.contains('/'));
    }
}
