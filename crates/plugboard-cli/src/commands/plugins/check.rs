//! `plugboard plugins check <dir>`: a plugin folder held to the provider contract. The folder
//! is read as discovery reads an installed one (rule `plugin-files`), its manifest held to the
//! contract's manifest rules and checked against the built-in plugins' ids; an executable
//! plugin is then started and greeted (`plugin-handshake`), asked for its fixtures
//! (`plugin-fixtures`), and every contract rule runs on its providers through the protocol.

use std::path::Path;
use std::sync::Arc;

use anyhow::anyhow;
use plugboard_contract::{Failure, ManifestText, check_manifest, check_registry};
use plugboard_core::{
    DuplicateId, ErrorChain, Manifest, PluginIds, Registry, Runtime, SharedId, duplicate_ids,
};
use plugboard_exec::{ExecError, ExecOptions, SubjectsError, subjects};

use crate::cli::PluginDirArgs;
use crate::output::{note, print};

/// The folder cannot be used as a plugin (not private, a symlink inside, no `plugin.json`).
const PLUGIN_FILES: &str = "plugin-files";
/// The executable plugin did not start, or did not agree on a protocol version.
const PLUGIN_HANDSHAKE: &str = "plugin-handshake";
/// The executable plugin did not list its contract fixtures, or listed unusable ones.
const PLUGIN_FIXTURES: &str = "plugin-fixtures";

/// What checking a plugin folder found.
pub(crate) struct Checked {
    /// The manifest, when it loaded.
    pub(crate) manifest: Option<Manifest>,
    /// Every failure, in the order found.
    pub(crate) failures: Vec<Failure>,
    /// What a passing check vouches for, one line per statement.
    pub(crate) passed: Vec<String>,
}

impl Checked {
    /// The plugin's id, or the folder when the manifest did not load.
    pub(crate) fn name(&self, dir: &Path) -> String {
        match &self.manifest {
            Some(manifest) => format!("plugin {}", manifest.id),
            None => format!("the plugin in {}", dir.display()),
        }
    }

    /// Prints the report: one line per failure, tagged with its rule id, in the order found
    /// (a plugin stopped by one fault fails the later rules too, so the first line is the
    /// cause); or what passed.
    pub(crate) fn print(&self) -> anyhow::Result<()> {
        let mut lines: Vec<String> = self.failures.iter().map(Failure::to_string).collect();
        if self.failures.is_empty() {
            lines.extend(self.passed.iter().cloned());
        }
        print(&lines.join("\n"))
    }

    fn fail(&mut self, rule: &'static str, subject: &str, message: String) {
        let failure = Failure {
            rule,
            subject: subject.to_owned(),
            message,
        };
        if !self.failures.contains(&failure) {
            self.failures.push(failure);
        }
    }
}

pub(crate) async fn run(args: &PluginDirArgs, verbose: bool) -> anyhow::Result<()> {
    let checked = check_dir(&args.dir, verbose).await;
    checked.print()?;
    match checked.failures.len() {
        0 => Ok(()),
        n => Err(anyhow!(
            "{} fails {n} {}",
            checked.name(&args.dir),
            if n == 1 { "check" } else { "checks" }
        )),
    }
}

