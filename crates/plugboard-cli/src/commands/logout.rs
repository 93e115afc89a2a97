//! `plugboard models auth logout`: remove one profile, or all of a provider's.

use anyhow::anyhow;
use plugboard_core::ProfileId;

use crate::app::App;
use crate::cli::LogoutArgs;
use crate::echo;
use crate::error::usage;
use crate::output::{note, print};

pub(crate) fn run(app: &App, args: &LogoutArgs) -> anyhow::Result<()> {
    let provider = app.provider(&args.provider)?;
    let requested = match &args.profile {
        Some(p) => match ProfileId::parse_for(provider.id(), p) {
            Ok(id) => Some(id),
            Err(e) => return usage(echo::clip_in(&e.to_string(), p)),
        },
        None => None,
    };
    let nothing = || anyhow!("no stored credentials for {}", provider.id());
    let mut store = app.existing_store()?.ok_or_else(nothing)?;
    let ids: Vec<ProfileId> = match requested {
        Some(id) => {
            if store.get(&id)?.is_none() {
                return Err(anyhow!("profile {id} is not stored"));
            }
            vec![id]
        }
        None => store
            .list_provider(provider.id())?
            .into_iter()
            .map(|p| p.profile_id)
            .collect(),
    };
    if ids.is_empty() {
        return Err(nothing());
    }
    for id in &ids {
        if store.remove(id)? {
            print(&format!("removed {id}"))?;
        }
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
