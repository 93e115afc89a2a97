//! GitHub Copilot held to the provider contract, through the registration the host links; and
//! the whole flow against the GitHub double over real HTTP (`double`).

mod double;

use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;
use plugboard_github_copilot::MANIFEST;

#[tokio::test]
async fn github_copilot_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == MANIFEST.path)
        .expect("plugboard-github-copilot registers a provider with manifests/github-copilot.json");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}
