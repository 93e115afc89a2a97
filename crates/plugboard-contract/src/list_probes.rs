//! Rules the harness checks on every model lister with answers it scripts itself: a key the
//! service rejects ends the listing as a rejected credential, and an answer that is not a model
//! list (JSON of another shape, or not JSON at all) as a bad response, never as an empty or
//! made-up list.
//!
//! A lister may keep its list in the extension and ask its service nothing (a service without
//! a list endpoint); then it must list models whatever the service would say, and these probes
//! have nothing else to check.

use plugboard_core::{
    ErrorChain, HttpError, HttpResponse, ModelErrorKind, ModelLister, ServiceErrors,
};

use crate::list::{Listing, list};
use crate::model_call::test_credential;
use crate::report::Report;
use crate::rules::{LIST_BAD_SHAPE, LIST_KEY_REJECTED};
use crate::subject::Subject;

/// How many requests each probe answers the same way: a lister may page through its list, or
/// retry once, and how many requests it makes is not what these rules are about.
const SENDS: usize = 8;

/// Answers that are 200 but not a model list: JSON of another shape, and a page a proxy or a
/// captive portal sends instead of the service's answer.
const BAD_SHAPES: [(&str, &str); 2] = [
    ("JSON that is not a model list", r#"{"unexpected": true}"#),
    (
        "a body that is not JSON",
        "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
    ),
];

/// `list-key-rejected` and `list-bad-shape`, for a provider with a model lister.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let Some(lister) = subject.provider.model_lister() else {
        return;
    };
    let probe = Probe {
        lister,
        credential: test_credential(subject.provider.as_ref()),
    };
    let name = subject.provider_name();
    if let Some(message) = key_rejected(&probe, subject.service_errors.as_ref()).await {
        report.fail(LIST_KEY_REJECTED, &name, message);
    }
    for (what, body) in BAD_SHAPES {
        if let Some(message) = bad_shape(&probe, what, body).await {
            report.fail(LIST_BAD_SHAPE, &name, message);
        }
    }
}

struct Probe<'a> {
    lister: &'a dyn ModelLister,
    credential: plugboard_core::Credential,
}

impl Probe<'_> {
    /// The listing, every request answered with `answer` (none: no network at all).
    async fn answered(&self, answer: Option<&HttpResponse>) -> (Listing, usize) {
        let replies: Vec<Result<HttpResponse, HttpError>> = answer
            .map(|a| (0..SENDS).map(|_| Ok(a.clone())).collect())
            .unwrap_or_default();
        list(self.lister, &self.credential, replies).await
    }
}

/// What is wrong with a listing that made no request: it must list models from what the
/// extension knows, whatever the service would have said.
fn kept_wrongly(listing: &Listing) -> Option<String> {
    match listing {
        Ok(Ok(models)) if !models.is_empty() => None,
        Ok(Ok(_)) => Some(
            "the lister asked its service nothing and listed no models: list the models the extension knows, or ask the service"
                .to_owned(),
        ),
        Ok(Err(e)) => Some(format!(
            "the lister asked its service nothing and failed ({}: {}): list the models the extension knows, or ask the service",
            e.kind(),
            ErrorChain(e)
        )),
        Err(trouble) => Some(format!("the lister {trouble}: it must return")),
    }
}

async fn key_rejected(probe: &Probe<'_>, errors: Option<&ServiceErrors>) -> Option<String> {
    let Some(errors) = errors else {
        // Without the service's answers, only a lister that asks nothing can be checked.
        let (listing, sent) = probe.answered(None).await;
        if sent == 0 {
            return kept_wrongly(&listing);
        }
        return Some(
            "provider has a model lister that asks its service, but registers no service errors: register ProviderRegistration::service_errors (how its service answers a rejected key), so the harness can probe the lister in the service's own error shape"
                .to_owned(),
        );
    };
    let answer = &errors.rejected;
    let (listing, sent) = probe.answered(Some(answer)).await;
    if sent == 0 {
        return kept_wrongly(&listing);
    }
    let case = format!(
        "when the service answers HTTP {} to the key (ServiceErrors::rejected)",
        answer.status
    );
    let fix = "return ModelError::CredentialRejected, so the host can say to sign in again";
    match listing {
        Err(trouble) => Some(format!("{case}, the lister {trouble}: it must return")),
        Ok(Ok(models)) => Some(format!(
            "{case}, the listing succeeded with {} model(s): {fix}",
            models.len()
        )),
        Ok(Err(e)) if e.kind() != ModelErrorKind::CredentialRejected => Some(format!(
            "{case}, the listing failed with {} ({}): {fix}",
            e.kind(),
            ErrorChain(&e)
        )),
        Ok(Err(_)) => None,
    }
}

async fn bad_shape(probe: &Probe<'_>, what: &str, body: &str) -> Option<String> {
    let (listing, sent) = probe.answered(Some(&HttpResponse::new(200, body))).await;
    let case = format!("when the service answers HTTP 200 with {what}");
    let fix = "return ModelError::BadResponse when the answer is not the documented model list, never an empty or partial list";
    match listing {
        Err(trouble) => Some(format!("{case}, the lister {trouble}: it must return")),
        // A lister that asks nothing is checked by list-key-rejected.
        Ok(_) if sent == 0 => None,
        Ok(Ok(models)) => Some(format!(
            "{case}, the listing succeeded with {} model(s): {fix}",
            models.len()
        )),
        Ok(Err(e)) if e.kind() != ModelErrorKind::BadResponse => Some(format!(
            "{case}, the listing failed with {} ({}): {fix}",
            e.kind(),
            ErrorChain(&e)
        )),
        Ok(Err(_)) => None,
    }
}
