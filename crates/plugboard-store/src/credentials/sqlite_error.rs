//! What a SQLite failure becomes: [`StoreError::Busy`] when another process held the lock too
//! long, otherwise the error of the step that failed (opening, reading or writing).

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::error::StoreError;

pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
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

pub(super) fn open_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Open {
        path,
        source: source.into(),
    })
}

pub(super) fn read_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Read {
        path,
        source: source.into(),
    })
}

pub(super) fn write_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    sqlite_error(path, |path, source| StoreError::Write {
        path,
        source: source.into(),
    })
}
