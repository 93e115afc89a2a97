//! `models status --check`: asks every provider at once whether the credential it would use
//! works, each bounded to [`CHECK_TIMEOUT`]. A check never refreshes or writes anything, and a
//! service that is down or slow is that provider's outcome, never the command's failure.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use plugboard_core::{
    HostServices, HttpClient, HttpSettings, ModelContext, ModelError, ModelErrorKind, Provider,
};
use serde::Serialize;

use crate::credentials::{Effective, credential_advice};
use crate::error::{advised, one_line};
use crate::network;

/// The longest one provider's check may take, its HTTP client's timeout included: a status
/// that waits longer than this for a service that does not answer is no longer a glance.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a check found, the stable `check.status` of `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CheckStatus {
    /// The service took the credential.
    Ok,
    /// The service refused it ([`ModelError::CredentialRejected`]).
    Rejected,
    /// It has expired for good ([`ModelError::CredentialExpired`]).
    Expired,
    /// No answer: the network failed, or nothing came within the bound.
    Unreachable,
    /// Anything else went wrong; the message says what.
    Error,
    /// The provider has no credential to check.
    NoCredential,
    /// The provider cannot check a credential without using it.
    Unsupported,
}

impl CheckStatus {
    /// The stable name, as `--json` writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Unreachable => "unreachable",
            Self::Error => "error",
            Self::NoCredential => "no_credential",
            Self::Unsupported => "unsupported",
        }
    }
}

/// One provider's check, as `--json` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CheckJson {
    pub(crate) status: CheckStatus,
    /// What happened, in one line with what to do about it; `null` when there is nothing to
    /// say (`ok`, `no_credential`, `unsupported`).
    pub(crate) message: Option<String>,
}

impl CheckJson {
    fn bare(status: CheckStatus) -> Self {
        Self {
            status,
            message: None,
        }
    }

    fn said(status: CheckStatus, message: String) -> Self {
        Self {
            status,
            message: Some(message),
        }
    }

    /// The line `models status` prints for it, after `check`.
    pub(crate) fn text(&self) -> String {
        match (self.status, &self.message) {
            (CheckStatus::NoCredential, _) => String::from("no credential to check"),
            (CheckStatus::Unsupported, _) => {
                String::from("unsupported (this provider cannot check a credential)")
            }
            (status, Some(message)) => format!("{}: {message}", status.as_str()),
            (status, None) => status.as_str().to_owned(),
        }
    }
}

/// What to check for one provider: its credential, and the services to check it with (or why
/// there are none).
pub(crate) struct CheckTarget<'a> {
    pub(crate) provider: &'a dyn Provider,
    pub(crate) effective: Option<&'a Effective>,
    pub(crate) host: Result<HostServices, String>,
}

/// The HTTP settings and client every check shares: both timeouts at the bound, so a request
/// ends by itself about when the bound would end it.
pub(crate) fn check_http() -> anyhow::Result<(HttpSettings, Arc<dyn HttpClient>)> {
    let mut http = HttpSettings::default();
    http.connect_timeout = CHECK_TIMEOUT;
    http.request_timeout = CHECK_TIMEOUT;
    let client = network::client(&http)?;
    Ok((http, client))
}

/// Checks every target at once, each bounded by `bound`; the outcomes in the targets' order.
pub(crate) async fn check_all(targets: Vec<CheckTarget<'_>>, bound: Duration) -> Vec<CheckJson> {
    join_all(targets.into_iter().map(|target| check_one(target, bound))).await
}

async fn check_one(target: CheckTarget<'_>, bound: Duration) -> CheckJson {
    let Some(effective) = target.effective else {
        return CheckJson::bare(CheckStatus::NoCredential);
    };
    let Some(check) = target.provider.credential_check() else {
        return CheckJson::bare(CheckStatus::Unsupported);
    };
    let host = match target.host {
        Ok(host) => host,
        Err(why) => return CheckJson::said(CheckStatus::Error, why),
    };
    let ctx = ModelContext::new(effective.credential.clone(), host);
    let answer = tokio::time::timeout(bound, check.check(&ctx)).await.ok();
    outcome(target.provider.label(), answer, bound, effective)
}

