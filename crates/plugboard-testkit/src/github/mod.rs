//! A GitHub Copilot double: GitHub's device flow (`/login/device/code`,
//! `/login/oauth/access_token`), the Copilot token exchange (`/copilot_internal/v2/token`) and
//! the Copilot API (chat completions, models) on one loopback origin, with the device flow's
//! states scripted, Copilot tokens that expire on demand, and counters for what was asked.
//!
//! Wire facts, read from their sources (never copied):
//! - GitHub's docs, "Authorizing OAuth apps", section "Device flow": form-encoded `POST`s,
//!   JSON only with `Accept: application/json`, the device answer's `device_code`,
//!   `user_code`, `verification_uri`, `expires_in` and `interval`, and the poll errors
//!   `authorization_pending`, `slow_down` (5 s added to the interval, also for polling too
//!   fast), `expired_token`, `access_denied`, `unsupported_grant_type`,
//!   `incorrect_client_credentials` and `incorrect_device_code`, all as HTTP 200.
//! - The token exchange, as OpenClaw (`extensions/github-copilot/token.ts`), pi-ai
//!   (`utils/oauth/github-copilot.ts`) and Zed (`crates/copilot_chat`) call it: a `GET` with
//!   the GitHub token (`Bearer` or `token`), answered with `token` (`;`-separated fields with
//!   `exp` and `proxy-ep`), `expires_at` in Unix seconds, `refresh_in` and `endpoints.api`.
//!   Refusals are GitHub REST errors: 401 `Bad credentials`; 403 for an account without
//!   Copilot, with `error_details.message` (which LiteLLM-based clients read first).
//! - The Copilot API as Zed and copilot-api call it: `Authorization: Bearer <copilot token>`,
//!   `Editor-Version` and `Copilot-Integration-Id` required (400 `bad request: missing
//!   Editor-Version header for IDE auth`, reported against OpenClaw and LiteLLM, and `bad
//!   request: missing required Copilot-Integration-Id header`, against hermes-agent), 401
//!   `unauthorized: token expired` for an expired token (reported against copilot-api and VS
//!   Code), OpenAI's `chat.completion`, and the model list `{"data": [...], "object": "list"}`
//!   with `capabilities.type`, `policy.state` and `billing.multiplier` (Zed's tests).

mod routes;
mod state;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use thiserror::Error;

pub use routes::{
    COPILOT_API_PATH, COPILOT_MODELS, COPILOT_REPLY, GITHUB_COPILOT_CLIENT_ID,
    MISSING_EDITOR_VERSION, TOKEN_EXPIRED, TOKEN_UNKNOWN,
};
pub use state::{GITHUB_TOKEN_PREFIX, GitHubFault, GitHubRecord};

use crate::server::{Plain, Server};
use state::{Settings, Shared};

/// The device answer's `interval` unless told otherwise: 1 s, so that a whole sign-in against
/// the double takes seconds (GitHub's own is 5 s).
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(1);
/// The device code's `expires_in` unless told otherwise: 15 minutes, GitHub's.
pub const DEFAULT_DEVICE_CODE_TTL: Duration = Duration::from_secs(900);
/// A Copilot token's lifetime unless told otherwise: 30 minutes, about what GitHub gives.
pub const DEFAULT_COPILOT_TOKEN_TTL: Duration = Duration::from_secs(1800);

/// The GitHub double's server thread panicked; it says so on stderr when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the GitHub double's server thread panicked")]
pub struct GitHubServerPanicked;

/// A double of GitHub's device sign-in, its Copilot token exchange and the Copilot API: a
/// real HTTP server on `127.0.0.1` serving them all on one origin, with faults on demand.
///
/// Like the other doubles it serves from a thread and runtime of its own, is listening when
/// it starts, and stops when dropped. Its state is shared behind one lock, so many processes
/// can hit it at once.
pub struct GitHubDouble {
    server: Server,
    shared: Arc<Shared>,
}

/// Options for a [`GitHubDouble`] before it starts.
#[derive(Debug, Clone)]
pub struct GitHubDoubleBuilder {
    port: u16,
    settings: Settings,
    fault: Option<GitHubFault>,
}

impl Default for GitHubDoubleBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            settings: Settings {
                pending: 0,
                slow_down: 0,
                interval: DEFAULT_DEVICE_INTERVAL,
                device_code_ttl: DEFAULT_DEVICE_CODE_TTL,
                copilot_token_ttl: DEFAULT_COPILOT_TOKEN_TTL,
            },
            fault: None,
        }
    }
}

impl GitHubDoubleBuilder {
    /// Listens on this port of 127.0.0.1; 0 (the default) takes any free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How many polls of each device code are answered `authorization_pending` first (the
    /// user has not entered the code yet); 0 by default.
    #[must_use]
    pub fn pending(mut self, polls: u32) -> Self {
        self.settings.pending = polls;
        self
    }

    /// How many polls after those are answered `slow_down` (each adding 5 s to the interval
    /// the double holds polls to); 0 by default.
    #[must_use]
    pub fn slow_down(mut self, polls: u32) -> Self {
        self.settings.slow_down = polls;
        self
    }

