//! The token endpoint's answers, shared by the code exchange and the refresh: the tokens it
//! issues, and what the stored credential learns from them (account, expiry).

use std::time::{Duration, SystemTime};

use plugboard_core::{HttpMethod, HttpRequest};
use secrecy::SecretString;
use serde::Deserialize;

use crate::jwt::{self, Account};

/// Three JWTs fit in a few KiB; 64 KiB leaves room for any error page while keeping a hostile
/// answer from filling memory.
pub(crate) const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// The token endpoint's success answer. Every field is optional here: which ones must be
/// present depends on the grant.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

/// A non-blank token as a secret.
pub(crate) fn present(token: Option<String>) -> Option<SecretString> {
    token
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::from)
}

/// When the access token stops working: its `exp` claim, else `expires_in` seconds from `now`,
/// else unknown. A token that is not a JWT is allowed (the claim is only a hint).
pub(crate) fn expires_at(
    access_token: &str,
    expires_in: Option<u64>,
    now: SystemTime,
) -> Option<SystemTime> {
    jwt::expiry(access_token)
        .ok()
        .flatten()
        .or_else(|| expires_in.map(|secs| now + Duration::from_secs(secs)))
}

/// The account the tokens act for: the id token's claims, with the account id taken from the
/// access token when the id token lacks it (both carry OpenAI's auth claim).
pub(crate) fn account_of(id_token: Option<&str>, access_token: &str) -> Account {
    let mut account = id_token
        .and_then(|t| jwt::account(t).ok())
        .unwrap_or_default();
    if account.account_id.is_none() {
        account.account_id = jwt::account(access_token).ok().and_then(|a| a.account_id);
    }
    account
}

/// A `POST` of `body` with `content_type`, bounded for a token answer.
pub(crate) fn post(url: &str, content_type: &str, body: Vec<u8>) -> HttpRequest {
    let mut request = HttpRequest::get(url).with_max_response_bytes(MAX_TOKEN_RESPONSE);
    request.method = HttpMethod::Post;
    request.body = Some(body);
    request.with_header("content-type", content_type)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jwt::unsigned;

    #[test]
    fn the_expiry_is_the_access_tokens_exp_else_expires_in() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let jwt = unsigned(&json!({"exp": 5_000}));
        let at = |secs| Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(expires_at(&jwt, Some(60), now), at(5_000));
        assert_eq!(expires_at("opaque", Some(60), now), at(1_060));
        assert_eq!(expires_at(&unsigned(&json!({})), None, now), None);
    }

    #[test]
    fn the_account_id_falls_back_to_the_access_token() {
        let auth = "https://api.openai.com/auth";
        let id = unsigned(&json!({"email": "u@x.test", auth: {}}));
        let access = unsigned(&json!({auth: {"chatgpt_account_id": "acc-2"}}));
        let account = account_of(Some(&id), &access);
        assert_eq!(account.account_id.as_deref(), Some("acc-2"));
        assert_eq!(account.email.as_deref(), Some("u@x.test"));
        let id = unsigned(&json!({auth: {"chatgpt_account_id": "acc-1"}}));
        assert_eq!(
            account_of(Some(&id), &access).account_id.as_deref(),
            Some("acc-1")
        );
        assert_eq!(account_of(None, "opaque"), Account::default());
    }
}
