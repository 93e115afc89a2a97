//! What every command needs, gathered once: the registry of linked plugins, where the store and
//! config live, and what kind of terminal this is.

use anyhow::Context;
use plugboard_core::{Provider, Registry};
use plugboard_store::{ConfigFile, CredentialStore, Listing, Paths, StoredProfile};

use crate::error::usage;
use crate::terminal::Terminal;

/// The config key holding the default model ref.
pub(crate) const DEFAULT_MODEL_KEY: &str = "default_model";

pub(crate) struct App {
    pub(crate) registry: Registry,
    pub(crate) paths: Paths,
    pub(crate) terminal: Terminal,
}

impl App {
    pub(crate) fn load() -> anyhow::Result<Self> {
        let registry = Registry::load().context("the built-in plugins are inconsistent")?;
        let paths = Paths::from_env()?;
        Ok(Self {
            registry,
            paths,
            terminal: Terminal::detect(),
        })
    }

    /// The store if it exists. Read-only commands use this so they never create files.
    pub(crate) fn existing_store(&self) -> anyhow::Result<Option<CredentialStore>> {
        Ok(CredentialStore::open_existing(self.paths.store_file())?)
    }

    /// Every stored profile that decodes, or none when there is no store yet (which stays
    /// uncreated). Damaged rows are left out, so they cannot stop a command that does not need
    /// them.
    pub(crate) fn stored_profiles(&self) -> anyhow::Result<Vec<StoredProfile>> {
        Ok(self.stored_listing()?.profiles)
    }

    /// Every stored row: the profiles, and apart from them the damaged rows.
    pub(crate) fn stored_listing(&self) -> anyhow::Result<Listing> {
        Ok(match self.existing_store()? {
            Some(store) => store.list()?,
            None => Listing::default(),
        })
    }

    /// The store, created if missing.
    pub(crate) fn store(&self) -> anyhow::Result<CredentialStore> {
        Ok(CredentialStore::open(self.paths.store_file())?)
    }

    pub(crate) fn config(&self) -> ConfigFile {
        ConfigFile::new(self.paths.config_file())
    }

    /// The provider with this id, or a usage error naming the valid ones.
    pub(crate) fn provider(&self, id: &str) -> anyhow::Result<&dyn Provider> {
        match self.registry.provider(id) {
            Some(p) => Ok(p),
            None => usage(format!(
                "unknown provider {id:?}: valid providers are {}",
                self.registry.provider_ids().join(", ")
            )),
        }
    }
}
