//! What the unit tests share: a service on a loopback port, and a context holding its key (or
//! nothing, for a service asked without one) whose HTTP client plays a script of answers and
//! records what was sent.

use std::sync::Arc;

use plugboard_core::{
    Credential, CredentialKind, HostServices, HttpError, HttpResponse, ModelContext, Provenance,
    ScriptedHttp,
};

use crate::service::Service;

/// The key every test signs its calls with, shaped like Groq's.
pub(crate) const KEY: &str = "gsk_1111222233334444555566667777888899990000aaaabbbb";

/// A script of the service's answers, in order.
pub(crate) type Replies = Vec<Result<HttpResponse, HttpError>>;

/// The service `acme-cloud` ("Acme Cloud"), asked with a key when `keyed`.
pub(crate) fn service(keyed: bool) -> Service {
    Service {
        provider_id: "acme-cloud".to_owned(),
        name: "Acme Cloud".to_owned(),
        base_url_env: "ACME_CLOUD_BASE_URL".to_owned(),
        default_base: "https://api.acme.test/openai/v1".to_owned(),
        keyed,
    }
}

/// A context with [`KEY`] (or a credential of kind `none` when not `keyed`) whose client
/// answers with `replies`, the service at `http://127.0.0.1:1/v1`, and that client.
pub(crate) fn context(replies: Replies, keyed: bool) -> (ModelContext, Arc<ScriptedHttp>) {
    let http = Arc::new(ScriptedHttp::new(replies));
    let host = HostServices::default()
        .with_http_client(http.clone())
        .with_env("ACME_CLOUD_BASE_URL", "http://127.0.0.1:1/v1");
    let credential = if keyed {
        Credential::new(
            CredentialKind::ApiKey,
            KEY.to_owned().into(),
            Provenance::new(),
        )
    } else {
        Credential::none(Provenance::new())
    };
    (ModelContext::new(credential, host), http)
}

/// An answer with `status` and `body`.
pub(crate) fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}
