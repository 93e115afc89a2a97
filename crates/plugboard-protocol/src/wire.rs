//! The values messages carry, and their conversions to and from the core's types. Secrets are
//! [`WireSecret`]s, whose `Debug` is redacted like a [`Credential`]'s.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugboard_core::{
    AuthError, Credential, CredentialKind, HttpError, ModelError, ModelErrorKind, ModelInfo,
    ModelOutput, OAuthTokens, PromptError, Provenance, RefreshError, SessionToken, redact,
};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A secret on the wire: plain text in JSON, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct WireSecret(pub String);

impl fmt::Debug for WireSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl From<&SecretString> for WireSecret {
    fn from(secret: &SecretString) -> Self {
        Self(secret.expose_secret().to_owned())
    }
}

impl WireSecret {
    fn secret(&self) -> SecretString {
        self.0.clone().into()
    }
}

/// A credential on the wire, tagged by kind like the store's forms. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireCredential {
    /// An API key.
    ApiKey {
        /// The key.
        key: WireSecret,
        /// Where it came from (shown to the user: never a secret).
        #[serde(default)]
        provenance: Provenance,
    },
    /// A bearer token.
    Token {
        /// The token.
        token: WireSecret,
        /// When it stops working.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
        /// Where it came from.
        #[serde(default)]
        provenance: Provenance,
    },
    /// OAuth tokens.
    #[serde(rename = "oauth")]
    OAuth {
        /// The access token.
        access_token: WireSecret,
        /// The refresh token, if the service gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<WireSecret>,
        /// When the access token stops working.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
        /// The account the tokens act for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<String>,
        /// A short-lived token derived from the access token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<WireSession>,
        /// Where it came from.
        #[serde(default)]
        provenance: Provenance,
    },
    /// No secret: a local service.
    None {
        /// Where the service is.
        #[serde(default)]
        provenance: Provenance,
    },
}

/// A cached session token on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireSession {
    /// The token.
    pub token: WireSecret,
    /// When it stops working, Unix seconds.
    pub expires_at: u64,
    /// Where requests with it go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The latest time a credential on the wire stands for: the last second of year 9999, the
/// last a date can be printed for (RFC 3339) and the latest the store keeps.
const MAX_SECONDS: u64 = 253_402_300_799;

/// A time the other side sent, held at [`MAX_SECONDS`]: any `u64` arrives, and one past what a
/// `SystemTime` holds would panic in the addition, one past year 9999 when it is printed.
fn time(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.min(MAX_SECONDS))
}

impl From<&Credential> for WireCredential {
    fn from(credential: &Credential) -> Self {
        let provenance = credential.provenance().clone();
        let secret = || WireSecret(credential.expose_secret().to_owned());
        match credential.kind() {
            CredentialKind::ApiKey => Self::ApiKey {
                key: secret(),
                provenance,
            },
            CredentialKind::Token => Self::Token {
                token: secret(),
                expires_at: credential.expires_at().map(seconds),
                provenance,
            },
            CredentialKind::OAuth => {
                let tokens = credential.oauth_tokens();
                Self::OAuth {
                    access_token: secret(),
                    refresh_token: credential.refresh_token().map(|t| WireSecret(t.to_owned())),
                    expires_at: credential.expires_at().map(seconds),
                    account_id: credential.account_id().map(str::to_owned),
                    session: tokens
                        .and_then(|t| t.session.as_ref())
                        .map(|s| WireSession {
                            token: WireSecret::from(&s.token),
                            expires_at: seconds(s.expires_at),
                            endpoint: s.endpoint.clone(),
                        }),
                    provenance,
                }
            }
            _ => Self::None { provenance },
        }
    }
}

impl From<WireCredential> for Credential {
    fn from(wire: WireCredential) -> Self {
        match wire {
            WireCredential::ApiKey { key, provenance } => {
                Credential::new(CredentialKind::ApiKey, key.secret(), provenance)
            }
            WireCredential::Token {
                token,
                expires_at,
                provenance,
            } => Credential::token(token.secret(), expires_at.map(time), provenance),
            WireCredential::OAuth {
                access_token,
                refresh_token,
                expires_at,
                account_id,
                session,
                provenance,
            } => {
                let mut tokens = OAuthTokens::new(access_token.secret());
                tokens.refresh_token = refresh_token.map(|t| t.secret());
                tokens.expires_at = expires_at.map(time);
                tokens.account_id = account_id;
                tokens.session = session.map(|s| SessionToken {
                    token: s.token.secret(),
                    expires_at: time(s.expires_at),
                    endpoint: s.endpoint,
                });
                Credential::oauth(tokens, provenance)
            }
            WireCredential::None { provenance } => Credential::none(provenance),
        }
    }
}

