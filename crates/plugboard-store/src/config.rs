//! The JSON config file, handled as a JSON value so keys this build does not know survive
//! every rewrite.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tempfile::NamedTempFile;

use crate::error::StoreError;
use crate::paths::{
    ensure_private_dir, no_follow, open_existing_private, parent_dir, regular_file_at,
};

/// plugboard's config file at a known path; it is read fresh on every load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    /// The config file at `path`; nothing is read or created yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the config: an empty object if the file does not exist, an error if it is not a
    /// JSON object. Refuses a file (or a directory holding it) that another user owns or can
    /// write, and a symlink; creates and changes nothing.
    pub fn load(&self) -> Result<Value, StoreError> {
        let Some(mut file) = open_existing_private(&self.path)? else {
            return Ok(Value::Object(Map::new()));
        };
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|source| StoreError::ReadConfig {
                path: self.path.clone(),
                source,
            })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|source| StoreError::InvalidConfig {
                path: self.path.clone(),
                line: source.line(),
                source,
            })?;
        if !value.is_object() {
            return Err(StoreError::ConfigNotObject {
                path: self.path.clone(),
                found: json_type(&value),
            });
        }
        Ok(value)
    }

    /// Replaces the file with `value` as pretty JSON. Readers see either the old file or the
    /// new one, never a partial write: the text goes to a private temporary file in the same
    /// directory (named `.config.json.tmp-*`), is flushed to disk, and is renamed over the
    /// target. Temporary files that a killed write left behind are removed first. A symlink in
    /// the file's place is refused rather than replaced.
    pub fn save(&self, value: &Value) -> Result<(), StoreError> {
        if !value.is_object() {
            return Err(StoreError::SaveNotObject {
                path: self.path.clone(),
                found: json_type(value),
            });
        }
        let write_error = |source| StoreError::WriteConfig {
            path: self.path.clone(),
            source,
        };
        let mut text = serde_json::to_vec_pretty(value).map_err(|e| write_error(e.into()))?;
        text.push(b'\n');

        let dir = parent_dir(&self.path);
        ensure_private_dir(dir)?;
        regular_file_at(&self.path)?;
        let prefix = self.temp_prefix();
        remove_abandoned_temp_files(dir, &prefix);
        let mut tmp = new_locked_temp_file(dir, &prefix).map_err(write_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(write_error)?;
        }
        tmp.write_all(&text).map_err(write_error)?;
        tmp.as_file().sync_all().map_err(write_error)?;
        tmp.persist(&self.path).map_err(|e| write_error(e.error))?;
        sync_dir(dir);
        Ok(())
    }

    /// The name prefix of this file's temporary files: `.config.json.tmp-`.
    fn temp_prefix(&self) -> OsString {
        let mut prefix = OsString::from(".");
        prefix.push(
            self.path
                .file_name()
                .unwrap_or_else(|| OsStr::new("config")),
        );
        prefix.push(".tmp-");
        prefix
    }

    /// Loads the config, lets `f` change it, saves it, and returns what was saved.
    ///
    /// Each save is atomic, but two processes updating at once may each miss the other's
    /// change; the last save wins.
    pub fn update(&self, f: impl FnOnce(&mut Value)) -> Result<Value, StoreError> {
        let mut value = self.load()?;
        f(&mut value);
        self.save(&value)?;
        Ok(value)
    }
}

/// Applies a JSON Merge Patch (RFC 7396) to `target`: objects merge key by key, `null`
/// deletes a key, anything else replaces.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// How old an unlocked temporary file must be before it counts as abandoned, on platforms
/// where a writer cannot lock its file (on Unix the lock alone decides).
#[cfg(not(unix))]
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Creates a temporary file for a config write and, on Unix, holds an exclusive `flock` on it
/// until it is renamed or dropped: the lock is how [`remove_abandoned_temp_files`] tells a write
/// in progress from one whose process died. A cleaner may remove the file between its creation
/// and the lock; a file that is gone (no links left) once locked is replaced by a new one.
fn new_locked_temp_file(dir: &Path, prefix: &OsStr) -> std::io::Result<NamedTempFile> {
    for _ in 0..10 {
        let tmp = tempfile::Builder::new().prefix(prefix).tempfile_in(dir)?;
        if !removed_before_locked(&tmp)? {
            return Ok(tmp);
        }
    }
    Err(std::io::Error::other(
        "another plugboard keeps removing its temporary files",
    ))
}

/// Locks `tmp` and says whether it was removed before the lock was taken.
#[cfg(unix)]
fn removed_before_locked(tmp: &NamedTempFile) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    rustix::fs::flock(tmp.as_file(), rustix::fs::FlockOperation::LockExclusive)?;
    Ok(tmp.as_file().metadata()?.nlink() == 0)
}

