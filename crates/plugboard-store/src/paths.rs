//! Where plugboard keeps its config file and credential store.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// Environment variable that puts every plugboard file under one directory.
const HOME_VAR: &str = "PLUGBOARD_HOME";

const CONFIG_FILE_NAME: &str = "config.json";
const STORE_FILE_NAME: &str = "credentials.sqlite";

/// The locations of plugboard's files, resolved once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    config_file: PathBuf,
    store_file: PathBuf,
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
}

/// Creates `dir` and any missing parents with mode 0700, so the directories holding secrets
/// are private from the moment they exist. Existing directories are left as they are: they
/// may be shared ones the user chose, and the files inside are private on their own.
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
    builder.create(dir).map_err(|source| StoreError::CreateDir {
        path: dir.to_owned(),
        source,
    })
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
    fn missing_directories_are_created_0700_and_existing_ones_left_alone() {
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
