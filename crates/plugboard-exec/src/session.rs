//! One running plugin and the exchange with it: the `hello` that agrees on a version, then one
//! request at a time, the plugin's prompts, URLs and notes relayed while the host waits, each
//! request bounded in time and in the number of messages it may take.

use std::time::Duration;

use plugboard_core::async_trait;
use plugboard_protocol::{
    Answer, DecodeError, HostMessage, MAX_LINE_BYTES, PROTOCOL_VERSIONS, PluginMessage, PromptKind,
    decode, negotiate,
};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::time::Instant;

use crate::connection::{Connection, Line};
use crate::error::ExecError;
use crate::options::ExecOptions;
use crate::process::{Launch, PluginProcess};

/// The most messages (prompts, URLs, notes) a plugin may send for one request: far more than
/// any real exchange needs, and few enough that an endless stream fails fast.
pub const MAX_MESSAGES_PER_REQUEST: usize = 1000;

/// What the host does with the messages a plugin sends while it works on a request. Time spent
/// here (waiting for the user) does not count against the request's time limit.
#[async_trait]
pub(crate) trait Relay: Send {
    /// Asks the user; the answer goes back to the plugin.
    async fn prompt(&mut self, kind: PromptKind, message: &str, items: &[String]) -> Answer;
    /// Opens a URL, or says why not.
    fn open_url(&mut self, url: &str) -> Answer;
    /// Tells the user something.
    fn note(&mut self, message: &str);
}

/// One request: its name for messages, the answer it expects, and how to build it with its id.
pub(crate) struct Request<F> {
    /// The request's `type` (`sign_in`).
    pub(crate) name: &'static str,
    /// The `type` of a successful answer (`signed_in`); `failed` is always accepted.
    pub(crate) answer: &'static str,
    /// Builds the message from its id.
    pub(crate) build: F,
}

/// A running plugin that has said `hello`.
pub(crate) struct Session {
    plugin: String,
    process: PluginProcess,
    connection: Connection<ChildStdin, ChildStdout>,
    next_id: u64,
    /// When the options' total limit for the plugin runs out (moved on by the time spent
    /// waiting for the user), and that limit.
    total: Option<(Instant, Duration)>,
}

impl Session {
    /// Starts the plugin and agrees on a version: its `hello` must come within the options'
    /// limit, name this plugin, and offer a version this host speaks.
    pub(crate) async fn start(
        launch: &Launch<'_>,
        options: &ExecOptions,
    ) -> Result<Self, ExecError> {
        let (process, stdin, stdout) = PluginProcess::spawn(launch, options)?;
        let mut session = Self {
            plugin: launch.plugin.to_owned(),
            process,
            connection: Connection::new(stdin, stdout),
            next_id: 0,
            total: options
                .total_limit
                .map(|limit| (Instant::now() + limit, limit)),
        };
        match session.hello(options.hello_timeout).await {
            Ok(()) => {
                session.process.forget_stderr();
                Ok(session)
            }
            Err(error) => {
                session.process.show_stderr().await;
                Err(error)
            }
        }
    }

    async fn hello(&mut self, limit: Duration) -> Result<(), ExecError> {
        let deadline = Instant::now() + limit;
        let Some(message) = self.read(self.until(deadline)).await? else {
            let no_hello = ExecError::NoHello {
                plugin: self.plugin.clone(),
                seconds: limit.as_secs(),
            };
            return Err(self.out_of_time(deadline, no_hello));
        };
        let PluginMessage::Hello {
            plugin, versions, ..
        } = message
        else {
            return Err(ExecError::BadAnswer {
                plugin: self.plugin.clone(),
                problem: format!("sent {} before hello", kind(&message)),
            });
        };
        if plugin != self.plugin {
            return Err(ExecError::Impostor {
                plugin: self.plugin.clone(),
                said: plugboard_core::sanitize_line(&plugin, 64),
            });
        }
        let Some(version) = negotiate(PROTOCOL_VERSIONS, &versions) else {
            return Err(ExecError::Version {
                plugin: self.plugin.clone(),
                theirs: versions.into_iter().take(16).collect(),
                ours: PROTOCOL_VERSIONS.to_vec(),
            });
        };
        self.send(&HostMessage::Start { version }, deadline, limit)
            .await
    }

