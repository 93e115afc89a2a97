//! Contract fixtures for OpenRouter's sign-in methods (the scripted runs under which each must
//! succeed, and the inputs it must refuse without returning anything), for its model calls
//! (the service's answers, and what each must become), for its model list, and how its service
//! answers a key it will not take (for the contract's own probes).

use std::time::Duration;

use plugboard_core::{
    Answer, ContractFixture, FixedRandom, HttpError, HttpResponse, ListExpectation, ListFixture,
    LoginOptions, ModelErrorKind, ModelExpectation, ModelFixture, ModelRequest, ProfileId,
    ScriptedFixture, ServiceErrors,
};
use plugboard_oauth::LoginSecrets;

use crate::oauth::{CALLBACK_PATH, OAUTH_METHOD_ID};
use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

const KEY: &str = "sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    ScriptedFixture::api_key_cases(PROVIDER_ID, "api-key", KEY)
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .chain(oauth_fixtures())
        .collect()
}

/// The OAuth method without a browser or network: the redirect is pasted (its state predicted
/// from the scripted context's fixed randomness) and the exchange is answered by a script.
fn oauth_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let state = LoginSecrets::generate(&FixedRandom::default()).state;
    let redirect = |query: &str| {
        vec![Answer::Text(format!(
            "http://localhost:3000{CALLBACK_PATH}?state={}&{query}",
            state.as_str()
        ))]
    };
    let key_reply = || -> Vec<Result<HttpResponse, HttpError>> {
        vec![Ok(HttpResponse::new(
            200,
            format!(r#"{{"key":"{KEY}","user_id":"user_fixture"}}"#),
        ))]
    };
    let mut paste = LoginOptions::default();
    paste.no_browser = true;
    paste.callback_port = Some(0);
    paste.timeout = Duration::from_secs(20);
    let mut paste_work = paste.clone();
    paste_work.profile = ProfileId::new(PROVIDER_ID, "work").ok();

    let case = |fixture: ScriptedFixture, options: &LoginOptions| -> Box<dyn ContractFixture> {
        Box::new(
            fixture
                .with_options(options.clone())
                .with_env(BASE_URL_ENV, "http://127.0.0.1:9/api/v1"),
        )
    };
    let fails = |name, answers| ScriptedFixture::fails(name, PROVIDER_ID, OAUTH_METHOD_ID, answers);
    vec![
        case(
            ScriptedFixture::succeeds(
                "pasted redirect is exchanged for a key",
                PROVIDER_ID,
                OAUTH_METHOD_ID,
                redirect("code=fixture-code"),
            )
            .with_http(key_reply()),
            &paste,
        ),
        case(
            ScriptedFixture::succeeds(
                "--profile names the OAuth profile",
                PROVIDER_ID,
                OAUTH_METHOD_ID,
                redirect("code=fixture-code"),
            )
            .with_http(key_reply()),
            &paste_work,
        ),
        case(
            fails(
                "pasted redirect with a wrong state is refused",
                vec![Answer::Text(format!(
                    "http://localhost:3000{CALLBACK_PATH}?state=forged&code=fixture-code"
                ))],
            )
            .with_http(key_reply()),
            &paste,
        ),
        case(
            fails(
                "denied sign-in writes nothing",
                redirect("error=access_denied&error_description=denied"),
            )
            .with_http(key_reply()),
            &paste,
        ),
        case(
            fails("refused exchange writes nothing", redirect("code=used")).with_http(vec![Ok(
                HttpResponse::new(403, r#"{"error":{"code":403,"message":"Invalid code"}}"#),
            )]),
            &paste,
        ),
        case(
            fails("exchange without a key writes nothing", redirect("code=c"))
                .with_http(vec![Ok(HttpResponse::new(200, r#"{"user_id":"u"}"#))]),
            &paste,
        ),
        case(
            fails("cancelled paste writes nothing", vec![Answer::Cancel]).with_http(key_reply()),
            &paste,
        ),
        Box::new(
            fails(
                "plain-http base URL off this machine is refused",
                redirect("code=c"),
            )
            .with_options(paste.clone())
            .with_env(BASE_URL_ENV, "http://openrouter.example/api/v1")
            .with_http(key_reply()),
        ),
    ]
}

/// How OpenRouter answers a key it will not take, in its documented error shape
/// (`{"error":{"code":401,"message":"..."}}`, <https://openrouter.ai/docs/api-reference/errors>):
/// HTTP 401, saying "User not found." for a key it does not know. Its keys do not expire, so
/// there is no expired-token answer.
pub(crate) fn service_errors() -> Option<ServiceErrors> {
    Some(ServiceErrors {
        rejected: error_answer(401, "User not found."),
        expired: None,
        error_with_message: std::sync::Arc::new(error_answer),
    })
}

/// An error answer with `status` saying `message`, as OpenRouter words one.
fn error_answer(status: u16, message: &str) -> HttpResponse {
    let body = serde_json::json!({"error": {"code": status, "message": message}});
    HttpResponse::new(status, body.to_string())
}

/// Model calls answered the way OpenRouter answers, each with the outcome the host relies on.
pub(crate) fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("liquid/lfm-2.5-1.2b-instruct:free", "Reply exactly: ok");
    let reply = |status: u16, body: &str| Ok(HttpResponse::new(status, body.as_bytes().to_vec()));
    let completion = r#"{"id":"gen-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#;
    let fixture = |name: &str, replies: Vec<Result<HttpResponse, HttpError>>, expect| {
        ModelFixture::new(name, request(), replies, expect)
    };
    let fails = ModelExpectation::Fails;
    vec![
        fixture(
            "a completion is the reply",
            vec![reply(200, completion)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a 503 is retried once",
            vec![reply(503, ""), reply(200, completion)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a 401 is a rejected key",
            vec![reply(
                401,
                r#"{"error":{"code":401,"message":"User not found."}}"#,
            )],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a 402 is out of credits",
            vec![reply(
                402,
                r#"{"error":{"code":402,"message":"Insufficient credits"}}"#,
            )],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "an unknown model is an invalid request",
            vec![reply(
                404,
                r#"{"error":{"code":404,"message":"No such model"}}"#,
            )],
            fails(ModelErrorKind::InvalidRequest),
        ),
        fixture(
            "a 500 is a service failure",
            vec![reply(500, "<html>oops</html>")],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "an answer that is not JSON is a bad response",
            vec![reply(200, "<html>")],
            fails(ModelErrorKind::BadResponse),
        ),
        fixture(
            "a connection that never happens is a network failure",
            vec![
                Err(HttpError::Connect {
                    host: "openrouter.ai".to_owned(),
                    reason: "connection refused".to_owned(),
                }),
                Err(HttpError::Connect {
                    host: "openrouter.ai".to_owned(),
                    reason: "connection refused".to_owned(),
                }),
            ],
            fails(ModelErrorKind::Network),
        ),
    ]
}

/// Model lists answered the way OpenRouter's Models API answers: a catalogue with a `:free`
/// variant and a model whose every price is zero, a reply that is not that shape, and a key
/// OpenRouter refuses.
pub(crate) fn list_fixtures() -> Vec<ListFixture> {
    let catalogue = serde_json::json!({"data": [
        {
            "id": "openrouter/auto",
            "canonical_slug": "openrouter/auto",
            "name": "Auto Router",
            "created": 1_699_401_600,
            "context_length": 2_000_000,
            "pricing": {"prompt": "-1", "completion": "-1"},
        },
        {
            "id": "liquid/lfm-2.5-1.2b-instruct:free",
            "canonical_slug": "liquid/lfm-2.5-1.2b-instruct",
            "name": "LiquidAI: LFM2.5-1.2B-Instruct (free)",
            "created": 1_760_000_000,
            "context_length": 32_768,
            "pricing": {"prompt": "0", "completion": "0", "request": "0", "image": "0"},
        },
        {
            "id": "openai/gpt-5",
            "canonical_slug": "openai/gpt-5-2025-08-07",
            "name": "OpenAI: GPT-5",
            "created": 1_754_587_413,
            "context_length": 400_000,
            "pricing": {"prompt": "0.00000125", "completion": "0.00001", "request": "0", "image": "0"},
        },
        {
            "id": "x-ai/grok-free-preview",
            "canonical_slug": "x-ai/grok-free-preview",
            "name": "xAI: Grok preview",
            "created": 1_760_000_001,
            "context_length": 256_000,
            "pricing": {"prompt": "0", "completion": "0"},
        },
    ]});
    let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    vec![
        ListFixture::new(
            "the catalogue lists every model and marks the free ones",
            vec![Ok(HttpResponse::new(200, catalogue.to_string()))],
            ListExpectation::Lists {
                ids: ids(&[
                    "openrouter/auto",
                    "liquid/lfm-2.5-1.2b-instruct:free",
                    "openai/gpt-5",
                    "x-ai/grok-free-preview",
                ]),
                free: ids(&[
                    "liquid/lfm-2.5-1.2b-instruct:free",
                    "x-ai/grok-free-preview",
                ]),
            },
        ),
        ListFixture::new(
            "an answer without data is a bad response",
            vec![Ok(HttpResponse::new(200, r#"{"models":[]}"#))],
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
        ListFixture::new(
            "a 401 is a rejected key",
            vec![Ok(error_answer(401, "User not found."))],
            ListExpectation::Fails(ModelErrorKind::CredentialRejected),
        ),
    ]
}
