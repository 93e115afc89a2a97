//! Refreshing a ChatGPT sign-in: `POST /oauth/token` with `client_id`, `grant_type=refresh_token`
//! and the refresh token, as a JSON body (`Content-Type: application/json`), which is how
//! codex-rs's `request_chatgpt_token_refresh` sends it, unlike the form-encoded code exchange.
//! OpenAI rotates refresh tokens: a new one in the answer replaces the stored one, which is
//! then spent. Refusals are classified as codex-rs does: a 401, a 400 `invalid_grant`, or the
//! codes `refresh_token_expired` / `refresh_token_reused` / `refresh_token_invalidated` mean
//! the sign-in is over.

use plugboard_core::{
    HttpResponse, OAuthTokens, ProfileWrite, RefreshContext, RefreshError, Refresher, async_trait,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::endpoints::{CLIENT_ID, Endpoints};
use crate::service_text::{SERVICE, oauth_error_code, oauth_said, with_said};
use crate::tokens::{TokenReply, account_of, expires_at, post, present};

/// Refreshes OpenAI Codex credentials with their refresh token.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRefresher;

#[async_trait]
impl Refresher for TokenRefresher {
    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
        let stored = ctx
            .credential
            .oauth_tokens()
            .ok_or(RefreshError::NotRefreshable)?;
        let refresh_token = ctx
            .credential
            .refresh_token()
            .ok_or(RefreshError::NotRefreshable)?;
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| RefreshError::Config(e.to_string()))?;
        let body = serde_json::json!({
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        });
        let request = post(
            endpoints.token_url(),
            "application/json",
            body.to_string().into_bytes(),
        );
        // Sent once, never retried: a rotating refresh token that reached OpenAI is spent, and
        // sending it again would be refused as reused and end the sign-in.
        let response =
            ctx.host
                .http_client
                .send(request)
                .await
                .map_err(|source| RefreshError::Network {
                    service: SERVICE.to_owned(),
                    source,
                })?;
        if !response.is_success() {
            return Err(refusal(&response, refresh_token));
        }

        let reply: TokenReply = serde_json::from_slice(&response.body)
            .map_err(|_| malformed("is not the JSON it should be"))?;
        let access_token =
            present(reply.access_token).ok_or_else(|| malformed("has no access token"))?;
        let now = ctx.clock.now();
        let account = account_of(reply.id_token.as_deref(), access_token.expose_secret());
        let mut tokens = OAuthTokens::new(access_token);
        tokens.expires_at = expires_at(tokens.access_token.expose_secret(), reply.expires_in, now);
        // OpenAI rotates refresh tokens; an answer without one leaves the old one in force.
        tokens.refresh_token = Some(
            present(reply.refresh_token)
                .unwrap_or_else(|| SecretString::from(refresh_token.to_owned())),
        );
        // A new id token (or access token) names the account; otherwise it is unchanged.
        tokens.account_id = account.account_id.or_else(|| stored.account_id.clone());

        let mut provenance = ctx.credential.provenance().clone();
        provenance.insert(
            "refreshed_at".into(),
            Value::String(humantime::format_rfc3339_seconds(now).to_string()),
        );
        if let Some(email) = account.email {
            provenance.insert("email".into(), Value::String(email));
        }
        if let Some(plan) = account.plan {
            provenance.insert("plan".into(), Value::String(plan));
        }
        Ok(ProfileWrite {
            profile_id: ctx.profile_id.clone(),
            credential: plugboard_core::Credential::oauth(tokens, provenance),
        })
    }
}

fn malformed(what: &str) -> RefreshError {
    RefreshError::BadResponse(format!(
        "OpenAI's answer to the token refresh {what}: try again, and report it if it persists"
    ))
}

