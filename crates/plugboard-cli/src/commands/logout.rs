//! `plugboard models auth logout`: remove one profile, all of a provider's, or a damaged row
//! by its raw id.

use std::ffi::OsStr;

use anyhow::{Context, anyhow};
use plugboard_core::sanitize_line;
use plugboard_core::{ProfileId, Prompter};
use plugboard_store::{DamagedRemoval, DamagedRow};

use crate::app::App;
use crate::cli::LogoutArgs;
use crate::credentials::profile_for;
use crate::error::usage;
use crate::output::{note, print};
use crate::shell;
use crate::terminal::TerminalPrompter;

/// The longest a raw id is shown, in characters; a damaged id can be anything.
const MAX_SHOWN_ID: usize = 120;

pub(crate) async fn run(app: &App, args: &LogoutArgs) -> anyhow::Result<()> {
    if let Some(raw_id) = &args.damaged {
        return remove_damaged(app, raw_id);
    }
    let Some(provider_id) = &args.provider else {
        return usage("pass --provider, or --damaged with the id `plugboard models status` shows");
    };
    let provider = app.provider(provider_id)?;
    let requested = profile_for(args.profile.as_deref(), provider.id())?;
    let nothing = || anyhow!("no stored credentials for {}", provider.id());
    let mut store = app.existing_store()?.ok_or_else(nothing)?;
    if let Some(id) = requested {
        // By id, without decoding the row, so a damaged profile can be removed this way too.
        if !store.remove(&id)? {
            return Err(anyhow!("profile {id} is not stored"));
        }
        print(&format!("removed {id}"))?;
        return Ok(());
    }
    let listing = store.list_provider(provider.id())?;
    let ids: Vec<ProfileId> = listing
        .profiles
        .iter()
        .map(|p| p.profile_id.clone())
        .collect();
    let ids = match ids.len() {
        0 if listing.damaged.is_empty() => return Err(nothing()),
        0 => {
            return Err(anyhow!(
                "{}: {} holds only damaged rows, which `plugboard models status` lists with the command that removes each",
                nothing(),
                provider.id()
            ));
        }
        1 => ids,
        _ if args.all => ids,
        _ => {
            let prompter = TerminalPrompter::new(app.terminal);
            choose(
                app.terminal.interactive,
                prompter.as_ref(),
                provider.id(),
                ids,
            )
            .await?
        }
    };
    for id in &ids {
        if store.remove(id)? {
            print(&format!("removed {id}"))?;
        }
    }
    if !listing.damaged.is_empty() {
        note(&format!(
            "{} also has {} damaged row(s), left as they are: `plugboard models status` shows the command that removes each",
            provider.id(),
            listing.damaged.len()
        ));
    }
    for name in provider.credential_env_vars() {
        if std::env::var(name).is_ok_and(|v| !v.trim().is_empty()) {
            note(&format!(
                "{name} is still set, so {} keeps using it until you unset it",
                provider.label()
            ));
        }
    }
    Ok(())
}

/// Which of several profiles to remove: asked on a terminal (one of them, or all), refused
/// without one, since removing every key of a provider is not something to do by accident.
async fn choose(
    interactive: bool,
    prompter: &dyn Prompter,
    provider: &str,
    ids: Vec<ProfileId>,
) -> anyhow::Result<Vec<ProfileId>> {
    let listed = ids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if !interactive {
        return usage(format!(
            "{provider} has {} profiles ({listed}): pass --profile to remove one, or --all to remove them all; nothing was removed",
            ids.len()
        ));
    }
    let mut items: Vec<String> = ids.iter().map(|id| format!("only {id}")).collect();
    items.push(format!("all {} profiles", ids.len()));
    let picked = prompter
        .select(
            &format!("{provider} has {} profiles: which to remove?", ids.len()),
            &items,
        )
        .await
        .context("nothing was removed")?;
    Ok(match ids.get(picked) {
        Some(one) => vec![one.clone()],
        None => ids,
    })
}

fn remove_damaged(app: &App, raw_id: &OsStr) -> anyhow::Result<()> {
    let raw = shell::os_bytes(raw_id);
    let shown = shown_id(&raw);
    let not_stored = || {
        anyhow!(
            "no row with id {shown} is stored: `plugboard models status` lists damaged rows with the command that removes each"
        )
    };
    let mut store = app.existing_store()?.ok_or_else(not_stored)?;
    match store.remove_damaged(&raw)? {
        DamagedRemoval::Removed => print(&format!("removed damaged row {shown}")),
        DamagedRemoval::NotStored => Err(not_stored()),
        DamagedRemoval::NotDamaged(id) => usage(format!(
            "profile {id} is not damaged: remove it with `plugboard models auth logout --provider {} --profile {}`",
            id.provider(),
            id.name()
        )),
    }
}

/// The argument's bytes exactly: a damaged id need not be UTF-8.
/// A raw id made safe to show on a terminal: no control characters or escapes, one line.
pub(crate) fn shown_id(raw: &[u8]) -> String {
    sanitize_line(&String::from_utf8_lossy(raw), MAX_SHOWN_ID)
}

/// The command that removes `row`, with its id quoted so a shell passes exactly the stored
/// bytes back and the terminal shows nothing but printable characters.
pub(crate) fn removal_command(row: &DamagedRow) -> String {
    format!(
        "plugboard models auth logout --damaged {}",
        shell::quote(&row.raw_id)
    )
}

#[cfg(test)]
mod tests {
    use plugboard_core::{Answer, ScriptedPrompter};

    use super::*;

    fn ids(ids: &[&str]) -> Vec<ProfileId> {
        ids.iter().map(|id| id.parse().unwrap()).collect()
    }

    #[tokio::test]
    async fn several_profiles_without_a_terminal_are_refused_listing_them() {
        let prompter = ScriptedPrompter::new([]);
        let err = choose(
            false,
            &prompter,
            "openrouter",
            ids(&["openrouter:default", "openrouter:work"]),
        )
        .await
        .unwrap_err();
        assert!(err.is::<crate::error::UsageError>(), "{err:#}");
        let msg = err.to_string();
        assert!(msg.contains("openrouter:default, openrouter:work"), "{msg}");
        assert!(msg.contains("--all"), "{msg}");
        assert!(prompter.transcript().is_empty());
    }

    #[tokio::test]
    async fn on_a_terminal_one_profile_or_all_of_them_can_be_picked() {
        let both = || ids(&["openrouter:default", "openrouter:work"]);
        let cases = [
            (Answer::Select(1), ids(&["openrouter:work"])),
            (Answer::Select(2), both()),
        ];
        for (answer, want) in cases {
            let prompter = ScriptedPrompter::new([answer]);
            let got = choose(true, &prompter, "openrouter", both()).await.unwrap();
            assert_eq!(got, want);
            assert_eq!(prompter.transcript().len(), 1);
        }
        let prompter = ScriptedPrompter::new([Answer::Cancel]);
        let err = choose(true, &prompter, "openrouter", both())
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("nothing was removed"),
            "{err:#}"
        );
    }
}
