//! Anthropic held to the provider contract, through the registration the host links; and its
//! model runner against the Anthropic double over real HTTP (`double`).

mod double;

use plugboard_anthropic::MANIFEST;
use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;

#[tokio::test]
async fn anthropic_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == MANIFEST.path)
        .expect("plugboard-anthropic registers a provider with manifests/anthropic.json");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}
