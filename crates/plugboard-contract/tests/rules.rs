//! Every rule, shown to pass on a well-behaved provider and to fail, alone, on a provider
//! broken in exactly the way the rule forbids.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns unwrap: a panic there is a clear test failure"
)]

use std::collections::BTreeSet;
use std::time::Duration;

use plugboard_contract::{
    ManifestText, RULES, Report, Subject, check_linked, check_provider, check_registry,
};
use plugboard_core::{
    Answer, AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, ContractFixture, Credential,
    CredentialCheck, CredentialKind, DeviceCodeCase, DeviceCodeFixture, EnvVar, Expectation,
    FixedRandom, FixtureError, HttpError, HttpRequest, HttpResponse, ListExpectation, ListFixture,
    LoginOptions, ManifestSource, ModelContext, ModelError, ModelErrorKind, ModelExpectation,
    ModelFixture, ModelInfo, ModelLister, ModelOutput, ModelReply, ModelRequest, ModelRunner,
    OAuthTokens, PreparedFixture, ProfileId, ProfileWrite, Provenance, Provider,
    ProviderRegistration, REFRESH_MARGIN, Random, RefreshContext, RefreshError, RefreshExpectation,
    RefreshFixture, Refresher, ScriptedFixture, ServiceErrors, SessionToken, async_trait,
    sanitize_line, scrub_secret,
};
use serde_json::{Value, json};

/// What a test method does once the fixture's script gives it a key. Without one (no answers,
/// or a cancel) it always fails, like a real method refusing empty input.
#[derive(Debug, Clone)]
enum Behaviour {
    /// Writes `--profile` when the fixture sets it, else this profile.
    Writes(String),
    /// Writes this profile whatever `--profile` says.
    IgnoresProfileOption(String),
    /// Succeeds without any profile.
    WritesNothing,
    /// Refuses every key.
    Refuses,
    /// Never returns.
    Hangs,
    /// Panics.
    Panics,
}

/// What a test method asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// A pasted key.
    Key,
    /// A pasted browser redirect, whose code it exchanges with the service; its state is
    /// checked as given.
    PastedRedirect(StateCheck),
    /// Nothing: it asks the service for a device code, shows the user code and polls for the
    /// token, going wrong as given.
    DeviceCode(DeviceFault),
    /// Nothing: it checks that a local service answers.
    LocalService,
}

/// How a test device-code sign-in goes wrong, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceFault {
    /// None: it polls the way RFC 8628 asks.
    None,
    /// Polls as soon as it has the device code, without waiting the interval first.
    PollsAtOnce,
    /// Waits a second less than the interval between polls.
    WaitsTooLittle,
    /// Keeps the interval when the service answers slow_down.
    IgnoresSlowDown,
    /// Shows the verification URL but not the user code.
    HidesUserCode,
    /// Shows the device code along with the user code.
    ShowsDeviceCode,
    /// Names the device code in its error when the code expires.
    QuotesDeviceCode,
    /// Says why the code expired on two lines.
    MultiLineError,
    /// Takes authorization_pending for a refusal.
    PendingIsDenied,
    /// Takes expired_token for authorization_pending, and retries failed requests for ever.
    PollsForEver,
    /// Takes authorization_pending for the token.
    PendingIsToken,
    /// Takes slow_down for the token.
    SlowDownIsToken,
    /// Panics when the service answers slow_down.
    PanicsOnSlowDown,
    /// Never returns once the service answers slow_down.
    HangsOnSlowDown,
}

/// When a browser sign-in compares the pasted state with the one it issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateCheck {
    /// Before anything is sent, as it must.
    First,
    /// Only once the code has been exchanged: too late, the forged code was sent.
    AfterExchange,
    /// Never: any pasted code is exchanged.
    Never,
}

/// Where the test service exchanges a browser sign-in's code, and refreshes tokens.
const TOKEN_URL: &str = "https://auth.test/oauth/token";

/// The state a test browser sign-in issues, from the context's randomness, as a real one
/// does (so a fixture can predict it from the scripted context's fixed randomness).
fn issued_state(random: &dyn Random) -> String {
    let mut bytes = [0u8; 8];
    random.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A redirect as the test service sends the browser back, with the state a scripted context
/// issues.
fn redirect_with(code: &str) -> String {
    format!(
        "http://localhost:1455/callback?code={code}&state={}",
        issued_state(&FixedRandom::default())
    )
}

/// A query parameter of a pasted redirect.
fn param<'a>(pasted: &'a str, name: &str) -> Option<&'a str> {
    let query = pasted.split_once('?').map_or(pasted, |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[derive(Debug, Clone)]
struct TestMethod {
    id: String,
    label: String,
    hint: Option<String>,
    kind: AuthKind,
    input: Input,
    behaviour: Behaviour,
    /// What it stores when it succeeds, if not what its kind stores (no secret for a local
    /// method, a key for the rest).
    stores: Option<CredentialKind>,
}

/// Where the test service hands out device codes.
const DEVICE_URL: &str = "https://auth.test/oauth/device/code";
/// Where a test local service answers.
const LOCAL_URL: &str = "http://localhost:11434/api/version";

/// The JSON of an answer, for the test device-code sign-in.
fn json_of(answer: &HttpResponse) -> Result<Value, AuthError> {
    serde_json::from_slice(&answer.body)
        .map_err(|_| AuthError::Service("the answer is not JSON".into()))
}

impl TestMethod {
    /// Asks the service for a device code, shows it, and polls for the token (RFC 8628), going
    /// wrong as `fault` says.
    async fn device_code(&self, ctx: &AuthContext, fault: DeviceFault) -> Result<(), AuthError> {
        let http = &ctx.host.http_client;
        let asked = HttpRequest::post_json(DEVICE_URL, &json!({"client_id": "test-client"}));
        let answer = json_of(&http.send(asked).await.map_err(AuthError::other)?)?;
        let field = |name: &str| {
            answer[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| AuthError::Service(format!("the answer has no {name}")))
        };
        let (device_code, user_code, uri) = (
            field("device_code")?,
            field("user_code")?,
            field("verification_uri")?,
        );
        ctx.prompter.note(&match fault {
            DeviceFault::HidesUserCode => format!("Open {uri} to confirm this sign-in"),
            DeviceFault::ShowsDeviceCode => {
                format!("Open {uri} and enter {user_code} (device {device_code})")
            }
            _ => format!("Open {uri} and enter {user_code}"),
        });
        let mut interval = Duration::from_secs(answer["interval"].as_u64().unwrap_or(5));
        let wait = |interval: Duration| match fault {
            DeviceFault::WaitsTooLittle => interval - Duration::from_secs(1),
            _ => interval,
        };
        if fault != DeviceFault::PollsAtOnce {
            ctx.clock.sleep(wait(interval)).await;
        }
        let poll = json!({
            "device_code": device_code,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        });
        loop {
            let answer = match http.send(HttpRequest::post_json(TOKEN_URL, &poll)).await {
                Err(_) if fault == DeviceFault::PollsForEver => {
                    ctx.clock.sleep(interval).await;
                    continue;
                }
                answer => json_of(&answer.map_err(AuthError::other)?)?,
            };
            if answer["access_token"].is_string() {
                return Ok(());
            }
            match answer["error"].as_str() {
                Some("authorization_pending") if fault == DeviceFault::PendingIsToken => {
                    return Ok(());
                }
                Some("authorization_pending") if fault == DeviceFault::PendingIsDenied => {
                    return Err(AuthError::Service("the sign-in was denied".into()));
                }
                Some("authorization_pending") => {}
                Some("slow_down") if fault == DeviceFault::SlowDownIsToken => return Ok(()),
                Some("slow_down") if fault == DeviceFault::PanicsOnSlowDown => {
                    panic!("test device-code method panics on purpose")
                }
                Some("slow_down") if fault == DeviceFault::HangsOnSlowDown => {
                    std::future::pending::<()>().await;
                }
                Some("expired_token") if fault == DeviceFault::PollsForEver => {}
                Some("slow_down") if fault != DeviceFault::IgnoresSlowDown => {
                    interval = interval.saturating_add(Duration::from_secs(5));
                }
                Some("slow_down") => {}
                Some("expired_token") => {
                    return Err(AuthError::Service(match fault {
                        DeviceFault::QuotesDeviceCode => {
                            format!("device code {device_code} expired: sign in again")
                        }
                        DeviceFault::MultiLineError => {
                            "the device code expired\nsign in again".to_owned()
                        }
                        _ => "the device code expired: sign in again".to_owned(),
                    }));
                }
                Some("access_denied") => {
                    return Err(AuthError::Service("the sign-in was denied".into()));
                }
                _ => return Err(AuthError::Service("unexpected answer".into())),
            }
            ctx.clock.sleep(wait(interval)).await;
        }
    }

    /// Checks that the local service answers.
    async fn local_service(&self, ctx: &AuthContext) -> Result<(), AuthError> {
        let answer = ctx
            .host
            .http_client
            .send(HttpRequest::get(LOCAL_URL))
            .await
            .map_err(AuthError::other)?;
        match answer.status {
            200 => Ok(()),
            status => Err(AuthError::Service(format!(
                "the local service answered HTTP {status}"
            ))),
        }
    }

    /// Reads a pasted redirect and exchanges its code, checking its state when `check` says.
    async fn exchange(&self, ctx: &AuthContext, check: StateCheck) -> Result<(), AuthError> {
        let pasted = ctx.prompter.text("Paste the redirect URL").await?;
        let state_is_ours = param(&pasted, "state") == Some(issued_state(&*ctx.random).as_str());
        let forged =
            || AuthError::InvalidInput("the pasted redirect belongs to another sign-in".into());
        if check == StateCheck::First && !state_is_ours {
            return Err(forged());
        }
        let code = param(&pasted, "code")
            .ok_or_else(|| AuthError::InvalidInput("the pasted redirect has no code".into()))?;
        let exchange = HttpRequest::post_json(TOKEN_URL, &json!({"code": code}));
        let answer = ctx
            .host
            .http_client
            .send(exchange)
            .await
            .map_err(AuthError::other)?;
        if check == StateCheck::AfterExchange && !state_is_ours {
            return Err(forged());
        }
        match answer.status {
            200 => Ok(()),
            status => Err(AuthError::Service(format!(
                "the code exchange was refused: HTTP {status}"
            ))),
        }
    }
}

#[async_trait]
impl AuthMethod for TestMethod {
    fn id(&self) -> &str {
        &self.id
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn kind(&self) -> AuthKind {
        self.kind
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        match self.input {
            Input::Key => {
                ctx.prompter.secret("key").await?;
            }
            Input::PastedRedirect(check) => self.exchange(ctx, check).await?,
            Input::DeviceCode(fault) => self.device_code(ctx, fault).await?,
            Input::LocalService => self.local_service(ctx).await?,
        }
        let profile = match &self.behaviour {
            Behaviour::Writes(default) => ctx
                .options
                .profile
                .clone()
                .unwrap_or_else(|| default.parse().unwrap()),
            Behaviour::IgnoresProfileOption(profile) => profile.parse().unwrap(),
            Behaviour::WritesNothing => return Ok(AuthResult::default()),
            Behaviour::Refuses => return Err(AuthError::InvalidInput("key refused".into())),
            Behaviour::Hangs => std::future::pending().await,
            Behaviour::Panics => panic!("test method panics on purpose"),
        };
        let kind = self.stores.unwrap_or(match self.kind {
            AuthKind::Local => CredentialKind::None,
            _ => CredentialKind::ApiKey,
        });
        let credential = Credential::new(kind, "k".into(), Provenance::new());
        Ok(AuthResult::profile(profile, credential))
    }
}

/// How a test model runner goes wrong, if it does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum RunnerFault {
    /// None: it reads the service's answer the way a real runner should.
    #[default]
    None,
    /// Replies with the prompt instead of the service's text.
    EchoesPrompt,
    /// Takes HTTP 429 for a bad request instead of rate limiting.
    RateLimitIsInvalid,
    /// Takes HTTP 401 for a bad request instead of a rejected key.
    UnauthorizedIsInvalid,
    /// Takes the service's expired-token answer for a rejected key, so the host would never
    /// refresh.
    ExpiredIsRejected,
    /// Takes every HTTP 401 for an expired token, so a rejected key would be refreshed forever.
    EveryUnauthorizedIsExpired,
    /// Quotes the service's whole answer in its errors.
    QuotesService,
    /// Names the key it sent when an answer is not JSON.
    QuotesKey,
    /// Names the credential's refresh token when an answer is not JSON.
    QuotesRefreshToken,
    /// Quotes the service's answer on one sanitised line with only the exact key replaced, so
    /// an echo in upper case or with an invisible character inside gets through.
    ScrubsOnlyExactKey,
    /// Quotes the service's answer the right way (not a fault): scrubbed and sanitised by the
    /// core.
    QuotesServiceScrubbed,
    /// Panics on this prompt.
    PanicsOn(String),
    /// Never returns on this prompt.
    HangsOn(String),
    /// Resends on this prompt until the service says 200, without ever waiting.
    ResendsForEverOn(String),
    /// Refuses, without asking the service, every model but this one.
    OnlyKnows(String),
    /// Refuses, without asking the service, any credential but the one its provider's users
    /// have: OAuth tokens (with a refresh token, an account and an expiry in the future) for
    /// a provider that refreshes, else an API key.
    OnlyTakes(CredentialKind),
}

/// Whether `credential` is what a test provider's users have, of `kind`.
fn is_real_credential(credential: &Credential, kind: CredentialKind) -> bool {
    let far_off = std::time::SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
    credential.kind() == kind
        && match kind {
            CredentialKind::OAuth => {
                credential.refresh_token().is_some()
                    && credential.account_id().is_some()
                    && credential.expires_at().is_some_and(|at| at > far_off)
            }
            _ => credential.expires_at().is_none(),
        }
}

/// A chat-completions runner for a made-up service, as small as a real one can be.
#[derive(Debug, Clone, Default)]
struct TestRunner {
    fault: RunnerFault,
}

const SERVICE: &str = "Test service";
/// The `error.type` the test service gives an expired access token.
const EXPIRED_TYPE: &str = "token_expired";

/// How the test service answers a credential it will not take, and an error with a message.
fn service_errors() -> ServiceErrors {
    ServiceErrors {
        rejected: HttpResponse::new(401, error_body(401, "invalid_api_key", "Invalid API key")),
        expired: Some(HttpResponse::new(
            401,
            error_body(401, EXPIRED_TYPE, "The access token expired"),
        )),
        error_with_message: std::sync::Arc::new(|status, message| {
            HttpResponse::new(status, error_body(status, "error", message))
        }),
    }
}

/// The test service's error shape.
fn error_body(code: u16, kind: &str, message: &str) -> String {
    json!({"error": {"code": code, "type": kind, "message": message}}).to_string()
}

#[async_trait]
impl ModelRunner for TestRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        match &self.fault {
            RunnerFault::PanicsOn(p) if *p == request.prompt => {
                panic!("test runner panics on purpose")
            }
            RunnerFault::HangsOn(p) if *p == request.prompt => std::future::pending().await,
            RunnerFault::ResendsForEverOn(p) if *p == request.prompt => loop {
                let sent = HttpRequest::post_json(
                    "https://models.test/v1/chat/completions",
                    &json!({"model": request.model}),
                );
                if ctx
                    .host
                    .http_client
                    .send(sent)
                    .await
                    .is_ok_and(|r| r.status == 200)
                {
                    return Err(ModelError::Service("done".into()));
                }
            },
            RunnerFault::OnlyKnows(m) if *m != request.model => {
                return Err(ModelError::InvalidRequest(format!(
                    "unknown model {:?}",
                    request.model
                )));
            }
            RunnerFault::OnlyTakes(kind) if !is_real_credential(&ctx.credential, *kind) => {
                return Err(ModelError::Config(format!(
                    "this runner takes {kind} credentials only"
                )));
            }
            _ => {}
        }
        let key = ctx.credential.expose_secret();
        let body = json!({
            "model": request.model,
            "messages": [{"role": "user", "content": request.prompt}],
        });
        let sent = HttpRequest::post_json("https://models.test/v1/chat/completions", &body)
            .with_header("authorization", format!("Bearer {key}"));
        let client = &ctx.host.http_client;
        let response = client
            .send(sent)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.into(),
                source,
            })?;
        let status = response.status;
        let detail = match self.fault {
            RunnerFault::QuotesService => {
                format!("HTTP {status}: {}", String::from_utf8_lossy(&response.body))
            }
            RunnerFault::ScrubsOnlyExactKey => {
                let body = String::from_utf8_lossy(&response.body).replace(key, "[redacted]");
                format!("HTTP {status}: {}", sanitize_line(&body, 200))
            }
            RunnerFault::QuotesServiceScrubbed => {
                let body = scrub_secret(&String::from_utf8_lossy(&response.body), key);
                format!("HTTP {status}: {}", sanitize_line(&body, 200))
            }
            _ => format!("HTTP {status}"),
        };
        let rejected = || ModelError::CredentialRejected {
            service: SERVICE.into(),
            detail: detail.clone(),
        };
        let expired = || ModelError::CredentialExpired {
            service: SERVICE.into(),
            detail: detail.clone(),
        };
        // The test service says which 401 is an expired token in its error's `type`.
        let says_expired = serde_json::from_slice::<Value>(&response.body)
            .is_ok_and(|b| b["error"]["type"] == EXPIRED_TYPE);
        match status {
            200..=299 => {}
            401 if self.fault == RunnerFault::EveryUnauthorizedIsExpired => return Err(expired()),
            401 if says_expired && self.fault != RunnerFault::ExpiredIsRejected => {
                return Err(expired());
            }
            401 if self.fault != RunnerFault::UnauthorizedIsInvalid => return Err(rejected()),
            429 if self.fault != RunnerFault::RateLimitIsInvalid => {
                return Err(ModelError::RateLimited(detail));
            }
            400..=499 => return Err(ModelError::InvalidRequest(detail)),
            _ => return Err(ModelError::Service(detail)),
        }
        let answer: Value = serde_json::from_slice(&response.body).map_err(|_| {
            ModelError::BadResponse(match self.fault {
                RunnerFault::QuotesKey => format!("the answer to {key} is not JSON"),
                RunnerFault::QuotesRefreshToken => format!(
                    "the answer is not JSON (refresh token {})",
                    ctx.credential.refresh_token().unwrap_or("none")
                ),
                _ => "the answer is not JSON".into(),
            })
        })?;
        let text = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| ModelError::BadResponse("the answer has no message".into()))?;
        let text = match self.fault {
            RunnerFault::EchoesPrompt => request.prompt.clone(),
            _ => text.to_owned(),
        };
        Ok(ModelReply::new(vec![ModelOutput::text(text)]))
    }
}

