//! The Acme provider for plugboard: sign in with an Acme API key, and run Acme models with it.
//!
//! This is the example of `docs/plugin-authoring.md`, a crate the workspace builds and tests
//! (`cargo test -p plugboard-acme`); the `plugboard` binary does not link it.

mod checked_key;
#[cfg(feature = "contract-fixtures")]
mod fixtures;

pub use checked_key::CheckedApiKey;
#[cfg(feature = "contract-fixtures")]
pub use checked_key::checked_key_fixtures;
#[cfg(feature = "contract-fixtures")]
pub use fixtures::{contract_fixtures, model_fixtures, service_errors};

use plugboard_core::{
    ApiKeyMethod, AuthMethod, ContractFixture, EnvVar, HostServices, HttpRequest, ManifestSource,
    ModelContext, ModelError, ModelFixture, ModelOutput, ModelReply, ModelRequest, ModelRunner,
    Provider, ProviderRegistration, ServiceErrors, async_trait,
};

/// The provider id: the prefix of `acme:<profile>` and `acme/<model>`.
pub const PROVIDER_ID: &str = "acme";
/// Holds an API key that wins over stored profiles (unless `--profile` is given).
pub const API_KEY_ENV: &str = "ACME_API_KEY";
/// Overrides the API base URL.
pub const BASE_URL_ENV: &str = "ACME_BASE_URL";
/// The model suggested as the default.
pub const DEFAULT_MODEL: &str = "acme/acme-small";

const ENV_VARS: &[EnvVar] = &[
    EnvVar::credential(API_KEY_ENV),
    EnvVar::setting(BASE_URL_ENV),
];

/// The Acme provider: a pasted API key to sign in, and a model runner.
pub struct AcmeProvider {
    pub(crate) methods: Vec<Box<dyn AuthMethod>>,
}

impl Default for AcmeProvider {
    fn default() -> Self {
        let api_key = ApiKeyMethod::new(PROVIDER_ID, "Acme API key", "Acme API key")
            .with_hint("Paste a key from console.acme.example")
            .with_default_model(DEFAULT_MODEL);
        Self {
            methods: vec![Box::new(api_key)],
        }
    }
}

impl Provider for AcmeProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "Acme"
    }

    fn docs_path(&self) -> &str {
        "/providers/acme"
    }

    fn env_vars(&self) -> &[EnvVar] {
        ENV_VARS
    }

    fn default_model(&self) -> Option<&str> {
        Some(DEFAULT_MODEL)
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&AcmeRunner)
    }
}

/// The service's name in messages.
const SERVICE: &str = "Acme";
/// Acme's public API.
const DEFAULT_BASE_URL: &str = "https://api.acme.example/v1";

/// Runs Acme models: `POST <base>/generate` with the key as a Bearer token, answered with
/// `{"output": "..."}`.
pub struct AcmeRunner;

#[async_trait]
impl ModelRunner for AcmeRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let base = base_url(&ctx.host)?;
        let body = serde_json::json!({ "model": request.model, "prompt": request.prompt });
        let key = ctx.credential.expose_secret();
        let http = HttpRequest::post_json(format!("{base}/generate"), &body)
            .with_header("authorization", format!("Bearer {key}"));
        let client = &ctx.host.http_client;
        let response = client
            .send(http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        if !response.is_success() {
            return Err(refusal(response.status));
        }
        let reply: serde_json::Value =
            serde_json::from_slice(&response.body).map_err(|_| bad_answer("is not JSON"))?;
        let text = reply
            .get("output")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad_answer("has no output"))?;
        Ok(ModelReply::new(vec![ModelOutput::text(text)]))
    }
}

/// The API base: `ACME_BASE_URL`, else config `providers.acme.base_url`, else the default.
/// It reads only the host's services, which a sign-in gets too, so a method could share it.
fn base_url(host: &HostServices) -> Result<String, ModelError> {
    let configured = host
        .provider_config(PROVIDER_ID)
        .and_then(|c| c.get("base_url"))
        .and_then(|v| v.as_str());
    let base = host
        .env_var(BASE_URL_ENV)
        .or(configured)
        .unwrap_or(DEFAULT_BASE_URL);
    if !base.starts_with("https://") {
        return Err(ModelError::Config(format!(
            "the Acme base URL {base:?} is not https: use e.g. {DEFAULT_BASE_URL}"
        )));
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// A refused call, as one line saying what to do. Acme's own error text is left out: a service
/// may echo the key it refused, and an error must never show it.
fn refusal(status: u16) -> ModelError {
    let answered = |what: &str| format!("{SERVICE} answered HTTP {status}: {what}");
    match status {
        401 | 403 => ModelError::CredentialRejected {
            service: SERVICE.to_owned(),
            detail: format!("HTTP {status}"),
        },
        429 => ModelError::RateLimited(answered("too many requests: wait a minute and try again")),
        400..=499 => ModelError::InvalidRequest(answered("check the model id and the prompt")),
        _ => ModelError::Service(answered("try again in a minute")),
    }
}

fn bad_answer(what: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "{SERVICE}'s answer {what}: try again, and report it if it persists"
    ))
}

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "examples/acme/manifest.json",
    json: include_str!("../manifest.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(AcmeProvider::default()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        refresh_fixtures: Vec::new,
        list_fixtures: Vec::new,
        device_fixtures: Vec::new,
    }
}

// Fixtures are test code: only the `contract-fixtures` feature builds them, so a binary that
// links this crate carries none of them.
#[cfg(feature = "contract-fixtures")]
const CONTRACT_FIXTURES: fn() -> Vec<Box<dyn ContractFixture>> = contract_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const CONTRACT_FIXTURES: fn() -> Vec<Box<dyn ContractFixture>> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const MODEL_FIXTURES: fn() -> Vec<ModelFixture> = model_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const MODEL_FIXTURES: fn() -> Vec<ModelFixture> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const SERVICE_ERRORS: fn() -> Option<ServiceErrors> = || Some(service_errors());
#[cfg(not(feature = "contract-fixtures"))]
const SERVICE_ERRORS: fn() -> Option<ServiceErrors> = || None;