/// A refused refresh as one line of the right kind: the sign-in is over (sign in again), or
/// OpenAI failed for now (try again later).
fn refusal(response: &HttpResponse, refresh_token: &str) -> RefreshError {
    let status = response.status;
    let code = oauth_error_code(&response.body).map(|c| c.to_ascii_lowercase());
    let said = oauth_said(&response.body, refresh_token);
    let over = match code.as_deref() {
        Some("refresh_token_expired") => Some("the refresh token has expired"),
        Some("refresh_token_reused") => {
            Some("the refresh token was already used (by another copy of this sign-in?)")
        }
        Some("refresh_token_invalidated") => Some("the refresh token was revoked"),
        Some("invalid_grant") if (400..500).contains(&status) => {
            Some("the refresh token is no longer valid")
        }
        _ if status == 401 => Some("the refresh token was not accepted"),
        _ => None,
    };
    if let Some(meaning) = over {
        return RefreshError::SignInRequired {
            service: SERVICE.to_owned(),
            detail: with_said(meaning, said),
        };
    }
    let meaning = match status {
        429 => "too many requests: try again in a minute",
        500..=599 => "OpenAI's sign-in service failed: try again in a minute",
        _ => "unexpected answer: try again, and report it if it persists",
    };
    RefreshError::Service(with_said(
        &format!("OpenAI answered the token refresh with HTTP {status}: {meaning}"),
        said,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, ErrorChain, FixedClock, HostServices, HttpError, ProfileId, Provenance,
        ScriptedHttp,
    };
    use serde_json::json;

    use super::*;
    use crate::jwt::unsigned;
    use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

    const AUTH: &str = "https://api.openai.com/auth";

    fn stored() -> Credential {
        let mut tokens = OAuthTokens::new(unsigned(&json!({"exp": 1_700_000_030})).into());
        tokens.refresh_token = Some("rt-stored-1".to_owned().into());
        tokens.account_id = Some("acc-1".to_owned());
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "oauth-pkce".into());
        Credential::oauth(tokens, provenance)
    }

    fn context(
        credential: Credential,
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> (RefreshContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
        let ctx = RefreshContext::new(
            ProfileId::new(PROVIDER_ID, "work").unwrap(),
            credential,
            host,
            Arc::new(FixedClock::default()),
        );
        (ctx, http)
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    #[tokio::test]
    async fn the_refresh_posts_the_json_codex_rs_sends() {
        let access = unsigned(&json!({"exp": 1_700_003_600}));
        let (ctx, http) = context(
            stored(),
            vec![reply(200, &json!({"access_token": access}).to_string())],
        );
        TokenRefresher.refresh(&ctx).await.unwrap();
        let requests = http.requests();
        assert_eq!(requests.len(), 1);
        let sent = &requests[0];
        assert_eq!(sent.url, "http://127.0.0.1:9/oauth/token");
        assert_eq!(
            sent.headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
                "grant_type": "refresh_token",
                "refresh_token": "rt-stored-1",
            })
        );
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_replaces_the_old_one_and_the_rest_follows_the_new_tokens() {
        let access = unsigned(&json!({"exp": 1_700_003_600}));
        let id = unsigned(&json!({"email": "new@x.test", AUTH: {"chatgpt_account_id": "acc-2"}}));
        let body = json!({"access_token": access, "refresh_token": "rt-rotated-2", "id_token": id});
        let (ctx, _) = context(stored(), vec![reply(200, &body.to_string())]);
        let write = TokenRefresher.refresh(&ctx).await.unwrap();
        assert_eq!(write.profile_id.to_string(), "openai-codex:work");
        let credential = &write.credential;
        assert_eq!(credential.expose_secret(), access);
        assert_eq!(credential.refresh_token(), Some("rt-rotated-2"));
        assert_eq!(credential.account_id(), Some("acc-2"));
        assert_eq!(
            credential.expires_at(),
            Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_003_600))
        );
        let provenance = credential.provenance();
        assert_eq!(provenance.get("auth_flow"), Some(&json!("oauth-pkce")));
        assert_eq!(
            provenance.get("refreshed_at"),
            Some(&json!("2023-11-14T22:13:20Z"))
        );
        assert_eq!(provenance.get("email"), Some(&json!("new@x.test")));
    }

    #[tokio::test]
    async fn an_answer_without_a_refresh_token_keeps_the_old_one_and_the_account() {
        let access = unsigned(&json!({}));
        let body = json!({"access_token": access, "expires_in": 600});
        let (ctx, _) = context(stored(), vec![reply(200, &body.to_string())]);
        let credential = TokenRefresher.refresh(&ctx).await.unwrap().credential;
        assert_eq!(credential.refresh_token(), Some("rt-stored-1"));
        assert_eq!(credential.account_id(), Some("acc-1"));
        assert_eq!(
            credential.expires_at(),
            Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_600))
        );
    }

    #[tokio::test]
    async fn refusals_and_failures_are_told_apart_as_codex_rs_does() {
        #[derive(Debug, PartialEq)]
        enum Kind {
            SignIn,
            Service,
            Network,
            Bad,
        }
        let cases: Vec<(Result<HttpResponse, HttpError>, Kind, &str)> = vec![
            (
                reply(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Refresh token rt-stored-1 is invalid"}"#,
                ),
                Kind::SignIn,
                "OpenAI Codex refused to refresh the sign-in: the refresh token is no longer valid (OpenAI said: Refresh token [redacted] is invalid)",
            ),
            (
                reply(
                    401,
                    r#"{"error":{"code":"refresh_token_reused","message":"Your refresh token has already been used"}}"#,
                ),
                Kind::SignIn,
                "OpenAI Codex refused to refresh the sign-in: the refresh token was already used (by another copy of this sign-in?) (OpenAI said: Your refresh token has already been used)",
            ),
            (
                reply(400, r#"{"error":{"code":"refresh_token_expired"}}"#),
                Kind::SignIn,
                "OpenAI Codex refused to refresh the sign-in: the refresh token has expired (OpenAI said: refresh_token_expired)",
            ),
            (
                reply(403, r#"{"code":"refresh_token_invalidated"}"#),
                Kind::SignIn,
                "OpenAI Codex refused to refresh the sign-in: the refresh token was revoked (OpenAI said: refresh_token_invalidated)",
            ),
            (
                reply(401, "<html>"),
                Kind::SignIn,
                "OpenAI Codex refused to refresh the sign-in: the refresh token was not accepted",
            ),
            (
                reply(429, ""),
                Kind::Service,
                "OpenAI answered the token refresh with HTTP 429: too many requests: try again in a minute",
            ),
            (
                reply(503, r#"{"error":{"message":"upstream down"}}"#),
                Kind::Service,
                "OpenAI answered the token refresh with HTTP 503: OpenAI's sign-in service failed: try again in a minute (OpenAI said: upstream down)",
            ),
            (
                reply(200, "<html>"),
                Kind::Bad,
                "OpenAI's answer to the token refresh is not the JSON it should be: try again, and report it if it persists",
            ),
            (
                reply(200, r#"{"refresh_token":"rt-x"}"#),
                Kind::Bad,
                "OpenAI's answer to the token refresh has no access token: try again, and report it if it persists",
            ),
            (
                Err(HttpError::Connect {
                    host: "127.0.0.1".into(),
                    reason: "connection refused".into(),
                }),
                Kind::Network,
                "OpenAI Codex could not be reached: cannot connect to 127.0.0.1: connection refused",
            ),
        ];
        for (answer, kind, line) in cases {
            let (ctx, http) = context(stored(), vec![answer]);
            let err = TokenRefresher.refresh(&ctx).await.unwrap_err();
            let got = match &err {
                RefreshError::SignInRequired { .. } => Kind::SignIn,
                RefreshError::Service(_) => Kind::Service,
                RefreshError::Network { .. } => Kind::Network,
                RefreshError::BadResponse(_) => Kind::Bad,
                other => panic!("{other:?}"),
            };
            assert_eq!((got, ErrorChain(&err).to_string().as_str()), (kind, line));
            // Never retried: a rotating refresh token must not be sent twice.
            assert_eq!(http.requests().len(), 1, "{line}");
        }
    }

    #[tokio::test]
    async fn a_credential_without_a_refresh_token_is_not_refreshable_and_nothing_is_sent() {
        let plain = Credential::oauth(OAuthTokens::new("at".to_owned().into()), Provenance::new());
        let (ctx, http) = context(plain, vec![]);
        let err = TokenRefresher.refresh(&ctx).await.unwrap_err();
        assert!(matches!(err, RefreshError::NotRefreshable), "{err:?}");
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(stored(), vec![]);
        ctx.host.env.insert(
            BASE_URL_ENV.to_owned(),
            "http://auth.example.test".to_owned(),
        );
        let err = TokenRefresher.refresh(&ctx).await.unwrap_err();
        assert!(matches!(err, RefreshError::Config(_)), "{err:?}");
        assert!(http.requests().is_empty());
    }
}
