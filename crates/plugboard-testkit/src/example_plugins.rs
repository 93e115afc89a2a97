//! Where the example executable plugins are, for tests that run them as the host would: the
//! Rust one's binary (built on demand) and the Python one's directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Rust example's package and binary.
const RUST_PACKAGE: &str = "plugboard-example-plugin";
const RUST_BINARY: &str = "example-rust-plugin";

/// The workspace root: this crate lives in `crates/plugboard-testkit`.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built `example-rust-plugin` binary, in the target directory the running test binary was
/// built in (`target/<profile>/`).
///
/// Under cargo (`CARGO` is set for tests) it is built once per test process, first use only,
/// with `$CARGO build -p plugboard-example-plugin --bin example-rust-plugin` and the test's
/// profile: cargo builds no binary of another package for a test, and building each time
/// keeps a stale binary from being tested. Cargo's own lock makes parallel test processes
/// build it once; the lock here makes the threads of one process ask once. Without cargo, the
/// binary must already be there.
///
/// # Panics
///
/// When the binary cannot be built or found: a test of the example cannot run without it.
pub fn example_rust_plugin() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build_rust_plugin) {
        Ok(path) => path.clone(),
        Err(why) => panic!("{why}"),
    }
}

fn build_rust_plugin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the test binary: {e}"))?;
    // `target/<profile>/deps/<test binary>`, or `target/<profile>/<binary>` for a bin's own.
    let mut profile_dir = exe
        .parent()
        .ok_or("the test binary has no directory")?
        .to_owned();
    if profile_dir.ends_with("deps") {
        profile_dir.pop();
    }
    let binary = profile_dir.join(format!("{RUST_BINARY}{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("the target directory has no profile name")?;
        let target_dir = profile_dir
            .parent()
            .ok_or("the profile directory has no parent")?;
        let mut build = Command::new(cargo);
        // Cargo describes the test's own package to it in these; passed on, they would look
        // like a changed environment to build scripts that watch them (ring watches
        // CARGO_MANIFEST_DIR), and the inner and outer builds would rebuild each other.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if is_per_package_variable(&name) {
                build.env_remove(name.as_ref());
            }
        }
        build
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", RUST_PACKAGE, "--bin", RUST_BINARY])
            .arg("--target-dir")
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build
            .status()
            .map_err(|e| format!("cannot run cargo to build {RUST_BINARY}: {e}"))?;
        if !status.success() {
            return Err(format!("building {RUST_BINARY} failed ({status})"));
        }
    }
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build -p {RUST_PACKAGE}`",
            binary.display()
        ))
    }
}

/// Whether cargo set `name` for the running test's package alone (not a setting of cargo's own,
/// such as `CARGO_HOME` or `CARGO_TARGET_DIR`).
fn is_per_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// The Python example's directory (`examples/plugin-python`), holding `plugin.json` and
/// `plugin.py`; run it as its manifest says, `python3 plugin.py` in that directory.
pub fn example_python_plugin_dir() -> PathBuf {
    workspace_root().join("examples/plugin-python")
}
