//! `openai-codex-oauth`: sign in with a ChatGPT account as the Codex CLI does, authorization
//! code with PKCE on the redirect ports OpenAI registered for that client, and keep the OAuth
//! tokens (access, refresh, expiry, account id). The browser, callback and paste parts are the
//! reusable ones from `plugboard-oauth`.

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, OAuthTokens, Provenance,
    async_trait,
};
use plugboard_oauth::BrowserLogin;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::exchange::{ExchangeError, exchange};
use crate::jwt::Account;
use crate::provider::{DEFAULT_MODEL, PROVIDER_ID};
use crate::tokens::expires_at;

/// The method id, as in `--method oauth` and the manifest's `openai-codex-oauth` choice.
pub const OAUTH_METHOD_ID: &str = "oauth";

/// The path of the loopback callback: `http://localhost:1455/auth/callback`.
pub const CALLBACK_PATH: &str = "/auth/callback";

/// The redirect ports OpenAI accepts for the Codex client, in the order codex-rs tries them
/// (`DEFAULT_PORT` and `FALLBACK_PORT` in `codex-rs/login/src/server.rs`).
pub const REGISTERED_CALLBACK_PORTS: [u16; 2] = [1455, 1457];

/// Browser sign-in to ChatGPT for OpenAI Codex, with OAuth PKCE.
#[derive(Debug, Clone, Copy, Default)]
pub struct OAuthMethod;

#[async_trait]
impl AuthMethod for OAuthMethod {
    fn id(&self) -> &str {
        OAUTH_METHOD_ID
    }

    fn label(&self) -> &str {
        "OpenAI Codex (ChatGPT sign-in)"
    }

    fn hint(&self) -> Option<&str> {
        Some("Browser sign-in with your ChatGPT account")
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
            service_name: "OpenAI".to_owned(),
            callback_path: CALLBACK_PATH.to_owned(),
            default_port: REGISTERED_CALLBACK_PORTS[0],
        };
        let authorization = login
            .run_on_registered_ports(ctx, &REGISTERED_CALLBACK_PORTS, |request| {
                endpoints.authorize_url(request)
            })
            .await?;

        let progress = ctx
            .prompter
            .progress("exchanging the code for ChatGPT tokens");
        let exchanged = exchange(ctx.host.http_client.as_ref(), &endpoints, &authorization).await;
        let exchanged = match exchanged {
            Ok(exchanged) => {
                progress.finish("OpenAI issued tokens");
                exchanged
            }
            Err(e) => {
                progress.finish("the code exchange failed");
                // A network failure keeps its cause as the source, so the host's chain says it
                // once; OpenAI's own refusals are one line already.
                return Err(match e {
                    ExchangeError::Http(_) => AuthError::other(e),
                    _ => AuthError::Service(e.to_string()),
                });
            }
        };

        let now = ctx.clock.now();
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "oauth-pkce".into());
        provenance.insert("method".into(), OAUTH_METHOD_ID.into());
        provenance.insert(
            "obtained_at".into(),
            humantime::format_rfc3339_seconds(now).to_string().into(),
        );
        provenance.insert("callback".into(), authorization.via.as_str().into());
        // Whose account this is, so a sign-in finished with someone else's redirect shows.
        let Account {
            account_id,
            email,
            plan,
        } = exchanged.account;
        if let Some(email) = &email {
            provenance.insert("email".into(), Value::String(email.clone()));
        }
        if let Some(plan) = plan {
            provenance.insert("plan".into(), Value::String(plan));
        }

        let mut tokens = OAuthTokens::new(exchanged.access_token);
        tokens.expires_at = expires_at(
            tokens.access_token.expose_secret(),
            exchanged.expires_in,
            now,
        );
        tokens.refresh_token = Some(exchanged.refresh_token);
        tokens.account_id = account_id;
        let credential = Credential::oauth(tokens, provenance);

        let mut result =
            AuthResult::profile(profile_id, credential).with_note(signed_in_note(email.as_deref()));
        if let Ok(model) = DEFAULT_MODEL.parse() {
            result = result.with_default_model(model);
        }
        Ok(result)
    }
}

