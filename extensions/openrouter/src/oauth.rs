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
use crate::exchange::exchange;
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
            Endpoints::from_context(ctx).map_err(|e| AuthError::InvalidInput(e.to_string()))?;
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
        let exchanged = exchange(ctx.http_client.as_ref(), &endpoints, &authorization).await;
        let key = match exchanged {
            Ok(key) => {
                progress.finish("OpenRouter issued an API key");
                key
            }
            Err(e) => {
                progress.finish("the code exchange failed");
                return Err(AuthError::Service(e.to_string()));
            }
        };

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "oauth-pkce".into());
        provenance.insert("method".into(), OAUTH_METHOD_ID.into());
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
            .with_remote_issue(Some(KEYS_URL))
            .with_note(
                "each OAuth sign-in issues a new key: running it again rotates the stored one (revoke old keys at https://openrouter.ai/settings/keys)",
            )
            .with_note(
                "to use a key you manage instead: plugboard models auth login --provider openrouter --method api-key",
            );
        if let Ok(model) = DEFAULT_MODEL.parse() {
            result = result.with_default_model(model);
        }
        Ok(result)
    }
}