    /// Sends one request and relays the plugin's messages until it answers, within `limit`
    /// (time spent in `relay` excluded). Returns the answer of the expected type or `failed`;
    /// anything else fails the call. The plugin's stderr is shown when the call fails (or
    /// by [`Session::stop`] when the host refuses the answer).
    pub(crate) async fn request<F: FnOnce(u64) -> HostMessage>(
        &mut self,
        request: Request<F>,
        limit: Duration,
        relay: &mut dyn Relay,
    ) -> Result<PluginMessage, ExecError> {
        self.process.forget_stderr();
        let result = self.exchange(request, limit, relay).await;
        if matches!(result, Ok(PluginMessage::Failed { .. }) | Err(_)) {
            self.process.show_stderr().await;
        }
        result
    }

    /// Stops the plugin, whose last answer the host refused, showing its stderr since the
    /// request.
    pub(crate) async fn stop(&mut self) {
        self.process.stop().await;
    }

    async fn exchange<F: FnOnce(u64) -> HostMessage>(
        &mut self,
        request: Request<F>,
        limit: Duration,
        relay: &mut dyn Relay,
    ) -> Result<PluginMessage, ExecError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut deadline = Instant::now() + limit;
        self.send(&(request.build)(id), deadline, limit).await?;
        let mut messages = 0usize;
        loop {
            let Some(message) = self.read(self.until(deadline)).await? else {
                let timeout = ExecError::Timeout {
                    plugin: self.plugin.clone(),
                    seconds: limit.as_secs(),
                };
                return Err(self.out_of_time(deadline, timeout));
            };
            if let Some(answered) = answer_id(&message) {
                if answered != id {
                    return Err(ExecError::WrongId {
                        plugin: self.plugin.clone(),
                        asked: id,
                        got: answered,
                    });
                }
                let got = kind(&message);
                if got != request.answer && got != "failed" {
                    return Err(ExecError::WrongAnswer {
                        plugin: self.plugin.clone(),
                        request: request.name,
                        got,
                    });
                }
                return Ok(message);
            }
            messages += 1;
            if messages > MAX_MESSAGES_PER_REQUEST {
                return Err(ExecError::TooManyMessages {
                    plugin: self.plugin.clone(),
                    limit: MAX_MESSAGES_PER_REQUEST,
                });
            }
            let asked = Instant::now();
            let reply = match message {
                PluginMessage::Prompt {
                    id,
                    kind,
                    message,
                    items,
                } => Some((id, relay.prompt(kind, &message, &items).await)),
                PluginMessage::OpenUrl { id, url } => Some((id, relay.open_url(&url))),
                PluginMessage::Note { message } => {
                    relay.note(&message);
                    None
                }
                other => {
                    return Err(ExecError::WrongAnswer {
                        plugin: self.plugin.clone(),
                        request: request.name,
                        got: kind(&other),
                    });
                }
            };
            // The user's time is theirs: the plugin's limits resume once they have answered.
            let paused = asked.elapsed();
            deadline += paused;
            if let Some((end, _)) = &mut self.total {
                *end += paused;
            }
            if let Some((id, answer)) = reply {
                self.send(&HostMessage::Answer { id, answer }, deadline, limit)
                    .await?;
            }
        }
    }

    /// The next message, or `None` if none came by `deadline`.
    async fn read(&mut self, deadline: Instant) -> Result<Option<PluginMessage>, ExecError> {
        let Ok(line) = tokio::time::timeout_at(deadline, self.connection.next_line()).await else {
            return Ok(None);
        };
        let plugin = || self.plugin.clone();
        let message = match line {
            Line::Text(text) => decode(&text).map_err(|e| match e {
                DecodeError::TooLong { .. } => ExecError::LineTooLong {
                    plugin: plugin(),
                    limit: MAX_LINE_BYTES,
                },
                _ => ExecError::NotProtocol { plugin: plugin() },
            }),
            Line::TooLong => Err(ExecError::LineTooLong {
                plugin: plugin(),
                limit: MAX_LINE_BYTES,
            }),
            Line::NotText => Err(ExecError::NotProtocol { plugin: plugin() }),
            Line::End => Err(self.ended().await),
        };
        message.map(Some)
    }

    /// Sends `message`, giving up at `deadline` (that of the request it belongs to, whose
    /// time limit is `limit`) or when the total limit runs out: a plugin that stops reading
    /// its stdin fills the pipe, and a write to a full pipe waits for ever.
    async fn send(
        &mut self,
        message: &HostMessage,
        deadline: Instant,
        limit: Duration,
    ) -> Result<(), ExecError> {
        self.process.hide_secrets_of(message);
        let until = self.until(deadline);
        match tokio::time::timeout_at(until, self.connection.send(message)).await {
            Ok(Ok(())) => Ok(()),
            // A closed stdin is a plugin that has gone.
            Ok(Err(_)) => Err(self.ended().await),
            // The message may be half written: the plugin is stopped, never written to again.
            Err(_) => {
                let not_reading = ExecError::NotReading {
                    plugin: self.plugin.clone(),
                    seconds: limit.as_secs(),
                };
                Err(self.out_of_time(deadline, not_reading))
            }
        }
    }

    /// `deadline`, or the end of the total limit when that comes first.
    fn until(&self, deadline: Instant) -> Instant {
        self.total.map_or(deadline, |(end, _)| end.min(deadline))
    }

    /// What failed when time ran out at [`Session::until`]`(deadline)`: the total limit if it
    /// came first, otherwise `error`, the limit that ends at `deadline`.
    fn out_of_time(&self, deadline: Instant, error: ExecError) -> ExecError {
        match self.total {
            Some((end, limit)) if end < deadline => ExecError::OutOfTime {
                plugin: self.plugin.clone(),
                seconds: limit.as_secs(),
            },
            _ => error,
        }
    }

    async fn ended(&mut self) -> ExecError {
        ExecError::Exited {
            plugin: self.plugin.clone(),
            status: self.process.ending().await,
        }
    }
}

