//! `plugboard models auth login`: pick a provider and method (from flags, or the menu on a
//! terminal), run the method, and write what it returns in one transaction.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMenu, AuthMethod, AuthResult, CredentialKind,
    HttpSettings, MenuChoice, ModelRef, ProfileWrite, Prompter, Provenance, Provider, Session,
    sanitize_line,
};
use plugboard_oauth::{CallbackError, OAuthError};
use plugboard_store::{CredentialStore, ReplacedProfile, apply_merge_patch};

use crate::app::{App, DEFAULT_MODEL_KEY};
use crate::browser::{SystemBrowser, remote_session};
use crate::cli::LoginArgs;
use crate::commands::choices;
use crate::commands::set::set_default_model;
use crate::credentials::profile_for;
use crate::echo;
use crate::error::{advised, usage};
use crate::host::host_services;
use crate::output::{note, print};
use crate::system::{OsRandom, SystemClock};
use crate::terminal::TerminalPrompter;

/// How long a sign-in waits for another process's write lock on the store: writes are tiny,
/// so only a stuck process holds it this long.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long the write of a key a service has just issued waits for the lock. That key is live
/// and lost if not stored, so this outlasts anything but a process that will never finish.
const LOCK_WAIT_AFTER_ISSUE: Duration = Duration::from_secs(60);

pub(crate) async fn run(app: &App, args: &LoginArgs) -> anyhow::Result<()> {
    let menu = choices::menu(app)?;
    let prompter = TerminalPrompter::new(app.terminal);
    let (provider_id, method_id) = pick(app, &menu, args, prompter.as_ref()).await?;
    let provider = app.provider(&provider_id)?;
    let method = provider
        .auth_method(&method_id)
        .ok_or_else(|| anyhow!("provider {provider_id} lost its method {method_id}"))?;

    let profile = profile_for(args.profile.as_deref(), provider.id())?;
    if method.needs_tty() && !app.terminal.interactive {
        return usage(format!(
            "signing in to {} with {} needs an interactive terminal: run it in a terminal, or pick another method",
            provider.label(),
            method.id()
        ));
    }

    let mut ctx = context(app, provider, prompter)?;
    ctx.options.profile = profile;
    ctx.options.no_browser = args.no_browser;
    ctx.options.callback_port = args.port;
    ctx.options.timeout = Duration::from_secs(args.timeout);

    // A store another process holds fails the sign-in here, before a service issues a key
    // that could then not be stored. A missing store has no lock to take; it is created below.
    if let Some(store) = app.existing_store()? {
        store
            .check_writable(LOCK_WAIT, || waiting_note(LOCK_WAIT))
            .with_context(|| {
                format!(
                    "cannot sign in to {} now, nothing was sent",
                    provider.label()
                )
            })?;
    }
    let result = match method.run(&mut ctx).await {
        Ok(result) => result,
        Err(e) => {
            let advice = advice(&e);
            let error = anyhow::Error::new(e).context(format!(
                "{} sign-in with {} failed, nothing was stored",
                provider.label(),
                method.id()
            ));
            return Err(advised(error, advice));
        }
    };

    check_result(provider, &result)?;

    let lock_wait = if result.issued_remotely {
        LOCK_WAIT_AFTER_ISSUE
    } else {
        LOCK_WAIT
    };
    let (store, replaced) = write_result(
        app.store().map_err(Into::into),
        provider.label(),
        &result,
        lock_wait,
    )?;
    for old in &replaced {
        note(&replaced_line(old));
    }
    for p in &result.profiles {
        print(&stored_line(provider.label(), p, store.path()))?;
    }

    let default_model = result.default_model.as_ref().filter(|_| args.set_default);
    if result.config_patch.is_some() || default_model.is_some() {
        app.config().update(|config| {
            if let Some(patch) = &result.config_patch {
                apply_merge_patch(config, patch);
            }
            if let Some(model) = default_model {
                set_default_model(config, model);
            }
        })?;
    }
    match (&result.default_model, args.set_default) {
        (Some(model), true) => print(&format!("default model set to {model}"))?,
        (Some(model), false) if !is_default_model(&ctx.host.config, model) => note(&format!(
            "{model} is available as the default model: pass --set-default, or run `plugboard models set {model}`"
        )),
        _ => {}
    }
    for line in &result.notes {
        note(line);
    }
    if let Some(other) = api_key_alternative(provider, method) {
        note(&format!(
            "to use a key you manage instead: plugboard models auth login --provider {} --method {}",
            provider.id(),
            other.id()
        ));
    }
    for name in provider.credential_env_vars() {
        if std::env::var(name).is_ok_and(|v| !v.trim().is_empty()) {
            note(&format!(
                "{name} is set, so it is used instead of the stored key until you unset it"
            ));
        }
    }
    Ok(())
}

