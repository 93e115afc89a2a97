//! What an answer means when it is not the one asked for, for every request the provider makes
//! of its service: a refused status becomes one line saying what it means for the user, plus
//! the service's own words (OpenAI's `{"error":{"message":...}}`, or a bare `{"error":"..."}`
//! as some local servers send), made safe with the core's scrubber and sanitiser; an answer
//! that cannot be read becomes a `BadResponse` naming the request.
//!
//! Statuses as OpenAI's error-codes guide lists them (401 a key refused, 403 a place not
//! served, 429 a rate or quota limit, 500 and 503 the service failing), with 402 read as the
//! balance exhausted, which DeepSeek's error codes use it for.

use plugboard_core::{HttpResponse, ModelError};
use plugboard_http::{openai_error_message, service_words};
use serde_json::Value;

use crate::service::Service;

/// A request the provider makes. Messages name it, and a model call gives some statuses a
/// meaning of its own (an unknown model) that a listing, which carries nothing the user
/// wrote, cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST <base>/chat/completions`.
    Model,
    /// `GET <base>/models`, to list.
    ModelList,
    /// `GET <base>/models`, to check the key.
    Check,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Self::Model => "the model call",
            Self::ModelList => "the model list",
            Self::Check => "the key check",
        }
    }

    fn answer(self) -> String {
        match self {
            // The list is itself the answer: "the answer to the model list" would say it twice.
            Self::ModelList => "model list".to_owned(),
            Self::Model | Self::Check => format!("answer to {}", self.name()),
        }
    }
}

/// The service's own words in an error answer, if it has some, with every run of `secret`
/// replaced by `[redacted]` before anything else is done to them (a service may echo the key
/// it refused, in any case and with invisible characters inside), then cut to one short line.
pub(crate) fn said(body: &[u8], secret: &str) -> Option<String> {
    openai_error_message(body, secret).or_else(|| {
        let answer: Value = serde_json::from_slice(body).ok()?;
        service_words(answer.get("error")?.as_str()?, secret)
    })
}

/// `meaning`, followed by ` (<service> said: ...)` when `body` carries the service's words.
pub(crate) fn with_said(service: &Service, meaning: &str, body: &[u8], secret: &str) -> String {
    match said(body, secret) {
        Some(words) => format!("{meaning} ({} said: {words})", service.name),
        None => meaning.to_owned(),
    }
}

/// The service's answer to `call` could not be read: `what` says how it is wrong.
pub(crate) fn malformed(service: &Service, call: Call, what: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "{}'s {} {what}: check that the base URL is the API root of an OpenAI-compatible service",
        service.name,
        call.answer()
    ))
}

