//! The per-login `state`: 32 random bytes that tie a callback to the login that asked for it,
//! compared in constant time so a guessing attacker learns nothing from response timing.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plugboard_core::Random;
use subtle::ConstantTimeEq;

use crate::pkce::Pkce;

const STATE_BYTES: usize = 32;

/// One login's state value. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct State(String);

impl State {
    /// A fresh state from `random`.
    pub fn generate(random: &dyn Random) -> Self {
        let mut bytes = [0u8; STATE_BYTES];
        random.fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value, as sent in the authorize URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this state, in time that does not depend on where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("State([redacted])")
    }
}

/// Everything random one browser login needs, drawn in a fixed order (verifier, then state) so
/// a fixture with fixed randomness can predict the state its scripted redirect must carry.
#[derive(Debug, Clone)]
pub struct LoginSecrets {
    /// The PKCE verifier and challenge.
    pub pkce: Pkce,
    /// The state the callback must echo.
    pub state: State,
}

impl LoginSecrets {
    /// Draws the verifier, then the state, from `random`.
    pub fn generate(random: &dyn Random) -> Self {
        let pkce = Pkce::generate(random);
        let state = State::generate(random);
        Self { pkce, state }
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;

    use super::*;

    #[test]
    fn state_matches_only_itself() {
        let state = State::generate(&FixedRandom(7));
        assert_eq!(state.as_str().len(), 43);
        let cases = [
            (state.as_str().to_owned(), true),
            (String::new(), false),
            (state.as_str()[..42].to_owned(), false),
            (format!("{}x", state.as_str()), false),
            (state.as_str().to_uppercase(), false),
        ];
        for (candidate, want) in cases {
            assert_eq!(state.matches(&candidate), want, "{candidate}");
        }
    }

    #[test]
    fn secrets_are_reproducible_from_the_same_randomness() {
        let a = LoginSecrets::generate(&FixedRandom(1));
        let b = LoginSecrets::generate(&FixedRandom(1));
        assert_eq!(a.state, b.state);
        assert_eq!(a.pkce, b.pkce);
        assert_ne!(LoginSecrets::generate(&FixedRandom(2)).state, a.state);
    }

    #[test]
    fn debug_never_shows_the_state() {
        let state = State::generate(&FixedRandom(3));
        assert!(!format!("{state:?}").contains(state.as_str()));
    }
}
