//! The `secret` column: one tagged JSON object per row, whose `type` equals the row's `kind`.
//!
//! This is the store's stable format, append-only: never change a released form; a new kind
//! or field is a new form, written by a new migration. Times are Unix milliseconds, like
//! `created_at` and `updated_at`. The released forms:
//!
//! - `{"type":"api_key","key":"<key>"}`
//! - `{"type":"token","token":"<token>","expires_at":<ms>}`, `expires_at` omitted when the
//!   token does not expire (or nobody said)
//! - `{"type":"oauth","access_token":"<token>","refresh_token":"<token>","expires_at":<ms>,"account_id":"<id>"}`,
//!   each of the last three omitted when absent
//!
//! Decoding is strict (an unknown field, a missing one, a `type` that disagrees with `kind`, an
//! empty or unprintable token, an expiry outside years 1970 to 9999 are all refused), and what
//! it says is wrong never quotes any part of the column: it names only fields of the form.

use std::time::SystemTime;

use plugboard_core::{Credential, CredentialKind, OAuthTokens, Provenance};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rows::{from_millis, to_millis};

/// The latest expiry a form may hold: the end of year 9999, the last instant RFC 3339 (and so
/// every date the host prints) can say.
const MAX_EXPIRY_MS: i64 = 253_402_300_799_999;

/// A credential as written: borrowed from the [`Credential`], tagged by its kind.
#[derive(Serialize)]
#[serde(tag = "type")]
enum Written<'a> {
    #[serde(rename = "api_key")]
    ApiKey { key: &'a str },
    #[serde(rename = "token")]
    Token {
        token: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
    },
    #[serde(rename = "oauth")]
    OAuth {
        access_token: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<&'a str>,
    },
}

/// The `api_key` form as read, without its tag.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyForm {
    key: String,
}

/// The `token` form as read, without its tag.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenForm {
    token: String,
    expires_at: Option<serde_json::Number>,
}

/// The `oauth` form as read, without its tag.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthForm {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<serde_json::Number>,
    account_id: Option<String>,
}

/// The fields of each form besides `type`, and which of them it requires; `None` for a kind
/// this build has no form for.
type Fields = (&'static [&'static str], &'static [&'static str]);
fn fields(kind: CredentialKind) -> Option<Fields> {
    match kind {
        CredentialKind::ApiKey => Some((&["key"], &["key"])),
        CredentialKind::Token => Some((&["token", "expires_at"], &["token"])),
        CredentialKind::OAuth => Some((
            &["access_token", "refresh_token", "expires_at", "account_id"],
            &["access_token"],
        )),
        _ => None,
    }
}

/// The `secret` column for `credential`.
/// An expiry outside the range a form may hold is clamped to it (before 1970 is long expired,
/// after 9999 is as good as never), so that every credential written reads back.
pub(super) fn encode(credential: &Credential) -> String {
    let expires_at = credential
        .expires_at()
        .map(|at| to_millis(at).clamp(0, MAX_EXPIRY_MS));
    let written = match credential.oauth_tokens() {
        Some(tokens) => Written::OAuth {
            access_token: tokens.access_token.expose_secret(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(ExposeSecret::expose_secret),
            expires_at,
            account_id: tokens.account_id.as_deref(),
        },
        None if credential.kind() == CredentialKind::Token => Written::Token {
            token: credential.expose_secret(),
            expires_at,
        },
        // The kinds this build of core knows are api_key, token and oauth; a kind added later
        // needs its own form (and migration) before it can be stored.
        None => Written::ApiKey {
            key: credential.expose_secret(),
        },
    };
    #[expect(
        clippy::expect_used,
        reason = "an enum of strings and integers with string keys always serializes"
    )]
    serde_json::to_string(&written).expect("a credential form serializes")
}

