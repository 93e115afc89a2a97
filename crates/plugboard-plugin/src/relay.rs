//! The plugin's side of the conversation while a request runs: messages out to the host (in
//! order, through one queue), and the host's answers routed back to whoever asked. A sign-in's
//! prompts, notes and browser go through here, so a method written for the terminal works
//! unchanged in a plugin that has none.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use plugboard_core::{
    OpenUrlError, Progress, PromptError, Prompter, UrlOpener, async_trait, sanitize_line,
};
use plugboard_protocol::{Answer, AnswerError, AnswerFailure, PluginMessage, PromptKind};
use tokio::sync::{mpsc, oneshot};

/// What the writer is told: write this message, or stop (`None`) once the queue before it is
/// written.
pub(crate) type Outgoing = Option<PluginMessage>;

/// Longest text of the host's own taken into an error.
const MAX_HOST_TEXT: usize = 200;

/// Who waits for the answer to one prompt or `open_url`.
type Waiter = Box<dyn FnOnce(Answer) + Send>;

#[derive(Default)]
struct Waiting {
    /// The host will answer nothing more (its stdin closed, or the session ended).
    closed: bool,
    by_id: HashMap<u64, Waiter>,
}

/// Messages to the host, and answers from it.
pub(crate) struct Relay {
    outbox: mpsc::UnboundedSender<Outgoing>,
    waiting: Mutex<Waiting>,
    next_id: AtomicU64,
}

