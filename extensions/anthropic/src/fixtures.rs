//! Contract fixtures for Anthropic's API-key sign-in (the scripted runs under which it must
//! succeed, and the inputs it must refuse without returning anything), for its model calls
//! (Anthropic's answers, and what each must become) and for its model list.

use plugboard_core::{
    ContractFixture, HttpError, HttpResponse, ListExpectation, ListFixture, ModelErrorKind,
    ModelExpectation, ModelFixture, ModelRequest, ScriptedFixture, ServiceErrors,
};

use crate::provider::PROVIDER_ID;

const KEY: &str = "sk-ant-api03-0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    ScriptedFixture::api_key_cases(PROVIDER_ID, "api-key", KEY)
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .collect()
}

/// Anthropic's error shape, `{"type":"error","error":{"type":...,"message":...}}`, with the
/// error type its errors page gives for `status`.
fn error_body(status: u16, message: &str) -> HttpResponse {
    let kind = match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    };
    let body = serde_json::json!({
        "type": "error",
        "error": { "type": kind, "message": message },
        "request_id": "req_011CfixtureRequest",
    });
    HttpResponse::new(status, body.to_string())
}

/// How Anthropic refuses a key: 401 `authentication_error`. Keys do not expire, so there is
/// no expired answer.
pub(crate) fn service_errors() -> Option<ServiceErrors> {
    Some(ServiceErrors {
        rejected: error_body(401, "invalid x-api-key"),
        expired: None,
        error_with_message: std::sync::Arc::new(error_body),
    })
}

/// Model calls answered the way Anthropic answers, each with the outcome the host relies on.
pub(crate) fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("claude-sonnet-5-5", "Reply exactly: ok");
    let reply = |status: u16, body: &str| Ok(HttpResponse::new(status, body.as_bytes().to_vec()));
    let message = r#"{"id":"msg_01Fixture","type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[{"type":"text","text":"o"},{"type":"text","text":"k"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}"#;
    let error = |status, text: &str| Ok(error_body(status, text));
    let fixture = |name: &str, replies: Vec<Result<HttpResponse, HttpError>>, expect| {
        ModelFixture::new(name, request(), replies, expect)
    };
    let fails = ModelExpectation::Fails;
    vec![
        fixture(
            "the text blocks of a message are the reply",
            vec![reply(200, message)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a 401 is a rejected key",
            vec![error(401, "invalid x-api-key")],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a 529 overloaded is a service failure",
            vec![error(529, "Overloaded")],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "a 429 is a rate limit",
            vec![error(
                429,
                "Number of request tokens has exceeded your per-minute rate limit",
            )],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "an unknown model is an invalid request",
            vec![error(404, "model: claude-unknown")],
            fails(ModelErrorKind::InvalidRequest),
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
                    host: "api.anthropic.com".to_owned(),
                    reason: "connection refused".to_owned(),
                }),
                Err(HttpError::Connect {
                    host: "api.anthropic.com".to_owned(),
                    reason: "connection refused".to_owned(),
                }),
            ],
            fails(ModelErrorKind::Network),
        ),
    ]
}

/// Model lists answered the way Anthropic's Models API answers: two pages joined by `has_more`
/// and `after_id`, a reply that is not that shape, and a key Anthropic refuses.
pub(crate) fn list_fixtures() -> Vec<ListFixture> {
    let entry = |id: &str, name: &str| {
        serde_json::json!({
            "type": "model",
            "id": id,
            "display_name": name,
            "created_at": "2026-02-17T00:00:00Z",
        })
    };
    let first = serde_json::json!({
        "data": [
            entry("claude-sonnet-5-5", "Claude Sonnet 5.5"),
            entry("claude-sonnet-5", "Claude Sonnet 5"),
        ],
        "has_more": true,
        "first_id": "claude-sonnet-5-5",
        "last_id": "claude-sonnet-5",
    });
    let second = serde_json::json!({
        "data": [entry("claude-haiku-4-5-20251001", "Claude Haiku 4.5")],
        "has_more": false,
        "first_id": "claude-haiku-4-5-20251001",
        "last_id": "claude-haiku-4-5-20251001",
    });
    vec![
        ListFixture::new(
            "every page is read and no model is free",
            vec![
                Ok(HttpResponse::new(200, first.to_string())),
                Ok(HttpResponse::new(200, second.to_string())),
            ],
            ListExpectation::Lists {
                ids: vec![
                    "claude-sonnet-5-5".to_owned(),
                    "claude-sonnet-5".to_owned(),
                    "claude-haiku-4-5-20251001".to_owned(),
                ],
                free: Vec::new(),
            },
        ),
        ListFixture::new(
            "an answer without has_more is a bad response",
            vec![Ok(HttpResponse::new(
                200,
                r#"{"data":[{"type":"model","id":"claude-sonnet-5-5"}]}"#,
            ))],
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
        ListFixture::new(
            "a 401 is a rejected key",
            vec![Ok(error_body(401, "invalid x-api-key"))],
            ListExpectation::Fails(ModelErrorKind::CredentialRejected),
        ),
    ]
}