/// The credential a row of `kind` holds in its `secret` column, or what is wrong with the
/// column, in words that never quote it.
pub(super) fn decode(
    kind: CredentialKind,
    secret: &str,
    provenance: Provenance,
) -> Result<Credential, String> {
    let Ok(value) = serde_json::from_str::<Value>(secret) else {
        return Err(String::from("the secret is not valid JSON"));
    };
    let Value::Object(mut map) = value else {
        return Err(String::from("the secret is not a JSON object"));
    };
    let tagged = match map.remove("type") {
        Some(Value::String(tag)) => CredentialKind::from_name(&tag)
            .ok_or_else(|| String::from("the secret's type is unknown"))?,
        Some(_) => return Err(String::from("the secret's type is not a string")),
        None => return Err(String::from("the secret has no type")),
    };
    if tagged != kind {
        return Err(format!("the secret's type is not its kind column ({kind})"));
    }
    let (known, required) =
        fields(kind).ok_or_else(|| format!("no stored form for the {kind} kind"))?;
    if map.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "the secret has a field the {kind} form does not have"
        ));
    }
    if let Some(missing) = required.iter().find(|f| !map.contains_key(**f)) {
        return Err(format!("the secret has no {missing}"));
    }
    match kind {
        CredentialKind::ApiKey => {
            let form: ApiKeyForm = form(map)?;
            Ok(Credential::new(
                CredentialKind::ApiKey,
                usable("key", form.key)?,
                provenance,
            ))
        }
        CredentialKind::Token => {
            let form: TokenForm = form(map)?;
            Ok(Credential::token(
                usable("token", form.token)?,
                expiry(form.expires_at)?,
                provenance,
            ))
        }
        CredentialKind::OAuth => {
            let form: OAuthForm = form(map)?;
            let mut tokens = OAuthTokens::new(usable("access_token", form.access_token)?);
            tokens.refresh_token = form
                .refresh_token
                .map(|t| usable("refresh_token", t))
                .transpose()?;
            tokens.expires_at = expiry(form.expires_at)?;
            tokens.account_id = form
                .account_id
                .map(|id| {
                    if id.chars().any(char::is_control) {
                        Err(String::from(
                            "the secret's account_id contains control characters",
                        ))
                    } else {
                        Ok(id)
                    }
                })
                .transpose()?;
            Ok(Credential::oauth(tokens, provenance))
        }
        _ => Err(format!("no stored form for the {kind} kind")),
    }
}

/// The form's fields, typed. Unknown and missing fields were refused already, so what can fail
/// here is a field of the wrong JSON type, named by the path (a field of the form, never a value).
fn form<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            String::from("the secret does not have its form's shape")
        } else {
            format!("the secret's {path} has the wrong type")
        }
    })
}

/// A token or key that can be sent: not blank, and nothing a header or a terminal would act on.
fn usable(field: &str, secret: String) -> Result<SecretString, String> {
    if secret.trim().is_empty() {
        return Err(format!("the secret's {field} is empty"));
    }
    if secret.chars().any(char::is_control) {
        return Err(format!("the secret's {field} contains control characters"));
    }
    Ok(SecretString::from(secret))
}

