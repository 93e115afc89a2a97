//! The context a device-code sign-in runs in under the harness, the same for every provider:
//! the fixture's replies as the service, a clock that passes time at once, a prompter that
//! answers nothing (the session is not interactive), a browser that opens nothing, and one log
//! of everything the method did in order, so a wait can be told apart from the poll it came
//! before.

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use plugboard_core::{
    AuthContext, Clock, HostServices, HttpClient, HttpError, HttpRequest, HttpResponse,
    OpenUrlError, Progress, PromptError, Prompter, Random, ScriptedClock, ScriptedHttp, Session,
    UrlOpener, async_trait,
};
use secrecy::SecretString;
use tokio::sync::Notify;

/// How many requests and waits a run may make in all. A scripted run needs a handful; a method
/// that polls on after the script has run out (retrying "no network" forever, say) is stopped
/// here, since the scripted clock's waits pass at once and its loop would never end.
pub(crate) const MAX_STEPS: usize = 1_000;

/// One thing a method did, in the order it did it.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// A request, by method and URL without its query.
    Sent(String),
    /// A wait on the clock.
    Slept(Duration),
    /// Text shown to the user: a note, a progress line, a prompt.
    Shown(String),
}

/// Everything one run did, shared by the pieces of its context, with a budget of requests and
/// waits past which the run is stopped.
#[derive(Default)]
pub(crate) struct Log {
    events: Mutex<Vec<Event>>,
    steps: AtomicUsize,
    pub(crate) stopped: Notify,
}

impl Log {
    fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// Records a request or a wait; `false` once the budget is spent, when the run is stopped.
    fn step(&self, event: Event) -> bool {
        if self.steps.fetch_add(1, Ordering::Relaxed) >= MAX_STEPS {
            // A stored permit: the run may not be waiting on it yet.
            self.stopped.notify_one();
            return false;
        }
        self.push(event);
        true
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The fixture's replies as the service, each request noted.
struct LoggedHttp {
    inner: ScriptedHttp,
    log: Arc<Log>,
}

#[async_trait]
impl HttpClient for LoggedHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.url.split(['?', '#']).next().unwrap_or_default();
        if !self
            .log
            .step(Event::Sent(format!("{} {url}", request.method.as_str())))
        {
            return pending().await;
        }
        self.inner.send(request).await
    }
}

/// A [`ScriptedClock`] whose waits are also noted in the run's log.
struct LoggedClock {
    inner: ScriptedClock,
    log: Arc<Log>,
}

#[async_trait]
impl Clock for LoggedClock {
    fn now(&self) -> std::time::SystemTime {
        self.inner.now()
    }

    async fn sleep(&self, duration: Duration) {
        if !self.log.step(Event::Slept(duration)) {
            return pending().await;
        }
        self.inner.sleep(duration).await;
    }
}

/// Notes everything shown to the user and answers nothing: the session is not interactive,
/// and a device-code sign-in has nothing to ask.
struct LoggedPrompter {
    log: Arc<Log>,
}

impl LoggedPrompter {
    fn asked(&self, prompt: &str) -> PromptError {
        self.log.push(Event::Shown(prompt.to_owned()));
        PromptError::EndOfInput
    }
}

#[async_trait]
impl Prompter for LoggedPrompter {
    async fn text(&self, prompt: &str) -> Result<String, PromptError> {
        Err(self.asked(prompt))
    }

    async fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        Err(self.asked(prompt))
    }

    async fn select(&self, prompt: &str, _items: &[String]) -> Result<usize, PromptError> {
        self.log.push(Event::Shown(prompt.to_owned()));
        Err(PromptError::NotInteractive {
            prompt: prompt.to_owned(),
        })
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        self.log.push(Event::Shown(message.to_owned()));
        Box::new(LoggedProgress {
            log: self.log.clone(),
        })
    }

    fn note(&self, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }
}

/// A progress line whose every message is noted as shown.
struct LoggedProgress {
    log: Arc<Log>,
}

impl Progress for LoggedProgress {
    fn set_message(&mut self, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }

    fn finish(self: Box<Self>, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }
}

/// A browser that opens nothing and says it did: what it is given is not shown to the user
/// (who may be on another machine), so it does not count as showing the URL.
struct QuietBrowser;

impl UrlOpener for QuietBrowser {
    fn open(&self, _url: &str) -> Result<(), OpenUrlError> {
        Ok(())
    }
}

/// Fixed bytes: a device-code sign-in needs no randomness, but the context has a slot for it.
struct FixedBytes;

impl Random for FixedBytes {
    fn fill(&self, dest: &mut [u8]) {
        for (slot, b) in dest.iter_mut().zip(0u8..=u8::MAX) {
            *slot = b;
        }
    }
}

/// A context for one run whose requests are answered with `replies`, everything it does
/// going into `log`: non-interactive, with the default options.
pub(crate) fn logged_context(
    replies: Vec<Result<HttpResponse, HttpError>>,
    log: &Arc<Log>,
) -> AuthContext {
    let http = LoggedHttp {
        inner: ScriptedHttp::new(replies),
        log: log.clone(),
    };
    let clock = LoggedClock {
        inner: ScriptedClock::default(),
        log: log.clone(),
    };
    let mut ctx = AuthContext::new(
        Arc::new(LoggedPrompter { log: log.clone() }),
        Arc::new(QuietBrowser),
        Arc::new(clock),
        Arc::new(FixedBytes),
        HostServices::default().with_http_client(Arc::new(http)),
    );
    ctx.session = Session::new(false, false);
    ctx
}