/// A profile to write: where, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WireProfile {
    /// `provider:name`; the provider must be the one the request named.
    pub profile_id: String,
    /// What to store.
    pub credential: WireCredential,
}

/// One output of a model call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireOutput {
    /// The generated text.
    #[serde(default)]
    pub text: String,
    /// Where generated media can be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

impl From<&ModelOutput> for WireOutput {
    fn from(output: &ModelOutput) -> Self {
        Self {
            text: output.text.clone(),
            media_url: output.media_url.clone(),
        }
    }
}

impl From<WireOutput> for ModelOutput {
    fn from(wire: WireOutput) -> Self {
        let mut output = ModelOutput::text(wire.text);
        output.media_url = wire.media_url;
        output
    }
}

/// One model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireModel {
    /// The model id, without the provider prefix.
    pub id: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether it costs nothing to use.
    #[serde(default)]
    pub free: bool,
}

impl From<&ModelInfo> for WireModel {
    fn from(info: &ModelInfo) -> Self {
        Self {
            id: info.id.clone(),
            name: info.name.clone(),
            free: info.free,
        }
    }
}

impl From<WireModel> for ModelInfo {
    fn from(wire: WireModel) -> Self {
        let info = ModelInfo::new(wire.id).free(wire.free);
        match wire.name {
            Some(name) => info.with_name(name),
            None => info,
        }
    }
}

/// Why a request failed: a kind the host acts on, and one line for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened, one line, never a secret. The host names the service itself, so for
    /// `credential_rejected`, `credential_expired` and `sign_in_required` this is what the
    /// service said, and for `network` what went wrong (`cannot connect to api.example.com:
    /// connection refused`), without "could not be reached".
    #[serde(default)]
    pub message: String,
}

/// The kinds of [`WireError`]: the sign-in, model and refresh failures of the core, by their
/// stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user backed out of a sign-in.
    Cancelled,
    /// What the user gave was refused.
    InvalidInput,
    /// The method needs something this session lacks.
    Unavailable,
    /// The service refused or failed.
    Service,
    /// The service rejected the credential.
    CredentialRejected,
    /// The service said the access token has expired.
    CredentialExpired,
    /// The service refused the request itself.
    InvalidRequest,
    /// Rate-limited or out of credits.
    RateLimited,
    /// The service could not be reached.
    Network,
    /// The service answered with something unexpected.
    BadResponse,
    /// The provider's settings cannot be used.
    Config,
    /// A refresh was refused: the user must sign in again.
    SignInRequired,
    /// The credential cannot be refreshed.
    NotRefreshable,
    /// The plugin does not handle this request, provider or method.
    Unsupported,
    /// The plugin failed for its own reasons.
    Internal,
}