/// What this command's options can do about a failed sign-in. The OAuth crate's errors carry
/// the data (which port, how long it waited); the flags that help are this command's.
fn advice(error: &AuthError) -> Option<String> {
    let AuthError::Other(inner) = error else {
        return None;
    };
    let advice = match inner.downcast_ref::<OAuthError>()? {
        OAuthError::TimedOut { .. } => "run the command again (--timeout SECS waits longer)",
        OAuthError::Callback(CallbackError::PortInUse { .. }) => {
            "stop what holds it, or pick another with --port"
        }
        OAuthError::Callback(CallbackError::NoFreePort) => "pick one with --port",
        OAuthError::Callback(CallbackError::Bind { .. }) => "pick another port with --port",
        _ => return None,
    };
    Some(advice.to_owned())
}

/// What a sign-in stored, for stdout: `signed in to OpenRouter: stored openrouter:default
/// (sk-or-v1-...c0de) in /home/me/.local/share/plugboard/credentials.sqlite`. A profile without
/// a secret (a local service that needs none) says so instead of showing a redaction of nothing.
fn stored_line(label: &str, written: &ProfileWrite, store: &Path) -> String {
    let secret = if written.credential.has_secret() {
        written.credential.redacted()
    } else {
        String::from("no secret needed")
    };
    format!(
        "signed in to {label}: stored {} ({secret}) in {}",
        written.profile_id,
        store.display()
    )
}

/// After a browser sign-in, the provider's API-key method, if it has one: a browser sign-in
/// issues a key the user did not choose, and some would rather paste their own.
fn api_key_alternative<'p>(
    provider: &'p dyn Provider,
    used: &dyn AuthMethod,
) -> Option<&'p dyn AuthMethod> {
    if used.kind() != AuthKind::OAuth {
        return None;
    }
    provider
        .auth_methods()
        .iter()
        .map(AsRef::as_ref)
        .find(|m| m.kind() == AuthKind::ApiKey)
}

/// Writes the result's profiles in one transaction into the store `opened` (which may have
/// failed to open). A failure after the service issued a key says that the key is live and
/// where to revoke it, whatever went wrong.
fn write_result(
    opened: anyhow::Result<CredentialStore>,
    label: &str,
    result: &AuthResult,
    lock_wait: Duration,
) -> anyhow::Result<(CredentialStore, Vec<ReplacedProfile>)> {
    let written = opened.and_then(|mut store| {
        let replaced = store.write_profiles_waiting(
            result
                .profiles
                .iter()
                .map(|p| (&p.profile_id, &p.credential)),
            SystemTime::now(),
            lock_wait,
            || waiting_note(lock_wait),
        )?;
        Ok((store, replaced))
    });
    match written {
        Err(e) if result.issued_remotely => Err(e.context(unstored_issue(label, result))),
        other => other,
    }
}

fn waiting_note(wait: Duration) {
    note(&format!(
        "waiting up to {} s for another plugboard process to release the credential store...",
        wait.as_secs()
    ));
}