/// Checks the plugin in `dir`; the plugin's stderr is shown on stderr, as it comes with
/// `verbose`, otherwise for the calls that fail.
pub(crate) async fn check_dir(dir: &Path, verbose: bool) -> Checked {
    let mut checked = Checked {
        manifest: None,
        failures: Vec::new(),
        passed: Vec::new(),
    };
    let files = match plugboard_discovery::read_plugin(dir) {
        Ok(files) => files,
        Err(error) => {
            let subject = dir.display().to_string();
            checked.fail(PLUGIN_FILES, &subject, ErrorChain(&error).to_string());
            return checked;
        }
    };
    let path = files.manifest_path.display().to_string();
    let text = ManifestText::new(path.clone(), files.json.clone());
    let report = check_manifest(&text);
    checked.failures.extend(report.failures().iter().cloned());
    let manifest = match Manifest::load(&path, &files.json) {
        Ok(manifest) if report.is_ok() => manifest,
        // Faults the contract's rules have already named.
        _ => return checked,
    };
    collisions_with_built_ins(&path, &manifest, &mut checked);
    let id = manifest.id.clone();
    let plugin = format!("plugin {} {}", manifest.id, manifest.version);
    let runtime = manifest.runtime.clone();
    checked.manifest = Some(manifest);
    match runtime {
        None => checked.fail(
            "manifest-schema",
            &path,
            "/runtime: an installed plugin needs a \"runtime\" object (kind \"exec\" or \"openai-compatible\"): add one".to_owned(),
        ),
        Some(Runtime::OpenaiCompatible(_)) => checked.passed.push(format!(
            "{plugin} (openai-compatible): {report}; plugboard serves it with its own code, which plugboard's tests hold to the contract, so no provider rule ran"
        )),
        Some(Runtime::Exec(_)) => {
            let sink: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| note(line));
            let options = ExecOptions::for_check(verbose, sink);
            match subjects(&files.dir, &path, &files.json, &options).await {
                Ok(subjects) => {
                    let report = check_registry(&subjects).await;
                    for failure in report.failures() {
                        checked.fail(failure.rule, &failure.subject, failure.message.clone());
                    }
                    checked.passed.push(format!("{plugin} (exec): {report}"));
                }
                Err(SubjectsError::Handshake(error)) => {
                    checked.fail(PLUGIN_HANDSHAKE, &id, without_name(&id, &error));
                }
                Err(SubjectsError::Fixtures(error)) => {
                    checked.fail(PLUGIN_FIXTURES, &id, without_name(&id, &error));
                }
                Err(error) => {
                    checked.fail("manifest-schema", &path, ErrorChain(&error).to_string());
                }
            }
        }
    }
    checked
}

/// The error without its leading `plugin <id>: `, since a report line names the plugin already.
fn without_name(id: &str, error: &ExecError) -> String {
    let line = ErrorChain(error).to_string();
    match line.strip_prefix(&format!("plugin {id}: ")) {
        Some(rest) => rest.to_owned(),
        None => line,
    }
}

/// Ids of `manifest` (at `path`) that a built-in plugin already uses: each reported under the
/// contract rule for that kind of id.
fn collisions_with_built_ins(path: &str, manifest: &Manifest, checked: &mut Checked) {
    // The built-ins are this binary's own; if they were inconsistent every command would say so.
    let Ok(built_in) = Registry::load() else {
        return;
    };
    let others = built_in
        .manifests()
        .iter()
        .map(|m| (m.path.as_str(), &m.manifest));
    for (rule, message) in collisions(others, path, manifest, "the built-in plugin") {
        checked.fail(rule, path, message);
    }
}

/// Each id of `manifest` (at `path`) that one of the `others` (path, manifest) already uses:
/// the contract rule for that kind of id, and a message naming `whose` plugin uses it.
pub(crate) fn collisions<'a>(
    others: impl IntoIterator<Item = (&'a str, &'a Manifest)>,
    path: &'a str,
    manifest: &'a Manifest,
    whose: &str,
) -> Vec<(&'static str, String)> {
    let ids = |path, manifest: &'a Manifest| PluginIds {
        path,
        manifest: Some(manifest),
        providers: manifest.providers.iter().map(|p| p.id.as_str()).collect(),
    };
    let mut plugins: Vec<PluginIds<'_>> = others.into_iter().map(|(p, m)| ids(p, m)).collect();
    plugins.push(ids(path, manifest));
    duplicate_ids(&plugins)
        .iter()
        .filter(|duplicate| duplicate.second == path)
        .map(|duplicate| collision(duplicate, whose))
        .collect()
}

/// The rule and message for an id of this plugin that `whose` plugin (at `first`) uses.
fn collision(duplicate: &DuplicateId, whose: &str) -> (&'static str, String) {
    let DuplicateId {
        kind,
        id,
        pointer,
        first,
        ..
    } = duplicate;
    let (rule, what, pointer) = match kind {
        SharedId::Plugin => ("plugin-id-unique", "plugin id", pointer.as_str()),
        SharedId::Choice => ("choice-id-unique", "choice id", pointer.as_str()),
        _ => ("provider-id-unique", "provider id", "/providers"),
    };
    (
        rule,
        format!("{pointer}: {what} {id:?} is already used by {whose} {first}: pick another"),
    )
}