/// How a test refresher goes wrong, if it does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum RefresherFault {
    /// None: it refreshes the way a real refresher should.
    #[default]
    None,
    /// Keeps the stored refresh token even when the service sends a new one.
    KeepsOldRefreshToken,
    /// Names the refresh token when the service refuses it.
    QuotesRefreshToken,
    /// Takes the service's `invalid_grant` for a passing failure.
    InvalidGrantIsService,
    /// Returns the provider's default profile, whichever it was given.
    WritesDefaultProfile,
    /// Returns a profile of another provider.
    WritesOtherProvider,
    /// Never returns.
    Hangs,
    /// Waits on its clock and tries again whenever the service does not answer with tokens,
    /// for ever.
    RetriesForEver,
}

/// An OAuth refresher for the test service: the stored refresh token for new tokens.
#[derive(Debug, Clone, Default)]
struct TestRefresher {
    fault: RefresherFault,
}

#[async_trait]
impl Refresher for TestRefresher {
    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
        if self.fault == RefresherFault::Hangs {
            std::future::pending::<()>().await;
        }
        let stored = ctx
            .credential
            .refresh_token()
            .ok_or(RefreshError::NotRefreshable)?;
        let body = json!({"grant_type": "refresh_token", "refresh_token": stored});
        let client = &ctx.host.http_client;
        if self.fault == RefresherFault::RetriesForEver {
            loop {
                let request = HttpRequest::post_json(TOKEN_URL, &body);
                if client.send(request).await.is_ok_and(|r| r.status == 200) {
                    return Err(RefreshError::Service("done".into()));
                }
                ctx.clock.sleep(Duration::from_secs(1)).await;
            }
        }
        let response = client
            .send(HttpRequest::post_json(TOKEN_URL, &body))
            .await
            .map_err(|source| RefreshError::Network {
                service: SERVICE.into(),
                source,
            })?;
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|_| RefreshError::BadResponse("the answer is not JSON".into()))?;
        if response.status != 200 {
            if answer["error"] != "invalid_grant" {
                return Err(RefreshError::Service(format!("HTTP {}", response.status)));
            }
            return Err(match self.fault {
                RefresherFault::InvalidGrantIsService => {
                    RefreshError::Service("the refresh failed".into())
                }
                RefresherFault::QuotesRefreshToken => RefreshError::SignInRequired {
                    service: SERVICE.into(),
                    detail: format!("refresh token {stored} was refused"),
                },
                _ => RefreshError::SignInRequired {
                    service: SERVICE.into(),
                    detail: "the refresh token was revoked or already used".into(),
                },
            });
        }
        let access = answer["access_token"]
            .as_str()
            .ok_or_else(|| RefreshError::BadResponse("no access token".into()))?;
        let refresh = match answer["refresh_token"].as_str() {
            Some(rotated) if self.fault != RefresherFault::KeepsOldRefreshToken => rotated,
            _ => stored,
        };
        let lasts = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(3600));
        let mut tokens = OAuthTokens::new(access.into());
        tokens.refresh_token = Some(refresh.into());
        tokens.expires_at = Some(ctx.clock.now() + lasts);
        tokens.account_id = ctx.credential.account_id().map(str::to_owned);
        let profile_id = match self.fault {
            RefresherFault::WritesDefaultProfile => {
                ProfileId::default_for(ctx.profile_id.provider()).unwrap()
            }
            RefresherFault::WritesOtherProvider => ProfileId::default_for("acme").unwrap(),
            _ => ctx.profile_id.clone(),
        };
        Ok(ProfileWrite {
            profile_id,
            credential: Credential::oauth(tokens, Provenance::new()),
        })
    }
}

/// How a test session refresher goes wrong, if it does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum SessionFault {
    /// None: it keeps the stored token and caches the session the service sent.
    #[default]
    None,
    /// Stores the session token in place of the stored token.
    ReplacesStoredToken,
    /// Caches the stored token as the session token.
    CachesStoredToken,
    /// Gives the session no time: it expires the instant it is renewed.
    ExpiresAtOnce,
}

