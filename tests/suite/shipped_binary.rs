//! The release binary carries no test code: none of the text of the fixtures the linked
//! providers register (their names, pasted keys, redirects, environment values, scripted
//! replies, device codes, session tokens) is in it.
//!
//! `.ci/run` builds it with `cargo build --release --workspace --locked` before the tests, the
//! same build as the README's `cargo run --release`, with every workspace member's normal
//! dependency features unified, so a normal dependency that enabled `contract-fixtures`
//! anywhere would show here.

use std::path::PathBuf;

use plugboard_core::{
    HttpError, HttpResponse, ModelExpectation, RefreshExpectation, registrations,
};

/// Texts shorter than this ("ok", "{}", "<html>") occur by chance in any binary of this size.
const MIN_TEXT_LEN: usize = 8;

/// Every distinctive piece of text the linked providers' fixtures carry, read from the
/// fixtures themselves; this build links them with their `contract-fixtures` feature.
fn fixture_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for registration in registrations() {
        let fixtures = (registration.fixtures)();
        assert!(
            !fixtures.is_empty(),
            "{} registers no sign-in fixtures here: enable its contract-fixtures feature in tests/Cargo.toml",
            registration.manifest.path
        );
        texts.extend(fixtures.iter().flat_map(|f| f.texts()));
        // A model fixture's request (a model id, a prompt) is what any user may type, and the
        // binary's own help shows such prompts; its name and scripted replies are its own.
        for model in (registration.model_fixtures)() {
            texts.push(model.name.clone());
            texts.extend(
                model
                    .replies
                    .iter()
                    .filter_map(|r| r.as_ref().ok())
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned()),
            );
            if let ModelExpectation::Replies(text) = &model.expect {
                texts.push(text.clone());
            }
        }
        // Refresh fixtures: their names, stored tokens, scripted answers and expected tokens.
        for refresh in (registration.refresh_fixtures)() {
            texts.push(refresh.name.clone());
            texts.push(refresh.credential.expose_secret().to_owned());
            texts.extend(refresh.credential.refresh_token().map(str::to_owned));
            texts.extend(
                refresh
                    .replies
                    .iter()
                    .filter_map(|r| r.as_ref().ok())
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned()),
            );
            texts.extend(refresh.credential.session_token().map(str::to_owned));
            match &refresh.expect {
                RefreshExpectation::Refreshed {
                    access_token,
                    refresh_token,
                } => texts.extend([access_token.clone(), refresh_token.clone()]),
                RefreshExpectation::SessionRenewed { session_token } => {
                    texts.push(session_token.clone());
                }
                _ => {}
            }
        }
        // List fixtures: their names and scripted answers. The ids they expect are model ids a
        // user may type, and a provider without a list endpoint ships its list on purpose.
        for list in (registration.list_fixtures)() {
            texts.push(list.name.clone());
            texts.extend(replies(&list.replies));
        }
        // Device-code fixtures: their names, user codes and scripted answers (device codes,
        // tokens).
        for device in (registration.device_fixtures)() {
            texts.extend([device.name.clone(), device.user_code.clone()]);
            texts.extend(replies(&device.replies));
        }
        // The service's answers the universal probes use.
        if let Some(errors) = (registration.service_errors)() {
            let bodies = std::iter::once(&errors.rejected).chain(errors.expired.as_ref());
            texts.extend(bodies.map(|r| String::from_utf8_lossy(&r.body).into_owned()));
        }
    }
    texts.retain(|t| t.len() >= MIN_TEXT_LEN);
    texts.sort();
    texts.dedup();
    texts
}

/// The bodies of scripted answers, as text.
fn replies(replies: &[Result<HttpResponse, HttpError>]) -> impl Iterator<Item = String> + '_ {
    replies
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
}

/// `target/release/plugboard` of the target directory this test was built in.
fn release_binary() -> Option<PathBuf> {
    // This test runs as target/<profile>/deps/suite-<hash>.
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    Some(
        target
            .join("release")
            .join(format!("plugboard{}", std::env::consts::EXE_SUFFIX)),
    )
}

#[test]
fn the_fixtures_carry_the_text_the_binary_is_searched_for() {
    let texts = fixture_texts();
    for expected in ["pasted key is stored", "user_fixture", "sk-or-v1-0000"] {
        assert!(
            texts.iter().any(|t| t.contains(expected)),
            "no fixture text contains {expected:?}: {texts:?}"
        );
    }
    // Every kind of fixture is read: a device code's answers and a list's are among them.
    for expected in ["authorization_pending", "device_code"] {
        assert!(
            texts.iter().any(|t| t.contains(expected)),
            "no fixture text contains {expected:?}: {texts:?}"
        );
    }
}

#[test]
fn the_release_binary_holds_no_fixture_text() {
    let Some(path) = release_binary().filter(|p| p.is_file()) else {
        let wanted = release_binary().unwrap_or_default();
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: CI builds it with `cargo build --release --workspace --locked` before the tests",
            wanted.display()
        );
        eprintln!(
            "skipped: {} is missing (build it with `cargo build --release --workspace --locked`)",
            wanted.display()
        );
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    // Lossy decoding replaces only invalid sequences and never swallows an ASCII byte, so a
    // text is in the decoded binary exactly when its bytes are in the file.
    let binary = String::from_utf8_lossy(&bytes);
    let texts = fixture_texts();
    let shipped: Vec<&String> = texts.iter().filter(|t| binary.contains(*t)).collect();
    assert!(
        shipped.is_empty(),
        "{} holds fixture text {shipped:?}: a normal dependency enables a contract-fixtures feature",
        path.display()
    );
}
