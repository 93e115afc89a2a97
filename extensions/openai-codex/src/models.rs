//! The `model.list` capability and the credential check, both without a request.
//!
//! The ChatGPT backend has no documented model list. The Codex CLI keeps its own catalogue
//! (`codex-rs/models-manager/models.json`; earlier `codex-rs/core/models.json` and
//! `core/src/openai_models/model_presets.rs`), shows the entries marked
//! `"visibility": "list"` in its picker, and refreshes them from an undocumented backend call
//! gated by the client's version. plugboard does not imitate that call: it keeps the list
//! below, the models OpenAI's models page for Codex offers to ChatGPT sign-in
//! (<https://developers.openai.com/docs/models>, checked 2026-12-01; the newest copy of
//! codex-rs's catalogue read then, from before GPT-5.6, names the same `codex -m` slugs for the
//! models both have). It changes when OpenAI's page does.
//!
//! The check judges the stored credential: OAuth tokens whose access token has expired and
//! that hold no refresh token cannot be used again without a new sign-in. Anything else is
//! usable (an expired token with a refresh token is renewed on its next use); whether the
//! backend still accepts it shows on the next model call.

use std::time::{Duration, SystemTime};

use plugboard_core::{
    Credential, CredentialCheck, ModelContext, ModelError, ModelInfo, ModelLister, async_trait,
};

use crate::service_text::SERVICE;

/// The models offered to a ChatGPT sign-in, as `(id, display name)`: what `--model
/// openai-codex/<id>` takes, in the order OpenAI's page lists them. GPT-5.3-Codex-Spark is a
/// research preview for ChatGPT Pro only.
pub const CHATGPT_MODELS: [(&str, &str); 4] = [
    ("gpt-5.6-sol", "GPT-5.6 Sol"),
    ("gpt-5.6-terra", "GPT-5.6 Terra"),
    ("gpt-5.6-luna", "GPT-5.6 Luna"),
    ("gpt-5.3-codex-spark", "GPT-5.3-Codex-Spark (ChatGPT Pro)"),
];

/// Lists [`CHATGPT_MODELS`]; it sends nothing. None is free: ChatGPT plans meter them all.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownModels;

#[async_trait]
impl ModelLister for KnownModels {
    async fn list(&self, _ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        Ok(CHATGPT_MODELS
            .iter()
            .map(|(id, name)| ModelInfo::new(*id).with_name(*name))
            .collect())
    }
}

/// Judges a stored ChatGPT sign-in without a request: see the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredTokenCheck;

#[async_trait]
impl CredentialCheck for StoredTokenCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        // A model context lends no clock; the judgement needs only "now", and `judge` takes it
        // as an argument so it is tested at fixed instants.
        judge(&ctx.credential, SystemTime::now())
    }
}

/// `Ok` unless the access token has expired at `now` and there is no refresh token to renew
/// it with.
fn judge(credential: &Credential, now: SystemTime) -> Result<(), ModelError> {
    let expired = credential.expires_within(now, Duration::ZERO);
    if !expired || credential.refreshable() {
        return Ok(());
    }
    let when = credential
        .expires_at()
        .map(|at| humantime::format_rfc3339_seconds(at).to_string())
        .unwrap_or_default();
    Err(ModelError::CredentialExpired {
        service: SERVICE.to_owned(),
        detail: format!(
            "expired at {when} by its stored expiry, and no refresh token is stored to renew it"
        ),
    })
}

#[cfg(test)]
mod tests {
    use plugboard_core::{
        CredentialKind, HostServices, HttpError, HttpResponse, ModelErrorKind, OAuthTokens,
        Provenance, ScriptedHttp, shows_secret,
    };

    use super::*;

    const ACCESS: &str = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLXRhaWw";
    const REFRESH: &str = "rt_1111222233334444555566667777";

    #[test]
    fn the_default_model_is_one_the_kept_list_offers() {
        let default = crate::DEFAULT_MODEL
            .strip_prefix("openai-codex/")
            .expect("the default model is an openai-codex ref");
        assert!(
            CHATGPT_MODELS.iter().any(|(id, _)| *id == default),
            "{default} is not in CHATGPT_MODELS"
        );
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn oauth(expires_at: Option<u64>, refresh: bool) -> Credential {
        let mut tokens = OAuthTokens::new(ACCESS.to_owned().into());
        tokens.expires_at = expires_at.map(at);
        if refresh {
            tokens.refresh_token = Some(REFRESH.to_owned().into());
        }
        Credential::oauth(tokens, Provenance::new())
    }

    #[tokio::test]
    async fn the_list_is_the_kept_one_and_nothing_is_sent() {
        let http = std::sync::Arc::new(ScriptedHttp::new(
            Vec::<Result<HttpResponse, HttpError>>::new(),
        ));
        let ctx = ModelContext::new(
            oauth(Some(4_102_444_800), true),
            HostServices::default().with_http_client(http.clone()),
        );
        let got = KnownModels.list(&ctx).await.unwrap();
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "gpt-5.6-sol",
                "gpt-5.6-terra",
                "gpt-5.6-luna",
                "gpt-5.3-codex-spark"
            ]
        );
        assert!(got.iter().all(|m| m.name.is_some() && !m.free));
        assert!(http.requests().is_empty());
    }

    #[test]
    fn only_an_expired_token_without_a_refresh_token_fails_the_check() {
        let now = 1_700_000_000;
        // (expires_at, refresh token stored, usable)
        let cases = [
            (Some(now + 3600), true, true),
            (Some(now + 3600), false, true),
            (Some(now + 1), false, true),
            // Expired, but the next use refreshes it.
            (Some(now - 3600), true, true),
            (Some(now), true, true),
            // Expired for good.
            (Some(now), false, false),
            (Some(now - 3600), false, false),
            // No expiry known: nothing says it has expired.
            (None, false, true),
        ];
        for (expires_at, refresh, usable) in cases {
            let got = judge(&oauth(expires_at, refresh), at(now));
            assert_eq!(got.is_ok(), usable, "{expires_at:?} {refresh}: {got:?}");
            if let Err(err) = got {
                assert_eq!(err.kind(), ModelErrorKind::CredentialExpired);
            }
        }
        // Kinds without an expiry are never judged expired.
        let key = Credential::new(
            CredentialKind::ApiKey,
            "sk-1234".to_owned().into(),
            Provenance::new(),
        );
        assert!(judge(&key, at(now)).is_ok());
    }

    #[test]
    fn an_expired_sign_in_says_when_and_why_without_the_tokens() {
        let err = judge(&oauth(Some(1_699_999_000), false), at(1_700_000_000)).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert_eq!(
            err.to_string(),
            "the OpenAI Codex access token has expired: expired at 2023-11-14T21:56:40Z by its stored expiry, and no refresh token is stored to renew it"
        );
        assert!(!shows_secret(&shown, ACCESS), "{shown}");
    }

    #[tokio::test]
    async fn the_check_sends_nothing() {
        let http = std::sync::Arc::new(ScriptedHttp::new(
            Vec::<Result<HttpResponse, HttpError>>::new(),
        ));
        let ctx = ModelContext::new(
            oauth(Some(4_102_444_800), false),
            HostServices::default().with_http_client(http.clone()),
        );
        StoredTokenCheck.check(&ctx).await.unwrap();
        let expired = ModelContext::new(
            oauth(Some(1), false),
            HostServices::default().with_http_client(http.clone()),
        );
        assert_eq!(
            StoredTokenCheck.check(&expired).await.unwrap_err().kind(),
            ModelErrorKind::CredentialExpired
        );
        assert!(http.requests().is_empty());
    }
}
