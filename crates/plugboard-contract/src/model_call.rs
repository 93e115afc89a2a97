//! One model call made by the harness: the runner gets a context whose credential is a fixed
//! test key and whose service is a script, and the call is [`guarded`]. Nothing reaches a
//! network, and no real key is ever sent.

use std::sync::Arc;

use plugboard_core::{
    Credential, CredentialKind, HttpError, HttpResponse, ModelContext, ModelError, ModelReply,
    ModelRequest, ModelRunner, Provenance, ScriptedHttp,
};

use crate::guard::{Trouble, guarded};

/// The test key's vendor prefix, which redaction may show.
const KEY_PREFIX: &str = "sk-pbct-";
/// The rest of the test key, none of which may show: random-looking and mixed-case, so finding
/// a run of it in a runner's output cannot be chance.
const KEY_BODY: &str = "Zq7Wm3Xv9Kp2Rt5Yn8Lb4Hd6";
/// A run of this many characters of [`KEY_BODY`] in an output counts as showing the key: a
/// service's words cut short can still carry most of it, while a redacted key shows only its
/// last four.
const SHOWN_RUN: usize = 8;

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
    let mut ctx = ModelContext::new(credential);
    ctx.http_client = Arc::new(ScriptedHttp::new(replies));
    guarded(runner.run(&ctx, request)).await
}

/// Whether `shown` gives the test key away: all of it, or [`SHOWN_RUN`] characters in a row
/// of the part after its vendor prefix.
pub(crate) fn shows_key(shown: &str) -> bool {
    KEY_BODY
        .as_bytes()
        .windows(SHOWN_RUN)
        .any(|run| shown.as_bytes().windows(SHOWN_RUN).any(|w| w == run))
}
