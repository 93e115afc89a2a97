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
//! Since schema 3 (the migration that makes an older plugboard refuse the store rather than
//! call these rows damaged):
//!
//! - `{"type":"none"}` for a credential without a secret, and nothing else
//! - the `oauth` form gains `"session":{"token":"<token>","expires_at":<ms>,"endpoint":"<url>"}`,
//!   omitted when no session token is cached; within it `endpoint` is omitted when absent, and
//!   `token` and `expires_at` are required
//!
//! Decoding is strict (an unknown field, a missing one, a `type` that disagrees with `kind`, an
//! empty or unprintable token, an expiry outside years 1970 to 9999 are all refused, inside the
//! `session` object as at the top), and what it says is wrong never quotes any part of the
//! column: it names only fields of the form.

use std::time::SystemTime;

use plugboard_core::{Credential, CredentialKind, OAuthTokens, Provenance, SessionToken};
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
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<WrittenSession<'a>>,
    },
    #[serde(rename = "none")]
    None,
}

/// The `session` object of the `oauth` form as written.
#[derive(Serialize)]
struct WrittenSession<'a> {
    token: &'a str,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
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
    /// Checked field by field by [`session`] before it is typed.
    session: Option<Map<String, Value>>,
}

/// The `session` object of the `oauth` form as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionForm {
    token: String,
    expires_at: serde_json::Number,
    endpoint: Option<String>,
}

/// The fields of each form besides `type`, and which of them it requires; `None` for a kind
/// this build has no form for.
type Fields = (&'static [&'static str], &'static [&'static str]);
fn fields(kind: CredentialKind) -> Option<Fields> {
    match kind {
        CredentialKind::ApiKey => Some((&["key"], &["key"])),
        CredentialKind::Token => Some((&["token", "expires_at"], &["token"])),
        CredentialKind::OAuth => Some((
            &[
                "access_token",
                "refresh_token",
                "expires_at",
                "account_id",
                "session",
            ],
            &["access_token"],
        )),
        CredentialKind::None => Some((&[], &[])),
        _ => None,
    }
}

/// The fields of the oauth form's `session` object, and which of them it requires.
const SESSION_FIELDS: Fields = (
    &["token", "expires_at", "endpoint"],
    &["token", "expires_at"],
);

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
            session: tokens.session.as_ref().map(|session| WrittenSession {
                token: session.token.expose_secret(),
                expires_at: to_millis(session.expires_at).clamp(0, MAX_EXPIRY_MS),
                endpoint: session.endpoint.as_deref(),
            }),
        },
        None if credential.kind() == CredentialKind::Token => Written::Token {
            token: credential.expose_secret(),
            expires_at,
        },
        None if credential.kind() == CredentialKind::None => Written::None,
        // The kinds this build of core knows are api_key, token, oauth and none; a kind added
        // later needs its own form (and migration) before it can be stored.
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
    let known = fields(kind).ok_or_else(|| format!("no stored form for the {kind} kind"))?;
    has_fields(&map, "secret", &format!("the {kind} form"), known)?;
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
            tokens.session = form.session.map(session).transpose()?;
            Ok(Credential::oauth(tokens, provenance))
        }
        // `{"type":"none"}` has nothing else: the field check above refused anything more.
        CredentialKind::None => Ok(Credential::none(provenance)),
        _ => Err(format!("no stored form for the {kind} kind")),
    }
}

/// Refuses an object of `map` (`what`, in words) with a field `form` does not have, or without
/// one it requires.
fn has_fields(
    map: &Map<String, Value>,
    what: &str,
    form: &str,
    (known, required): Fields,
) -> Result<(), String> {
    if map.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(format!("the {what} has a field {form} does not have"));
    }
    if let Some(missing) = required.iter().find(|f| !map.contains_key(**f)) {
        return Err(format!("the {what} has no {missing}"));
    }
    Ok(())
}

/// The oauth form's cached session token, checked as strictly as the form around it.
fn session(map: Map<String, Value>) -> Result<SessionToken, String> {
    has_fields(&map, "secret's session", "the session form", SESSION_FIELDS)?;
    let form: SessionForm =
        form(map).map_err(|e| e.replacen("secret's ", "secret's session.", 1))?;
    let endpoint = form
        .endpoint
        .map(|url| {
            if url.trim().is_empty() || url.chars().any(char::is_control) {
                Err(String::from(
                    "the secret's session.endpoint is empty or contains control characters",
                ))
            } else {
                Ok(url)
            }
        })
        .transpose()?;
    Ok(SessionToken {
        token: usable("session.token", form.token)?,
        expires_at: time("session.expires_at", form.expires_at)?,
        endpoint,
    })
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
    ms.map(|ms| time("expires_at", ms)).transpose()
}

