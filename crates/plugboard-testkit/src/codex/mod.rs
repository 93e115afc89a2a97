//! The OpenAI Codex double: ChatGPT sign-in (`/oauth/authorize`, `/oauth/token`) and the Codex
//! Responses endpoint (`/backend-api/codex/responses`) on one loopback origin, with the faults
//! real identity providers have: single-use codes, refresh-token rotation with reuse detection
//! that revokes the whole token family, expired access tokens.
//!
//! Wire facts, read from openai/codex (never copied):
//! - `codex-rs/login/src/server.rs`: `build_authorize_url` (parameters `response_type=code`,
//!   `client_id`, `redirect_uri=http://localhost:<port>/auth/callback`, `scope` with `openid`
//!   and `offline_access`, `code_challenge` + `code_challenge_method=S256`, `state`; ports 1455
//!   and the registered fallback 1457) and `exchange_code_for_tokens` (a form-encoded
//!   `POST /oauth/token`, `grant_type=authorization_code`, answer `id_token`, `access_token`,
//!   `refresh_token`).
//! - `codex-rs/login/src/auth/manager.rs`: the refresh is a JSON `POST /oauth/token`
//!   (`client_id`, `grant_type=refresh_token`, `refresh_token`), every answer field optional;
//!   a refused refresh is 400 `invalid_grant` (RFC 6749, which the current client treats as
//!   terminal) or, in the older shape, 401 with `error.code` one of `refresh_token_expired`,
//!   `refresh_token_reused`, `refresh_token_invalidated`.
//! - `codex-rs/login/src/token_data.rs`: id-token claims `email` and
//!   `https://api.openai.com/auth` → `chatgpt_account_id`, `chatgpt_plan_type`.
//! - `codex-rs/codex-api/src/sse/responses.rs`: `event: <type>` / `data: <json>` frames;
//!   `response.created`, `response.output_text.delta` (`delta`), `response.completed`
//!   (`response.id`, `response.usage`), `response.failed` (`response.error.code/message`); a
//!   stream that ends without `response.completed` is an error.
//! - `codex-rs/codex-api/src/api_bridge.rs` and its tests: a 401 from the backend carries
//!   `x-error-json` (base64 of `{"error":{"code":"token_expired"}}` for an expired token); the
//!   backend's body for an unusable token is `{"detail":"Unauthorized"}`, and for an expired one
//!   the ChatGPT backend's `{"detail":{"message":"Your authentication token has expired...",
//!   "type":"invalid_request_error","param":null,"code":"token_expired"}}` (as reported in
//!   rawandahmad698/PyChatGPT#85 and acheong08/ChatGPTProxy#79).

mod fault;
mod pages;
mod routes;
mod state;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use fault::{CodexEndpoint, CodexFault, ParseCodexFaultError};
pub use pages::CODEX_CONSENT_TITLE;

use crate::server::{Resettable, Server};
use crate::state::random_hex;
use state::{Account, FaultSlot, Settings, Shared};

/// The client id Codex CLI registers with auth.openai.com (`CLIENT_ID` in codex-rs's
/// `login/src/auth/manager.rs`); the double's default.
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// The callback ports OpenAI registered for Codex CLI: 1455, and 1457 as the fallback.
pub const CODEX_REDIRECT_PORTS: [u16; 2] = [1455, 1457];

/// What every `/responses` stream says unless the prompt asks for something else with
/// `Reply exactly: <text>`.
pub const CODEX_REPLY: &str = "codex-ok";

/// The access-token lifetime unless told otherwise: one hour, in seconds.
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// What a denied consent says in `error_description` unless told otherwise.
pub const CODEX_DENY_DESCRIPTION: &str = "The user denied the authorization request";

/// How the double refuses a refresh token, both shapes codex-rs understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshErrorStyle {
    /// RFC 6749: 400 `{"error":"invalid_grant","error_description":"..."}`, what the service
    /// answers today.
    #[default]
    InvalidGrant,
    /// The older shape: 401 `{"error":{"code":"refresh_token_reused","message":"..."}}` (or
    /// `refresh_token_invalidated` for an unknown or revoked token).
    LegacyCodes,
}

/// The Codex double's server thread panicked; it says so on stderr when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the Codex double's server thread panicked")]
pub struct CodexServerPanicked;

