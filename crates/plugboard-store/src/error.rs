//! Everything that can go wrong while finding, reading or writing plugboard's files.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a store, config or path operation failed. Messages name the file involved and never
/// contain a secret, so they can be shown to the user as they are.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Neither `PLUGBOARD_HOME` nor the platform's home directory is available.
    #[error("cannot find a home directory: set PLUGBOARD_HOME")]
    NoHome,

    /// A directory for plugboard's files could not be created.
    #[error(
        "cannot create directory {path}: {source}: check its parent's permissions or set PLUGBOARD_HOME"
    )]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// The credential store file could not be created or its permissions checked.
    #[error("cannot create credential store {path}: {source}: check the directory's permissions")]
    CreateStore {
        /// The store file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// A file holding secrets had permissions that let others read it, and tightening them
    /// failed.
    #[error(
        "cannot restrict {path} to its owner (mode 0600): {source}: fix its permissions by hand"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// SQLite refused to open the store or to set it up.
    #[error("cannot open credential store {path}: {source}")]
    Open {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// A schema migration failed; the store is left at its previous version.
    #[error("cannot upgrade credential store {path} to schema {version}: {source}")]
    Migrate {
        /// The store file.
        path: PathBuf,
        /// The schema version being migrated to.
        version: i64,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The store's schema is newer than this build understands.
    #[error(
        "credential store {path} was written by a newer plugboard (schema {found}, this build knows {known}): upgrade plugboard"
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },

    /// The store's schema version is one no plugboard ever wrote.
    #[error(
        "credential store {path} has unknown schema version {found}: the store may be damaged; move it aside and log in again"
    )]
    UnknownSchema {
        /// The store file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
    },

    /// Another process held the store's write lock for longer than the busy timeout.
    #[error("credential store {path} is locked by another plugboard process: {source}: try again")]
    Busy {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// Reading from the store failed.
    #[error("cannot read credential store {path}: {source}")]
    Read {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// Writing to the store failed; nothing from the failed call was kept.
    #[error("cannot write credential store {path}: {source}: nothing was changed")]
    Write {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// A stored row could not be turned back into a profile. `problem` never holds the secret.
    #[error(
        "cannot decode profile {profile_id} in credential store {path} ({problem}): the store may be damaged; log in again to replace the profile"
    )]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// The row's profile id, as stored.
        profile_id: String,
        /// What was wrong with the row.
        problem: String,
    },

    /// The config file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// The config file is not JSON.
    #[error("config file {path} is not valid JSON at line {line}: fix or remove it")]
    InvalidConfig {
        /// The config file.
        path: PathBuf,
        /// The 1-based line where parsing failed.
        line: usize,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },

    /// The config file is JSON but its top level is not an object.
    #[error("config file {path} holds a JSON {found}, not an object: fix or remove it")]
    ConfigNotObject {
        /// The config file.
        path: PathBuf,
        /// What the top level is (`array`, `string`, ...).
        found: &'static str,
    },

    /// A caller tried to save a config whose top level is not an object, which [`load`] would
    /// then refuse.
    ///
    /// [`load`]: crate::ConfigFile::load
    #[error(
        "refusing to write config file {path}: its top level must be an object, not a JSON {found}"
    )]
    SaveNotObject {
        /// The config file.
        path: PathBuf,
        /// What the top level was.
        found: &'static str,
    },

    /// The config file could not be written; the previous contents are intact.
    #[error("cannot write config file {path}: {source}")]
    WriteConfig {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}
