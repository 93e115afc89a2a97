//! The `model.run` capability: one prompt in, the model's outputs back, sent with a credential
//! the host resolved. A provider offers it through [`Provider::model_runner`]; the host never
//! learns how a provider's service is called.
//!
//! [`Provider::model_runner`]: crate::Provider::model_runner

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use thiserror::Error;

use crate::credential::Credential;
use crate::host::HostServices;
use crate::http::{HttpError, HttpResponse};

/// The capability's stable name, as manifests declare it and `--json` output reports it.
pub const MODEL_RUN_CAPABILITY: &str = "model.run";

/// One model call: a single user prompt to a model of the provider.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelRequest {
    /// The model as the provider names it, without the `provider/` prefix
    /// (`liquid/lfm-2.5-1.2b-instruct:free`).
    pub model: String,
    /// The user's prompt.
    pub prompt: String,
}

impl ModelRequest {
    /// A request for `model` (without the provider prefix) with `prompt`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            prompt: prompt.into(),
        }
    }
}

impl fmt::Debug for ModelRequest {
    /// Prompts are the user's data, so only their size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelRequest")
            .field("model", &self.model)
            .field("prompt_bytes", &self.prompt.len())
            .finish()
    }
}

/// One output of a model call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModelOutput {
    /// The generated text (empty for a media-only output).
    pub text: String,
    /// Where generated media can be fetched, for models that produce it.
    #[serde(rename = "mediaUrl")]
    pub media_url: Option<String>,
}

impl ModelOutput {
    /// A text output.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            media_url: None,
        }
    }
}

/// What a model call returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ModelReply {
    /// The outputs, in the order the service gave them; at least one on success.
    pub outputs: Vec<ModelOutput>,
}

impl ModelReply {
    /// A reply with these outputs.
    pub fn new(outputs: Vec<ModelOutput>) -> Self {
        Self { outputs }
    }
}

/// Everything a model call may touch, built by the host (or a test) for one call.
#[non_exhaustive]
pub struct ModelContext {
    /// The credential to send, resolved by the host (`--profile`, environment, default
    /// profile); never shown.
    pub credential: Credential,
    /// HTTP settings and client, the config file and the provider's environment: the same
    /// services a sign-in gets.
    pub host: HostServices,
}

impl ModelContext {
    /// A context sending `credential` with the host's services.
    pub fn new(credential: Credential, host: HostServices) -> Self {
        Self { credential, host }
    }
}

/// What kind of failure a model call had: the stable `error.type` of `--json` output, and what
/// the host's advice depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelErrorKind {
    /// The service rejected the credential (HTTP 401): sign in again.
    CredentialRejected,
    /// The service said the access token has expired: the host refreshes it once and tries
    /// again, when it can.
    CredentialExpired,
    /// The service refused the request itself (unknown model, bad input).
    InvalidRequest,
    /// Too many requests, or the account is out of credits: wait or top up.
    RateLimited,
    /// The service failed or refused for its own reasons (5xx, ...).
    Service,
    /// No complete answer arrived (connect, timeout, reset).
    Network,
    /// An answer arrived that is not what the service documents, or is too large.
    BadResponse,
    /// The provider's settings cannot be used (an invalid base URL, ...).
    Config,
}

impl ModelErrorKind {
    /// The stable snake_case name (`credential_rejected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialRejected => "credential_rejected",
            Self::CredentialExpired => "credential_expired",
            Self::InvalidRequest => "invalid_request",
            Self::RateLimited => "rate_limited",
            Self::Service => "service",
            Self::Network => "network",
            Self::BadResponse => "bad_response",
            Self::Config => "config",
        }
    }
}

impl fmt::Display for ModelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a model call returned no outputs. Messages are one line and never contain the
/// credential or the prompt; a service's own words appear only sanitised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The service rejected the credential; the host adds how to sign in again.
    #[error("{service} rejected the key: {detail}")]
    CredentialRejected {
        /// The service's name (`OpenRouter`).
        service: String,
        /// What it said, sanitised (`HTTP 401: User not found.`).
        detail: String,
    },
    /// The service said the access token has expired; the host refreshes it when it can.
    #[error("the {service} access token has expired: {detail}")]
    CredentialExpired {
        /// The service's name.
        service: String,
        /// What it said, sanitised.
        detail: String,
    },
    /// The service refused this request.
    #[error("{0}")]
    InvalidRequest(String),
    /// Rate-limited or out of credits.
    #[error("{0}")]
    RateLimited(String),
    /// The service failed.
    #[error("{0}")]
    Service(String),
    /// No complete answer. The message names the service only: what went wrong is the
    /// [`source`](std::error::Error::source), so a chain printed cause by cause says it once.
    #[error("{service} could not be reached")]
    Network {
        /// The service's name.
        service: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// An answer that is not what it should be.
    #[error("{0}")]
    BadResponse(String),
    /// Unusable settings.
    #[error("{0}")]
    Config(String),
}

