//! Whether a stored GitHub sign-in works: the Copilot token exchange itself, the cheapest
//! request that needs the GitHub token and says whether the account has Copilot. The token it
//! gets is dropped, never cached: a check writes nothing.

use plugboard_core::{CredentialCheck, ModelContext, ModelError, async_trait};

use crate::copilot_api::secrets;
use crate::endpoints::Endpoints;
use crate::service_text::SERVICE;
use crate::session::{ExchangeError, exchange};

/// Checks a GitHub sign-in by asking GitHub for a Copilot token with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExchangeCheck;

#[async_trait]
impl CredentialCheck for ExchangeCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))?;
        exchange(
            &ctx.host,
            endpoints.copilot_token_url(),
            ctx.credential.expose_secret(),
            &secrets(&ctx.credential),
        )
        .await
        .map(drop)
        .map_err(failed)
    }
}

fn failed(error: ExchangeError) -> ModelError {
    match error {
        ExchangeError::Network(source) => ModelError::Network {
            service: SERVICE.to_owned(),
            source,
        },
        ExchangeError::Revoked { said } => ModelError::CredentialRejected {
            service: SERVICE.to_owned(),
            detail: match said {
                Some(words) => format!("HTTP 401 from GitHub's Copilot token exchange ({words})"),
                None => "HTTP 401 from GitHub's Copilot token exchange".to_owned(),
            },
        },
        refused @ ExchangeError::Refused { status: 429, .. } => {
            ModelError::RateLimited(refused.to_string())
        }
        malformed @ ExchangeError::Malformed(_) => ModelError::BadResponse(malformed.to_string()),
        other @ (ExchangeError::NoCopilot { .. } | ExchangeError::Refused { .. }) => {
            ModelError::Service(other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, HostServices, HttpError, HttpResponse, ModelErrorKind, OAuthTokens, Provenance,
        ScriptedHttp,
    };
    use serde_json::json;

    use super::*;
    use crate::provider::BASE_URL_ENV;

    async fn checked(
        reply: Result<HttpResponse, HttpError>,
    ) -> (Result<(), ModelError>, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new([reply]));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
        let credential = Credential::oauth(
            OAuthTokens::new("ghu_github".to_owned().into()),
            Provenance::new(),
        );
        let got = ExchangeCheck
            .check(&ModelContext::new(credential, host))
            .await;
        (got, http)
    }

    #[tokio::test]
    async fn the_check_is_the_exchange_and_each_answer_has_its_kind() {
        let ok = json!({"token": "tid=1", "expires_at": 1_700_001_800}).to_string();
        let cases: Vec<(Result<HttpResponse, HttpError>, Option<ModelErrorKind>)> = vec![
            (Ok(HttpResponse::new(200, ok)), None),
            (
                Ok(HttpResponse::new(401, r#"{"message":"Bad credentials"}"#)),
                Some(ModelErrorKind::CredentialRejected),
            ),
            (
                Ok(HttpResponse::new(403, "{}")),
                Some(ModelErrorKind::Service),
            ),
            (
                Ok(HttpResponse::new(429, "")),
                Some(ModelErrorKind::RateLimited),
            ),
            (
                Ok(HttpResponse::new(500, "")),
                Some(ModelErrorKind::Service),
            ),
            (
                Ok(HttpResponse::new(200, "{}")),
                Some(ModelErrorKind::BadResponse),
            ),
            (
                Err(HttpError::Connect {
                    host: "127.0.0.1".into(),
                    reason: "connection refused".into(),
                }),
                Some(ModelErrorKind::Network),
            ),
        ];
        for (reply, want) in cases {
            let (got, http) = checked(reply).await;
            assert_eq!(got.err().map(|e| e.kind()), want);
            assert_eq!(
                http.requests()[0].url,
                "http://127.0.0.1:9/copilot_internal/v2/token"
            );
        }
    }
}
