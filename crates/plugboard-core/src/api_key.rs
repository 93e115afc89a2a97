//! Signing in with a pasted API key: the input rules every provider shares, and a ready
//! [`ApiKeyMethod`] a provider can offer as is.

use std::borrow::Cow;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::auth::{AuthError, AuthKind, AuthMethod, AuthResult};
use crate::context::AuthContext;
use crate::credential::{Credential, CredentialKind, Provenance};

/// Longest API key accepted; real keys are far shorter, so anything longer is a paste mistake.
pub const MAX_API_KEY_LEN: usize = 4096;

/// Why a pasted key was refused. Never carries the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// Nothing but whitespace.
    #[error("api key is empty: paste the whole key")]
    Empty,
    /// Over [`MAX_API_KEY_LEN`] bytes.
    #[error("api key is longer than {MAX_API_KEY_LEN} bytes: paste just the key")]
    TooLong,
    /// Holds control characters (escape sequences, tabs, NUL...).
    #[error("api key contains control characters: paste just the key")]
    ControlCharacters,
    /// Holds spaces inside it.
    #[error("api key contains spaces: paste just the key")]
    InnerWhitespace,
}

impl From<ApiKeyError> for AuthError {
    fn from(e: ApiKeyError) -> Self {
        AuthError::InvalidInput(e.to_string())
    }
}

/// Checks a pasted key and returns it without surrounding whitespace.
pub fn validate_api_key(raw: &str) -> Result<&str, ApiKeyError> {
    // A trailing newline or spaces from the paste are harmless; anything inside is not.
    let key = raw.trim_matches(|c: char| c == ' ' || c == '\n' || c == '\r');
    if key.len() > MAX_API_KEY_LEN {
        return Err(ApiKeyError::TooLong);
    }
    if key.chars().any(char::is_control) {
        return Err(ApiKeyError::ControlCharacters);
    }
    if key.is_empty() || key.chars().all(char::is_whitespace) {
        return Err(ApiKeyError::Empty);
    }
    if key.chars().any(char::is_whitespace) {
        return Err(ApiKeyError::InnerWhitespace);
    }
    Ok(key)
}

/// A ready sign-in method that asks for an API key (hidden on a terminal, one line of stdin
/// otherwise), checks it with [`validate_api_key`], and returns it as the target profile.
///
/// Its texts are borrowed for a linked extension and owned for a provider built at run time
/// from an installed plugin's manifest.
#[derive(Debug, Clone)]
pub struct ApiKeyMethod {
    provider_id: Cow<'static, str>,
    label: Cow<'static, str>,
    hint: Option<Cow<'static, str>>,
    prompt: Cow<'static, str>,
    default_model: Option<Cow<'static, str>>,
    notes: Vec<String>,
}

impl ApiKeyMethod {
    /// A method with id `api-key` for `provider_id`, shown as `label`, asking `prompt`.
    pub fn new(
        provider_id: impl Into<Cow<'static, str>>,
        label: impl Into<Cow<'static, str>>,
        prompt: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            provider_id: provider_id.into(),
            label: label.into(),
            hint: None,
            prompt: prompt.into(),
            default_model: None,
            notes: Vec::new(),
        }
    }

    /// Sets the menu hint.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Suggests a default model (`provider/model`) in the result.
    pub fn with_default_model(mut self, model: impl Into<Cow<'static, str>>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Adds a note shown after a successful sign-in.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

#[async_trait]
impl AuthMethod for ApiKeyMethod {
    fn id(&self) -> &str {
        "api-key"
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn kind(&self) -> AuthKind {
        AuthKind::ApiKey
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let profile_id = ctx
            .target_profile(&self.provider_id)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let pasted: SecretString = ctx.prompter.secret(&self.prompt).await?;
        let key = validate_api_key(pasted.expose_secret())?;

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "api-key".into());
        provenance.insert("method".into(), self.id().into());
        provenance.insert(
            "obtained_at".into(),
            humantime::format_rfc3339_seconds(ctx.clock.now())
                .to_string()
                .into(),
        );
        let credential = Credential::new(CredentialKind::ApiKey, key.into(), provenance);

        let mut result = AuthResult::profile(profile_id, credential);
        if let Some(model) = self.default_model.as_deref().and_then(|m| m.parse().ok()) {
            result = result.with_default_model(model);
        }
        result.notes.extend(self.notes.iter().cloned());
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_keys_are_trimmed_or_refused() {
        let long = "k".repeat(MAX_API_KEY_LEN + 1);
        let cases: [(&str, Result<&str, ApiKeyError>); 10] = [
            ("sk-or-v1-abc", Ok("sk-or-v1-abc")),
            ("  sk-or-v1-abc \n", Ok("sk-or-v1-abc")),
            ("sk-or-v1-abc\r\n", Ok("sk-or-v1-abc")),
            ("", Err(ApiKeyError::Empty)),
            ("   \n", Err(ApiKeyError::Empty)),
            ("\t", Err(ApiKeyError::ControlCharacters)),
            ("sk-\x1b[31m", Err(ApiKeyError::ControlCharacters)),
            ("sk\0or", Err(ApiKeyError::ControlCharacters)),
            ("sk or", Err(ApiKeyError::InnerWhitespace)),
            (&long, Err(ApiKeyError::TooLong)),
        ];
        for (raw, want) in cases {
            assert_eq!(
                validate_api_key(raw),
                want,
                "{:?}",
                &raw[..raw.len().min(20)]
            );
        }
        let longest = "k".repeat(MAX_API_KEY_LEN);
        assert_eq!(validate_api_key(&longest), Ok(longest.as_str()));
        assert_eq!(
            validate_api_key(&format!("  {longest}  \n")),
            Ok(longest.as_str())
        );
    }

    #[test]
    fn refusals_never_echo_the_key() {
        for raw in ["sk-secret\x07", "sk secret"] {
            let shown = validate_api_key(raw).unwrap_err().to_string();
            assert!(!shown.contains("secret"), "{shown}");
        }
    }
}