#[cfg(not(unix))]
fn removed_before_locked(_tmp: &NamedTempFile) -> std::io::Result<bool> {
    Ok(false)
}

/// Removes the temporary files of earlier writes that never finished (the process was killed
/// between creating and renaming one). A file still locked belongs to a write in progress in
/// another process and is kept. Best effort: a file that cannot be removed now is tried again
/// on the next write, and the write itself does not depend on it.
fn remove_abandoned_temp_files(dir: &Path, prefix: &OsStr) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(prefix.as_encoded_bytes())
        {
            continue;
        }
        // Never a symlink or a directory: only what a write of ours could have left.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        #[cfg(unix)]
        {
            let Ok(file) = no_follow(std::fs::OpenOptions::new().read(true)).open(&path) else {
                continue;
            };
            let lock = rustix::fs::FlockOperation::NonBlockingLockExclusive;
            if rustix::fs::flock(&file, lock).is_ok() {
                // Removed while locked, so the writer that may be about to lock it sees it
                // gone and starts over.
                let _ = std::fs::remove_file(&path);
            }
        }
        #[cfg(not(unix))]
        if entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ABANDONED_AFTER)
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Makes the rename durable across a crash. Best effort: some filesystems refuse to sync a
/// directory, and the new file is already complete either way.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The JSON type name of a value, for error messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EntryKind;
    use serde_json::json;
    use tempfile::TempDir;

    fn in_tmp() -> (TempDir, ConfigFile) {
        let tmp = TempDir::new().unwrap();
        let config = ConfigFile::new(tmp.path().join("home/config.json"));
        (tmp, config)
    }

    #[test]
    fn a_missing_file_loads_as_an_empty_object_and_is_not_created() {
        let (_tmp, config) = in_tmp();
        assert_eq!(config.load().unwrap(), json!({}));
        assert!(!config.path().exists());
    }

    #[test]
    fn unknown_keys_survive_an_update() {
        let (_tmp, config) = in_tmp();
        std::fs::create_dir_all(config.path().parent().unwrap()).unwrap();
        std::fs::write(
            config.path(),
            r#"{"future_key": {"nested": [1, 2]}, "providers": {"openrouter": {"x": true}}}"#,
        )
        .unwrap();

        let saved = config
            .update(|v| v["providers"]["openrouter"]["default_profile"] = "openrouter:work".into())
            .unwrap();

        let want = json!({
            "future_key": {"nested": [1, 2]},
            "providers": {"openrouter": {"x": true, "default_profile": "openrouter:work"}},
        });
        assert_eq!(saved, want);
        assert_eq!(config.load().unwrap(), want);
    }

    #[test]
    fn save_writes_pretty_json_with_a_trailing_newline() {
        let (_tmp, config) = in_tmp();
        config.save(&json!({"a": 1})).unwrap();
        assert_eq!(
            std::fs::read_to_string(config.path()).unwrap(),
            "{\n  \"a\": 1\n}\n"
        );
    }

    #[test]
    fn save_leaves_no_temporary_file_behind_and_is_private() {
        let (_tmp, config) = in_tmp();
        config.save(&json!({"a": 1})).unwrap();
        config.save(&json!({"a": 2})).unwrap();
        let dir = config.path().parent().unwrap();
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config.json"]);
        #[cfg(unix)]
        {
            use crate::paths::tests::mode;
            assert_eq!(mode(config.path()), 0o600);
            assert_eq!(mode(dir), 0o700);
        }
    }

    #[cfg(unix)]
    fn private_home(config: &ConfigFile) -> &Path {
        let dir = config.path().parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        crate::paths::tests::set_mode(dir, 0o700);
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_config_symlink_is_refused_on_load_and_save_and_its_target_left_alone() {
        use crate::paths::tests::{mode, set_mode};
        let (tmp, config) = in_tmp();
        private_home(&config);
        let dangling = tmp.path().join("nowhere.json");
        let readable = tmp.path().join("readable.json");
        std::fs::write(&readable, "{\"mine\": 1}").unwrap();
        set_mode(&readable, 0o644);
        for target in [&dangling, &readable] {
            std::os::unix::fs::symlink(target, config.path()).unwrap();
            for err in [
                config.load().unwrap_err(),
                config.save(&json!({"a": 1})).unwrap_err(),
                config.update(|_| {}).unwrap_err(),
            ] {
                assert!(
                    matches!(&err, StoreError::Symlink { path } if path == config.path()),
                    "{err:?}"
                );
                assert!(err.to_string().contains("symlink"), "{err}");
            }
            assert!(
                std::fs::symlink_metadata(config.path())
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            std::fs::remove_file(config.path()).unwrap();
        }
        assert!(!dangling.exists());
        assert_eq!(mode(&readable), 0o644);
        assert_eq!(std::fs::read_to_string(&readable).unwrap(), "{\"mine\": 1}");
    }

    #[cfg(unix)]
    #[test]
    fn a_config_others_own_or_can_write_is_not_read() {
        use crate::paths::tests::{give_away, set_mode};
        let (_tmp, config) = in_tmp();
        let dir = private_home(&config);
        std::fs::write(
            config.path(),
            r#"{"providers": {"openrouter": {"base_url": "http://127.0.0.1:9/"}}}"#,
        )
        .unwrap();
        set_mode(config.path(), 0o644);
        assert!(config.load().is_ok());

        for bad in [0o664, 0o646] {
            set_mode(config.path(), bad);
            let err = config.load().unwrap_err();
            assert!(
                matches!(&err, StoreError::NotPrivate { kind: EntryKind::File, mode, .. } if *mode == bad),
                "{err:?}"
            );
        }
        set_mode(config.path(), 0o600);
        give_away(config.path());
        let err = config.load().unwrap_err();
        assert!(
            matches!(&err, StoreError::NotPrivate { owner: 12345, .. }),
            "{err:?}"
        );
        assert!(matches!(
            config.update(|_| {}),
            Err(StoreError::NotPrivate { .. })
        ));

        std::fs::remove_file(config.path()).unwrap();
        set_mode(dir, 0o777);
        // Even with no file yet: a directory anyone can write could get one planted.
        assert!(matches!(
            config.load(),
            Err(StoreError::NotPrivate {
                kind: EntryKind::Directory,
                ..
            })
        ));
        assert!(matches!(
            config.save(&json!({})),
            Err(StoreError::NotPrivate { .. })
        ));
        assert!(!config.path().exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_temporary_file_left_by_a_killed_write_is_removed_by_the_next_write() {
        let (_tmp, config) = in_tmp();
        let dir = private_home(&config);
        // What a write killed between creating its temporary file and renaming it leaves.
        let abandoned = dir.join(".config.json.tmp-AbC123");
        std::fs::write(&abandoned, "{\"half").unwrap();
        // Not ours to remove: other names, and a link that merely has the prefix.
        let other = dir.join(".other.tmp-1");
        std::fs::write(&other, "").unwrap();
        let link = dir.join(".config.json.tmp-link");
        std::os::unix::fs::symlink(&other, &link).unwrap();

        config.save(&json!({"a": 1})).unwrap();

        assert!(!abandoned.exists());
        assert!(other.exists());
        assert!(std::fs::symlink_metadata(&link).is_ok());
        assert_eq!(config.load().unwrap(), json!({"a": 1}));
    }

    #[cfg(unix)]
    #[test]
    fn a_temporary_file_of_a_write_in_progress_is_kept() {
        let (_tmp, config) = in_tmp();
        let dir = private_home(&config);
        let in_progress = dir.join(".config.json.tmp-live");
        let file = std::fs::File::create(&in_progress).unwrap();
        // Held as a writer in another process holds it until its rename.
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).unwrap();

        config.save(&json!({"a": 1})).unwrap();
        assert!(in_progress.exists());

        drop(file);
        config.save(&json!({"a": 2})).unwrap();
        assert!(!in_progress.exists());
    }

    #[test]
    fn invalid_json_is_an_error_naming_the_file_and_line() {
        let (_tmp, config) = in_tmp();
        std::fs::create_dir_all(config.path().parent().unwrap()).unwrap();
        std::fs::write(config.path(), "{\n  \"a\": 1,\n  oops\n}\n").unwrap();
        let err = config.load().unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, StoreError::InvalidConfig { line: 3, .. }),
            "{err:?}"
        );
        assert!(msg.contains(&*config.path().to_string_lossy()), "{msg}");
        // The line is said once, by the parser's message in the chain.
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("line 3"), "{cause}");
        assert!(!msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn a_top_level_other_than_an_object_is_refused_on_load_and_save() {
        let (_tmp, config) = in_tmp();
        std::fs::create_dir_all(config.path().parent().unwrap()).unwrap();
        for (text, found) in [
            ("[]", "array"),
            ("\"x\"", "string"),
            ("null", "null"),
            ("3", "number"),
        ] {
            std::fs::write(config.path(), text).unwrap();
            let err = config.load().unwrap_err();
            assert!(
                matches!(err, StoreError::ConfigNotObject { found: f, .. } if f == found),
                "{err:?}"
            );
        }
        let err = config.save(&json!([1])).unwrap_err();
        assert!(
            matches!(err, StoreError::SaveNotObject { found: "array", .. }),
            "{err:?}"
        );
        assert_eq!(std::fs::read_to_string(config.path()).unwrap(), "3");
    }

    #[test]
    fn merge_patch_follows_rfc_7396_appendix_a() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            let before = target.clone();
            apply_merge_patch(&mut target, &patch);
            assert_eq!(target, want, "{before} + {patch}");
        }
    }
}
