//! Opening the store: the file created private before SQLite sees it, the connection made
//! without following a symlink, then configured (busy timeout, WAL) and migrated.

use std::fs::OpenOptions;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::sqlite_error::{is_busy, open_error};
use super::{BUSY_TIMEOUT, CredentialStore};
use crate::error::{EntryKind, StoreError};
use crate::paths::{
    check_private, ensure_private_dir, no_follow, not_followed, open_existing_private, parent_dir,
    regular_file_at,
};

/// The longest pause between attempts to switch a fresh store to WAL.
const MAX_WAL_RETRY_PAUSE: Duration = Duration::from_millis(20);

impl CredentialStore {
    /// Opens the store at `path`, creating it (and its directory) if missing and bringing its
    /// schema up to date. Refuses a store or directory another user owns or can write, and a
    /// symlink; a store readable by others is tightened to 0600.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        ensure_private_dir(parent_dir(path))?;
        create_private_file(path)?;
        Self::connect(path)
    }

    /// Opens the store if it exists, with the same checks as [`CredentialStore::open`].
    /// Read-only commands use this so that merely looking never creates a store or a
    /// directory, nor changes a file's permissions (SQLite may add its `-wal` and `-shm` files
    /// beside an existing store).
    pub fn open_existing(path: &Path) -> Result<Option<Self>, StoreError> {
        match open_existing_private(path)? {
            Some(file) => {
                drop(file);
                Self::connect(path).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Connects to a store file that has passed the checks, without letting SQLite create a
    /// file or follow a symlink.
    fn connect(path: &Path) -> Result<Self, StoreError> {
        // SQLite's no-follow refuses a link anywhere in the path, but only the file itself
        // must not be one: a home reached through a symlinked directory is fine.
        let dir = parent_dir(path);
        let dir = std::fs::canonicalize(dir).map_err(|source| StoreError::Inspect {
            path: dir.to_owned(),
            source,
        })?;
        let resolved = match path.file_name() {
            Some(name) => dir.join(name),
            None => path.to_owned(),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = match Connection::open_with_flags(&resolved, flags) {
            Ok(conn) => conn,
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) && is_symlink(path) => {
                return Err(StoreError::Symlink {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(open_error(path)(e)),
        };
        let mut store = Self {
            conn,
            path: path.to_owned(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The busy timeout comes first so that every later statement waits for other processes
    /// instead of failing.
    fn configure(&self) -> Result<(), StoreError> {
        let conn = &self.conn;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(open_error(&self.path))?;
        self.enable_wal()?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error(&self.path))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error(&self.path))?;
        Ok(())
    }

    /// Switches the file to WAL, which persists in the file, so this is a no-op after the first
    /// open. While several processes open a fresh store at once, SQLite refuses all but one
    /// switch with `SQLITE_BUSY` without consulting the busy timeout (waiting could deadlock),
    /// so this retries until the busy timeout has passed.
    fn enable_wal(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            let switched = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                    row.get::<_, String>(0)
                });
            match switched {
                // A filesystem without shared-memory support keeps the old journal mode; the
                // store still works there, transactions and all, just with less concurrency.
                Ok(_) => return Ok(()),
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_WAL_RETRY_PAUSE);
                }
                Err(e) => return Err(open_error(&self.path)(e)),
            }
        }
    }
}

/// Creates the store file with mode 0600 before SQLite sees it, since SQLite would create it
/// with the umask's default (often world-readable), and tightens an existing file that is
/// readable by others. Refuses a symlink, and a file another user owns or can write. SQLite
/// gives its `-wal` and `-shm` files the database file's mode.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    regular_file_at(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let create_error = |path: &Path, source| StoreError::CreateStore {
        path: path.to_owned(),
        source,
    };
    let file = no_follow(&mut options)
        .open(path)
        .map_err(|source| not_followed(path, source, create_error))?;
    // Through the open handle, so a file swapped in meanwhile is not the one checked or changed.
    let permissions_error = |source| StoreError::Permissions {
        path: path.to_owned(),
        source,
    };
    let meta = file.metadata().map_err(permissions_error)?;
    check_private(path, &meta, EntryKind::File)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(permissions_error)?;
        }
    }
    drop(file);
    Ok(())
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
#[path = "open_tests.rs"]
mod tests;
