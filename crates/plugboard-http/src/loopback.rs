//! Whether a URL points at this machine: the one test behind "never proxied" and "plain http
//! is allowed here".

use url::{Host, Url};

/// Whether `url` points at this machine without asking anyone: an address in `127.0.0.0/8`,
/// `::1`, or exactly the name `localhost`. Such traffic is never proxied, and may use plain
/// http.
///
/// Nothing else counts. `localhost.` (with the root dot) is looked up in DNS rather than the
/// hosts file on many systems, and an IPv4-mapped address (`::ffff:127.0.0.1`) depends on how
/// the system routes it, so both are treated like any other host.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        // Names are case-insensitive; http(s) URLs arrive lower-cased, others may not.
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether requests to `url` cross the network unencrypted: plain `http` to a host that is not
/// this machine. The one rule behind refusing such a base URL (unless the user allowed it for a
/// service on their own network) and behind saying so wherever it is shown.
pub fn is_unencrypted(url: &Url) -> bool {
    url.scheme() == "http" && !is_loopback(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_loopback_matches_only_127_8_and_ipv6_1_and_the_exact_name_localhost() {
        let cases = [
            ("http://localhost:8080/callback", true),
            ("http://LocalHost/", true),
            ("https://localhost/", true),
            ("http://127.0.0.1:1455/", true),
            ("http://127.8.9.10/", true),
            ("http://127.255.255.255/", true),
            ("http://[::1]:99/", true),
            ("http://[0:0:0:0:0:0:0:1]/", true),
            // Resolved through DNS on many systems, not the hosts file.
            ("http://localhost./", false),
            ("http://localhost.:8080/api/v1", false),
            ("http://LOCALHOST./", false),
            // Routed however the system maps IPv4 into IPv6.
            ("http://[::ffff:127.0.0.1]/", false),
            ("http://[::ffff:7f00:1]/", false),
            ("https://auth.example.com/token", false),
            ("http://localhost.example.com/", false),
            ("http://mylocalhost/", false),
            ("http://localhost.localdomain/", false),
            ("http://sub.localhost/", false),
            ("http://10.0.0.1/", false),
            ("http://126.255.255.255/", false),
            ("http://128.0.0.1/", false),
            ("http://[::2]/", false),
            ("http://[::]/", false),
            ("http://0.0.0.0/", false),
        ];
        for (raw, expected) in cases {
            let url = Url::parse(raw).unwrap();
            assert_eq!(is_loopback(&url), expected, "{raw}");
        }
    }

    #[test]
    fn only_plain_http_to_another_machine_is_unencrypted() {
        let cases = [
            ("http://192.168.1.5:11434", true),
            ("http://ollama.example.com/", true),
            ("http://localhost.:8080/", true),
            ("http://127.0.0.1:11434", false),
            ("http://[::1]:11434", false),
            ("https://192.168.1.5:11434", false),
            ("https://api.github.com", false),
        ];
        for (url, unencrypted) in cases {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(is_unencrypted(&parsed), unencrypted, "{url}");
        }
    }
}