impl Relay {
    pub(crate) fn new(outbox: mpsc::UnboundedSender<Outgoing>) -> Self {
        Self {
            outbox,
            waiting: Mutex::new(Waiting::default()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Queues `message` for the host. A writer that has stopped drops it: the session is
    /// ending and says why.
    pub(crate) fn send(&self, message: PluginMessage) {
        let _ = self.outbox.send(Some(message));
    }

    /// Sends the message `ask` builds for a fresh id, with `waiter` called on the host's
    /// answer. The waiter is registered first, so even an instant answer finds it; once the
    /// host can answer nothing more, it is dropped unanswered and nothing is sent.
    fn ask(&self, ask: impl FnOnce(u64) -> PluginMessage, waiter: Waiter) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut waiting = self.lock();
            if waiting.closed {
                return;
            }
            waiting.by_id.insert(id, waiter);
        }
        self.send(ask(id));
    }

    /// Hands the host's answer to whoever asked `id`; `false` if nobody did.
    pub(crate) fn answer(&self, id: u64, answer: Answer) -> bool {
        let waiter = self.lock().by_id.remove(&id);
        match waiter {
            Some(waiter) => {
                waiter(answer);
                true
            }
            None => false,
        }
    }

    /// The host will answer nothing more: every waiter is dropped, so whoever waits learns it.
    pub(crate) fn close(&self) {
        let mut waiting = self.lock();
        waiting.closed = true;
        waiting.by_id.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // The map stays consistent whatever panicked while holding it: one insert or remove.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the host a `prompt` and waits for its answer.
    async fn prompt(
        &self,
        kind: PromptKind,
        message: &str,
        items: &[String],
    ) -> Result<Answer, PromptError> {
        let (tx, rx) = oneshot::channel();
        self.ask(
            |id| PluginMessage::Prompt {
                id,
                kind,
                message: message.to_owned(),
                items: items.to_vec(),
            },
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        );
        match rx.await {
            Ok(Answer::Error(error)) => Err(prompt_error(&error, message)),
            Ok(answer) => Ok(answer),
            Err(_) => Err(PromptError::EndOfInput),
        }
    }
}

/// The host's reason for not answering a prompt, as the core's prompt error.
fn prompt_error(error: &AnswerError, prompt: &str) -> PromptError {
    match error.kind {
        AnswerFailure::Cancelled => PromptError::Cancelled,
        AnswerFailure::EndOfInput => PromptError::EndOfInput,
        AnswerFailure::NotInteractive => PromptError::NotInteractive {
            prompt: prompt.to_owned(),
        },
        _ => PromptError::Io(host_reason(error, "the host could not ask")),
    }
}

/// The host's own words for a failure, made safe, or `fallback` when it gave none.
fn host_reason(error: &AnswerError, fallback: &str) -> String {
    let said = sanitize_line(&error.message, MAX_HOST_TEXT);
    if said.is_empty() {
        fallback.to_owned()
    } else {
        said
    }
}

/// An answer of the wrong kind for the prompt asked.
fn mismatched(asked: &str, answer: &Answer) -> PromptError {
    PromptError::Io(format!(
        "the host answered {asked} with {}",
        answer_name(answer)
    ))
}

/// A [`Prompter`] that asks the host: each question is a `prompt` the host answers, each note
/// and progress message a `note`.
pub(crate) struct RelayPrompter(pub(crate) Arc<Relay>);

#[async_trait]
impl Prompter for RelayPrompter {
    async fn text(&self, prompt: &str) -> Result<String, PromptError> {
        match self.0.prompt(PromptKind::Text, prompt, &[]).await? {
            Answer::Text(text) => Ok(text),
            other => Err(mismatched("a text prompt", &other)),
        }
    }

    async fn secret(&self, prompt: &str) -> Result<secrecy::SecretString, PromptError> {
        match self.0.prompt(PromptKind::Secret, prompt, &[]).await? {
            Answer::Secret(secret) => Ok(secret.0.into()),
            other => Err(mismatched("a secret prompt", &other)),
        }
    }

    async fn select(&self, prompt: &str, items: &[String]) -> Result<usize, PromptError> {
        match self.0.prompt(PromptKind::Select, prompt, items).await? {
            Answer::Index(index) if index < items.len() => Ok(index),
            Answer::Index(index) => Err(PromptError::Io(format!(
                "the host picked item {index} of {}",
                items.len()
            ))),
            other => Err(mismatched("a choice", &other)),
        }
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        let progress = RelayProgress {
            relay: Arc::clone(&self.0),
            last: String::new(),
        };
        let mut progress = Box::new(progress);
        progress.set_message(message);
        progress
    }

    fn note(&self, message: &str) {
        self.0.send(PluginMessage::Note {
            message: message.to_owned(),
        });
    }
}

/// A progress line as notes: the host has no spinner for a plugin, so each new message is a
/// line of its own (repeats left out).
struct RelayProgress {
    relay: Arc<Relay>,
    last: String,
}

impl Progress for RelayProgress {
    fn set_message(&mut self, message: &str) {
        if message.is_empty() || message == self.last {
            return;
        }
        message.clone_into(&mut self.last);
        self.relay.send(PluginMessage::Note {
            message: message.to_owned(),
        });
    }

    fn finish(mut self: Box<Self>, message: &str) {
        self.set_message(message);
    }
}

/// A [`UrlOpener`] that asks the host to open the URL, and waits for its answer.
///
/// The core's opener is synchronous, so this blocks the calling thread until the host answers;
/// the session runs each request on a thread of its own for that reason, while the host's
/// answers are read elsewhere.
pub(crate) struct RelayOpener(pub(crate) Arc<Relay>);

impl UrlOpener for RelayOpener {
    fn open(&self, url: &str) -> Result<(), OpenUrlError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.0.ask(
            |id| PluginMessage::OpenUrl {
                id,
                url: url.to_owned(),
            },
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        );
        let reason = match rx.recv() {
            Ok(Answer::Opened) => return Ok(()),
            Ok(Answer::Error(error)) => host_reason(&error, "the host could not open it"),
            Ok(other) => format!("the host answered with {}", answer_name(&other)),
            Err(_) => "the host closed the session".to_owned(),
        };
        Err(OpenUrlError { reason })
    }
}

/// What kind of answer `answer` is, for a message (never its content: it may be a secret).
fn answer_name(answer: &Answer) -> &'static str {
    match answer {
        Answer::Text(_) => "text",
        Answer::Secret(_) => "a secret",
        Answer::Index(_) => "a choice",
        Answer::Opened => "opened",
        Answer::Error(_) => "an error",
    }
}
