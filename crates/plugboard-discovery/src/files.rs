//! One plugin folder: checked private, walked within bounds, and its manifest read.

use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The manifest file every plugin folder holds.
pub const MANIFEST_FILE: &str = "plugin.json";

/// The largest manifest read; a bigger one is a broken plugin.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

/// The most entries (files and folders, at any depth) a plugin folder may hold.
pub const MAX_PLUGIN_ENTRIES: usize = 1000;

/// How deep folders may nest inside a plugin folder.
pub const MAX_PLUGIN_DEPTH: usize = 16;

/// A plugin folder whose files were checked, with its manifest's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFiles {
    /// The plugin's folder, as found (not resolved through a link).
    pub dir: PathBuf,
    /// `<dir>/plugin.json`.
    pub manifest_path: PathBuf,
    /// The manifest's text.
    pub json: String,
}

/// Why a plugin folder was left out. Each message names the path at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// Owned by someone else, or writable by group or others.
    #[error(
        "{} is not private (mode {mode:04o}, owner uid {owner}): it must belong to uid {user} and not be writable by group or others",
        path.display()
    )]
    NotPrivate {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// Its owner.
        owner: u32,
        /// The current user.
        user: u32,
    },
    /// A symlink inside a plugin folder.
    #[error("{} is a symlink: a plugin's files must be in its folder", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Not a folder where one is needed.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A path that is not UTF-8: plugboard names plugins by their paths in text, and a name
    /// it cannot spell exactly could be taken for another.
    #[error("{} is not a UTF-8 path: rename it", path.display())]
    NotUtf8 {
        /// The path, as well as it can be shown.
        path: PathBuf,
    },
    /// No `plugin.json`.
    #[error("{} has no plugin.json", dir.display())]
    NoManifest {
        /// The folder.
        dir: PathBuf,
    },
    /// `plugin.json` is larger than [`MAX_MANIFEST_BYTES`].
    #[error("{} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The manifest.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// More than [`MAX_PLUGIN_ENTRIES`] entries.
    #[error("{} holds more than {limit} files", dir.display())]
    TooManyFiles {
        /// The folder.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// Folders nested deeper than [`MAX_PLUGIN_DEPTH`].
    #[error("{} nests folders more than {limit} deep", dir.display())]
    TooDeep {
        /// The folder.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// `plugin.json` is not UTF-8.
    #[error("{} is not UTF-8 text", path.display())]
    NotText {
        /// The manifest.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

impl DiscoveryError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Checks and reads the plugin in `dir`: the folder and everything in it must belong to the
/// user, be writable by nobody else, and hold no symlink; `plugin.json` must exist, be a
/// regular file within [`MAX_MANIFEST_BYTES`], and be UTF-8.
pub fn read_plugin(dir: &Path) -> Result<PluginFiles, DiscoveryError> {
    if dir.to_str().is_none() {
        return Err(DiscoveryError::NotUtf8 {
            path: dir.to_owned(),
        });
    }
    let meta = std::fs::metadata(dir).map_err(|e| DiscoveryError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(DiscoveryError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    check_owned_private(dir, &meta)?;
    let mut walked = 0;
    walk(dir, dir, 0, &mut walked)?;

    let manifest_path = dir.join(MANIFEST_FILE);
    let json = read_manifest(dir, &manifest_path)?;
    Ok(PluginFiles {
        dir: dir.to_owned(),
        manifest_path,
        json,
    })
}

/// Reads the manifest at `path` (in `dir`), checking the opened file itself: a regular file,
/// the user's and writable by nobody else, not reached through a link. The walk looked at a
/// path, which may name another file by the time it is opened; these look at what is read, so
/// they are the manifest's only checks that matter (and the only ones made here).
fn read_manifest(dir: &Path, path: &Path) -> Result<String, DiscoveryError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No link is followed, and a FIFO put there cannot make the open wait for a writer
        // (reading a regular file is the same without blocking). `custom_flags` takes the C
        // int; both flags are small positive values everywhere.
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DiscoveryError::NoManifest {
                dir: dir.to_owned(),
            });
        }
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(DiscoveryError::Symlink {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(DiscoveryError::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| DiscoveryError::io(path, e))?;
    if !meta.is_file() {
        return Err(DiscoveryError::NoManifest {
            dir: dir.to_owned(),
        });
    }
    check_owned_private(path, &meta)?;
    let too_large = || DiscoveryError::TooLarge {
        path: path.to_owned(),
        limit: MAX_MANIFEST_BYTES,
    };
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    // Sized from the file, so a small manifest is read in one go; the bound still holds if
    // the file grows while it is read.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DiscoveryError::io(path, e))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| DiscoveryError::NotText {
        path: path.to_owned(),
    })
}

/// Checks every entry under `dir` (not following links), depth first, counting them against
/// [`MAX_PLUGIN_ENTRIES`] and their nesting against [`MAX_PLUGIN_DEPTH`].
fn walk(root: &Path, dir: &Path, depth: usize, walked: &mut usize) -> Result<(), DiscoveryError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DiscoveryError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DiscoveryError::io(dir, e))?;
        *walked += 1;
        if *walked > MAX_PLUGIN_ENTRIES {
            return Err(DiscoveryError::TooManyFiles {
                dir: root.to_owned(),
                limit: MAX_PLUGIN_ENTRIES,
            });
        }
        if depth > MAX_PLUGIN_DEPTH {
            return Err(DiscoveryError::TooDeep {
                dir: root.to_owned(),
                limit: MAX_PLUGIN_DEPTH,
            });
        }
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| DiscoveryError::io(&path, e))?;
        if meta.file_type().is_symlink() {
            return Err(DiscoveryError::Symlink { path });
        }
        check_owned_private(&path, &meta)?;
        if meta.is_dir() {
            walk(root, &path, depth + 1, walked)?;
        }
    }
    Ok(())
}

