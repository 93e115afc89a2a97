//! What the unit tests of the key-using calls (model call, model list, key check) share: a
//! context holding an API key with OpenRouter's base URL on a loopback port, whose HTTP client
//! plays a script of answers and records what was sent.

use std::sync::Arc;

use plugboard_core::{
    Credential, CredentialKind, HostServices, HttpError, HttpResponse, ModelContext, Provenance,
    ScriptedHttp,
};

use crate::provider::BASE_URL_ENV;

/// The key every test signs its calls with, long enough to look like OpenRouter's.
pub(crate) const KEY: &str =
    "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";

/// A script of the service's answers, in order.
pub(crate) type Replies = Vec<Result<HttpResponse, HttpError>>;

/// A context with [`KEY`] whose client answers with `replies`, and that client, to read what
/// was sent.
pub(crate) fn context(replies: Replies) -> (ModelContext, Arc<ScriptedHttp>) {
    let http = Arc::new(ScriptedHttp::new(replies));
    let host = HostServices::default()
        .with_http_client(http.clone())
        .with_env(BASE_URL_ENV, "http://127.0.0.1:1/api/v1");
    let credential = Credential::new(
        CredentialKind::ApiKey,
        KEY.to_owned().into(),
        Provenance::new(),
    );
    (ModelContext::new(credential, host), http)
}

/// An answer with `status` and `body`.
pub(crate) fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}
