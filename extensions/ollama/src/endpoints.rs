//! Where the Ollama server is: `OLLAMA_HOST` (read as Ollama reads it, see
//! [`crate::ollama_host`]), else config `providers.ollama.base_url` (a URL), else
//! `http://127.0.0.1:11434`, Ollama's own default. Requests go to Ollama's paths under it
//! (`/api/version`, `/api/tags`, `/api/chat`).
//!
//! Plain http is allowed to loopback, as for every provider, and to another host only when the
//! config says `providers.ollama.allow_plain_http: true` (an Ollama server of the user's own on
//! their local network); the base-URL rule of `plugboard-http` decides.

use plugboard_core::HostServices;
use plugboard_http::{BaseUrlError, ServiceLocation, is_unencrypted, join_path};
use url::Url;

use crate::ollama_host;
use crate::provider::{HOST_ENV, PROVIDER_ID};

/// Where an Ollama server listens unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";
/// Answers the server's version: the sign-in's "is it there" check.
pub const VERSION_PATH: &str = "/api/version";
/// Lists the models pulled to the server.
pub const TAGS_PATH: &str = "/api/tags";
/// Runs a chat turn.
pub const CHAT_PATH: &str = "/api/chat";

/// The config key (under `providers.ollama`) that lets plain http reach a host other than this
/// machine, when `true`.
pub use plugboard_http::ALLOW_PLAIN_HTTP_CONFIG_KEY;
/// The config key (under `providers.ollama`) that moves the server, as a URL.
pub use plugboard_http::BASE_URL_CONFIG_KEY;

/// Where Ollama is, and which settings move it (the rule every provider shares).
const LOCATION: ServiceLocation<'static> = ServiceLocation {
    provider_id: PROVIDER_ID,
    env_var: HOST_ENV,
    default: DEFAULT_BASE_URL,
};

/// The resolved server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    base: Url,
}

impl Endpoints {
    /// Resolves the server from the host's services: `OLLAMA_HOST` first, then config, then
    /// the default.
    pub(crate) fn from_host(host: &HostServices) -> Result<Self, BaseUrlError> {
        let env = host.env_var(HOST_ENV).and_then(ollama_host::base_url);
        let base = LOCATION.resolve_with(
            env.as_deref(),
            LOCATION.configured_base_url(host),
            LOCATION.plain_http(host),
        )?;
        Ok(Self { base })
    }

    /// The server as a user would write it: `http://127.0.0.1:11434`, no trailing slash.
    pub(crate) fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Whether requests cross the network unencrypted: plain http to another machine, which
    /// only `allow_plain_http` permits.
    pub(crate) fn unencrypted(&self) -> bool {
        is_unencrypted(&self.base)
    }

    /// `GET` here for the server's version.
    pub(crate) fn version_url(&self) -> String {
        join_path(&self.base, VERSION_PATH)
    }

    /// `GET` here for the pulled models.
    pub(crate) fn tags_url(&self) -> String {
        join_path(&self.base, TAGS_PATH)
    }

    /// `POST` here to run a chat turn.
    pub(crate) fn chat_url(&self) -> String {
        join_path(&self.base, CHAT_PATH)
    }
}

