//! Which push endpoints the server ever sends a request to.
//!
//! A push subscription's endpoint is a URL a browser (or anyone with a user token) hands over, and
//! the notify function then POSTs to it: without rules that is a request to an address a user
//! chose (SSRF). The rules, checked when a subscription is registered *and* again when a push is
//! sent:
//!
//! - `https` only, on the default port, no user information;
//! - a host *name*: IP literals are refused in every notation (`10.0.0.1`, `[::1]`,
//!   `[::ffff:127.0.0.1]`, `2130706433`, `127.1`, `0x7f.1`, …), as are `localhost` and the
//!   names that only exist inside a network (`.localhost`, `.local`, `.internal`, `.home.arpa`);
//! - in deployed stacks, a name under one of the Web Push services browsers use (the template's
//!   `PushServiceHosts`, `*` for any public name);
//! - when sending, the name is resolved and only public addresses are connected to
//!   ([`PublicResolver`]): a name that resolves to a private, loopback, link-local, CGNAT, ULA,
//!   IPv4-mapped or otherwise special address is never connected to. Redirects are not followed.
//!
//! The local stack's test push service listens on 127.0.0.1: it is reached through
//! [`LOCAL_ORIGINS_VAR`], exact origins that only the local platform sets for a function process
//! (the template never names the variable; `tests/tests/template.rs` checks it).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Host suffixes of the Web Push services of Chrome/Edge-on-Android/Opera/Samsung (FCM), Firefox
/// (Mozilla autopush), Edge on Windows (WNS) and Safari (Apple).
pub const DEFAULT_PUSH_HOSTS: &str = "fcm.googleapis.com,push.services.mozilla.com,notify.windows.com,push.apple.com";

/// Environment variable of exact origins (`http://127.0.0.1:4567`) a function may push to even
/// though they break the rules: set by the local platform for its test push service only.
pub const LOCAL_ORIGINS_VAR: &str = "CHAT_LOCAL_PUSH_ORIGINS";

/// Names that only resolve inside a network.
const INTERNAL_SUFFIXES: [&str; 6] = ["localhost", "local", "internal", "localdomain", "home.arpa", "intranet"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// Allowed host suffixes (lower case); empty: any public name.
    hosts: Vec<String>,
    /// Exact origins allowed whatever they are (the local test push service).
    local_origins: Vec<String>,
}

impl EndpointPolicy {
    /// `hosts`: comma-separated host suffixes, or `*` for any public name.
    pub fn new(hosts: &str, local_origins: &str) -> EndpointPolicy {
        let list = |s: &str| -> Vec<String> {
            s.split(',').map(|h| h.trim().trim_matches('.').to_ascii_lowercase()).filter(|h| !h.is_empty()).collect()
        };
        let hosts = if hosts.trim() == "*" { Vec::new() } else { list(hosts) };
        EndpointPolicy { hosts, local_origins: list(local_origins).into_iter().map(|o| o.trim_end_matches('/').to_string()).collect() }
    }

    /// From `PUSH_SERVICE_HOSTS` (default [`DEFAULT_PUSH_HOSTS`]) and [`LOCAL_ORIGINS_VAR`].
    pub fn from_env() -> EndpointPolicy {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        EndpointPolicy::new(
            &get("PUSH_SERVICE_HOSTS").unwrap_or_else(|| DEFAULT_PUSH_HOSTS.into()),
            &get(LOCAL_ORIGINS_VAR).unwrap_or_default(),
        )
    }

    /// Checks an endpoint URL; the error says why it is refused.
    pub fn check(&self, endpoint: &str) -> Result<(), String> {
        if endpoint.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains spaces or control characters".into());
        }
        let uri: hyper::Uri = endpoint.parse().map_err(|_| "is not a URL".to_string())?;
        let (Some(scheme), Some(authority), Some(host)) = (uri.scheme_str(), uri.authority(), uri.host()) else {
            return Err("is not an absolute URL".into());
        };
        if authority.as_str().contains('@') || host.is_empty() {
            return Err("has no host, or has user information".into());
        }
        if !self.local_origins.is_empty() {
            let origin = super::webpush::origin(endpoint)?;
            if self.local_origins.iter().any(|o| o.eq_ignore_ascii_case(&origin)) {
                return Ok(());
            }
        }
        if !scheme.eq_ignore_ascii_case("https") {
            return Err("must be an https URL".into());
        }
        if uri.port_u16().is_some_and(|p| p != 443) {
            return Err("must use the default https port".into());
        }
        let host = host.to_ascii_lowercase();
        let name = host.strip_suffix('.').unwrap_or(&host);
        if is_ip_literal(name) {
            return Err("names a host by IP address; push services are reached by name".into());
        }
        if name.len() > 253
            || !name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
        {
            return Err("has no valid host name".into());
        }
        if !name.contains('.') || INTERNAL_SUFFIXES.iter().any(|s| name == *s || name.ends_with(&format!(".{s}"))) {
            return Err("names a host that is not on the public internet".into());
        }
        if !self.hosts.is_empty() && !self.hosts.iter().any(|h| name == h || name.ends_with(&format!(".{h}"))) {
            return Err(format!("is not of a Web Push service this server sends to ({})", self.hosts.join(", ")));
        }
        Ok(())
    }
}

