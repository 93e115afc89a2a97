//! What the GitHub double remembers: the device codes it granted and how far each has been
//! polled, the GitHub tokens and Copilot tokens it issued, the request log, the counters tests
//! assert on, and the fault a test has set. One mutex guards it all; it is never held across
//! an await.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::state::random_hex;

/// Prefix of every GitHub token the double issues: GitHub App user-to-server tokens (what the
/// Copilot integrations' app issues) start with `ghu_`.
pub const GITHUB_TOKEN_PREFIX: &str = "ghu_";

/// A way for the GitHub double to misbehave, set with
/// [`GitHubDouble::set_fault`](super::GitHubDouble::set_fault). It stays until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitHubFault {
    /// Where a poll would hand out the token, it answers `access_denied`: the user pressed
    /// Cancel on GitHub's device page.
    AccessDenied,
    /// Where a poll would hand out the token, it answers `expired_token`: the device code ran
    /// out before the user entered it.
    ExpiredToken,
    /// The Copilot token exchange answers 401 `Bad credentials` to every GitHub token, as after
    /// the user revoked the app's authorization.
    RevokedGitHubTokens,
    /// The Copilot token exchange answers 403: the account has no Copilot.
    NoCopilotAccess,
}

/// One request the GitHub double answered. Bodies, tokens and codes are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubRecord {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/login/oauth/access_token`.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The scheme of the `Authorization` header (`Bearer`, `token`), if one was sent; the
    /// credential itself is not kept.
    pub auth_scheme: Option<String>,
    /// The `Accept` header, if sent.
    pub accept: Option<String>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The `Editor-Version` header, if sent.
    pub editor_version: Option<String>,
    /// The `Editor-Plugin-Version` header, if sent.
    pub editor_plugin_version: Option<String>,
    /// The `Copilot-Integration-Id` header, if sent.
    pub integration_id: Option<String>,
    /// The `model` of a chat completion, when its body named one.
    pub model: Option<String>,
    /// `stream` of a chat completion, when its body had one.
    pub stream: Option<bool>,
}

/// What the double was told when it started (and may be told since).
#[derive(Debug, Clone)]
pub(super) struct Settings {
    /// `authorization_pending` answers before anything else, per device code.
    pub(super) pending: u32,
    /// `slow_down` answers after those, per device code.
    pub(super) slow_down: u32,
    /// The `interval` of the device answer.
    pub(super) interval: Duration,
    /// The device code's `expires_in`.
    pub(super) device_code_ttl: Duration,
    /// How long a Copilot token lives.
    pub(super) copilot_token_ttl: Duration,
}

/// What one poll of the token endpoint is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PollAnswer {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`, with the interval now in force.
    SlowDown(Duration),
    /// `expired_token`.
    Expired,
    /// `access_denied`.
    Denied,
    /// `incorrect_device_code`: unknown, or already used.
    UnknownCode,
    /// The token.
    Granted(String),
}

struct DeviceGrant {
    issued: Instant,
    expires_in: Duration,
    /// The interval in force: the answer's, plus 5 s for every `slow_down`.
    interval: Duration,
    /// When the last poll (or the grant itself) came, to hold polls to the interval.
    last: Instant,
    pending_left: u32,
    slow_down_left: u32,
    spent: bool,
}

/// A Copilot token's life: when it expires, and whether a test expired it early.
struct CopilotToken {
    expires_at: u64,
    expired: bool,
}

/// What the Copilot API makes of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopilotTokenState {
    Live,
    Expired,
    Unknown,
}

struct State {
    settings: Settings,
    grants: HashMap<String, DeviceGrant>,
    user_codes: Vec<String>,
    github_issued: Vec<String>,
    github_valid: HashSet<String>,
    copilot_issued: Vec<String>,
    copilot: HashMap<String, CopilotToken>,
    requests: Vec<GitHubRecord>,
    fault: Option<GitHubFault>,
    token_exchanges: usize,
    polls: usize,
    early_polls: usize,
}

pub(super) struct Shared {
    state: Mutex<State>,
}

/// What `slow_down` adds to the interval (GitHub: "5 extra seconds are added to the minimum
/// interval"; RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

