//! Rules the harness checks with answers it scripts itself, the same for every provider with a
//! model runner: a key the service rejects is reported as rejected, and the key never shows in
//! what a call returns, even when the service echoes it back in upper case or with invisible
//! characters inside.

use plugboard_core::{
    ErrorChain, HttpError, HttpResponse, ModelErrorKind, ModelRef, ModelRequest, ModelRunner,
};

use crate::model_call::{Outcome, call, shows_key, test_key};
use crate::report::Report;
use crate::rules::{MODEL_KEY_REJECTED, MODEL_SECRET_HIDDEN};
use crate::subject::Subject;

/// The prompt of every probe.
const PROMPT: &str = "Say hello.";
/// The model a probe asks for when neither a model fixture nor the default model names one.
const FALLBACK_MODEL: &str = "contract-test-model";
/// How often each scripted answer is given: a request may be sent twice (one retry), and how
/// often a runner retries is not what these rules are about.
const SENDS: usize = 2;

/// How services answer a key they do not accept, in the OpenRouter / OpenAI error shape. Only
/// 401: a 403 means different things per service (OpenRouter: moderation; OpenAI: region), so
/// the contract leaves it to each provider.
const REJECTIONS: &[(u16, &str)] = &[(
    401,
    r#"{"error":{"message":"No auth credentials found","type":"authentication_error","code":401}}"#,
)];

/// `model-key-rejected` and `model-secret-hidden`, for a provider with a model runner.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let Some(runner) = subject.provider.model_runner() else {
        return;
    };
    let name = subject.provider_name();
    let request = ModelRequest::new(model(subject), PROMPT);
    key_rejected(runner, &request, &name, report).await;
    secret_hidden(runner, &request, &name, report).await;
}

/// The model to ask for: the first model fixture's, else the default model without its
/// provider prefix, else a fixed name.
fn model(subject: &Subject) -> String {
    subject
        .model_fixtures
        .first()
        .map(|f| f.request.model.clone())
        .or_else(|| {
            let default = subject.provider.default_model()?.parse::<ModelRef>().ok()?;
            Some(default.model().to_owned())
        })
        .unwrap_or_else(|| FALLBACK_MODEL.to_owned())
}

/// A service answering every request of one call with `status` and `body`.
fn answering(status: u16, body: &str) -> Vec<Result<HttpResponse, HttpError>> {
    (0..SENDS)
        .map(|_| Ok(HttpResponse::new(status, body.as_bytes().to_vec())))
        .collect()
}

async fn key_rejected(
    runner: &dyn ModelRunner,
    request: &ModelRequest,
    name: &str,
    report: &mut Report,
) {
    for &(status, body) in REJECTIONS {
        let case = format!("when the service answers HTTP {status} to the key");
        let message = match call(runner, request, answering(status, body)).await {
            Err(trouble) => format!("{case}, the runner {trouble}: it must return"),
            Ok(Ok(_)) => {
                format!("{case}, the call succeeded: fail with ModelError::CredentialRejected")
            }
            Ok(Err(e)) if e.kind() != ModelErrorKind::CredentialRejected => format!(
                "{case}, the call failed with {} ({}): return ModelError::CredentialRejected, so the host can say to sign in again",
                e.kind(),
                ErrorChain(&e)
            ),
            Ok(Err(_)) => continue,
        };
        report.fail(MODEL_KEY_REJECTED, name, message);
    }
}

async fn secret_hidden(
    runner: &dyn ModelRunner,
    request: &ModelRequest,
    name: &str,
    report: &mut Report,
) {
    for (disguise, key) in disguised_keys() {
        for (answer, status, body) in echoes(&key) {
            let case = format!("when the service echoes the key {disguise} in {answer}");
            if let Some(message) =
                leak(&case, call(runner, request, answering(status, &body)).await)
            {
                report.fail(MODEL_SECRET_HIDDEN, name, message);
            }
        }
    }
}

/// The test key as a service might echo it: as sent, and in the disguises that defeat a
/// scrubber looking for the exact key.
fn disguised_keys() -> Vec<(&'static str, String)> {
    let key = test_key();
    let inside = |c: char| {
        let middle = key.len() / 2;
        format!("{}{c}{}", &key[..middle], &key[middle..])
    };
    let zero_width: String = key
        .chars()
        .enumerate()
        .flat_map(|(i, c)| std::iter::once(c).chain((i % 4 == 3).then_some('\u{200b}')))
        .collect();
    vec![
        ("as sent", key.clone()),
        ("in upper case", key.to_uppercase()),
        ("with zero-width spaces inside", zero_width),
        ("with a soft hyphen inside", inside('\u{ad}')),
        ("with a control character inside", inside('\u{7}')),
    ]
}

/// Answers quoting `key`: error bodies in the OpenRouter / OpenAI shape, and a success that is
/// not JSON.
fn echoes(key: &str) -> [(&'static str, u16, String); 4] {
    let error = |message: String, code: u16| {
        serde_json::json!({"error": {"message": message, "code": code}}).to_string()
    };
    [
        ("a 401", 401, error(format!("Invalid key {key}"), 401)),
        (
            "a 500",
            500,
            error(format!("Internal error while handling key {key}"), 500),
        ),
        (
            "a 400",
            400,
            error(format!("Bad request sent with key {key}"), 400),
        ),
        (
            "a 200 that is not JSON",
            200,
            format!("<html><body>Signed in with {key}</body></html>"),
        ),
    ]
}

/// Where `outcome` shows the key, as a failure message.
fn leak(case: &str, outcome: Outcome) -> Option<String> {
    let showing = match outcome {
        Err(trouble) => return Some(format!("{case}, the runner {trouble}: it must return")),
        // The whole chain: a cause may carry the service's words while the message does not.
        Ok(Err(e)) => match (
            shows_key(&ErrorChain(&e).to_string()),
            shows_key(&format!("{e:?}")),
        ) {
            (true, true) => "the error's Display and Debug show it",
            (true, false) => "the error's Display shows it",
            (false, true) => "the error's Debug shows it",
            (false, false) => return None,
        },
        // Debug escapes invisible characters, which would hide a disguised key from the check.
        Ok(Ok(reply))
            if shows_key(&format!("{reply:?}"))
                || reply.outputs.iter().any(|o| {
                    shows_key(&o.text) || o.media_url.as_deref().is_some_and(shows_key)
                }) =>
        {
            "the reply shows it"
        }
        Ok(Ok(_)) => return None,
    };
    Some(format!(
        "{case}, {showing}: never quote the key, and quote a service's words only sanitised, without it"
    ))
}
