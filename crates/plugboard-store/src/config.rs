//! The JSON config file, handled as a JSON value so keys this build does not know survive
//! every rewrite.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::paths::{ensure_private_dir, parent_dir};

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
    /// JSON object.
    pub fn load(&self) -> Result<Value, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Value::Object(Map::new()));
            }
            Err(source) => {
                return Err(StoreError::ReadConfig {
                    path: self.path.clone(),
                    source,
                });
            }
        };
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
    /// directory, is flushed to disk, and is renamed over the target.
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
        // Dropping the temporary file on any error below deletes it.
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
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
        assert!(msg.contains("line 3"), "{msg}");
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