impl WireError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A failed sign-in, for the wire.
    pub fn from_auth(error: &AuthError) -> Self {
        let kind = match error {
            AuthError::Cancelled | AuthError::Prompt(PromptError::Cancelled) => {
                ErrorKind::Cancelled
            }
            AuthError::InvalidInput(_) | AuthError::Prompt(_) => ErrorKind::InvalidInput,
            AuthError::Unavailable(_) => ErrorKind::Unavailable,
            AuthError::Service(_) => ErrorKind::Service,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, chain(error))
    }

    /// A failed sign-in, for the host.
    pub fn into_auth(self) -> AuthError {
        match self.kind {
            ErrorKind::Cancelled => AuthError::Cancelled,
            ErrorKind::InvalidInput => AuthError::InvalidInput(self.message),
            ErrorKind::Unavailable => AuthError::Unavailable(self.message),
            _ => AuthError::Service(self.message),
        }
    }

    /// A failed model call or listing, for the wire.
    pub fn from_model(error: &ModelError) -> Self {
        let kind = match error.kind() {
            ModelErrorKind::CredentialRejected => ErrorKind::CredentialRejected,
            ModelErrorKind::CredentialExpired => ErrorKind::CredentialExpired,
            ModelErrorKind::InvalidRequest => ErrorKind::InvalidRequest,
            ModelErrorKind::RateLimited => ErrorKind::RateLimited,
            ModelErrorKind::Service => ErrorKind::Service,
            ModelErrorKind::Network => ErrorKind::Network,
            ModelErrorKind::BadResponse => ErrorKind::BadResponse,
            _ => ErrorKind::Config,
        };
        let message = match error {
            ModelError::CredentialRejected { detail, .. }
            | ModelError::CredentialExpired { detail, .. } => detail.clone(),
            // The host says which service could not be reached; only the cause travels.
            ModelError::Network { source, .. } => chain(source),
            other => chain(other),
        };
        Self::new(kind, message)
    }

    /// A failed model call or listing, for the host; `service` is the provider's name.
    pub fn into_model(self, service: &str) -> ModelError {
        let service = service.to_owned();
        match self.kind {
            ErrorKind::CredentialRejected => ModelError::CredentialRejected {
                service,
                detail: self.message,
            },
            ErrorKind::CredentialExpired => ModelError::CredentialExpired {
                service,
                detail: self.message,
            },
            ErrorKind::InvalidRequest => ModelError::InvalidRequest(self.message),
            ErrorKind::RateLimited => ModelError::RateLimited(self.message),
            ErrorKind::Network => ModelError::Network {
                service,
                source: HttpError::Reported(self.message),
            },
            ErrorKind::BadResponse => ModelError::BadResponse(self.message),
            ErrorKind::Config => ModelError::Config(self.message),
            _ => ModelError::Service(self.message),
        }
    }

    /// A failed refresh, for the wire.
    pub fn from_refresh(error: &RefreshError) -> Self {
        let (kind, message) = match error {
            RefreshError::SignInRequired { detail, .. } => {
                (ErrorKind::SignInRequired, detail.clone())
            }
            RefreshError::NotRefreshable => (ErrorKind::NotRefreshable, chain(error)),
            RefreshError::Network { source, .. } => (ErrorKind::Network, chain(source)),
            RefreshError::BadResponse(_) => (ErrorKind::BadResponse, chain(error)),
            RefreshError::Config(_) => (ErrorKind::Config, chain(error)),
            _ => (ErrorKind::Service, chain(error)),
        };
        Self::new(kind, message)
    }

    /// A failed refresh, for the host; `service` is the provider's name.
    pub fn into_refresh(self, service: &str) -> RefreshError {
        match self.kind {
            ErrorKind::SignInRequired => RefreshError::SignInRequired {
                service: service.to_owned(),
                detail: self.message,
            },
            ErrorKind::NotRefreshable => RefreshError::NotRefreshable,
            ErrorKind::Network => RefreshError::Network {
                service: service.to_owned(),
                source: HttpError::Reported(self.message),
            },
            ErrorKind::BadResponse => RefreshError::BadResponse(self.message),
            ErrorKind::Config => RefreshError::Config(self.message),
            _ => RefreshError::Service(self.message),
        }
    }
}

