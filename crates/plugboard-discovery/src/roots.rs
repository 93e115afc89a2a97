//! Where plugins are looked for, and the plugin folders in one root.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::files::{DiscoveryError, check_owned_private};

/// The variable listing more plugin roots, colon-separated (each a folder of plugin folders).
pub const PLUGIN_PATH_VAR: &str = "PLUGBOARD_PLUGIN_PATH";

/// The folders plugins are looked for in, in the order they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRoots(Vec<PathBuf>);

impl PluginRoots {
    /// `plugins_dir` first, then each non-empty entry of `plugin_path` (as
    /// `PLUGBOARD_PLUGIN_PATH` gives it), skipping repeats.
    pub fn new(plugins_dir: PathBuf, plugin_path: Option<OsString>) -> Self {
        let mut dirs = vec![plugins_dir];
        if let Some(path) = plugin_path {
            for entry in std::env::split_paths(&path) {
                if !entry.as_os_str().is_empty() && !dirs.contains(&entry) {
                    dirs.push(entry);
                }
            }
        }
        Self(dirs)
    }

    /// [`PluginRoots::new`] with `PLUGBOARD_PLUGIN_PATH` from the environment.
    pub fn from_env(plugins_dir: PathBuf) -> Self {
        Self::new(plugins_dir, std::env::var_os(PLUGIN_PATH_VAR))
    }

    /// The roots, in reading order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.0
    }
}

/// The plugin folders in `root`, sorted by name: `Err(None)` when there is no such root,
/// `Err(Some(_))` when the root cannot be trusted or read.
pub(crate) fn plugin_dirs(root: &Path) -> Result<Vec<PathBuf>, Option<DiscoveryError>> {
    let meta = match std::fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(source) => return Err(Some(DiscoveryError::io(root, source))),
    };
    if !meta.is_dir() {
        return Err(Some(DiscoveryError::NotADirectory {
            path: root.to_owned(),
        }));
    }
    check_owned_private(root, &meta).map_err(Some)?;
    let entries = std::fs::read_dir(root).map_err(|e| Some(DiscoveryError::io(root, e)))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Some(DiscoveryError::io(root, e)))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Followed: a root entry may link to a plugin under development. A link that leads
        // nowhere, or to something that is not a folder, is kept too, so it is reported as a
        // broken plugin rather than passed over in silence; plain files (a README) are not
        // plugins and are skipped.
        let link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if link || std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_root_entry_linking_nowhere_or_to_a_file_is_a_broken_plugin_and_a_plain_file_is_skipped() {
        use std::os::unix::fs::PermissionsExt;

        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("plugins");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("gone"), root.join("ghost")).unwrap();
        std::fs::write(tmp.path().join("file"), "x").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("file"), root.join("to-file")).unwrap();
        std::fs::write(root.join("README"), "not a plugin").unwrap();

        let found = crate::discover(&PluginRoots::new(root.clone(), None));
        let broken: Vec<(PathBuf, String)> = found
            .iter()
            .map(|f| match f {
                crate::Found::Broken { dir, error } => (dir.clone(), error.to_string()),
                crate::Found::Plugin(files) => panic!("{files:?}"),
            })
            .collect();
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert_eq!(broken[0].0, root.join("ghost"));
        assert!(broken[0].1.starts_with("cannot read "), "{broken:?}");
        assert_eq!(broken[1].0, root.join("to-file"));
        assert!(broken[1].1.ends_with("is not a directory"), "{broken:?}");
    }

    #[test]
    fn the_plugins_directory_comes_first_then_each_path_entry_once() {
        let cases: [(Option<&str>, &[&str]); 4] = [
            (None, &["/h/plugins"]),
            (Some(""), &["/h/plugins"]),
            (Some("/a:/b::/a"), &["/h/plugins", "/a", "/b"]),
            (Some("/h/plugins:/c"), &["/h/plugins", "/c"]),
        ];
        for (var, want) in cases {
            let roots = PluginRoots::new("/h/plugins".into(), var.map(OsString::from));
            let want: Vec<PathBuf> = want.iter().map(PathBuf::from).collect();
            assert_eq!(roots.dirs(), want.as_slice(), "{var:?}");
        }
    }
}
