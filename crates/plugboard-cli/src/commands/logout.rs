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
    let listing = store.list_provider(provider.id())?;
    let ids: Vec<ProfileId> = match requested {
        Some(id) => {
            // By id, without decoding the row, so a damaged profile can be removed this way too.
            if !store.remove(&id)? {
                return Err(anyhow!("profile {id} is not stored"));
            }
            print(&format!("removed {id}"))?;
            return Ok(());
        }
        None => listing
            .profiles
            .iter()
            .map(|p| p.profile_id.clone())
            .collect(),
    };
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
    let raw = os_bytes(raw_id);
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
fn os_bytes(arg: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        arg.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

/// A raw id made safe to show on a terminal: no control characters or escapes, one line.
pub(crate) fn shown_id(raw: &[u8]) -> String {
    sanitize_line(&String::from_utf8_lossy(raw), MAX_SHOWN_ID)
}

/// The command that removes `row`, with its id quoted so a shell passes exactly the stored
/// bytes back and the terminal shows nothing but printable characters.
pub(crate) fn removal_command(row: &DamagedRow) -> String {
    format!(
        "plugboard models auth logout --damaged {}",
        shell_quote(&row.raw_id)
    )
}

/// Quotes `raw` as one shell word. Printable ASCII goes in single quotes, which every POSIX
/// shell reads literally; anything else (control characters, escapes, bytes that are not
/// UTF-8, any non-ASCII character, which might be invisible or reorder the line) needs
/// `$'...'` with `\xHH` escapes, which bash, zsh and ksh read back as the same bytes.
fn shell_quote(raw: &[u8]) -> String {
    if raw.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        // Only ASCII, so this is exactly `raw`.
        let text = String::from_utf8_lossy(raw);
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut quoted = String::from("$'");
    for &b in raw {
        match b {
            b'\\' => quoted.push_str(r"\\"),
            b'\'' => quoted.push_str(r"\'"),
            b' ' => quoted.push(' '),
            b if b.is_ascii_graphic() => quoted.push(char::from(b)),
            b => quoted.push_str(&format!("\\x{b:02x}")),
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use plugboard_core::{Answer, ScriptedPrompter};

    use super::*;

    fn ids(ids: &[&str]) -> Vec<ProfileId> {
        ids.iter().map(|id| id.parse().unwrap()).collect()
    }

    #[test]
    fn ids_are_quoted_for_the_shell_and_safe_on_a_terminal() {
        let cases: [(&[u8], &str); 7] = [
            (b"openrouter:bad name", "'openrouter:bad name'"),
            (b"it's", r"'it'\''s'"),
            (b"", "''"),
            (b"a\x1b[31mred", r"$'a\x1b[31mred'"),
            (b"x\ny", r"$'x\x0ay'"),
            (b"back\\slash\xff'", r"$'back\\slash\xff\''"),
            (
                "caf\u{e9}\u{202e}".as_bytes(),
                r"$'caf\xc3\xa9\xe2\x80\xae'",
            ),
        ];
        for (raw, want) in cases {
            let got = shell_quote(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(
                got.chars().all(|c| c.is_ascii_graphic() || c == ' '),
                "{got:?}"
            );
        }
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
