//! How the host runs executable plugins in one command: where their stderr goes, how long it
//! waits for them, and whether their service is the contract's scripted one.

use std::sync::Arc;
use std::time::Duration;

/// How long a plugin has to say `hello` once started.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a plugin has to answer one request unless its manifest says otherwise
/// (`runtime.timeout_secs`). Time spent waiting for the user's answer to a prompt the plugin
/// asked does not count.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `plugins check` waits for one answer: every request it makes is answered by a
/// script on loopback, so a plugin that needs longer is hanging, and the whole check of a
/// broken plugin stays within 30 s.
pub const CHECK_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest `plugins check` lets a plugin take in all, from its start: `hello` and every
/// request together. A check makes dozens of requests, so a plugin answering each just
/// within [`CHECK_REQUEST_TIMEOUT`] would otherwise stretch it to minutes; this keeps the
/// check of any plugin within 30 s.
pub const CHECK_TOTAL_TIMEOUT: Duration = Duration::from_secs(25);

/// How the host runs executable plugins in this command.
#[derive(Clone)]
#[non_exhaustive]
pub struct ExecOptions {
    /// Show each plugin's stderr as it comes (`--verbose`), not only when a call fails.
    pub verbose: bool,
    /// Where a plugin's stderr lines go, already sanitised and prefixed with its id.
    pub stderr: Arc<dyn Fn(&str) + Send + Sync>,
    /// How long a started plugin has to say `hello`.
    pub hello_timeout: Duration,
    /// The longest any request may take, whatever the manifest asks for (`plugins check`
    /// sets [`CHECK_REQUEST_TIMEOUT`]); `None` leaves it to the manifest.
    pub request_timeout_cap: Option<Duration>,
    /// The longest a plugin may take in all, from its start (`plugins check` sets
    /// [`CHECK_TOTAL_TIMEOUT`]); time spent waiting for the user does not count. `None` sets
    /// no limit beyond each request's.
    pub total_limit: Option<Duration>,
    /// Serve each call's HTTP client (the contract's scripted service) on a loopback server
    /// for the call's duration, and hand the plugin that server's URL as its base URL, so a
    /// plugin that does its own HTTP meets the contract's scripted replies.
    pub bridge: bool,
}

impl ExecOptions {
    /// Options with `verbose` and a sink for plugins' stderr, for running plugins in a
    /// command: the default time limits, and the plugin's own service.
    pub fn new(verbose: bool, stderr: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        Self {
            verbose,
            stderr,
            hello_timeout: HELLO_TIMEOUT,
            request_timeout_cap: None,
            total_limit: None,
            bridge: false,
        }
    }

    /// Options for holding a plugin to the contract (`plugins check`): its service is the
    /// harness's script, served on loopback, no request may take longer than
    /// [`CHECK_REQUEST_TIMEOUT`], and all of them together no longer than
    /// [`CHECK_TOTAL_TIMEOUT`].
    pub fn for_check(verbose: bool, stderr: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        Self {
            request_timeout_cap: Some(CHECK_REQUEST_TIMEOUT),
            total_limit: Some(CHECK_TOTAL_TIMEOUT),
            bridge: true,
            ..Self::new(verbose, stderr)
        }
    }

    /// The same options with another limit for `hello`.
    pub fn with_hello_timeout(mut self, timeout: Duration) -> Self {
        self.hello_timeout = timeout;
        self
    }

    /// The same options with another limit for all of a plugin's time.
    pub fn with_total_limit(mut self, limit: Duration) -> Self {
        self.total_limit = Some(limit);
        self
    }
}