/// The time `field` holds, in Unix milliseconds within the range a form may hold.
fn time(field: &str, ms: serde_json::Number) -> Result<SystemTime, String> {
    // A number too large for an integer is a float to serde_json, and out of range all the
    // same; only a float an integer could have been is a malformed time.
    if ms.as_i64().is_none() && ms.as_f64().is_some_and(|f| f.abs() < i64::MAX as f64) {
        return Err(format!("the secret's {field} is not whole milliseconds"));
    }
    ms.as_i64()
        .filter(|ms| (0..=MAX_EXPIRY_MS).contains(ms))
        .and_then(from_millis)
        .ok_or_else(|| format!("the secret's {field} is out of range"))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use plugboard_core::{Credential, CredentialKind, OAuthTokens, Provenance, SessionToken};

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
        let session = |endpoint: Option<&str>| SessionToken {
            token: "tid=1;exp=2;sig".into(),
            expires_at: at(1_700_000_600_000),
            endpoint: endpoint.map(str::to_owned),
        };
        let mut copilot = OAuthTokens::new("ghu_1".into());
        copilot.session = Some(session(Some("https://api.individual.githubcopilot.com")));
        let mut bare_session = OAuthTokens::new("ghu_1".into());
        bare_session.session = Some(session(None));
        let mut local = Provenance::new();
        local.insert("base_url".into(), "http://127.0.0.1:11434".into());
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
            (
                Credential::oauth(copilot, Provenance::new()),
                r#"{"type":"oauth","access_token":"ghu_1","session":{"token":"tid=1;exp=2;sig","expires_at":1700000600000,"endpoint":"https://api.individual.githubcopilot.com"}}"#,
            ),
            (
                Credential::oauth(bare_session, Provenance::new()),
                r#"{"type":"oauth","access_token":"ghu_1","session":{"token":"tid=1;exp=2;sig","expires_at":1700000600000}}"#,
            ),
            // Where a local service is lives in the provenance column, never in the secret.
            (Credential::none(local), r#"{"type":"none"}"#),
        ];
        for (credential, want) in cases {
            let written = encode(&credential);
            assert_eq!(written, want);
            let back = decode(credential.kind(), &written, Provenance::new()).unwrap();
            assert!(back.same_secrets(&credential), "{want}");
            assert_eq!(back.kind(), credential.kind());
            assert_eq!(back.has_secret(), credential.has_secret(), "{want}");
            assert_eq!(back.expires_at(), credential.expires_at(), "{want}");
            assert_eq!(back.account_id(), credential.account_id(), "{want}");
            let session = |c: &Credential| c.session().map(|s| (s.expires_at, s.endpoint.clone()));
            assert_eq!(session(&back), session(&credential), "{want}");
            assert_eq!(
                encode(&back),
                written,
                "{want}: reads back to the same column"
            );
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
            (
                CredentialKind::None,
                r#"{"type":"none","key":"sk-topsecret"}"#,
                "a field the none form does not have",
            ),
            (
                CredentialKind::None,
                r#"{"type":"none","sk-topsecret":null}"#,
                "a field the none form does not have",
            ),
            (
                CredentialKind::None,
                r#"{"type":"api_key","key":"sk-topsecret"}"#,
                "not its kind column (none)",
            ),
            (
                CredentialKind::ApiKey,
                r#"{"type":"none"}"#,
                "not its kind column (api_key)",
            ),
            (
                CredentialKind::Token,
                r#"{"type":"token","token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":1}}"#,
                "a field the token form does not have",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":"sk-topsecret"}"#,
                "session has the wrong type",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"expires_at":1}}"#,
                "session has no token",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret"}}"#,
                "session has no expires_at",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":1,"sk-topsecret":1}}"#,
                "session has a field the session form does not have",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":" ","expires_at":1}}"#,
                "session.token is empty",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-top\u0007secret","expires_at":1}}"#,
                "session.token contains control characters",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":-1}}"#,
                "session.expires_at is out of range",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":1.5}}"#,
                "session.expires_at is not whole milliseconds",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":"sk-topsecret"}}"#,
                "session.expires_at has the wrong type",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":1,"endpoint":["sk-topsecret"]}}"#,
                "session.endpoint has the wrong type",
            ),
            (
                CredentialKind::OAuth,
                r#"{"type":"oauth","access_token":"sk-topsecret","session":{"token":"sk-topsecret","expires_at":1,"endpoint":"https://x\u001b[2J"}}"#,
                "session.endpoint is empty or contains control characters",
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
