//! What every command needs, gathered once: the registry of built-in and installed plugins,
//! where the store and config live, and what kind of terminal this is.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use plugboard_core::{Provider, Registry};
use plugboard_discovery::PluginRoots;
use plugboard_exec::ExecOptions;
use plugboard_store::{ConfigFile, CredentialStore, EntryKind, Listing, Paths, StoreError};
use serde_json::Value;
use thiserror::Error;

use crate::echo;
use crate::error::usage;
use crate::installed;
use crate::output;
use crate::shell;
use crate::terminal::Terminal;

/// The config key holding the default model ref.
pub(crate) const DEFAULT_MODEL_KEY: &str = "default_model";

pub(crate) struct App {
    pub(crate) registry: Registry,
    pub(crate) paths: Paths,
    pub(crate) terminal: Terminal,
}

impl App {
    /// Loads the registry and finds plugboard's files, refusing a home, config or store that
    /// another user owns or can write, or a symlinked config or store, with the fix. Installed
    /// plugins join the built-in ones from their manifests alone (no plugin process starts); a
    /// plugin that cannot join is recorded as broken and stops nothing. `verbose` shows
    /// executable plugins' stderr as it comes.
    pub(crate) fn load(verbose: bool) -> anyhow::Result<Self> {
        let mut registry = Registry::load().context("the built-in plugins are inconsistent")?;
        let paths = Paths::from_env()?;
        // Before any command reads the config or the store, or asks for a key it would then
        // fail to store: a home or file someone else can change is refused outright.
        paths.check_private().map_err(advised)?;
        // Plugins' stderr lines arrive sanitised and prefixed with the plugin's id; like every
        // note they go to stderr, never among the results.
        let options = ExecOptions::new(verbose, Arc::new(|line: &str| output::note(line)));
        installed::load(
            &mut registry,
            &PluginRoots::from_env(paths.plugins_dir().to_owned()),
            &options,
        );
        Ok(Self {
            registry,
            paths,
            terminal: Terminal::detect(),
        })
    }

    /// The store if it exists. Read-only commands use this so they never create files.
    pub(crate) fn existing_store(&self) -> Result<Option<CredentialStore>, StoreFailure> {
        CredentialStore::open_existing(self.paths.store_file()).map_err(advised)
    }

    /// Every stored row: the profiles, and apart from them the damaged rows.
    pub(crate) fn stored_listing(&self) -> anyhow::Result<Listing> {
        Ok(match self.existing_store()? {
            Some(store) => store.list()?,
            None => Listing::default(),
        })
    }

    /// The store, created if missing.
    pub(crate) fn store(&self) -> Result<CredentialStore, StoreFailure> {
        CredentialStore::open(self.paths.store_file()).map_err(advised)
    }

    /// The config file; its errors say how to fix what they can.
    pub(crate) fn config(&self) -> Config {
        Config(ConfigFile::new(self.paths.config_file()))
    }

    /// The provider with this id, or a usage error naming the valid ones.
    pub(crate) fn provider(&self, id: &str) -> anyhow::Result<&dyn Provider> {
        match self.registry.provider(id) {
            Some(p) => Ok(p),
            None => usage(format!(
                "unknown provider {}: valid providers are {}",
                echo::quoted(id),
                self.registry.provider_ids().join(", ")
            )),
        }
    }
}

/// plugboard's config file as commands use it: [`ConfigFile`] with the fix added to errors.
pub(crate) struct Config(ConfigFile);

impl Config {
    /// Where the file lives.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// The config, or an empty object when there is none (which stays uncreated).
    pub(crate) fn load(&self) -> Result<Value, StoreFailure> {
        self.0.load().map_err(advised)
    }

    /// Loads, changes and atomically saves the config; returns what was saved.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Value)) -> Result<Value, StoreFailure> {
        self.0.update(f).map_err(advised)
    }
}

/// A store error as the user reads it.
#[derive(Debug, Error)]
pub(crate) enum StoreFailure {
    /// A home or file that cannot be trusted, or that is not what it should be: the store's
    /// message, then the command that fixes it. The store error has no source to repeat.
    #[error("{error}: {fix}")]
    Fixable {
        /// What the store said.
        error: StoreError,
        /// What to run or do about it.
        fix: String,
    },
    /// Any other store error, as it is.
    #[error(transparent)]
    Other(#[from] StoreError),
}

/// Adds the fix to a store error about a home or file that cannot be trusted.
pub(crate) fn advised(error: StoreError) -> StoreFailure {
    let fix = match &error {
        StoreError::NotPrivate {
            path,
            kind,
            mode,
            owner,
            user,
            ..
        } => {
            let path = shell::word(path.as_os_str());
            let private = match kind {
                EntryKind::Directory => "700",
                _ => "600",
            };
            let chmod = format!("chmod {private} {path}");
            if owner == user {
                format!("run `{chmod}`")
            } else if mode & 0o022 != 0 {
                format!("if it is yours, run `chown {user} {path} && {chmod}`; if not, remove it")
            } else {
                format!("if it is yours, run `chown {user} {path}`; if not, remove it")
            }
        }
        StoreError::Symlink { .. } => String::from("put the file itself there, or remove the link"),
        StoreError::NotAFile { .. } => String::from("move it aside"),
        _ => return StoreFailure::Other(error),
    };
    StoreFailure::Fixable { error, fix }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_private(kind: EntryKind, mode: u32, owner: u32) -> String {
        crate::error::one_line(&anyhow::Error::from(advised(StoreError::NotPrivate {
            path: "/home/u/my plugboard".into(),
            kind,
            mode,
            owner,
            user: 1000,
        })))
    }

    #[test]
    fn an_untrusted_home_or_file_comes_with_the_command_that_fixes_it() {
        let cases = [
            (
                EntryKind::Directory,
                0o777,
                1000,
                "run `chmod 700 '/home/u/my plugboard'`",
            ),
            (
                EntryKind::File,
                0o664,
                1000,
                "run `chmod 600 '/home/u/my plugboard'`",
            ),
            (
                EntryKind::File,
                0o600,
                12345,
                "if it is yours, run `chown 1000 '/home/u/my plugboard'`; if not, remove it",
            ),
            (
                EntryKind::Directory,
                0o777,
                12345,
                "if it is yours, run `chown 1000 '/home/u/my plugboard' && chmod 700 '/home/u/my plugboard'`; if not, remove it",
            ),
        ];
        for (kind, mode, owner, fix) in cases {
            let line = not_private(kind, mode, owner);
            assert!(line.ends_with(fix), "{line}");
            assert!(
                line.contains(&format!("mode {mode:04o}, owner uid {owner}")),
                "{line}"
            );
        }
    }

    #[test]
    fn other_store_errors_pass_through_unchanged() {
        let error = advised(StoreError::NoHome);
        assert_eq!(error.to_string(), StoreError::NoHome.to_string());
        assert!(matches!(error, StoreFailure::Other(StoreError::NoHome)));
    }
}
