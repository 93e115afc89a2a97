//! One OpenAI-compatible service as the manifest describes it: its provider's id and name,
//! where it is (`<PROVIDER>_BASE_URL`, else config `providers.<id>.base_url`, else the
//! manifest's `runtime.base_url`, by the base-URL rule every provider shares), and the two
//! requests everything here makes of it.

use plugboard_core::{HostServices, HttpRequest, HttpResponse, ModelContext, ModelError};
use plugboard_http::{
    ALLOW_PLAIN_HTTP_CONFIG_KEY, BaseUrlError, PlainHttp, ServiceLocation, join_path,
    send_with_retry,
};
use url::Url;

/// Where a model call goes under the base URL (OpenAI's "Create chat completion").
pub(crate) const CHAT_PATH: &str = "/chat/completions";
/// Where the model list is under the base URL (OpenAI's "List models").
pub(crate) const MODELS_PATH: &str = "/models";

/// A service's identity and location, shared by the provider's sign-in, runner, lister and
/// check so they can never disagree about where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service {
    /// The provider id: `providers.<id>` in config, the prefix of profiles and models.
    pub(crate) provider_id: String,
    /// The provider's label, which names the service in every message (`Groq`).
    pub(crate) name: String,
    /// `<PROVIDER>_BASE_URL`.
    pub(crate) base_url_env: String,
    /// The manifest's `runtime.base_url`, checked to be an http(s) URL with a host.
    pub(crate) default_base: String,
    /// Whether the manifest names a key variable: without one the service is asked without
    /// a key, and a 401 means the manifest is missing it.
    pub(crate) keyed: bool,
}

impl Service {
    fn location(&self) -> ServiceLocation<'_> {
        ServiceLocation {
            provider_id: &self.provider_id,
            env_var: &self.base_url_env,
            default: &self.default_base,
        }
    }

    /// The API root as the host's settings resolve it: the environment first, then config,
    /// then the manifest; plain http only to loopback unless config allows it.
    pub(crate) fn base(&self, host: &HostServices) -> Result<Url, BaseUrlError> {
        self.location().resolve(host)
    }

    /// The API root without a trailing slash, for `models status`; `None` when the settings
    /// cannot be used (a call then says why).
    pub(crate) fn service_url(&self, host: &HostServices) -> Option<String> {
        self.base(host)
            .ok()
            .map(|base| base.as_str().trim_end_matches('/').to_owned())
    }

    /// One line for a base URL that cannot be used: the base-URL rule's words, plus, for
    /// plain http to another machine, how to allow it for a service of the user's own.
    pub(crate) fn location_message(&self, error: &BaseUrlError) -> String {
        match error {
            BaseUrlError::Insecure { .. } => format!(
                "{error}; for a service of your own on the local network, set providers.{}.{ALLOW_PLAIN_HTTP_CONFIG_KEY} to true in plugboard's config.json (traffic to it is then unencrypted)",
                self.provider_id
            ),
            _ => error.to_string(),
        }
    }

    /// The resolved base for a call with the key, or the settings' fault as a config error.
    pub(crate) fn base_for_call(&self, host: &HostServices) -> Result<Url, ModelError> {
        self.base(host)
            .map_err(|e| ModelError::Config(self.location_message(&e)))
    }

    /// Sends `request`, with the key as a Bearer token when there is one, retried once where
    /// that is safe; no answer becomes a network failure naming the service.
    pub(crate) async fn send(
        &self,
        ctx: &ModelContext,
        request: HttpRequest,
    ) -> Result<HttpResponse, ModelError> {
        let key = ctx.credential.expose_secret();
        let request = if key.is_empty() {
            request
        } else {
            request.with_header("authorization", format!("Bearer {key}"))
        };
        send_with_retry(ctx.host.http_client.as_ref(), request)
            .await
            .map_err(|source| ModelError::Network {
                service: self.name.clone(),
                source,
            })
    }
}

/// `<base>/chat/completions`.
pub(crate) fn chat_url(base: &Url) -> String {
    join_path(base, CHAT_PATH)
}

/// `<base>/models`.
pub(crate) fn models_url(base: &Url) -> String {
    join_path(base, MODELS_PATH)
}

