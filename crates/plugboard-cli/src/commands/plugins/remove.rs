//! `plugboard plugins remove <id>`: takes an installed plugin's folder out of the plugins
//! directory. The folder is renamed to a hidden `.removing-<id>` first (discovery skips hidden
//! folders) and deleted after, so a removal cut short leaves no half plugin that would load.
//! Built-in plugins and those found through `PLUGBOARD_PLUGIN_PATH` are not touched; stored
//! credentials stay in the store, and the command says which.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plugboard_core::PluginOrigin;
use plugboard_discovery::{PLUGIN_PATH_VAR, PluginRoots};

use crate::app::App;
use crate::echo;
use crate::error::usage;
use crate::installed::plugin_dir;
use crate::output::{note, print};

/// An installed plugin the registry read, loaded or broken.
struct Installed {
    /// Its folder.
    dir: PathBuf,
    /// Its plugin id, when its manifest could be read.
    id: Option<String>,
    /// The providers it declares (none for a broken plugin).
    providers: Vec<String>,
    /// Why it was left out, for a broken plugin.
    reason: Option<String>,
}

impl Installed {
    /// Whether `name` is its id, or, for a plugin whose manifest says none, its folder's name.
    fn is(&self, name: &str) -> bool {
        match &self.id {
            Some(id) => id == name,
            None => self.dir.file_name().is_some_and(|f| f == name),
        }
    }

    /// How it is named in messages and in the hidden folder: its id, else its folder's name.
    fn name(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => self
                .dir
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

pub(crate) fn run(app: &App, id: &str) -> anyhow::Result<()> {
    let plugins_dir = app.paths.plugins_dir();
    // A root that cannot be trusted is listed as broken like a plugin, but it is none: its
    // name is not a plugin's, and its reason is why no plugin in it could be read.
    let roots = PluginRoots::from_env(plugins_dir.to_owned());
    let (untrusted_roots, installed): (Vec<Installed>, Vec<Installed>) = installed(app)
        .into_iter()
        .partition(|p| roots.dirs().contains(&p.dir));
    let in_home = |p: &&Installed| p.dir.parent() == Some(plugins_dir);
    // A plugin in the plugins directory wins, even one sharing a built-in plugin's id (left
    // out as broken): that is the one a user can have installed by mistake.
    if let Some(plugin) = installed.iter().filter(in_home).find(|p| p.is(id)) {
        return remove(app, plugin);
    }
    let quoted = echo::quoted(id);
    let built_in = app
        .registry
        .manifests()
        .iter()
        .any(|m| m.origin == PluginOrigin::BuiltIn && m.manifest.id == id);
    if built_in {
        return usage(format!(
            "plugin {quoted} is built into plugboard and cannot be removed"
        ));
    }
    if let Some(plugin) = installed.iter().find(|p| p.is(id)) {
        let root = plugin.dir.parent().unwrap_or(&plugin.dir);
        return usage(format!(
            "plugin {quoted} is in {}, found through {PLUGIN_PATH_VAR}; plugboard removes only plugins in {}: remove that folder yourself, or take {} out of {PLUGIN_PATH_VAR}",
            plugin.dir.display(),
            plugins_dir.display(),
            root.display()
        ));
    }
    let names: Vec<String> = installed
        .iter()
        .filter(in_home)
        .map(Installed::name)
        .collect();
    if let Some(reason) = untrusted_roots
        .iter()
        .find(|root| root.dir == plugins_dir)
        .and_then(|root| root.reason.as_deref())
    {
        return usage(format!(
            "no installed plugin {quoted} can be read: {reason}"
        ));
    }
    if names.is_empty() {
        return usage(format!(
            "no installed plugin {quoted}: no plugins are installed in {}",
            plugins_dir.display()
        ));
    }
    usage(format!(
        "no installed plugin {quoted}: installed plugins are {}",
        names.join(", ")
    ))
}

/// Every installed plugin the registry read, in the order it read them.
fn installed(app: &App) -> Vec<Installed> {
    let loaded = app
        .registry
        .manifests()
        .iter()
        .filter(|m| m.origin != PluginOrigin::BuiltIn)
        .map(|m| Installed {
            dir: plugin_dir(&m.path).to_owned(),
            id: Some(m.manifest.id.clone()),
            providers: m.manifest.providers.iter().map(|p| p.id.clone()).collect(),
            reason: None,
        });
    let broken = app.registry.broken().iter().map(|b| Installed {
        dir: plugin_dir(&b.path).to_owned(),
        id: b.id.clone(),
        providers: Vec::new(),
        reason: Some(b.reason.clone()),
    });
    loaded.chain(broken).collect()
}

fn remove(app: &App, plugin: &Installed) -> anyhow::Result<()> {
    let name = plugin.name();
    let hidden = app.paths.plugins_dir().join(format!(".removing-{name}"));
    take_away(&plugin.dir, &hidden)
        .with_context(|| format!("cannot remove plugin {name} from {}", plugin.dir.display()))?;
    print(&format!("removed plugin {name} ({})", plugin.dir.display()))?;
    stored_profiles_stay(app, plugin);
    Ok(())
}

/// Renames `dir` to `hidden`, then deletes it: a link to a plugin elsewhere loses only the
/// link. A `hidden` left by an earlier removal cut short goes first.
fn take_away(dir: &Path, hidden: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(hidden).is_ok() {
        delete(hidden).with_context(|| {
            format!(
                "cannot clear {}, left by an earlier removal",
                hidden.display()
            )
        })?;
    }
    std::fs::rename(dir, hidden).context("cannot rename its folder")?;
    delete(hidden).with_context(|| {
        format!(
            "it is no longer loaded, but its files remain in {}: delete them yourself",
            hidden.display()
        )
    })
}

fn delete(path: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        // A link (or a stray file): only it goes, never what it points to.
        std::fs::remove_file(path)
    }
}

/// Says which stored credentials of the plugin's providers stay, and how to delete them.
fn stored_profiles_stay(app: &App, plugin: &Installed) {
    let listing = match app.stored_listing() {
        Ok(listing) => listing,
        Err(e) => {
            note(&format!(
                "cannot read the store to say which of its credentials stay there: {e:#}"
            ));
            return;
        }
    };
    for provider in &plugin.providers {
        let ids: Vec<String> = listing
            .profiles
            .iter()
            .filter(|p| p.profile_id.provider() == provider)
            .map(|p| p.profile_id.to_string())
            .collect();
        if ids.is_empty() {
            continue;
        }
        note(&format!(
            "the credentials stored for {provider} stay in the store, unused ({}); to delete them, install the plugin again and run `plugboard models auth logout --provider {provider} --all`",
            ids.join(", ")
        ));
    }
}