/// An error and its causes, `: `-joined, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use plugboard_core::ErrorChain;

    use super::*;

    #[test]
    fn credentials_survive_the_wire_and_their_debug_hides_every_secret() {
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "api-key".into());
        let mut tokens = OAuthTokens::new("at-secret-1".to_owned().into());
        tokens.refresh_token = Some("rt-secret-2".to_owned().into());
        tokens.expires_at = Some(time(1_700_000_000));
        tokens.account_id = Some("acct".into());
        tokens.session = Some(SessionToken {
            token: "st-secret-3".to_owned().into(),
            expires_at: time(1_700_000_100),
            endpoint: Some("https://api.example.test".into()),
        });
        let cases = [
            Credential::new(
                CredentialKind::ApiKey,
                "sk-secret-0".to_owned().into(),
                provenance.clone(),
            ),
            Credential::token(
                "tk-secret-4".to_owned().into(),
                Some(time(1_700_000_200)),
                Provenance::new(),
            ),
            Credential::oauth(tokens, provenance.clone()),
            Credential::none(provenance),
        ];
        for credential in cases {
            let wire = WireCredential::from(&credential);
            let json = serde_json::to_string(&wire).unwrap();
            let back: WireCredential = serde_json::from_str(&json).unwrap();
            let again = Credential::from(back.clone());
            assert!(again.same_secrets(&credential), "{json}");
            assert_eq!(again.kind(), credential.kind());
            assert_eq!(again.expires_at(), credential.expires_at());
            assert_eq!(again.provenance(), credential.provenance());
            let debug = format!("{back:?}");
            for n in 0..5 {
                assert!(!debug.contains(&format!("secret-{n}")), "{debug}");
            }
        }
    }

    #[test]
    fn a_time_past_what_the_host_can_say_is_held_at_the_end_of_year_9999() {
        let end_of_9999 = time(253_402_300_799);
        for seconds in [253_402_300_799, 253_402_300_800, i64::MAX as u64, u64::MAX] {
            let wire = WireCredential::OAuth {
                access_token: WireSecret("at".into()),
                refresh_token: None,
                expires_at: Some(seconds),
                account_id: None,
                session: Some(WireSession {
                    token: WireSecret("st".into()),
                    expires_at: seconds,
                    endpoint: None,
                }),
                provenance: Provenance::new(),
            };
            let credential = Credential::from(wire);
            assert_eq!(credential.expires_at(), Some(end_of_9999), "{seconds}");
            let shown = format!("{credential:?}");
            assert!(shown.contains("9999-12-31T23:59:59Z"), "{seconds}: {shown}");
        }
    }

    #[test]
    fn errors_keep_their_kind_across_the_wire_and_say_the_detail_once() {
        let rejected = ModelError::CredentialRejected {
            service: "Acme".into(),
            detail: "HTTP 401: bad key".into(),
        };
        let wire = WireError::from_model(&rejected);
        assert_eq!(wire.kind, ErrorKind::CredentialRejected);
        assert_eq!(wire.message, "HTTP 401: bad key");
        assert_eq!(wire.into_model("Acme"), rejected);

        let kinds = [
            (ErrorKind::RateLimited, ModelErrorKind::RateLimited),
            (ErrorKind::Network, ModelErrorKind::Network),
            (ErrorKind::BadResponse, ModelErrorKind::BadResponse),
            (
                ErrorKind::CredentialExpired,
                ModelErrorKind::CredentialExpired,
            ),
            (ErrorKind::Internal, ModelErrorKind::Service),
        ];
        for (wire, model) in kinds {
            assert_eq!(WireError::new(wire, "x").into_model("S").kind(), model);
        }
        // A failure to reach the service travels as its cause alone: the host names the
        // service, so the chain it prints says "could not be reached" once.
        let timeout = || HttpError::Timeout {
            host: "127.0.0.1".into(),
            seconds: 30,
        };
        let unreachable = WireError::from_model(&ModelError::Network {
            service: "OpenRouter".into(),
            source: timeout(),
        });
        let not_renewed = WireError::from_refresh(&RefreshError::Network {
            service: "OpenRouter".into(),
            source: timeout(),
        });
        for wire in [unreachable.clone(), not_renewed.clone()] {
            assert_eq!(
                (wire.kind, wire.message.as_str()),
                (ErrorKind::Network, "no answer from 127.0.0.1 within 30 s")
            );
        }
        for shown in [
            ErrorChain(&unreachable.into_model("Acme")).to_string(),
            ErrorChain(&not_renewed.into_refresh("Acme")).to_string(),
        ] {
            assert!(shown.starts_with("Acme could not be reached: "), "{shown}");
            assert_eq!(shown.matches("could not be reached").count(), 1, "{shown}");
            assert!(
                shown.ends_with("no answer from 127.0.0.1 within 30 s"),
                "{shown}"
            );
        }

        let network = WireError::new(
            ErrorKind::Network,
            "cannot connect to api.acme.test: refused",
        )
        .into_model("Acme");
        assert_eq!(
            ErrorChain(&network).to_string(),
            "Acme could not be reached: cannot connect to api.acme.test: refused"
        );
        let cancelled = WireError::from_auth(&AuthError::Prompt(PromptError::Cancelled));
        assert!(matches!(cancelled.into_auth(), AuthError::Cancelled));
        let refused = WireError::from_refresh(&RefreshError::SignInRequired {
            service: "Acme".into(),
            detail: "invalid_grant".into(),
        });
        assert!(matches!(
            refused.into_refresh("Acme"),
            RefreshError::SignInRequired { detail, .. } if detail == "invalid_grant"
        ));
    }
}
