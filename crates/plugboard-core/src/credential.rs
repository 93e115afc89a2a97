//! What a sign-in produces and the store keeps: a secret with its kind and provenance.

use std::fmt;
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::text::is_plainly_visible;

/// What kind of secret a credential holds, independent of how it was obtained (an OAuth login
/// may well produce a plain API key, as OpenRouter's does).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialKind {
    /// A long-lived API key sent as a bearer token or header.
    ApiKey,
    /// A bearer token without a refresh token.
    Token,
    /// An OAuth access token that may be refreshed.
    #[serde(rename = "oauth")]
    OAuth,
    /// No secret at all: a local service that needs none (Ollama). The profile records that
    /// the user chose it, and its provenance says where the service is.
    None,
}

impl CredentialKind {
    /// The stable name used in the store, `--json` output and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Token => "token",
            Self::OAuth => "oauth",
            Self::None => "none",
        }
    }

    /// Parses the stable name written by [`CredentialKind::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::ApiKey, Self::Token, Self::OAuth, Self::None]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a credential came from (`{"auth_flow": "oauth-pkce", "user_id": ...}`): free-form JSON
/// that is shown to the user, so it must never hold a secret.
pub type Provenance = serde_json::Map<String, serde_json::Value>;

/// The tokens of an OAuth sign-in: what a credential of kind [`CredentialKind::OAuth`] holds
/// besides its provenance. Its `Debug` shows neither token.
#[derive(Clone)]
pub struct OAuthTokens {
    /// The bearer token sent with each request.
    pub access_token: SecretString,
    /// Trades for a new access token when this one expires; `None` when the service gave none,
    /// so the user must sign in again once the access token expires.
    pub refresh_token: Option<SecretString>,
    /// When the access token stops working, if the service said.
    pub expires_at: Option<SystemTime>,
    /// The account the tokens act for, as the service names it (sent with requests by
    /// services that need it, such as ChatGPT's `chatgpt-account-id`). Not a secret.
    pub account_id: Option<String>,
    /// A short-lived token the provider derived from the access token at use, cached here
    /// until it expires (GitHub Copilot trades the GitHub token for a Copilot token).
    pub session: Option<SessionToken>,
}

impl OAuthTokens {
    /// Tokens with only an access token; add the rest with the struct's public fields.
    pub fn new(access_token: SecretString) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
            account_id: None,
            session: None,
        }
    }
}

/// A short-lived token a provider derives from the stored secret when it is used, and caches
/// in the profile so the next call (in any process) reuses it until it expires. Renewing it is
/// the provider's [`Refresher`](crate::Refresher)'s job, under the same once-across-processes
/// rule as a refresh. Its `Debug` shows only the redacted token.
#[derive(Clone)]
pub struct SessionToken {
    /// The token sent with each request.
    pub token: SecretString,
    /// When it stops working.
    pub expires_at: SystemTime,
    /// Where requests with it go, when the service says (Copilot's `endpoints.api`). Not a
    /// secret.
    pub endpoint: Option<String>,
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionToken")
            .field("token", &redact(self.token.expose_secret()))
            .field("expires_at", &rfc3339(self.expires_at))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &redact(self.access_token.expose_secret()))
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "..."))
            .field("expires_at", &self.expires_at.map(rfc3339))
            .field("account_id", &self.account_id)
            .field("session", &self.session)
            .finish()
    }
}

/// What a credential holds, by kind: the one shape the store serializes (tagged by kind), so a
/// kind can never carry another kind's fields.
#[derive(Clone)]
enum Material {
    ApiKey(SecretString),
    Token {
        token: SecretString,
        expires_at: Option<SystemTime>,
    },
    OAuth(OAuthTokens),
    None,
}

/// A secret plus what it is and where it came from: an API key, a bearer token with an
/// optional expiry, OAuth tokens that may be refreshed (with a cached [`SessionToken`]), or no
/// secret at all (kind `none`, for a local service). Its `Debug` and `Display` never show a
/// secret; only [`Credential::expose_secret`] (and [`Credential::refresh_token`] and
/// [`Credential::session_token`]) do, and only the store and the request that uses it should
/// call them.
#[derive(Clone)]
pub struct Credential {
    material: Material,
    provenance: Provenance,
}

