//! `plugboard models status`: where credentials live, which one each provider uses and why,
//! where each provider's service is, and every stored profile, redacted. A row that does not
//! decode is listed as damaged, with the command that removes it, and stops nothing else.
//!
//! Looking sends nothing: without `--check` no HTTP client is even built. `--check` asks each
//! provider whether its credential works (see `check`).

mod check;

use std::collections::BTreeMap;
use std::time::SystemTime;

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance, Provider, sanitize_line};
use plugboard_store::{DamagedRow, StoredProfile};
use serde::Serialize;

use crate::app::{App, DEFAULT_MODEL_KEY};
use crate::cli::StatusArgs;
use crate::commands::logout::{removal_command, shown_id};
use crate::credentials::{Effective, ProfileArg, Source, effective, login_command};
use crate::error::one_line;
use crate::host::{offline_services, services_for};
use crate::output::{print, print_json};

use self::check::{CHECK_TIMEOUT, CheckJson, CheckTarget, check_all, check_http};

/// Longest provenance entry (`user_id=...`) shown in the text report.
const MAX_PROVENANCE_CHARS: usize = 120;

#[derive(Serialize)]
struct StatusJson {
    store: String,
    config: String,
    default_model: Option<String>,
    providers: Vec<ProviderStatus>,
    damaged: Vec<DamagedJson>,
}

/// A stored row that does not decode. Never its secret.
#[derive(Serialize)]
struct DamagedJson {
    /// The id as stored (bytes that are not UTF-8 replaced).
    raw_id: String,
    /// The row's provider column.
    provider: String,
    /// What is wrong with it.
    problem: String,
    /// The command that removes exactly this row, quoted for a shell.
    remove_command: String,
}

#[derive(Serialize)]
struct ProviderStatus {
    id: String,
    label: String,
    effective: Option<EffectiveJson>,
    /// One count per credential kind, zeros included.
    profile_counts: BTreeMap<String, usize>,
    profiles: Vec<ProfileJson>,
    /// Where the provider's service is, as the settings resolve it; null when the provider
    /// cannot say (or its settings are invalid).
    service_url: Option<String>,
    /// Whether requests to it go unencrypted: plain `http://` to a host that is not this
    /// machine.
    unencrypted: bool,
    /// With `--check`: whether the effective credential works.
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<CheckJson>,
}

#[derive(Serialize)]
struct EffectiveJson {
    #[serde(flatten)]
    source: Source,
    kind: String,
    /// The secret, redacted; null for a credential without one (kind `none`).
    redacted: Option<String>,
    /// RFC 3339; null when it never expires.
    expires_at: Option<String>,
    refreshable: bool,
}

#[derive(Serialize)]
struct ProfileJson {
    profile_id: ProfileId,
    kind: String,
    /// The secret, redacted; null for a credential without one (kind `none`).
    redacted: Option<String>,
    /// When the credential stops working (RFC 3339, like `updated_at`); null when it never
    /// expires.
    expires_at: Option<String>,
    /// Whether plugboard can renew it without the user: the provider's refresher can (an OAuth
    /// refresh token, or a stored token a session is derived from) and no refresh was refused.
    refreshable: bool,
    /// Why it needs a new sign-in (its refresh was refused for good); null otherwise.
    needs_signin: Option<String>,
    /// The command that signs in again, when it needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    login_command: Option<String>,
    provenance: Provenance,
    created_at: String,
    updated_at: String,
}

/// Every credential kind, in the order the text report counts them.
const KINDS: [CredentialKind; 4] = [
    CredentialKind::OAuth,
    CredentialKind::Token,
    CredentialKind::ApiKey,
    CredentialKind::None,
];

