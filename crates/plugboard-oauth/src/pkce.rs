//! PKCE (RFC 7636): a per-login secret verifier and its S256 challenge, so a stolen
//! authorization code is useless without the verifier that never left this process.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plugboard_core::Random;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The challenge method this crate uses; `plain` is never offered.
pub const CHALLENGE_METHOD: &str = "S256";

/// Random bytes behind a generated verifier: 32 bytes make 43 base64url characters, RFC 7636's
/// minimum length and 256 bits of entropy.
const VERIFIER_BYTES: usize = 32;

/// A verifier and its challenge. `Debug` shows the challenge only.
#[derive(Clone)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

/// A verifier that RFC 7636 does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PkceError {
    /// Shorter than 43 or longer than 128 characters.
    #[error("a PKCE verifier is 43 to 128 characters, this one has {0}")]
    Length(usize),
    /// Contains a character outside `A-Z a-z 0-9 - . _ ~`.
    #[error("a PKCE verifier may only contain A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    Character,
}

impl Pkce {
    /// A fresh verifier from `random`, and its challenge.
    pub fn generate(random: &dyn Random) -> Self {
        let mut bytes = [0u8; VERIFIER_BYTES];
        random.fill(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        bytes.fill(0);
        Self::from_valid(verifier)
    }

    /// Wraps a verifier made elsewhere, after checking it against RFC 7636 section 4.1.
    pub fn from_verifier(verifier: &str) -> Result<Self, PkceError> {
        if !(43..=128).contains(&verifier.len()) {
            return Err(PkceError::Length(verifier.chars().count()));
        }
        if !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(PkceError::Character);
        }
        Ok(Self::from_valid(verifier.to_owned()))
    }

    fn from_valid(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier: verifier.into(),
            challenge,
        }
    }

    /// The secret verifier, sent only in the code exchange.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// `BASE64URL(SHA256(verifier))`, sent in the authorize URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// Always [`CHALLENGE_METHOD`].
    pub fn method(&self) -> &'static str {
        CHALLENGE_METHOD
    }
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"[redacted]")
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl PartialEq for Pkce {
    fn eq(&self, other: &Self) -> bool {
        self.verifier.expose_secret() == other.verifier.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;

    use super::*;

    /// The octets, verifier and challenge of RFC 7636 Appendix B.
    const RFC_OCTETS: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    struct Octets;
    impl Random for Octets {
        fn fill(&self, dest: &mut [u8]) {
            dest.copy_from_slice(&RFC_OCTETS);
        }
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        let pkce = Pkce::generate(&Octets);
        assert_eq!(pkce.verifier().expose_secret(), RFC_VERIFIER);
        assert_eq!(pkce.challenge(), RFC_CHALLENGE);
        assert_eq!(pkce.method(), "S256");
        let given = Pkce::from_verifier(RFC_VERIFIER).unwrap();
        assert_eq!(given.challenge(), RFC_CHALLENGE);
    }

    #[test]
    fn generated_verifiers_are_43_unreserved_characters() {
        for seed in [0, 62, 200, 255] {
            let pkce = Pkce::generate(&FixedRandom(seed));
            let v = pkce.verifier().expose_secret();
            assert_eq!(v.len(), 43, "{v}");
            assert!(Pkce::from_verifier(v).is_ok(), "{v}");
        }
    }

    #[test]
    fn verifiers_outside_rfc7636_are_refused() {
        let cases = [
            ("a".repeat(42), Err(PkceError::Length(42))),
            ("a".repeat(43), Ok(())),
            ("a".repeat(128), Ok(())),
            ("a".repeat(129), Err(PkceError::Length(129))),
            (format!("{}+", "a".repeat(42)), Err(PkceError::Character)),
            (format!("{} ", "a".repeat(42)), Err(PkceError::Character)),
            (format!("{}~._-", "a".repeat(40)), Ok(())),
        ];
        for (verifier, want) in cases {
            assert_eq!(
                Pkce::from_verifier(&verifier).map(|_| ()),
                want,
                "{verifier}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_verifier() {
        let pkce = Pkce::generate(&Octets);
        assert!(!format!("{pkce:?}").contains(RFC_VERIFIER));
    }
}
