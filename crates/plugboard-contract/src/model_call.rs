//! One model call made by the harness: the runner gets a context whose credential is a fixed
//! test key and whose service is a script, and the call is [`guarded`]. Nothing reaches a
//! network, and no real key is ever sent.

use std::sync::Arc;

use plugboard_core::{
    Credential, CredentialKind, HostServices, HttpError, HttpResponse, ModelContext, ModelError,
    ModelReply, ModelRequest, ModelRunner, Provenance, ScriptedHttp, shows_secret,
};

use crate::guard::{Trouble, guarded};

/// The test key's vendor prefix, which redaction may show.
const KEY_PREFIX: &str = "sk-pbct-";
/// The rest of the test key, none of which may show: random-looking and mixed-case, so finding
/// a run of it in a runner's output cannot be chance.
const KEY_BODY: &str = "Zq7Wm3Xv9Kp2Rt5Yn8Lb4Hd6";
/// How a harness call ended: the runner's own result, or why it produced none.
pub(crate) type Outcome = Result<Result<ModelReply, ModelError>, Trouble>;

/// The credential every harness call sends.
pub(crate) fn test_key() -> String {
    format!("{KEY_PREFIX}{KEY_BODY}")
}

/// Runs `request` through `runner`, its requests answered by `replies` in order (and "no
/// network" once they run out).
pub(crate) async fn call(
    runner: &dyn ModelRunner,
    request: &ModelRequest,
    replies: Vec<Result<HttpResponse, HttpError>>,
) -> Outcome {
    let credential = Credential::new(CredentialKind::ApiKey, test_key().into(), Provenance::new());
    let host = HostServices::default().with_http_client(Arc::new(ScriptedHttp::new(replies)));
    let ctx = ModelContext::new(credential, host);
    guarded(runner.run(&ctx, request)).await
}

/// Whether `shown` gives the test key away: a run of
/// [`MIN_SECRET_RUN`](plugboard_core::MIN_SECRET_RUN) characters of the part
/// after its vendor prefix, compared as the core's scrubber compares (ignoring case and
/// invisible characters), so a disguised echo counts as much as a plain one.
pub(crate) fn shows_key(shown: &str) -> bool {
    shows_secret(shown, KEY_BODY)
}
