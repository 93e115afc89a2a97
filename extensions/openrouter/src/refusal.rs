//! What an OpenRouter answer means when it is not the one asked for, for every call the
//! provider makes with the key: a refused status becomes one line saying what it means for the
//! user (plus OpenRouter's own words, scrubbed), and an answer that cannot be read becomes a
//! `BadResponse` naming the call. Statuses as OpenRouter's errors page lists them
//! (<https://openrouter.ai/docs/api-reference/errors>).

use plugboard_core::{HttpResponse, ModelError};

use crate::service_text::{SERVICE, said, with_said};

/// A request made with the key. Messages name it, and a model call gives some statuses a
/// meaning of their own (moderation, an unknown model) that a listing or a key check, which
/// carry nothing the user wrote, cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST <base>/chat/completions`: `plugboard run`.
    Model,
    /// `GET <base>/models`.
    ModelList,
    /// `GET <base>/key`.
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

    /// How a message names OpenRouter's answer to the call ("OpenRouter's {answer} ...").
    fn answer(self) -> String {
        match self {
            // The list is itself the answer: "the answer to the model list" would say it twice.
            Self::ModelList => "model list".to_owned(),
            Self::Model | Self::KeyCheck => format!("answer to {}", self.name()),
        }
    }
}

/// OpenRouter's answer to `call` could not be read: `what` says how it is wrong ("is not the
/// JSON it should be", "has no choices").
pub(crate) fn malformed(call: Call, what: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "OpenRouter's {} {what}: try again, and report it if it persists",
        call.answer()
    ))
}

/// A refused `call` as one line: what the status means for the user, plus OpenRouter's words
/// with `key` scrubbed from them.
pub(crate) fn refusal(call: Call, response: &HttpResponse, key: &str) -> ModelError {
    let status = response.status;
    let answered = |meaning: &str| {
        let answered = match call {
            // The model call is what the user ran, so its messages do not name it.
            Call::Model => format!("OpenRouter answered HTTP {status}: {meaning}"),
            Call::ModelList | Call::KeyCheck => format!(
                "OpenRouter answered HTTP {status} to {}: {meaning}",
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
        (_, 402) => ModelError::RateLimited(answered(
            "the account is out of credits: add credits at https://openrouter.ai/settings/credits",
        )),
        (_, 429) => {
            ModelError::RateLimited(answered("too many requests: wait a minute and try again"))
        }
        // OpenRouter's 403 is moderation: the input was flagged, not the key refused.
        (Call::Model, 403) => {
            ModelError::InvalidRequest(answered("the input was flagged by the model's moderation"))
        }
        (Call::Model, 404) => ModelError::InvalidRequest(answered(
            "no such model: check the model id at https://openrouter.ai/models",
        )),
        (Call::Model, 400 | 413 | 422) => {
            ModelError::InvalidRequest(answered("the request was refused"))
        }
        (Call::Model, 408 | 500..=599) => ModelError::Service(answered(
            "OpenRouter or the model's provider failed: try again in a minute, or another model",
        )),
        (Call::ModelList | Call::KeyCheck, 408 | 500..=599) => {
            ModelError::Service(answered("OpenRouter failed: try again in a minute"))
        }
        // Nothing the user wrote went with a listing or a key check, so another 4xx says the
        // URL is not OpenRouter's API.
        (Call::ModelList | Call::KeyCheck, 400..=499) => ModelError::InvalidRequest(answered(
            "the request was refused: check the base URL points to OpenRouter's API",
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

    #[test]
    fn each_call_keeps_its_own_meaning_for_a_status() {
        use ModelErrorKind as K;
        let cases = [
            (
                Call::Model,
                403,
                K::InvalidRequest,
                "OpenRouter answered HTTP 403: the input was flagged by the model's moderation",
            ),
            (
                Call::KeyCheck,
                403,
                K::InvalidRequest,
                "OpenRouter answered HTTP 403 to the key check: the request was refused: check the base URL points to OpenRouter's API",
            ),
            (
                Call::Model,
                413,
                K::InvalidRequest,
                "OpenRouter answered HTTP 413: the request was refused",
            ),
            (
                Call::Model,
                405,
                K::Service,
                "OpenRouter answered HTTP 405: unexpected answer: try again, and report it if it persists",
            ),
            (
                Call::ModelList,
                405,
                K::InvalidRequest,
                "OpenRouter answered HTTP 405 to the model list: the request was refused: check the base URL points to OpenRouter's API",
            ),
            (
                Call::Model,
                408,
                K::Service,
                "OpenRouter answered HTTP 408: OpenRouter or the model's provider failed: try again in a minute, or another model",
            ),
            (
                Call::KeyCheck,
                408,
                K::Service,
                "OpenRouter answered HTTP 408 to the key check: OpenRouter failed: try again in a minute",
            ),
            (
                Call::ModelList,
                302,
                K::Service,
                "OpenRouter answered HTTP 302 to the model list: unexpected answer: try again, and report it if it persists",
            ),
            (
                Call::KeyCheck,
                401,
                K::CredentialRejected,
                "OpenRouter rejected the key: HTTP 401",
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
            (
                Call::Model,
                "OpenRouter's answer to the model call is not the JSON it should be: try again, and report it if it persists",
            ),
            (
                Call::ModelList,
                "OpenRouter's model list is not the JSON it should be: try again, and report it if it persists",
            ),
            (
                Call::KeyCheck,
                "OpenRouter's answer to the key check is not the JSON it should be: try again, and report it if it persists",
            ),
        ];
        for (call, want) in cases {
            let err = malformed(call, "is not the JSON it should be");
            assert_eq!(err.kind(), ModelErrorKind::BadResponse);
            assert_eq!(err.to_string(), want);
        }
    }
}
