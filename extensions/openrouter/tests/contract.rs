//! OpenRouter held to the provider contract, through the registration the host links; and its
//! model list and key check against the OpenRouter double over real HTTP (`double`).

mod double;

use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;
use plugboard_openrouter::MANIFEST;

#[tokio::test]
async fn openrouter_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == MANIFEST.path)
        .expect("plugboard-openrouter registers a provider with manifests/openrouter.json");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}