/// One token family's tokens, as the token endpoint answers them. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The id token: JWT-shaped, with `email` and the `https://api.openai.com/auth` claims.
    pub id_token: String,
    /// The access token for `/backend-api/codex/responses`: JWT-shaped, with `exp`.
    pub access_token: String,
    /// The refresh token; `None` when the double was told not to rotate and this came from a
    /// refresh.
    pub refresh_token: Option<String>,
    /// `expires_in`: the access token's lifetime in seconds (0: already expired).
    pub expires_in: u64,
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("id_token", &"[redacted]")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// One request the Codex double answered (or dropped). Bodies and secrets are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexRequestRecord {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/oauth/token`.
    pub path: String,
    /// The status answered, or `None` when a fault dropped the connection instead.
    pub status: Option<u16>,
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `grant_type` of a token request, when it could be read.
    pub grant_type: Option<String>,
    /// Whether an `Authorization` header came with the request (its value is not kept).
    pub authorization: bool,
    /// The `chatgpt-account-id` header, if sent.
    pub chatgpt_account_id: Option<String>,
}

/// A double of OpenAI's ChatGPT sign-in and Codex Responses endpoint: a real HTTP server on
/// `127.0.0.1` serving all three paths on one origin, with faults on demand.
///
/// Like [`OpenRouterDouble`](crate::OpenRouterDouble) it serves from a thread and runtime of its
/// own, is listening when [`start`](CodexDoubleBuilder::start) returns, and stops when dropped.
/// Its state is shared behind one lock, so many processes can hit it at once.
pub struct CodexDouble {
    server: Server,
    shared: Arc<Shared>,
}

/// Options for a [`CodexDouble`] before it starts.
#[derive(Debug, Clone)]
pub struct CodexDoubleBuilder {
    port: u16,
    client_id: String,
    any_redirect_port: bool,
    access_ttl: Duration,
    rotate: bool,
    deny_description: String,
    refresh_errors: RefreshErrorStyle,
    email: String,
    plan_type: String,
    faults: Vec<(CodexEndpoint, CodexFault)>,
}

impl Default for CodexDoubleBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            client_id: CODEX_CLIENT_ID.to_owned(),
            any_redirect_port: false,
            access_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            rotate: true,
            deny_description: CODEX_DENY_DESCRIPTION.to_owned(),
            refresh_errors: RefreshErrorStyle::default(),
            email: "codex-user@example.com".to_owned(),
            plan_type: "plus".to_owned(),
            faults: Vec::new(),
        }
    }
}

impl CodexDoubleBuilder {
    /// Listens on this port of 127.0.0.1; 0 (the default) takes any free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The `client_id` the double accepts; Codex CLI's by default.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Accepts `http://localhost:<any port>/auth/callback`, not only 1455 and 1457, for tests
    /// whose callback server takes a free port.
    #[must_use]
    pub fn accept_any_redirect_port(mut self) -> Self {
        self.any_redirect_port = true;
        self
    }

    /// Access-token lifetime. Zero issues tokens that are already expired.
    #[must_use]
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// With `false`, a refresh answers without `refresh_token` and the old one stays usable.
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate = rotate;
        self
    }

    /// The `error_description` a denied consent redirects with.
    #[must_use]
    pub fn deny_description(mut self, text: impl Into<String>) -> Self {
        self.deny_description = text.into();
        self
    }

    /// How refused refresh tokens are answered.
    #[must_use]
    pub fn refresh_error_style(mut self, style: RefreshErrorStyle) -> Self {
        self.refresh_errors = style;
        self
    }

    /// The signed-in account's email (the `email` claim).
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }

    /// The account's `chatgpt_plan_type` claim; `plus` by default.
    #[must_use]
    pub fn plan_type(mut self, plan_type: impl Into<String>) -> Self {
        self.plan_type = plan_type.into();
        self
    }

    /// Starts with this fault set on `endpoint`, as [`CodexDouble::set_fault_on`] would.
    #[must_use]
    pub fn fault_on(mut self, endpoint: CodexEndpoint, fault: CodexFault) -> Self {
        self.faults.push((endpoint, fault));
        self
    }

    /// Binds the port and starts serving; the double is listening when this returns.
    pub fn start(self) -> io::Result<CodexDouble> {
        let settings = Settings {
            client_id: self.client_id,
            any_redirect_port: self.any_redirect_port,
            access_ttl_secs: self.access_ttl.as_secs(),
            rotate: self.rotate,
            deny_description: self.deny_description,
            refresh_errors: self.refresh_errors,
        };
        let account = Account {
            account_id: format!(
                "{}-{}-{}-{}-{}",
                random_hex(4),
                random_hex(2),
                random_hex(2),
                random_hex(2),
                random_hex(6)
            ),
            user_id: format!("user-{}", random_hex(12)),
            email: self.email,
            plan_type: self.plan_type,
        };
        let faults = self
            .faults
            .into_iter()
            .map(|(endpoint, fault)| (endpoint, FaultSlot { fault, once: false }))
            .collect();
        let shared = Arc::new(Shared::new(settings, account, faults));
        let serving = Arc::clone(&shared);
        let server = Server::start(
            "codex-double",
            self.port,
            // Resettable: the connection-reset fault drops the connection instead of answering.
            Resettable::new(move |request| {
                let shared = Arc::clone(&serving);
                async move { routes::handle(&shared, request).await }
            }),
        )?;
        Ok(CodexDouble { server, shared })
    }
}

