//! What an Anthropic answer means when it is not the one asked for, for every call the
//! provider makes with the key: a refused status becomes one line saying what it means for the
//! user (plus Anthropic's own words, scrubbed), and an answer that cannot be read becomes a
//! `BadResponse` naming the call. Statuses and their meanings are those of Anthropic's errors
//! page (<https://docs.claude.com/en/api/errors>).

use plugboard_core::{HttpResponse, ModelError};

use crate::service_text::{SERVICE, said, with_said};

/// A request made with the key. Messages name it, and a model call gives some statuses a
/// meaning of their own (a model the key may not use, a prompt too large) that the Models API,
/// which carries nothing the user wrote, cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST <base>/v1/messages`: `plugboard run`.
    Model,
    /// `GET <base>/v1/models`, page by page.
    ModelList,
    /// `GET <base>/v1/models?limit=1`.
    KeyCheck,
}

impl Call {
    /// The call as a message names it.
    fn name(self) -> &'static str {
        match self {
            Self::Model => "the model call",
            Self::ModelList => "the model list",
            Self::KeyCheck => "the key check",
        }
    }
}

/// Anthropic's answer to `call` could not be read: `how` says how it is wrong ("is not the
/// JSON it should be", "has no text").
pub(crate) fn malformed(call: Call, how: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "Anthropic's answer to {} {how}: try again, and report it if it persists",
        call.name()
    ))
}

/// A refused `call` as one line: what the status means for the user, plus Anthropic's words
/// with `key` scrubbed from them.
pub(crate) fn refusal(call: Call, response: &HttpResponse, key: &str) -> ModelError {
    let status = response.status;
    let answered = |meaning: &str| {
        let answered = match call {
            // The model call is what the user ran, so its messages do not name it.
            Call::Model => format!("Anthropic answered HTTP {status}: {meaning}"),
            Call::ModelList | Call::KeyCheck => format!(
                "Anthropic answered HTTP {status} to {}: {meaning}",
                call.name()
            ),
        };
        with_said(&answered, &response.body, key)
    };
    match (call, status) {
        (_, 401) => ModelError::CredentialRejected {
            service: SERVICE.to_owned(),
            detail: match said(&response.body, key) {
                Some(words) => format!("HTTP 401 ({words})"),
                None => "HTTP 401".to_owned(),
            },
        },
        // permission_error: the key is valid but may not use this resource (a model or feature
        // its workspace is not allowed). Signing in again with the same key would not help, so
        // it is not a rejected key.
        (Call::Model, 403) => ModelError::InvalidRequest(answered(
            "the key may not use this model or resource: check the key's workspace in the Anthropic Console",
        )),
        (Call::ModelList | Call::KeyCheck, 403) => ModelError::InvalidRequest(answered(
            "the key may not list models: check the key's workspace in the Anthropic Console",
        )),
        (Call::Model, 404) => ModelError::InvalidRequest(answered(
            "no such model or resource: check the model id at https://docs.anthropic.com/en/docs/about-claude/models",
        )),
        // The Models API has no id in its path: a 404 says the URL is not Anthropic's API.
        (Call::ModelList | Call::KeyCheck, 404) => ModelError::InvalidRequest(answered(
            "no such endpoint: check the base URL points to Anthropic's API",
        )),
        (Call::Model, 413) => {
            ModelError::InvalidRequest(answered("the prompt is larger than Anthropic accepts"))
        }
        (_, 429) => ModelError::RateLimited(answered(
            "the account hit a rate limit: wait a minute and try again",
        )),
        (_, 529) => ModelError::Service(answered(
            "Anthropic's API is overloaded: try again in a minute",
        )),
        (_, 500..=599) => ModelError::Service(answered(
            "Anthropic failed to answer: try again in a minute",
        )),
        // Anthropic uses invalid_request_error for 400 and any other 4xx it does not list.
        (_, 400..=499) => ModelError::InvalidRequest(answered("the request was refused")),
        _ => ModelError::Service(answered(
            "unexpected answer: try again, and report it if it persists",
        )),
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, ModelErrorKind};

    use super::*;

    #[test]
    fn each_call_keeps_its_own_meaning_for_a_status() {
        use ModelErrorKind as K;
        let cases = [
            (
                Call::Model,
                413,
                K::InvalidRequest,
                "Anthropic answered HTTP 413: the prompt is larger than Anthropic accepts",
            ),
            (
                Call::ModelList,
                413,
                K::InvalidRequest,
                "Anthropic answered HTTP 413 to the model list: the request was refused",
            ),
            (
                Call::KeyCheck,
                403,
                K::InvalidRequest,
                "Anthropic answered HTTP 403 to the key check: the key may not list models: check the key's workspace in the Anthropic Console",
            ),
            (
                Call::KeyCheck,
                404,
                K::InvalidRequest,
                "Anthropic answered HTTP 404 to the key check: no such endpoint: check the base URL points to Anthropic's API",
            ),
            (
                Call::Model,
                302,
                K::Service,
                "Anthropic answered HTTP 302: unexpected answer: try again, and report it if it persists",
            ),
        ];
        for (call, status, kind, want) in cases {
            let err = refusal(call, &HttpResponse::new(status, Vec::new()), "k");
            assert_eq!(err.kind(), kind, "{call:?} {status}");
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[test]
    fn an_unreadable_answer_names_the_call() {
        let cases = [
            (Call::Model, "the model call"),
            (Call::ModelList, "the model list"),
            (Call::KeyCheck, "the key check"),
        ];
        for (call, name) in cases {
            let err = malformed(call, "is not the JSON it should be");
            assert_eq!(err.kind(), ModelErrorKind::BadResponse);
            assert_eq!(
                err.to_string(),
                format!(
                    "Anthropic's answer to {name} is not the JSON it should be: try again, and report it if it persists"
                )
            );
        }
    }
}
