//! The credential store: one SQLite row per profile, safe to use from many processes at once.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use rusqlite::types::ValueRef;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
    params,
};
use secrecy::SecretString;

use crate::error::{EntryKind, StoreError};
use crate::paths::{
    check_private, ensure_private_dir, no_follow, not_followed, open_existing_private, parent_dir,
    regular_file_at,
};

/// How long to wait for another process's write before giving up. Writes are tiny, so only a
/// stuck process holds the lock this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest pause between attempts to switch a fresh store to WAL.
const MAX_WAL_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Schema migrations, in order: entry `i` takes the store from `user_version` `i` to `i + 1`.
/// Append only; never edit a released entry.
const MIGRATIONS: &[&str] = &["CREATE TABLE profiles (
        profile_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        provenance TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX profiles_provider ON profiles (provider);"];

/// The newest schema this build knows.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SELECT_PROFILES: &str = "SELECT profile_id, provider, name, kind, secret, provenance, created_at, updated_at FROM profiles";

/// A profile as the store holds it.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    /// Which profile this is.
    pub profile_id: ProfileId,
    /// The credential, secret included.
    pub credential: Credential,
    /// When the profile was first written.
    pub created_at: SystemTime,
    /// When the profile was last written.
    pub updated_at: SystemTime,
}

/// What a list of the store returns: the profiles that decode, and the rows that do not,
/// apart, so that one damaged row never hides the others.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Profiles that decode, ordered by profile id.
    pub profiles: Vec<StoredProfile>,
    /// Rows that do not decode, ordered by their raw id.
    pub damaged: Vec<DamagedRow>,
}

/// A stored row that cannot be turned back into a profile. It never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRow {
    /// The row's id exactly as stored: the bytes [`CredentialStore::remove_damaged`] takes.
    /// Usually text, but a damaged row may hold anything, so it is kept as bytes.
    pub raw_id: Vec<u8>,
    /// The row's provider column, decoded lossily.
    pub provider: String,
    /// What is wrong with the row, in words; never the secret.
    pub problem: String,
}

impl DamagedRow {
    /// The raw id as text, with any bytes that are not UTF-8 replaced. Not safe to print as
    /// it is: it may hold control characters.
    pub fn id_lossy(&self) -> String {
        String::from_utf8_lossy(&self.raw_id).into_owned()
    }
}

/// What a write replaced in a profile that already existed: enough to tell the user what was
/// there (never its secret). A field is `None` when the old row held something undecodable.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacedProfile {
    /// The profile that was overwritten.
    pub profile_id: ProfileId,
    /// The old credential's kind.
    pub kind: Option<CredentialKind>,
    /// The old credential's provenance.
    pub provenance: Option<Provenance>,
    /// When the old credential was written.
    pub updated_at: Option<SystemTime>,
}

/// What [`CredentialStore::remove_damaged`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamagedRemoval {
    /// The damaged row was deleted.
    Removed,
    /// No row has that id.
    NotStored,
    /// The row decodes fine, so it is a profile like any other and was left alone.
    NotDamaged(ProfileId),
}