/// Where the test service trades the stored token for a session token.
const SESSION_URL: &str = "https://auth.test/session";

/// A refresher deriving short-lived session tokens from the stored one, as GitHub Copilot's.
#[derive(Debug, Clone, Default)]
struct TestSessionRefresher {
    fault: SessionFault,
}

#[async_trait]
impl Refresher for TestSessionRefresher {
    fn can_refresh(&self, credential: &Credential) -> bool {
        credential.kind() == CredentialKind::OAuth
    }

    fn due(&self, credential: &Credential, now: std::time::SystemTime) -> bool {
        self.can_refresh(credential)
            && credential
                .session()
                .is_none_or(|s| s.expires_at <= now + REFRESH_MARGIN)
    }

    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
        let stored = ctx
            .credential
            .oauth_tokens()
            .ok_or(RefreshError::NotRefreshable)?;
        let request = HttpRequest::get(SESSION_URL).with_header(
            "authorization",
            format!("token {}", ctx.credential.expose_secret()),
        );
        let response =
            ctx.host
                .http_client
                .send(request)
                .await
                .map_err(|source| RefreshError::Network {
                    service: SERVICE.into(),
                    source,
                })?;
        match response.status {
            200 => {}
            401 => {
                return Err(RefreshError::SignInRequired {
                    service: SERVICE.into(),
                    detail: "the stored token was revoked".into(),
                });
            }
            status => return Err(RefreshError::Service(format!("HTTP {status}"))),
        }
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|_| RefreshError::BadResponse("the answer is not JSON".into()))?;
        let (Some(token), Some(expires)) =
            (answer["token"].as_str(), answer["expires_at"].as_u64())
        else {
            return Err(RefreshError::BadResponse(
                "the answer has no session".into(),
            ));
        };
        let mut tokens = stored.clone();
        let mut session = SessionToken {
            token: token.to_owned().into(),
            expires_at: std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(expires),
            endpoint: None,
        };
        match self.fault {
            SessionFault::ReplacesStoredToken => tokens.access_token = token.to_owned().into(),
            SessionFault::CachesStoredToken => session.token = stored.access_token.clone(),
            SessionFault::ExpiresAtOnce => session.expires_at = ctx.clock.now(),
            SessionFault::None => {}
        }
        tokens.session = Some(session);
        Ok(ProfileWrite {
            profile_id: ctx.profile_id.clone(),
            credential: Credential::oauth(tokens, ctx.credential.provenance().clone()),
        })
    }
}

/// How a test model lister goes wrong, if it does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ListerFault {
    /// None: it reads the service's list the way a real lister should.
    #[default]
    None,
    /// Lists the models in reverse order.
    ReversesOrder,
    /// Marks no model free.
    IgnoresFree,
    /// Names the key it sent when the service fails.
    QuotesKey,
    /// Panics when the service marks a model free.
    PanicsOnFree,
    /// Takes HTTP 401 for the service failing.
    UnauthorizedIsService,
    /// Takes an answer without a model list for an empty list.
    LenientShape,
    /// Takes an answer that is not JSON for the service failing.
    NotJsonIsService,
    /// Asks nothing: the models are known to the extension.
    Fixed,
}

/// Where the test service lists its models.
const LIST_URL: &str = "https://models.test/v1/models";

/// A model lister for the test service.
#[derive(Debug, Clone, Default)]
struct TestLister {
    fault: ListerFault,
}

#[async_trait]
impl ModelLister for TestLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        if self.fault == ListerFault::Fixed {
            return Ok(fixed_models());
        }
        let key = ctx.credential.expose_secret();
        let request =
            HttpRequest::get(LIST_URL).with_header("authorization", format!("Bearer {key}"));
        let response =
            ctx.host
                .http_client
                .send(request)
                .await
                .map_err(|source| ModelError::Network {
                    service: SERVICE.into(),
                    source,
                })?;
        let detail = match self.fault {
            ListerFault::QuotesKey => format!("HTTP {} for key {key}", response.status),
            _ => format!("HTTP {}", response.status),
        };
        match response.status {
            200..=299 => {}
            401 if self.fault != ListerFault::UnauthorizedIsService => {
                return Err(ModelError::CredentialRejected {
                    service: SERVICE.into(),
                    detail,
                });
            }
            _ => return Err(ModelError::Service(detail)),
        }
        let answer: Value = serde_json::from_slice(&response.body).map_err(|_| {
            let what = "the model list is not JSON".to_owned();
            match self.fault {
                ListerFault::NotJsonIsService => ModelError::Service(what),
                _ => ModelError::BadResponse(what),
            }
        })?;
        let Some(data) = answer["data"].as_array() else {
            if self.fault == ListerFault::LenientShape {
                return Ok(Vec::new());
            }
            return Err(ModelError::BadResponse(
                "the answer has no model list".into(),
            ));
        };
        let mut models = Vec::new();
        for model in data {
            let id = model["id"]
                .as_str()
                .ok_or_else(|| ModelError::BadResponse("a model has no id".into()))?;
            let free = model["free"].as_bool().unwrap_or(false);
            if free && self.fault == ListerFault::PanicsOnFree {
                panic!("test lister panics on purpose");
            }
            models.push(ModelInfo::new(id).free(free && self.fault != ListerFault::IgnoresFree));
        }
        if self.fault == ListerFault::ReversesOrder {
            models.reverse();
        }
        Ok(models)
    }
}

/// What a lister that asks nothing knows.
fn fixed_models() -> Vec<ModelInfo> {
    vec![
        ModelInfo::new("auto"),
        ModelInfo::new("small:free").free(true),
    ]
}

/// How a test credential check goes wrong, if it does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum CheckFault {
    /// None: it asks the service and reads its answer.
    #[default]
    None,
    /// Takes any answer for a working credential.
    PassesEverything,
    /// Never returns.
    Hangs,
    /// Asks nothing: it judges from what is stored.
    JudgesFromStore,
}

/// Where the test service says whether a key works.
const CHECK_URL: &str = "https://models.test/v1/key";

/// A credential check for the test service.
#[derive(Debug, Clone, Default)]
struct TestCheck {
    fault: CheckFault,
}

#[async_trait]
impl CredentialCheck for TestCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        match self.fault {
            CheckFault::Hangs => std::future::pending().await,
            CheckFault::JudgesFromStore => return Ok(()),
            _ => {}
        }
        let request = HttpRequest::get(CHECK_URL).with_header(
            "authorization",
            format!("Bearer {}", ctx.credential.expose_secret()),
        );
        let response =
            ctx.host
                .http_client
                .send(request)
                .await
                .map_err(|source| ModelError::Network {
                    service: SERVICE.into(),
                    source,
                })?;
        match response.status {
            _ if self.fault == CheckFault::PassesEverything => Ok(()),
            200 => Ok(()),
            401 => Err(ModelError::CredentialRejected {
                service: SERVICE.into(),
                detail: "HTTP 401".into(),
            }),
            status => Err(ModelError::Service(format!("HTTP {status}"))),
        }
    }
}

/// A provider as plain data, so a case can edit it before it is built.
#[derive(Debug, Clone)]
struct ProviderSpec {
    id: String,
    label: String,
    docs_path: String,
    env_vars: Vec<EnvVar>,
    default_model: Option<String>,
    methods: Vec<TestMethod>,
    runner: Option<TestRunner>,
    refresher: Option<TestRefresher>,
    session_refresher: Option<TestSessionRefresher>,
    lister: Option<TestLister>,
    check: Option<TestCheck>,
}

/// A [`ProviderSpec`] built: the trait hands out its methods boxed.
struct TestProvider {
    spec: ProviderSpec,
    methods: Vec<Box<dyn AuthMethod>>,
}

impl TestProvider {
    fn new(spec: ProviderSpec) -> Self {
        let methods = spec
            .methods
            .iter()
            .cloned()
            .map(|m| Box::new(m) as Box<dyn AuthMethod>)
            .collect();
        Self { spec, methods }
    }
}

impl Provider for TestProvider {
    fn id(&self) -> &str {
        &self.spec.id
    }

    fn label(&self) -> &str {
        &self.spec.label
    }

    fn docs_path(&self) -> &str {
        &self.spec.docs_path
    }

    fn env_vars(&self) -> &[EnvVar] {
        &self.spec.env_vars
    }

    fn default_model(&self) -> Option<&str> {
        self.spec.default_model.as_deref()
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        self.spec.runner.as_ref().map(|r| r as &dyn ModelRunner)
    }

    fn refresher(&self) -> Option<&dyn Refresher> {
        match (&self.spec.refresher, &self.spec.session_refresher) {
            (Some(r), _) => Some(r),
            (None, Some(r)) => Some(r),
            (None, None) => None,
        }
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        self.spec.lister.as_ref().map(|l| l as &dyn ModelLister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        self.spec.check.as_ref().map(|c| c as &dyn CredentialCheck)
    }
}

/// A fixture as plain data, so a case can edit it before it becomes a [`ContractFixture`].
#[derive(Debug, Clone)]
struct FixtureSpec {
    name: String,
    provider: String,
    method: String,
    expectation: Expectation,
    answers: Vec<Answer>,
    http: Vec<Result<HttpResponse, HttpError>>,
    profile: Option<String>,
    unpreparable: bool,
}

impl FixtureSpec {
    fn build(self) -> Box<dyn ContractFixture> {
        if self.unpreparable {
            return Box::new(Unpreparable(self));
        }
        let new = match self.expectation {
            Expectation::Succeeds => ScriptedFixture::succeeds,
            Expectation::Fails => ScriptedFixture::fails,
        };
        let mut options = LoginOptions::default();
        options.profile = self.profile.map(|p| p.parse().unwrap());
        Box::new(
            new(&self.name, &self.provider, &self.method, self.answers)
                .with_options(options)
                .with_http(self.http),
        )
    }
}

/// A fixture whose setup always fails, as when its local service double cannot start.
struct Unpreparable(FixtureSpec);

#[async_trait]
impl ContractFixture for Unpreparable {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn provider_id(&self) -> &str {
        &self.0.provider
    }

    fn method_id(&self) -> &str {
        &self.0.method
    }

    fn expectation(&self) -> Expectation {
        self.0.expectation
    }

    async fn prepare(&self) -> Result<PreparedFixture, FixtureError> {
        Err(FixtureError {
            name: self.0.name.clone(),
            reason: "port in use".into(),
        })
    }
}

/// One provider's parts, kept editable until they become a [`Subject`].
#[derive(Debug, Clone)]
struct Parts {
    manifest_path: String,
    manifest: Value,
    provider: ProviderSpec,
    fixtures: Vec<FixtureSpec>,
    model_fixtures: Vec<ModelFixture>,
    service_errors: Option<ServiceErrors>,
    refresh_fixtures: Vec<RefreshFixture>,
    list_fixtures: Vec<ListFixture>,
    device_fixtures: Vec<DeviceCodeFixture>,
}

impl Parts {
    fn subject(self) -> Subject {
        let subject = Subject::new(
            ManifestText::new(self.manifest_path, self.manifest.to_string()),
            Box::new(TestProvider::new(self.provider)),
            self.fixtures.into_iter().map(FixtureSpec::build).collect(),
        )
        .with_model_fixtures(self.model_fixtures)
        .with_refresh_fixtures(self.refresh_fixtures)
        .with_list_fixtures(self.list_fixtures)
        .with_device_fixtures(self.device_fixtures);
        match self.service_errors {
            Some(errors) => subject.with_service_errors(errors),
            None => subject,
        }
    }

