//! One use of a credential by a provider's capability (a model call, a model list), with the
//! refreshes that use needs: the provider's refresher decides whether a stored credential is
//! due before it is sent (an access token about to expire, a missing or expiring session
//! token), and the credential is refreshed once more, and the request resent once, when the
//! service says it has expired. Every refresh goes through [`refresh_profile`], so many
//! processes refresh one stored token once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{
    Clock, Credential, HostServices, ModelContext, ModelError, ModelErrorKind, ProfileId, Provider,
    RefreshError, Refresher,
};
use plugboard_store::CredentialStore;

use crate::credentials::{Source, login_command};
use crate::refresh::{RefreshFailure, refresh_profile};

/// The stored profile a credential came from, which is the one a refresh replaces; `None` for
/// a credential from the environment, which plugboard does not manage.
pub(crate) fn stored_profile(source: &Source) -> Option<ProfileId> {
    match source {
        Source::ProfileFlag { profile_id } | Source::DefaultProfile { profile_id } => {
            Some(profile_id.clone())
        }
        Source::Env { .. } => None,
    }
}

/// A use of one provider's credential, with what it needs to refresh it on the way.
pub(crate) struct Call<'a> {
    /// The store the credential was read from, if there is one.
    store: Option<CredentialStore>,
    provider: &'a dyn Provider,
    host: HostServices,
    clock: Arc<dyn Clock>,
    /// The profile the credential came from, if it is stored.
    stored: Option<ProfileId>,
    /// The longest one request with the credential may take, beyond the client's own timeout
    /// (a request may be several: pages of a list). A refresh is never cut by it: it has its
    /// own bound, and cutting it after the service answered would lose the rotated token.
    bound: Option<Duration>,
}

/// Why a call with refresh failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The provider's capability failed.
    Model(ModelError),
    /// A refresh the call needed failed (a [`RefreshFailure`], or the store's error).
    Refresh(anyhow::Error),
    /// No answer within the call's bound.
    TimedOut(Duration),
}

impl<'a> Call<'a> {
    /// A call to `provider` with the credential `source` names, refreshing through `store` and
    /// with the services `host` (the same HTTP client for the refresh and the request).
    pub(crate) fn new(
        store: Option<CredentialStore>,
        provider: &'a dyn Provider,
        host: HostServices,
        clock: Arc<dyn Clock>,
        source: &Source,
    ) -> Self {
        Self {
            store,
            provider,
            host,
            clock,
            stored: stored_profile(source),
            bound: None,
        }
    }

    /// The same call, each request bounded by `bound`.
    pub(crate) fn bounded(mut self, bound: Duration) -> Self {
        self.bound = Some(bound);
        self
    }

    /// Runs `op` with `credential`: refreshed first when the provider's refresher says it is
    /// due, and refreshed once more, and `op` run again, when the service says it has expired.
    /// A credential that cannot be refreshed is sent as it is; the service decides.
    pub(crate) async fn run<T, F, Fut>(
        &mut self,
        mut credential: Credential,
        op: F,
    ) -> Result<T, CallError>
    where
        F: Fn(ModelContext) -> Fut,
        Fut: Future<Output = Result<T, ModelError>>,
    {
        let mut refreshed = false;
        if self.due(&credential) {
            credential = self.refresh(&credential).await?;
            refreshed = true;
        }
        match self.send(&op, credential.clone()).await {
            Err(CallError::Model(ModelError::CredentialExpired { .. }))
                if !refreshed && self.can_refresh(&credential) =>
            {
                let credential = self.refresh(&credential).await?;
                self.send(&op, credential).await
            }
            other => other,
        }
    }

    async fn send<T, F, Fut>(&self, op: &F, credential: Credential) -> Result<T, CallError>
    where
        F: Fn(ModelContext) -> Fut,
        Fut: Future<Output = Result<T, ModelError>>,
    {
        let request = op(ModelContext::new(credential, self.host.clone()));
        let answer = match self.bound {
            Some(bound) => tokio::time::timeout(bound, request)
                .await
                .map_err(|_| CallError::TimedOut(bound))?,
            None => request.await,
        };
        answer.map_err(CallError::Model)
    }

