//! Reading the claims OpenAI puts in its tokens: the ChatGPT account id, email and plan from
//! the id token (`https://api.openai.com/auth`, as codex-rs's `login/src/token_data.rs` reads
//! them), and the access token's expiry (`exp`).
//!
//! Signatures are not checked, on purpose: the tokens come straight from OpenAI's token
//! endpoint over TLS, in the answer to our own request, so they are as trustworthy as that
//! connection; the claims only label the stored credential and route requests for the account
//! they were issued to, and the backend checks the signature itself on every call.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use thiserror::Error;

use crate::service_text::short_line;

/// The namespace of OpenAI's own claims in its tokens (spelled by the serde renames below).
#[cfg(test)]
const AUTH_CLAIM: &str = "https://api.openai.com/auth";
/// Where an id token may carry the email instead of the standard claim.
#[cfg(test)]
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// A token that is not a JWT whose payload can be read. Never carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum JwtError {
    /// Not three non-empty dot-separated parts.
    #[error("is not a JWT")]
    NotAJwt,
    /// The payload is not base64url.
    #[error("has a JWT payload that is not base64url")]
    Encoding,
    /// The payload is not a JSON object.
    #[error("has a JWT payload that is not JSON")]
    Json,
}

/// What the sign-in keeps from an id token (none of it secret).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Account {
    /// The ChatGPT account (workspace) the tokens act for: sent as `chatgpt-account-id`.
    pub(crate) account_id: Option<String>,
    /// The signed-in user's email.
    pub(crate) email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`, ...).
    pub(crate) plan: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "https://api.openai.com/profile", default)]
    profile: Option<ProfileClaims>,
    #[serde(rename = "https://api.openai.com/auth", default)]
    auth: Option<AuthClaims>,
}

#[derive(Deserialize)]
struct ProfileClaims {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct AuthClaims {
    #[serde(default)]
    chatgpt_account_id: Option<String>,
    #[serde(default)]
    chatgpt_plan_type: Option<String>,
}

fn claims(jwt: &str) -> Result<Claims, JwtError> {
    let mut parts = jwt.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() && !s.is_empty() => p,
        _ => return Err(JwtError::NotAJwt),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| JwtError::Encoding)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Json)
}

/// The account an id token (or, failing that, an access token) names. Values are cut to one
/// short safe line, since they are shown.
pub(crate) fn account(jwt: &str) -> Result<Account, JwtError> {
    let claims = claims(jwt)?;
    let clean = |v: Option<String>| v.map(|s| short_line(&s)).filter(|s| !s.is_empty());
    let auth = claims.auth;
    Ok(Account {
        account_id: clean(auth.as_ref().and_then(|a| a.chatgpt_account_id.clone())),
        email: clean(claims.email.or(claims.profile.and_then(|p| p.email))),
        plan: clean(auth.and_then(|a| a.chatgpt_plan_type)),
    })
}

/// When a token stops working, from its `exp` claim (seconds since the epoch).
pub(crate) fn expiry(jwt: &str) -> Result<Option<SystemTime>, JwtError> {
    Ok(claims(jwt)?
        .exp
        .and_then(|exp| u64::try_from(exp).ok())
        .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs)))
}

/// A JWT-shaped token with `payload` as its claims, for tests and fixtures. The header and
/// signature are fixed: nothing here checks them.
#[cfg(any(test, feature = "contract-fixtures"))]
pub(crate) fn unsigned(payload: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{body}.c2lnbmF0dXJl")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_account_comes_from_openais_claims() {
        let cases = [
            (
                json!({"email": "a@example.test", AUTH_CLAIM: {
                    "chatgpt_account_id": "acc-1", "chatgpt_plan_type": "plus"}}),
                Account {
                    account_id: Some("acc-1".into()),
                    email: Some("a@example.test".into()),
                    plan: Some("plus".into()),
                },
            ),
            (
                json!({PROFILE_CLAIM: {"email": "p@example.test"}, AUTH_CLAIM: {}}),
                Account {
                    email: Some("p@example.test".into()),
                    ..Account::default()
                },
            ),
            (
                json!({"email": "e\u{1b}[2Jvil\u{202e}@x.test", AUTH_CLAIM: {"chatgpt_account_id": " "}}),
                Account {
                    email: Some("evil@x.test".into()),
                    ..Account::default()
                },
            ),
            (json!({"sub": "x"}), Account::default()),
        ];
        for (payload, want) in cases {
            assert_eq!(account(&unsigned(&payload)).unwrap(), want, "{payload}");
        }
    }

    #[test]
    fn the_expiry_is_the_exp_claim() {
        let token = unsigned(&json!({"exp": 1_700_000_600}));
        assert_eq!(
            expiry(&token).unwrap(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_600))
        );
        assert_eq!(expiry(&unsigned(&json!({}))).unwrap(), None);
        assert_eq!(expiry(&unsigned(&json!({"exp": -5}))).unwrap(), None);
    }

    #[test]
    fn tokens_that_are_not_jwts_are_told_apart_without_repeating_them() {
        let cases = [
            ("opaque-token", JwtError::NotAJwt),
            ("a.b", JwtError::NotAJwt),
            ("a..c", JwtError::NotAJwt),
            ("a.b.c.d", JwtError::NotAJwt),
            ("a.!!!.c", JwtError::Encoding),
            ("a.bm90IGpzb24.c", JwtError::Json),
        ];
        for (token, want) in cases {
            let got = account(token).unwrap_err();
            assert_eq!(got, want, "{token}");
            assert!(!got.to_string().contains(token), "{got}");
        }
    }
}
