//! `OLLAMA_HOST` read the way Ollama itself reads it (`envconfig.Host()` in
//! github.com/ollama/ollama), so that plugboard looks for the server where the `ollama` CLI
//! does, and where `ollama serve` listens: the server and its clients read the one variable.
//!
//! Ollama's rule: surrounding spaces and quotes go; the scheme is optional (`http` when
//! absent); what follows it up to the first `/` is the host and port, the rest a path; the host
//! is optional (`127.0.0.1`), and so is the port (`11434` without a scheme, the scheme's own
//! port, 80 or 443, with one); a port that is not a number from 0 to 65535 is replaced by that
//! default. A bare IPv6 address may go with or without brackets. `ollama.com` alone is Ollama's
//! cloud, `https://ollama.com:443`.
//!
//! A client then connects as Ollama's own does (`envconfig.ConnectableHost()`): an address that
//! means "every interface" (`0.0.0.0`, `::`), or none (`:11434`), is how a server is told where
//! to listen; a client reaches such a server on this machine, so plugboard connects to loopback
//! (`127.0.0.1`, `::1`), where plain http is allowed. The result is a URL for [`plugboard_http::ServiceLocation`], which still decides
//! whether it may be used (http(s) only, plain http to loopback unless the user allows it, no
//! user name or password).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The port an Ollama server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 11434;

/// The URL `value` (an `OLLAMA_HOST` setting) names, or `None` when it names nothing (empty,
/// only spaces or quotes), so that the next setting applies.
///
/// Never fails: whatever is not an address Ollama would use passes through to the base-URL
/// check, which refuses it with a message naming `OLLAMA_HOST` (`unix:///...` has no http(s)
/// scheme; a user name and password are refused without repeating them).
pub fn base_url(value: &str) -> Option<String> {
    // Ollama's `Var` trims spaces and then quotes, and `Host` trims spaces once more.
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if value.is_empty() {
        return None;
    }
    let (scheme, rest, default_port) = match value.split_once("://") {
        // Ollama's one named host: its cloud, reached over https on 443.
        None if value == "ollama.com" => ("https", "ollama.com:443", 443),
        None => ("http", value, DEFAULT_PORT),
        Some(("http", rest)) => ("http", rest, 80),
        Some(("https", rest)) => ("https", rest, 443),
        Some((other, rest)) => (other, rest, DEFAULT_PORT),
    };
    let (hostport, path) = match rest.split_once('/') {
        Some((hostport, path)) => (hostport, Some(path)),
        None => (rest, None),
    };
    if hostport.contains('@') {
        // A user name or password: handed on as written, for the base-URL check to refuse
        // (without repeating it) rather than turned into some other host here.
        return Some(format!("{scheme}://{rest}"));
    }
    let (host, port) = match split_host_port(hostport) {
        Some((host, port)) => (host.to_owned(), port),
        // Not `host:port`: Ollama takes the whole as the host (an IP address with or without
        // brackets, else a name) with the default port.
        None => {
            let bare = hostport.trim_matches(|c| c == '[' || c == ']');
            let host = match bare.parse::<IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => hostport.to_owned(),
            };
            (host, "")
        }
    };
    // Ollama parses the port as a number and falls back to the default when it is not one in
    // 0..=65535 (so `:` alone, `:x` and `:70000` all mean the default).
    let port = port.parse::<u16>().unwrap_or(default_port);
    let host = reachable_host(&host);
    let mut url = format!("{scheme}://{host}:{port}");
    if let Some(path) = path {
        url.push('/');
        url.push_str(path);
    }
    Some(url)
}

/// Go's `net.SplitHostPort`, as far as Ollama relies on it: `[v6]:port` or `host:port` with no
/// other colon in the host. `None` when `hostport` has no port part.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = hostport.rsplit_once(':')?;
    if host.contains(':') || host.contains('[') || host.contains(']') {
        return None;
    }
    Some((host, port))
}

