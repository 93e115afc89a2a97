//! OpenAI Codex held to the provider contract, through the registration the host links.

use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;
use plugboard_openai_codex::MANIFEST;

#[tokio::test]
async fn openai_codex_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == MANIFEST.path)
        .expect("plugboard-openai-codex registers a provider with manifests/openai-codex.json");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}