    /// The device answer's `interval` (whole seconds; at least 1); 1 s by default.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.settings.interval = interval.max(Duration::from_secs(1));
        self
    }

    /// The device code's `expires_in`; 900 s by default.
    #[must_use]
    pub fn device_code_ttl(mut self, ttl: Duration) -> Self {
        self.settings.device_code_ttl = ttl;
        self
    }

    /// How long Copilot tokens live (zero: issued already expired); 1800 s by default.
    #[must_use]
    pub fn copilot_token_ttl(mut self, ttl: Duration) -> Self {
        self.settings.copilot_token_ttl = ttl;
        self
    }

    /// Starts with this fault set, as [`GitHubDouble::set_fault`] would.
    #[must_use]
    pub fn fault(mut self, fault: GitHubFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Binds the port and starts serving; the double is listening when this returns.
    pub fn start(self) -> io::Result<GitHubDouble> {
        let shared = Arc::new(Shared::new(self.settings, self.fault));
        // The answers name the double's own origin (the verification page, `endpoints.api`),
        // known only once the port is bound; no client can know the port before then.
        let origin: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let serving = Arc::clone(&shared);
        let serving_origin = Arc::clone(&origin);
        let server = Server::start(
            "github-double",
            self.port,
            // Plain: every fault of this double is an answer, never a dropped connection.
            Plain::new(move |request| {
                let shared = Arc::clone(&serving);
                let origin = Arc::clone(&serving_origin);
                async move {
                    let origin = origin.get().map(String::as_str).unwrap_or_default();
                    routes::handle(&shared, origin, request).await
                }
            }),
        )?;
        let _ = origin.set(format!("http://{}", server.addr()));
        Ok(GitHubDouble { server, shared })
    }
}

impl GitHubDouble {
    /// Starts a double with the defaults on any free port of 127.0.0.1: every poll hands out
    /// the token at once.
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// Starts a double whose token endpoint answers each device code `authorization_pending`
    /// `pending` times, then `slow_down` `slow_down` times, then the token.
    pub fn start_with(pending: u32, slow_down: u32) -> io::Result<Self> {
        Self::builder()
            .pending(pending)
            .slow_down(slow_down)
            .start()
    }

    /// Options for a double before it starts.
    pub fn builder() -> GitHubDoubleBuilder {
        GitHubDoubleBuilder::default()
    }

    /// The address the double listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`: what `GITHUB_COPILOT_BASE_URL` is set to. The device flow and
    /// the token exchange live here at GitHub's paths.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://127.0.0.1:PORT/copilot-api`: the Copilot API, as the token exchange's
    /// `endpoints.api` names it.
    pub fn copilot_api(&self) -> String {
        format!("{}{COPILOT_API_PATH}", self.origin())
    }

    /// A GitHub token the double accepts from now on, without the device flow.
    pub fn issue_github_token(&self) -> String {
        self.shared.issue_github_token()
    }

    /// Makes a GitHub token invalid from now on (the token exchange answers 401); false if it
    /// was not valid.
    pub fn revoke_github_token(&self, token: &str) -> bool {
        self.shared.revoke_github_token(token)
    }

    /// Whether the token exchange would accept this GitHub token now (faults aside).
    pub fn is_valid_github_token(&self, token: &str) -> bool {
        self.shared.github_token_is_valid(token)
    }

    /// Every GitHub token issued so far (by the device flow or [`Self::issue_github_token`]),
    /// oldest first.
    pub fn issued_github_tokens(&self) -> Vec<String> {
        self.shared.github_issued()
    }

    /// Every Copilot token the exchange handed out, oldest first.
    pub fn issued_copilot_tokens(&self) -> Vec<String> {
        self.shared.copilot_issued()
    }

    /// Whether the Copilot API would accept this Copilot token now.
    pub fn is_live_copilot_token(&self, token: &str) -> bool {
        self.shared.copilot_token_state(token) == state::CopilotTokenState::Live
    }

    /// Makes every Copilot token issued so far expired now: the Copilot API answers them
    /// `401 unauthorized: token expired`, whatever their `expires_at` said.
    pub fn expire_copilot_tokens(&self) {
        self.shared.expire_copilot_tokens();
    }

    /// Changes how long Copilot tokens issued from now on live (zero: already expired).
    pub fn set_copilot_token_ttl(&self, ttl: Duration) {
        self.shared.update_settings(|s| s.copilot_token_ttl = ttl);
    }

    /// Changes the script for device codes granted from now on: `pending` answers
    /// `authorization_pending`, then `slow_down` answers `slow_down`, then the token.
    pub fn set_poll_script(&self, pending: u32, slow_down: u32) {
        self.shared.update_settings(|s| {
            s.pending = pending;
            s.slow_down = slow_down;
        });
    }

    /// Every user code the double showed, oldest first.
    pub fn user_codes(&self) -> Vec<String> {
        self.shared.user_codes()
    }

    /// How many requests reached the Copilot token exchange, refused ones included.
    pub fn token_exchanges(&self) -> usize {
        self.shared.token_exchanges()
    }

    /// How many polls reached the token endpoint, refused ones included.
    pub fn polls(&self) -> usize {
        self.shared.polls()
    }

    /// How many polls came before the interval in force had passed (each answered
    /// `slow_down`, as GitHub answers them): a client that honours the interval makes none.
    pub fn early_polls(&self) -> usize {
        self.shared.early_polls()
    }

    /// Sets (or with `None` clears) the fault; it stays until cleared.
    pub fn set_fault(&self, fault: Option<GitHubFault>) {
        self.shared.set_fault(fault);
    }

    /// The fault currently set, if any.
    pub fn current_fault(&self) -> Option<GitHubFault> {
        self.shared.fault()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<GitHubRecord> {
        self.shared.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<GitHubRecord> {
        let mut requests = self.shared.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Stops serving and waits for the server thread to end. Dropping the double does the same.
    pub fn shutdown(self) -> Result<(), GitHubServerPanicked> {
        self.server.shutdown(GitHubServerPanicked)
    }
}

impl fmt::Debug for GitHubDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubDouble")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}
