//! Everything that can go wrong while finding, reading or writing plugboard's files.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Whether an error is about a directory or a file, so the fix can be worded for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// plugboard's home directory: `PLUGBOARD_HOME`, or its own platform config or data
    /// directory.
    Directory,
    /// The config file or the credential store.
    File,
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Directory => "directory",
            Self::File => "file",
        })
    }
}

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
        "cannot create directory {path} (check its parent's permissions or set PLUGBOARD_HOME)"
    )]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// The owner and permissions of a file or directory could not be read.
    #[error("cannot check the owner and permissions of {path}")]
    Inspect {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// A directory holding plugboard's files, or one of those files, belongs to someone else
    /// or can be written by group or others, so its contents cannot be trusted (a planted
    /// config could send the stored key elsewhere). Nothing was read from it.
    #[error(
        "refusing to use {kind} {path} (mode {mode:04o}, owner uid {owner}): {}",
        why_not_private(*.mode, *.owner, *.user)
    )]
    NotPrivate {
        /// The file or directory.
        path: PathBuf,
        /// Whether it is plugboard's home directory or a file in it.
        kind: EntryKind,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
        /// Its owner's uid.
        owner: u32,
        /// The uid plugboard runs as, which should own it.
        user: u32,
    },

    /// The config file or the credential store is a symbolic link, which plugboard never
    /// follows: the link's target could be anything, anywhere.
    #[error("{path} is a symlink, which plugboard does not follow")]
    Symlink {
        /// The link.
        path: PathBuf,
    },

    /// Something other than a regular file (a directory, a socket, ...) is where the config file
    /// or the credential store should be.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },

    /// The credential store file could not be created or its permissions checked.
    #[error("cannot create credential store {path} (check the directory's permissions)")]
    CreateStore {
        /// The store file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// A file holding secrets had permissions that let others read it, and tightening them
    /// failed.
    #[error("cannot restrict {path} to its owner (mode 0600; fix its permissions by hand)")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// SQLite refused to open the store or to set it up.
    #[error("cannot open credential store {path}")]
    Open {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: SqliteError,
    },

    /// A schema migration failed; the store is left at its previous version.
    #[error("cannot upgrade credential store {path} to schema {version}")]
    Migrate {
        /// The store file.
        path: PathBuf,
        /// The schema version being migrated to.
        version: i64,
        /// What SQLite said.
        #[source]
        source: SqliteError,
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
    #[error("credential store {path} is locked by another plugboard process (try again)")]
    Busy {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: SqliteError,
    },

    /// Reading from the store failed.
    #[error("cannot read credential store {path}")]
    Read {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: SqliteError,
    },

    /// Writing to the store failed; nothing from the failed call was kept.
    #[error("cannot write credential store {path} (nothing was changed)")]
    Write {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: SqliteError,
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
    #[error("cannot read config file {path}")]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },

    /// The config file is not JSON.
    #[error("config file {path} is not valid JSON (fix or remove it)")]
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
    #[error("cannot write config file {path}")]
    WriteConfig {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}

/// Why a [`StoreError::NotPrivate`] entry cannot be trusted, wrong owner first.
fn why_not_private(mode: u32, owner: u32, user: u32) -> String {
    if owner != user {
        format!("it belongs to another user, not you (uid {user})")
    } else if mode & 0o022 != 0 {
        String::from("group or others can write it")
    } else {
        // Not produced by this crate; kept total so the message never lies.
        String::from("it is not private")
    }
}

/// What SQLite said, said once. rusqlite's `SqliteFailure` displays SQLite's message and also
/// returns the same failure as its `source()`, so a chain printed whole would repeat it; this
/// keeps the message and drops that duplicate.
#[derive(Debug)]
pub struct SqliteError(rusqlite::Error);

impl SqliteError {
    /// SQLite's result code, when SQLite itself refused.
    pub fn code(&self) -> Option<rusqlite::ErrorCode> {
        self.0.sqlite_error_code()
    }
}

impl From<rusqlite::Error> for SqliteError {
    fn from(error: rusqlite::Error) -> Self {
        Self(error)
    }
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            rusqlite::Error::SqliteFailure(..) => None,
            other => other.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// One of every variant. The exhaustive match in `variant_index` stops a new variant from
    /// being added without joining this list.
    fn every_variant() -> Vec<StoreError> {
        let path = || PathBuf::from("/home/u/.config/plugboard/x");
        let io = || io::Error::other("the disk said no");
        let sqlite = || -> SqliteError {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("database is locked by the test".into()),
            )
            .into()
        };
        let json = || serde_json::from_str::<serde_json::Value>("{\n oops").unwrap_err();
        vec![
            StoreError::NoHome,
            StoreError::CreateDir {
                path: path(),
                source: io(),
            },
            StoreError::Inspect {
                path: path(),
                source: io(),
            },
            StoreError::NotPrivate {
                path: path(),
                kind: EntryKind::Directory,
                mode: 0o777,
                owner: 0,
                user: 0,
            },
            StoreError::Symlink { path: path() },
            StoreError::NotAFile { path: path() },
            StoreError::CreateStore {
                path: path(),
                source: io(),
            },
            StoreError::Permissions {
                path: path(),
                source: io(),
            },
            StoreError::Open {
                path: path(),
                source: sqlite(),
            },
            StoreError::Migrate {
                path: path(),
                version: 2,
                source: sqlite(),
            },
            StoreError::TooNew {
                path: path(),
                found: 9,
                known: 1,
            },
            StoreError::UnknownSchema {
                path: path(),
                found: -1,
            },
            StoreError::Busy {
                path: path(),
                source: sqlite(),
            },
            StoreError::Read {
                path: path(),
                source: sqlite(),
            },
            StoreError::Write {
                path: path(),
                source: sqlite(),
            },
            StoreError::Damaged {
                path: path(),
                profile_id: "openrouter:x".into(),
                problem: "unknown credential kind".into(),
            },
            StoreError::ReadConfig {
                path: path(),
                source: io(),
            },
            StoreError::InvalidConfig {
                path: path(),
                line: 2,
                source: json(),
            },
            StoreError::ConfigNotObject {
                path: path(),
                found: "array",
            },
            StoreError::SaveNotObject {
                path: path(),
                found: "array",
            },
            StoreError::WriteConfig {
                path: path(),
                source: io(),
            },
        ]
    }

    fn variant_index(e: &StoreError) -> usize {
        match e {
            StoreError::NoHome => 0,
            StoreError::CreateDir { .. } => 1,
            StoreError::Inspect { .. } => 2,
            StoreError::NotPrivate { .. } => 3,
            StoreError::Symlink { .. } => 4,
            StoreError::NotAFile { .. } => 5,
            StoreError::CreateStore { .. } => 6,
            StoreError::Permissions { .. } => 7,
            StoreError::Open { .. } => 8,
            StoreError::Migrate { .. } => 9,
            StoreError::TooNew { .. } => 10,
            StoreError::UnknownSchema { .. } => 11,
            StoreError::Busy { .. } => 12,
            StoreError::Read { .. } => 13,
            StoreError::Write { .. } => 14,
            StoreError::Damaged { .. } => 15,
            StoreError::ReadConfig { .. } => 16,
            StoreError::InvalidConfig { .. } => 17,
            StoreError::ConfigNotObject { .. } => 18,
            StoreError::SaveNotObject { .. } => 19,
            StoreError::WriteConfig { .. } => 20,
        }
    }

    #[test]
    fn the_list_holds_every_variant_once() {
        let indexes: Vec<usize> = every_variant().iter().map(variant_index).collect();
        assert_eq!(indexes, (0..=20).collect::<Vec<_>>());
    }

    #[test]
    fn no_error_repeats_its_source_in_its_message() {
        let mut with_source = 0;
        for e in every_variant() {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message}");
            if let Some(source) = e.source() {
                with_source += 1;
                let said = source.to_string();
                assert!(
                    !message.contains(&said),
                    "{e:?} repeats {said:?}: {message}"
                );
                // Nor the distinctive part of it, however the source words it.
                for part in ["the disk said no", "locked by the test", "line 2 column"] {
                    assert!(!message.contains(part), "{e:?}: {message}");
                }
            }
        }
        assert_eq!(with_source, 12, "variants with a source");
    }

    #[test]
    fn not_private_names_the_path_mode_owner_and_what_is_wrong() {
        let not_private = |kind, mode, owner| {
            StoreError::NotPrivate {
                path: "/h".into(),
                kind,
                mode,
                owner,
                user: 1000,
            }
            .to_string()
        };
        assert_eq!(
            not_private(EntryKind::Directory, 0o777, 1000),
            "refusing to use directory /h (mode 0777, owner uid 1000): group or others can write it"
        );
        assert_eq!(
            not_private(EntryKind::File, 0o600, 12345),
            "refusing to use file /h (mode 0600, owner uid 12345): it belongs to another user, not you (uid 1000)"
        );
    }

    #[test]
    fn sqlites_own_message_is_said_once_in_the_whole_chain() {
        for message in [Some("database is locked".to_owned()), None] {
            let error = StoreError::Busy {
                path: PathBuf::from("/h/credentials.sqlite"),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    message.clone(),
                )
                .into(),
            };
            let mut chain = vec![error.to_string()];
            let mut cause = error.source();
            while let Some(c) = cause {
                chain.push(c.to_string());
                cause = c.source();
            }
            assert_eq!(chain.len(), 2, "{message:?}: {chain:?}");
            assert!(chain[1].contains("database is locked"), "{chain:?}");
        }
    }
}