/// A refused `call` as one line: what the status means for the user, plus the service's words
/// with `key` scrubbed from them.
pub(crate) fn refusal(
    service: &Service,
    call: Call,
    response: &HttpResponse,
    key: &str,
) -> ModelError {
    let status = response.status;
    let name = &service.name;
    let answered = |meaning: &str| {
        let answered = match call {
            // The model call is what the user ran, so its messages do not name it.
            Call::Model => format!("{name} answered HTTP {status}: {meaning}"),
            Call::ModelList | Call::Check => {
                format!(
                    "{name} answered HTTP {status} to {}: {meaning}",
                    call.name()
                )
            }
        };
        with_said(service, &answered, &response.body, key)
    };
    match (call, status) {
        (_, 401) => {
            let mut detail = "HTTP 401".to_owned();
            if !service.keyed {
                detail.push_str(
                    ": the service wants a key, but the plugin's manifest names no api_key_env",
                );
            }
            if let Some(words) = said(&response.body, key) {
                detail.push_str(&format!(" ({words})"));
            }
            ModelError::CredentialRejected {
                service: name.clone(),
                detail,
            }
        }
        (_, 402) => ModelError::RateLimited(answered(
            "the account's balance or credits are used up: top them up with the service",
        )),
        (_, 429) => ModelError::RateLimited(answered(
            "too many requests, or the quota is used up: wait a minute and try again",
        )),
        (Call::Model, 404) => ModelError::InvalidRequest(answered(
            "no such model, or no chat completions here: check the model id against the model list, and that the base URL is the API root",
        )),
        (_, 408 | 500..=599) => {
            ModelError::Service(answered("the service failed: try again in a minute"))
        }
        (Call::Model, 400..=499) => ModelError::InvalidRequest(answered("the request was refused")),
        // Nothing the user wrote went with a listing or a check, so another 4xx says the URL
        // is not such a service's API root (or the key may not list models).
        (Call::ModelList | Call::Check, 400..=499) => ModelError::InvalidRequest(answered(
            "the request was refused: check that the base URL is the API root of an OpenAI-compatible service",
        )),
        _ => ModelError::Service(answered(
            "unexpected answer: try again, and report it if it persists",
        )),
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, ModelErrorKind};

    use super::*;
    use crate::test_support::service;

    #[test]
    fn the_services_words_are_scrubbed_cleaned_and_cut() {
        let long = "x".repeat(500);
        let cases = [
            (
                r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                "",
                Some("Invalid API Key"),
            ),
            (
                r#"{"error":"Unexpected endpoint or method."}"#,
                "",
                Some("Unexpected endpoint or method."),
            ),
            (
                r#"{"error":{"message":"bad key GSK_ABCDEF012345 here"}}"#,
                "gsk_abcdef012345",
                Some("bad key [redacted] here"),
            ),
            (
                r#"{"error":{"message":"bad key gsk_abc\u200bdef\u0007012345"}}"#,
                "gsk_abcdef012345",
                Some("bad key [redacted]"),
            ),
            (
                r#"{"error":{"message":"\u001b]0;pwned\u0007red \u001b[2Jalert\u202e"}}"#,
                "",
                Some("red alert"),
            ),
            (r#"{"error":{"message":"  "}}"#, "", None),
            (r#"{"error":{"code":500}}"#, "", None),
            (r#"{"message":"not the shape"}"#, "", None),
            ("<html>", "", None),
        ];
        for (body, secret, want) in cases {
            assert_eq!(said(body.as_bytes(), secret).as_deref(), want, "{body}");
        }
        let body = format!(r#"{{"error":{{"message":"{long}"}}}}"#);
        assert!(
            said(body.as_bytes(), "").unwrap().chars().count()
                <= plugboard_http::MAX_SERVICE_WORDS + 1
        );
    }

    #[test]
    fn each_status_becomes_its_kind_and_each_call_keeps_its_own_meaning() {
        use ModelErrorKind as K;
        let body = r#"{"error":{"message":"nope"}}"#;
        let cases = [
            (
                Call::Model,
                401,
                K::CredentialRejected,
                "Acme Cloud rejected the key: HTTP 401 (nope)",
            ),
            (
                Call::Check,
                401,
                K::CredentialRejected,
                "Acme Cloud rejected the key: HTTP 401 (nope)",
            ),
            (
                Call::Model,
                402,
                K::RateLimited,
                "Acme Cloud answered HTTP 402: the account's balance or credits are used up: top them up with the service (Acme Cloud said: nope)",
            ),
            (
                Call::ModelList,
                429,
                K::RateLimited,
                "Acme Cloud answered HTTP 429 to the model list: too many requests, or the quota is used up: wait a minute and try again (Acme Cloud said: nope)",
            ),
            (
                Call::Model,
                404,
                K::InvalidRequest,
                "Acme Cloud answered HTTP 404: no such model, or no chat completions here: check the model id against the model list, and that the base URL is the API root (Acme Cloud said: nope)",
            ),
            (
                Call::Model,
                400,
                K::InvalidRequest,
                "Acme Cloud answered HTTP 400: the request was refused (Acme Cloud said: nope)",
            ),
            (
                Call::Model,
                403,
                K::InvalidRequest,
                "Acme Cloud answered HTTP 403: the request was refused (Acme Cloud said: nope)",
            ),
            (
                Call::Check,
                404,
                K::InvalidRequest,
                "Acme Cloud answered HTTP 404 to the key check: the request was refused: check that the base URL is the API root of an OpenAI-compatible service (Acme Cloud said: nope)",
            ),
            (
                Call::Model,
                500,
                K::Service,
                "Acme Cloud answered HTTP 500: the service failed: try again in a minute (Acme Cloud said: nope)",
            ),
            (
                Call::ModelList,
                503,
                K::Service,
                "Acme Cloud answered HTTP 503 to the model list: the service failed: try again in a minute (Acme Cloud said: nope)",
            ),
            (
                Call::Model,
                302,
                K::Service,
                "Acme Cloud answered HTTP 302: unexpected answer: try again, and report it if it persists (Acme Cloud said: nope)",
            ),
        ];
        let svc = service(true);
        for (call, status, kind, want) in cases {
            let err = refusal(&svc, call, &HttpResponse::new(status, body), "k");
            assert_eq!(err.kind(), kind, "{call:?} {status}");
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[test]
    fn a_401_to_a_service_asked_without_a_key_says_the_manifest_names_none() {
        let err = refusal(
            &service(false),
            Call::Model,
            &HttpResponse::new(401, ""),
            "",
        );
        assert_eq!(err.kind(), ModelErrorKind::CredentialRejected);
        assert_eq!(
            err.to_string(),
            "Acme Cloud rejected the key: HTTP 401: the service wants a key, but the plugin's manifest names no api_key_env"
        );
    }

    #[test]
    fn an_unreadable_answer_names_the_request() {
        let svc = service(true);
        assert_eq!(
            malformed(&svc, Call::ModelList, "is not the JSON it should be").to_string(),
            "Acme Cloud's model list is not the JSON it should be: check that the base URL is the API root of an OpenAI-compatible service"
        );
        assert_eq!(
            malformed(&svc, Call::Model, "has no choices").to_string(),
            "Acme Cloud's answer to the model call has no choices: check that the base URL is the API root of an OpenAI-compatible service"
        );
    }
}
