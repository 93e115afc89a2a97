//! Renewing the Copilot session: the stored GitHub token stays as it is, and a new Copilot
//! token from the exchange ([`crate::session`]) replaces the cached one. The host decides when
//! (no session, or one that expires within [`REFRESH_MARGIN`]) and does it under its
//! once-across-processes lock; this only asks GitHub and returns the profile to write.

use std::time::SystemTime;

use plugboard_core::{
    Credential, CredentialKind, ProfileWrite, REFRESH_MARGIN, RefreshContext, RefreshError,
    Refresher, async_trait,
};

use crate::copilot_api::secrets;
use crate::endpoints::Endpoints;
use crate::service_text::SERVICE;
use crate::session::{ExchangeError, exchange};

/// Renews the Copilot token cached beside a stored GitHub token.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionRefresher;

#[async_trait]
impl Refresher for SessionRefresher {
    /// Any stored GitHub sign-in (an oauth credential): the GitHub token itself is what a new
    /// Copilot token is asked for with, no refresh token needed.
    fn can_refresh(&self, credential: &Credential) -> bool {
        credential.kind() == CredentialKind::OAuth && credential.has_secret()
    }

    /// No Copilot token yet, or one that expires within [`REFRESH_MARGIN`].
    fn due(&self, credential: &Credential, now: SystemTime) -> bool {
        if !self.can_refresh(credential) {
            return false;
        }
        match credential.session() {
            None => true,
            Some(session) => session.expires_at <= now.checked_add(REFRESH_MARGIN).unwrap_or(now),
        }
    }

    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
        let stored = ctx
            .credential
            .oauth_tokens()
            .ok_or(RefreshError::NotRefreshable)?;
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| RefreshError::Config(e.to_string()))?;
        let github_token = ctx.credential.expose_secret();
        let session = exchange(
            &ctx.host,
            endpoints.copilot_token_url(),
            github_token,
            &secrets(&ctx.credential),
        )
        .await
        .map_err(refused)?;
        // A token that is dead on arrival would be renewed again at once, forever: a clock far
        // off from GitHub's is the usual cause.
        if session.expires_at <= ctx.clock.now() {
            return Err(RefreshError::BadResponse(format!(
                "GitHub's Copilot token expired at {}, before it arrived: check this machine's clock",
                humantime::format_rfc3339_seconds(session.expires_at)
            )));
        }
        let mut tokens = stored.clone();
        tokens.session = Some(session);
        Ok(ProfileWrite {
            profile_id: ctx.profile_id.clone(),
            credential: Credential::oauth(tokens, ctx.credential.provenance().clone()),
        })
    }
}