impl CodexDouble {
    /// Starts a double with the defaults on any free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// Options for a double before it starts.
    pub fn builder() -> CodexDoubleBuilder {
        CodexDoubleBuilder::default()
    }

    /// The address the double listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`: what `OPENAI_CODEX_BASE_URL` is set to. The sign-in
    /// (`/oauth/...`) and the backend (`/backend-api/codex/...`) both live here.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The authorize URL a client would open, built the way codex-rs builds it, for tests that
    /// play the client themselves.
    pub fn authorize_url(&self, redirect_uri: &str, code_challenge: &str, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.shared.settings().client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("state", state)
            .finish();
        format!("{}/oauth/authorize?{query}", self.origin())
    }

    /// The `client_id` the double accepts.
    pub fn client_id(&self) -> String {
        self.shared.settings().client_id
    }

    /// The signed-in account's `chatgpt_account_id`; one per double.
    pub fn account_id(&self) -> String {
        self.shared.account().account_id
    }

    /// The signed-in account's email.
    pub fn email(&self) -> String {
        self.shared.account().email
    }

    /// A fresh token family (id, access and refresh token) without the browser.
    pub fn issue_tokens(&self) -> IssuedTokens {
        self.shared.issue_family()
    }

    /// Makes every access token issued so far expired now (their `exp` claims still say
    /// otherwise: the service, not the token, decides).
    pub fn expire_access_tokens(&self) {
        self.shared.expire_access_tokens();
    }

    /// Whether `/responses` would accept this access token now.
    pub fn is_live_access_token(&self, token: &str) -> bool {
        self.shared.is_live_access_token(token)
    }

    /// Whether the family this refresh token belongs to was revoked; false for a token the
    /// double never issued.
    pub fn family_revoked(&self, refresh_token: &str) -> bool {
        self.shared.family_revoked(refresh_token).unwrap_or(false)
    }

    /// Whether this refresh token was already exchanged (rotated away).
    pub fn refresh_token_used(&self, refresh_token: &str) -> bool {
        self.shared.is_used_refresh_token(refresh_token)
    }

    /// Every `grant_type=refresh_token` request received, refused or faulted ones included.
    pub fn refresh_requests(&self) -> usize {
        self.shared.refresh_requests()
    }

    /// Every `grant_type=authorization_code` request received, refused or faulted ones
    /// included.
    pub fn code_exchanges(&self) -> usize {
        self.shared.code_exchanges()
    }

    /// How many token families reuse detection has revoked.
    pub fn families_revoked(&self) -> usize {
        self.shared.families_revoked()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<CodexRequestRecord> {
        self.shared.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<CodexRequestRecord> {
        let mut requests = self.shared.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Sets (or with `None` clears) the fault on one endpoint; it stays until cleared.
    pub fn set_fault_on(&self, endpoint: CodexEndpoint, fault: Option<CodexFault>) {
        self.shared.set_fault(
            endpoint,
            fault.map(|fault| FaultSlot { fault, once: false }),
        );
    }

    /// Applies `fault` to the next request to `endpoint` only.
    pub fn fail_next_on(&self, endpoint: CodexEndpoint, fault: CodexFault) {
        self.shared
            .set_fault(endpoint, Some(FaultSlot { fault, once: true }));
    }

    /// The fault currently set on `endpoint`, if any.
    pub fn current_fault(&self, endpoint: CodexEndpoint) -> Option<CodexFault> {
        self.shared.fault(endpoint)
    }

    /// Changes the access-token lifetime for tokens issued from now on (zero: already expired).
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.shared
            .update_settings(|s| s.access_ttl_secs = ttl.as_secs());
    }

    /// Turns refresh-token rotation on or off from now on.
    pub fn set_rotate_refresh_tokens(&self, rotate: bool) {
        self.shared.update_settings(|s| s.rotate = rotate);
    }

    /// Changes how refused refresh tokens are answered.
    pub fn set_refresh_error_style(&self, style: RefreshErrorStyle) {
        self.shared.update_settings(|s| s.refresh_errors = style);
    }

    /// Changes the `error_description` a denied consent redirects with.
    pub fn set_deny_description(&self, text: impl Into<String>) {
        let text = text.into();
        self.shared.update_settings(|s| s.deny_description = text);
    }

    /// Stops serving and waits for the server thread to end. Dropping the double does the same.
    pub fn shutdown(self) -> Result<(), CodexServerPanicked> {
        self.server.shutdown(CodexServerPanicked)
    }
}

impl fmt::Debug for CodexDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodexDouble")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}