/// Whose ChatGPT account the tokens belong to (the email is already one short safe line).
fn signed_in_note(email: Option<&str>) -> String {
    match email {
        Some(email) => format!("signed in to ChatGPT as {email}"),
        None => "signed in to ChatGPT; OpenAI did not say which email the account has".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use plugboard_core::{Answer, CredentialKind, FixedRandom, HttpResponse, ScriptedHttp};
    use plugboard_oauth::LoginSecrets;
    use serde_json::json;

    use super::*;
    use crate::jwt::unsigned;
    use crate::provider::BASE_URL_ENV;

    const AUTH: &str = "https://api.openai.com/auth";

    fn context(pasted: String, http: Arc<ScriptedHttp>) -> AuthContext {
        let mut ctx = AuthContext::scripted([Answer::Text(pasted)]);
        ctx.options.no_browser = true;
        ctx.options.callback_port = Some(0);
        ctx.options.timeout = Duration::from_secs(20);
        ctx.host = ctx
            .host
            .clone()
            .with_http_client(http)
            .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
        ctx
    }

    fn state() -> String {
        LoginSecrets::generate(&FixedRandom::default())
            .state
            .as_str()
            .to_owned()
    }

    fn token_reply() -> HttpResponse {
        let body = json!({
            "id_token": unsigned(&json!({"email": "u@x.test", AUTH: {
                "chatgpt_account_id": "acc-1", "chatgpt_plan_type": "plus"}})),
            "access_token": unsigned(&json!({"exp": 1_700_003_600, AUTH: {"chatgpt_account_id": "acc-1"}})),
            "refresh_token": "rt-fixture-1",
        });
        HttpResponse::new(200, body.to_string())
    }

    #[tokio::test]
    async fn a_pasted_redirect_becomes_oauth_tokens_for_the_account() {
        let http = Arc::new(ScriptedHttp::new([Ok(token_reply())]));
        let pasted = format!(
            "http://localhost:1455/auth/callback?code=c-1&state={}",
            state()
        );
        let mut ctx = context(pasted, http.clone());
        let result = OAuthMethod.run(&mut ctx).await.unwrap();
        let write = &result.profiles[0];
        assert_eq!(write.profile_id.to_string(), "openai-codex:default");
        let credential = &write.credential;
        assert_eq!(credential.kind(), CredentialKind::OAuth);
        assert_eq!(credential.refresh_token(), Some("rt-fixture-1"));
        assert_eq!(credential.account_id(), Some("acc-1"));
        assert_eq!(
            credential.expires_at(),
            Some(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_003_600))
        );
        let provenance = credential.provenance();
        for (key, value) in [
            ("auth_flow", "oauth-pkce"),
            ("method", "oauth"),
            ("callback", "paste"),
            ("email", "u@x.test"),
            ("plan", "plus"),
            ("obtained_at", "2023-11-14T22:13:20Z"),
        ] {
            assert_eq!(
                provenance.get(key).and_then(Value::as_str),
                Some(value),
                "{key}"
            );
        }
        assert_eq!(result.notes, ["signed in to ChatGPT as u@x.test"]);
        assert_eq!(
            result.default_model.map(|m| m.to_string()).as_deref(),
            Some(DEFAULT_MODEL)
        );
        let form = String::from_utf8(http.requests()[0].body.clone().unwrap()).unwrap();
        assert!(form.contains("code=c-1"), "{form}");
        // The redirect URI the exchange repeats is the one the authorize URL named: the
        // pinned test port here, not 1455.
        assert!(!form.contains("1455"), "{form}");
    }

    #[tokio::test]
    async fn a_pasted_redirect_with_a_forged_state_is_refused_before_any_request() {
        let http = Arc::new(ScriptedHttp::new([Ok(token_reply())]));
        let pasted = "http://localhost:1455/auth/callback?code=c-1&state=forged".to_owned();
        let mut ctx = context(pasted, http.clone());
        let err = OAuthMethod.run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("state does not match"), "{err}");
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn a_refused_exchange_is_a_service_error_naming_no_token() {
        let http = Arc::new(ScriptedHttp::new([Ok(HttpResponse::new(
            400,
            r#"{"error":"invalid_grant","error_description":"Code already redeemed"}"#,
        ))]));
        let pasted = format!(
            "http://localhost:1455/auth/callback?code=c-1&state={}",
            state()
        );
        let mut ctx = context(pasted, http);
        let err = OAuthMethod.run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::Service(_)), "{err:?}");
        assert!(
            err.to_string()
                .ends_with("(OpenAI said: Code already redeemed)"),
            "{err}"
        );
    }

    #[test]
    fn the_note_names_the_account() {
        assert_eq!(
            signed_in_note(Some("u@x.test")),
            "signed in to ChatGPT as u@x.test"
        );
        assert!(signed_in_note(None).contains("did not say"));
    }
}