/// The SQLite credential store: a 0600 file in a 0700 directory, in WAL mode with a busy
/// timeout so concurrent plugboard processes neither lose nor tear a write.
#[derive(Debug)]
pub struct CredentialStore {
    conn: Connection,
    path: PathBuf,
}

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

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// Applies missing migrations, one `BEGIN IMMEDIATE` transaction each. The version is
    /// re-read inside the transaction because another process may have migrated while this
    /// one waited for the lock.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        // The common case, an up-to-date store, must not take the write lock.
        if check_version(&path, user_version(&self.conn).map_err(open_error(&path))?)? {
            return Ok(());
        }
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(open_error(&path))?;
            let version = user_version(&tx).map_err(open_error(&path))?;
            if check_version(&path, version)? {
                return Ok(());
            }
            let target = version + 1;
            let migrate_error = |source: rusqlite::Error| StoreError::Migrate {
                path: path.clone(),
                version: target,
                source: source.into(),
            };
            // check_version has ruled out versions outside 0..SCHEMA_VERSION.
            let Some(sql) = usize::try_from(version)
                .ok()
                .and_then(|i| MIGRATIONS.get(i))
            else {
                return Err(StoreError::UnknownSchema {
                    path,
                    found: version,
                });
            };
            tx.execute_batch(sql).map_err(migrate_error)?;
            tx.pragma_update(None, "user_version", target)
                .map_err(migrate_error)?;
            tx.commit().map_err(migrate_error)?;
        }
    }

    /// Writes every profile in one transaction: either all are stored or, on any error, none.
    /// An existing profile keeps its `created_at`; every written profile gets `updated_at = now`.
    /// Returns what was overwritten, so the caller can say what a sign-in replaced. Waits for
    /// another process's write lock as long as every statement does.
    pub fn write_profiles<'a>(
        &mut self,
        profiles: impl IntoIterator<Item = (&'a ProfileId, &'a Credential)>,
        now: SystemTime,
    ) -> Result<Vec<ReplacedProfile>, StoreError> {
        self.write_profiles_waiting(profiles, now, BUSY_TIMEOUT, || {})
    }

    /// [`CredentialStore::write_profiles`], waiting up to `lock_wait` for another process to
    /// release the write lock, and calling `on_wait` once, before waiting, if the lock is not
    /// free at once (so the caller can say why nothing happens). A sign-in that cannot be
    /// repeated (a key already issued by a service) waits longer than the default.
    pub fn write_profiles_waiting<'a>(
        &mut self,
        profiles: impl IntoIterator<Item = (&'a ProfileId, &'a Credential)>,
        now: SystemTime,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Vec<ReplacedProfile>, StoreError> {
        let path = self.path.clone();
        let now = to_millis(now);
        // Dropping the transaction on an early return rolls it back.
        let tx = self.begin_write(lock_wait, on_wait)?;
        let mut replaced = Vec::new();
        {
            let mut previous = tx
                .prepare("SELECT kind, provenance, updated_at FROM profiles WHERE profile_id = ?1")
                .map_err(write_error(&path))?;
            let mut upsert = tx
                .prepare(
                    "INSERT INTO profiles
                         (profile_id, provider, name, kind, secret, provenance, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                     ON CONFLICT (profile_id) DO UPDATE SET
                         provider = excluded.provider,
                         name = excluded.name,
                         kind = excluded.kind,
                         secret = excluded.secret,
                         provenance = excluded.provenance,
                         updated_at = excluded.updated_at",
                )
                .map_err(write_error(&path))?;
            for (id, credential) in profiles {
                // Best effort: an old row that does not decode is still replaced, and said so.
                let old = previous
                    .query_row([id.to_string()], |row| {
                        Ok(ReplacedProfile {
                            profile_id: id.clone(),
                            kind: row
                                .get::<_, String>(0)
                                .ok()
                                .and_then(|k| CredentialKind::from_name(&k)),
                            provenance: row
                                .get::<_, String>(1)
                                .ok()
                                .and_then(|p| serde_json::from_str(&p).ok()),
                            updated_at: row.get::<_, i64>(2).ok().and_then(from_millis),
                        })
                    })
                    .optional()
                    .map_err(write_error(&path))?;
                replaced.extend(old);
                // A Map of Values always serializes; the fallback only keeps the code panic-free.
                let provenance = serde_json::to_string(credential.provenance())
                    .unwrap_or_else(|_| String::from("{}"));
                upsert
                    .execute(params![
                        id.to_string(),
                        id.provider(),
                        id.name(),
                        credential.kind().as_str(),
                        credential.expose_secret(),
                        provenance,
                        now,
                    ])
                    .map_err(write_error(&path))?;
            }
        }
        tx.commit().map_err(write_error(&path))?;
        Ok(replaced)
    }

    /// Takes and releases the write lock, waiting up to `lock_wait` for it (and calling
    /// `on_wait` first if it is not free at once). A sign-in that ends with a key issued by a
    /// service calls this before it starts, so a busy store fails it before anything exists
    /// that would then be lost.
    pub fn check_writable(
        &self,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<(), StoreError> {
        let tx = self.begin_write(lock_wait, on_wait)?;
        tx.rollback().map_err(write_error(&self.path))
    }

    /// `BEGIN IMMEDIATE`, first without waiting so the caller learns that it must wait, then
    /// waiting up to `lock_wait`; every later statement waits [`BUSY_TIMEOUT`] again.
    fn begin_write(
        &self,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Transaction<'_>, StoreError> {
        let write = write_error(&self.path);
        self.conn.busy_timeout(Duration::ZERO).map_err(&write)?;
        let begun = match Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate) {
            Err(e) if is_busy(&e) => {
                on_wait();
                self.conn.busy_timeout(lock_wait).and_then(|()| {
                    Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                })
            }
            other => other,
        };
        let restored = self.conn.busy_timeout(BUSY_TIMEOUT);
        let tx = begun.map_err(&write)?;
        restored.map_err(&write)?;
        Ok(tx)
    }

    /// Every row: the profiles that decode, and apart from them the rows that do not.
    pub fn list(&self) -> Result<Listing, StoreError> {
        self.query(&format!("{SELECT_PROFILES} ORDER BY profile_id"), [])
    }

    /// The rows of one provider (by their provider column), split like [`CredentialStore::list`].
    pub fn list_provider(&self, provider: &str) -> Result<Listing, StoreError> {
        self.query(
            &format!("{SELECT_PROFILES} WHERE provider = ?1 ORDER BY profile_id"),
            [provider],
        )
    }

    /// One profile, if stored; an error if its row does not decode.
    pub fn get(&self, id: &ProfileId) -> Result<Option<StoredProfile>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("{SELECT_PROFILES} WHERE profile_id = ?1"),
                [id.to_string()],
                RawRow::read,
            )
            .optional()
            .map_err(read_error(&self.path))?;
        row.map(|row| {
            row.decode().map_err(|damaged| StoreError::Damaged {
                path: self.path.clone(),
                profile_id: damaged.id_lossy(),
                problem: damaged.problem,
            })
        })
        .transpose()
    }

    /// Deletes the row whose id is exactly `raw_id`, but only if it is damaged: the one way to
    /// address a row that has no valid profile id. A row that decodes is left alone and
    /// reported as [`DamagedRemoval::NotDamaged`].
    pub fn remove_damaged(&mut self, raw_id: &[u8]) -> Result<DamagedRemoval, StoreError> {
        let path = self.path.clone();
        // One transaction, so the row deleted is the row that was found damaged.
        let tx = self.begin_write(BUSY_TIMEOUT, || {})?;
        // Compared as the bytes it was stored as, whatever they are.
        let row = tx
            .query_row(
                &format!("{SELECT_PROFILES} WHERE profile_id = CAST(?1 AS TEXT)"),
                [raw_id],
                RawRow::read,
            )
            .optional()
            .map_err(read_error(&path))?;
        let Some(row) = row else {
            return Ok(DamagedRemoval::NotStored);
        };
        if let Ok(profile) = row.decode() {
            return Ok(DamagedRemoval::NotDamaged(profile.profile_id));
        }
        tx.execute(
            "DELETE FROM profiles WHERE profile_id = CAST(?1 AS TEXT)",
            [raw_id],
        )
        .map_err(write_error(&path))?;
        tx.commit().map_err(write_error(&path))?;
        Ok(DamagedRemoval::Removed)
    }

    /// Deletes a profile; says whether it was there.
    pub fn remove(&mut self, id: &ProfileId) -> Result<bool, StoreError> {
        let deleted = self
            .conn
            .execute(
                "DELETE FROM profiles WHERE profile_id = ?1",
                [id.to_string()],
            )
            .map_err(write_error(&self.path))?;
        Ok(deleted > 0)
    }

    /// The providers that have at least one stored profile.
    pub fn providers_with_credentials(&self) -> Result<BTreeSet<String>, StoreError> {
        let read = read_error(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT provider FROM profiles")
            .map_err(read)?;
        let providers = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(Iterator::collect)
            .map_err(read_error(&self.path))?;
        Ok(providers)
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Listing, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(read_error(&self.path))?;
        let rows: Vec<RawRow> = stmt
            .query_map(params, RawRow::read)
            .and_then(Iterator::collect)
            .map_err(read_error(&self.path))?;
        let mut listing = Listing::default();
        for row in rows {
            match row.decode() {
                Ok(profile) => listing.profiles.push(profile),
                Err(damaged) => listing.damaged.push(damaged),
            }
        }
        // SQLite sorts the joined text, where `a-b:x` comes before `a:x`; callers expect the
        // order of `ProfileId` itself, as in a `BTreeMap`.
        listing
            .profiles
            .sort_by(|a, b| a.profile_id.cmp(&b.profile_id));
        listing.damaged.sort_by(|a, b| a.raw_id.cmp(&b.raw_id));
        Ok(listing)
    }
}

