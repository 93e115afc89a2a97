//! Where plugboard keeps its config file and credential store.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{EntryKind, StoreError};

/// Environment variable that puts every plugboard file under one directory.
const HOME_VAR: &str = "PLUGBOARD_HOME";

const CONFIG_FILE_NAME: &str = "config.json";
const STORE_FILE_NAME: &str = "credentials.sqlite";
const PLUGINS_DIR_NAME: &str = "plugins";

/// The locations of plugboard's files, resolved once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    config_file: PathBuf,
    store_file: PathBuf,
    plugins_dir: PathBuf,
}

impl Paths {
    /// Resolves the paths from the environment: everything under `$PLUGBOARD_HOME` when it is
    /// set and non-empty, otherwise the platform's config directory for the config file and
    /// its data directory for the credential store.
    pub fn from_env() -> Result<Self, StoreError> {
        Self::from_home_var(std::env::var_os(HOME_VAR))
    }

    /// The body of [`Paths::from_env`], taking the variable's value so tests need not mutate
    /// the process environment.
    fn from_home_var(home: Option<OsString>) -> Result<Self, StoreError> {
        match home {
            Some(home) if !home.is_empty() => Ok(Self::under(home)),
            _ => {
                let dirs = directories::ProjectDirs::from("", "", "plugboard")
                    .ok_or(StoreError::NoHome)?;
                Ok(Self {
                    config_file: dirs.config_dir().join(CONFIG_FILE_NAME),
                    store_file: dirs.data_dir().join(STORE_FILE_NAME),
                    plugins_dir: dirs.data_dir().join(PLUGINS_DIR_NAME),
                })
            }
        }
    }

    /// Puts every file under `home`, as `PLUGBOARD_HOME` does.
    pub fn under(home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        Self {
            config_file: home.join(CONFIG_FILE_NAME),
            store_file: home.join(STORE_FILE_NAME),
            plugins_dir: home.join(PLUGINS_DIR_NAME),
        }
    }

    /// The JSON config file.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The SQLite credential store.
    pub fn store_file(&self) -> &Path {
        &self.store_file
    }

    /// The directory installed plugins live in, one folder each (`plugins install` copies
    /// them here): `plugins/` beside the store.
    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    /// Checks, creating and changing nothing, that what exists of plugboard's files can be
    /// trusted: the directories holding the config file and the store (`PLUGBOARD_HOME`, or
    /// plugboard's own platform directories, never their parents) and those files belong to
    /// the current user and nobody else can write them, and neither file is a symlink.
    /// [`ConfigFile`](crate::ConfigFile) and [`CredentialStore`](crate::CredentialStore)
    /// check the same on every open; this lets a program refuse before it asks for anything.
    pub fn check_private(&self) -> Result<(), StoreError> {
        for file in [&self.config_file, &self.store_file] {
            open_existing_private(file)?;
        }
        Ok(())
    }
}

/// Creates `dir` and any missing parents with mode 0700, so the directories holding secrets
/// are private from the moment they exist, then checks `dir` itself as
/// [`Paths::check_private`] does. Existing parents are left as they are: they may be shared
/// ones the user chose.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    check_home_dir(dir).map(drop)
}

