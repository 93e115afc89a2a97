//! Which proxy a request goes through: the usual proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, either spelling) read and checked once, and turned into reqwest's
//! proxies. Loopback never gets here: the client skips proxies for it.

use url::Url;

use crate::client::NetworkClientError;

/// The proxy variables, in the order they are looked up: the upper-case spelling wins, as in
/// curl and reqwest.
const HTTP_PROXY_VARS: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const HTTPS_PROXY_VARS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const ALL_PROXY_VARS: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// `reqwest::Proxy::http`, `https` or `all`.
type MakeProxy = fn(&str) -> reqwest::Result<reqwest::Proxy>;

/// Where non-loopback requests go, read from the environment once, when the client is built.
pub(crate) struct Proxies {
    /// For `http://` URLs (`HTTP_PROXY`).
    http: Option<Url>,
    /// For `https://` URLs (`HTTPS_PROXY`).
    https: Option<Url>,
    /// For either, when the scheme's own variable is unset (`ALL_PROXY`).
    all: Option<Url>,
    /// Hosts that are never proxied (`NO_PROXY`).
    no_proxy: Option<String>,
}

impl Proxies {
    /// Reads and checks every proxy variable through `env`, so a typo fails now rather than on
    /// whichever later request would have used it.
    pub(crate) fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, NetworkClientError> {
        let first_set = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                env(name)
                    .map(|value| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
                    .map(|value| (name, value))
            })
        };
        let proxy = |names| {
            first_set(names)
                .map(|(name, value)| parse_proxy(name, &value))
                .transpose()
        };
        // Under CGI, HTTP_PROXY can come from a client's `Proxy:` header ("httpoxy"), so the
        // http variables are not trusted there (reqwest's own reading ignored them too).
        let cgi = env("REQUEST_METHOD").is_some();
        Ok(Self {
            http: if cgi { None } else { proxy(HTTP_PROXY_VARS)? },
            https: proxy(HTTPS_PROXY_VARS)?,
            all: proxy(ALL_PROXY_VARS)?,
            no_proxy: first_set(NO_PROXY_VARS).map(|(_, value)| value),
        })
    }

    /// The reqwest proxies, most specific first: reqwest uses the first that matches.
    pub(crate) fn to_reqwest(&self) -> Result<Vec<reqwest::Proxy>, NetworkClientError> {
        let no_proxy = || {
            self.no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string)
        };
        let kinds: [(&Option<Url>, MakeProxy); 3] = [
            (&self.http, |u| reqwest::Proxy::http(u)),
            (&self.https, |u| reqwest::Proxy::https(u)),
            (&self.all, |u| reqwest::Proxy::all(u)),
        ];
        let mut proxies = Vec::new();
        for (url, make) in kinds {
            if let Some(url) = url {
                // Checked by `parse_proxy` already; the error's text could hold the URL.
                let proxy = make(url.as_str()).map_err(|_| NetworkClientError::Build {
                    reason: "the HTTP library refused a proxy URL".to_owned(),
                })?;
                proxies.push(proxy.no_proxy(no_proxy()));
            }
        }
        Ok(proxies)
    }
}

/// A proxy variable's value as a URL, or why it cannot be one. Like curl, a value without a
/// scheme (`proxy.example:3128`) means http.
fn parse_proxy(variable: &str, value: &str) -> Result<Url, NetworkClientError> {
    let invalid = |reason: &str| NetworkClientError::InvalidProxy {
        variable: variable.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = if value.contains("://") {
        Url::parse(value)
    } else {
        Url::parse(&format!("http://{value}"))
    };
    let url = parsed.map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// proxies are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "a proxy is a scheme, host and port, without a path",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use plugboard_core::HttpSettings;

    use super::*;
    use crate::NetworkClient;
    use crate::testing::env_of;

    #[test]
    fn a_malformed_proxy_variable_fails_the_build_without_showing_its_value() {
        let cases = [
            (
                "HTTPS_PROXY",
                "http://user:hunter2@[bad",
                "invalid IPv6 address",
            ),
            (
                "HTTP_PROXY",
                "http://user:hunter2@proxy:99999",
                "invalid port number",
            ),
            ("ALL_PROXY", "http://", "empty host"),
            (
                "https_proxy",
                "ftp://user:hunter2@proxy:21",
                "only http:// and https://",
            ),
            (
                "all_proxy",
                "socks5://user:hunter2@proxy:1080",
                "only http:// and https://",
            ),
            (
                "http_proxy",
                "http://user:hunter2@proxy:3128/path",
                "without a path",
            ),
            (
                "HTTPS_PROXY",
                "http://proxy:3128/?user=hunter2",
                "without a path",
            ),
            ("ALL_PROXY", "hunter2 proxy", "invalid"),
        ];
        for (variable, value, reason) in cases {
            let error =
                NetworkClient::with_env(&HttpSettings::default(), env_of(&[(variable, value)]))
                    .unwrap_err();
            let NetworkClientError::InvalidProxy {
                variable: named, ..
            } = &error
            else {
                panic!("{variable}={value}: {error:?}");
            };
            assert_eq!(named, variable);
            let message = error.to_string();
            assert!(message.contains(reason), "{variable}={value}: {message}");
            assert!(message.starts_with(variable), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn usable_or_empty_proxy_variables_build_and_the_upper_case_spelling_wins() {
        let cases: [&[(&str, &str)]; 7] = [
            &[],
            &[("HTTPS_PROXY", "http://user:pw@proxy.example:3128")],
            &[("HTTP_PROXY", "proxy.example:3128")],
            &[("ALL_PROXY", "https://[::1]:8443/")],
            &[("https_proxy", "  "), ("ALL_PROXY", "")],
            &[
                ("NO_PROXY", "*.internal, 10.0.0.0/8"),
                ("HTTPS_PROXY", "http://p:1"),
            ],
            // The lower-case one is never read when the upper-case one is set.
            &[
                ("HTTPS_PROXY", "http://p:1"),
                ("https_proxy", "http://[bad"),
            ],
        ];
        for vars in cases {
            let built = NetworkClient::with_env(&HttpSettings::default(), env_of(vars));
            assert!(built.is_ok(), "{vars:?}: {:?}", built.err());
        }
    }

    #[test]
    fn under_cgi_http_proxy_is_ignored_rather_than_trusted() {
        let env = env_of(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://[bad")]);
        let proxies = Proxies::from_env(&env).unwrap();
        assert!(proxies.http.is_none());
    }
}
