//! `plugboard models status`: where credentials live, which one each provider uses and why,
//! and every stored profile, redacted. A row that does not decode is listed as damaged, with
//! the command that removes it, and stops nothing else.

use std::collections::BTreeMap;
use std::time::SystemTime;

use plugboard_core::{CredentialKind, ProfileId, Provenance, sanitize_line};
use plugboard_store::{DamagedRow, StoredProfile};
use serde::Serialize;

use crate::app::{App, DEFAULT_MODEL_KEY};
use crate::commands::logout::{removal_command, shown_id};
use crate::credentials::{ProfileArg, Source, effective, login_command};
use crate::output::{print, print_json};

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
}

#[derive(Serialize)]
struct EffectiveJson {
    #[serde(flatten)]
    source: Source,
    kind: String,
    redacted: String,
    /// RFC 3339; null when it never expires.
    expires_at: Option<String>,
    refreshable: bool,
}

#[derive(Serialize)]
struct ProfileJson {
    profile_id: ProfileId,
    kind: String,
    redacted: String,
    /// When the credential stops working (RFC 3339, like `updated_at`); null when it never
    /// expires.
    expires_at: Option<String>,
    /// Whether plugboard can renew it without the user (an OAuth refresh token that was not
    /// refused).
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
const KINDS: [CredentialKind; 3] = [
    CredentialKind::OAuth,
    CredentialKind::Token,
    CredentialKind::ApiKey,
];

pub(crate) fn run(app: &App, json: bool, profile: Option<&str>) -> anyhow::Result<()> {
    // The same parser and rule as every other command: `provider:name` is that provider's
    // profile (an unknown provider is a usage error), a bare name means it at every provider.
    let profile_flag = profile.map(str::parse::<ProfileArg>).transpose()?;
    if let Some(named) = profile_flag.as_ref().and_then(ProfileArg::provider) {
        app.provider(named)?;
    }
    let listing = app.stored_listing()?;
    let stored = listing.profiles;
    let config = app.config().load()?;
    let env = |name: &str| std::env::var(name).ok();

    let mut providers = Vec::new();
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
        let mut profile_counts: BTreeMap<String, usize> =
            KINDS.iter().map(|k| (k.to_string(), 0)).collect();
        for p in &mine {
            *profile_counts
                .entry(p.credential.kind().to_string())
                .or_insert(0) += 1;
        }
        providers.push(ProviderStatus {
            id: provider.id().to_owned(),
            label: provider.label().to_owned(),
            effective: eff.map(|e| {
                // A stored profile whose refresh was refused cannot refresh, whatever it holds.
                let refused = match &e.source {
                    Source::ProfileFlag { profile_id } | Source::DefaultProfile { profile_id } => {
                        mine.iter()
                            .any(|p| &p.profile_id == profile_id && p.needs_signin.is_some())
                    }
                    Source::Env { .. } => false,
                };
                EffectiveJson {
                    kind: e.credential.kind().to_string(),
                    redacted: e.credential.redacted(),
                    expires_at: e.credential.expires_at().map(rfc3339),
                    refreshable: e.credential.refreshable() && !refused,
                    source: e.source,
                }
            }),
            profile_counts,
            profiles: mine.iter().map(profile_json).collect(),
        });
    }
    if let Some(ProfileArg::Name(name)) = &profile_flag
        && !bare_name_found
    {
        return Err(NoSuchProfile(name.clone()).into());
    }
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
    if json {
        print_json(&status)
    } else {
        print(render(&status).trim_end())
    }
}

/// `models status --profile NAME` where no provider has a profile of that name.
#[derive(Debug, thiserror::Error)]
#[error(
    "no provider has a profile named {0}: sign in with `plugboard models auth login --provider <provider> --profile {0}`"
)]
struct NoSuchProfile(String);

fn profile_json(p: &StoredProfile) -> ProfileJson {
    ProfileJson {
        profile_id: p.profile_id.clone(),
        kind: p.credential.kind().to_string(),
        redacted: p.credential.redacted(),
        expires_at: p.credential.expires_at().map(rfc3339),
        refreshable: p.credential.refreshable() && p.needs_signin.is_none(),
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
        let effective = match &p.effective {
            Some(e) => format!(
                "{} {}{}",
                e.redacted,
                describe(&e.source),
                expiry(e.expires_at.as_deref(), e.refreshable)
            ),
            None => format!(
                "none: sign in with `plugboard models auth login --provider {}`",
                p.id
            ),
        };
        text.push_str(&format!("  effective  {effective}\n"));
        let count = |kind: CredentialKind| {
            let n = p.profile_counts.get(kind.as_str()).copied().unwrap_or(0);
            format!("{n} {kind}")
        };
        let counts: Vec<String> = KINDS.into_iter().map(count).collect();
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
                profile.redacted,
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
