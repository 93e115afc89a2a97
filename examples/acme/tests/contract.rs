//! Acme held to the provider contract, through the registration the host links.

use plugboard_contract::{Subject, check_provider};
use plugboard_core::registrations;

#[tokio::test]
async fn acme_passes_the_contract() {
    let registration = registrations()
        .into_iter()
        .find(|r| r.manifest.path == plugboard_acme::MANIFEST.path)
        .expect("plugboard-acme registers its provider");
    let report = check_provider(&Subject::from_registration(registration)).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn acme_with_its_checked_key_method_passes_the_contract() {
    use plugboard_acme::{
        AcmeProvider, MANIFEST, checked_key_fixtures, model_fixtures, service_errors,
    };

    let provider = Box::new(AcmeProvider::checking_keys());
    let subject = Subject::new(MANIFEST.into(), provider, checked_key_fixtures())
        .with_model_fixtures(model_fixtures())
        .with_service_errors(service_errors());
    let report = check_provider(&subject).await;
    assert!(report.is_ok(), "{report}");
}