    /// The refresher that may renew this call's credential: only a stored one is refreshed
    /// (plugboard does not manage the environment's).
    fn refresher(&self) -> Option<&'a dyn Refresher> {
        self.stored.as_ref()?;
        self.provider.refresher()
    }

    fn can_refresh(&self, credential: &Credential) -> bool {
        self.refresher().is_some_and(|r| r.can_refresh(credential))
    }

    fn due(&self, credential: &Credential) -> bool {
        self.refresher()
            .is_some_and(|r| r.can_refresh(credential) && r.due(credential, self.clock.now()))
    }

    async fn refresh(&mut self, credential: &Credential) -> Result<Credential, CallError> {
        let (Some(profile), Some(store)) = (&self.stored, self.store.as_mut()) else {
            return Ok(credential.clone());
        };
        refresh_profile(
            store,
            self.provider,
            profile,
            credential,
            self.host.clone(),
            self.clock.clone(),
        )
        .await
        .map_err(CallError::Refresh)
    }
}

/// The kind of failure a failed refresh is, as a model call would report it.
pub(crate) fn refresh_failure_kind(failure: &RefreshFailure) -> ModelErrorKind {
    match failure {
        f if f.needs_signin() => ModelErrorKind::CredentialExpired,
        RefreshFailure::Refresh(RefreshError::Network { .. }) | RefreshFailure::TimedOut(_) => {
            ModelErrorKind::Network
        }
        RefreshFailure::Refresh(RefreshError::Config(_)) => ModelErrorKind::Config,
        RefreshFailure::Refresh(RefreshError::BadResponse(_))
        | RefreshFailure::WrongProfile { .. } => ModelErrorKind::BadResponse,
        _ => ModelErrorKind::Service,
    }
}

