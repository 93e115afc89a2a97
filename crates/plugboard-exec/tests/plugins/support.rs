//! Test plugins: the script in `tests/data/test_plugin.py` copied into a private temporary
//! plugin folder beside a manifest that runs it in one of its modes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugboard_core::{Manifest, Provider};
use plugboard_exec::ExecOptions;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The plugin id and its one provider's id.
pub const ID: &str = "test-exec";

const SCRIPT: &str = include_str!("../data/test_plugin.py");

/// A plugin folder holding the test script and a manifest running it in one mode.
pub struct TestPlugin {
    _tmp: TempDir,
    dir: PathBuf,
    json: String,
}

impl TestPlugin {
    /// The script in `mode`, with the default runtime.
    pub fn new(mode: &str) -> Self {
        Self::with_runtime(mode, json!({}))
    }

    /// The script in `mode`, with these fields added to its `runtime` object.
    pub fn with_runtime(mode: &str, extra: Value) -> Self {
        let mut runtime = json!({"kind": "exec", "command": ["python3", "plugin.py", mode]});
        for (key, value) in extra.as_object().expect("an object") {
            runtime[key] = value.clone();
        }
        Self::with_manifest(runtime, "api-key", "api_key")
    }

    /// The script in `mode` behind a browser sign-in (method `browser`, kind `oauth`), whose
    /// tokens the host refreshes through the plugin.
    pub fn oauth(mode: &str) -> Self {
        let runtime = json!({"kind": "exec", "command": ["python3", "plugin.py", mode]});
        Self::with_manifest(runtime, "browser", "oauth")
    }

    /// The script beside a manifest with this `runtime` object and one sign-in choice.
    fn with_manifest(runtime: Value, method: &str, kind: &str) -> Self {
        let tmp = TempDir::new().expect("a temporary directory");
        let dir = tmp.path().join(ID);
        std::fs::create_dir(&dir).expect("the plugin folder");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let manifest = json!({
            "manifest_version": 1,
            "id": ID,
            "name": "Test Exec",
            "version": "0.1.0",
            "providers": [{"id": ID, "label": "Test Exec", "capabilities": ["model.run", "model.list"]}],
            "auth_choices": [{
                "choice_id": "test-exec-api-key",
                "provider": ID,
                "method": method,
                "kind": kind,
                "label": "Test Exec API key",
                "group": {"id": ID, "label": "Test Exec"}
            }],
            "runtime": runtime,
        });
        let json = serde_json::to_string_pretty(&manifest).expect("JSON");
        for (name, text, mode) in [
            ("plugin.json", json.as_str(), 0o600),
            ("plugin.py", SCRIPT, 0o700),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("a plugin file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        Self {
            _tmp: tmp,
            dir,
            json,
        }
    }

    /// The plugin folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest's path, as messages name it.
    pub fn path(&self) -> String {
        self.dir.join("plugin.json").display().to_string()
    }

    /// The manifest's text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Its providers, started by nothing yet.
    pub fn providers(&self, options: &ExecOptions) -> Vec<Box<dyn Provider>> {
        let manifest = Manifest::load(&self.path(), &self.json).expect("the manifest loads");
        plugboard_exec::providers(&self.dir, &self.path(), &manifest, options)
            .expect("an executable plugin")
    }

    /// The process id the plugin wrote when it started, if it started.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Options whose stderr sink records every line, and what it recorded.
pub fn options(verbose: bool) -> (ExecOptions, Arc<Mutex<Vec<String>>>) {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shown);
    let options = ExecOptions::new(
        verbose,
        Arc::new(move |line: &str| sink.lock().expect("the sink").push(line.to_owned())),
    );
    (options, shown)
}

/// Whether process `pid` runs now (a zombie nobody has reaped yet has ended).
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses.
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Whether process `pid` has ended, waiting up to 5 s for it.
pub async fn ended(pid: u32) -> bool {
    for _ in 0..500 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