impl Credential {
    /// Wraps a secret of `kind` that never expires: an API key, a token, or an OAuth access
    /// token without refresh token or expiry. Use [`Credential::token`] or
    /// [`Credential::oauth`] for the rest. Of kind `none` there is nothing to wrap: `secret` is
    /// dropped, as [`Credential::none`] would.
    pub fn new(kind: CredentialKind, secret: SecretString, provenance: Provenance) -> Self {
        let material = match kind {
            CredentialKind::ApiKey => Material::ApiKey(secret),
            CredentialKind::Token => Material::Token {
                token: secret,
                expires_at: None,
            },
            CredentialKind::OAuth => Material::OAuth(OAuthTokens::new(secret)),
            CredentialKind::None => Material::None,
        };
        Self {
            material,
            provenance,
        }
    }

    /// A bearer token that stops working at `expires_at`, if given.
    pub fn token(
        token: SecretString,
        expires_at: Option<SystemTime>,
        provenance: Provenance,
    ) -> Self {
        Self {
            material: Material::Token { token, expires_at },
            provenance,
        }
    }

    /// The tokens of an OAuth sign-in.
    pub fn oauth(tokens: OAuthTokens, provenance: Provenance) -> Self {
        Self {
            material: Material::OAuth(tokens),
            provenance,
        }
    }

    /// A credential without a secret, for a service that needs none; `provenance` says where
    /// the service is.
    pub fn none(provenance: Provenance) -> Self {
        Self {
            material: Material::None,
            provenance,
        }
    }

    /// What kind of secret this is.
    pub fn kind(&self) -> CredentialKind {
        match self.material {
            Material::ApiKey(_) => CredentialKind::ApiKey,
            Material::Token { .. } => CredentialKind::Token,
            Material::OAuth(_) => CredentialKind::OAuth,
            Material::None => CredentialKind::None,
        }
    }

    /// Where it came from.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The secret sent with requests (the key, the token, or the OAuth access token), for
    /// writing to the store or sending to the provider; empty for kind `none`.
    pub fn expose_secret(&self) -> &str {
        match &self.material {
            Material::ApiKey(secret) | Material::Token { token: secret, .. } => {
                secret.expose_secret()
            }
            Material::OAuth(tokens) => tokens.access_token.expose_secret(),
            Material::None => "",
        }
    }

    /// Whether it holds a secret at all (every kind but `none`).
    pub fn has_secret(&self) -> bool {
        !matches!(self.material, Material::None)
    }

    /// The cached session token of an OAuth credential, if the provider derived one.
    pub fn session(&self) -> Option<&SessionToken> {
        self.oauth_tokens()?.session.as_ref()
    }

    /// The cached session token's secret: for the store and the request that uses it only.
    pub fn session_token(&self) -> Option<&str> {
        self.session().map(|s| s.token.expose_secret())
    }

    /// The OAuth tokens, for a credential of kind `oauth`.
    pub fn oauth_tokens(&self) -> Option<&OAuthTokens> {
        match &self.material {
            Material::OAuth(tokens) => Some(tokens),
            _ => None,
        }
    }

    /// The refresh token, for an OAuth credential that has one: for the store and the
    /// provider's refresh request only.
    pub fn refresh_token(&self) -> Option<&str> {
        self.oauth_tokens()?
            .refresh_token
            .as_ref()
            .map(ExposeSecret::expose_secret)
    }

    /// When the secret stops working; `None` when it never expires (or nobody said). A cached
    /// [`SessionToken`]'s expiry is its own, not the credential's.
    pub fn expires_at(&self) -> Option<SystemTime> {
        match &self.material {
            Material::ApiKey(_) | Material::None => None,
            Material::Token { expires_at, .. } => *expires_at,
            Material::OAuth(tokens) => tokens.expires_at,
        }
    }

    /// The account an OAuth credential acts for, if the service named one.
    pub fn account_id(&self) -> Option<&str> {
        self.oauth_tokens()?.account_id.as_deref()
    }

    /// Whether the provider could trade it for a new one without the user: an OAuth
    /// credential with a refresh token.
    pub fn refreshable(&self) -> bool {
        self.refresh_token().is_some()
    }

    /// Whether it has expired at `now`, or will within `margin`. A credential without an
    /// expiry never does.
    pub fn expires_within(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at()
            .is_some_and(|at| at <= now.checked_add(margin).unwrap_or(now))
    }