/// What to tell the user when a key the service issued could not be stored: it is live, and
/// where to revoke it.
fn unstored_issue(label: &str, result: &AuthResult) -> String {
    let keys = result
        .profiles
        .iter()
        .map(|p| p.credential.redacted())
        .collect::<Vec<_>>()
        .join(", ");
    let revoke = match &result.revoke_url {
        Some(url) => format!("revoke it at {url}"),
        None => format!("revoke it in your {label} account"),
    };
    format!(
        "{label} issued a key ({keys}) that could not be stored, so it is live but unused: {revoke}, then sign in again"
    )
}

/// One line saying what a sign-in overwrote: "replaced the API key stored on 2026-11-30
/// (pasted) in openrouter:default".
fn replaced_line(old: &ReplacedProfile) -> String {
    let what = match old.kind {
        Some(CredentialKind::ApiKey) => "the API key",
        Some(CredentialKind::Token) => "the token",
        Some(CredentialKind::OAuth) => "the OAuth token",
        Some(CredentialKind::None) => "the profile without a secret",
        Some(_) => "the credential",
        None => "the unreadable credential",
    };
    let when = old
        .updated_at
        .and_then(|t| {
            humantime::format_rfc3339_seconds(t)
                .to_string()
                .get(..10)
                .map(|date| format!(" stored on {date}"))
        })
        .unwrap_or_default();
    let origin = old
        .provenance
        .as_ref()
        .and_then(origin)
        .map(|o| format!(" ({o})"))
        .unwrap_or_default();
    format!("replaced {what}{when}{origin} in {}", old.profile_id)
}

/// How a stored credential came to be, in a word, from its provenance.
fn origin(provenance: &Provenance) -> Option<String> {
    let word = |key: &str| provenance.get(key).and_then(serde_json::Value::as_str);
    match (word("auth_flow"), word("source")) {
        (Some("api-key"), _) => Some("pasted".to_owned()),
        (Some(flow), _) if flow.starts_with("oauth") => Some("oauth".to_owned()),
        (Some(other), _) | (None, Some(other)) => {
            Some(sanitize_line(other, 40)).filter(|w| !w.is_empty())
        }
        (None, None) => None,
    }
}

/// What a method returned must be safe to write as a whole, checked before anything is
/// written: the host, not each provider, keeps "a sign-in writes only its own profiles".
fn check_result(provider: &dyn Provider, result: &AuthResult) -> anyhow::Result<()> {
    let label = provider.label();
    if result.profiles.is_empty() {
        return Err(anyhow!(
            "{label} sign-in returned no credential, nothing was stored"
        ));
    }
    if let Some(stray) = result
        .profiles
        .iter()
        .find(|p| p.profile_id.provider() != provider.id())
    {
        return Err(anyhow!(
            "{label} sign-in tried to write profile {} of another provider, nothing was stored",
            stray.profile_id
        ));
    }
    // A patch that is not an object would replace the whole config, which the config file
    // then refuses to save: after the key was stored.
    if result.config_patch.as_ref().is_some_and(|p| !p.is_object()) {
        return Err(anyhow!(
            "{label} sign-in returned a config patch that is not a JSON object, nothing was stored"
        ));
    }
    Ok(())
}

fn is_default_model(config: &serde_json::Value, model: &ModelRef) -> bool {
    config.get(DEFAULT_MODEL_KEY).and_then(|v| v.as_str()) == Some(model.to_string().as_str())
}

/// The real outside world for a method: terminal, browser, clock, randomness, config and the
/// provider's environment variables.
fn context(
    app: &App,
    provider: &dyn Provider,
    prompter: Arc<TerminalPrompter>,
) -> anyhow::Result<AuthContext> {
    let host = host_services(app, provider, HttpSettings::default().request_timeout)?;
    let mut ctx = AuthContext::new(
        prompter,
        Arc::new(SystemBrowser::from_env(&app.registry)),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        host,
    );
    ctx.session = Session::new(app.terminal.interactive, remote_session());
    Ok(ctx)
}

