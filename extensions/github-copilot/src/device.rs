//! `github-copilot-device`: sign in to GitHub with a device code, as OpenClaw's
//! `githubCopilotLoginCommand` and pi-ai's `loginGitHubCopilot` do, with the client id of
//! GitHub's Copilot integrations and scope `read:user`. The flow itself is the reusable one in
//! `plugboard-oauth` ([`DeviceCodeLogin`]).
//!
//! What is stored is the GitHub token alone (an oauth credential without refresh token or
//! expiry, unless GitHub gives one). The sign-in does not ask for a Copilot token: that is
//! derived from the GitHub token when Copilot is first used, and renewed by the refresher.

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, OAuthTokens, Provenance,
    async_trait, sanitize_line,
};
use plugboard_oauth::DeviceCodeLogin;
use serde_json::Value;

use crate::endpoints::{CLIENT_ID, Endpoints, SCOPE};
use crate::provider::{DEFAULT_MODEL, PROVIDER_ID};

/// The method id, as in `--method device` and the manifest's `github-copilot-device` choice.
pub const DEVICE_METHOD_ID: &str = "device";

/// The service the device flow names to the user ("To sign in to GitHub, open ...").
const SERVICE_NAME: &str = "GitHub";

/// Device-code sign-in to GitHub for GitHub Copilot.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeviceMethod;

#[async_trait]
impl AuthMethod for DeviceMethod {
    fn id(&self) -> &str {
        DEVICE_METHOD_ID
    }

    fn label(&self) -> &str {
        "GitHub Copilot (device sign-in)"
    }

    fn hint(&self) -> Option<&str> {
        Some("Enter a code at github.com/login/device with a Copilot account")
    }

