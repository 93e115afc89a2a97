//! Providers written for these tests: an Acme provider with the core's API-key method and
//! methods that show what their context holds, a provider whose code panics, and OpenRouter's
//! real provider, served by the SDK as an out-of-process plugin would serve it.

use plugboard_core::{
    ApiKeyMethod, AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential,
    CredentialKind, EnvVar, ModelContext, ModelError, ModelReply, ModelRequest, ModelRunner,
    Provenance, Provider, async_trait,
};
use plugboard_openrouter::OpenRouterProvider;
use plugboard_plugin::Plugin;
use plugboard_protocol::{Fixtures, ListExpectation, ListFixture};

/// The test plugin's id.
pub const PLUGIN: &str = "test-plugin";
/// The provider with ordinary methods.
pub const ACME: &str = "acme";
/// The provider whose code panics.
pub const BOOM: &str = "boom";

/// A plugin serving Acme, Boom and OpenRouter, declaring one (list) fixture.
pub fn plugin() -> Plugin {
    Plugin::new(PLUGIN, "1.2.3")
        .provider(Box::new(Acme::new()))
        .provider(Box::new(Boom::new()))
        .provider(Box::new(OpenRouterProvider::new()))
        .fixtures(fixtures())
}

/// What the test plugin declares.
pub fn fixtures() -> Fixtures {
    Fixtures {
        list: vec![ListFixture {
            name: "a listing".into(),
            provider: ACME.into(),
            replies: Vec::new(),
            expect: ListExpectation::Fails(plugboard_protocol::ErrorKind::Network),
        }],
        ..Fixtures::default()
    }
}

/// Acme: the core's API-key method, and methods that show their context or use the browser.
pub struct Acme {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl Acme {
    fn new() -> Self {
        Self {
            methods: vec![
                Box::new(ApiKeyMethod::new(ACME, "Acme API key", "Acme API key")),
                Box::new(ShowContext),
                Box::new(Browser),
            ],
        }
    }
}

const ACME_ENV: &[EnvVar] = &[EnvVar::setting("ACME_BASE_URL")];

impl Provider for Acme {
    fn id(&self) -> &str {
        ACME
    }
    fn label(&self) -> &str {
        "Acme"
    }
    fn docs_path(&self) -> &str {
        "/providers/acme"
    }
    fn env_vars(&self) -> &[EnvVar] {
        ACME_ENV
    }
    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }
}

/// A token whose note lists what the method's context held, one fact per note.
struct ShowContext;

#[async_trait]
impl AuthMethod for ShowContext {
    fn id(&self) -> &str {
        "show-context"
    }
    fn label(&self) -> &str {
        "Show the context"
    }
    fn kind(&self) -> AuthKind {
        AuthKind::Token
    }
    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let profile = ctx
            .target_profile(ACME)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let mut random = [0u8; 16];
        ctx.random.fill(&mut random);
        let credential = Credential::new(
            CredentialKind::Token,
            "tok-context".to_owned().into(),
            Provenance::new(),
        );
        let settings = ctx.host.provider_config(ACME).cloned().unwrap_or_default();
        Ok(AuthResult::profile(profile, credential)
            .with_note(format!("settings {settings}"))
            .with_note(format!(
                "base url {}",
                ctx.host.env_var("ACME_BASE_URL").unwrap_or("none")
            ))
            .with_note(format!("interactive {}", ctx.session.interactive))
            .with_note(format!("no browser {}", ctx.options.no_browser))
            .with_note(format!("timeout {}", ctx.options.timeout.as_secs()))
            .with_note(format!("random {}", random != [0u8; 16])))
    }
}

/// Opens a page through the host, tells the user about it, and asks to pick a plan.
struct Browser;

#[async_trait]
impl AuthMethod for Browser {
    fn id(&self) -> &str {
        "browser"
    }
    fn label(&self) -> &str {
        "Browser"
    }
    fn kind(&self) -> AuthKind {
        AuthKind::OAuth
    }
    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        ctx.prompter.note("opening the consent page");
        let mut progress = ctx.prompter.progress("waiting for the browser");
        ctx.url_opener
            .open("https://acme.test/consent")
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        progress.set_message("waiting for the browser");
        progress.finish("consent given");
        let plans = ["free".to_owned(), "pro".to_owned()];
        let plan = ctx.prompter.select("Plan", &plans).await?;
        let name = ctx.prompter.text("Your name").await?;
        let profile = ctx
            .target_profile(ACME)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let credential = Credential::new(
            CredentialKind::Token,
            format!("tok-{}-{name}", plans[plan]).into(),
            Provenance::new(),
        );
        Ok(AuthResult::profile(profile, credential))
    }
}

/// A provider whose sign-in and model runner panic.
pub struct Boom {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl Boom {
    fn new() -> Self {
        Self {
            methods: vec![Box::new(Panics)],
        }
    }
}

impl Provider for Boom {
    fn id(&self) -> &str {
        BOOM
    }
    fn label(&self) -> &str {
        "Boom"
    }
    fn docs_path(&self) -> &str {
        "/providers/boom"
    }
    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }
    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&Panics)
    }
}

struct Panics;

#[async_trait]
impl AuthMethod for Panics {
    fn id(&self) -> &str {
        "api-key"
    }
    fn label(&self) -> &str {
        "Panics"
    }
    fn kind(&self) -> AuthKind {
        AuthKind::ApiKey
    }
    async fn run(&self, _ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        panic!("a bug in the sign-in")
    }
}

#[async_trait]
impl ModelRunner for Panics {
    async fn run(
        &self,
        _ctx: &ModelContext,
        _request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        panic!("a bug in the runner")
    }
}