/// Checks plugboard's home directory `dir` (never its parents) if it exists: it must belong to
/// the current user and be writable by nobody else. Says whether it exists. A symlink to a
/// directory is followed: only the files inside must not be links.
pub(crate) fn check_home_dir(dir: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(dir) {
        Ok(meta) => check_private(dir, &meta, EntryKind::Directory).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Inspect {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// What is at `path`, without following a symlink: `None` if nothing, an error if a symlink or
/// anything but a regular file.
pub(crate) fn regular_file_at(path: &Path) -> Result<Option<std::fs::Metadata>, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Symlink {
            path: path.to_owned(),
        }),
        Ok(meta) if !meta.is_file() => Err(StoreError::NotAFile {
            path: path.to_owned(),
        }),
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Inspect {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Opens one of plugboard's existing files for reading, after checking its directory, without
/// following a symlink, and checks the opened file as [`Paths::check_private`] says. `None`
/// when the file or its directory does not exist; nothing is created or changed.
pub(crate) fn open_existing_private(path: &Path) -> Result<Option<File>, StoreError> {
    if !check_home_dir(parent_dir(path))? || regular_file_at(path)?.is_none() {
        return Ok(None);
    }
    let file = match no_follow(OpenOptions::new().read(true)).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(not_followed(path, source, inspect_error)),
    };
    // The opened file itself, so what was checked is what will be read.
    let meta = file
        .metadata()
        .map_err(|source| inspect_error(path, source))?;
    check_private(path, &meta, EntryKind::File)?;
    Ok(Some(file))
}

/// Makes `options` refuse to open a symlink (`O_NOFOLLOW`) where the platform can.
pub(crate) fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // `custom_flags` takes the C int; O_NOFOLLOW is a small positive flag everywhere.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// The error for a failed [`no_follow`] open: `Symlink` when the path turned out to be a link
/// (`ELOOP`), else what `other` builds.
pub(crate) fn not_followed(
    path: &Path,
    source: io::Error,
    other: fn(&Path, io::Error) -> StoreError,
) -> StoreError {
    #[cfg(unix)]
    if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return StoreError::Symlink {
            path: path.to_owned(),
        };
    }
    other(path, source)
}

fn inspect_error(path: &Path, source: io::Error) -> StoreError {
    StoreError::Inspect {
        path: path.to_owned(),
        source,
    }
}

/// Refuses an entry that belongs to another user or that group or others can write. Reading
/// permissions (such as a 0644 store) do not make an entry untrustworthy and are not refused.
pub(crate) fn check_private(
    path: &Path,
    meta: &std::fs::Metadata,
    kind: EntryKind,
) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = rustix::process::geteuid().as_raw();
        let mode = meta.mode() & 0o7777;
        if meta.uid() != user || mode & 0o022 != 0 {
            return Err(StoreError::NotPrivate {
                path: path.to_owned(),
                kind,
                mode,
                owner: meta.uid(),
                user,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta, kind);
    Ok(())
}

/// The parent directory of a file path, treating a bare file name as living in the current
/// directory.
pub(crate) fn parent_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The permission bits of a file or directory.
    #[cfg(unix)]
    pub(crate) fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn plugboard_home_puts_everything_under_one_directory() {
        let paths = Paths::from_home_var(Some("/srv/pb".into())).unwrap();
        assert_eq!(paths, Paths::under("/srv/pb"));
        assert_eq!(paths.config_file(), Path::new("/srv/pb/config.json"));
        assert_eq!(paths.store_file(), Path::new("/srv/pb/credentials.sqlite"));
    }

    #[test]
    fn empty_or_unset_plugboard_home_falls_back_to_platform_directories() {
        for home in [None, Some(OsString::new())] {
            match Paths::from_home_var(home.clone()) {
                Ok(paths) => {
                    assert!(paths.config_file().ends_with("config.json"), "{home:?}");
                    assert!(
                        paths.store_file().ends_with("credentials.sqlite"),
                        "{home:?}"
                    );
                    assert!(paths.config_file().is_absolute(), "{home:?}");
                }
                // A sandbox without a home directory is a legitimate outcome, with a hint.
                Err(e) => assert!(e.to_string().contains("PLUGBOARD_HOME"), "{e}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn missing_directories_are_created_0700_and_existing_parents_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::TempDir::new().unwrap();
        let existing = tmp.path().join("shared");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();

        let nested = existing.join("a/b");
        ensure_private_dir(&nested).unwrap();
        ensure_private_dir(&nested).unwrap();

        assert_eq!(mode(&existing.join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&existing), 0o755);
    }

    /// Sets the permission bits of a file or directory.
    #[cfg(unix)]
    pub(crate) fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Gives `path` (not a link's target) to another user; needs root, as CI runs.
    #[cfg(unix)]
    pub(crate) fn give_away(path: &Path) {
        std::os::unix::fs::lchown(path, Some(12345), None)
            .unwrap_or_else(|e| panic!("chown {} (needs root): {e}", path.display()));
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_home_others_can_write_is_refused_and_left_as_it_is() {
        let tmp = tempfile::TempDir::new().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).unwrap();
        for bad in [0o777, 0o770, 0o702, 0o1777] {
            set_mode(&home, bad);
            for err in [
                ensure_private_dir(&home).unwrap_err(),
                Paths::under(&home).check_private().unwrap_err(),
            ] {
                assert!(
                    matches!(
                        &err,
                        StoreError::NotPrivate { path, kind: EntryKind::Directory, mode, .. }
                            if path == &home && *mode == bad
                    ),
                    "{bad:o}: {err:?}"
                );
            }
            assert_eq!(mode(&home), bad & 0o777);
        }
        // Readable by others is not a risk to what plugboard reads.
        set_mode(&home, 0o755);
        ensure_private_dir(&home).unwrap();
        Paths::under(&home).check_private().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_home_of_another_user_is_refused_but_its_parents_are_not_checked() {
        let tmp = tempfile::TempDir::new().unwrap();
        let parent = tmp.path().join("shared");
        let home = parent.join("home");
        std::fs::create_dir_all(&home).unwrap();
        set_mode(&home, 0o700);
        set_mode(&parent, 0o777);
        give_away(&parent);
        Paths::under(&home).check_private().unwrap();

        give_away(&home);
        let err = Paths::under(&home).check_private().unwrap_err();
        assert!(
            matches!(&err, StoreError::NotPrivate { owner: 12345, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("belongs to another user"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn check_private_refuses_symlinks_and_files_others_own_or_can_write() {
        let tmp = tempfile::TempDir::new().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).unwrap();
        set_mode(&home, 0o700);
        let paths = Paths::under(&home);
        // Nothing there yet is fine, and stays nothing.
        paths.check_private().unwrap();
        assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);

        for file in [paths.config_file(), paths.store_file()] {
            std::fs::write(file, "{}").unwrap();
            set_mode(file, 0o644);
            paths.check_private().unwrap();

            set_mode(file, 0o660);
            let err = paths.check_private().unwrap_err();
            assert!(
                matches!(&err, StoreError::NotPrivate { path, kind: EntryKind::File, mode: 0o660, .. } if path == file),
                "{err:?}"
            );
            set_mode(file, 0o600);
            give_away(file);
            let err = paths.check_private().unwrap_err();
            assert!(
                matches!(&err, StoreError::NotPrivate { owner: 12345, .. }),
                "{err:?}"
            );
            std::fs::remove_file(file).unwrap();

            std::os::unix::fs::symlink(tmp.path().join("elsewhere"), file).unwrap();
            let err = paths.check_private().unwrap_err();
            assert!(
                matches!(&err, StoreError::Symlink { path } if path == file),
                "{err:?}"
            );
            assert!(!tmp.path().join("elsewhere").exists());
            std::fs::remove_file(file).unwrap();

            std::fs::create_dir(file).unwrap();
            let err = paths.check_private().unwrap_err();
            assert!(matches!(&err, StoreError::NotAFile { .. }), "{err:?}");
            std::fs::remove_dir(file).unwrap();
        }
    }

    #[test]
    fn a_file_in_the_way_of_a_directory_is_an_error_naming_it() {
        let tmp = tempfile::TempDir::new().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "").unwrap();
        let err = ensure_private_dir(&file.join("sub")).unwrap_err();
        assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
        assert!(err.to_string().contains(&*file.to_string_lossy()), "{err}");
    }
}
