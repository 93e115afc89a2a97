//! `oauth-state-forged`: every browser sign-in (a method of kind `oauth`) refuses a redirect
//! whose `state` it never issued, before it sends anything. A login that exchanges a forged
//! redirect's code signs the user in to whoever sent it (login CSRF), so this holds for every
//! provider, with the same forged paste.
//!
//! The harness prepares the method's first success fixture (so the method has the settings,
//! environment and service answers it needs), then takes away every way to finish the sign-in
//! but one: no browser, no terminal, and a prompter whose only answer is a pasted redirect
//! carrying a code and a state the method never issued. Its HTTP client records what the
//! method sends and otherwise answers as the fixture's would, so a method that exchanges the
//! forged code succeeds, and is caught.

use std::sync::{Arc, Mutex, PoisonError};

use plugboard_core::{
    AuthKind, AuthMethod, ContractFixture, Expectation, HttpClient, HttpError, HttpRequest,
    HttpResponse, OpenUrlError, Progress, PromptError, Prompter, Session, UrlOpener, async_trait,
};

use secrecy::SecretString;

use crate::guard::guarded;
use crate::report::Report;
use crate::rules::OAUTH_STATE_FORGED;
use crate::subject::Subject;

/// What the forged paste says: a redirect as a browser lands on it (any host, port and path
/// count), with a code and a state the method never issued.
const FORGED_REDIRECT: &str = "http://localhost/callback?code=forged-code&state=forged-state";

/// `oauth-state-forged` for each method of kind `oauth` that has a success fixture (one without
/// fails `fixtures-present`).
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let provider = subject.provider.as_ref();
    let name = subject.provider_name();
    for method in provider.auth_methods() {
        if method.kind() != AuthKind::OAuth {
            continue;
        }
        let fixture = subject.fixtures.iter().find(|f| {
            f.provider_id() == provider.id()
                && f.method_id() == method.id()
                && f.expectation() == Expectation::Succeeds
        });
        if let Some(fixture) = fixture
            && let Some(message) = forged(method.as_ref(), fixture.as_ref()).await
        {
            report.fail(OAUTH_STATE_FORGED, &name, message);
        }
    }
}

/// Runs `method` with the forged paste in `fixture`'s context; what is wrong, if anything.
async fn forged(method: &dyn AuthMethod, fixture: &dyn ContractFixture) -> Option<String> {
    // A fixture that cannot be prepared fails `fixture-outcome`; there is nothing to run here.
    let Ok(Ok(mut prepared)) = guarded(fixture.prepare()).await else {
        return None;
    };
    let http = Arc::new(RecordingHttp::new(
        prepared.context.host.http_client.clone(),
    ));
    let ctx = &mut prepared.context;
    ctx.prompter = Arc::new(PastePrompter::new(FORGED_REDIRECT));
    ctx.url_opener = Arc::new(NoBrowser);
    ctx.session = Session::new(false, ctx.session.remote);
    ctx.options.no_browser = true;
    ctx.options.callback_port = Some(0);
    ctx.host.http_client = http.clone();
    let outcome = guarded(method.run(&mut prepared.context)).await;
    // The fixture's guard (a local double of the service, say) had to live through the run.
    drop(prepared);

    let case = format!(
        "method {:?}, in the context of fixture {:?}, given a pasted redirect whose state it never issued ({FORGED_REDIRECT})",
        method.id(),
        fixture.name()
    );
    let sent = http.sent();
    let sending = match sent.as_slice() {
        [] => String::new(),
        [one] => format!(" after sending {one}"),
        [first, rest @ ..] => format!(" after sending {first} and {} more", rest.len()),
    };
    match outcome {
        Err(trouble) => Some(format!(
            "{case}: the method {trouble}: refuse the redirect at once"
        )),
        Ok(Ok(_)) => Some(format!(
            "{case}: signed in{sending}: compare the pasted state with the one the sign-in issued, before exchanging the code (plugboard_oauth::parse_pasted_redirect does)"
        )),
        Ok(Err(_)) if !sent.is_empty() => Some(format!(
            "{case}: failed, but only{sending}: check the state before sending anything"
        )),
        Ok(Err(_)) => None,
    }
}

/// A prompter whose only answer is one pasted line, given to the first text or secret prompt
/// (a method may read a pasted redirect hidden, as it carries a code); then input has ended.
/// Nothing can be picked from a menu: the session is not interactive.
struct PastePrompter {
    answer: Mutex<Option<String>>,
}

impl PastePrompter {
    fn new(answer: &str) -> Self {
        Self {
            answer: Mutex::new(Some(answer.to_owned())),
        }
    }

    fn take(&self) -> Result<String, PromptError> {
        self.answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or(PromptError::EndOfInput)
    }
}

#[async_trait]
impl Prompter for PastePrompter {
    async fn text(&self, _prompt: &str) -> Result<String, PromptError> {
        self.take()
    }

    async fn secret(&self, _prompt: &str) -> Result<SecretString, PromptError> {
        self.take().map(Into::into)
    }

    async fn select(&self, prompt: &str, _items: &[String]) -> Result<usize, PromptError> {
        Err(PromptError::NotInteractive {
            prompt: prompt.to_owned(),
        })
    }

    fn progress(&self, _message: &str) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }

    fn note(&self, _message: &str) {}
}

/// A progress line that shows nothing.
struct NoProgress;

impl Progress for NoProgress {
    fn set_message(&mut self, _message: &str) {}
    fn finish(self: Box<Self>, _message: &str) {}
}

/// No browser can be opened: only the paste can finish the sign-in.
struct NoBrowser;

impl UrlOpener for NoBrowser {
    fn open(&self, _url: &str) -> Result<(), OpenUrlError> {
        Err(OpenUrlError {
            reason: "the contract's forged-state check has no browser".to_owned(),
        })
    }
}

/// Passes every request on to the fixture's client, noting its method and URL (without the
/// query, which may carry a code).
struct RecordingHttp {
    inner: Arc<dyn HttpClient>,
    sent: Mutex<Vec<String>>,
}

impl RecordingHttp {
    fn new(inner: Arc<dyn HttpClient>) -> Self {
        Self {
            inner,
            sent: Mutex::default(),
        }
    }

    fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl HttpClient for RecordingHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.url.split(['?', '#']).next().unwrap_or_default();
        let line = format!("{} {url}", request.method.as_str());
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
        self.inner.send(request).await
    }
}
