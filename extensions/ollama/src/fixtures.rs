//! Contract fixtures for Ollama: the server check under which the `local` sign-in must succeed
//! (and the servers under which it must fail, writing nothing), model calls answered the way
//! Ollama answers, and model lists in Ollama's shape and not.

use plugboard_core::{
    ContractFixture, HttpError, HttpResponse, ListExpectation, ListFixture, LoginOptions,
    ModelErrorKind, ModelExpectation, ModelFixture, ModelRequest, ProfileId, ScriptedFixture,
    ServiceErrors,
};

use crate::local::LOCAL_METHOD_ID;
use crate::provider::{HOST_ENV, PROVIDER_ID};

fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}

/// No connection: what a machine without `ollama serve` running answers, twice (a request
/// that never connected is sent once more).
fn refused() -> Vec<Result<HttpResponse, HttpError>> {
    let refusal = || {
        Err(HttpError::Connect {
            host: "127.0.0.1".to_owned(),
            reason: "connection refused".to_owned(),
        })
    };
    vec![refusal(), refusal()]
}

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let version = || vec![reply(200, r#"{"version":"0.12.6"}"#)];
    let succeeds = |name| ScriptedFixture::succeeds(name, PROVIDER_ID, LOCAL_METHOD_ID, vec![]);
    let fails = |name| ScriptedFixture::fails(name, PROVIDER_ID, LOCAL_METHOD_ID, vec![]);
    let mut named_profile = LoginOptions::default();
    named_profile.profile = ProfileId::new(PROVIDER_ID, "work").ok();
    let fixtures = vec![
        succeeds("a server that answers its version is recorded").with_http(version()),
        succeeds("--profile names the profile")
            .with_http(version())
            .with_options(named_profile),
        succeeds("OLLAMA_HOST moves the server")
            .with_env(HOST_ENV, ":8080")
            .with_http(version()),
        fails("a server that does not answer writes nothing").with_http(refused()),
        fails("something that is not Ollama writes nothing")
            .with_http(vec![reply(404, "404 page not found")]),
        fails("plain http to another machine is refused without permission")
            .with_env(HOST_ENV, "192.168.1.5:8080"),
    ];
    fixtures
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .collect()
}

/// Ollama's error shape, `{"error": "..."}`.
fn error_body(status: u16, message: &str) -> HttpResponse {
    HttpResponse::new(status, serde_json::json!({ "error": message }).to_string())
}

/// Ollama takes no credential from plugboard; what answers 401 is a reverse proxy in front of
/// a server, or the server itself for a cloud model while it is not signed in to ollama.com,
/// answered here as Ollama's cloud proxy does when it has no sign-in URL. Nothing expires.
pub(crate) fn service_errors() -> Option<ServiceErrors> {
    Some(ServiceErrors {
        rejected: error_body(401, "unauthorized"),
        expired: None,
        error_with_message: std::sync::Arc::new(error_body),
    })
}

/// Model calls answered the way Ollama answers, each with the outcome the host relies on.
pub(crate) fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("llama3.2", "Reply exactly: ok");
    let chat = r#"{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"ok"},"done_reason":"stop","done":true,"total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":1,"eval_duration":4799921000}"#;
    let error = |status, text: &str| Ok(error_body(status, text));
    let fixture = |name: &str, replies: Vec<Result<HttpResponse, HttpError>>, expect| {
        ModelFixture::new(name, request(), replies, expect)
    };
    let fails = ModelExpectation::Fails;
    vec![
        fixture(
            "the message content of a chat response is the reply",
            vec![reply(200, chat)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a model that is not pulled is an invalid request",
            vec![error(404, "model 'llama3.2' not found")],
            fails(ModelErrorKind::InvalidRequest),
        ),
        fixture(
            "a 500 is a service failure",
            vec![error(
                500,
                "llama runner process has terminated: exit status 2",
            )],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "a 401 from a proxy is a rejected credential",
            vec![error(401, "unauthorized")],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a cloud model on a server not signed in to ollama.com is a rejected credential",
            vec![reply(
                401,
                r#"{"error":"unauthorized","signin_url":"https://ollama.com/connect?name=workstation&key=c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSQ"}"#,
            )],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a 429 is a rate limit",
            vec![error(429, "too many requests")],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "an answer that is not JSON is a bad response",
            vec![reply(200, "<html>")],
            fails(ModelErrorKind::BadResponse),
        ),
        fixture(
            "a server that is not running is a network failure",
            refused(),
            fails(ModelErrorKind::Network),
        ),
    ]
}

/// Model lists answered the way Ollama answers, and not.
pub(crate) fn list_fixtures() -> Vec<ListFixture> {
    let tags = r#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","modified_at":"2023-12-07T09:32:18.757212583-08:00","size":3825819519,"digest":"fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e","details":{"format":"gguf","family":"llama","families":null,"parameter_size":"3B","quantization_level":"Q4_0"}},{"name":"codellama:13b","model":"codellama:13b","modified_at":"2023-11-04T14:56:49.277302595-07:00","size":7365960935,"digest":"9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697","details":{"format":"gguf","family":"llama","families":null,"parameter_size":"13B","quantization_level":"Q4_0"}}]}"#;
    vec![
        ListFixture::new(
            "the pulled models are listed by name, none free",
            vec![reply(200, tags)],
            ListExpectation::Lists {
                ids: vec!["llama3.2:latest".to_owned(), "codellama:13b".to_owned()],
                free: Vec::new(),
            },
        ),
        ListFixture::new(
            "a list that is not Ollama's shape is a bad response",
            vec![reply(200, r#"{"data":[{"id":"llama3.2"}]}"#)],
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
        ListFixture::new(
            "a server that is not running is a network failure",
            refused(),
            ListExpectation::Fails(ModelErrorKind::Network),
        ),
    ]
}
