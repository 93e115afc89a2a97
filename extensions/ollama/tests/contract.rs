//! Ollama held to the provider contract, through the registration the host links; and its
//! sign-in, runner, lister and check against the Ollama double over real HTTP (`double`).

mod double;

use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;
use plugboard_ollama::MANIFEST;

#[tokio::test]
async fn ollama_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == MANIFEST.path)
        .expect("plugboard-ollama registers a provider with manifests/ollama.json");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}