    fn runner(&mut self) -> &mut TestRunner {
        self.provider.runner.as_mut().unwrap()
    }

    fn refresher(&mut self) -> &mut TestRefresher {
        self.provider.refresher.as_mut().unwrap()
    }

    fn session_refresher(&mut self) -> &mut TestSessionRefresher {
        self.provider.session_refresher.as_mut().unwrap()
    }

    fn lister(&mut self) -> &mut TestLister {
        self.provider.lister.as_mut().unwrap()
    }

    fn check(&mut self) -> &mut TestCheck {
        self.provider.check.as_mut().unwrap()
    }

    /// Swaps the refresher for one deriving session tokens, with its fixtures.
    fn with_session_refresher(&mut self) {
        self.provider.refresher = None;
        self.provider.session_refresher = Some(TestSessionRefresher::default());
        self.refresh_fixtures = session_fixtures();
    }

    /// Takes the model lister away, with its declaration and fixtures.
    fn without_lister(&mut self) {
        self.provider.lister = None;
        self.undeclare(MODEL_LIST);
        self.list_fixtures.clear();
    }

    /// Keeps only the list fixtures that do not expect a failure of `kind`: for a lister
    /// broken so that only the harness's own probe catches it.
    fn without_list_fixtures_failing_as(&mut self, kind: ModelErrorKind) {
        self.list_fixtures
            .retain(|f| f.expect != ListExpectation::Fails(kind));
    }

    /// The manifest's capabilities for the provider.
    fn capabilities(&mut self) -> &mut Vec<Value> {
        self.declared()
            .entry("capabilities")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
    }

    fn declare(&mut self, capability: &str) {
        self.capabilities().push(capability.into());
    }

    fn undeclare(&mut self, capability: &str) {
        self.capabilities().retain(|c| c != capability);
    }

    fn service_errors(&mut self) -> &mut ServiceErrors {
        self.service_errors.as_mut().unwrap()
    }

    /// Takes the refresher away, with its fixtures and the service's expired-token answer: a
    /// provider whose users sign in with API keys only.
    fn without_refresher(&mut self) {
        self.provider.refresher = None;
        self.provider.session_refresher = None;
        self.refresh_fixtures.clear();
        if let Some(errors) = &mut self.service_errors {
            errors.expired = None;
        }
        self.model_fixtures
            .retain(|f| f.expect != ModelExpectation::Fails(ModelErrorKind::CredentialExpired));
    }

    /// Keeps only the model fixtures that do not expect a failure of `kind`: for a runner
    /// broken so that only the harness's own probe catches it.
    fn without_model_fixtures_failing_as(&mut self, kind: ModelErrorKind) {
        self.model_fixtures
            .retain(|f| f.expect != ModelExpectation::Fails(kind));
    }

    /// The manifest's declaration of the provider.
    fn declared(&mut self) -> &mut serde_json::Map<String, Value> {
        self.manifest["providers"][0].as_object_mut().unwrap()
    }

    /// Takes the model runner away, with its declaration and fixtures. The service errors stay:
    /// the lister and the credential check are probed with them too.
    fn without_runner(&mut self) {
        self.provider.runner = None;
        self.undeclare(MODEL_RUN);
        self.model_fixtures.clear();
    }

    fn choice(&mut self, i: usize) -> &mut Value {
        &mut self.manifest["auth_choices"][i]
    }

    fn method(&mut self, id: &str) -> &mut TestMethod {
        self.provider
            .methods
            .iter_mut()
            .find(|m| m.id == id)
            .unwrap()
    }

    /// Renames the provider in all three parts, so only the new id itself can be at fault.
    fn rename_provider(&mut self, to: &str) {
        let from = std::mem::replace(&mut self.provider.id, to.to_owned());
        for p in self.manifest["providers"].as_array_mut().unwrap() {
            if p["id"] == from.as_str() {
                p["id"] = to.into();
            }
        }
        self.rename_in_choices("provider", &from, to);
        for f in &mut self.fixtures {
            if f.provider == from {
                f.provider = to.to_owned();
            }
        }
    }

    /// Renames a method in all three parts.
    fn rename_method(&mut self, from: &str, to: &str) {
        self.method(from).id = to.to_owned();
        self.rename_in_choices("method", from, to);
        for f in &mut self.fixtures {
            if f.method == from {
                f.method = to.to_owned();
            }
        }
    }

    /// Points the methods' writes and the fixtures' `--profile` at `provider`'s profiles.
    fn owns_profiles_of(&mut self, provider: &str) {
        for m in &mut self.provider.methods {
            m.behaviour = Behaviour::Writes(format!("{provider}:default"));
        }
        for f in &mut self.fixtures {
            if f.profile.is_some() {
                f.profile = Some(format!("{provider}:work"));
            }
        }
    }

