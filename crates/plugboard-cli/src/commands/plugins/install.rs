//! `plugboard plugins install <dir>`: the folder is checked as `plugins check` checks it, and
//! only a plugin that passes is copied into the plugins directory: through a hidden folder
//! (`.installing-<id>`, which discovery skips) renamed into place, so a plugin is either
//! installed whole or not at all; its files private; no symlink; no id already installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use plugboard_core::{Manifest, is_valid_id};
use plugboard_discovery::{Found, PluginRoots, discover};
use plugboard_store::{Paths, ensure_private_dir};
use thiserror::Error;

use crate::app::advised;
use crate::cli::PluginDirArgs;
use crate::commands::plugins::check::{check_dir, collisions};
use crate::output::print;

/// A plugin folder holds something that cannot be installed.
#[derive(Debug, Error)]
enum CopyError {
    #[error("{} is a symlink: a plugin's files must be in its folder", .0.display())]
    Symlink(PathBuf),
    #[error("{} is neither a file nor a folder", .0.display())]
    Special(PathBuf),
}

pub(crate) async fn run(args: &PluginDirArgs, verbose: bool) -> anyhow::Result<()> {
    // Where it would go, and that plugboard's files can be trusted, before any plugin code runs.
    let paths = Paths::from_env()?;
    paths.check_private().map_err(advised)?;

    // A plugin already installed is refused before its code runs for a check.
    if let Some(id) = plugin_id(&args.dir) {
        refuse_same_folder(paths.plugins_dir(), &id)?;
    }
    let checked = check_dir(&args.dir, verbose).await;
    checked.print()?;
    let manifest = match (&checked.manifest, checked.failures.len()) {
        (Some(manifest), 0) => manifest,
        (_, n) => bail!(
            "{} was not installed: it fails {n} {}",
            checked.name(&args.dir),
            if n == 1 { "check" } else { "checks" }
        ),
    };
    let plugins_dir = paths.plugins_dir();
    ensure_private_dir(plugins_dir).map_err(advised)?;
    refuse_installed(plugins_dir, &args.dir, manifest)?;

    let target = plugins_dir.join(&manifest.id);
    let staging = plugins_dir.join(format!(".installing-{}", manifest.id));
    // Left by an install that was killed half-way: never discovered, safe to replace.
    if std::fs::symlink_metadata(&staging).is_ok() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    let installed = copy_tree(&args.dir, &staging)
        .and_then(|()| {
            std::fs::rename(&staging, &target)
                .with_context(|| format!("cannot move the copy to {}", target.display()))
        })
        .with_context(|| format!("cannot install plugin {}", manifest.id));
    if installed.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    installed?;
    print(&format!(
        "installed plugin {} {} in {}",
        manifest.id,
        manifest.version,
        target.display()
    ))
}

/// The plugin id the folder's manifest gives, if it can be read at all and is a valid id
/// (`..` or an empty id would name the plugins directory's parent or itself: the check
/// reports those).
fn plugin_id(dir: &Path) -> Option<String> {
    let files = plugboard_discovery::read_plugin(dir).ok()?;
    let path = files.manifest_path.display().to_string();
    Manifest::parse(&path, &files.json)
        .ok()
        .map(|m| m.id)
        .filter(|id| is_valid_id(id))
}

/// Refuses a plugin whose folder in the plugins directory exists.
fn refuse_same_folder(plugins_dir: &Path, id: &str) -> anyhow::Result<()> {
    let target = plugins_dir.join(id);
    if std::fs::symlink_metadata(&target).is_ok() {
        bail!(
            "plugin {id} is already installed in {}: remove it first with `plugboard plugins remove {id}`",
            target.display()
        );
    }
    Ok(())
}

/// Refuses a plugin whose id, provider ids or choice ids an installed plugin already uses: the
/// second would be left out as broken at every start.
fn refuse_installed(plugins_dir: &Path, source: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    refuse_same_folder(plugins_dir, &manifest.id)?;
    let installed: Vec<(String, Manifest)> =
        discover(&PluginRoots::new(plugins_dir.to_owned(), None))
            .into_iter()
            .filter_map(|found| match found {
                Found::Plugin(files) => {
                    let path = files.manifest_path.display().to_string();
                    Manifest::parse(&path, &files.json).ok().map(|m| (path, m))
                }
                Found::Broken { .. } => None,
            })
            .collect();
    let ours = source
        .join(plugboard_discovery::MANIFEST_FILE)
        .display()
        .to_string();
    let others = installed.iter().map(|(path, m)| (path.as_str(), m));
    match collisions(others, &ours, manifest, "the installed plugin")
        .into_iter()
        .next()
    {
        Some((rule, message)) => Err(anyhow!("[{rule}] {ours}: {message}")),
        None => Ok(()),
    }
}

/// Copies the folder `from` to a new folder `to`: folders 0700, files 0600, or 0700 when the
/// source file is executable by anyone. A symlink or a special file stops the copy.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    create_private_dir(to)?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let source = entry.path();
        let dest = to.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        if meta.file_type().is_symlink() {
            return Err(CopyError::Symlink(source).into());
        }
        if meta.is_dir() {
            copy_tree(&source, &dest)?;
        } else if meta.is_file() {
            std::fs::copy(&source, &dest)
                .with_context(|| format!("cannot copy {}", source.display()))?;
            set_mode(&dest, file_mode(&meta))?;
        } else {
            return Err(CopyError::Special(source).into());
        }
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// 0700 for a file anyone may execute, else 0600: private, executable bits kept.
#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        0o700
    } else {
        0o600
    }
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> u32 {
    0
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot make {} private", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}
