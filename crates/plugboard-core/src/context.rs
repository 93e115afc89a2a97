//! Everything a sign-in method may touch, injected by the host so tests can script it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::SecretString;
use thiserror::Error;

use crate::host::HostServices;
use crate::ids::{IdError, ProfileId};

/// Asks the user things. The host's terminal implementation writes prompts to stderr and,
/// without a terminal, reads answers line by line from stdin.
#[async_trait]
pub trait Prompter: Send + Sync {
    /// Asks for a line of visible text.
    async fn text(&self, prompt: &str) -> Result<String, PromptError>;
    /// Asks for a secret; on a terminal the input is hidden.
    async fn secret(&self, prompt: &str) -> Result<SecretString, PromptError>;
    /// Asks the user to pick one of `items`; returns its index.
    async fn select(&self, prompt: &str, items: &[String]) -> Result<usize, PromptError>;
    /// Starts a progress line (a spinner on a terminal, nothing otherwise).
    fn progress(&self, message: &str) -> Box<dyn Progress>;
    /// Tells the user something that needs no answer.
    fn note(&self, message: &str);
}

/// A progress line started by [`Prompter::progress`].
pub trait Progress: Send {
    /// Replaces the message.
    fn set_message(&mut self, message: &str);
    /// Ends the line, leaving `message` behind.
    fn finish(self: Box<Self>, message: &str);
}

/// Why a prompt got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The user cancelled (Ctrl-C, Escape).
    #[error("input cancelled")]
    Cancelled,
    /// Standard input ended before an answer arrived.
    #[error("no input: standard input ended before an answer was given")]
    EndOfInput,
    /// The answer was longer than the prompter accepts.
    #[error("input is longer than {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A choice list was needed but this session cannot show one.
    #[error("cannot ask {prompt:?} without an interactive terminal")]
    NotInteractive {
        /// What would have been asked.
        prompt: String,
    },
    /// The terminal failed.
    #[error("cannot read input: {0}")]
    Io(String),
}

/// Opens a URL for the user: the system browser, `$BROWSER`, or a test's scripted browser.
pub trait UrlOpener: Send + Sync {
    /// Opens `url`; an error means the user must open it by hand.
    fn open(&self, url: &str) -> Result<(), OpenUrlError>;
}

/// A URL could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot open a browser: {reason}")]
pub struct OpenUrlError {
    /// Why, in a few words.
    pub reason: String,
}

/// Tells the time and waits, so tests can fix the one and skip the other.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
    /// Waits `duration`. Polling loops (a device-code sign-in waiting for the user) wait here,
    /// never on a timer of their own, so a test or the contract harness passes the time at once
    /// and sees how long the method meant to wait.
    async fn sleep(&self, duration: Duration);
}

/// Supplies random bytes (PKCE verifiers, OAuth state), so tests can fix them.
pub trait Random: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// What kind of session the method runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Session {
    /// Standard input and error are a terminal: menus and hidden prompts work.
    pub interactive: bool,
    /// No local browser can be shown (SSH, no display): a browser login must offer the paste
    /// fallback instead.
    pub remote: bool,
}

impl Session {
    /// A session with the given flags.
    pub fn new(interactive: bool, remote: bool) -> Self {
        Self {
            interactive,
            remote,
        }
    }
}

/// What the user asked of this login on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Store under this profile instead of the provider's default.
    pub profile: Option<ProfileId>,
    /// Never open a browser; offer the paste fallback.
    pub no_browser: bool,
    /// Pin the loopback callback port (`Some(0)`: any free port).
    pub callback_port: Option<u16>,
    /// Give up waiting for a browser callback after this long.
    pub timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            profile: None,
            no_browser: false,
            callback_port: None,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Everything a method may touch. The host builds it with real implementations; tests and the
/// contract harness build it with scripted ones.
#[non_exhaustive]
pub struct AuthContext {
    /// Asks the user things.
    pub prompter: Arc<dyn Prompter>,
    /// Opens URLs.
    pub url_opener: Arc<dyn UrlOpener>,
    /// Tells the time.
    pub clock: Arc<dyn Clock>,
    /// Supplies random bytes.
    pub random: Arc<dyn Random>,
    /// HTTP settings and client, the config file and the provider's environment: the same
    /// services a model call gets.
    pub host: HostServices,
    /// Terminal and remote flags.
    pub session: Session,
    /// What the user asked for.
    pub options: LoginOptions,
}

impl AuthContext {
    /// A context from its outside-world parts and the host's services, with a default
    /// session and options.
    pub fn new(
        prompter: Arc<dyn Prompter>,
        url_opener: Arc<dyn UrlOpener>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        host: HostServices,
    ) -> Self {
        Self {
            prompter,
            url_opener,
            clock,
            random,
            host,
            session: Session::default(),
            options: LoginOptions::default(),
        }
    }

    /// The profile to write for `provider`: `--profile` if given, else `provider:default`.
    pub fn target_profile(&self, provider: &str) -> Result<ProfileId, IdError> {
        match &self.options.profile {
            Some(id) => Ok(id.clone()),
            None => ProfileId::default_for(provider),
        }
    }
}
