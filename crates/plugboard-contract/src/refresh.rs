//! Rules that run the extension's refresh fixtures: a provider with a refresher shows it
//! keeping, rotating and losing a refresh token (or, for one deriving session tokens, renewing
//! a session and losing the stored token); each refresh ends the way its fixture says, without
//! an error that shows a token; and a refresh returns the profile it was given.
//!
//! A refresher is third-party code, so every refresh is [`guarded`]. It gets the same kind of
//! context the host builds: the profile being refreshed, the stored credential, the host's
//! services (their HTTP client answering from the fixture's script) and a clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plugboard_core::{
    Clock, Credential, CredentialKind, ErrorChain, HostServices, OAuthTokens, ProfileId,
    ProfileWrite, Provenance, RefreshContext, RefreshError, RefreshExpectation, RefreshFixture,
    Refresher, ScriptedHttp, async_trait,
};

use crate::guard::guarded;
use crate::report::Report;
use crate::rules::{REFRESH_FIXTURE_OUTCOME, REFRESH_FIXTURES_PRESENT, REFRESH_PROFILE_OWNERSHIP};
use crate::subject::Subject;
use crate::tokens::shown_in_error;

/// The profile name every harness refresh is for: not `default`, so a refresher that writes
/// the default profile instead of the one it was given is caught.
const PROFILE_NAME: &str = "contract-refresh";

/// The time of every harness refresh: 2023-11-14T22:13:20Z, the instant the core's scripted
/// clock (`FixedClock`) shows sign-in fixtures, so both kinds of fixture see one time.
const NOW_SECS: u64 = 1_700_000_000;

/// The harness's clock, stopped at [`NOW_SECS`]: what a refresher is given, and when the
/// harness asks whether a credential is due.
pub(crate) struct HarnessClock;

#[async_trait]
impl Clock for HarnessClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    /// A refresh has nothing to wait for; time stays stopped. The wait still hands the thread
    /// back to the runtime, or a refresher retrying for ever on this clock would never let the
    /// time limit ([`guarded`]) fire.
    async fn sleep(&self, _duration: Duration) {
        tokio::task::yield_now().await;
    }
}

/// `refresh-fixtures-present`, then `refresh-fixture-outcome` and `refresh-profile-ownership`
/// for each well-formed fixture of a provider with a refresher.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let name = subject.provider_name();
    let Some(refresher) = subject.provider.refresher() else {
        if let Some(first) = subject.refresh_fixtures.first() {
            report.fail(
                REFRESH_FIXTURES_PRESENT,
                &name,
                format!(
                    "provider has no refresher but registers refresh fixtures (the first is {:?}): implement Provider::refresher or register none",
                    first.name
                ),
            );
        }
        return;
    };

    let runnable: Vec<&RefreshFixture> = subject
        .refresh_fixtures
        .iter()
        .filter(|f| well_formed(f, refresher, &name, report))
        .collect();
    for &(shape, what) in required_shapes(refresher) {
        if !runnable.iter().any(|f| Shape::of(f) == shape) {
            report.fail(
                REFRESH_FIXTURES_PRESENT,
                &name,
                format!("provider has a refresher but no refresh fixture {what}: register one"),
            );
        }
    }

    // With an invalid provider id (reported elsewhere) there is no profile to refresh.
    let Ok(profile) = ProfileId::new(subject.provider.id(), PROFILE_NAME) else {
        return;
    };
    for fixture in runnable {
        run(fixture, refresher, &profile, &name, report).await;
    }
}

/// The fixtures a refresher must have, by shape, with what each shows. A refresher that says it
/// can renew an oauth credential without a refresh token ([`Refresher::can_refresh`]) derives
/// session tokens from the stored one: it shows a renewal and a refusal. Any other trades
/// refresh tokens: it shows one kept, one rotated and one refused. Asked of the refresher
/// itself, not read off the fixtures, so a refresher is told what it lacks whichever fixtures
/// it has.
fn required_shapes(refresher: &dyn Refresher) -> &'static [(Shape, &'static str)] {
    let bare = Credential::oauth(
        OAuthTokens::new(String::from("pbat-contract-probe").into()),
        Provenance::new(),
    );
    if refresher.can_refresh(&bare) {
        &[
            (
                Shape::Renews,
                "in which the service issues a new session token (SessionRenewed)",
            ),
            (
                Shape::Refused,
                "in which the service refuses the stored token (SignInRequired)",
            ),
        ]
    } else {
        &[
            (
                Shape::Keeps,
                "in which the service keeps the refresh token (Refreshed with the stored refresh_token)",
            ),
            (
                Shape::Rotates,
                "in which the service rotates the refresh token (Refreshed with a new refresh_token)",
            ),
            (
                Shape::Refused,
                "in which the service refuses the refresh token (SignInRequired, as for OAuth invalid_grant)",
            ),
        ]
    }
}

