//! A plugin whose provider signs in with a browser gets a refresher: the stored credential of
//! the profile being renewed goes to the plugin, and what comes back must be that profile.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plugboard_core::{
    Credential, ErrorChain, FixedClock, HostServices, OAuthTokens, ProfileId, Provenance,
    RefreshContext, RefreshError,
};

use crate::support::{ID, TestPlugin, ended, options};

fn stored(refresh_token: &str) -> Credential {
    let mut tokens = OAuthTokens::new("at-stored".to_owned().into());
    tokens.refresh_token = Some(refresh_token.to_owned().into());
    tokens.expires_at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    Credential::oauth(tokens, Provenance::new())
}

fn context(refresh_token: &str) -> RefreshContext {
    RefreshContext::new(
        ProfileId::new(ID, "work").expect("a valid profile id"),
        stored(refresh_token),
        HostServices::default(),
        Arc::new(FixedClock::default()),
    )
}

#[tokio::test]
async fn a_refresh_renews_the_profile_it_was_given_and_a_refused_one_needs_a_sign_in() {
    let plugin = TestPlugin::oauth("good");
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let refresher = providers[0]
        .refresher()
        .expect("a browser sign-in can refresh");
    assert!(refresher.can_refresh(&stored("rt-1")));
    assert!(!providers[0].auth_methods().is_empty());
    assert!(providers[0].auth_method("browser").unwrap().needs_browser());

    let renewed = refresher.refresh(&context("rt-1")).await.expect("renewed");
    assert_eq!(renewed.profile_id.to_string(), "test-exec:work");
    assert_eq!(renewed.credential.expose_secret(), "at-renewed");
    assert_eq!(renewed.credential.refresh_token(), Some("rt-1"));

    let refused = refresher
        .refresh(&context("rt-revoked"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&refused, RefreshError::SignInRequired { service, detail } if service == "Test Exec" && detail == "invalid_grant"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_refresh_returning_another_profile_fails_naming_both_and_stops_the_plugin() {
    let plugin = TestPlugin::oauth("foreign");
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let error = providers[0]
        .refresher()
        .expect("a refresher")
        .refresh(&context("rt-1"))
        .await
        .expect_err("another profile");
    assert_eq!(
        ErrorChain(&error).to_string(),
        "plugin test-exec: refreshed profile test-exec:other instead of test-exec:work"
    );
    assert!(!matches!(error, RefreshError::SignInRequired { .. }));
    let pid = plugin.pid().expect("started");
    assert!(ended(pid).await);
}

#[test]
fn a_provider_signed_in_with_a_key_has_nothing_to_refresh() {
    let plugin = TestPlugin::new("good");
    let (options, _) = options(false);
    assert!(plugin.providers(&options)[0].refresher().is_none());
}

#[tokio::test]
async fn refresh_fixtures_declared_over_the_protocol_hold_the_plugin_to_the_refresh_rules() {
    let plugin = TestPlugin::oauth("refresh-fixtures");
    let options = plugboard_exec::ExecOptions::for_check(false, Arc::new(|_: &str| {}));
    let subjects = plugboard_exec::subjects(plugin.dir(), &plugin.path(), plugin.json(), &options)
        .await
        .expect("the plugin lists its fixtures");
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].refresh_fixtures.len(), 3);
    let report = plugboard_contract::check_provider(&subjects[0]).await;
    let refresh_rules: Vec<_> = report
        .failed_rules()
        .into_iter()
        .filter(|rule| rule.starts_with("refresh-"))
        .collect();
    assert!(refresh_rules.is_empty(), "{report}");
    assert!(
        !report.failed_rules().contains("refresh-fixtures-present"),
        "{report}"
    );
}