/// The host to connect to for `host` as written: loopback for none or "every interface", the
/// address itself (IPv6 in brackets) or the name otherwise.
fn reachable_host(host: &str) -> String {
    if host.is_empty() {
        return Ipv4Addr::LOCALHOST.to_string();
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_is_read_as_ollama_reads_it() {
        // The first block mirrors Ollama's own table (envconfig/config_test.go, TestHost),
        // with the loopback a client connects to for an empty or every-interface host.
        let cases = [
            ("1.2.3.4", Some("http://1.2.3.4:11434")),
            (":1234", Some("http://127.0.0.1:1234")),
            ("1.2.3.4:1234", Some("http://1.2.3.4:1234")),
            ("example.com", Some("http://example.com:11434")),
            ("example.com:1234", Some("http://example.com:1234")),
            (":0", Some("http://127.0.0.1:0")),
            (":66000", Some("http://127.0.0.1:11434")),
            (":-1", Some("http://127.0.0.1:11434")),
            ("[::1]", Some("http://[::1]:11434")),
            ("[::]", Some("http://[::1]:11434")),
            ("::1", Some("http://[::1]:11434")),
            ("[::1]:1337", Some("http://[::1]:1337")),
            (" 1.2.3.4 ", Some("http://1.2.3.4:11434")),
            ("\"1.2.3.4\"", Some("http://1.2.3.4:11434")),
            (" \" 1.2.3.4 \" ", Some("http://1.2.3.4:11434")),
            ("'1.2.3.4'", Some("http://1.2.3.4:11434")),
            ("http://1.2.3.4", Some("http://1.2.3.4:80")),
            ("http://1.2.3.4:4321", Some("http://1.2.3.4:4321")),
            ("https://1.2.3.4", Some("https://1.2.3.4:443")),
            ("https://1.2.3.4:4321", Some("https://1.2.3.4:4321")),
            (
                "https://example.com/ollama",
                Some("https://example.com:443/ollama"),
            ),
            ("ollama.com", Some("https://ollama.com:443")),
            // plugboard's own cases.
            (" 'ollama.com' ", Some("https://ollama.com:443")),
            ("ollama.com:11434", Some("http://ollama.com:11434")),
            ("http://ollama.com", Some("http://ollama.com:80")),
            ("", None),
            ("  ", None),
            ("''", None),
            ("0.0.0.0", Some("http://127.0.0.1:11434")),
            ("0.0.0.0:8080", Some("http://127.0.0.1:8080")),
            ("[::]:8080", Some("http://[::1]:8080")),
            ("localhost", Some("http://localhost:11434")),
            ("192.168.1.5:8080", Some("http://192.168.1.5:8080")),
            (
                "https://ollama.example.com",
                Some("https://ollama.example.com:443"),
            ),
            ("1.2.3.4:", Some("http://1.2.3.4:11434")),
            ("1.2.3.4:x", Some("http://1.2.3.4:11434")),
            ("[fe80::1]:99/base/", Some("http://[fe80::1]:99/base/")),
            (
                "unix:///tmp/ollama.sock",
                Some("unix://127.0.0.1:11434/tmp/ollama.sock"),
            ),
            (
                "http://user:pw@example.com:1",
                Some("http://user:pw@example.com:1"),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(base_url(value).as_deref(), want, "{value:?}");
        }
    }

    #[test]
    fn host_and_port_split_as_go_splits_them() {
        let cases = [
            ("h:1", Some(("h", "1"))),
            (":1", Some(("", "1"))),
            ("h:", Some(("h", ""))),
            ("[::1]:1", Some(("::1", "1"))),
            ("[::1]", None),
            ("::1", None),
            ("h", None),
            ("[::1", None),
            ("a]b:1", None),
        ];
        for (hostport, want) in cases {
            assert_eq!(split_host_port(hostport), want, "{hostport:?}");
        }
    }
}
