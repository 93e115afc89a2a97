//! Where plugboard keeps things: the SQLite credential store, the JSON config file, and the
//! paths of both.
//!
//! Invariants this crate maintains:
//! - directories it creates are 0700, and the store file is 0600 before any secret is written;
//! - nothing is read from, or written to, a home directory, config file or store that belongs
//!   to another user or that group or others can write ([`StoreError::NotPrivate`]);
//! - the config file and the store are never opened through a symlink, and reading creates
//!   and changes nothing;
//! - every [`CredentialStore`] write is one SQLite transaction, so it lands whole or not at all,
//!   even with many plugboard processes at once; refreshing a profile too: a [`ProfileLock`]
//!   (from [`CredentialStore::lock_profile`]) holds the write lock from reading the profile to
//!   writing its refreshed credential, so one process refreshes and the others read its result;
//! - the secret column has one tagged, stable form per credential kind, and a migration brings
//!   older stores to it;
//! - a row that does not decode is listed apart ([`DamagedRow`], never with its secret) and never
//!   fails a list, so one damaged row cannot hide the others;
//! - the config file is replaced atomically and keys unknown to this build are preserved;
//!   temporary files a killed write left behind are removed by the next write.

mod config;
mod credentials;
mod error;
mod paths;

pub use config::{ConfigFile, apply_merge_patch};
pub use credentials::{
    CredentialStore, DamagedRemoval, DamagedRow, Listing, ProfileLock, ReplacedProfile,
    StoredProfile,
};
pub use error::{EntryKind, SqliteError, StoreError};
pub use paths::{Paths, ensure_private_dir};
