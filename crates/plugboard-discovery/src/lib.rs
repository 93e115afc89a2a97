//! Finds installed plugins without running any: each plugin is a folder holding `plugin.json`,
//! under the plugins directory (`$PLUGBOARD_HOME/plugins/`, or the platform data directory's)
//! and under each entry of `PLUGBOARD_PLUGIN_PATH` (colon-separated, each a folder of plugin
//! folders).
//!
//! Invariants this crate keeps:
//! - The order is fixed: the plugins directory, then each path entry in order; inside each,
//!   folders sorted by name. Whoever reads the result first wins a collision, so the same
//!   files always give the same registry.
//! - A plugin is read only if its folder and everything in it belongs to the user and nobody
//!   else can write it; anything else is reported as [`Found::Broken`] with the reason, never
//!   an error that stops the caller. Inside a plugin folder nothing may be a symlink (the
//!   folder itself may be one, for a plugin under development).
//! - It reads at most [`MAX_MANIFEST_BYTES`] of a manifest and walks at most
//!   [`MAX_PLUGIN_ENTRIES`] entries of a plugin folder, [`MAX_PLUGIN_DEPTH`] folders deep: a
//!   huge plugin is broken, not slow.
//! - It never writes; installing and removing are the host's.

mod files;
mod roots;

pub use files::{
    DiscoveryError, MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_PLUGIN_DEPTH, MAX_PLUGIN_ENTRIES,
    PluginFiles, read_plugin,
};
pub use roots::{PLUGIN_PATH_VAR, PluginRoots};

use std::path::PathBuf;

/// One folder found under a plugin root.
#[derive(Debug)]
pub enum Found {
    /// A plugin whose files could be trusted and read.
    Plugin(PluginFiles),
    /// A folder that could not be: left out, with why.
    Broken {
        /// The folder (or the root, when the root itself cannot be trusted).
        dir: PathBuf,
        /// Why.
        error: DiscoveryError,
    },
}

/// Every plugin folder under `roots`, in the fixed order, each read or reported broken. A
/// root that does not exist contributes nothing; entries that are not folders, and hidden
/// ones (`.name`, which `plugins install` uses while copying), are skipped.
pub fn discover(roots: &PluginRoots) -> Vec<Found> {
    let mut found = Vec::new();
    for root in roots.dirs() {
        match roots::plugin_dirs(root) {
            Ok(dirs) => found.extend(dirs.into_iter().map(|dir| match read_plugin(&dir) {
                Ok(files) => Found::Plugin(files),
                Err(error) => Found::Broken { dir, error },
            })),
            Err(Some(error)) => found.push(Found::Broken {
                dir: root.clone(),
                error,
            }),
            Err(None) => {}
        }
    }
    found
}
