//! One model call made by the harness: the runner gets a context whose credential is a fixed
//! test credential and whose service is a script, and the call is [`guarded`]. Nothing reaches
//! a network, and no real secret is ever sent.
//!
//! The test credential has the shape the provider's runner really gets: a provider with a
//! refresher signs users in with OAuth, so its runner is called with OAuth tokens (an access
//! token, a refresh token, an account id); a provider whose every method is local with a
//! credential of kind `none`; any other provider's with an API key.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plugboard_core::{
    AuthKind, Clock, Credential, CredentialKind, ErrorChain, HostServices, HttpError, HttpResponse,
    ModelContext, ModelError, ModelReply, ModelRequest, ModelRunner, OAuthTokens, Provenance,
    Provider, ScriptedHttp, SessionToken, shows_secret,
};

use crate::guard::{Trouble, guarded};
use crate::refresh::HarnessClock;

/// The test key's vendor prefix, which redaction may show.
const KEY_PREFIX: &str = "sk-pbct-";
/// The rest of the test key, none of which may show: random-looking and mixed-case, so finding
/// a run of it in a runner's output cannot be chance.
const KEY_BODY: &str = "Zq7Wm3Xv9Kp2Rt5Yn8Lb4Hd6";
/// The test refresh token's vendor prefix.
const REFRESH_PREFIX: &str = "pbrt-";
/// The rest of the test refresh token, none of which may show either.
const REFRESH_BODY: &str = "Vx4Jq8Tn2Wc6Hs9Ld3Mk7Pf5";
/// The account the test OAuth tokens act for (not a secret).
const ACCOUNT_ID: &str = "contract-test-account";
/// When the test access token expires: 2100-01-01, far enough that no runner may take it for
/// expired and refuse to send it.
const EXPIRES_AT_SECS: u64 = 4_102_444_800;

/// How a harness call ended: the runner's own result, or why it produced none.
pub(crate) type Outcome = Result<Result<ModelReply, ModelError>, Trouble>;

/// The key every harness call sends (as the API key, or as the OAuth access token).
pub(crate) fn test_key() -> String {
    format!("{KEY_PREFIX}{KEY_BODY}")
}

/// The refresh token of the OAuth test credential.
fn test_refresh_token() -> String {
    format!("{REFRESH_PREFIX}{REFRESH_BODY}")
}

/// The credential the harness sends to `provider`'s runner, lister and check: OAuth tokens
/// when the provider has a refresher (what its sign-in stores); no secret (kind `none`) when
/// every one of its methods is local; else an API key. The secret sent with requests, if any,
/// is [`test_key`].
pub(crate) fn test_credential(provider: &dyn Provider) -> Credential {
    let mut provenance = Provenance::new();
    provenance.insert("auth_flow".into(), "contract-test".into());
    let methods = provider.auth_methods();
    if provider.refresher().is_none()
        && !methods.is_empty()
        && methods.iter().all(|m| m.kind() == AuthKind::Local)
    {
        return Credential::none(provenance);
    }
    if provider.refresher().is_none() {
        return Credential::new(CredentialKind::ApiKey, test_key().into(), provenance);
    }
    let mut tokens = OAuthTokens::new(test_key().into());
    tokens.refresh_token = Some(test_refresh_token().into());
    tokens.account_id = Some(ACCOUNT_ID.to_owned());
    tokens.expires_at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(EXPIRES_AT_SECS));
    // The host renews a due credential before it uses one; a provider that derives session
    // tokens (GitHub Copilot) is therefore called with a live session, which holds the key.
    let bare = Credential::oauth(tokens.clone(), provenance.clone());
    if provider
        .refresher()
        .is_some_and(|refresher| refresher.due(&bare, HarnessClock.now()))
    {
        tokens.session = Some(SessionToken {
            token: test_key().into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(EXPIRES_AT_SECS),
            endpoint: None,
        });
    }
    Credential::oauth(tokens, provenance)
}

/// Runs `request` through `runner` with `credential`, its requests answered by `replies` in
/// order (and "no network" once they run out).
pub(crate) async fn call(
    runner: &dyn ModelRunner,
    credential: &Credential,
    request: &ModelRequest,
    replies: Vec<Result<HttpResponse, HttpError>>,
) -> Outcome {
    let host = HostServices::default().with_http_client(Arc::new(ScriptedHttp::new(replies)));
    let ctx = ModelContext::new(credential.clone(), host);
    guarded(runner.run(&ctx, request)).await
}

/// Which secret of the test credential `shown` gives away (the key, or the refresh token of
/// the OAuth one), if any: a run of [`MIN_SECRET_RUN`](plugboard_core::MIN_SECRET_RUN)
/// characters of the part after its vendor prefix, compared as the core's scrubber compares
/// (ignoring case and invisible characters), so a disguised echo counts as much as a plain one.
pub(crate) fn shown_secret(shown: &str) -> Option<&'static str> {
    if shows_secret(shown, KEY_BODY) {
        Some("the key")
    } else if shows_secret(shown, REFRESH_BODY) {
        Some("the refresh token")
    } else {
        None
    }
}

/// Where a runner's or lister's error shows a secret of the test credential (see
/// [`shown_secret`]), as a report says it (`the error's Display shows the key`): its `Display`
/// is the whole chain, since a cause may carry the service's words while the message does not.
pub(crate) fn shown_in_model_error(e: &ModelError) -> Option<String> {
    match (
        shown_secret(&ErrorChain(e).to_string()),
        shown_secret(&format!("{e:?}")),
    ) {
        (Some(secret), Some(_)) => Some(format!("the error's Display and Debug show {secret}")),
        (Some(secret), None) => Some(format!("the error's Display shows {secret}")),
        (None, Some(secret)) => Some(format!("the error's Debug shows {secret}")),
        (None, None) => None,
    }
}