fn expiry(ms: Option<serde_json::Number>) -> Result<Option<SystemTime>, String> {
    let Some(ms) = ms else {
        return Ok(None);
    };
    // A number too large for an integer is a float to serde_json, and out of range all the
    // same; only a float an integer could have been is a malformed time.
    if ms.as_i64().is_none() && ms.as_f64().is_some_and(|f| f.abs() < i64::MAX as f64) {
        return Err(String::from(
            "the secret's expires_at is not whole milliseconds",
        ));
    }
    ms.as_i64()
        .filter(|ms| (0..=MAX_EXPIRY_MS).contains(ms))
        .and_then(from_millis)
        .map(Some)
        .ok_or_else(|| String::from("the secret's expires_at is out of range"))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use plugboard_core::{Credential, CredentialKind, OAuthTokens, Provenance};

    use super::{decode, encode};

    fn at(ms: u64) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn every_kind_is_written_in_its_documented_form() {
        let mut full = OAuthTokens::new("at-1".into());
        full.refresh_token = Some("rt-1".into());
        full.expires_at = Some(at(1_700_000_000_123));
        full.account_id = Some("acct-9".into());
        let cases = [
            (
                Credential::new(CredentialKind::ApiKey, "sk-1".into(), Provenance::new()),
                r#"{"type":"api_key","key":"sk-1"}"#,
            ),
            (
                Credential::token("tok-1".into(), None, Provenance::new()),
                r#"{"type":"token","token":"tok-1"}"#,
            ),
            (
                Credential::token("tok-1".into(), Some(at(5)), Provenance::new()),
                r#"{"type":"token","token":"tok-1","expires_at":5}"#,
            ),
            (
                Credential::oauth(OAuthTokens::new("at-1".into()), Provenance::new()),
                r#"{"type":"oauth","access_token":"at-1"}"#,
            ),
            (
                Credential::oauth(full, Provenance::new()),
                r#"{"type":"oauth","access_token":"at-1","refresh_token":"rt-1","expires_at":1700000000123,"account_id":"acct-9"}"#,
            ),
        ];
        for (credential, want) in cases {
            let written = encode(&credential);
            assert_eq!(written, want);
            let back = decode(credential.kind(), &written, Provenance::new()).unwrap();
            assert!(back.same_secrets(&credential), "{want}");
            assert_eq!(back.kind(), credential.kind());
            assert_eq!(back.expires_at(), credential.expires_at(), "{want}");
            assert_eq!(back.account_id(), credential.account_id(), "{want}");
        }
    }

    #[test]
    fn an_expiry_no_form_can_hold_is_written_as_the_nearest_one_that_can() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        let before = UNIX_EPOCH - Duration::from_secs(5);
        for (expires_at, want) in [(far, at(253_402_300_799_999)), (before, UNIX_EPOCH)] {
            let token = Credential::token("tok-1".into(), Some(expires_at), Provenance::new());
            let back = decode(CredentialKind::Token, &encode(&token), Provenance::new()).unwrap();
            assert_eq!(back.expires_at(), Some(want));
        }
    }

    #[test]
    fn a_column_that_is_not_a_valid_form_is_refused_without_quoting_it() {
        // (kind column, secret column, what the problem says)
        let cases: &[(CredentialKind, &str, &str)] = &[
            (CredentialKind::ApiKey, "sk-topsecret", "not valid JSON"),
            (
                CredentialKind::ApiKey,
                r#""sk-topsecret""#,
                "not a JSON object",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"key":"sk-topsecret"}"#,
                "has no type",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":7,"key":"sk-topsecret"}"#,
                "type is not a string",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"sk-topsecret","key":"sk-topsecret"}"#,
                "type is unknown",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"token","token":"sk-topsecret"}"#,
                "not its kind column (api_key)",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"api_key","key":"sk-topsecret","sk-topsecret":1}"#,
                "a field the api_key form does not have",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"api_key"}"#,
                "has no key",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"api_key","key":["sk-topsecret"]}"#,
                "key has the wrong type",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"api_key","key":" "}"#,
                "key is empty",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-top\u001bsecret"}"#,
                "token contains control characters",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-topsecret","expires_at":-1}"#,
                "expires_at is out of range",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-topsecret","expires_at":99999999999999999999}"#,
                "expires_at is out of range",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-topsecret","expires_at":253402300800000}"#,
                "expires_at is out of range",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-topsecret","expires_at":"sk-topsecret"}"#,
                "expires_at has the wrong type",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","refresh_token":"sk-topsecret"}"#,
                "has no access_token",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","refresh_token":""}"#,
                "refresh_token is empty",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","account_id":"a\nb"}"#,
                "account_id contains control characters",
            ),
        ];
        for (kind, secret, problem) in cases {
            let Err(said) = decode(*kind, secret, Provenance::new()) else {
                panic!("{secret} decoded");
            };
            assert!(said.contains(problem), "{secret}: {said}");
            assert!(!said.contains("topsecret"), "{secret}: {said}");
        }
    }
}
