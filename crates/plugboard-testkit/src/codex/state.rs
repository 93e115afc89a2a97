//! What the Codex double remembers: authorization codes, token families, counters, the request
//! log and the faults a test has set. One mutex guards it all and is never held across an
//! await, so a refresh is decided atomically: of many concurrent refreshes with one token,
//! exactly one sees it unused.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fault::{CodexEndpoint, CodexFault};
use super::{CodexRequestRecord, IssuedTokens};
use crate::state::random_hex;

/// The `iss` the double puts in its tokens, like auth.openai.com's.
const ISSUER: &str = "https://auth.openai.com";

/// Prefix of refresh tokens; OpenAI's are opaque strings, and so are these.
const REFRESH_PREFIX: &str = "rt_";

#[derive(Clone, Copy)]
pub(crate) struct FaultSlot {
    pub(crate) fault: CodexFault,
    pub(crate) once: bool,
}

/// Who signs in: one account per double.
#[derive(Clone)]
pub(crate) struct Account {
    pub(crate) account_id: String,
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) plan_type: String,
}

/// Settings a test may change while the double runs.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) client_id: String,
    pub(crate) any_redirect_port: bool,
    pub(crate) access_ttl_secs: u64,
    pub(crate) rotate: bool,
    pub(crate) deny_description: String,
    pub(crate) refresh_errors: super::RefreshErrorStyle,
}

/// What an authorization request asked for, kept with the code it produced.
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) spent: bool,
}

struct RefreshEntry {
    family: usize,
    used: bool,
}

struct AccessEntry {
    family: usize,
    expires_at: u64,
}

/// Why the token endpoint refused a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantRefusal {
    UnknownCode,
    RedirectMismatch,
    ClientMismatch,
    VerifierMismatch,
    /// A refresh token presented after it was already exchanged: the family is now revoked.
    RefreshReused,
    /// A refresh token the double never issued, or one whose family was revoked.
    RefreshInvalidated,
}

/// How `/responses` judges a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessCheck {
    Live { account_matches: bool },
    Expired,
    Invalid,
}

struct State {
    settings: Settings,
    account: Account,
    codes: HashMap<String, Grant>,
    refresh: HashMap<String, RefreshEntry>,
    access: HashMap<String, AccessEntry>,
    revoked_families: Vec<bool>,
    refresh_requests: usize,
    code_exchanges: usize,
    families_revoked: usize,
    requests: Vec<CodexRequestRecord>,
    faults: [Option<FaultSlot>; CodexEndpoint::COUNT],
}

pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(
        settings: Settings,
        account: Account,
        faults: Vec<(CodexEndpoint, FaultSlot)>,
    ) -> Self {
        let mut slots = [None; CodexEndpoint::COUNT];
        for (endpoint, slot) in faults {
            slots[endpoint.index()] = Some(slot);
        }
        Self {
            state: Mutex::new(State {
                settings,
                account,
                codes: HashMap::new(),
                refresh: HashMap::new(),
                access: HashMap::new(),
                revoked_families: Vec::new(),
                refresh_requests: 0,
                code_exchanges: 0,
                families_revoked: 0,
                requests: Vec::new(),
                faults: slots,
            }),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic too;
    // no update spans a panic point, so the state is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn settings(&self) -> Settings {
        self.lock().settings.clone()
    }

    pub(crate) fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.lock().settings);
    }

    pub(crate) fn account(&self) -> Account {
        self.lock().account.clone()
    }

    pub(crate) fn set_fault(&self, endpoint: CodexEndpoint, slot: Option<FaultSlot>) {
        self.lock().faults[endpoint.index()] = slot;
    }

    pub(crate) fn fault(&self, endpoint: CodexEndpoint) -> Option<CodexFault> {
        self.lock().faults[endpoint.index()].map(|slot| slot.fault)
    }

    /// The fault to apply to this request, clearing it if it fires only once.
    pub(crate) fn take_fault(&self, endpoint: CodexEndpoint) -> Option<CodexFault> {
        let mut state = self.lock();
        let slot = &mut state.faults[endpoint.index()];
        let current = (*slot)?;
        if current.once {
            *slot = None;
        }
        Some(current.fault)
    }

    pub(crate) fn count_refresh_request(&self) {
        self.lock().refresh_requests += 1;
    }

    pub(crate) fn count_code_exchange(&self) {
        self.lock().code_exchanges += 1;
    }

    pub(crate) fn refresh_requests(&self) -> usize {
        self.lock().refresh_requests
    }

    pub(crate) fn code_exchanges(&self) -> usize {
        self.lock().code_exchanges
    }

    pub(crate) fn families_revoked(&self) -> usize {
        self.lock().families_revoked
    }

    pub(crate) fn record(&self, record: CodexRequestRecord) {
        self.lock().requests.push(record);
    }

    pub(crate) fn requests(&self) -> Vec<CodexRequestRecord> {
        self.lock().requests.clone()
    }

    pub(crate) fn grant(&self, grant: Grant) -> String {
        let code = format!("ac_{}", random_hex(24));
        self.lock().codes.insert(code.clone(), grant);
        code
    }

    /// Trades a code for a new token family. Any attempt on a live code spends it, right or
    /// wrong: a code presented with the wrong verifier may have been stolen.
    pub(crate) fn redeem(
        &self,
        code: &str,
        redirect_uri: &str,
        client_id: &str,
        verifier: &str,
    ) -> Result<IssuedTokens, GrantRefusal> {
        let mut state = self.lock();
        let grant = match state.codes.get_mut(code) {
            Some(grant) if !grant.spent => grant,
            _ => return Err(GrantRefusal::UnknownCode),
        };
        grant.spent = true;
        if grant.client_id != client_id {
            return Err(GrantRefusal::ClientMismatch);
        }
        if grant.redirect_uri != redirect_uri {
            return Err(GrantRefusal::RedirectMismatch);
        }
        // A plain comparison: the double guards no real secret, so timing does not matter here.
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
            return Err(GrantRefusal::VerifierMismatch);
        }
        let family = new_family(&mut state);
        Ok(issue(&mut state, family, true))
    }

    /// Starts a new family without a code, for tests that skip the browser.
    pub(crate) fn issue_family(&self) -> IssuedTokens {
        let mut state = self.lock();
        let family = new_family(&mut state);
        issue(&mut state, family, true)
    }

    /// Refresh-token rotation with reuse detection, decided under one lock.
    pub(crate) fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens, GrantRefusal> {
        let mut state = self.lock();
        let Some(entry) = state.refresh.get(refresh_token) else {
            return Err(GrantRefusal::RefreshInvalidated);
        };
        let (family, used) = (entry.family, entry.used);
        if used {
            // A used token coming back means two holders: the legitimate client and a thief,
            // or a client that lost the race with itself. Identity providers cannot tell which,
            // so they revoke everything the family issued.
            revoke_family(&mut state, family);
            return Err(GrantRefusal::RefreshReused);
        }
        if state.revoked_families[family] {
            return Err(GrantRefusal::RefreshInvalidated);
        }
        let rotate = state.settings.rotate;
        if rotate && let Some(entry) = state.refresh.get_mut(refresh_token) {
            entry.used = true;
        }
        Ok(issue(&mut state, family, rotate))
    }

    pub(crate) fn check_access(&self, token: &str, account_id: Option<&str>) -> AccessCheck {
        let state = self.lock();
        let Some(entry) = state.access.get(token) else {
            return AccessCheck::Invalid;
        };
        if state.revoked_families[entry.family] {
            return AccessCheck::Invalid;
        }
        if now_secs() >= entry.expires_at {
            return AccessCheck::Expired;
        }
        AccessCheck::Live {
            account_matches: account_id == Some(state.account.account_id.as_str()),
        }
    }

    pub(crate) fn is_live_access_token(&self, token: &str) -> bool {
        matches!(self.check_access(token, None), AccessCheck::Live { .. })
    }

    pub(crate) fn expire_access_tokens(&self) {
        let expired = now_secs().saturating_sub(1);
        for entry in self.lock().access.values_mut() {
            entry.expires_at = entry.expires_at.min(expired);
        }
    }

    pub(crate) fn family_revoked(&self, refresh_token: &str) -> Option<bool> {
        let state = self.lock();
        let entry = state.refresh.get(refresh_token)?;
        Some(state.revoked_families[entry.family])
    }

    pub(crate) fn is_used_refresh_token(&self, refresh_token: &str) -> bool {
        self.lock()
            .refresh
            .get(refresh_token)
            .is_some_and(|entry| entry.used)
    }
}

fn new_family(state: &mut State) -> usize {
    state.revoked_families.push(false);
    state.revoked_families.len() - 1
}

fn revoke_family(state: &mut State, family: usize) {
    if !state.revoked_families[family] {
        state.revoked_families[family] = true;
        state.families_revoked += 1;
    }
}

/// Mints an id token, an access token and (when `with_refresh`) a refresh token in `family`.
fn issue(state: &mut State, family: usize, with_refresh: bool) -> IssuedTokens {
    let now = now_secs();
    let ttl = state.settings.access_ttl_secs;
    // A zero lifetime means "already expired", so a test can sign in and immediately hold an
    // expired token; `exp` one second in the past says so to a client that reads it.
    let expires_at = if ttl == 0 {
        now.saturating_sub(1)
    } else {
        now + ttl
    };
    let account = &state.account;
    let client_id = state.settings.client_id.clone();
    let auth = json!({
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan_type,
        "chatgpt_user_id": account.user_id,
        "user_id": account.user_id,
    });
    let id_token = jwt(&json!({
        "iss": ISSUER,
        "aud": [client_id],
        "sub": account.user_id,
        "email": account.email,
        "email_verified": true,
        "iat": now,
        "exp": expires_at,
        "https://api.openai.com/auth": auth,
    }));
    let access_token = jwt(&json!({
        "iss": ISSUER,
        "aud": ["https://api.openai.com/v1"],
        "client_id": client_id,
        "sub": account.user_id,
        "email": account.email,
        "scp": ["openid", "profile", "email", "offline_access"],
        "jti": random_hex(16),
        "iat": now,
        "exp": expires_at,
        "https://api.openai.com/auth": auth,
        "https://api.openai.com/profile": { "email": account.email, "email_verified": true },
    }));
    state
        .access
        .insert(access_token.clone(), AccessEntry { family, expires_at });
    let refresh_token = with_refresh.then(|| {
        let token = format!("{REFRESH_PREFIX}{}", random_hex(32));
        state.refresh.insert(
            token.clone(),
            RefreshEntry {
                family,
                used: false,
            },
        );
        token
    });
    IssuedTokens {
        id_token,
        access_token,
        refresh_token,
        expires_in: ttl,
    }
}

/// A JWT-shaped token: base64url header, payload and a random stand-in signature. Nothing
/// verifies it; the double looks tokens up by their whole text.
fn jwt(payload: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "codex-double" });
    let signature = random_hex(32);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
