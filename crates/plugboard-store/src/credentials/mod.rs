//! The credential store: one SQLite row per profile, safe to use from many processes at once.
//!
//! Each part has its own file: opening and configuring the connection (`open`), the schema and
//! its migrations (`schema`), the stable form of the secret column (`material`), turning a row
//! back into a profile (`rows`), reading (`read`), writing (`write`), refreshing one profile
//! under the write lock (`lock`), and what a SQLite failure becomes (`sqlite_error`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

mod lock;
mod material;
mod open;
mod read;
mod rows;
mod schema;
mod sqlite_error;
#[cfg(test)]
mod test_support;
mod write;

pub use lock::ProfileLock;
pub use read::Listing;
pub use rows::{DamagedRow, StoredProfile};
pub use write::{DamagedRemoval, ReplacedProfile};

/// How long to wait for another process's write before giving up. Writes are tiny, so only a
/// stuck process holds the lock this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite credential store: a 0600 file in a 0700 directory, in WAL mode with a busy
/// timeout so concurrent plugboard processes neither lose nor tear a write.
#[derive(Debug)]
pub struct CredentialStore {
    conn: Connection,
    path: PathBuf,
}

impl CredentialStore {
    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