    fn rename_in_choices(&mut self, field: &str, from: &str, to: &str) {
        for c in self.manifest["auth_choices"].as_array_mut().unwrap() {
            if c[field] == from {
                c[field] = to.into();
            }
        }
    }
}

/// The capabilities a manifest declares.
const MODEL_RUN: &str = "model.run";
const MODEL_LIST: &str = "model.list";

/// A well-behaved provider `id` with an API-key, a browser, a device-code and a local method,
/// its manifest at `manifests/<id>.json`, and for each method a plain success, a `--profile`
/// success and a refusal (and for the device-code method a device fixture for each case); a
/// model runner with a fixture for a reply and for each way a call can fail, and its service's
/// error answers; a model lister with a fixture for a list and for each way a listing can fail;
/// a credential check; and a refresher with a fixture for each way a refresh ends.
fn provider_named(id: &str) -> Parts {
    let method = |method: &str, label: &str, hint: Option<&str>, kind, input| TestMethod {
        id: method.to_owned(),
        label: label.to_owned(),
        hint: hint.map(str::to_owned),
        kind,
        input,
        behaviour: Behaviour::Writes(format!("{id}:default")),
        stores: None,
    };
    let provider = ProviderSpec {
        id: id.to_owned(),
        label: "Test provider".to_owned(),
        docs_path: format!("/providers/{id}"),
        env_vars: vec![
            EnvVar::credential("TEST_API_KEY"),
            EnvVar::setting("TEST_BASE_URL"),
        ],
        default_model: Some(format!("{id}/auto")),
        methods: vec![
            method(
                "api-key",
                "API key",
                Some("Paste a key you manage"),
                AuthKind::ApiKey,
                Input::Key,
            ),
            method(
                "oauth",
                "Browser login",
                None,
                AuthKind::OAuth,
                Input::PastedRedirect(StateCheck::First),
            ),
            method(
                "device-code",
                "Code on another device",
                None,
                AuthKind::DeviceCode,
                Input::DeviceCode(DeviceFault::None),
            ),
            method(
                "local",
                "Local service",
                Some("No key: a service on this machine"),
                AuthKind::Local,
                Input::LocalService,
            ),
        ],
        runner: Some(TestRunner::default()),
        refresher: Some(TestRefresher::default()),
        session_refresher: None,
        lister: Some(TestLister::default()),
        check: Some(TestCheck::default()),
    };
    let choices: Vec<Value> = provider
        .methods
        .iter()
        .map(|m| {
            let mut choice = json!({
                "choice_id": format!("{id}-{}", m.id),
                "provider": id,
                "method": m.id,
                "kind": m.kind,
                "label": format!("Test {}", m.label),
                "group": {"id": id, "label": "Test provider", "hint": "API key or browser"},
            });
            if let Some(hint) = &m.hint {
                choice["hint"] = hint.as_str().into();
            }
            choice
        })
        .collect();
    let mut manifest = json!({
        "$schema": "./schema/plugin-manifest.schema.json",
        "manifest_version": 1,
        "id": id,
        "name": "Test plugin",
        "version": "0.1.0",
        "providers": [{"id": id, "label": "Test provider", "capabilities": [MODEL_RUN, MODEL_LIST]}],
        "auth_choices": choices,
    });
    manifest["auth_choices"][0]["deprecated_choice_ids"] = json!([format!("{id}-key")]);

    let fixture = |m: &TestMethod, name: &str, expectation| {
        let (answers, http) = match m.input {
            Input::Key => (vec![Answer::Secret("k".into())], vec![]),
            Input::PastedRedirect(_) => (
                vec![Answer::Text(redirect_with("test-code"))],
                vec![Ok(HttpResponse::new(200, r#"{"ok":true}"#))],
            ),
            // The service confirms at once: the polling rules are the device fixtures' to check.
            Input::DeviceCode(_) => (vec![], device_replies(&[TOKEN_ANSWER])),
            Input::LocalService => (
                vec![],
                vec![Ok(HttpResponse::new(200, r#"{"version":"0.1.0"}"#))],
            ),
        };
        FixtureSpec {
            name: name.to_owned(),
            provider: id.to_owned(),
            method: m.id.clone(),
            expectation,
            answers,
            http,
            profile: None,
            unpreparable: false,
        }
    };
    let mut fixtures = Vec::new();
    for m in &provider.methods {
        fixtures.push(fixture(m, "signs in", Expectation::Succeeds));
        fixtures.push(FixtureSpec {
            profile: Some(format!("{id}:work")),
            ..fixture(m, "--profile names the profile", Expectation::Succeeds)
        });
        fixtures.push(FixtureSpec {
            answers: vec![],
            http: vec![],
            ..fixture(m, "no input or answer", Expectation::Fails)
        });
    }
    Parts {
        manifest_path: format!("manifests/{id}.json"),
        manifest,
        provider,
        fixtures,
        model_fixtures: model_fixtures(),
        service_errors: Some(service_errors()),
        refresh_fixtures: refresh_fixtures(),
        list_fixtures: list_fixtures(),
        device_fixtures: device_fixtures("device-code"),
    }
}

/// What the test service's token endpoint answers once the user has confirmed.
const TOKEN_ANSWER: &str =
    r#"{"access_token":"pbat-Device5Access2Token8Lm","token_type":"bearer"}"#;
/// The device code the test service hands out: a secret, unlike the user code.
const DEVICE_CODE: &str = "dc-Secret7Device3Code9Xk4";
const USER_CODE: &str = "WDJB-MJHT";
const VERIFICATION_URI: &str = "https://auth.test/device";

/// The test service's answers to a device-code sign-in: the device code, then `polls` (bodies
/// of the token endpoint's answers, in order).
fn device_replies(polls: &[&str]) -> Vec<Result<HttpResponse, HttpError>> {
    let device = json!({
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": VERIFICATION_URI,
        "interval": 5,
        "expires_in": 900,
    });
    std::iter::once(HttpResponse::new(200, device.to_string()))
        .chain(polls.iter().map(|body| {
            let status = if body.contains("access_token") {
                200
            } else {
                400
            };
            HttpResponse::new(status, *body)
        }))
        .map(Ok)
        .collect()
}

/// For the test device-code method `method`: one fixture for each case.
fn device_fixtures(method: &str) -> Vec<DeviceCodeFixture> {
    let pending = r#"{"error":"authorization_pending"}"#;
    let fixture = |case, name: &str, polls: &[&str]| DeviceCodeFixture {
        name: name.to_owned(),
        method_id: method.to_owned(),
        case,
        user_code: USER_CODE.to_owned(),
        verification_uri: VERIFICATION_URI.to_owned(),
        interval: Duration::from_secs(5),
        replies: device_replies(polls),
    };
    vec![
        fixture(
            DeviceCodeCase::PendingThenSuccess,
            "signs in once the user confirms",
            &[pending, pending, TOKEN_ANSWER],
        ),
        fixture(
            DeviceCodeCase::SlowDown,
            "polls more slowly when asked",
            &[pending, r#"{"error":"slow_down"}"#, pending, TOKEN_ANSWER],
        ),
        fixture(
            DeviceCodeCase::Expired,
            "an expired code ends the sign-in",
            &[pending, r#"{"error":"expired_token"}"#],
        ),
        fixture(
            DeviceCodeCase::Denied,
            "a denied sign-in ends it",
            &[r#"{"error":"access_denied"}"#],
        ),
    ]
}

/// For the test lister: a list, and a failure of each kind it tells apart.
fn list_fixtures() -> Vec<ListFixture> {
    let answer = |status, body: &str| vec![Ok(HttpResponse::new(status, body.as_bytes().to_vec()))];
    let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    vec![
        ListFixture::new(
            "lists the models in the service's order, the free ones marked",
            answer(
                200,
                r#"{"data":[{"id":"auto"},{"id":"small:free","free":true},{"id":"large"}]}"#,
            ),
            ListExpectation::Lists {
                ids: ids(&["auto", "small:free", "large"]),
                free: ids(&["small:free"]),
            },
        ),
        ListFixture::new(
            "a 401 is a rejected key",
            answer(401, &error_body(401, "invalid_api_key", "Invalid API key")),
            ListExpectation::Fails(ModelErrorKind::CredentialRejected),
        ),
        ListFixture::new(
            "a 500 is the service failing",
            answer(500, &error_body(500, "error", "Internal Server Error")),
            ListExpectation::Fails(ModelErrorKind::Service),
        ),
        ListFixture::new(
            "an answer without a model list is a bad response",
            answer(200, r#"{"object":"list"}"#),
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
    ]
}

/// For the test session refresher: a renewed session, and a stored token the service no
/// longer takes.
fn session_fixtures() -> Vec<RefreshFixture> {
    let stored = || {
        let mut tokens = OAuthTokens::new("ghu-Stored5Github8Token2Xy".into());
        tokens.account_id = Some("account-1".into());
        Credential::oauth(tokens, Provenance::new())
    };
    let answer = |status, body: Value| vec![Ok(HttpResponse::new(status, body.to_string()))];
    vec![
        RefreshFixture::new(
            "a new session token is cached beside the stored token",
            stored(),
            answer(
                200,
                json!({"token": "tid=Session4Token7Value9Qz", "expires_at": 1_700_001_800}),
            ),
            RefreshExpectation::SessionRenewed {
                session_token: "tid=Session4Token7Value9Qz".into(),
            },
        ),
        RefreshFixture::new(
            "a revoked stored token needs a new sign-in",
            stored(),
            answer(401, json!({"message": "Bad credentials"})),
            RefreshExpectation::SignInRequired,
        ),
    ]
}

/// For the test refresher: the service keeping the refresh token, rotating it, and refusing
/// it.
fn refresh_fixtures() -> Vec<RefreshFixture> {
    let stored = || {
        let mut tokens = OAuthTokens::new("pbat-Old7Access3Token9Qx2".into());
        tokens.refresh_token = Some("pbrt-Stored4Refresh8Tok6Wz".into());
        tokens.expires_at = Some(std::time::SystemTime::UNIX_EPOCH);
        tokens.account_id = Some("account-1".into());
        Credential::oauth(tokens, Provenance::new())
    };
    let answer = |status, body: Value| vec![Ok(HttpResponse::new(status, body.to_string()))];
    vec![
        RefreshFixture::new(
            "a refresh without a new refresh token keeps the stored one",
            stored(),
            answer(
                200,
                json!({"access_token": "pbat-New1Access5Token2Kp8", "expires_in": 3600}),
            ),
            RefreshExpectation::Refreshed {
                access_token: "pbat-New1Access5Token2Kp8".into(),
                refresh_token: "pbrt-Stored4Refresh8Tok6Wz".into(),
            },
        ),
        RefreshFixture::new(
            "a rotated refresh token replaces the old one",
            stored(),
            answer(
                200,
                json!({
                    "access_token": "pbat-New2Access6Token3Lm9",
                    "refresh_token": "pbrt-Rotated5Refresh1Tk7Yv",
                    "expires_in": 3600,
                }),
            ),
            RefreshExpectation::Refreshed {
                access_token: "pbat-New2Access6Token3Lm9".into(),
                refresh_token: "pbrt-Rotated5Refresh1Tk7Yv".into(),
            },
        ),
        RefreshFixture::new(
            "a revoked refresh token needs a new sign-in",
            stored(),
            answer(
                400,
                json!({"error": "invalid_grant", "error_description": "Refresh token revoked"}),
            ),
            RefreshExpectation::SignInRequired,
        ),
    ]
}

/// The prompt of the model fixtures.
const PROMPT: &str = "Say hi.";

/// For the test runner: a reply, and a failure of each kind it tells apart.
fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("auto", PROMPT);
    let answer = |status, body: &str| vec![Ok(HttpResponse::new(status, body.as_bytes().to_vec()))];
    let error =
        |code: u16, message: &str| json!({"error": {"code": code, "message": message}}).to_string();
    let fails = |kind| ModelExpectation::Fails(kind);
    vec![
        ModelFixture::new(
            "replies",
            request(),
            answer(200, r#"{"choices":[{"message":{"content":"Hi."}}]}"#),
            ModelExpectation::Replies("Hi.".into()),
        ),
        ModelFixture::new(
            "a 401 is a rejected key",
            request(),
            answer(401, &error(401, "User not found.")),
            fails(ModelErrorKind::CredentialRejected),
        ),
        ModelFixture::new(
            "an expired token is an expired credential",
            request(),
            answer(
                401,
                &error_body(401, EXPIRED_TYPE, "The access token expired"),
            ),
            fails(ModelErrorKind::CredentialExpired),
        ),
        ModelFixture::new(
            "a 429 is rate limiting",
            request(),
            answer(429, &error(429, "Rate limit exceeded")),
            fails(ModelErrorKind::RateLimited),
        ),
        ModelFixture::new(
            "a 500 is the service failing",
            request(),
            answer(500, &error(500, "Internal Server Error")),
            fails(ModelErrorKind::Service),
        ),
        ModelFixture::new(
            "a reset connection is a network failure",
            request(),
            vec![Err(HttpError::Transport {
                host: "models.test".into(),
                reason: "connection reset".into(),
            })],
            fails(ModelErrorKind::Network),
        ),
        ModelFixture::new(
            "an answer without a message is a bad response",
            request(),
            answer(200, r#"{"choices":[]}"#),
            fails(ModelErrorKind::BadResponse),
        ),
    ]
}

fn good() -> Parts {
    provider_named("demo")
}

/// A second well-behaved plugin, for registry cases.
fn other() -> Parts {
    provider_named("acme")
}

#[tokio::test]
async fn a_well_behaved_provider_passes_every_rule() {
    let report = check_provider(&good().subject()).await;
    assert!(report.is_ok(), "{report}");
    let shown = report.to_string();
    assert!(
        shown.starts_with("all ") && shown.ends_with(" rules passed for demo"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_runner_quoting_the_service_through_the_core_scrubber_hides_every_disguised_key() {
    let mut p = good();
    p.runner().fault = RunnerFault::QuotesServiceScrubbed;
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn scrubbing_only_the_exact_key_fails_for_each_disguise_but_not_the_plain_echo() {
    let mut p = good();
    p.runner().fault = RunnerFault::ScrubsOnlyExactKey;
    let report = check_provider(&p.subject()).await;
    let shown = report.to_string();
    for disguise in [
        "in upper case",
        "with zero-width spaces inside",
        "with a soft hyphen inside",
        "with a control character inside",
    ] {
        assert!(
            shown.contains(&format!("echoes the key {disguise} in a 401")),
            "{disguise}: {shown}"
        );
    }
    assert!(!shown.contains("echoes the key as sent"), "{shown}");
}

#[tokio::test]
async fn a_runner_showing_the_refresh_token_is_told_which_secret_shows() {
    let mut p = good();
    p.runner().fault = RunnerFault::QuotesRefreshToken;
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains("the error's Display and Debug show the refresh token"),
        "{shown}"
    );
}

#[tokio::test]
async fn two_well_behaved_plugins_pass_the_registry_rules() {
    let report = check_registry(&[good().subject(), other().subject()]).await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        report.to_string(),
        format!("all {} rules passed for acme, demo", RULES.len())
    );
}

#[tokio::test]
async fn providers_sharing_a_manifest_are_one_plugin() {
    let first = good();
    let mut second = good();
    second.rename_provider("demo-two");
    let mut manifest = first.manifest.clone();
    manifest["providers"]
        .as_array_mut()
        .unwrap()
        .push(second.manifest["providers"][0].clone());
    for mut choice in second.manifest["auth_choices"].as_array().unwrap().clone() {
        choice["choice_id"] = format!("two-{}", choice["method"].as_str().unwrap()).into();
        choice
            .as_object_mut()
            .unwrap()
            .remove("deprecated_choice_ids");
        manifest["auth_choices"]
            .as_array_mut()
            .unwrap()
            .push(choice);
    }
    second.provider.default_model = Some("demo-two/auto".into());
    second.owns_profiles_of("demo-two");
    let subjects: Vec<Subject> = [first, second]
        .into_iter()
        .map(|mut p| {
            p.manifest = manifest.clone();
            p.subject()
        })
        .collect();

    let report = check_registry(&subjects).await;
    assert!(report.is_ok(), "{report}");

    // Alone, the first provider's check cannot see that the manifest's second provider exists.
    let report = check_registry(&subjects[..1]).await;
    assert_eq!(
        report.failed_rules(),
        BTreeSet::from(["provider-registered"]),
        "{report}"
    );
}

#[tokio::test]
async fn nothing_linked_is_nothing_to_fail() {
    let report = check_linked().await;
    assert!(report.is_ok(), "{report}");
}

#[test]
fn checking_can_move_between_threads() {
    fn assert_send<T: Send>(_: &T) {}
    let subject = good().subject();
    assert_send(&check_provider(&subject));
    assert_send(&check_registry(std::slice::from_ref(&subject)));
}

#[test]
fn a_runtime_without_timers_fails_fixtures_instead_of_crashing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = runtime.block_on(check_provider(&good().subject()));
    assert_eq!(
        report.failed_rules(),
        BTreeSet::from([
            "check-key-rejected",
            "device-code-polling",
            "fixture-outcome",
            "list-bad-shape",
            "list-fixture-outcome",
            "list-key-rejected",
            "model-fixture-outcome",
            "model-key-rejected",
            "model-secret-hidden",
            "model-token-expired",
            "refresh-fixture-outcome",
        ]),
        "{report}"
    );
    assert!(
        report.to_string().contains("timers are disabled"),
        "{report}"
    );
}

#[test]
fn rule_ids_are_unique_kebab_case_and_summarised() {
    let mut seen = BTreeSet::new();
    for rule in RULES {
        assert!(plugboard_core::is_valid_id(rule.id), "{}", rule.id);
        assert!(seen.insert(rule.id), "{} is listed twice", rule.id);
        assert!(!rule.summary.trim().is_empty(), "{}", rule.id);
    }
}

#[tokio::test]
async fn a_report_prints_one_line_per_failure() {
    let mut broken = good();
    broken.provider.docs_path = "providers/demo".into();
    broken.provider.env_vars.push(EnvVar::setting("lower"));
    let report = check_provider(&broken.subject()).await;
    let shown = report.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), report.failures().len(), "{shown}");
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].starts_with("[docs-path] demo: docs path \"providers/demo\""),
        "{shown}"
    );
    assert!(lines[1].starts_with("[env-vars] demo: "), "{shown}");
}

#[tokio::test]
async fn merging_reports_keeps_each_failure_once() {
    let mut broken = good();
    broken.provider.docs_path = "x".into();
    let mut report = Report::default();
    report.merge(check_provider(&broken.clone().subject()).await);
    report.merge(check_provider(&broken.subject()).await);
    assert_eq!(report.failures().len(), 1, "{report}");
}

type Break = fn(&mut Parts);
type BreakPair = fn(&mut Parts, &mut Parts);

/// How a case breaks the baseline: one provider checked alone, or the pair `good()` and
/// `other()` checked as a registry.
#[derive(Clone, Copy)]
enum Breaks {
    Provider(Break),
    Registry(BreakPair),
}

struct Case {
    rule: &'static str,
    broken: &'static str,
    breaks: Breaks,
}

const fn provider(rule: &'static str, broken: &'static str, b: Break) -> Case {
    Case {
        rule,
        broken,
        breaks: Breaks::Provider(b),
    }
}

const fn registry(rule: &'static str, broken: &'static str, b: BreakPair) -> Case {
    Case {
        rule,
        broken,
        breaks: Breaks::Registry(b),
    }
}

/// For every rule, at least one provider broken so that it fails that rule and no other.
const CASES: &[Case] = &[
    provider("manifest-schema", "manifest with an unknown field", |p| {
        p.manifest["colour"] = "red".into();
    }),
    provider("manifest-schema", "manifest missing a choice label", |p| {
        p.choice(0).as_object_mut().unwrap().remove("label");
    }),
    provider(
        "manifest-schema",
        "manifest of an unsupported version",
        |p| {
            p.manifest["manifest_version"] = 2.into();
        },
    ),
    provider(
        "manifest-schema",
        "choice for an undeclared provider",
        |p| {
            let mut stray = p.choice(1).clone();
            stray["choice_id"] = "ghost-oauth".into();
            stray["provider"] = "ghost".into();
            p.manifest["auth_choices"]
                .as_array_mut()
                .unwrap()
                .push(stray);
        },
    ),
    registry(
        "plugin-id-unique",
        "two manifests with one plugin id",
        |_, b| {
            b.manifest["id"] = "demo".into();
        },
    ),
    provider("provider-id-syntax", "provider id with capitals", |p| {
        p.rename_provider("Demo");
    }),
    provider("provider-id-syntax", "provider id over 64 bytes", |p| {
        p.rename_provider(&"d".repeat(65));
    }),
    registry(
        "provider-id-unique",
        "two plugins registering one provider id",
        |_, b| {
            b.rename_provider("demo");
            b.provider.default_model = Some("demo/auto".into());
            b.owns_profiles_of("demo");
        },
    ),
    provider("method-id-syntax", "method id with an underscore", |p| {
        p.rename_method("api-key", "api_key");
    }),
    provider("method-id-unique", "two methods with one id", |p| {
        let mut twin = p.method("oauth").clone();
        twin.label = "Browser login again".into();
        p.provider.methods.push(twin);
    }),
    provider("choice-id-syntax", "choice id with a space", |p| {
        p.choice(0)["choice_id"] = "demo key".into();
    }),
    provider(
        "choice-id-syntax",
        "deprecated choice id with an underscore",
        |p| {
            p.choice(0)["deprecated_choice_ids"] = json!(["demo_key"]);
        },
    ),
    provider("choice-id-unique", "two choices with one id", |p| {
        p.choice(1)["choice_id"] = "demo-api-key".into();
    }),
    provider(
        "choice-id-unique",
        "deprecated id reusing another choice's id",
        |p| {
            p.choice(1)["deprecated_choice_ids"] = json!(["demo-key"]);
        },
    ),
    registry(
        "choice-id-unique",
        "choice id taken by another manifest",
        |_, b| {
            b.choice(0)["choice_id"] = "demo-oauth".into();
        },
    ),
    registry(
        "choice-id-unique",
        "deprecated id taken by another manifest",
        |_, b| {
            b.choice(1)["deprecated_choice_ids"] = json!(["demo-key"]);
        },
    ),
    provider(
        "provider-declared",
        "manifest declaring another provider",
        |p| {
            p.manifest["providers"][0]["id"] = "other".into();
            p.rename_in_choices("provider", "demo", "other");
        },
    ),
    registry(
        "provider-registered",
        "manifest declaring a provider nobody registers",
        |a, _| {
            a.manifest["providers"]
                .as_array_mut()
                .unwrap()
                .push(json!({"id": "ghost", "label": "Ghost"}));
        },
    ),
    provider(
        "choice-has-method",
        "choice naming a method the provider lacks",
        |p| {
            let mut extra = p.choice(1).clone();
            extra["choice_id"] = "demo-device".into();
            extra["method"] = "device".into();
            extra["kind"] = "device_code".into();
            p.manifest["auth_choices"]
                .as_array_mut()
                .unwrap()
                .push(extra);
        },
    ),
    provider(
        "method-has-choice",
        "method missing from the manifest",
        |p| {
            p.manifest["auth_choices"].as_array_mut().unwrap().pop();
        },
    ),
    provider(
        "kind-agrees",
        "choice kind differing from its method",
        |p| {
            p.choice(1)["kind"] = "token".into();
        },
    ),
    provider("text-nonblank", "blank provider label", |p| {
        p.provider.label = String::new();
    }),
    provider("text-nonblank", "blank method label", |p| {
        p.method("oauth").label = " ".into();
    }),
    provider("text-nonblank", "blank method hint", |p| {
        p.method("api-key").hint = Some("\t".into());
    }),
    provider("text-nonblank", "blank choice label in the manifest", |p| {
        p.choice(0)["label"] = "  ".into();
    }),
    provider("text-nonblank", "blank group hint in the manifest", |p| {
        p.choice(0)["group"]["hint"] = "".into();
    }),
    provider("docs-path", "relative docs path", |p| {
        p.provider.docs_path = "providers/demo".into();
    }),
    provider("default-model", "default model without a provider", |p| {
        p.provider.default_model = Some("auto".into());
    }),
    provider("default-model", "default model of another provider", |p| {
        p.provider.default_model = Some("acme/auto".into());
    }),
    provider("env-vars", "lowercase environment variable", |p| {
        p.provider.env_vars.push(EnvVar::setting("test_region"));
    }),
    provider(
        "env-vars",
        "environment variable starting with a digit",
        |p| {
            p.provider.env_vars.push(EnvVar::setting("1TEST"));
        },
    ),
    provider("env-vars", "environment variable listed twice", |p| {
        p.provider.env_vars.push(EnvVar::credential("TEST_API_KEY"));
    }),
    provider(
        "fixtures-present",
        "method with only a failure fixture",
        |p| {
            p.fixtures
                .retain(|f| f.method != "oauth" || f.expectation == Expectation::Fails);
        },
    ),
    provider("fixtures-present", "fixture for another provider", |p| {
        let mut stray = p.fixtures[0].clone();
        stray.provider = "acme".into();
        p.fixtures.push(stray);
    }),
    provider(
        "fixtures-present",
        "fixture naming a method the provider lacks",
        |p| {
            let mut stray = p.fixtures[0].clone();
            stray.method = "device".into();
            p.fixtures.push(stray);
        },
    ),
    provider("fixture-outcome", "method refusing a good key", |p| {
        p.method("api-key").behaviour = Behaviour::Refuses;
    }),
    provider(
        "fixture-outcome",
        "method accepting what it must refuse",
        |p| {
            let mut lax = p.fixtures[0].clone();
            lax.expectation = Expectation::Fails;
            p.fixtures.push(lax);
        },
    ),
    provider(
        "fixture-outcome",
        "method succeeding without a profile",
        |p| {
            p.method("oauth").behaviour = Behaviour::WritesNothing;
        },
    ),
    provider("fixture-outcome", "method that never returns", |p| {
        p.method("oauth").behaviour = Behaviour::Hangs;
    }),
    provider("fixture-outcome", "method that panics", |p| {
        p.method("api-key").behaviour = Behaviour::Panics;
    }),
    provider("fixture-outcome", "fixture that cannot be prepared", |p| {
        p.fixtures[0].unpreparable = true;
    }),
    provider(
        "profile-ownership",
        "method writing another provider's profile",
        |p| {
            p.method("api-key").behaviour = Behaviour::Writes("acme:default".into());
        },
    ),
    provider("profile-ownership", "method ignoring --profile", |p| {
        p.method("oauth").behaviour = Behaviour::IgnoresProfileOption("demo:default".into());
    }),
    provider(
        "capability-declared",
        "model runner the manifest does not declare",
        |p| {
            p.undeclare(MODEL_RUN);
        },
    ),
    provider(
        "capability-declared",
        "manifest declaring model.run without a runner",
        |p| {
            p.without_runner();
            p.declare(MODEL_RUN);
        },
    ),
    provider(
        "capability-declared",
        "model lister the manifest does not declare",
        |p| {
            p.undeclare(MODEL_LIST);
        },
    ),
    provider(
        "capability-declared",
        "manifest declaring model.list without a lister",
        |p| {
            p.without_lister();
            p.declare(MODEL_LIST);
        },
    ),
    provider(
        "capability-declared",
        "manifest declaring an unknown capability",
        |p| {
            p.declared()["capabilities"]
                .as_array_mut()
                .unwrap()
                .push("model.stream".into());
        },
    ),
    provider(
        "model-fixtures-present",
        "model runner without a fixture under which it replies",
        |p| {
            p.model_fixtures
                .retain(|f| !matches!(f.expect, ModelExpectation::Replies(_)));
        },
    ),
    provider(
        "model-fixtures-present",
        "model runner without its service's error answers",
        |p| {
            // Nothing else needs them: the lister and the credential check are probed with them.
            p.without_lister();
            p.provider.check = None;
            p.service_errors = None;
        },
    ),
    provider(
        "model-fixtures-present",
        "model fixtures without a model runner",
        |p| {
            let fixtures = p.model_fixtures.clone();
            p.without_runner();
            p.model_fixtures = fixtures;
        },
    ),
    provider(
        "model-fixture-outcome",
        "runner replying with the wrong text",
        |p| {
            p.runner().fault = RunnerFault::EchoesPrompt;
        },
    ),
    provider(
        "model-fixture-outcome",
        "runner failing with the wrong kind",
        |p| {
            p.runner().fault = RunnerFault::RateLimitIsInvalid;
        },
    ),
    provider(
        "model-fixture-outcome",
        "model fixture expecting a failure of a reply",
        |p| {
            let mut wrong = p.model_fixtures[0].clone();
            wrong.expect = ModelExpectation::Fails(ModelErrorKind::Service);
            p.model_fixtures.push(wrong);
        },
    ),
    provider("model-fixture-outcome", "runner that panics", |p| {
        p.runner().fault = RunnerFault::PanicsOn(PROMPT.into());
    }),
    provider("model-fixture-outcome", "runner that never returns", |p| {
        p.runner().fault = RunnerFault::HangsOn(PROMPT.into());
    }),
    provider(
        "model-key-rejected",
        "runner taking a 401 for a bad request",
        |p| {
            p.runner().fault = RunnerFault::UnauthorizedIsInvalid;
            // Its own fixtures do not cover a 401; only the harness's probe catches it.
            p.model_fixtures.retain(|f| {
                f.expect != ModelExpectation::Fails(ModelErrorKind::CredentialRejected)
            });
        },
    ),
    provider(
        "model-key-rejected",
        "runner taking every 401 for an expired token",
        |p| {
            p.runner().fault = RunnerFault::EveryUnauthorizedIsExpired;
            p.without_model_fixtures_failing_as(ModelErrorKind::CredentialRejected);
        },
    ),
    provider(
        "model-secret-hidden",
        "runner quoting the service's answers",
        |p| {
            p.runner().fault = RunnerFault::QuotesService;
        },
    ),
    provider(
        "model-secret-hidden",
        "runner naming the key in an error",
        |p| {
            p.runner().fault = RunnerFault::QuotesKey;
        },
    ),
    provider(
        "model-secret-hidden",
        "runner scrubbing only the exact key from the service's answers",
        |p| {
            p.runner().fault = RunnerFault::ScrubsOnlyExactKey;
        },
    ),
    provider(
        "model-secret-hidden",
        "runner naming the refresh token in an error",
        |p| {
            p.runner().fault = RunnerFault::QuotesRefreshToken;
        },
    ),
    provider(
        "model-token-expired",
        "runner taking an expired token for a rejected key",
        |p| {
            p.runner().fault = RunnerFault::ExpiredIsRejected;
            // Its own fixtures do not cover an expired token; only the harness's probe does.
            p.without_model_fixtures_failing_as(ModelErrorKind::CredentialExpired);
        },
    ),
    provider(
        "model-token-expired",
        "refresher without the service's expired-token answer",
        |p| {
            p.service_errors().expired = None;
        },
    ),
    provider(
        "local-writes-no-secret",
        "local method storing a key",
        |p| {
            p.method("local").stores = Some(CredentialKind::ApiKey);
        },
    ),
    provider(
        "local-writes-no-secret",
        "API-key method storing no secret",
        |p| {
            p.method("api-key").stores = Some(CredentialKind::None);
        },
    ),
    provider(
        "local-writes-no-secret",
        "device-code method storing no secret",
        |p| {
            p.method("device-code").stores = Some(CredentialKind::None);
        },
    ),
    provider(
        "device-fixtures-present",
        "device-code method without a slow_down fixture",
        |p| {
            p.device_fixtures
                .retain(|f| f.case != DeviceCodeCase::SlowDown);
        },
    ),
    provider(
        "device-fixtures-present",
        "device fixture naming a method of another kind",
        |p| {
            let mut stray = p.device_fixtures[0].clone();
            stray.method_id = "api-key".into();
            p.device_fixtures.push(stray);
        },
    ),
    provider(
        "device-fixtures-present",
        "device fixtures without a device-code method",
        |p| {
            p.provider.methods.retain(|m| m.id != "device-code");
            p.manifest["auth_choices"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["method"] != "device-code");
            p.fixtures.retain(|f| f.method != "device-code");
        },
    ),
    provider(
        "device-fixtures-present",
        "slow_down fixture whose service never says slow_down",
        |p| {
            for f in &mut p.device_fixtures {
                if f.case == DeviceCodeCase::SlowDown {
                    let pending = r#"{"error":"authorization_pending"}"#;
                    f.replies = device_replies(&[pending, pending, TOKEN_ANSWER]);
                }
            }
        },
    ),
    provider(
        "device-fixtures-present",
        "pending fixture scripting fewer than three polls",
        |p| {
            p.device_fixtures[0].replies = device_replies(&[TOKEN_ANSWER]);
        },
    ),
    provider(
        "device-fixtures-present",
        "device fixture without a user code",
        |p| {
            p.device_fixtures[0].user_code = " ".into();
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in polling before it waits",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::PollsAtOnce);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in waiting less than the interval",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::WaitsTooLittle);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in ignoring slow_down",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::IgnoresSlowDown);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in not showing the user code",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::HidesUserCode);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in showing the device code",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::ShowsDeviceCode);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in naming the device code in its error",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::QuotesDeviceCode);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in failing on two lines",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::MultiLineError);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in giving up while the user has not confirmed",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::PendingIsDenied);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in taking authorization_pending for a token",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::PendingIsToken);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in taking slow_down for a token",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::SlowDownIsToken);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in that panics",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::PanicsOnSlowDown);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in that never returns",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::HangsOnSlowDown);
        },
    ),
    provider(
        "device-code-polling",
        "device-code sign-in polling for ever",
        |p| {
            p.method("device-code").input = Input::DeviceCode(DeviceFault::PollsForEver);
        },
    ),
    provider(
        "list-fixtures-present",
        "model lister without a fixture under which it lists",
        |p| {
            p.list_fixtures
                .retain(|f| !matches!(f.expect, ListExpectation::Lists { .. }));
        },
    ),
    provider(
        "list-fixtures-present",
        "list fixtures without a model lister",
        |p| {
            let fixtures = p.list_fixtures.clone();
            p.without_lister();
            p.list_fixtures = fixtures;
        },
    ),
    provider(
        "list-fixture-outcome",
        "lister reversing the service's order",
        |p| {
            p.lister().fault = ListerFault::ReversesOrder;
        },
    ),
    provider(
        "list-fixture-outcome",
        "lister marking no model free",
        |p| {
            p.lister().fault = ListerFault::IgnoresFree;
        },
    ),
    provider(
        "list-fixture-outcome",
        "lister naming the key in an error",
        |p| {
            p.lister().fault = ListerFault::QuotesKey;
        },
    ),
    provider("list-fixture-outcome", "lister that panics", |p| {
        p.lister().fault = ListerFault::PanicsOnFree;
    }),
    provider(
        "list-fixture-outcome",
        "list fixture expecting a failure of a listing",
        |p| {
            let mut wrong = p.list_fixtures[0].clone();
            wrong.expect = ListExpectation::Fails(ModelErrorKind::Service);
            p.list_fixtures.push(wrong);
        },
    ),
    provider(
        "list-key-rejected",
        "lister taking a 401 for the service failing",
        |p| {
            p.lister().fault = ListerFault::UnauthorizedIsService;
            p.without_list_fixtures_failing_as(ModelErrorKind::CredentialRejected);
        },
    ),
    provider(
        "list-key-rejected",
        "lister asking its service without its service's error answers",
        |p| {
            p.without_runner();
            p.provider.check = None;
            p.service_errors = None;
        },
    ),
    provider(
        "list-bad-shape",
        "lister taking an answer without a list for an empty list",
        |p| {
            p.lister().fault = ListerFault::LenientShape;
            p.without_list_fixtures_failing_as(ModelErrorKind::BadResponse);
        },
    ),
    provider(
        "list-bad-shape",
        "lister taking an answer that is not JSON for the service failing",
        |p| {
            p.lister().fault = ListerFault::NotJsonIsService;
        },
    ),
    provider(
        "check-key-rejected",
        "credential check passing a key the service rejects",
        |p| {
            p.check().fault = CheckFault::PassesEverything;
        },
    ),
    provider(
        "check-key-rejected",
        "credential check that never returns",
        |p| {
            p.check().fault = CheckFault::Hangs;
        },
    ),
    provider(
        "check-key-rejected",
        "credential check asking its service without its service's error answers",
        |p| {
            p.without_runner();
            p.without_lister();
            p.service_errors = None;
        },
    ),
    provider(
        "oauth-state-forged",
        "browser sign-in exchanging any pasted code",
        |p| {
            p.method("oauth").input = Input::PastedRedirect(StateCheck::Never);
        },
    ),
    provider(
        "oauth-state-forged",
        "browser sign-in checking the state only after the exchange",
        |p| {
            p.method("oauth").input = Input::PastedRedirect(StateCheck::AfterExchange);
        },
    ),
    provider(
        "refresh-fixtures-present",
        "refresher without a fixture that rotates the refresh token",
        |p| {
            p.refresh_fixtures.retain(|f| !f.name.contains("rotated"));
        },
    ),
    provider(
        "refresh-fixtures-present",
        "refresher without a fixture for a refused refresh token",
        |p| {
            p.refresh_fixtures
                .retain(|f| f.expect != RefreshExpectation::SignInRequired);
        },
    ),
    provider(
        "refresh-fixtures-present",
        "refresh fixture storing an API key",
        |p| {
            let mut stray = p.refresh_fixtures[0].clone();
            stray.name = "an API key".into();
            stray.credential = Credential::new(
                CredentialKind::ApiKey,
                "pbat-Old7Access3Token9Qx2".into(),
                Provenance::new(),
            );
            p.refresh_fixtures.push(stray);
        },
    ),
    provider(
        "refresh-fixtures-present",
        "refresh fixtures without a refresher",
        |p| {
            let fixtures = p.refresh_fixtures.clone();
            p.without_refresher();
            p.refresh_fixtures = fixtures;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "refresher keeping the stored refresh token when the service rotates it",
        |p| {
            p.refresher().fault = RefresherFault::KeepsOldRefreshToken;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "refresher taking invalid_grant for a passing failure",
        |p| {
            p.refresher().fault = RefresherFault::InvalidGrantIsService;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "refresher naming the refresh token in its error",
        |p| {
            p.refresher().fault = RefresherFault::QuotesRefreshToken;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "refresher that never returns",
        |p| {
            p.refresher().fault = RefresherFault::Hangs;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "refresh fixture expecting a refusal of a refresh",
        |p| {
            let mut wrong = p.refresh_fixtures[0].clone();
            wrong.expect = RefreshExpectation::SignInRequired;
            p.refresh_fixtures.push(wrong);
        },
    ),
    provider(
        "refresh-fixtures-present",
        "session refresher without a fixture for a refused token",
        |p| {
            p.with_session_refresher();
            p.refresh_fixtures
                .retain(|f| f.expect != RefreshExpectation::SignInRequired);
        },
    ),
    provider(
        "refresh-fixtures-present",
        "session refresher without a fixture renewing the session",
        |p| {
            p.with_session_refresher();
            p.refresh_fixtures
                .retain(|f| f.expect == RefreshExpectation::SignInRequired);
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "session refresher replacing the stored token",
        |p| {
            p.with_session_refresher();
            p.session_refresher().fault = SessionFault::ReplacesStoredToken;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "session refresher caching the wrong session token",
        |p| {
            p.with_session_refresher();
            p.session_refresher().fault = SessionFault::CachesStoredToken;
        },
    ),
    provider(
        "refresh-fixture-outcome",
        "session refresher whose session is due again at once",
        |p| {
            p.with_session_refresher();
            p.session_refresher().fault = SessionFault::ExpiresAtOnce;
        },
    ),
    provider(
        "refresh-profile-ownership",
        "refresher returning the default profile",
        |p| {
            p.refresher().fault = RefresherFault::WritesDefaultProfile;
        },
    ),
    provider(
        "refresh-profile-ownership",
        "refresher returning another provider's profile",
        |p| {
            p.refresher().fault = RefresherFault::WritesOtherProvider;
        },
    ),
];

#[tokio::test]
async fn a_provider_without_a_model_runner_passes() {
    let mut plain = good();
    plain.without_runner();
    let report = check_provider(&plain.subject()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn a_provider_without_a_refresher_passes() {
    let mut keys_only = good();
    keys_only.without_refresher();
    let report = check_provider(&keys_only.subject()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn the_harness_calls_a_runner_with_the_credential_its_provider_signs_in_with() {
    // A provider that refreshes: OAuth tokens, with a refresh token, an account and an expiry.
    let mut p = good();
    p.runner().fault = RunnerFault::OnlyTakes(CredentialKind::OAuth);
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");

    // Otherwise an API key.
    let mut p = good();
    p.without_refresher();
    p.runner().fault = RunnerFault::OnlyTakes(CredentialKind::ApiKey);
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");

    // A runner that takes only OAuth tokens fails every call with an API key.
    let mut p = good();
    p.without_refresher();
    p.runner().fault = RunnerFault::OnlyTakes(CredentialKind::OAuth);
    let report = check_provider(&p.subject()).await;
    assert!(
        report.failed_rules().contains("model-key-rejected"),
        "{report}"
    );
}

#[tokio::test]
async fn a_forged_redirect_is_reported_with_what_the_method_sent() {
    let mut p = good();
    p.method("oauth").input = Input::PastedRedirect(StateCheck::Never);
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains(&format!("signed in after sending POST {TOKEN_URL}")),
        "{shown}"
    );
    assert!(shown.contains("state=forged-state"), "{shown}");

    let mut p = good();
    p.method("oauth").input = Input::PastedRedirect(StateCheck::AfterExchange);
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains(&format!("failed, but only after sending POST {TOKEN_URL}")),
        "{shown}"
    );
}

#[tokio::test]
async fn refresh_failures_name_tokens_by_role_never_by_value() {
    let mut p = good();
    p.refresher().fault = RefresherFault::QuotesRefreshToken;
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains("the error's Display and Debug show the stored refresh token"),
        "{shown}"
    );
    assert!(!shown.contains("Stored4Refresh"), "{shown}");

    let mut p = good();
    p.refresher().fault = RefresherFault::KeepsOldRefreshToken;
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains("keeps the stored refresh token, but the service sent a new one"),
        "{shown}"
    );
    assert!(!shown.contains("Rotated5Refresh"), "{shown}");
}

#[tokio::test]
async fn the_harness_asks_for_the_model_the_provider_knows() {
    // The first model fixture's model.
    let mut p = good();
    for f in &mut p.model_fixtures {
        f.request = ModelRequest::new("fixture-model", PROMPT);
    }
    p.runner().fault = RunnerFault::OnlyKnows("fixture-model".into());
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");

    // Without model fixtures, the default model without its provider prefix.
    let mut p = good();
    p.model_fixtures.clear();
    p.runner().fault = RunnerFault::OnlyKnows("auto".into());
    let report = check_provider(&p.subject()).await;
    assert_eq!(
        report.failed_rules(),
        BTreeSet::from(["model-fixtures-present"]),
        "{report}"
    );
}

#[tokio::test]
async fn a_registration_brings_all_its_fixtures_and_service_errors() {
    let registration = ProviderRegistration {
        manifest: ManifestSource {
            path: "manifests/demo.json",
            json: Box::leak(good().manifest.to_string().into_boxed_str()),
        },
        provider: || Box::new(TestProvider::new(good().provider)),
        fixtures: || {
            good()
                .fixtures
                .into_iter()
                .map(FixtureSpec::build)
                .collect()
        },
        model_fixtures,
        service_errors: || Some(service_errors()),
        refresh_fixtures,
        list_fixtures,
        device_fixtures: || device_fixtures("device-code"),
    };
    let subject = Subject::from_registration(&registration);
    assert_eq!(subject.model_fixtures.len(), model_fixtures().len());
    assert!(subject.service_errors.is_some());
    assert_eq!(subject.refresh_fixtures.len(), refresh_fixtures().len());
    assert_eq!(subject.list_fixtures.len(), list_fixtures().len());
    assert_eq!(subject.device_fixtures.len(), DeviceCodeCase::ALL.len());
    let report = check_provider(&subject).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn a_provider_deriving_session_tokens_passes() {
    let mut p = good();
    p.with_session_refresher();
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn a_session_refresher_is_asked_for_a_renewal_not_for_refresh_tokens() {
    let mut p = good();
    p.with_session_refresher();
    p.refresh_fixtures.clear();
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(shown.contains("issues a new session token"), "{shown}");
    assert!(shown.contains("refuses the stored token"), "{shown}");
    assert!(!shown.contains("rotates the refresh token"), "{shown}");
}

#[tokio::test]
async fn a_lister_keeping_its_list_in_the_extension_passes() {
    let mut p = good();
    p.lister().fault = ListerFault::Fixed;
    p.list_fixtures = vec![ListFixture::new(
        "lists what the extension knows",
        vec![],
        ListExpectation::Lists {
            ids: vec!["auto".into(), "small:free".into()],
            free: vec!["small:free".into()],
        },
    )];
    let report = check_provider(&p.clone().subject()).await;
    assert!(report.is_ok(), "{report}");

    // It needs no service errors either, asking nothing.
    p.without_runner();
    p.provider.check = None;
    p.service_errors = None;
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn a_credential_check_judging_from_the_store_needs_no_service_errors() {
    let mut p = good();
    p.check().fault = CheckFault::JudgesFromStore;
    p.without_runner();
    p.without_lister();
    p.service_errors = None;
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");
}

/// The provider with only its local method: a local service like Ollama.
fn local_only() -> Parts {
    let mut p = good();
    p.without_refresher();
    p.provider.methods.retain(|m| m.id == "local");
    p.manifest["auth_choices"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["method"] == "local");
    p.fixtures.retain(|f| f.method == "local");
    p.device_fixtures.clear();
    p
}

#[tokio::test]
async fn a_provider_whose_every_method_is_local_is_called_without_a_secret() {
    let mut p = local_only();
    p.runner().fault = RunnerFault::OnlyTakes(CredentialKind::None);
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");

    // A runner that needs a key fails the calls a local provider's users would make.
    let mut p = local_only();
    p.runner().fault = RunnerFault::OnlyTakes(CredentialKind::ApiKey);
    let report = check_provider(&p.subject()).await;
    assert!(
        report.failed_rules().contains("model-key-rejected"),
        "{report}"
    );
}

#[tokio::test]
async fn device_code_failures_name_secrets_by_role_never_by_value() {
    for fault in [DeviceFault::ShowsDeviceCode, DeviceFault::QuotesDeviceCode] {
        let mut p = good();
        p.method("device-code").input = Input::DeviceCode(fault);
        let shown = check_provider(&p.subject()).await.to_string();
        assert!(shown.contains("the device code"), "{shown}");
        assert!(!shown.contains("Secret7Device"), "{shown}");
    }
}

#[tokio::test]
async fn a_device_code_sign_in_is_told_how_long_it_had_to_wait() {
    let mut p = good();
    p.method("device-code").input = Input::DeviceCode(DeviceFault::IgnoresSlowDown);
    let shown = check_provider(&p.subject()).await.to_string();
    assert!(
        shown.contains("poll 3 was sent after waiting 5 s")
            && shown.contains("must be at least 10 s"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_service_giving_the_longest_interval_does_not_crash_the_harness() {
    let mut p = good();
    for f in &mut p.device_fixtures {
        f.interval = Duration::from_secs(u64::MAX);
        let mut device: Value =
            serde_json::from_slice(&f.replies[0].as_ref().unwrap().body).unwrap();
        device["interval"] = u64::MAX.into();
        f.replies[0] = Ok(HttpResponse::new(200, device.to_string()));
    }
    // The method waits as long as asked (its waits saturate), slow_down included.
    let report = check_provider(&p.subject()).await;
    assert!(report.is_ok(), "{report}");
}

/// The report on `good()` broken by `break_it`, checked on a runtime of its own thread with
/// paused time, or `None` if the harness did not finish within a minute of real time: a harness
/// that never hands its thread back fails the test instead of hanging it.
fn report_apart(break_it: fn(&mut Parts)) -> Option<Report> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let report = runtime.block_on(async {
            let mut p = good();
            break_it(&mut p);
            let subject = p.subject();
            // A task that keeps handing the thread back keeps paused time from moving on its
            // own: move it here.
            let time = async {
                loop {
                    tokio::time::advance(Duration::from_secs(1)).await;
                }
            };
            tokio::select! {
                report = check_provider(&subject) => report,
                _ = time => unreachable!(),
            }
        });
        sender.send(report).unwrap();
    });
    receiver.recv_timeout(Duration::from_secs(60)).ok()
}

/// Asserts that `report` fails `rule` alone, on the harness's time limit.
fn fails_on_the_time_limit(report: &Report, rule: &str) {
    assert_eq!(report.failed_rules(), BTreeSet::from([rule]), "{report}");
    assert!(
        report.to_string().contains("did not finish within 30 s"),
        "{report}"
    );
}

/// The harness's refresh clock passes every wait at once, yet a refresher retrying for ever
/// on it must still meet the time limit: each wait hands the thread back to the runtime.
#[test]
fn a_refresher_retrying_for_ever_on_the_harness_clock_fails_on_the_time_limit() {
    let report = report_apart(|p| p.refresher().fault = RefresherFault::RetriesForEver)
        .expect("the harness never ended a refresher retrying on its clock");
    fails_on_the_time_limit(&report, "refresh-fixture-outcome");
}

/// The harness answers a model runner from a script, at once; a runner resending for ever
/// without waiting must still meet the time limit: each scripted answer hands the thread back.
#[test]
fn a_runner_resending_for_ever_to_the_scripted_service_fails_on_the_time_limit() {
    let report = report_apart(|p| {
        let prompt = p.model_fixtures[0].request.prompt.clone();
        p.runner().fault = RunnerFault::ResendsForEverOn(prompt);
    })
    .expect("the harness never ended a runner resending to its scripted service");
    fails_on_the_time_limit(&report, "model-fixture-outcome");
}

async fn run(case: &Case) -> Report {
    match case.breaks {
        Breaks::Provider(b) => {
            let mut p = good();
            b(&mut p);
            check_provider(&p.subject()).await
        }
        Breaks::Registry(b) => {
            let (mut a, mut o) = (good(), other());
            b(&mut a, &mut o);
            check_registry(&[a.subject(), o.subject()]).await
        }
    }
}

// Paused time: the hanging method's 30 s limit passes as soon as the runtime is idle.
#[tokio::test(start_paused = true)]
async fn each_broken_provider_fails_exactly_its_rule() {
    for case in CASES {
        let report = run(case).await;
        assert_eq!(
            report.failed_rules(),
            BTreeSet::from([case.rule]),
            "{}:\n{report}",
            case.broken
        );
        for failure in report.failures() {
            assert!(
                !failure.message.trim().is_empty(),
                "{}: {failure}",
                case.broken
            );
            assert!(!failure.subject.is_empty(), "{}: {failure}", case.broken);
        }
    }
}

#[test]
fn every_rule_has_a_broken_provider_case() {
    let covered: BTreeSet<&str> = CASES.iter().map(|c| c.rule).collect();
    for rule in RULES {
        assert!(
            covered.contains(rule.id),
            "rule {} has no broken-provider case in CASES: add one",
            rule.id
        );
    }
    let known: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    for case in CASES {
        assert!(
            known.contains(case.rule),
            "{}: unknown rule {}",
            case.broken,
            case.rule
        );
    }
}