    /// Whether `other` holds the same secrets (access, refresh and session token, or key):
    /// how a host tells whether a stored credential is still the one it read. Compared in
    /// constant time.
    pub fn same_secrets(&self, other: &Credential) -> bool {
        use subtle::ConstantTimeEq;
        let eq = |a: &str, b: &str| bool::from(a.as_bytes().ct_eq(b.as_bytes()));
        let both = |a: Option<&str>, b: Option<&str>| match (a, b) {
            (Some(a), Some(b)) => eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.kind() == other.kind()
            && eq(self.expose_secret(), other.expose_secret())
            && both(self.refresh_token(), other.refresh_token())
            && both(self.session_token(), other.session_token())
    }

    /// The secret in a form safe to show: see [`redact`]; `none` for a credential without one.
    pub fn redacted(&self) -> String {
        if self.has_secret() {
            redact(self.expose_secret())
        } else {
            String::from("none")
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credential");
        d.field("kind", &self.kind())
            .field("secret", &self.redacted());
        if let Some(at) = self.expires_at() {
            d.field("expires_at", &rfc3339(at));
        }
        if self.kind() == CredentialKind::OAuth {
            d.field("refreshable", &self.refreshable())
                .field("account_id", &self.account_id())
                .field("session", &self.session());
        }
        d.field("provenance", &self.provenance).finish()
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_secret() {
            write!(f, "{} {}", self.kind(), self.redacted())
        } else {
            f.write_str("none (no secret)")
        }
    }
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Below this many characters after the vendor prefix, even the last four would give away too
/// much of the secret, so none of it is shown.
const MIN_LEN_TO_SHOW_TAIL: usize = 16;

/// Shows a secret as its vendor prefix, `...`, and its last four characters
/// (`sk-or-v1-...c0de`). The vendor prefix is the leading run of short dash-terminated segments
/// (`sk-`, `or-`, `v1-`); short secrets show no tail at all, and neither does one whose tail
/// would not show as itself (a control, direction or zero-width character, read back from a
/// store someone else wrote), so the result is always safe to print.
pub fn redact(secret: &str) -> String {
    let prefix = vendor_prefix(secret);
    let rest = &secret[prefix.len()..];
    let chars = rest.chars().count();
    if chars < MIN_LEN_TO_SHOW_TAIL {
        return format!("{prefix}...");
    }
    let tail: String = rest.chars().skip(chars - 4).collect();
    if !tail.chars().all(is_plainly_visible) {
        return format!("{prefix}...");
    }
    format!("{prefix}...{tail}")
}

/// The leading `abc-` segments of a key: at most four, each at most six ASCII alphanumerics.
fn vendor_prefix(secret: &str) -> &str {
    let mut end = 0;
    for _ in 0..4 {
        let rest = &secret[end..];
        let Some(dash) = rest.find('-') else { break };
        let segment = &rest[..dash];
        if segment.is_empty()
            || segment.len() > 6
            || !segment.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            break;
        }
        end += dash + 1;
    }
    &secret[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_vendor_prefix_and_last_four_only() {
        let cases = [
            (
                "sk-or-v1-0123456789abcdef0123456789abcdef",
                "sk-or-v1-...cdef",
            ),
            (
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
                "sk-ant-api03-...wxyz",
            ),
            ("0123456789abcdef0123", "...0123"),
            ("sk-or-v1-short", "sk-or-v1-..."),
            ("", "..."),
            ("abc", "..."),
            ("sk-or-v1-ééééééééééééééééé1234", "sk-or-v1-...1234"),
            ("sk-or-v1-0123456789abcdef\u{1b}[2J", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef01\u{7}2", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef\u{202e}123", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef\u{200b}123", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef 123", "sk-or-v1-..."),
        ];
        for (secret, want) in cases {
            assert_eq!(redact(secret), want, "{secret:?}");
        }
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let secret = "sk-or-v1-supersecretvalue-0123456789";
        let c = Credential::new(CredentialKind::ApiKey, secret.into(), Provenance::new());
        for shown in [format!("{c:?}"), format!("{c:#?}"), c.to_string()] {
            assert!(!shown.contains("supersecret"), "{shown}");
            assert!(shown.contains("...6789"), "{shown}");
        }
    }

    #[test]
    fn oauth_debug_shows_neither_token_but_says_when_it_expires() {
        let mut tokens = OAuthTokens::new("access-supersecret-0123456789".to_owned().into());
        tokens.refresh_token = Some("refresh-supersecret-abcdefghij".to_owned().into());
        tokens.expires_at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        tokens.account_id = Some("acct-1".into());
        let c = Credential::oauth(tokens.clone(), Provenance::new());
        for shown in [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{tokens:?}"),
            c.to_string(),
        ] {
            assert!(!shown.contains("supersecret"), "{shown}");
        }
        assert!(format!("{c:?}").contains("2027-01-15T08:00:00Z"));
        assert!(c.refreshable());
        assert_eq!(c.refresh_token(), Some("refresh-supersecret-abcdefghij"));
        assert_eq!(c.account_id(), Some("acct-1"));
    }

    #[test]
    fn expiry_is_judged_with_a_margin_and_never_for_keys() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let token = Credential::token("t".to_owned().into(), Some(at), Provenance::new());
        let minute = Duration::from_secs(60);
        let cases = [
            (at - Duration::from_secs(61), false),
            (at - Duration::from_secs(60), true),
            (at, true),
            (at + minute, true),
        ];
        for (now, expiring) in cases {
            assert_eq!(token.expires_within(now, minute), expiring, "{now:?}");
        }
        let key = Credential::new(
            CredentialKind::ApiKey,
            "k".to_owned().into(),
            Provenance::new(),
        );
        assert!(!key.expires_within(at + minute * 1000, minute));
        assert!(!key.refreshable());
    }

    #[test]
    fn same_secrets_compares_access_and_refresh_tokens() {
        let oauth = |access: &str, refresh: Option<&str>| {
            let mut t = OAuthTokens::new(access.to_owned().into());
            t.refresh_token = refresh.map(|r| r.to_owned().into());
            Credential::oauth(t, Provenance::new())
        };
        let a = oauth("a", Some("r"));
        assert!(a.same_secrets(&oauth("a", Some("r"))));
        assert!(!a.same_secrets(&oauth("b", Some("r"))));
        assert!(!a.same_secrets(&oauth("a", Some("s"))));
        assert!(!a.same_secrets(&oauth("a", None)));
        let key = Credential::new(
            CredentialKind::ApiKey,
            "a".to_owned().into(),
            Provenance::new(),
        );
        assert!(!a.same_secrets(&key));
    }

    #[test]
    fn a_session_token_counts_as_a_secret_and_never_shows() {
        let github = |session: Option<&str>| {
            let mut t = OAuthTokens::new("ghu_githubsecret0123456789".to_owned().into());
            t.session = session.map(|token| SessionToken {
                token: token.to_owned().into(),
                expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
                endpoint: Some("https://api.individual.githubcopilot.com".into()),
            });
            Credential::oauth(t, Provenance::new())
        };
        let cached = github(Some("tid=sessionsecret;exp=1;0123456789abcdef"));
        assert!(cached.same_secrets(&github(Some("tid=sessionsecret;exp=1;0123456789abcdef"))));
        assert!(!cached.same_secrets(&github(Some("tid=other;exp=2;0123456789abcdef"))));
        assert!(!cached.same_secrets(&github(None)));
        assert_eq!(
            cached.expires_at(),
            None,
            "the GitHub token itself does not expire"
        );
        for shown in [
            format!("{cached:?}"),
            format!("{cached:#?}"),
            cached.to_string(),
        ] {
            assert!(!shown.contains("sessionsecret"), "{shown}");
            assert!(!shown.contains("githubsecret"), "{shown}");
        }
    }

    #[test]
    fn a_credential_of_kind_none_holds_no_secret_and_shows_none() {
        let mut provenance = Provenance::new();
        provenance.insert("base_url".into(), "http://127.0.0.1:11434".into());
        let none = Credential::none(provenance);
        assert_eq!(none.kind(), CredentialKind::None);
        assert!(!none.has_secret());
        assert_eq!(none.expose_secret(), "");
        assert_eq!(none.redacted(), "none");
        assert_eq!(none.to_string(), "none (no secret)");
        assert!(!none.refreshable());
        assert!(none.same_secrets(&Credential::none(Provenance::new())));
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in [
            CredentialKind::ApiKey,
            CredentialKind::Token,
            CredentialKind::OAuth,
            CredentialKind::None,
        ] {
            assert_eq!(CredentialKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
