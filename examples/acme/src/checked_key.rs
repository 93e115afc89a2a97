//! A sign-in method of its own: Acme's key method, but Acme is asked whether it accepts the
//! key before it is stored.

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, CredentialKind,
    HttpRequest, Provenance, async_trait, validate_api_key,
};
use secrecy::ExposeSecret;

use crate::AcmeProvider;

/// Acme's key method, but Acme is asked whether it accepts the key before it is stored, so a
/// mistyped key fails at sign-in rather than at the first model call.
pub struct CheckedApiKey;

#[async_trait]
impl AuthMethod for CheckedApiKey {
    fn id(&self) -> &str {
        "api-key"
    }

    fn label(&self) -> &str {
        "Acme API key"
    }

    fn hint(&self) -> Option<&str> {
        Some("Paste a key from console.acme.example")
    }

    fn kind(&self) -> AuthKind {
        AuthKind::ApiKey
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let profile_id = ctx
            .target_profile("acme")
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let pasted = ctx.prompter.secret("Acme API key").await?;
        let key = validate_api_key(pasted.expose_secret())?;

        let check = HttpRequest::get("https://api.acme.example/v1/me")
            .with_header("authorization", format!("Bearer {key}"));
        let response = ctx
            .host
            .http_client
            .send(check)
            .await
            .map_err(|e| AuthError::Service(format!("cannot check the key with Acme: {e}")))?;
        match response.status {
            200..=299 => {}
            401 | 403 => {
                return Err(AuthError::InvalidInput(
                    "Acme does not accept this key: paste a key from console.acme.example".into(),
                ));
            }
            status => {
                return Err(AuthError::Service(format!(
                    "Acme answered HTTP {status} when checking the key: try again in a minute"
                )));
            }
        }

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), "api-key".into());
        provenance.insert("method".into(), self.id().into());
        let credential = Credential::new(CredentialKind::ApiKey, key.into(), provenance);
        Ok(AuthResult::profile(profile_id, credential))
    }
}

impl AcmeProvider {
    /// The same provider signing in with [`CheckedApiKey`] instead of pasting a key unchecked.
    pub fn checking_keys() -> Self {
        Self {
            methods: vec![Box::new(CheckedApiKey)],
        }
    }
}

/// Its fixtures: Acme's answer to the check is scripted.
#[cfg(feature = "contract-fixtures")]
pub fn checked_key_fixtures() -> Vec<Box<dyn plugboard_core::ContractFixture>> {
    use plugboard_core::{Answer, ContractFixture, HttpResponse, ScriptedFixture};

    let pasted = || vec![Answer::Secret("acme-0123456789abcdef0123".to_owned())];
    let acme_says = |status: u16| vec![Ok(HttpResponse::new(status, "{}"))];
    let fixtures = [
        ScriptedFixture::succeeds("an accepted key is stored", "acme", "api-key", pasted())
            .with_http(acme_says(200)),
        ScriptedFixture::fails("a refused key writes nothing", "acme", "api-key", pasted())
            .with_http(acme_says(401)),
        ScriptedFixture::fails("no answer writes nothing", "acme", "api-key", pasted()),
    ];
    fixtures
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .collect()
}
