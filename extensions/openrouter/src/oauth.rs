//! `openrouter-oauth`: browser sign-in with PKCE. OpenRouter answers the code exchange with an
//! ordinary API key, so the result is an API-key profile whose provenance says it came from
//! OAuth. The browser, callback and paste parts are the reusable ones from `plugboard-oauth`.

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, CredentialKind,
    Provenance, async_trait,
};
use plugboard_oauth::BrowserLogin;
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::exchange::{ExchangeError, exchange};
use crate::provider::{DEFAULT_MODEL, PROVIDER_ID};

/// The method id, as in `--method oauth` and the manifest's `openrouter-oauth` choice.
pub const OAUTH_METHOD_ID: &str = "oauth";

/// The path of the loopback callback: `http://localhost:<port>/openrouter-oauth/callback`.
pub const CALLBACK_PATH: &str = "/openrouter-oauth/callback";

/// The callback port tried first; any other free port works too, since OpenRouter accepts any
/// localhost callback URL.
pub const DEFAULT_CALLBACK_PORT: u16 = 3000;

/// Where OpenRouter lists a user's keys, so one can be revoked.
pub(crate) const KEYS_URL: &str = "https://openrouter.ai/settings/keys";

/// Browser sign-in to OpenRouter with OAuth PKCE.
#[derive(Debug, Clone, Copy, Default)]
pub struct OAuthMethod;

#[async_trait]
impl AuthMethod for OAuthMethod {
    fn id(&self) -> &str {
        OAUTH_METHOD_ID
    }

    fn label(&self) -> &str {
        "OpenRouter OAuth"
    }

    fn hint(&self) -> Option<&str> {
        Some("Browser sign-in")
    }

    fn kind(&self) -> AuthKind {
        AuthKind::OAuth
    }

    fn needs_browser(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        // Everything that can be refused up front is, before a port is bound or a URL shown.
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let profile_id = ctx
            .target_profile(PROVIDER_ID)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;

        let login = BrowserLogin {
            service_name: "OpenRouter".to_owned(),
            callback_path: CALLBACK_PATH.to_owned(),
            default_port: DEFAULT_CALLBACK_PORT,
        };
        let authorization = login
            .run(ctx, |request| endpoints.authorize_url(request))
            .await?;

        let progress = ctx
            .prompter
            .progress("exchanging the code for an OpenRouter API key");
        let exchanged = exchange(ctx.host.http_client.as_ref(), &endpoints, &authorization).await;
        let key = match exchanged {
            Ok(key) => {
                progress.finish("OpenRouter issued an API key");
                key
            }
            Err(e) => {
                progress.finish("the code exchange failed");
                // A network failure keeps its cause as the source, so the host's chain says
                // it once; OpenRouter's own refusals are one line already.
                return Err(match e {
                    ExchangeError::Http(_) => AuthError::other(e),
                    _ => AuthError::Service(e.to_string()),
                });
            }
        };

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "oauth-pkce".into());
        provenance.insert("method".into(), OAUTH_METHOD_ID.into());
        // A login finished with someone else's code (a pasted redirect, a callback raced from
        // elsewhere) stores a key to their account; saying whose it is lets the user notice.
        let signed_in_as = signed_in_note(key.user_id.as_deref());
        provenance.insert(
            "user_id".into(),
            key.user_id.map_or(Value::Null, Value::String),
        );
        provenance.insert(
            "obtained_at".into(),
            humantime::format_rfc3339_seconds(ctx.clock.now())
                .to_string()
                .into(),
        );
        provenance.insert("callback".into(), authorization.via.as_str().into());
        let credential = Credential::new(CredentialKind::ApiKey, key.key, provenance);

        let mut result = AuthResult::profile(profile_id, credential)
            .with_note(signed_in_as)
            .with_remote_issue(Some(KEYS_URL))
            .with_note(
                "each OAuth sign-in issues a new key: running it again rotates the stored one (revoke old keys at https://openrouter.ai/settings/keys)",
            );
        if let Ok(model) = DEFAULT_MODEL.parse() {
            result = result.with_default_model(model);
        }
        Ok(result)
    }
}

/// Whose account the key belongs to, as OpenRouter says (`user_id` is already sanitised to
/// one short line by the exchange).
fn signed_in_note(user_id: Option<&str>) -> String {
    match user_id.filter(|id| !id.is_empty()) {
        Some(id) => format!(
            "signed in to OpenRouter as {id} (not your account? revoke the key at https://openrouter.ai/settings/keys and sign in again)"
        ),
        None => "OpenRouter did not say which account the key belongs to: check it at https://openrouter.ai/settings/keys".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_account_the_key_belongs_to() {
        let cases = [
            (
                Some("user_2abc"),
                "signed in to OpenRouter as user_2abc (not your account?",
            ),
            (Some(""), "OpenRouter did not say which account"),
            (None, "OpenRouter did not say which account"),
        ];
        for (user_id, starts) in cases {
            let note = signed_in_note(user_id);
            assert!(note.starts_with(starts), "{user_id:?}: {note}");
        }
    }
}