/// Fails unless `path` (whose metadata is `meta`) belongs to the current user and is not
/// writable by group or others.
#[cfg(unix)]
pub(crate) fn check_owned_private(path: &Path, meta: &Metadata) -> Result<(), DiscoveryError> {
    use std::os::unix::fs::MetadataExt;
    let user = rustix::process::geteuid().as_raw();
    let mode = meta.mode() & 0o7777;
    if meta.uid() != user || mode & 0o022 != 0 {
        return Err(DiscoveryError::NotPrivate {
            path: path.to_owned(),
            mode,
            owner: meta.uid(),
            user,
        });
    }
    Ok(())
}

/// Other platforms have no owner and mode bits to check.
#[cfg(not(unix))]
pub(crate) fn check_owned_private(_path: &Path, _meta: &Metadata) -> Result<(), DiscoveryError> {
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::{Found, PluginRoots, discover};

    fn plugin(root: &Path, name: &str, json: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), json).unwrap();
        std::fs::set_permissions(
            dir.join(MANIFEST_FILE),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        dir
    }

    fn private_root(parent: &Path, name: &str) -> PathBuf {
        let root = parent.join(name);
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        root
    }

    fn summary(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| match f {
                Found::Plugin(files) => {
                    format!("ok {}", files.dir.file_name().unwrap().to_string_lossy())
                }
                Found::Broken { dir, error } => {
                    let name = dir.file_name().unwrap().to_string_lossy();
                    let reason = error.to_string();
                    let kind = reason.rsplit(' ').next().unwrap_or_default().to_owned();
                    format!("broken {name} {kind}")
                }
            })
            .collect()
    }

    #[test]
    fn plugins_are_read_in_a_fixed_order_and_untrusted_ones_are_broken_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let home = private_root(tmp.path(), "plugins");
        let extra = private_root(tmp.path(), "extra");
        plugin(&home, "zeta", "{}");
        plugin(&home, "alpha", "{}");
        plugin(&home, ".installing", "{}");
        std::fs::write(home.join("README"), "not a plugin").unwrap();
        let open = plugin(&extra, "open", "{}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let writable = plugin(&extra, "writable", "{}");
        std::fs::set_permissions(
            writable.join(MANIFEST_FILE),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let linked = plugin(&extra, "linked", "{}");
        std::os::unix::fs::symlink("/etc/hostname", linked.join("bin")).unwrap();
        std::fs::create_dir(extra.join("empty")).unwrap();
        std::fs::set_permissions(extra.join("empty"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        let big = plugin(&extra, "big", &" ".repeat(MAX_MANIFEST_BYTES as usize + 1));
        assert!(big.exists());
        let not_utf8 =
            extra.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"z\xff"));
        std::fs::create_dir(&not_utf8).unwrap();
        std::fs::set_permissions(&not_utf8, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(not_utf8.join(MANIFEST_FILE), "{}").unwrap();

        let path = std::env::join_paths([extra.as_path(), &tmp.path().join("missing")]).unwrap();
        let roots = PluginRoots::new(home.clone(), Some(path));
        let found = discover(&roots);
        assert_eq!(
            summary(&found),
            [
                "ok alpha",
                "ok zeta",
                "broken big bytes",
                "broken empty plugin.json",
                "broken linked folder",
                "broken open others",
                "broken writable others",
                "broken z\u{fffd} it",
            ]
        );
        let Found::Plugin(alpha) = &found[0] else {
            panic!("alpha")
        };
        assert_eq!(alpha.json, "{}");
        assert_eq!(alpha.manifest_path, home.join("alpha").join(MANIFEST_FILE));
    }

    #[test]
    fn the_manifest_read_checks_the_opened_file_not_just_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = private_root(tmp.path(), "plugin");
        let private = dir.join("private.json");
        std::fs::write(&private, "{}").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        let linked = dir.join("linked.json");
        std::os::unix::fs::symlink(&private, &linked).unwrap();
        let writable = dir.join("writable.json");
        std::fs::write(&writable, "{}").unwrap();
        std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o620)).unwrap();
        let missing = dir.join("missing.json");
        let mut cases = vec![
            (private, "ok"),
            (linked, "is a symlink"),
            (writable, "is not private"),
            (missing, "has no plugin.json"),
        ];
        // A FIFO would hold a blocking open until something wrote to it.
        #[cfg(target_os = "linux")]
        {
            let fifo = dir.join("fifo.json");
            rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::RUSR).unwrap();
            cases.push((fifo, "has no plugin.json"));
        }
        for (path, want) in cases {
            let got = match read_manifest(&dir, &path) {
                Ok(json) => {
                    assert_eq!(json, "{}");
                    "ok".to_owned()
                }
                Err(e) => e.to_string(),
            };
            assert!(got.contains(want), "{}: {got}", path.display());
        }
    }

    #[test]
    fn a_plugin_nested_too_deep_says_so_and_one_with_too_many_files_says_that() {
        let tmp = tempfile::tempdir().unwrap();
        let root = private_root(tmp.path(), "plugins");
        let deep = plugin(&root, "deep", "{}");
        let mut inner = deep.clone();
        for _ in 0..=MAX_PLUGIN_DEPTH + 1 {
            inner = private_root(&inner, "d");
        }
        let many = plugin(&root, "many", "{}");
        for i in 0..MAX_PLUGIN_ENTRIES {
            std::fs::write(many.join(format!("f{i}")), "").unwrap();
        }
        for (dir, want) in [
            (
                deep,
                format!("nests folders more than {MAX_PLUGIN_DEPTH} deep"),
            ),
            (many, format!("holds more than {MAX_PLUGIN_ENTRIES} files")),
        ] {
            let err = read_plugin(&dir).unwrap_err().to_string();
            assert!(err.ends_with(&want), "{err}");
        }
    }

    #[test]
    fn a_root_others_can_write_breaks_every_plugin_in_it_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let home = private_root(tmp.path(), "plugins");
        plugin(&home, "alpha", "{}");
        let shared = private_root(tmp.path(), "shared");
        plugin(&shared, "beta", "{}");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let roots = PluginRoots::new(home, Some(shared.into_os_string()));
        assert_eq!(
            summary(&discover(&roots)),
            ["ok alpha", "broken shared others"]
        );
    }
}