/// Why a manifest's `runtime.base_url` cannot be a service's root, or `None` when it can:
/// an absolute http(s) URL with a host and without a user name or password. Plain http is
/// judged at use time, when the config that may allow it is known.
pub(crate) fn base_url_issue(provider_id: &str, base_url: &str) -> Option<String> {
    let location = ServiceLocation {
        provider_id,
        env_var: "",
        default: base_url,
    };
    match location.resolve_with(None, None, PlainHttp::Allowed) {
        Ok(_) => None,
        Err(BaseUrlError::Invalid { reason, .. }) => Some(format!(
            "base_url is not a valid URL ({reason}): give the API root with its path, e.g. https://api.groq.com/openai/v1"
        )),
        Err(BaseUrlError::Userinfo { .. }) => Some(
            "base_url carries a user name or password: remove the part before @ (a key goes in the variable api_key_env names)"
                .to_owned(),
        ),
        Err(other) => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        Service {
            provider_id: "acme-cloud".to_owned(),
            name: "Acme Cloud".to_owned(),
            base_url_env: "ACME_CLOUD_BASE_URL".to_owned(),
            default_base: "https://api.acme.test/openai/v1/".to_owned(),
            keyed: true,
        }
    }

    #[test]
    fn the_base_comes_from_the_variable_then_config_then_the_manifest() {
        let svc = service();
        let host = HostServices::default();
        assert_eq!(
            svc.service_url(&host).as_deref(),
            Some("https://api.acme.test/openai/v1")
        );
        let host = host.with_config(serde_json::json!({
            "providers": {"acme-cloud": {"base_url": "https://cfg.test/v1"}},
        }));
        assert_eq!(
            svc.service_url(&host).as_deref(),
            Some("https://cfg.test/v1")
        );
        let host = host.with_env("ACME_CLOUD_BASE_URL", "http://127.0.0.1:9/proxy/v1");
        let base = svc.base(&host).unwrap();
        assert_eq!(
            chat_url(&base),
            "http://127.0.0.1:9/proxy/v1/chat/completions"
        );
        assert_eq!(models_url(&base), "http://127.0.0.1:9/proxy/v1/models");
    }

    #[test]
    fn plain_http_off_this_machine_needs_the_users_permission() {
        let svc = service();
        let lan = HostServices::default().with_env("ACME_CLOUD_BASE_URL", "http://192.168.1.5/v1");
        let err = svc.base_for_call(&lan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACME_CLOUD_BASE_URL uses http:// for 192.168.1.5: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost); for a service of your own on the local network, set providers.acme-cloud.allow_plain_http to true in plugboard's config.json (traffic to it is then unencrypted)"
        );
        assert_eq!(svc.service_url(&lan), None);
        let allowed = lan.with_config(serde_json::json!({
            "providers": {"acme-cloud": {"allow_plain_http": true}},
        }));
        assert_eq!(
            svc.service_url(&allowed).as_deref(),
            Some("http://192.168.1.5/v1")
        );
    }

    #[test]
    fn a_manifest_base_url_must_be_an_http_url_with_a_host_and_no_password() {
        let cases = [
            ("https://api.groq.com/openai/v1", None),
            ("http://localhost:1234/v1", None),
            // Allowed here; the loopback rule applies at use time, with the config.
            ("http://192.168.1.5:8000/v1", None),
            (
                "api.groq.com/openai/v1",
                Some(
                    "base_url is not a valid URL (relative URL without a base): give the API root with its path, e.g. https://api.groq.com/openai/v1",
                ),
            ),
            (
                "ftp://files.test/v1",
                Some(
                    "base_url is not a valid URL (it needs an http(s) scheme and a host): give the API root with its path, e.g. https://api.groq.com/openai/v1",
                ),
            ),
            (
                "https://user:hunter2@api.test/v1",
                Some(
                    "base_url carries a user name or password: remove the part before @ (a key goes in the variable api_key_env names)",
                ),
            ),
        ];
        for (base, want) in cases {
            assert_eq!(base_url_issue("acme", base).as_deref(), want, "{base}");
        }
    }
}