/// The request id a final answer carries; `None` for the messages sent while working.
fn answer_id(message: &PluginMessage) -> Option<u64> {
    match message {
        PluginMessage::SignedIn { id, .. }
        | PluginMessage::Refreshed { id, .. }
        | PluginMessage::ModelReply { id, .. }
        | PluginMessage::Models { id, .. }
        | PluginMessage::Fixtures { id, .. }
        | PluginMessage::Failed { id, .. } => Some(*id),
        PluginMessage::Hello { .. }
        | PluginMessage::Prompt { .. }
        | PluginMessage::OpenUrl { .. }
        | PluginMessage::Note { .. } => None,
    }
}

/// A message's `type`, for errors.
pub(crate) fn kind(message: &PluginMessage) -> &'static str {
    match message {
        PluginMessage::Hello { .. } => "hello",
        PluginMessage::Prompt { .. } => "prompt",
        PluginMessage::OpenUrl { .. } => "open_url",
        PluginMessage::Note { .. } => "note",
        PluginMessage::SignedIn { .. } => "signed_in",
        PluginMessage::Refreshed { .. } => "refreshed",
        PluginMessage::ModelReply { .. } => "model_reply",
        PluginMessage::Models { .. } => "models",
        PluginMessage::Fixtures { .. } => "fixtures",
        PluginMessage::Failed { .. } => "failed",
    }
}