/// Whether a store at `version` is up to date; an error if it is newer than this build.
fn check_version(path: &Path, version: i64) -> Result<bool, StoreError> {
    if version < 0 {
        return Err(StoreError::UnknownSchema {
            path: path.to_owned(),
            found: version,
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version == SCHEMA_VERSION)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
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

/// A row as read from SQLite, before any decoding that could fail for a damaged store. Every
/// column is kept as whatever SQLite holds, so reading never fails on one bad row.
struct RawRow {
    profile_id: Vec<u8>,
    provider: Vec<u8>,
    name: Vec<u8>,
    kind: Vec<u8>,
    secret: Vec<u8>,
    provenance: Vec<u8>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
}

impl RawRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        let bytes = |i| -> rusqlite::Result<Vec<u8>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                // A STRICT table holds only text here; anything else fails to decode later.
                _ => Vec::new(),
            })
        };
        let int = |i| -> rusqlite::Result<Option<i64>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Integer(n) => Some(n),
                _ => None,
            })
        };
        Ok(Self {
            profile_id: bytes(0)?,
            provider: bytes(1)?,
            name: bytes(2)?,
            kind: bytes(3)?,
            secret: bytes(4)?,
            provenance: bytes(5)?,
            created_at: int(6)?,
            updated_at: int(7)?,
        })
    }

    /// The profile, or the row as damaged. Problems are described without ever quoting the
    /// secret.
    fn decode(self) -> Result<StoredProfile, DamagedRow> {
        let damaged = |problem: String| DamagedRow {
            raw_id: self.profile_id.clone(),
            provider: String::from_utf8_lossy(&self.provider).into_owned(),
            problem,
        };
        let utf8 = |column: &str, bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| damaged(format!("{column} is not valid UTF-8")))
        };
        let profile_id: ProfileId = utf8("the id", &self.profile_id)?
            .parse()
            .map_err(|e| damaged(format!("{e}")))?;
        if profile_id.provider().as_bytes() != self.provider.as_slice()
            || profile_id.name().as_bytes() != self.name.as_slice()
        {
            return Err(damaged(String::from(
                "provider and name columns disagree with the id",
            )));
        }
        let kind_name = utf8("the kind", &self.kind)?;
        let kind = CredentialKind::from_name(&kind_name)
            .ok_or_else(|| damaged(format!("unknown credential kind {kind_name:?}")))?;
        let provenance: Provenance =
            serde_json::from_str(&utf8("the provenance", &self.provenance)?)
                .map_err(|e| damaged(format!("provenance is not a JSON object: {e}")))?;
        let created_at = self
            .created_at
            .and_then(from_millis)
            .ok_or_else(|| damaged(String::from("creation time out of range")))?;
        let updated_at = self
            .updated_at
            .and_then(from_millis)
            .ok_or_else(|| damaged(String::from("update time out of range")))?;
        // Only what is wrong with the secret is said, never any of it.
        let Ok(secret) = std::str::from_utf8(&self.secret) else {
            return Err(damaged(String::from("the secret is not valid UTF-8")));
        };
        if secret.trim().is_empty() {
            return Err(damaged(String::from("the secret is empty")));
        }
        if secret.chars().any(char::is_control) {
            return Err(damaged(String::from(
                "the secret contains control characters",
            )));
        }
        Ok(StoredProfile {
            profile_id,
            credential: Credential::new(kind, SecretString::from(secret.to_owned()), provenance),
            created_at,
            updated_at,
        })
    }
}