/// The ways a refresh can end that a refresher must be shown to handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// New tokens, the service sending no refresh token: the stored one stays.
    Keeps,
    /// New tokens and a new refresh token, which replaces the stored one.
    Rotates,
    /// A new session token derived from the stored secret, which stays.
    Renews,
    /// The refresh token refused for good.
    Refused,
}

impl Shape {
    fn of(fixture: &RefreshFixture) -> Self {
        match &fixture.expect {
            RefreshExpectation::Refreshed { refresh_token, .. }
                if fixture.credential.refresh_token() == Some(refresh_token.as_str()) =>
            {
                Self::Keeps
            }
            RefreshExpectation::Refreshed { .. } => Self::Rotates,
            RefreshExpectation::SessionRenewed { .. } => Self::Renews,
            RefreshExpectation::SignInRequired => Self::Refused,
        }
    }
}

/// Whether `fixture` stores what the host would give `refresher`: an oauth credential the
/// refresher says it can refresh ([`Refresher::can_refresh`]: by default, one with a refresh
/// token; for a refresher deriving session tokens, any oauth credential). Reports it under
/// `refresh-fixtures-present` if not.
fn well_formed(
    fixture: &RefreshFixture,
    refresher: &dyn Refresher,
    name: &str,
    report: &mut Report,
) -> bool {
    let credential = &fixture.credential;
    let fault = match credential.kind() {
        CredentialKind::OAuth if refresher.can_refresh(credential) => return true,
        CredentialKind::OAuth if credential.refresh_token().is_none() => {
            "an oauth credential without a refresh token, which the refresher cannot refresh (Refresher::can_refresh)".to_owned()
        }
        CredentialKind::OAuth => {
            "an oauth credential the refresher cannot refresh (Refresher::can_refresh)".to_owned()
        }
        kind => format!("a credential of kind {kind}"),
    };
    report.fail(
        REFRESH_FIXTURES_PRESENT,
        name,
        format!(
            "refresh fixture {:?} stores {fault}: give it what the provider's sign-in stores (Credential::oauth, with OAuthTokens::refresh_token set unless the refresher derives session tokens)",
            fixture.name
        ),
    );
    false
}

async fn run(
    fixture: &RefreshFixture,
    refresher: &dyn Refresher,
    profile: &ProfileId,
    name: &str,
    report: &mut Report,
) {
    let case = format!("refresh fixture {:?}", fixture.name);
    let host = HostServices::default()
        .with_http_client(Arc::new(ScriptedHttp::new(fixture.replies.clone())));
    let ctx = RefreshContext::new(
        profile.clone(),
        fixture.credential.clone(),
        host,
        Arc::new(HarnessClock),
    );
    let write = match guarded(refresher.refresh(&ctx)).await {
        Err(trouble) => {
            report.fail(
                REFRESH_FIXTURE_OUTCOME,
                name,
                format!("{case}: the refresher {trouble}: it must return, even on bad answers"),
            );
            return;
        }
        Ok(Err(e)) => {
            failed(fixture, &e, &case, name, report);
            return;
        }
        Ok(Ok(write)) => write,
    };
    if write.profile_id != *profile {
        let whose = if write.profile_id.provider() == profile.provider() {
            "another profile"
        } else {
            "another provider's profile"
        };
        report.fail(
            REFRESH_PROFILE_OWNERSHIP,
            name,
            format!(
                "{case}: was given profile {profile} but returned {} ({whose}): return RefreshContext::profile_id",
                write.profile_id
            ),
        );
    }
    if let Some(message) = refreshed_wrongly(fixture, &write, refresher) {
        report.fail(REFRESH_FIXTURE_OUTCOME, name, format!("{case}: {message}"));
    }
}

/// Checks a refresh that failed: its error shows no token, and it is the failure expected.
fn failed(fixture: &RefreshFixture, e: &RefreshError, case: &str, name: &str, report: &mut Report) {
    let chain = ErrorChain(e).to_string();
    let debug = format!("{e:?}");
    for (shown, token) in shown_in_error(&chain, &debug, &tokens(fixture)) {
        report.fail(
            REFRESH_FIXTURE_OUTCOME,
            name,
            format!(
                "{case}: {shown} {token}: never put a token in an error, and quote the service's words only scrubbed of it (plugboard_core::scrub_secret) and sanitised"
            ),
        );
    }
    let message = match (&fixture.expect, e) {
        (RefreshExpectation::SignInRequired, RefreshError::SignInRequired { .. }) => return,
        (RefreshExpectation::SignInRequired, _) => format!(
            "{case}: must end as RefreshError::SignInRequired but failed otherwise ({chain}): return SignInRequired when the service refuses the stored token for good (OAuth invalid_grant, a revoked token)"
        ),
        (RefreshExpectation::Refreshed { .. }, _) => format!(
            "{case}: must refresh but failed ({chain}): fix the refresher or the fixture's replies"
        ),
        (RefreshExpectation::SessionRenewed { .. }, _) => format!(
            "{case}: must renew the session token but failed ({chain}): fix the refresher or the fixture's replies"
        ),
    };
    report.fail(REFRESH_FIXTURE_OUTCOME, name, message);
}

