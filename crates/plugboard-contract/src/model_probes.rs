//! Rules the harness checks with answers it scripts itself, the same for every provider with a
//! model runner, each in the provider's own error shape ([`ServiceErrors`]): a key the service
//! rejects is reported as rejected, an access token the service calls expired as expired, and
//! the credential never shows in what a call returns, even when the service echoes it back in
//! upper case or with invisible characters inside.

use plugboard_core::{
    Credential, ErrorChain, HttpResponse, ModelErrorKind, ModelRef, ModelRequest, ModelRunner,
    ServiceErrors,
};

use crate::model_call::{
    Outcome, call, shown_in_model_error, shown_secret, test_credential, test_key,
};
use crate::report::Report;
use crate::rules::{MODEL_KEY_REJECTED, MODEL_SECRET_HIDDEN, MODEL_TOKEN_EXPIRED};
use crate::subject::Subject;

/// The prompt of every probe.
const PROMPT: &str = "Say hello.";
/// The model a probe asks for when neither a model fixture nor the default model names one.
const FALLBACK_MODEL: &str = "contract-test-model";
/// How often each scripted answer is given: a request may be sent twice (one retry), and how
/// often a runner retries is not what these rules are about.
const SENDS: usize = 2;

/// One runner probed with the test credential its provider's users would have.
struct Probe<'a> {
    runner: &'a dyn ModelRunner,
    credential: Credential,
    request: ModelRequest,
    name: String,
}

impl Probe<'_> {
    /// The call, its service giving `answer` to every request.
    async fn answered(&self, answer: &HttpResponse) -> Outcome {
        let replies = (0..SENDS).map(|_| Ok(answer.clone())).collect();
        call(self.runner, &self.credential, &self.request, replies).await
    }
}

/// `model-key-rejected`, `model-token-expired` and `model-secret-hidden`, for a provider with a
/// model runner and its service errors (`model-fixtures-present` reports a runner without them).
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let Some(runner) = subject.provider.model_runner() else {
        return;
    };
    let Some(errors) = &subject.service_errors else {
        return;
    };
    let probe = Probe {
        runner,
        credential: test_credential(subject.provider.as_ref()),
        request: ModelRequest::new(model(subject), PROMPT),
        name: subject.provider_name(),
    };
    key_rejected(&probe, errors, report).await;
    token_expired(
        &probe,
        errors,
        subject.provider.refresher().is_some(),
        report,
    )
    .await;
    // A credential of kind none sends nothing secret, so there is nothing a service could echo.
    if probe.credential.has_secret() {
        secret_hidden(&probe, errors, report).await;
    }
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

/// What is wrong when a call the service answered with `answer` did not fail as `want`, or
/// `None` when it did. `fix` says what the runner must return instead.
async fn must_fail_as(
    probe: &Probe<'_>,
    answer: &HttpResponse,
    want: ModelErrorKind,
    case: &str,
    fix: &str,
) -> Option<String> {
    match probe.answered(answer).await {
        Err(trouble) => Some(format!("{case}, the runner {trouble}: it must return")),
        Ok(Ok(_)) => Some(format!("{case}, the call succeeded: {fix}")),
        Ok(Err(e)) if e.kind() != want => Some(format!(
            "{case}, the call failed with {} ({}): {fix}",
            e.kind(),
            ErrorChain(&e)
        )),
        Ok(Err(_)) => None,
    }
}

async fn key_rejected(probe: &Probe<'_>, errors: &ServiceErrors, report: &mut Report) {
    let answer = &errors.rejected;
    let case = format!(
        "when the service answers HTTP {} to the key (ServiceErrors::rejected)",
        answer.status
    );
    let fix = "return ModelError::CredentialRejected, so the host can say to sign in again";
    if let Some(message) = must_fail_as(
        probe,
        answer,
        ModelErrorKind::CredentialRejected,
        &case,
        fix,
    )
    .await
    {
        report.fail(MODEL_KEY_REJECTED, &probe.name, message);
    }
}

/// A provider whose credentials expire must say how its service answers an expired access
/// token, and its runner must tell that answer from a rejected key: the host refreshes and
/// retries on the one, and asks the user to sign in again on the other.
async fn token_expired(
    probe: &Probe<'_>,
    errors: &ServiceErrors,
    refreshes: bool,
    report: &mut Report,
) {
    let Some(answer) = &errors.expired else {
        if refreshes {
            report.fail(
                MODEL_TOKEN_EXPIRED,
                &probe.name,
                "provider has a refresher but its service errors give no answer for an expired access token: set ServiceErrors::expired to what its service documents (status and body)",
            );
        }
        return;
    };
    let case = format!(
        "when the service answers HTTP {} that the access token has expired (ServiceErrors::expired)",
        answer.status
    );
    let fix = "return ModelError::CredentialExpired, so the host refreshes the token and tries again (and keep ServiceErrors::rejected a CredentialRejected)";
    if let Some(message) =
        must_fail_as(probe, answer, ModelErrorKind::CredentialExpired, &case, fix).await
    {
        report.fail(MODEL_TOKEN_EXPIRED, &probe.name, message);
    }
}

async fn secret_hidden(probe: &Probe<'_>, errors: &ServiceErrors, report: &mut Report) {
    for (disguise, key) in disguised_keys() {
        for (answer, response) in echoes(errors, &key) {
            let case = format!("when the service echoes the key {disguise} in {answer}");
            if let Some(message) = leak(&case, probe.answered(&response).await) {
                report.fail(MODEL_SECRET_HIDDEN, &probe.name, message);
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

/// Answers quoting `key`: error answers in the service's own shape
/// ([`ServiceErrors::error_with_message`]), and a success that is not JSON.
fn echoes(errors: &ServiceErrors, key: &str) -> [(&'static str, HttpResponse); 4] {
    let error = &errors.error_with_message;
    [
        ("a 401", error(401, &format!("Invalid key {key}"))),
        (
            "a 500",
            error(500, &format!("Internal error while handling key {key}")),
        ),
        (
            "a 400",
            error(400, &format!("Bad request sent with key {key}")),
        ),
        (
            "a 200 that is not JSON",
            HttpResponse::new(
                200,
                format!("<html><body>Signed in with {key}</body></html>"),
            ),
        ),
    ]
}

/// Where `outcome` shows a secret of the credential, as a failure message.
fn leak(case: &str, outcome: Outcome) -> Option<String> {
    let showing =
        match outcome {
            Err(trouble) => return Some(format!("{case}, the runner {trouble}: it must return")),
            Ok(Err(e)) => shown_in_model_error(&e)?,
            Ok(Ok(reply)) => {
                // Debug escapes invisible characters, which would hide a disguised key from the
                // check, so the outputs are searched as they are too.
                let shown =
                    std::iter::once(format!("{reply:?}"))
                        .chain(reply.outputs.iter().flat_map(|o| {
                            std::iter::once(o.text.clone()).chain(o.media_url.clone())
                        }))
                        .find_map(|text| shown_secret(&text));
                match shown {
                    Some(secret) => format!("the reply shows {secret}"),
                    None => return None,
                }
            }
        };
    Some(format!(
        "{case}, {showing}: never quote the credential's key or tokens, and quote a service's words only scrubbed of them (plugboard_core::scrub_secret) and sanitised"
    ))
}