/// Decides which provider and method to run, from `--choice`, `--provider`/`--method`, or the
/// menu; without a terminal, anything left open is a usage error listing the valid answers.
async fn pick(
    app: &App,
    menu: &AuthMenu,
    args: &LoginArgs,
    prompter: &dyn Prompter,
) -> anyhow::Result<(String, String)> {
    if let Some(id) = &args.choice {
        let Some(choice) = menu.choice(id) else {
            return usage(format!(
                "unknown choice {}: valid choices are {}",
                echo::quoted(id),
                choice_ids(menu.choices())
            ));
        };
        if let Some(p) = args.provider.as_deref().filter(|p| *p != choice.provider) {
            return usage(format!(
                "choice {id} signs in to {}, not {}",
                choice.provider,
                echo::quoted(p)
            ));
        }
        return Ok((choice.provider.clone(), choice.method.clone()));
    }
    let Some(provider_id) = &args.provider else {
        if !app.terminal.interactive {
            return usage(format!(
                "no terminal to show the sign-in menu: pass --choice, or --provider and --method; choices are {}",
                choice_ids(menu.choices())
            ));
        }
        let choice = select_from_menu(menu, prompter).await?;
        return Ok((choice.provider.clone(), choice.method.clone()));
    };
    let provider = app.provider(provider_id)?;
    if let Some(method) = &args.method {
        if provider.auth_method(method).is_none() {
            return usage(format!(
                "provider {provider_id} has no sign-in method {}: valid methods are {}",
                echo::quoted(method),
                method_ids(provider.auth_methods())
            ));
        }
        return Ok((provider_id.clone(), method.clone()));
    }
    let group = AuthMenu {
        groups: menu
            .groups
            .iter()
            .filter(|g| g.providers.contains(provider_id))
            .cloned()
            .collect(),
    };
    let only = group
        .choices()
        .filter(|c| &c.provider == provider_id)
        .count()
        == 1;
    if only || app.terminal.interactive {
        let choice = select_from_menu(&group, prompter).await?;
        return Ok((choice.provider.clone(), choice.method.clone()));
    }
    usage(format!(
        "provider {provider_id} has several sign-in methods: pass --method ({})",
        method_ids(provider.auth_methods())
    ))
}