pub(crate) async fn run(app: &App, args: &StatusArgs) -> anyhow::Result<()> {
    // The same parser and rule as every other command: `provider:name` is that provider's
    // profile (an unknown provider is a usage error), a bare name means it at every provider.
    let profile_flag = args
        .profile
        .as_deref()
        .map(str::parse::<ProfileArg>)
        .transpose()?;
    if let Some(named) = profile_flag.as_ref().and_then(ProfileArg::provider) {
        app.provider(named)?;
    }
    let listing = app.stored_listing()?;
    let stored = listing.profiles;
    let config = app.config().load()?;
    let env = |name: &str| std::env::var(name).ok();

    // Each provider with its stored profiles and the credential it would use.
    let mut resolved: Vec<(&dyn Provider, Vec<StoredProfile>, Option<Effective>)> = Vec::new();
    let mut bare_name_found = false;
    for provider in app.registry.providers() {
        let mine: Vec<StoredProfile> = stored
            .iter()
            .filter(|p| p.profile_id.provider() == provider.id())
            .cloned()
            .collect();
        let flag = match &profile_flag {
            Some(arg) if arg.provider().is_none_or(|p| p == provider.id()) => {
                Some(arg.at(provider.id())?)
            }
            _ => None,
        };
        // A bare `--profile work` means `work` at every provider; one that has no such profile
        // would use none with it, which is what is shown, unless no provider has it at all.
        let eff = match (&profile_flag, &flag) {
            (Some(ProfileArg::Name(_)), Some(id)) if !mine.iter().any(|p| &p.profile_id == id) => {
                None
            }
            _ => {
                bare_name_found = true;
                effective(provider, flag.as_ref(), env, &mine)?
            }
        };
        resolved.push((provider, mine, eff));
    }
    if let Some(ProfileArg::Name(name)) = &profile_flag
        && !bare_name_found
    {
        return Err(NoSuchProfile(name.clone()).into());
    }

    let checks = if args.check {
        // One client for every check; one that cannot be built (a malformed proxy variable)
        // is each provider's error, not the command's.
        let shared = check_http().map_err(|e| one_line(&e));
        let targets = resolved
            .iter()
            .map(|(provider, _, eff)| CheckTarget {
                provider: *provider,
                effective: eff.as_ref(),
                host: shared
                    .clone()
                    .map(|(http, client)| services_for(*provider, http, client, config.clone())),
            })
            .collect();
        check_all(targets, CHECK_TIMEOUT)
            .await
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; resolved.len()]
    };

    let providers = resolved
        .into_iter()
        .zip(checks)
        .map(|((provider, mine, eff), check)| {
            provider_status(provider, &mine, eff, config.clone(), check)
        })
        .collect();
    let status = StatusJson {
        store: app.paths.store_file().display().to_string(),
        config: app.paths.config_file().display().to_string(),
        default_model: config
            .get(DEFAULT_MODEL_KEY)
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        providers,
        damaged: listing.damaged.iter().map(damaged_json).collect(),
    };
    if args.json {
        print_json(&status)
    } else {
        print(render(&status).trim_end())
    }
}

/// One provider's entry: what it would use, its profiles, and where its service is (asked
/// with services that cannot send anything).
fn provider_status(
    provider: &dyn Provider,
    mine: &[StoredProfile],
    eff: Option<Effective>,
    config: serde_json::Value,
    check: Option<CheckJson>,
) -> ProviderStatus {
    let mut profile_counts: BTreeMap<String, usize> =
        KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    for p in mine {
        *profile_counts
            .entry(p.credential.kind().to_string())
            .or_insert(0) += 1;
    }
    let service_url = provider.service_url(&offline_services(provider, config));
    ProviderStatus {
        id: provider.id().to_owned(),
        label: provider.label().to_owned(),
        effective: eff.map(|e| {
            // Only a stored profile is ever refreshed, and one whose refresh was refused
            // cannot be, whatever it holds.
            let refreshable = match &e.source {
                Source::ProfileFlag { profile_id } | Source::DefaultProfile { profile_id } => {
                    !mine
                        .iter()
                        .any(|p| &p.profile_id == profile_id && p.needs_signin.is_some())
                        && can_refresh(provider, &e.credential)
                }
                Source::Env { .. } => false,
            };
            EffectiveJson {
                kind: e.credential.kind().to_string(),
                redacted: redacted(&e.credential),
                expires_at: e.credential.expires_at().map(rfc3339),
                refreshable,
                source: e.source,
            }
        }),
        profile_counts,
        profiles: mine.iter().map(|p| profile_json(provider, p)).collect(),
        unencrypted: service_url.as_deref().is_some_and(unencrypted),
        service_url,
        check,
    }
}

/// Whether `provider`'s refresher can renew `credential` without the user.
fn can_refresh(provider: &dyn Provider, credential: &Credential) -> bool {
    provider
        .refresher()
        .is_some_and(|r| r.can_refresh(credential))
}

/// The secret as shown; `None` for a credential without one, which has nothing to redact.
fn redacted(credential: &Credential) -> Option<String> {
    credential.has_secret().then(|| credential.redacted())
}

/// Whether requests to `url` travel unencrypted over a network: plain `http://` to a host that
/// is not this machine. A URL that does not parse is not judged.
fn unencrypted(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| plugboard_http::is_unencrypted(&u))
}

/// `models status --profile NAME` where no provider has a profile of that name.
#[derive(Debug, thiserror::Error)]
#[error(
    "no provider has a profile named {0}: sign in with `plugboard models auth login --provider <provider> --profile {0}`"
)]
struct NoSuchProfile(String);