    fn kind(&self) -> AuthKind {
        AuthKind::DeviceCode
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        // Everything that can be refused up front is, before GitHub is asked for a code.
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let profile_id = ctx
            .target_profile(PROVIDER_ID)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let login = DeviceCodeLogin {
            service: SERVICE_NAME.to_owned(),
            device_code_url: endpoints.device_code_url().clone(),
            token_url: endpoints.access_token_url().clone(),
            client_id: CLIENT_ID.to_owned(),
            scope: SCOPE.to_owned(),
        };
        let tokens = login.run(ctx).await?;

        let now = ctx.clock.now();
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "device-code".into());
        provenance.insert("method".into(), DEVICE_METHOD_ID.into());
        provenance.insert(
            "obtained_at".into(),
            humantime::format_rfc3339_seconds(now).to_string().into(),
        );
        // What GitHub granted, not a secret; GitHub Apps answer an empty scope.
        if let Some(scope) = tokens
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            provenance.insert("scope".into(), Value::String(sanitize_line(scope, 120)));
        }

        let mut stored = OAuthTokens::new(tokens.access_token);
        // GitHub's Copilot app issues tokens without an expiry; should it send one, the
        // sign-in is over then (no refresh token is kept: a new sign-in is the way back).
        stored.expires_at = tokens
            .expires_in
            .and_then(|lifetime| now.checked_add(lifetime));
        let credential = Credential::oauth(stored, provenance);

        let mut result = AuthResult::profile(profile_id, credential).with_note(
            "signed in to GitHub; a Copilot token is fetched with it when GitHub Copilot is first used",
        );
        if let Ok(model) = DEFAULT_MODEL.parse() {
            result = result.with_default_model(model);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use plugboard_core::{CredentialKind, HttpResponse, ProfileId, ScriptedClock, ScriptedHttp};
    use serde_json::json;

    use super::*;
    use crate::provider::BASE_URL_ENV;

    const GITHUB_TOKEN: &str = "ghu_DeviceIssuedToken0123456789abcdefXYZ";

    fn device_answer() -> HttpResponse {
        let body = json!({"device_code": "3584d83530557fdd1f46af8289938c8ef79f9dc5",
                          "user_code": "WDJB-MJHT", "verification_uri": "https://github.com/login/device",
                          "expires_in": 900, "interval": 5});
        HttpResponse::new(200, body.to_string())
    }

    fn granted(extra: Value) -> HttpResponse {
        let mut body = json!({"access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": ""});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        HttpResponse::new(200, body.to_string())
    }

    fn context(
        replies: Vec<HttpResponse>,
        profile: Option<&str>,
    ) -> (AuthContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies.into_iter().map(Ok)));
        let mut ctx = AuthContext::scripted([]);
        ctx.options.no_browser = true;
        ctx.options.profile = profile.map(|name| ProfileId::new(PROVIDER_ID, name).unwrap());
        ctx.clock = Arc::new(ScriptedClock::default());
        ctx.host = ctx
            .host
            .clone()
            .with_http_client(http.clone())
            .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
        (ctx, http)
    }

    #[tokio::test]
    async fn the_github_token_is_stored_alone_in_the_target_profile() {
        let pending = HttpResponse::new(
            200,
            r#"{"error":"authorization_pending","error_description":"The authorization request is still pending."}"#,
        );
        let (mut ctx, http) = context(vec![device_answer(), pending, granted(json!({}))], None);
        let result = DeviceMethod.run(&mut ctx).await.unwrap();
        let write = &result.profiles[0];
        assert_eq!(write.profile_id.to_string(), "github-copilot:default");
        let credential = &write.credential;
        assert_eq!(credential.kind(), CredentialKind::OAuth);
        assert_eq!(credential.expose_secret(), GITHUB_TOKEN);
        assert_eq!(credential.refresh_token(), None);
        assert_eq!(credential.expires_at(), None);
        assert!(
            credential.session().is_none(),
            "the sign-in exchanges nothing"
        );
        let provenance = credential.provenance();
        assert_eq!(provenance.get("auth_flow"), Some(&json!("device-code")));
        assert_eq!(provenance.get("method"), Some(&json!("device")));
        assert!(provenance.get("scope").is_none());
        assert!(
            !serde_json::to_string(provenance)
                .unwrap()
                .contains(GITHUB_TOKEN)
        );
        assert_eq!(
            result.default_model.map(|m| m.to_string()).as_deref(),
            Some(DEFAULT_MODEL)
        );
        let urls: Vec<String> = http.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:9/login/device/code",
                "http://127.0.0.1:9/login/oauth/access_token",
                "http://127.0.0.1:9/login/oauth/access_token",
            ]
        );
        let form = String::from_utf8(http.requests()[0].body.clone().unwrap()).unwrap();
        assert_eq!(form, "client_id=Iv1.b507a08c87ecfe98&scope=read%3Auser");
    }

    #[tokio::test]
    async fn profile_scope_and_an_expiry_from_github_are_kept() {
        let (mut ctx, _) = context(
            vec![
                device_answer(),
                granted(json!({"scope": "read:user", "expires_in": 28800})),
            ],
            Some("work"),
        );
        let start = ctx.clock.now();
        let result = DeviceMethod.run(&mut ctx).await.unwrap();
        let write = &result.profiles[0];
        assert_eq!(write.profile_id.to_string(), "github-copilot:work");
        assert_eq!(
            write.credential.provenance().get("scope"),
            Some(&json!("read:user"))
        );
        // The scripted clock moved by the one 5 s wait before the poll.
        assert_eq!(
            write.credential.expires_at(),
            start.checked_add(Duration::from_secs(5 + 28800))
        );
        assert!(write.credential.expires_at() > Some(SystemTime::UNIX_EPOCH));
    }

    #[tokio::test]
    async fn a_denied_sign_in_is_a_service_error_and_stores_nothing() {
        let denied = HttpResponse::new(
            200,
            r#"{"error":"access_denied","error_description":"The authorization request was denied."}"#,
        );
        let (mut ctx, _) = context(vec![device_answer(), denied], None);
        let err = DeviceMethod.run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::Service(_)), "{err:?}");
        assert_eq!(err.to_string(), "the GitHub sign-in was denied");
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_refused_before_anything_is_sent() {
        let (mut ctx, http) = context(vec![device_answer()], None);
        ctx.host
            .env
            .insert(BASE_URL_ENV.to_owned(), "http://gh.example.test".to_owned());
        let err = DeviceMethod.run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidInput(_)), "{err:?}");
        assert!(http.requests().is_empty());
    }
}