/// Whether a host is an IP address in any notation a URL parser or `inet_aton` accepts: dotted
/// or not, decimal, octal or hex parts (`2130706433`, `127.1`, `0x7f.0.0.1`, `017700000001`), or
/// an IPv6 literal in brackets.
fn is_ip_literal(host: &str) -> bool {
    if host.starts_with('[') || host.contains(':') || host.parse::<IpAddr>().is_ok() {
        return true;
    }
    // The WHATWG URL parser treats a host whose last label is a number (decimal, or 0x hex) as
    // IPv4; so does getaddrinfo for all-numeric labels.
    let numeric = |l: &str| {
        !l.is_empty()
            && (l.bytes().all(|b| b.is_ascii_digit()) || l.strip_prefix("0x").is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())))
    };
    host.rsplit('.').next().is_some_and(numeric)
}

/// Whether an address is one a server on the public internet may have. Refused: unspecified,
/// loopback, private (RFC 1918), CGNAT (100.64/10), link-local, multicast, broadcast, benchmark,
/// documentation and reserved IPv4; unspecified, loopback, IPv4-mapped and -compatible, NAT64,
/// discard, the IETF protocol block (Teredo included), documentation, 6to4, ULA, link- and
/// site-local and multicast IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(o[0] == 0
        || o[0] == 10
        || o[0] == 127
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 169 && o[1] == 254)
        || (o[0] == 172 && (16..32).contains(&o[1]))
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 192 && o[1] == 0 && (o[2] == 0 || o[2] == 2))
        || (o[0] == 192 && o[1] == 88 && o[2] == 99)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
        || o[0] >= 224)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    // ::/96 (IPv4-compatible), ::ffff:0:0/96 (IPv4-mapped), 64:ff9b::/96 (NAT64): they carry an
    // IPv4 address and are never a push service's.
    if s[..5] == [0; 5] || (s[0] == 0x64 && s[1] == 0xff9b) {
        return false;
    }
    !((s[0] == 0x100 && s[1..4] == [0; 3]) // discard 100::/64
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23 (Teredo 2001::/32)
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || s[0] == 0x2002 // 6to4
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local
        || (s[0] & 0xff00) == 0xff00) // multicast
}

/// A resolver for the push client's connector: resolves with the system resolver and keeps only
/// public addresses, so the client never connects anywhere else whatever a name resolves to (the
/// check and the connection use the same answer: no window for DNS rebinding).
#[derive(Clone, Default)]
pub struct PublicResolver;

type Resolving = Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for PublicResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let host = name.as_str().to_string();
        Box::pin(async move { public_addresses(&host).await.map(Vec::into_iter) })
    }
}

/// The public addresses of a name; an error if it has none.
pub async fn public_addresses(host: &str) -> Result<Vec<SocketAddr>, std::io::Error> {
    let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        let refused: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{host} resolves to no public address ({}): not connected", refused.join(", ")),
        ));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every notation of an inside address from the attack report, and more.
    const INSIDE: [&str; 28] = [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/push",
        "https://192.168.1.1/push",
        "https://[::1]:8443/push",
        "https://[::1]/push",
        "https://[::ffff:127.0.0.1]/push",
        "https://[::ffff:7f00:1]/push",
        "https://[fd00::1]/push",
        "https://[fe80::1]/push",
        "https://2130706433/push",
        "https://127.1/push",
        "https://0x7f.1/push",
        "https://0x7f000001/push",
        "https://017700000001/push",
        "https://0177.0.0.1/push",
        "https://0.0.0.0:8443/push",
        "https://0/push",
        "https://100.64.0.1/push",
        "https://172.16.0.1/push",
        "http://localhost/push",
        "https://localhost/push",
        "https://localhost./push",
        "https://push.localhost/push",
        "https://metadata.google.internal/computeMetadata",
        "https://printer.local/push",
        "https://fcm.googleapis.com:9001/fcm/send/x",
        "http://fcm.googleapis.com/fcm/send/x",
        "https://user@fcm.googleapis.com/fcm/send/x",
    ];

    #[test]
    fn inside_addresses_are_refused_in_every_notation() {
        let any = EndpointPolicy::new("*", "");
        for e in INSIDE {
            assert!(any.check(e).is_err(), "{e} was accepted");
        }
    }

    #[test]
    fn push_services_are_accepted_and_others_only_with_a_wildcard() {
        let deployed = EndpointPolicy::new(DEFAULT_PUSH_HOSTS, "");
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://wns2-par02p.notify.windows.com/w/?token=x",
            "https://web.push.apple.com/QGuQyavXutnMH",
            "https://FCM.googleapis.com./fcm/send/x",
        ] {
            assert_eq!(deployed.check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://push.example.net/x",
            "https://evilfcm.googleapis.com.example.net/x",
            "https://googleapis.com/x",
            "https://fcm.googleapis.com.evil.net/x",
        ] {
            assert!(deployed.check(bad).is_err(), "{bad}");
        }
        assert_eq!(EndpointPolicy::new("*", "").check("https://push.example.net/x"), Ok(()));
    }

    #[test]
    fn local_origins_are_exact() {
        let local = EndpointPolicy::new(DEFAULT_PUSH_HOSTS, "http://127.0.0.1:4567");
        assert_eq!(local.check("http://127.0.0.1:4567/push/1"), Ok(()));
        for bad in ["http://127.0.0.1:4568/push/1", "http://127.0.0.1/push/1", "https://127.0.0.1:4567/push", "http://localhost:4567/push"]
        {
            assert!(local.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn special_addresses_are_not_public() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in ["8.8.8.8", "142.250.74.10", "100.128.0.1", "172.32.0.1", "2a00:1450:4001::200a", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as special");
        }
    }

    /// A name the system resolves to a loopback address gets no connection.
    #[tokio::test]
    async fn names_resolving_inside_are_not_connected_to() {
        let e = public_addresses("localhost").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        // getaddrinfo reads numeric notations as addresses: still refused.
        assert!(public_addresses("2130706433").await.is_err());
        assert!(public_addresses("127.1").await.is_err());
    }
}