/// One line for a server address that cannot be used: the base-URL rule's words, plus, for
/// plain http to another machine, how to allow it for an Ollama server of one's own.
pub(crate) fn location_message(error: &BaseUrlError) -> String {
    match error {
        BaseUrlError::Insecure { .. } => format!(
            "{error}; for an Ollama server of your own on the local network, set providers.{PROVIDER_ID}.{ALLOW_PLAIN_HTTP_CONFIG_KEY} to true in plugboard's config.json (traffic to it is then unencrypted)"
        ),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use plugboard_http::PlainHttp;

    use super::*;

    fn base(host: &HostServices) -> Result<String, String> {
        Endpoints::from_host(host)
            .map(|e| e.base().to_owned())
            .map_err(|e| location_message(&e))
    }

    #[test]
    fn the_server_follows_ollama_host_then_config_then_the_default() {
        let host = HostServices::default();
        assert_eq!(base(&host).unwrap(), "http://127.0.0.1:11434");
        let host = host.with_config(serde_json::json!({
            "providers": {PROVIDER_ID: {BASE_URL_CONFIG_KEY: "https://ollama.example.com/"}},
        }));
        assert_eq!(base(&host).unwrap(), "https://ollama.example.com");
        let host = host.with_env(HOST_ENV, ":8080");
        assert_eq!(base(&host).unwrap(), "http://127.0.0.1:8080");
        // Blank, or only quotes: unset, so config applies again.
        for blank in ["", "  ", "\"\""] {
            let host = host.clone().with_env(HOST_ENV, blank);
            assert_eq!(
                base(&host).unwrap(),
                "https://ollama.example.com",
                "{blank:?}"
            );
        }
    }

    #[test]
    fn each_url_is_ollamas_path_under_the_server() {
        let host = HostServices::default().with_env(HOST_ENV, "https://example.com/ollama");
        let endpoints = Endpoints::from_host(&host).unwrap();
        assert_eq!(
            endpoints.version_url(),
            "https://example.com/ollama/api/version"
        );
        assert_eq!(endpoints.tags_url(), "https://example.com/ollama/api/tags");
        assert_eq!(endpoints.chat_url(), "https://example.com/ollama/api/chat");
    }

    #[test]
    fn plain_http_to_another_machine_needs_the_users_permission() {
        let lan = HostServices::default().with_env(HOST_ENV, "192.168.1.5:8080");
        assert_eq!(
            base(&lan).unwrap_err(),
            "OLLAMA_HOST uses http:// for 192.168.1.5: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost); for an Ollama server of your own on the local network, set providers.ollama.allow_plain_http to true in plugboard's config.json (traffic to it is then unencrypted)"
        );
        let allowed = lan.with_config(serde_json::json!({
            "providers": {PROVIDER_ID: {ALLOW_PLAIN_HTTP_CONFIG_KEY: true}},
        }));
        assert_eq!(LOCATION.plain_http(&allowed), PlainHttp::Allowed);
        let endpoints = Endpoints::from_host(&allowed).unwrap();
        assert_eq!(endpoints.base(), "http://192.168.1.5:8080");
        assert!(endpoints.unencrypted());

        let cases = [
            ("0.0.0.0", false),
            ("localhost:11434", false),
            ("[::]", false),
            ("https://ollama.example.com", false),
        ];
        for (value, unencrypted) in cases {
            let host = HostServices::default().with_env(HOST_ENV, value);
            let endpoints = Endpoints::from_host(&host).unwrap();
            assert_eq!(endpoints.unencrypted(), unencrypted, "{value}");
        }
    }

    #[test]
    fn an_unusable_server_address_is_refused_naming_the_setting() {
        let cases = [
            (
                "unix:///tmp/ollama.sock",
                "OLLAMA_HOST is not a valid URL (it needs an http(s) scheme and a host): use e.g. http://127.0.0.1:11434",
            ),
            (
                "http://user:hunter2@example.com",
                "OLLAMA_HOST carries a user name or password: remove the part before @ (credentials are sent as headers, never in the URL)",
            ),
            (
                "exa mple.com",
                "OLLAMA_HOST is not a valid URL (invalid international domain name): use e.g. http://127.0.0.1:11434",
            ),
        ];
        for (value, want) in cases {
            let host = HostServices::default().with_env(HOST_ENV, value);
            assert_eq!(base(&host).unwrap_err(), want, "{value}");
        }
        let host = HostServices::default().with_config(serde_json::json!({
            "providers": {PROVIDER_ID: {BASE_URL_CONFIG_KEY: "http://10.0.0.9:11434"}},
        }));
        assert!(
            base(&host)
                .unwrap_err()
                .starts_with("config providers.ollama.base_url uses http:// for 10.0.0.9"),
        );
    }
}
