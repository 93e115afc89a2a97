//! How a call into an executable plugin fails when the plugin, not its service, is at fault:
//! one typed error per way a plugin can break the protocol, each one line naming the plugin,
//! and how each becomes the sign-in, model or refresh error the host already handles.

use std::sync::Arc;

use plugboard_core::{AuthError, ModelError, RefreshError};
use thiserror::Error;

/// A plugin that could not be started, or broke the protocol. Once a plugin has failed like
/// this its process is gone, and every later call in the same command fails with the same
/// error (cloned), so one broken plugin costs one time limit, not one per call.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The program could not be started (missing, not executable, not on `PATH`).
    #[error("plugin {plugin}: cannot start {program}")]
    Spawn {
        /// The plugin id.
        plugin: String,
        /// The program as its manifest names it.
        program: String,
        /// What the system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A bare program name that no `PATH` entry holds.
    #[error("plugin {plugin}: cannot start {program}: it is not on PATH")]
    NotOnPath {
        /// The plugin id.
        plugin: String,
        /// The program as its manifest names it.
        program: String,
    },
    /// The plugin's process ended (or closed its output) while the host waited for it.
    #[error("plugin {plugin}: exited before answering ({status})")]
    Exited {
        /// The plugin id.
        plugin: String,
        /// How it ended, in words (`exit status 1`, `killed by signal 9`, `still running`).
        status: String,
    },
    /// No `hello` within [`HELLO_TIMEOUT`](crate::HELLO_TIMEOUT) (or the options' limit).
    #[error("plugin {plugin}: did not say hello within {seconds} s")]
    NoHello {
        /// The plugin id.
        plugin: String,
        /// The limit.
        seconds: u64,
    },
    /// No answer to a request within its time limit (time spent waiting for the user excluded).
    #[error("plugin {plugin}: did not answer within {seconds} s")]
    Timeout {
        /// The plugin id.
        plugin: String,
        /// The limit.
        seconds: u64,
    },
    /// The plugin used up the time the options allow it in all
    /// ([`ExecOptions::total_limit`](crate::ExecOptions::total_limit)), however quickly it
    /// answered each request.
    #[error("plugin {plugin}: took more than the {seconds} s it is allowed in all")]
    OutOfTime {
        /// The plugin id.
        plugin: String,
        /// The limit.
        seconds: u64,
    },
    /// The plugin stopped reading what the host sends: a message could not be written within
    /// the time limit of the request (or of `hello`) it belongs to.
    #[error("plugin {plugin}: did not read its input within {seconds} s")]
    NotReading {
        /// The plugin id.
        plugin: String,
        /// The limit.
        seconds: u64,
    },
    /// A line that does not decode as a message from a plugin (or is not UTF-8).
    #[error("plugin {plugin}: wrote something that is not a protocol message")]
    NotProtocol {
        /// The plugin id.
        plugin: String,
    },
    /// A line longer than the protocol allows.
    #[error("plugin {plugin}: wrote a line longer than {limit} bytes")]
    LineTooLong {
        /// The plugin id.
        plugin: String,
        /// The limit, [`plugboard_protocol::MAX_LINE_BYTES`].
        limit: usize,
    },
    /// A `hello` whose versions this host does not speak.
    #[error("plugin {plugin}: speaks protocol versions {theirs:?}, this host speaks {ours:?}")]
    Version {
        /// The plugin id.
        plugin: String,
        /// What it offered.
        theirs: Vec<u32>,
        /// What the host speaks.
        ours: Vec<u32>,
    },
    /// A `hello` naming another plugin than the manifest.
    #[error("plugin {plugin}: introduced itself as {said:?}")]
    Impostor {
        /// The plugin id, from its manifest.
        plugin: String,
        /// What its `hello` said, sanitised and cut short.
        said: String,
    },
    /// An answer carrying another request's id.
    #[error("plugin {plugin}: answered request {got} while request {asked} was open")]
    WrongId {
        /// The plugin id.
        plugin: String,
        /// The id the host sent.
        asked: u64,
        /// The id the answer carried.
        got: u64,
    },
    /// An answer of the wrong kind (a `models` list to a sign-in, a second `hello`).
    #[error("plugin {plugin}: answered a {request} request with {got}")]
    WrongAnswer {
        /// The plugin id.
        plugin: String,
        /// What the host asked (`sign_in`).
        request: &'static str,
        /// What came back (`models`).
        got: &'static str,
    },
    /// More messages for one request than any real exchange needs.
    #[error("plugin {plugin}: sent more than {limit} messages for one request")]
    TooManyMessages {
        /// The plugin id.
        plugin: String,
        /// The limit.
        limit: usize,
    },
    /// A profile of another provider, or an id that is not `provider:name`. Nothing is written.
    #[error("plugin {plugin}: returned profile {profile}, which provider {provider} does not own")]
    ForeignProfile {
        /// The plugin id.
        plugin: String,
        /// The provider the request named.
        provider: String,
        /// The profile id it returned, sanitised and cut short.
        profile: String,
    },
    /// A refresh that returned another profile than the one asked for.
    #[error("plugin {plugin}: refreshed profile {got} instead of {asked}")]
    WrongProfile {
        /// The plugin id.
        plugin: String,
        /// The profile the host asked to renew.
        asked: String,
        /// The one it returned, sanitised and cut short.
        got: String,
    },
    /// An answer of the right kind whose content cannot be used (a model reply without
    /// output, a suggested model of another provider).
    #[error("plugin {plugin}: {problem}")]
    BadAnswer {
        /// The plugin id.
        plugin: String,
        /// What is wrong, one line.
        problem: String,
    },
    /// The loopback server `plugins check` puts in front of the scripted service could not
    /// start.
    #[error("plugin {plugin}: cannot serve the scripted service on loopback")]
    Bridge {
        /// The plugin id.
        plugin: String,
        /// What the system said.
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl ExecError {
    /// Whether the answer itself was unusable (garbage, the wrong shape, another provider's
    /// data), as opposed to no answer at all: a model call reports the first as a bad
    /// response and the second as a failed service.
    fn is_bad_answer(&self) -> bool {
        matches!(
            self,
            Self::NotProtocol { .. }
                | Self::LineTooLong { .. }
                | Self::WrongId { .. }
                | Self::WrongAnswer { .. }
                | Self::TooManyMessages { .. }
                | Self::ForeignProfile { .. }
                | Self::WrongProfile { .. }
                | Self::BadAnswer { .. }
        )
    }
}

impl From<ExecError> for AuthError {
    /// Kept whole (typed, with its source) inside [`AuthError::Other`].
    fn from(error: ExecError) -> Self {
        AuthError::other(error)
    }
}

impl From<ExecError> for ModelError {
    /// [`ModelError`] carries text, not sources: the whole chain becomes its one line.
    fn from(error: ExecError) -> Self {
        let line = plugboard_core::ErrorChain(&error).to_string();
        if error.is_bad_answer() {
            ModelError::BadResponse(line)
        } else {
            ModelError::Service(line)
        }
    }
}

impl From<ExecError> for RefreshError {
    /// A broken plugin is a failed refresh that a later try may fix, never a refused one: the
    /// stored sign-in is not marked as needing a new sign-in because its plugin crashed.
    fn from(error: ExecError) -> Self {
        let line = plugboard_core::ErrorChain(&error).to_string();
        if error.is_bad_answer() {
            RefreshError::BadResponse(line)
        } else {
            RefreshError::Service(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, ModelErrorKind};

    use super::*;

    #[test]
    fn each_failure_is_one_line_naming_the_plugin_and_keeps_its_kind_for_the_host() {
        let plugin = || "acme".to_owned();
        let cases: Vec<(ExecError, &str, ModelErrorKind)> = vec![
            (
                ExecError::Exited {
                    plugin: plugin(),
                    status: "exit status 1".into(),
                },
                "plugin acme: exited before answering (exit status 1)",
                ModelErrorKind::Service,
            ),
            (
                ExecError::Timeout {
                    plugin: plugin(),
                    seconds: 30,
                },
                "plugin acme: did not answer within 30 s",
                ModelErrorKind::Service,
            ),
            (
                ExecError::NotProtocol { plugin: plugin() },
                "plugin acme: wrote something that is not a protocol message",
                ModelErrorKind::BadResponse,
            ),
            (
                ExecError::Spawn {
                    plugin: plugin(),
                    program: "./bin/acme".into(),
                    source: Arc::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
                },
                "plugin acme: cannot start ./bin/acme: entity not found",
                ModelErrorKind::Service,
            ),
            (
                ExecError::ForeignProfile {
                    plugin: plugin(),
                    provider: "acme".into(),
                    profile: "openrouter:default".into(),
                },
                "plugin acme: returned profile openrouter:default, which provider acme does not own",
                ModelErrorKind::BadResponse,
            ),
        ];
        for (error, line, kind) in cases {
            assert_eq!(ErrorChain(&error).to_string(), line);
            let model = ModelError::from(error.clone());
            assert_eq!(model.kind(), kind, "{line}");
            assert_eq!(model.to_string(), line);
            let auth = AuthError::from(error.clone());
            assert_eq!(ErrorChain(&auth).to_string(), line);
            assert!(!matches!(
                RefreshError::from(error),
                RefreshError::SignInRequired { .. }
            ));
        }
    }
}