impl Shared {
    pub(super) fn new(settings: Settings, fault: Option<GitHubFault>) -> Self {
        Self {
            state: Mutex::new(State {
                settings,
                grants: HashMap::new(),
                user_codes: Vec::new(),
                github_issued: Vec::new(),
                github_valid: HashSet::new(),
                copilot_issued: Vec::new(),
                copilot: HashMap::new(),
                requests: Vec::new(),
                fault,
                token_exchanges: 0,
                polls: 0,
                early_polls: 0,
            }),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic
    // too; no update spans a panic point, so the state stays consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.lock().settings);
    }

    pub(super) fn set_fault(&self, fault: Option<GitHubFault>) {
        self.lock().fault = fault;
    }

    pub(super) fn fault(&self) -> Option<GitHubFault> {
        self.lock().fault
    }

    /// A new device code and user code, scripted with the settings in force now.
    pub(super) fn grant(&self) -> (String, String, Settings) {
        let device_code = random_hex(20);
        // GitHub's user codes are eight letters and digits in two groups (`WDJB-MJHT`).
        let hex = random_hex(4).to_ascii_uppercase();
        let user_code = format!("{}-{}", &hex[..4], &hex[4..]);
        let mut state = self.lock();
        let settings = state.settings.clone();
        let now = Instant::now();
        state.grants.insert(
            device_code.clone(),
            DeviceGrant {
                issued: now,
                expires_in: settings.device_code_ttl,
                interval: settings.interval,
                last: now,
                pending_left: settings.pending,
                slow_down_left: settings.slow_down,
                spent: false,
            },
        );
        state.user_codes.push(user_code.clone());
        (device_code, user_code, settings)
    }

    /// One poll for `device_code`: GitHub's rules first (unknown or used code, expiry, a poll
    /// before the interval passed), then the script (pending, slow down), then the fault or the
    /// token.
    pub(super) fn poll(&self, device_code: &str) -> PollAnswer {
        let mut state = self.lock();
        state.polls += 1;
        let fault = state.fault;
        let now = Instant::now();
        let Some(grant) = state.grants.get_mut(device_code) else {
            return PollAnswer::UnknownCode;
        };
        if grant.spent {
            return PollAnswer::UnknownCode;
        }
        if now.duration_since(grant.issued) >= grant.expires_in {
            return PollAnswer::Expired;
        }
        let early = now.duration_since(grant.last) < grant.interval;
        grant.last = now;
        if early {
            grant.interval += SLOW_DOWN_STEP;
            let interval = grant.interval;
            state.early_polls += 1;
            return PollAnswer::SlowDown(interval);
        }
        if grant.pending_left > 0 {
            grant.pending_left -= 1;
            return PollAnswer::Pending;
        }
        if grant.slow_down_left > 0 {
            grant.slow_down_left -= 1;
            grant.interval += SLOW_DOWN_STEP;
            return PollAnswer::SlowDown(grant.interval);
        }
        match fault {
            Some(GitHubFault::AccessDenied) => return PollAnswer::Denied,
            Some(GitHubFault::ExpiredToken) => return PollAnswer::Expired,
            _ => {}
        }
        grant.spent = true;
        PollAnswer::Granted(issue_github(&mut state))
    }

    pub(super) fn issue_github_token(&self) -> String {
        issue_github(&mut self.lock())
    }

    pub(super) fn revoke_github_token(&self, token: &str) -> bool {
        self.lock().github_valid.remove(token)
    }

    pub(super) fn github_token_is_valid(&self, token: &str) -> bool {
        self.lock().github_valid.contains(token)
    }

    pub(super) fn github_issued(&self) -> Vec<String> {
        self.lock().github_issued.clone()
    }

    pub(super) fn count_exchange(&self) {
        self.lock().token_exchanges += 1;
    }

    /// A new Copilot token and its `expires_at` (Unix seconds).
    pub(super) fn issue_copilot_token(&self, proxy_host: &str) -> (String, u64, Duration) {
        let mut state = self.lock();
        let ttl = state.settings.copilot_token_ttl;
        let expires_at = unix_now().saturating_add(ttl.as_secs());
        // The shape of a real Copilot token: `;`-separated fields, `exp` and `proxy-ep` among
        // them, and a signature after `:`.
        let token = format!(
            "tid={};exp={expires_at};sku=copilot_for_individual;proxy-ep={proxy_host};8kp=1:{}",
            random_hex(16),
            random_hex(32)
        );
        state.copilot_issued.push(token.clone());
        state.copilot.insert(
            token.clone(),
            CopilotToken {
                expires_at,
                expired: false,
            },
        );
        (token, expires_at, ttl)
    }

    pub(super) fn copilot_token_state(&self, token: &str) -> CopilotTokenState {
        match self.lock().copilot.get(token) {
            None => CopilotTokenState::Unknown,
            Some(t) if t.expired || unix_now() >= t.expires_at => CopilotTokenState::Expired,
            Some(_) => CopilotTokenState::Live,
        }
    }

    pub(super) fn expire_copilot_tokens(&self) {
        for token in self.lock().copilot.values_mut() {
            token.expired = true;
        }
    }

    pub(super) fn copilot_issued(&self) -> Vec<String> {
        self.lock().copilot_issued.clone()
    }

    pub(super) fn user_codes(&self) -> Vec<String> {
        self.lock().user_codes.clone()
    }

    pub(super) fn token_exchanges(&self) -> usize {
        self.lock().token_exchanges
    }

    pub(super) fn polls(&self) -> usize {
        self.lock().polls
    }

    pub(super) fn early_polls(&self) -> usize {
        self.lock().early_polls
    }

    pub(super) fn record(&self, record: GitHubRecord) {
        self.lock().requests.push(record);
    }

    pub(super) fn requests(&self) -> Vec<GitHubRecord> {
        self.lock().requests.clone()
    }
}

fn issue_github(state: &mut State) -> String {
    // GitHub's tokens are the prefix and 36 letters and digits.
    let token = format!("{GITHUB_TOKEN_PREFIX}{}", &random_hex(18));
    state.github_issued.push(token.clone());
    state.github_valid.insert(token.clone());
    token
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
