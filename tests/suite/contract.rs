//! The contract over every provider registered in the shipped binary.

use plugboard_core::Registry;

#[tokio::test]
async fn every_linked_provider_passes_the_contract() {
    let report = plugboard_contract::check_linked().await;
    assert!(report.is_ok(), "{report}");
}

#[test]
fn the_shipped_registry_loads_and_holds_openrouter() {
    let registry = Registry::load().unwrap();
    assert!(
        registry.provider_ids().contains(&"openrouter"),
        "{registry:?}"
    );
    let menu = registry.menu(|_| false);
    assert!(menu.choice("openrouter-api-key").is_some());
}