fn profile_json(provider: &dyn Provider, p: &StoredProfile) -> ProfileJson {
    ProfileJson {
        profile_id: p.profile_id.clone(),
        kind: p.credential.kind().to_string(),
        redacted: redacted(&p.credential),
        expires_at: p.credential.expires_at().map(rfc3339),
        refreshable: can_refresh(provider, &p.credential) && p.needs_signin.is_none(),
        needs_signin: p.needs_signin.clone(),
        login_command: p
            .needs_signin
            .as_ref()
            .map(|_| login_command(&p.profile_id)),
        provenance: p.credential.provenance().clone(),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

fn damaged_json(row: &DamagedRow) -> DamagedJson {
    DamagedJson {
        raw_id: row.id_lossy(),
        provider: row.provider.clone(),
        problem: row.problem.clone(),
        remove_command: removal_command(row),
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn render(s: &StatusJson) -> String {
    let mut text = format!(
        "store          {}\nconfig         {}\ndefault model  {}\n",
        s.store,
        s.config,
        s.default_model
            .as_deref()
            .unwrap_or("(none: set one with `plugboard models set <provider/model>`)")
    );
    for p in &s.providers {
        text.push_str(&format!("\n{} ({})\n", p.label, p.id));
        if let Some(url) = &p.service_url {
            let warning = if p.unencrypted {
                " (unencrypted: plain http to another machine)"
            } else {
                ""
            };
            text.push_str(&format!(
                "  service    {}{warning}\n",
                sanitize_line(url, 200)
            ));
        }
        let effective = match &p.effective {
            Some(e) => format!(
                "{} {}{}",
                shown_secret(e.redacted.as_deref()),
                describe(&e.source),
                expiry(e.expires_at.as_deref(), e.refreshable)
            ),
            None => format!(
                "none: sign in with `plugboard models auth login --provider {}`",
                p.id
            ),
        };
        text.push_str(&format!("  effective  {effective}\n"));
        if let Some(check) = &p.check {
            text.push_str(&format!("  check      {}\n", check.text()));
        }
        let count = |kind: CredentialKind| {
            let n = p.profile_counts.get(kind.as_str()).copied().unwrap_or(0);
            // Profiles without a secret are rare (local services): counted only when there
            // are some, so the usual line stays as short as it was.
            (n > 0 || kind != CredentialKind::None).then(|| format!("{n} {kind}"))
        };
        let counts: Vec<String> = KINDS.into_iter().filter_map(count).collect();
        text.push_str(&format!(
            "  profiles   {} ({})\n",
            p.profiles.len(),
            counts.join(", ")
        ));
        for profile in &p.profiles {
            // Provenance comes from a service (a user id) by way of the store: each entry is
            // kept to one clean line so it cannot forge a row.
            let provenance: Vec<String> = profile
                .provenance
                .iter()
                .map(|(k, v)| {
                    let value = v.as_str().map_or(v.to_string(), str::to_owned);
                    sanitize_line(&format!("{k}={value}"), MAX_PROVENANCE_CHARS)
                })
                .collect();
            text.push_str(&format!(
                "    {}  {}  {}{}  updated {}{}{}\n",
                profile.profile_id,
                profile.kind,
                shown_secret(profile.redacted.as_deref()),
                expiry(profile.expires_at.as_deref(), profile.refreshable),
                profile.updated_at,
                if provenance.is_empty() { "" } else { "  " },
                provenance.join(" ")
            ));
            if let (Some(reason), Some(command)) = (&profile.needs_signin, &profile.login_command) {
                text.push_str(&format!(
                    "      needs a new sign-in ({}): {command}\n",
                    sanitize_line(reason, 200)
                ));
            }
        }
    }
    if !s.damaged.is_empty() {
        text.push_str("\ndamaged rows (unreadable, so unused; nothing else is affected)\n");
        for row in &s.damaged {
            text.push_str(&format!(
                "    {}  {}\n      remove it: {}\n",
                shown_id(row.raw_id.as_bytes()),
                sanitize_line(&row.problem, 200),
                row.remove_command
            ));
        }
    }
    text
}

/// A redacted secret, or `no secret` for a credential without one.
fn shown_secret(redacted: Option<&str>) -> &str {
    redacted.unwrap_or("no secret")
}

/// `  expires 2026-12-01T12:00:00Z (refreshable)`, or nothing for a credential that never
/// expires.
fn expiry(expires_at: Option<&str>, refreshable: bool) -> String {
    match (expires_at, refreshable) {
        (Some(at), true) => format!("  expires {at} (refreshable)"),
        (Some(at), false) => format!("  expires {at} (not refreshable)"),
        (None, _) => String::new(),
    }
}

fn describe(source: &Source) -> String {
    match source {
        Source::ProfileFlag { profile_id } => format!("from profile {profile_id} (--profile)"),
        Source::Env { env_var } => {
            format!("from ${env_var} (set in the environment, wins over stored profiles)")
        }
        Source::DefaultProfile { profile_id } => {
            format!("from profile {profile_id} (the default profile)")
        }
    }
}