/// A failed exchange as a refresh error: a GitHub token GitHub no longer takes needs a new
/// sign-in; everything else may pass.
fn refused(error: ExchangeError) -> RefreshError {
    match error {
        ExchangeError::Network(source) => RefreshError::Network {
            service: SERVICE.to_owned(),
            source,
        },
        revoked @ ExchangeError::Revoked { .. } => RefreshError::SignInRequired {
            service: SERVICE.to_owned(),
            detail: revoked.to_string(),
        },
        malformed @ ExchangeError::Malformed(_) => RefreshError::BadResponse(malformed.to_string()),
        other @ (ExchangeError::NoCopilot { .. } | ExchangeError::Refused { .. }) => {
            RefreshError::Service(other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use plugboard_core::{
        ErrorChain, FixedClock, HostServices, HttpError, HttpResponse, OAuthTokens, ProfileId,
        Provenance, ScriptedHttp, SessionToken, shows_secret,
    };
    use serde_json::json;

    use super::*;
    use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

    const GITHUB: &str = "ghu_StoredGitHubToken0123456789abcdefXY";
    const NOW: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn stored(session: Option<u64>) -> Credential {
        let mut tokens = OAuthTokens::new(GITHUB.to_owned().into());
        tokens.session = session.map(|expires| SessionToken {
            token: "tid=old".to_owned().into(),
            expires_at: at(expires),
            endpoint: Some("https://api.githubcopilot.com".to_owned()),
        });
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "device-code".into());
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

    fn token_reply(token: &str, expires_at: u64) -> Result<HttpResponse, HttpError> {
        let body = json!({"token": token, "expires_at": expires_at, "refresh_in": 1500,
                          "endpoints": {"api": "https://api.individual.githubcopilot.com"}});
        Ok(HttpResponse::new(200, body.to_string()))
    }

    #[test]
    fn a_session_is_due_when_missing_or_within_the_margin_of_its_expiry() {
        let r = SessionRefresher;
        let now = at(NOW);
        assert!(r.due(&stored(None), now));
        assert!(r.due(&stored(Some(NOW - 1)), now));
        assert!(r.due(&stored(Some(NOW + 60)), now));
        assert!(!r.due(&stored(Some(NOW + 61)), now));
        assert!(!r.due(&stored(Some(NOW + 1800)), now));
        let key = Credential::new(
            CredentialKind::ApiKey,
            "k".to_owned().into(),
            Provenance::new(),
        );
        assert!(!r.can_refresh(&key));
        assert!(!r.due(&key, now));
        // No refresh token is needed: the GitHub token itself is what renews the session.
        assert!(r.can_refresh(&stored(None)));
    }

    #[tokio::test]
    async fn a_renewal_keeps_the_github_token_and_caches_the_new_session_in_the_given_profile() {
        let (ctx, http) = context(
            stored(Some(NOW + 30)),
            vec![token_reply("tid=new", NOW + 1800)],
        );
        let write = SessionRefresher.refresh(&ctx).await.unwrap();
        assert_eq!(write.profile_id.to_string(), "github-copilot:work");
        let credential = &write.credential;
        assert_eq!(credential.kind(), CredentialKind::OAuth);
        assert_eq!(credential.expose_secret(), GITHUB);
        assert_eq!(credential.refresh_token(), None);
        assert_eq!(credential.expires_at(), None);
        assert_eq!(credential.session_token(), Some("tid=new"));
        let session = credential.session().unwrap();
        assert_eq!(session.expires_at, at(NOW + 1800));
        assert_eq!(
            session.endpoint.as_deref(),
            Some("https://api.individual.githubcopilot.com/")
        );
        assert_eq!(
            credential.provenance().get("auth_flow"),
            Some(&json!("device-code"))
        );
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:9/copilot_internal/v2/token");
        assert!(
            sent.headers
                .contains(&("authorization".to_owned(), format!("Bearer {GITHUB}")))
        );
    }

    #[tokio::test]
    async fn refusals_end_as_the_host_must_treat_them() {
        #[derive(Debug, PartialEq)]
        enum Kind {
            SignIn,
            Service,
            Network,
            Bad,
        }
        let cases: Vec<(Result<HttpResponse, HttpError>, Kind, &str)> = vec![
            (
                Ok(HttpResponse::new(
                    401,
                    r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
                )),
                Kind::SignIn,
                "GitHub Copilot refused to refresh the sign-in: GitHub no longer accepts the stored GitHub token (HTTP 401: it was revoked, expired, or the app's authorization was withdrawn) (GitHub said: Bad credentials)",
            ),
            (
                Ok(HttpResponse::new(
                    403,
                    r#"{"message":"Resource not accessible by integration"}"#,
                )),
                Kind::Service,
                "GitHub answered HTTP 403 to the Copilot token request: this GitHub account has no Copilot access (no Copilot plan, or an organization policy blocks it); check https://github.com/settings/copilot (GitHub said: Resource not accessible by integration)",
            ),
            (
                Ok(HttpResponse::new(500, "")),
                Kind::Service,
                "GitHub answered the Copilot token request with HTTP 500: GitHub failed: try again in a minute",
            ),
            (
                Ok(HttpResponse::new(200, r#"{"expires_at": 1}"#)),
                Kind::Bad,
                "GitHub's answer to the Copilot token request has no token: try again, and report it if it persists",
            ),
            (
                token_reply("tid=stale", NOW - 5),
                Kind::Bad,
                "GitHub's Copilot token expired at 2023-11-14T22:13:15Z, before it arrived: check this machine's clock",
            ),
            (
                Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 15,
                }),
                Kind::Network,
                "GitHub Copilot could not be reached: no answer from 127.0.0.1 within 15 s",
            ),
        ];
        for (answer, kind, line) in cases {
            let (ctx, _) = context(stored(None), vec![answer]);
            let err = SessionRefresher.refresh(&ctx).await.unwrap_err();
            let got = match &err {
                RefreshError::SignInRequired { .. } => Kind::SignIn,
                RefreshError::Service(_) => Kind::Service,
                RefreshError::Network { .. } => Kind::Network,
                RefreshError::BadResponse(_) => Kind::Bad,
                other => panic!("{other:?}"),
            };
            let shown = ErrorChain(&err).to_string();
            assert_eq!((got, shown.as_str()), (kind, line));
            assert!(!shows_secret(&shown, GITHUB));
        }
    }

    #[tokio::test]
    async fn a_credential_that_is_not_a_sign_in_is_not_refreshable_and_nothing_is_sent() {
        let key = Credential::new(
            CredentialKind::ApiKey,
            "k".to_owned().into(),
            Provenance::new(),
        );
        let (ctx, http) = context(key, vec![]);
        let err = SessionRefresher.refresh(&ctx).await.unwrap_err();
        assert!(matches!(err, RefreshError::NotRefreshable), "{err:?}");
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(stored(None), vec![]);
        ctx.host
            .env
            .insert(BASE_URL_ENV.to_owned(), "http://gh.example.test".to_owned());
        let err = SessionRefresher.refresh(&ctx).await.unwrap_err();
        assert!(matches!(err, RefreshError::Config(_)), "{err:?}");
        assert!(http.requests().is_empty());
    }
}
