//! The contract fixtures: scripted sign-ins and model calls, each with the outcome it must
//! have, and how Acme answers a key it will not take. Built only with the `contract-fixtures`
//! feature.

use plugboard_core::{
    Answer, ContractFixture, HttpResponse, LoginOptions, ModelErrorKind, ModelExpectation,
    ModelFixture, ModelRequest, ProfileId, ScriptedFixture, ServiceErrors,
};

use crate::PROVIDER_ID;

/// A key for the sign-in fixtures; nothing is ever sent with it.
const FIXTURE_KEY: &str = "acme-0123456789abcdef0123";

/// Scripted sign-ins, each with the outcome it must have.
pub fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let pasted = |key: &str| vec![Answer::Secret(key.to_owned())];
    let succeeds =
        |name: &str, answers| ScriptedFixture::succeeds(name, PROVIDER_ID, "api-key", answers);
    let fails = |name: &str, answers| ScriptedFixture::fails(name, PROVIDER_ID, "api-key", answers);
    let mut work = LoginOptions::default();
    work.profile = ProfileId::new(PROVIDER_ID, "work").ok();
    let fixtures = [
        succeeds("pasted key is stored", pasted(FIXTURE_KEY)),
        succeeds("--profile names the profile", pasted(FIXTURE_KEY)).with_options(work),
        fails("empty key is refused", pasted("")),
        fails("key with spaces is refused", pasted("acme 0123")),
        fails("cancelled prompt writes nothing", vec![Answer::Cancel]),
        fails("no input writes nothing", vec![]),
    ];
    fixtures
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .collect()
}

/// Scripted model calls: how Acme answers, and what each answer must become.
pub fn model_fixtures() -> Vec<ModelFixture> {
    use ModelErrorKind::{BadResponse, CredentialRejected, InvalidRequest, RateLimited, Service};
    let request = || ModelRequest::new("acme-small", "Reply exactly: ok");
    let answer = |status: u16, body: &str| vec![Ok(HttpResponse::new(status, body))];
    let fails = |name: &str, status, kind| {
        ModelFixture::new(
            name,
            request(),
            answer(status, "{}"),
            ModelExpectation::Fails(kind),
        )
    };
    vec![
        ModelFixture::new(
            "an answer is the reply",
            request(),
            answer(200, r#"{"output":"ok"}"#),
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fails("a 401 is a rejected key", 401, CredentialRejected),
        fails("a 429 is rate limiting", 429, RateLimited),
        fails("a 404 is an invalid request", 404, InvalidRequest),
        fails("a 500 is a service failure", 500, Service),
        fails("no output is a bad response", 200, BadResponse),
    ]
}

/// How Acme answers a key it will not take, in its own error shape (`{"detail": "..."}`), for
/// the contract's own model calls. Acme keys do not expire, so there is no expired-token answer.
pub fn service_errors() -> ServiceErrors {
    ServiceErrors {
        rejected: acme_error(401, "Invalid API key"),
        expired: None,
        error_with_message: std::sync::Arc::new(acme_error),
    }
}

/// An Acme error answer: `status`, and what went wrong in `detail`.
fn acme_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::new(status, serde_json::json!({ "detail": message }).to_string())
}
