//! One executable plugin as the host's providers share it: started on the first call, one
//! process for the whole command, asked one request at a time, and never asked again once it
//! has broken the protocol.

use std::path::PathBuf;
use std::time::Duration;

use plugboard_core::ExecRuntime;
use plugboard_protocol::{HostMessage, PluginMessage};
use tokio::sync::Mutex;

use crate::error::ExecError;
use crate::options::{DEFAULT_REQUEST_TIMEOUT, ExecOptions};
use crate::process::Launch;
use crate::session::{Relay, Request, Session};

/// The plugin's process, as far as this command has got with it.
enum State {
    /// Not started: nothing has asked it anything yet.
    Idle,
    /// Started and greeted.
    Running(Box<Session>),
    /// Failed to start, or broke the protocol; its process is gone.
    Broken(ExecError),
}

/// An executable plugin: its id, folder and runtime, and its process once started.
pub(crate) struct Plugin {
    pub(crate) id: String,
    dir: PathBuf,
    runtime: ExecRuntime,
    pub(crate) options: ExecOptions,
    state: Mutex<State>,
}

impl Plugin {
    /// The plugin `id` in `dir`, run as `runtime` says; starts nothing.
    pub(crate) fn new(id: &str, dir: PathBuf, runtime: ExecRuntime, options: ExecOptions) -> Self {
        Self {
            id: id.to_owned(),
            dir,
            runtime,
            options,
            state: Mutex::new(State::Idle),
        }
    }

    /// How long one request may take: the manifest's `timeout_secs` (30 s by default), at
    /// least `at_least` (a sign-in that waits for a browser), at most the options' cap.
    pub(crate) fn request_limit(&self, at_least: Duration) -> Duration {
        let own = self
            .runtime
            .timeout_secs
            .map_or(DEFAULT_REQUEST_TIMEOUT, |s| {
                Duration::from_secs(u64::from(s))
            });
        let limit = own.max(at_least);
        match self.options.request_timeout_cap {
            Some(cap) => limit.min(cap),
            None => limit,
        }
    }

    /// Starts the plugin and agrees on a version, unless that has already happened; a plugin
    /// that fails to start is broken for the rest of the command.
    pub(crate) async fn start(&self) -> Result<(), ExecError> {
        let mut state = self.state.lock().await;
        self.started(&mut state).await.map(drop)
    }

    async fn started<'s>(&self, state: &'s mut State) -> Result<&'s mut Session, ExecError> {
        if let State::Idle = state {
            *state = match Session::start(&self.launch(), &self.options).await {
                Ok(session) => State::Running(Box::new(session)),
                Err(error) => State::Broken(error),
            };
        }
        match state {
            State::Running(session) => Ok(session),
            State::Broken(error) => Err(error.clone()),
            // Left just above; said as a failed start rather than a panic.
            State::Idle => Err(ExecError::Exited {
                plugin: self.id.clone(),
                status: "it was never started".to_owned(),
            }),
        }
    }

    /// Sends one request, starting the plugin first if this is the first, and relays its
    /// messages until it answers. A plugin that fails to start or breaks the protocol is killed
    /// and every later call fails with the same error.
    pub(crate) async fn call<F: FnOnce(u64) -> HostMessage>(
        &self,
        request: Request<F>,
        limit: Duration,
        relay: &mut dyn Relay,
    ) -> Result<PluginMessage, ExecError> {
        let mut state = self.state.lock().await;
        let session = self.started(&mut state).await?;
        let result = session.request(request, limit, relay).await;
        if let Err(error) = &result {
            // Dropping the session kills the process.
            *state = State::Broken(error.clone());
        }
        result
    }

    /// Stops the plugin for the rest of the command: it answered, but with something the host
    /// refuses (another provider's profile). Its stderr is shown, as for any failed call.
    /// Returns `error` for the caller to report.
    pub(crate) async fn stop(&self, error: ExecError) -> ExecError {
        let mut state = self.state.lock().await;
        if let State::Running(session) = &mut *state {
            session.stop().await;
        }
        *state = State::Broken(error.clone());
        error
    }

    fn launch(&self) -> Launch<'_> {
        Launch {
            plugin: &self.id,
            dir: &self.dir,
            command: &self.runtime.command,
            env: &self.runtime.env,
        }
    }
}
