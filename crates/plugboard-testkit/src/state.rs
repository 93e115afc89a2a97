//! What the double remembers between requests: authorization codes, keys, the request log and
//! the faults a test has set. One mutex guards it all; it is never held across an await.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::fault::{Endpoint, Fault};

/// Prefix of every key the double mints, as OpenRouter's keys have.
pub(crate) const KEY_PREFIX: &str = "sk-or-v1-";

/// One request the double answered (or dropped). Bodies are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/api/v1/auth/keys`.
    pub path: String,
    /// The status answered, or `None` when a fault dropped the connection instead.
    pub status: Option<u16>,
    /// The `HTTP-Referer` header OpenRouter uses for app attribution, if sent.
    pub http_referer: Option<String>,
    /// The `X-Title` header OpenRouter uses for app attribution, if sent.
    pub x_title: Option<String>,
}

/// Why an exchange was refused; each maps to one status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    UnknownCode,
    MissingVerifier,
    MethodMismatch,
    VerifierMismatch,
}

/// A key minted by a successful exchange.
pub(crate) struct Minted {
    pub(crate) key: String,
    pub(crate) user_id: String,
}

#[derive(Clone, Copy)]
pub(crate) struct FaultSlot {
    pub(crate) fault: Fault,
    pub(crate) once: bool,
}

struct Grant {
    challenge: String,
    method: String,
    spent: bool,
}

struct State {
    codes: HashMap<String, Grant>,
    issued: Vec<String>,
    valid: HashSet<String>,
    requests: Vec<RequestRecord>,
    faults: [Option<FaultSlot>; Endpoint::ALL.len()],
    deny_description: String,
    user_id: String,
    chat_images: Vec<String>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(deny_description: String, faults: Vec<(Endpoint, FaultSlot)>) -> Self {
        let mut state = State {
            codes: HashMap::new(),
            issued: Vec::new(),
            valid: HashSet::new(),
            requests: Vec::new(),
            faults: [None; Endpoint::ALL.len()],
            deny_description,
            // One user per double: every key it mints belongs to the same signed-in account.
            user_id: format!("user_{}", random_hex(8)),
            chat_images: Vec::new(),
        };
        for (endpoint, slot) in faults {
            state.faults[endpoint.index()] = Some(slot);
        }
        Self {
            state: Mutex::new(state),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic
    // too; the state is still consistent because no update spans an await or a panic point.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_fault(&self, endpoint: Endpoint, slot: Option<FaultSlot>) {
        self.lock().faults[endpoint.index()] = slot;
    }

    pub(crate) fn fault(&self, endpoint: Endpoint) -> Option<Fault> {
        self.lock().faults[endpoint.index()].map(|slot| slot.fault)
    }

    /// The fault to apply to this request, clearing it if it fires only once.
    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut state = self.lock();
        let slot = &mut state.faults[endpoint.index()];
        let current = (*slot)?;
        if current.once {
            *slot = None;
        }
        Some(current.fault)
    }

    pub(crate) fn grant(&self, challenge: &str, method: &str) -> String {
        let code = random_hex(20);
        self.lock().codes.insert(
            code.clone(),
            Grant {
                challenge: challenge.to_owned(),
                method: method.to_owned(),
                spent: false,
            },
        );
        code
    }

    /// Trades a code for a fresh key. Any well-formed attempt on a live code spends it, right
    /// or wrong: a code presented with the wrong verifier may have been stolen, so it must not
    /// stay usable for whoever holds the right one later.
    pub(crate) fn redeem(
        &self,
        code: &str,
        verifier: Option<&str>,
        method: Option<&str>,
    ) -> Result<Minted, Refusal> {
        let mut state = self.lock();
        let grant = match state.codes.get_mut(code) {
            Some(grant) if !grant.spent => grant,
            _ => return Err(Refusal::UnknownCode),
        };
        grant.spent = true;
        if method != Some(grant.method.as_str()) {
            return Err(Refusal::MethodMismatch);
        }
        let verifier = verifier.ok_or(Refusal::MissingVerifier)?;
        // A plain comparison: the double guards no real secret, so timing does not matter here.
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
            return Err(Refusal::VerifierMismatch);
        }
        let key = mint(&mut state);
        Ok(Minted {
            key,
            user_id: state.user_id.clone(),
        })
    }

    pub(crate) fn mint_key(&self) -> String {
        mint(&mut self.lock())
    }

    pub(crate) fn key_is_valid(&self, key: &str) -> bool {
        self.lock().valid.contains(key)
    }

    pub(crate) fn revoke(&self, key: &str) -> bool {
        self.lock().valid.remove(key)
    }

    pub(crate) fn issued_keys(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    pub(crate) fn user_id(&self) -> String {
        self.lock().user_id.clone()
    }

    pub(crate) fn record(&self, record: RequestRecord) {
        self.lock().requests.push(record);
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    pub(crate) fn deny_description(&self) -> String {
        self.lock().deny_description.clone()
    }

    pub(crate) fn set_deny_description(&self, text: String) {
        self.lock().deny_description = text;
    }

    pub(crate) fn chat_images(&self) -> Vec<String> {
        self.lock().chat_images.clone()
    }

    pub(crate) fn set_chat_images(&self, urls: Vec<String>) {
        self.lock().chat_images = urls;
    }
}

fn mint(state: &mut State) -> String {
    let key = format!("{KEY_PREFIX}{}", random_hex(32));
    state.issued.push(key.clone());
    state.valid.insert(key.clone());
    key
}

/// `bytes` random bytes as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
