//! SCAFFOLD (replaced by the exec helper before anything lands): the agreed public surface of
//! the host side of executable plugins, so the loader can be written against it.

use std::path::Path;
use std::sync::Arc;

use plugboard_core::{Manifest, ManifestError, Provider};

/// How the host runs executable plugins in this command.
#[derive(Clone)]
pub struct ExecOptions {
    /// Show each plugin's stderr as it comes (`--verbose`), not only when it fails.
    pub verbose: bool,
    /// Where a plugin's stderr lines go, already sanitised and prefixed with its id.
    pub stderr: Arc<dyn Fn(&str) + Send + Sync>,
}

impl ExecOptions {
    /// Options with `verbose` and a sink for plugins' stderr.
    pub fn new(verbose: bool, stderr: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        Self { verbose, stderr }
    }
}

/// The providers of the executable plugin in `dir` whose manifest (read from `path`) is
/// `manifest`; starts no process.
pub fn providers(
    dir: &Path,
    path: &str,
    manifest: &Manifest,
    options: &ExecOptions,
) -> Result<Vec<Box<dyn Provider>>, ManifestError> {
    let _ = (dir, manifest, options);
    Err(ManifestError {
        file: path.to_owned(),
        pointer: "/runtime".to_owned(),
        message: "executable plugins are not built yet".to_owned(),
    })
}