/// What is wrong with a refresh that succeeded, or `None` if it was expected and holds the
/// expected tokens. Messages name tokens by role, never by value.
fn refreshed_wrongly(
    fixture: &RefreshFixture,
    write: &ProfileWrite,
    refresher: &dyn Refresher,
) -> Option<String> {
    if let RefreshExpectation::SessionRenewed { session_token } = &fixture.expect {
        return renewed_wrongly(fixture, write, session_token, refresher);
    }
    let RefreshExpectation::Refreshed {
        access_token,
        refresh_token,
    } = &fixture.expect
    else {
        return Some(
            "must end as RefreshError::SignInRequired but refreshed: return SignInRequired when the service refuses the stored token for good (OAuth invalid_grant, a revoked token)"
                .to_owned(),
        );
    };
    let credential = &write.credential;
    if credential.kind() != CredentialKind::OAuth {
        return Some(format!(
            "returned a credential of kind {}: return Credential::oauth with the new tokens",
            credential.kind()
        ));
    }
    if credential.expose_secret() != access_token {
        return Some(
            "the new credential's access token is not the one the service sent: store the access_token of its answer"
                .to_owned(),
        );
    }
    let stored = fixture.credential.refresh_token();
    match credential.refresh_token() {
        Some(got) if got == refresh_token => None,
        None => Some(
            "the new credential has no refresh token: keep the stored one when the service sends none, or store the one it sent"
                .to_owned(),
        ),
        Some(got) if Some(got) == stored => Some(
            "the new credential keeps the stored refresh token, but the service sent a new one: store the rotated refresh token"
                .to_owned(),
        ),
        Some(_) if stored == Some(refresh_token.as_str()) => Some(
            "the new credential's refresh token is not the stored one, but the service sent none: keep the stored refresh token"
                .to_owned(),
        ),
        Some(_) => Some(
            "the new credential's refresh token is not the one the service sent: store the refresh_token of its answer"
                .to_owned(),
        ),
    }
}

/// What is wrong with a session renewal that succeeded, or `None` if it kept the stored
/// credential as it was, cached the session token the service sent, and left nothing due for
/// renewal at once.
fn renewed_wrongly(
    fixture: &RefreshFixture,
    write: &ProfileWrite,
    session_token: &str,
    refresher: &dyn Refresher,
) -> Option<String> {
    let (stored, credential) = (&fixture.credential, &write.credential);
    if credential.kind() != CredentialKind::OAuth {
        return Some(format!(
            "returned a credential of kind {}: return the stored oauth credential with the new session",
            credential.kind()
        ));
    }
    if credential.expose_secret() != stored.expose_secret()
        || credential.refresh_token() != stored.refresh_token()
    {
        return Some(
            "the stored token changed: a session renewal keeps the stored token and replaces only OAuthTokens::session"
                .to_owned(),
        );
    }
    if credential.expires_at() != stored.expires_at()
        || credential.account_id() != stored.account_id()
    {
        return Some(
            "the stored credential's expiry or account changed: a session renewal keeps the stored OAuthTokens as they were and replaces only their session"
                .to_owned(),
        );
    }
    match credential.session_token() {
        Some(got) if got == session_token => {}
        Some(_) => {
            return Some(
                "the cached session token is not the one the service sent: store the token of its answer"
                    .to_owned(),
            );
        }
        None => {
            return Some(
                "the new credential caches no session token: set OAuthTokens::session to the token the service sent"
                    .to_owned(),
            );
        }
    }
    // A session the refresher itself calls due would be renewed again before every call.
    if refresher.due(credential, HarnessClock.now()) {
        return Some(
            "the renewed credential is due for renewal at once (Refresher::due): set the session's expires_at from the service's answer, and make due look at the session"
                .to_owned(),
        );
    }
    None
}

/// The tokens a refresh error must not show, by role: the stored ones, and those the service
/// hands out in the fixture's replies.
fn tokens(fixture: &RefreshFixture) -> Vec<(&'static str, &str)> {
    let mut tokens = vec![(
        "the stored access token",
        fixture.credential.expose_secret(),
    )];
    if let Some(refresh) = fixture.credential.refresh_token() {
        tokens.push(("the stored refresh token", refresh));
    }
    if let Some(session) = fixture.credential.session_token() {
        tokens.push(("the stored session token", session));
    }
    if let RefreshExpectation::SessionRenewed { session_token } = &fixture.expect {
        tokens.push(("the new session token", session_token.as_str()));
    }
    if let RefreshExpectation::Refreshed {
        access_token,
        refresh_token,
    } = &fixture.expect
    {
        for new in [
            ("the new access token", access_token.as_str()),
            ("the new refresh token", refresh_token.as_str()),
        ] {
            // A kept refresh token is the stored one: reported once, as that.
            if !tokens.iter().any(|(_, known)| *known == new.1) {
                tokens.push(new);
            }
        }
    }
    tokens
}