/// What to do about a failed refresh: sign in again, when only that helps and the credential
/// is a stored profile.
pub(crate) fn refresh_advice(failure: &RefreshFailure, source: &Source) -> Option<String> {
    match (failure.needs_signin(), stored_profile(source)) {
        (true, Some(profile)) => Some(format!(
            "sign in again with `{}` (the profile is kept until then)",
            login_command(&profile)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{SystemTime, UNIX_EPOCH};

    use plugboard_core::{
        AuthMethod, FixedClock, OAuthTokens, ProfileWrite, Provenance, RefreshContext, SessionToken,
    };

    use super::*;

    /// A provider deriving session tokens, like GitHub Copilot: its credential has no refresh
    /// token, and it is due when the session is missing or about to expire.
    struct SessionProvider {
        refresher: SessionRefresher,
    }

    impl SessionProvider {
        fn new() -> Self {
            Self {
                refresher: SessionRefresher {
                    renewed: Mutex::new(0),
                },
            }
        }

        fn renewals(&self) -> u32 {
            *self.refresher.renewed.lock().unwrap()
        }
    }

    struct SessionRefresher {
        renewed: Mutex<u32>,
    }

    fn session_at(token: &str, expires_at: SystemTime) -> Credential {
        let mut tokens = OAuthTokens::new("ghu_stored".into());
        tokens.session = Some(SessionToken {
            token: token.to_owned().into(),
            expires_at,
            endpoint: None,
        });
        Credential::oauth(tokens, Provenance::new())
    }

    #[plugboard_core::async_trait]
    impl Refresher for SessionRefresher {
        fn can_refresh(&self, credential: &Credential) -> bool {
            credential.oauth_tokens().is_some()
        }
        fn due(&self, credential: &Credential, now: SystemTime) -> bool {
            credential
                .session()
                .is_none_or(|s| s.expires_at <= now + plugboard_core::REFRESH_MARGIN)
        }
        async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
            *self.renewed.lock().unwrap() += 1;
            Ok(ProfileWrite {
                profile_id: ctx.profile_id.clone(),
                credential: session_at("session-new", UNIX_EPOCH + Duration::from_secs(10_000)),
            })
        }
    }

    impl Provider for SessionProvider {
        fn id(&self) -> &str {
            "copilot-like"
        }
        fn label(&self) -> &str {
            "Copilot-like"
        }
        fn docs_path(&self) -> &str {
            "/providers/copilot-like"
        }
        fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
            &[]
        }
        fn refresher(&self) -> Option<&dyn Refresher> {
            Some(&self.refresher)
        }
    }

    fn store_with(
        profile: &ProfileId,
        credential: &Credential,
    ) -> (tempfile::TempDir, CredentialStore) {
        let tmp = tempfile::TempDir::new().unwrap();
        let mut store = CredentialStore::open(&tmp.path().join("home/credentials.sqlite")).unwrap();
        store
            .write_profiles([(profile, credential)], UNIX_EPOCH)
            .unwrap();
        (tmp, store)
    }

    /// The session token each request was sent with.
    async fn call_with(
        provider: &SessionProvider,
        credential: Credential,
        now: SystemTime,
        answers: Vec<Result<(), ModelError>>,
    ) -> (Result<(), CallError>, Vec<Option<String>>) {
        let profile: ProfileId = "copilot-like:default".parse().unwrap();
        let (_tmp, store) = store_with(&profile, &credential);
        let source = Source::DefaultProfile {
            profile_id: profile,
        };
        let mut call = Call::new(
            Some(store),
            provider,
            HostServices::default(),
            Arc::new(FixedClock(now)),
            &source,
        );
        let sent = Mutex::new(Vec::new());
        let answers = Mutex::new(answers.into_iter());
        let result = call
            .run(credential, |ctx| {
                sent.lock()
                    .unwrap()
                    .push(ctx.credential.session_token().map(str::to_owned));
                let answer = answers.lock().unwrap().next().unwrap_or(Ok(()));
                async move { answer }
            })
            .await;
        (result, sent.into_inner().unwrap())
    }

    fn expired() -> ModelError {
        ModelError::CredentialExpired {
            service: "Copilot-like".into(),
            detail: "HTTP 401".into(),
        }
    }

    #[tokio::test]
    async fn the_refresher_decides_a_credential_without_refresh_token_is_due() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let provider = SessionProvider::new();
        let fresh = session_at("session-old", now + Duration::from_secs(3_600));
        assert!(!fresh.refreshable(), "no refresh token, as Copilot's");
        // (stored session, what the service answers, sessions sent, renewals)
        type Case = (
            Credential,
            Vec<Result<(), ModelError>>,
            Vec<&'static str>,
            u32,
        );
        let cases: Vec<Case> = vec![
            (fresh.clone(), vec![Ok(())], vec!["session-old"], 0),
            (
                session_at("session-old", now + Duration::from_secs(30)),
                vec![Ok(())],
                vec!["session-new"],
                1,
            ),
            (
                fresh.clone(),
                vec![Err(expired()), Ok(())],
                vec!["session-old", "session-new"],
                1,
            ),
        ];
        for (credential, answers, want_sent, want_renewals) in cases {
            let before = provider.renewals();
            let (result, sent) = call_with(&provider, credential, now, answers).await;
            assert!(result.is_ok(), "{result:?}");
            let sent: Vec<_> = sent.into_iter().map(Option::unwrap).collect();
            assert_eq!(sent, want_sent);
            assert_eq!(provider.renewals() - before, want_renewals);
        }
    }

    #[tokio::test]
    async fn a_credential_refreshed_before_use_is_not_refreshed_again_when_the_service_calls_it_expired()
     {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let provider = SessionProvider::new();
        let due = session_at("session-old", now);
        let (result, sent) = call_with(&provider, due, now, vec![Err(expired())]).await;
        assert!(
            matches!(
                result,
                Err(CallError::Model(ModelError::CredentialExpired { .. }))
            ),
            "{result:?}"
        );
        assert_eq!(sent.len(), 1);
        assert_eq!(provider.renewals(), 1);
    }

    #[tokio::test]
    async fn a_credential_from_the_environment_is_never_refreshed() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let provider = SessionProvider::new();
        let source = Source::Env {
            env_var: "X".into(),
        };
        let mut call = Call::new(
            None,
            &provider,
            HostServices::default(),
            Arc::new(FixedClock(now)),
            &source,
        );
        let due = session_at("session-old", now);
        let result = call.run(due, |_| async { Err::<(), _>(expired()) }).await;
        assert!(matches!(result, Err(CallError::Model(_))), "{result:?}");
        assert_eq!(provider.renewals(), 0);
    }

    #[tokio::test]
    async fn a_request_that_outlasts_its_bound_ends_as_timed_out() {
        let provider = SessionProvider::new();
        let source = Source::Env {
            env_var: "X".into(),
        };
        let bound = Duration::from_millis(20);
        let mut call = Call::new(
            None,
            &provider,
            HostServices::default(),
            Arc::new(FixedClock(UNIX_EPOCH)),
            &source,
        )
        .bounded(bound);
        let result = call
            .run(Credential::none(Provenance::new()), |_| {
                std::future::pending::<Result<(), ModelError>>()
            })
            .await;
        assert!(
            matches!(result, Err(CallError::TimedOut(b)) if b == bound),
            "{result:?}"
        );
    }
}