/// The two-level menu: a group, then a method; a level with one entry is skipped.
async fn select_from_menu<'m>(
    menu: &'m AuthMenu,
    prompter: &dyn Prompter,
) -> anyhow::Result<&'m MenuChoice> {
    let group = match menu.groups.as_slice() {
        [] => return Err(anyhow!("no plugin offers a sign-in choice")),
        [only] => only,
        groups => {
            let items: Vec<String> = groups
                .iter()
                .map(|g| {
                    let hint = g
                        .hint
                        .as_deref()
                        .map(|h| format!(" — {h}"))
                        .unwrap_or_default();
                    let signed_in = if g.signed_in { " (signed in)" } else { "" };
                    format!("{}{hint}{signed_in}", g.label)
                })
                .collect();
            &groups[prompter.select("Sign in to", &items).await?]
        }
    };
    let choice = match group.choices.as_slice() {
        [] => return Err(anyhow!("{} offers no sign-in choice", group.label)),
        [only] => only,
        choices => {
            let items: Vec<String> = choices
                .iter()
                .map(|c| {
                    format!(
                        "{}{}",
                        c.label,
                        c.hint
                            .as_deref()
                            .map(|h| format!(" — {h}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            &choices[prompter
                .select(
                    &format!("How do you want to sign in to {}?", group.label),
                    &items,
                )
                .await?]
        }
    };
    Ok(choice)
}

fn choice_ids<'a>(choices: impl Iterator<Item = &'a MenuChoice>) -> String {
    choices
        .map(|c| c.choice_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn method_ids(methods: &[Box<dyn AuthMethod>]) -> String {
    methods
        .iter()
        .map(|m| m.id())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use plugboard_core::{Answer, Credential, Manifest, ScriptedPrompter};

    use super::*;

    fn menu(groups: &[(&str, &[&str])]) -> AuthMenu {
        let manifests: Vec<Manifest> = groups
            .iter()
            .map(|(provider, methods)| {
                let choices: Vec<_> = methods
                    .iter()
                    .enumerate()
                    .map(|(i, m)| serde_json::json!({
                        "choice_id": format!("{provider}-{m}"), "provider": provider, "method": m,
                        "kind": "api_key", "label": m, "order": i,
                        "group": {"id": provider, "label": provider}
                    }))
                    .collect();
                let json = serde_json::json!({
                    "manifest_version": 1, "id": provider, "name": provider, "version": "1",
                    "providers": [{"id": provider, "label": provider}], "auth_choices": choices
                });
                Manifest::load("test.json", &json.to_string()).unwrap()
            })
            .collect();
        AuthMenu::build(&manifests, |_| false)
    }

    #[test]
    fn results_that_are_unsafe_to_write_are_refused_whole() {
        let provider = plugboard_openrouter::OpenRouterProvider::new();
        let key = || {
            Credential::new(
                CredentialKind::ApiKey,
                "sk-or-v1-k".into(),
                Provenance::new(),
            )
        };
        let own = || AuthResult::profile("openrouter:default".parse().unwrap(), key());
        let mut two = own();
        two.profiles.push(ProfileWrite {
            profile_id: "other:default".parse().unwrap(),
            credential: key(),
        });
        let cases = [
            (own(), None),
            (
                own().with_config_patch(serde_json::json!({"providers": {}})),
                None,
            ),
            (AuthResult::default(), Some("returned no credential")),
            (two, Some("profile other:default of another provider")),
            (
                own().with_config_patch(serde_json::json!([1])),
                Some("not a JSON object"),
            ),
        ];
        for (result, want) in cases {
            let got = check_result(&provider, &result)
                .err()
                .map(|e| e.to_string());
            match (got, want) {
                (None, None) => {}
                (Some(got), Some(want)) => {
                    assert!(got.contains(want), "{got}");
                    assert!(got.ends_with("nothing was stored"), "{got}");
                }
                (got, want) => panic!("got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn oauth_failures_get_advice_naming_this_commands_flags() {
        let bind = CallbackError::Bind {
            addr: ([127, 0, 0, 1], 80).into(),
            source: std::io::ErrorKind::PermissionDenied.into(),
        };
        let cases: Vec<(AuthError, Option<&str>)> = vec![
            (
                OAuthError::TimedOut {
                    after: Duration::from_secs(1),
                }
                .into(),
                Some("--timeout SECS waits longer"),
            ),
            (
                OAuthError::from(CallbackError::PortInUse { port: 3000 }).into(),
                Some("pick another with --port"),
            ),
            (
                OAuthError::from(CallbackError::NoFreePort).into(),
                Some("pick one with --port"),
            ),
            (
                OAuthError::from(bind).into(),
                Some("pick another port with --port"),
            ),
            (AuthError::Cancelled, None),
            (AuthError::Service("OpenRouter said no".into()), None),
            (AuthError::other(std::io::Error::other("disk")), None),
        ];
        for (error, want) in cases {
            let got = advice(&error);
            match want {
                Some(want) => assert!(
                    got.as_deref().is_some_and(|a| a.contains(want)),
                    "{error}: {got:?}"
                ),
                None => assert_eq!(got, None, "{error}"),
            }
        }
    }

    #[test]
    fn only_a_browser_sign_in_points_at_the_api_key_method() {
        let provider = plugboard_openrouter::OpenRouterProvider::new();
        let kind_of = |kind| {
            provider
                .auth_methods()
                .iter()
                .find(|m| m.kind() == kind)
                .unwrap()
                .as_ref()
        };
        let oauth = kind_of(AuthKind::OAuth);
        let api_key = kind_of(AuthKind::ApiKey);
        assert_eq!(
            api_key_alternative(&provider, oauth).map(|m| m.id().to_owned()),
            Some(api_key.id().to_owned())
        );
        assert!(api_key_alternative(&provider, api_key).is_none());
    }

    #[test]
    fn a_replaced_credential_is_named_by_kind_date_and_origin() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_764_547_200); // 2025-12-01
        let provenance = |pairs: &[(&str, &str)]| -> Provenance {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).into()))
                .collect()
        };
        let replaced = |kind, provenance, updated_at| ReplacedProfile {
            profile_id: "openrouter:default".parse().unwrap(),
            kind,
            provenance,
            updated_at,
        };
        let cases = [
            (
                replaced(
                    Some(CredentialKind::ApiKey),
                    Some(provenance(&[("auth_flow", "api-key")])),
                    Some(at),
                ),
                "replaced the API key stored on 2025-12-01 (pasted) in openrouter:default",
            ),
            (
                replaced(
                    Some(CredentialKind::ApiKey),
                    Some(provenance(&[("auth_flow", "oauth-pkce")])),
                    Some(at),
                ),
                "replaced the API key stored on 2025-12-01 (oauth) in openrouter:default",
            ),
            (
                replaced(
                    Some(CredentialKind::Token),
                    Some(provenance(&[("source", "env")])),
                    Some(at),
                ),
                "replaced the token stored on 2025-12-01 (env) in openrouter:default",
            ),
            (
                replaced(
                    Some(CredentialKind::OAuth),
                    Some(provenance(&[("auth_flow", "device-code")])),
                    None,
                ),
                "replaced the OAuth token (device-code) in openrouter:default",
            ),
            (
                replaced(
                    Some(CredentialKind::None),
                    Some(provenance(&[("auth_flow", "local")])),
                    Some(at),
                ),
                "replaced the profile without a secret stored on 2025-12-01 (local) in openrouter:default",
            ),
            (
                replaced(None, None, None),
                "replaced the unreadable credential in openrouter:default",
            ),
        ];
        for (old, want) in cases {
            assert_eq!(replaced_line(&old), want);
        }
        let escape = replaced(
            Some(CredentialKind::ApiKey),
            Some(provenance(&[("auth_flow", "x\u{1b}[2Jy")])),
            None,
        );
        assert_eq!(
            replaced_line(&escape),
            "replaced the API key (xy) in openrouter:default"
        );
    }

    #[test]
    fn the_stored_line_shows_a_redacted_secret_or_says_none_was_needed() {
        let store = Path::new("/h/credentials.sqlite");
        let written = |credential| ProfileWrite {
            profile_id: "acme:default".parse().unwrap(),
            credential,
        };
        let key = Credential::new(
            CredentialKind::ApiKey,
            "sk-or-v1-0123456789abcdef0123".into(),
            Provenance::new(),
        );
        let mut local = Provenance::new();
        local.insert("base_url".into(), "http://127.0.0.1:11434".into());
        let cases = [
            (
                written(key),
                "signed in to Acme: stored acme:default (sk-or-v1-...0123) in /h/credentials.sqlite",
            ),
            (
                written(Credential::none(local)),
                "signed in to Acme: stored acme:default (no secret needed) in /h/credentials.sqlite",
            ),
        ];
        for (profile, want) in cases {
            assert_eq!(stored_line("Acme", &profile, store), want);
        }
    }

    #[test]
    fn a_busy_store_after_an_issued_key_is_waited_for_then_reported_with_where_to_revoke_it() {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("credentials.sqlite");
        drop(CredentialStore::open(&path).unwrap());
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let key = Credential::new(
            CredentialKind::ApiKey,
            "sk-or-v1-0123456789abcdef".into(),
            Provenance::new(),
        );
        let pasted = AuthResult::profile("openrouter:default".parse().unwrap(), key);
        let issued = pasted
            .clone()
            .with_remote_issue(Some("https://openrouter.ai/settings/keys"));
        let wait = Duration::from_millis(200);

        let started = std::time::Instant::now();
        let err = write_result(
            CredentialStore::open(&path).map_err(Into::into),
            "OpenRouter",
            &issued,
            wait,
        )
        .err()
        .unwrap();
        assert!(started.elapsed() >= wait);
        let line = crate::error::one_line(&err);
        assert!(
            line.starts_with("OpenRouter issued a key (sk-or-v1-...cdef) that could not be stored, so it is live but unused: revoke it at https://openrouter.ai/settings/keys, then sign in again: "),
            "{line}"
        );
        assert!(
            line.contains("locked by another plugboard process"),
            "{line}"
        );

        let err = write_result(
            CredentialStore::open(&path).map_err(Into::into),
            "OpenRouter",
            &pasted,
            wait,
        )
        .err()
        .unwrap();
        let line = crate::error::one_line(&err);
        assert!(!line.contains("issued"), "{line}");

        drop(holder);
        let (_, replaced) = write_result(
            CredentialStore::open(&path).map_err(Into::into),
            "OpenRouter",
            &issued,
            wait,
        )
        .unwrap();
        assert!(replaced.is_empty());
    }

    #[test]
    fn an_issued_key_that_could_not_be_stored_is_named_with_where_to_revoke_it() {
        let key = Credential::new(
            CredentialKind::ApiKey,
            "sk-or-v1-0123456789abcdef".into(),
            Provenance::new(),
        );
        let result = AuthResult::profile("openrouter:default".parse().unwrap(), key);
        let revocable = result
            .clone()
            .with_remote_issue(Some("https://openrouter.ai/settings/keys"));
        assert_eq!(
            unstored_issue("OpenRouter", &revocable),
            "OpenRouter issued a key (sk-or-v1-...cdef) that could not be stored, so it is live but unused: revoke it at https://openrouter.ai/settings/keys, then sign in again"
        );
        let elsewhere = result.with_remote_issue(None);
        assert!(
            unstored_issue("OpenRouter", &elsewhere)
                .contains("revoke it in your OpenRouter account"),
        );
    }

    #[tokio::test]
    async fn a_group_with_one_choice_skips_the_method_level() {
        let menu = menu(&[("alpha", &["api-key"]), ("beta", &["oauth", "api-key"])]);
        let prompter = ScriptedPrompter::new([Answer::Select(0)]);
        let choice = select_from_menu(&menu, &prompter).await.unwrap();
        assert_eq!(choice.choice_id, "alpha-api-key");
        assert_eq!(prompter.transcript(), ["select: Sign in to"]);
    }

    #[tokio::test]
    async fn a_group_with_several_choices_asks_for_the_method() {
        let menu = menu(&[("alpha", &["api-key"]), ("beta", &["oauth", "api-key"])]);
        let prompter = ScriptedPrompter::new([Answer::Select(1), Answer::Select(1)]);
        let choice = select_from_menu(&menu, &prompter).await.unwrap();
        assert_eq!(choice.choice_id, "beta-api-key");
        assert_eq!(prompter.transcript().len(), 2);
    }

    #[tokio::test]
    async fn a_single_group_with_a_single_choice_asks_nothing() {
        let menu = menu(&[("alpha", &["api-key"])]);
        let prompter = ScriptedPrompter::new([]);
        assert_eq!(
            select_from_menu(&menu, &prompter).await.unwrap().choice_id,
            "alpha-api-key"
        );
        assert!(prompter.transcript().is_empty());
    }

    #[tokio::test]
    async fn cancelling_the_menu_is_an_error() {
        let menu = menu(&[("alpha", &["api-key"]), ("beta", &["oauth"])]);
        let prompter = ScriptedPrompter::new([Answer::Cancel]);
        assert!(select_from_menu(&menu, &prompter).await.is_err());
    }
}
