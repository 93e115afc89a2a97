//! `check-key-rejected`: a credential check (`models status --check`) the service answers with
//! its rejected answer says the credential is rejected, so the user is told to sign in again
//! rather than that all is well or that the network failed. A check that judges from what is
//! stored and asks nothing passes, as long as it returns.
//!
//! A check gets only a [`ModelContext`](plugboard_core::ModelContext): it cannot refresh or
//! write anything, so there is nothing else to hold it to.

use std::sync::Arc;

use plugboard_core::{
    ErrorChain, HostServices, HttpError, HttpResponse, ModelContext, ModelError, ModelErrorKind,
    ScriptedHttp,
};

use crate::guard::{Trouble, guarded};
use crate::model_call::test_credential;
use crate::report::Report;
use crate::rules::CHECK_KEY_REJECTED;
use crate::subject::Subject;

/// How many requests the probe answers the same way (a check may retry once).
const SENDS: usize = 4;

/// `check-key-rejected`, for a provider with a credential check.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let Some(check) = subject.provider.credential_check() else {
        return;
    };
    let credential = test_credential(subject.provider.as_ref());
    let answer = subject.service_errors.as_ref().map(|e| &e.rejected);
    let replies: Vec<Result<HttpResponse, HttpError>> = answer
        .map(|a| (0..SENDS).map(|_| Ok(a.clone())).collect())
        .unwrap_or_default();
    let http = Arc::new(ScriptedHttp::new(replies));
    let ctx = ModelContext::new(
        credential,
        HostServices::default().with_http_client(http.clone()),
    );
    let outcome = guarded(check.check(&ctx)).await;
    let sent = http.requests().len();
    if let Some(message) = checked_wrongly(outcome, sent, answer) {
        report.fail(CHECK_KEY_REJECTED, subject.provider_name(), message);
    }
}

/// What is wrong with how a check ended, having sent `sent` requests, each answered with
/// `answer` (or with "no network" when the provider registers no service errors).
fn checked_wrongly(
    outcome: Result<Result<(), ModelError>, Trouble>,
    sent: usize,
    answer: Option<&HttpResponse>,
) -> Option<String> {
    let Some(answer) = answer else {
        return match outcome {
            Err(trouble) => Some(format!("the check {trouble}: it must return")),
            // Without the service's answers, only a check that asks nothing can be judged.
            Ok(_) if sent == 0 => None,
            Ok(_) => Some(
                "provider has a credential check that asks its service, but registers no service errors: register ProviderRegistration::service_errors (how its service answers a rejected key), so the harness can probe the check in the service's own error shape"
                    .to_owned(),
            ),
        };
    };
    let case = format!(
        "when the service answers HTTP {} to the key (ServiceErrors::rejected)",
        answer.status
    );
    let fix = "return ModelError::CredentialRejected, so the host can say to sign in again";
    match outcome {
        Err(trouble) => Some(format!("{case}, the check {trouble}: it must return")),
        // A check that judges from what is stored asks nothing.
        Ok(_) if sent == 0 => None,
        Ok(Ok(())) => Some(format!("{case}, the check passed the credential: {fix}")),
        Ok(Err(e)) if e.kind() != ModelErrorKind::CredentialRejected => Some(format!(
            "{case}, the check failed with {} ({}): {fix}",
            e.kind(),
            ErrorChain(&e)
        )),
        Ok(Err(_)) => None,
    }
}