/// What an answer (`None`: none within `bound`) from `label`'s check of the `effective`
/// credential says.
pub(crate) fn outcome(
    label: &str,
    answer: Option<Result<(), ModelError>>,
    bound: Duration,
    effective: &Effective,
) -> CheckJson {
    let error = match answer {
        Some(Ok(())) => return CheckJson::bare(CheckStatus::Ok),
        None => {
            return CheckJson::said(
                CheckStatus::Unreachable,
                format!(
                    "{label} did not answer within {}",
                    humantime::format_duration(bound)
                ),
            );
        }
        Some(Err(error)) => error,
    };
    let status = match error.kind() {
        ModelErrorKind::CredentialRejected => CheckStatus::Rejected,
        ModelErrorKind::CredentialExpired => CheckStatus::Expired,
        ModelErrorKind::Network => CheckStatus::Unreachable,
        _ => CheckStatus::Error,
    };
    let advice = matches!(status, CheckStatus::Rejected | CheckStatus::Expired)
        .then(|| credential_advice(effective))
        .flatten();
    CheckJson::said(status, one_line(&advised(error.into(), advice)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use plugboard_core::{Credential, CredentialCheck, CredentialKind, HttpError, Provenance};
    use tokio::sync::Barrier;

    use super::*;
    use crate::credentials::Source;
    use crate::test_support::fake_provider;

    fn profile_source() -> Source {
        Source::DefaultProfile {
            profile_id: "acme:default".parse().unwrap(),
        }
    }

    #[test]
    fn every_answer_has_one_outcome_and_only_a_refused_credential_is_advised_a_sign_in() {
        let bound = Duration::from_secs(2);
        let network = ModelError::Network {
            service: "Acme".into(),
            source: HttpError::Timeout {
                host: "acme.test".into(),
                seconds: 2,
            },
        };
        let too_large = ModelError::Network {
            service: "Acme".into(),
            source: HttpError::TooLarge {
                host: "acme.test".into(),
                limit: 10,
            },
        };
        // (answer, status, the message: None, or what it contains)
        type Case = (
            Option<Result<(), ModelError>>,
            CheckStatus,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (Some(Ok(())), CheckStatus::Ok, None),
            (
                Some(Err(ModelError::CredentialRejected {
                    service: "Acme".into(),
                    detail: "HTTP 401".into(),
                })),
                CheckStatus::Rejected,
                Some(
                    "Acme rejected the key: HTTP 401: sign in again with `plugboard models auth login --provider acme`",
                ),
            ),
            (
                Some(Err(ModelError::CredentialExpired {
                    service: "Acme".into(),
                    detail: "token expired".into(),
                })),
                CheckStatus::Expired,
                Some("token expired: sign in again with"),
            ),
            (
                Some(Err(network)),
                CheckStatus::Unreachable,
                Some("Acme could not be reached: "),
            ),
            (
                None,
                CheckStatus::Unreachable,
                Some("Acme did not answer within 2s"),
            ),
            (
                Some(Err(ModelError::Service("Acme answered HTTP 500".into()))),
                CheckStatus::Error,
                Some("Acme answered HTTP 500"),
            ),
            (Some(Err(too_large)), CheckStatus::Error, Some("Acme")),
            (
                Some(Err(ModelError::Config("bad base URL".into()))),
                CheckStatus::Error,
                Some("bad base URL"),
            ),
        ];
        for (answer, status, message) in cases {
            let shown = format!("{answer:?}");
            let got = outcome("Acme", answer, bound, &effective());
            assert_eq!(got.status, status, "{shown}");
            match message {
                None => assert_eq!(got.message, None, "{shown}"),
                Some(want) => {
                    let said = got.message.unwrap_or_default();
                    assert!(said.contains(want), "{shown}: {said}");
                    assert_eq!(
                        said.contains("sign in again"),
                        matches!(status, CheckStatus::Rejected | CheckStatus::Expired),
                        "{said}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_refused_key_from_the_environment_is_advised_to_fix_the_variable() {
        let env = Source::Env {
            env_var: "ACME_API_KEY".into(),
        };
        let refused = ModelError::CredentialRejected {
            service: "Acme".into(),
            detail: "HTTP 401".into(),
        };
        let from_env = Effective {
            source: env,
            ..effective()
        };
        let got = outcome("Acme", Some(Err(refused)), CHECK_TIMEOUT, &from_env);
        let said = got.message.unwrap();
        assert!(
            said.ends_with(
                "the key comes from $ACME_API_KEY: fix it, or unset it to use the stored profile"
            ),
            "{said}"
        );
    }

    #[test]
    fn a_refused_credential_without_a_secret_is_not_advised_to_sign_in_again() {
        let local = Effective {
            credential: Credential::none(Provenance::new()),
            ..effective()
        };
        let refused = ModelError::CredentialRejected {
            service: "Ollama".into(),
            detail: "HTTP 401 (unauthorized): run `ollama signin` on the server".into(),
        };
        let got = outcome("Ollama", Some(Err(refused)), CHECK_TIMEOUT, &local);
        assert_eq!(got.status, CheckStatus::Rejected);
        let said = got.message.unwrap();
        assert!(
            said.ends_with("run `ollama signin` on the server"),
            "{said}"
        );
        assert!(!said.contains("models auth login"), "{said}");
    }

    #[test]
    fn the_json_shape_is_a_status_and_a_message() {
        let cases = [
            (
                CheckJson::bare(CheckStatus::Ok),
                serde_json::json!({"status": "ok", "message": null}),
            ),
            (
                CheckJson::bare(CheckStatus::NoCredential),
                serde_json::json!({"status": "no_credential", "message": null}),
            ),
            (
                CheckJson::bare(CheckStatus::Unsupported),
                serde_json::json!({"status": "unsupported", "message": null}),
            ),
            (
                CheckJson::said(CheckStatus::Unreachable, "x".into()),
                serde_json::json!({"status": "unreachable", "message": "x"}),
            ),
        ];
        for (check, want) in cases {
            assert_eq!(serde_json::to_value(&check).unwrap(), want);
            assert_eq!(
                serde_json::to_value(check.status).unwrap(),
                check.status.as_str()
            );
        }
        for status in [
            CheckStatus::Rejected,
            CheckStatus::Expired,
            CheckStatus::Error,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    /// How a fake provider's check behaves.
    enum Behaviour {
        /// Answers once every provider of the test is being checked: only checks made at once
        /// all answer, checks made one after another wait forever.
        Together(Arc<Barrier>),
        /// Never answers.
        Silent,
    }

    struct Fake {
        id: &'static str,
        behaviour: Option<Behaviour>,
        calls: AtomicUsize,
    }

    impl Fake {
        fn new(id: &'static str, behaviour: Option<Behaviour>) -> Self {
            Self {
                id,
                behaviour,
                calls: AtomicUsize::new(0),
            }
        }
    }

    #[plugboard_core::async_trait]
    impl CredentialCheck for Fake {
        async fn check(&self, _ctx: &ModelContext) -> Result<(), ModelError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match &self.behaviour {
                Some(Behaviour::Together(barrier)) => {
                    barrier.wait().await;
                    Ok(())
                }
                _ => std::future::pending().await,
            }
        }
    }

    fake_provider!(Fake {
        fn credential_check(&self) -> Option<&dyn CredentialCheck> {
            self.behaviour
                .as_ref()
                .map(|_| self as &dyn CredentialCheck)
        }
    });

    fn effective() -> Effective {
        Effective {
            source: profile_source(),
            credential: Credential::new(
                CredentialKind::ApiKey,
                "sk-test".into(),
                Provenance::new(),
            ),
        }
    }

    fn target<'a>(provider: &'a Fake, effective: Option<&'a Effective>) -> CheckTarget<'a> {
        CheckTarget {
            provider,
            effective,
            host: Ok(HostServices::default()),
        }
    }

    #[tokio::test]
    async fn providers_are_checked_at_once_and_a_silent_one_is_unreachable_at_the_bound() {
        let together = Arc::new(Barrier::new(3));
        let fakes = [
            Fake::new("a", Some(Behaviour::Together(together.clone()))),
            Fake::new("b", Some(Behaviour::Together(together.clone()))),
            Fake::new("c", Some(Behaviour::Together(together))),
            Fake::new("silent", Some(Behaviour::Silent)),
            Fake::new("none", None),
            Fake::new("unsigned", Some(Behaviour::Silent)),
        ];
        let eff = effective();
        let targets: Vec<CheckTarget> = fakes
            .iter()
            .map(|f| target(f, (f.id != "unsigned").then_some(&eff)))
            .collect();
        // Long enough that the barrier is always reached when the checks run at once; the
        // silent one waits exactly this long.
        let bound = Duration::from_secs(1);
        let started = Instant::now();
        let got: Vec<CheckStatus> = check_all(targets, bound)
            .await
            .into_iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(
            got,
            [
                CheckStatus::Ok,
                CheckStatus::Ok,
                CheckStatus::Ok,
                CheckStatus::Unreachable,
                CheckStatus::Unsupported,
                CheckStatus::NoCredential,
            ]
        );
        assert!(started.elapsed() < Duration::from_secs(30), "bounded");
        assert_eq!(
            fakes[5].calls.load(Ordering::SeqCst),
            0,
            "nothing to check, nothing sent"
        );
    }

    #[tokio::test]
    async fn a_client_that_could_not_be_built_is_that_providers_error() {
        let fake = Fake::new("a", Some(Behaviour::Silent));
        let eff = effective();
        let got = check_all(
            vec![CheckTarget {
                provider: &fake,
                effective: Some(&eff),
                host: Err("HTTPS_PROXY is not a proxy URL".into()),
            }],
            CHECK_TIMEOUT,
        )
        .await;
        assert_eq!(
            got,
            [CheckJson::said(
                CheckStatus::Error,
                "HTTPS_PROXY is not a proxy URL".into()
            )]
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 0);
    }
}