impl ModelError {
    /// The kind, for `--json` output and the host's advice.
    pub fn kind(&self) -> ModelErrorKind {
        match self {
            Self::CredentialRejected { .. } => ModelErrorKind::CredentialRejected,
            Self::CredentialExpired { .. } => ModelErrorKind::CredentialExpired,
            Self::InvalidRequest(_) => ModelErrorKind::InvalidRequest,
            Self::RateLimited(_) => ModelErrorKind::RateLimited,
            Self::Service(_) => ModelErrorKind::Service,
            Self::Network {
                source: HttpError::TooLarge { .. },
                ..
            } => ModelErrorKind::BadResponse,
            Self::Network { .. } => ModelErrorKind::Network,
            Self::BadResponse(_) => ModelErrorKind::BadResponse,
            Self::Config(_) => ModelErrorKind::Config,
        }
    }
}

/// Runs models of one provider: the `model.run` capability.
#[async_trait]
pub trait ModelRunner: Send + Sync {
    /// Sends `request` with `ctx.credential` and returns the outputs. Everything from outside
    /// (network, settings) comes through `ctx`; the call retries at most where that is safe.
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError>;
}

/// Builds a service's error answer for a status and a message, in the service's own shape.
/// Shared rather than a plain `fn`, so an error shape that is only known at run time (an
/// installed plugin declares it) can be one too.
pub type ErrorAnswer = std::sync::Arc<dyn Fn(u16, &str) -> HttpResponse + Send + Sync>;

/// How a provider's service answers when it will not take a credential, in its own error
/// shape. The contract's universal probes use it instead of assuming one shape for every
/// service: the harness holds every provider to the same outcomes with its own answers.
#[derive(Clone)]
pub struct ServiceErrors {
    /// What the service answers a credential it does not accept (status and body); the call
    /// must fail as [`ModelErrorKind::CredentialRejected`].
    pub rejected: HttpResponse,
    /// What the service answers an access token that has expired, for a provider whose
    /// credentials expire; the call must fail as [`ModelErrorKind::CredentialExpired`].
    pub expired: Option<HttpResponse>,
    /// An error answer with `status` whose message is `message`, in the service's shape: the
    /// harness quotes the key in it to check that no error shows it.
    pub error_with_message: ErrorAnswer,
}

impl fmt::Debug for ServiceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceErrors")
            .field("rejected", &self.rejected)
            .field("expired", &self.expired)
            .finish_non_exhaustive()
    }
}

/// What a model fixture expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelExpectation {
    /// The call succeeds and its first output's text is exactly this.
    Replies(String),
    /// The call fails with this kind of error.
    Fails(ModelErrorKind),
}

/// A scripted model call for the contract harness: the service's answers, and how the call
/// must end. Extensions register them beside their provider
/// ([`ProviderRegistration::model_fixtures`](crate::ProviderRegistration::model_fixtures)).
#[derive(Debug, Clone)]
pub struct ModelFixture {
    /// Names the case in reports (`a 401 is a rejected key`).
    pub name: String,
    /// The call to make.
    pub request: ModelRequest,
    /// Answers to the runner's requests, in order (see [`crate::ScriptedHttp`]).
    pub replies: Vec<Result<HttpResponse, HttpError>>,
    /// How it must end.
    pub expect: ModelExpectation,
}

impl ModelFixture {
    /// A call of `request`, answered with `replies`, that must end as `expect` says.
    pub fn new(
        name: &str,
        request: ModelRequest,
        replies: Vec<Result<HttpResponse, HttpError>>,
        expect: ModelExpectation,
    ) -> Self {
        Self {
            name: name.to_owned(),
            request,
            replies,
            expect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{CredentialKind, Provenance};

    #[test]
    fn debug_output_never_shows_the_prompt_or_the_key() {
        let request = ModelRequest::new("m", "my private question");
        assert!(!format!("{request:?}").contains("private"));
        let ctx = ModelContext::new(
            Credential::new(
                CredentialKind::ApiKey,
                "sk-secret-123".to_owned().into(),
                Provenance::new(),
            ),
            HostServices::default(),
        );
        assert!(!format!("{:?}", ctx.credential).contains("sk-secret-123"));
    }

    #[test]
    fn error_kinds_have_stable_names() {
        let too_large = ModelError::Network {
            service: "S".into(),
            source: HttpError::TooLarge {
                host: "h".into(),
                limit: 1,
            },
        };
        let timeout = ModelError::Network {
            service: "S".into(),
            source: HttpError::Timeout {
                host: "h".into(),
                seconds: 1,
            },
        };
        let cases = [
            (
                ModelError::CredentialRejected {
                    service: "S".into(),
                    detail: "d".into(),
                },
                "credential_rejected",
            ),
            (
                ModelError::CredentialExpired {
                    service: "S".into(),
                    detail: "d".into(),
                },
                "credential_expired",
            ),
            (ModelError::InvalidRequest("x".into()), "invalid_request"),
            (ModelError::RateLimited("x".into()), "rate_limited"),
            (ModelError::Service("x".into()), "service"),
            (timeout, "network"),
            (too_large, "bad_response"),
            (ModelError::BadResponse("x".into()), "bad_response"),
            (ModelError::Config("x".into()), "config"),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind().as_str(), kind, "{error}");
        }
    }
}