/// Unix milliseconds, saturating far outside any plausible clock.
fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

fn from_millis(ms: i64) -> Option<SystemTime> {
    let offset = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Maps a SQLite error to `Busy` when another process held the lock past the timeout, and to
/// what `other` builds otherwise.
fn sqlite_error(
    path: &Path,
    other: fn(PathBuf, rusqlite::Error) -> StoreError,
) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| {
        if is_busy(&source) {
            StoreError::Busy {
                path: path.to_owned(),
                source: source.into(),
            }
        } else {
            other(path.to_owned(), source)
        }
    }
}

fn open_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Open {
        path,
        source: source.into(),
    })
}

fn read_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Read {
        path,
        source: source.into(),
    })
}

fn write_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Write {
        path,
        source: source.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn id(s: &str) -> ProfileId {
        s.parse().unwrap()
    }

    fn credential(secret: &str, flow: &str) -> Credential {
        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), flow.into());
        provenance.insert("user_id".into(), 42.into());
        Credential::new(CredentialKind::ApiKey, secret.into(), provenance)
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn fresh() -> (TempDir, PathBuf, CredentialStore) {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("home/credentials.sqlite");
        let store = CredentialStore::open(&path).unwrap();
        (tmp, path, store)
    }

    /// The ids of a listing that has no damaged rows.
    #[track_caller]
    fn ids(listing: &Listing) -> Vec<String> {
        assert!(listing.damaged.is_empty(), "{listing:?}");
        listing
            .profiles
            .iter()
            .map(|p| p.profile_id.to_string())
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn store_file_is_created_0600_in_a_0700_directory_and_so_is_its_wal() {
        use crate::paths::tests::mode;
        let (_tmp, path, mut store) = fresh();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        store
            .write_profiles(
                [(&id("openrouter:default"), &credential("sk-1", "x"))],
                at(1),
            )
            .unwrap();
        let wal = path.with_extension("sqlite-wal");
        assert!(
            wal.exists(),
            "WAL file should exist while the store is open"
        );
        assert_eq!(mode(&wal), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_store_readable_by_others_is_tightened_to_0600() {
        use std::os::unix::fs::PermissionsExt;
        let (_tmp, path, store) = fresh();
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _store = CredentialStore::open(&path).unwrap();
        assert_eq!(crate::paths::tests::mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn open_existing_reads_a_store_readable_by_others_without_changing_it() {
        use crate::paths::tests::{mode, set_mode};
        let (_tmp, path, store) = fresh();
        drop(store);
        set_mode(&path, 0o644);
        let store = CredentialStore::open_existing(&path).unwrap().unwrap();
        assert!(store.list().unwrap().profiles.is_empty());
        assert_eq!(mode(&path), 0o644);
    }

    #[cfg(unix)]
    #[test]
    fn a_store_symlink_is_refused_and_its_target_neither_created_nor_changed() {
        use crate::paths::tests::{mode, set_mode};
        let tmp = TempDir::new().unwrap();
        let home = tmp.path().join("home");
        ensure_private_dir(&home).unwrap();
        let path = home.join("credentials.sqlite");
        let dangling = tmp.path().join("nowhere.sqlite");
        let readable = tmp.path().join("notes.txt");
        std::fs::write(&readable, "my notes").unwrap();
        set_mode(&readable, 0o644);

        for target in [&dangling, &readable] {
            std::os::unix::fs::symlink(target, &path).unwrap();
            for err in [
                CredentialStore::open_existing(&path).unwrap_err(),
                CredentialStore::open(&path).unwrap_err(),
            ] {
                assert!(
                    matches!(&err, StoreError::Symlink { path: p } if *p == path),
                    "{err:?}"
                );
            }
            std::fs::remove_file(&path).unwrap();
        }
        assert!(!dangling.exists());
        assert_eq!(mode(&readable), 0o644);
        assert_eq!(std::fs::read_to_string(&readable).unwrap(), "my notes");
        assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_store_others_own_or_can_write_is_refused_and_left_alone() {
        use crate::paths::tests::{give_away, mode, set_mode};
        let (_tmp, path, store) = fresh();
        drop(store);
        for bad in [0o660, 0o606, 0o666] {
            set_mode(&path, bad);
            for err in [
                CredentialStore::open_existing(&path).unwrap_err(),
                CredentialStore::open(&path).unwrap_err(),
            ] {
                assert!(
                    matches!(&err, StoreError::NotPrivate { kind: EntryKind::File, mode, .. } if *mode == bad),
                    "{err:?}"
                );
            }
            assert_eq!(mode(&path), bad);
        }
        set_mode(&path, 0o600);
        give_away(&path);
        for err in [
            CredentialStore::open_existing(&path).unwrap_err(),
            CredentialStore::open(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::NotPrivate { owner: 12345, .. }),
                "{err:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_store_in_a_home_others_can_write_is_refused() {
        use crate::paths::tests::set_mode;
        let (_tmp, path, store) = fresh();
        drop(store);
        let home = path.parent().unwrap();
        set_mode(home, 0o777);
        for err in [
            CredentialStore::open_existing(&path).unwrap_err(),
            CredentialStore::open(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::NotPrivate { kind: EntryKind::Directory, mode: 0o777, path: p, .. } if p == home),
                "{err:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_home_reached_through_a_symlinked_directory_still_opens() {
        let (tmp, path, mut store) = fresh();
        store
            .write_profiles([(&id("a:x"), &credential("sk-a", "paste"))], at(1))
            .unwrap();
        drop(store);
        let linked_home = tmp.path().join("linked");
        std::os::unix::fs::symlink(path.parent().unwrap(), &linked_home).unwrap();
        let through_link = linked_home.join("credentials.sqlite");
        let store = CredentialStore::open_existing(&through_link)
            .unwrap()
            .unwrap();
        assert_eq!(store.path(), through_link);
        assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
        drop(store);
        CredentialStore::open(&through_link).unwrap();
    }

    #[test]
    fn the_store_runs_in_wal_mode_with_the_current_schema() {
        let (_tmp, path, store) = fresh();
        drop(store);
        // A fresh connection sees what was persisted in the file, not per-connection state.
        let raw = Connection::open(&path).unwrap();
        let mode: String = raw
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(user_version(&raw).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn profiles_round_trip_through_write_get_list_and_remove() {
        let (_tmp, _path, mut store) = fresh();
        let a = id("a:x");
        let ab = id("a-b:x");
        let or = id("openrouter:work");
        let mut oauth = credential("sk-or-v1-oauth", "oauth-pkce");
        oauth = Credential::new(
            CredentialKind::OAuth,
            oauth.expose_secret().into(),
            oauth.provenance().clone(),
        );
        store
            .write_profiles(
                [
                    (&or, &oauth),
                    (&a, &credential("sk-a", "paste")),
                    (&ab, &credential("sk-ab", "paste")),
                ],
                at(1_700_000_000_123),
            )
            .unwrap();

        let got = store.get(&or).unwrap().unwrap();
        assert_eq!(got.profile_id, or);
        assert_eq!(got.credential.kind(), CredentialKind::OAuth);
        assert_eq!(got.credential.expose_secret(), "sk-or-v1-oauth");
        assert_eq!(got.credential.provenance(), oauth.provenance());
        assert_eq!(got.created_at, at(1_700_000_000_123));
        assert_eq!(got.updated_at, at(1_700_000_000_123));

        // Ordered like ProfileId, not like the joined text (where "a-b:x" < "a:x").
        assert_eq!(
            ids(&store.list().unwrap()),
            ["a:x", "a-b:x", "openrouter:work"]
        );
        assert_eq!(ids(&store.list_provider("a").unwrap()), ["a:x"]);
        assert!(ids(&store.list_provider("nobody").unwrap()).is_empty());
        assert_eq!(
            store
                .providers_with_credentials()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["a", "a-b", "openrouter"]
        );

        assert!(store.remove(&a).unwrap());
        assert!(!store.remove(&a).unwrap());
        assert!(store.get(&a).unwrap().is_none());
        assert_eq!(ids(&store.list().unwrap()), ["a-b:x", "openrouter:work"]);
    }

    #[test]
    fn rewriting_a_profile_keeps_created_at_and_moves_updated_at() {
        let (_tmp, _path, mut store) = fresh();
        let p = id("openrouter:default");
        let first = store
            .write_profiles([(&p, &credential("sk-old", "paste"))], at(1_000))
            .unwrap();
        assert!(first.is_empty(), "nothing was there to replace: {first:?}");
        let second = store
            .write_profiles([(&p, &credential("sk-new", "oauth-pkce"))], at(2_000))
            .unwrap();
        assert_eq!(
            second,
            [ReplacedProfile {
                profile_id: p.clone(),
                kind: Some(CredentialKind::ApiKey),
                provenance: Some(credential("sk-old", "paste").provenance().clone()),
                updated_at: Some(at(1_000)),
            }]
        );

        let got = store.get(&p).unwrap().unwrap();
        assert_eq!(got.created_at, at(1_000));
        assert_eq!(got.updated_at, at(2_000));
        assert_eq!(got.credential.expose_secret(), "sk-new");
        assert_eq!(got.credential.provenance()["auth_flow"], "oauth-pkce");
        assert_eq!(store.list().unwrap().profiles.len(), 1);
    }

    #[test]
    fn a_failed_write_keeps_nothing_from_that_call() {
        let (_tmp, path, mut store) = fresh();
        let kept = id("openrouter:default");
        store
            .write_profiles([(&kept, &credential("sk-old", "paste"))], at(1_000))
            .unwrap();
        // Make the second row of the next call fail, after the first has been written.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON profiles WHEN NEW.profile_id = 'bad:x'
                 BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
            )
            .unwrap();

        let err = store
            .write_profiles(
                [
                    (&kept, &credential("sk-changed", "paste")),
                    (&id("new:x"), &credential("sk-new", "paste")),
                    (&id("bad:x"), &credential("sk-bad", "paste")),
                ],
                at(2_000),
            )
            .unwrap_err();

        assert!(matches!(err, StoreError::Write { .. }), "{err:?}");
        assert!(!err.to_string().contains("sk-"), "{err}");
        assert_eq!(ids(&store.list().unwrap()), ["openrouter:default"]);
        let got = store.get(&kept).unwrap().unwrap();
        assert_eq!(got.credential.expose_secret(), "sk-old");
        assert_eq!(got.updated_at, at(1_000));
    }

    #[test]
    fn open_existing_on_a_missing_file_returns_none_and_creates_nothing() {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("home");
        let path = dir.join("credentials.sqlite");
        assert!(CredentialStore::open_existing(&path).unwrap().is_none());
        assert!(!dir.exists());

        CredentialStore::open(&path).unwrap();
        let store = CredentialStore::open_existing(&path).unwrap().unwrap();
        assert_eq!(store.path(), path);
    }

    #[test]
    fn reopening_an_up_to_date_store_changes_nothing() {
        let (_tmp, path, mut store) = fresh();
        store
            .write_profiles([(&id("a:x"), &credential("sk-a", "paste"))], at(1))
            .unwrap();
        drop(store);
        let store = CredentialStore::open(&path).unwrap();
        assert_eq!(user_version(&store.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
    }

    #[test]
    fn a_store_written_by_a_newer_plugboard_is_refused() {
        let (_tmp, path, store) = fresh();
        drop(store);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();

        let err = CredentialStore::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer plugboard"), "{err}");
        assert!(err.to_string().contains("upgrade plugboard"), "{err}");
    }

    /// Inserts a row as-is, bypassing every check, the way damage (or a buggy tool) would.
    fn insert_raw(
        path: &Path,
        profile_id: &[u8],
        provider: &str,
        kind: &str,
        secret: &[u8],
        provenance: &str,
    ) {
        Connection::open(path)
            .unwrap()
            .execute(
                "INSERT INTO profiles VALUES (CAST(?1 AS TEXT), ?2, 'n', ?3, CAST(?4 AS TEXT), ?5, 0, 0)",
                params![profile_id, provider, kind, secret, provenance],
            )
            .unwrap();
    }

    #[test]
    fn damaged_rows_are_listed_apart_from_the_good_ones_and_never_with_the_secret() {
        // (raw id, provider column, kind, secret, provenance, what the problem mentions)
        type Case<'a> = (&'a [u8], &'a str, &'a str, &'a [u8], &'a str, &'a str);
        let cases: [Case; 8] = [
            (
                b"openrouter:n",
                "openrouter",
                "magic",
                b"sk-topsecret",
                "{}",
                "unknown credential kind",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                b"sk-topsecret",
                "not json",
                "provenance",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                b"sk-topsecret",
                "[1]",
                "provenance",
            ),
            (
                b"openrouter:bad name",
                "openrouter",
                "api_key",
                b"sk-topsecret",
                "{}",
                "invalid profile id",
            ),
            (
                b"openrouter:n",
                "other",
                "api_key",
                b"sk-topsecret",
                "{}",
                "disagree",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                b"sk-topsecret\xff",
                "{}",
                "secret is not valid UTF-8",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                b"  ",
                "{}",
                "secret is empty",
            ),
            (
                b"openrouter:\xffn",
                "openrouter",
                "api_key",
                b"sk-topsecret",
                "{}",
                "id is not valid UTF-8",
            ),
        ];
        for (raw_id, provider, kind, secret, provenance, problem) in cases {
            let (_tmp, path, mut store) = fresh();
            let good = id("openrouter:good");
            store
                .write_profiles([(&good, &credential("sk-good", "paste"))], at(1))
                .unwrap();
            insert_raw(&path, raw_id, provider, kind, secret, provenance);

            for listing in [
                store.list().unwrap(),
                store.list_provider(provider).unwrap(),
            ] {
                let good_ids: Vec<_> = listing
                    .profiles
                    .iter()
                    .map(|p| p.profile_id.clone())
                    .collect();
                if provider == "openrouter" {
                    assert_eq!(good_ids, std::slice::from_ref(&good), "{raw_id:?}");
                }
                let [damaged] = listing.damaged.as_slice() else {
                    panic!("{raw_id:?}: {listing:?}")
                };
                assert_eq!(damaged.raw_id, raw_id);
                assert_eq!(damaged.provider, provider);
                assert!(damaged.problem.contains(problem), "{damaged:?}");
                assert!(!format!("{damaged:?}").contains("topsecret"), "{damaged:?}");
            }
            if let Ok(parsed) = std::str::from_utf8(raw_id)
                .unwrap_or("")
                .parse::<ProfileId>()
            {
                let err = store.get(&parsed).unwrap_err();
                assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
                assert!(!err.to_string().contains("topsecret"), "{err}");
            }
        }
    }

    #[test]
    fn remove_damaged_deletes_exactly_that_row_and_leaves_good_profiles_alone() {
        let (_tmp, path, mut store) = fresh();
        let good = id("openrouter:good");
        store
            .write_profiles([(&good, &credential("sk-good", "paste"))], at(1))
            .unwrap();
        insert_raw(
            &path,
            b"openrouter:bad name",
            "openrouter",
            "api_key",
            b"sk-a",
            "{}",
        );
        insert_raw(
            &path,
            b"openrouter:\x1b[2Jx\xff",
            "openrouter",
            "api_key",
            b"sk-b",
            "{}",
        );
        insert_raw(
            &path,
            b"openrouter:bad kind",
            "openrouter",
            "magic",
            b"sk-c",
            "{}",
        );

        assert_eq!(
            store.remove_damaged(b"openrouter:good").unwrap(),
            DamagedRemoval::NotDamaged(good.clone())
        );
        assert_eq!(
            store.remove_damaged(b"openrouter:bad").unwrap(),
            DamagedRemoval::NotStored
        );
        assert_eq!(
            store.remove_damaged(b"openrouter:\x1b[2Jx\xff").unwrap(),
            DamagedRemoval::Removed
        );
        assert_eq!(
            store.remove_damaged(b"openrouter:bad name").unwrap(),
            DamagedRemoval::Removed
        );
        assert_eq!(
            store.remove_damaged(b"openrouter:bad name").unwrap(),
            DamagedRemoval::NotStored
        );

        let listing = store.list().unwrap();
        assert_eq!(listing.profiles.len(), 1);
        let left: Vec<_> = listing.damaged.iter().map(|d| d.raw_id.clone()).collect();
        assert_eq!(left, [b"openrouter:bad kind".to_vec()]);
    }

    /// Another connection holding the write lock, as another plugboard process would.
    fn hold_write_lock(path: &Path) -> Connection {
        let holder = Connection::open(path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        holder
    }

    #[test]
    fn a_write_waits_only_as_long_as_it_is_told_and_says_it_is_waiting() {
        let (_tmp, path, mut store) = fresh();
        let p = id("openrouter:default");
        let _holder = hold_write_lock(&path);
        let wait = Duration::from_millis(300);

        let waited = std::cell::Cell::new(0);
        let started = Instant::now();
        let err = store
            .write_profiles_waiting([(&p, &credential("sk-1", "paste"))], at(1), wait, || {
                waited.set(waited.get() + 1)
            })
            .unwrap_err();
        assert!(started.elapsed() >= wait, "{:?}", started.elapsed());
        assert!(started.elapsed() < BUSY_TIMEOUT, "{:?}", started.elapsed());
        assert_eq!(waited.get(), 1);
        assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");

        let err = store
            .check_writable(wait, || waited.set(waited.get() + 1))
            .unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
        assert_eq!(waited.get(), 2);
        drop(_holder);
        assert!(ids(&store.list().unwrap()).is_empty());
    }

    #[test]
    fn a_write_that_waited_lands_once_the_lock_is_released() {
        let (_tmp, path, mut store) = fresh();
        let p = id("openrouter:default");
        let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let holder = hold_write_lock(&path);
            held_tx.send(()).unwrap();
            // Released only once the writer says it is waiting: no sleeping and hoping.
            waiting_rx.recv().unwrap();
            holder.execute_batch("ROLLBACK").unwrap();
        });
        held_rx.recv().unwrap();

        store
            .write_profiles_waiting(
                [(&p, &credential("sk-1", "paste"))],
                at(1),
                Duration::from_secs(60),
                || waiting_tx.send(()).unwrap(),
            )
            .unwrap();
        holder.join().unwrap();
        assert_eq!(ids(&store.list().unwrap()), ["openrouter:default"]);
    }

    #[test]
    fn a_free_store_is_written_without_a_word_about_waiting() {
        let (_tmp, _path, mut store) = fresh();
        store
            .check_writable(Duration::ZERO, || panic!("nobody holds the lock"))
            .unwrap();
        store
            .write_profiles_waiting(
                [(&id("a:x"), &credential("sk-a", "paste"))],
                at(1),
                Duration::ZERO,
                || panic!("nobody holds the lock"),
            )
            .unwrap();
        assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
    }

    #[test]
    fn times_are_stored_as_unix_milliseconds() {
        for ms in [0_i64, 1, 1_700_000_000_123, -1_500] {
            assert_eq!(to_millis(from_millis(ms).unwrap()), ms);
        }
        assert_eq!(to_millis(at(1_234) + Duration::from_micros(999)), 1_234);
    }
}
