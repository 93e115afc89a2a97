//! Plugin manifests: the JSON that describes a plugin's providers and sign-in choices, its
//! JSON Schema (derived from these types), and loading with errors that name the file and the
//! JSON pointer of the fault.

use std::collections::HashSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::auth::AuthKind;
use crate::ids::is_valid_id;
use crate::runtime::Runtime;

/// The manifest format version this build reads and writes.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// A plugin manifest (`manifests/<plugin>.json`). The host builds its sign-in menu from these
/// alone, without running plugin code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "plugboard plugin manifest")]
pub struct Manifest {
    /// Path or URL of this schema, for editors; ignored by plugboard.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Manifest format version; this build reads version 1.
    pub manifest_version: u32,
    /// Plugin id, `^[a-z0-9][a-z0-9-]*$`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub id: String,
    /// Plugin name shown to users.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One line on what the plugin offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Providers the plugin registers at runtime.
    pub providers: Vec<ManifestProvider>,
    /// Sign-in choices offered in the host's menu.
    #[serde(default)]
    pub auth_choices: Vec<AuthChoice>,
    /// How an installed plugin runs (`plugin.json` only): served by the host from the manifest
    /// alone (`openai-compatible`), or by a program speaking the plugin protocol (`exec`).
    /// Built-in extensions have none: their code is linked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
}

/// A provider a plugin declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestProvider {
    /// Provider id, unique across plugins.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub id: String,
    /// Name shown to users.
    pub label: String,
    /// What the provider can do once signed in, beyond signing in (`["model.run"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")))]
    pub capabilities: Vec<String>,
}

/// One entry of the sign-in menu: a provider's method, with how to present it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthChoice {
    /// Unique across all plugins; what `--choice` takes (`openrouter-oauth`).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub choice_id: String,
    /// The provider this choice signs in to; declared in `providers`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub provider: String,
    /// The provider's runtime method id (`oauth`, `api-key`).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub method: String,
    /// How the method works; must match the runtime method.
    pub kind: AuthKind,
    /// Menu label.
    pub label: String,
    /// One line saying when to pick it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The menu group it belongs to (usually one per provider).
    pub group: ChoiceGroup,
    /// Shown first.
    #[serde(default)]
    pub featured: bool,
    /// Position within its group; lower first.
    #[serde(default)]
    pub order: i32,
    /// Permissions the sign-in asks for, as the provider names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Earlier ids of this choice that `--choice` still accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64)))]
    pub deprecated_choice_ids: Vec<String>,
}

/// A menu group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceGroup {
    /// Group id.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(max = 64))]
    pub id: String,
    /// Group label.
    pub label: String,
    /// One line under the group label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A manifest that could not be loaded: the file, the JSON pointer of the fault, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}: {pointer}: {message}")]
pub struct ManifestError {
    /// The manifest's path, as the plugin registered it.
    pub file: String,
    /// RFC 6901 pointer to the fault (empty for the whole document).
    pub pointer: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Which manifest rule a [`ManifestIssue`] breaks; the contract harness maps these to its
/// own rule ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestRule {
    /// `manifest_version` is not one this build reads.
    Version,
    /// A plugin or group id breaks `^[a-z0-9][a-z0-9-]*$`.
    IdSyntax,
    /// A provider id breaks the id syntax.
    ProviderIdSyntax,
    /// A provider is declared twice.
    DuplicateProvider,
    /// A choice id breaks the id syntax.
    ChoiceIdSyntax,
    /// A choice id (or deprecated id) is used twice.
    DuplicateChoice,
    /// A method id breaks the id syntax.
    MethodIdSyntax,
    /// A choice names a provider the manifest does not declare.
    UnknownProvider,
    /// A label is blank, or a hint is given but blank.
    BlankText,
    /// The `runtime` object cannot be used (an exec program outside the plugin directory, a
    /// variable name that is not `UPPER_SNAKE`, ...).
    Runtime,
}

/// One semantic fault in a structurally valid manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestIssue {
    /// The rule broken.
    pub rule: ManifestRule,
    /// RFC 6901 pointer to the fault.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

impl Manifest {
    /// Parses and fully validates a manifest: the host's loader.
    pub fn load(file: &str, json: &str) -> Result<Self, ManifestError> {
        let manifest = Self::parse(file, json)?;
        match manifest.issues().into_iter().next() {
            Some(issue) => Err(ManifestError {
                file: file.to_owned(),
                pointer: issue.pointer,
                message: issue.message,
            }),
            None => Ok(manifest),
        }
    }

    /// Parses a manifest's structure (types, required and unknown fields) without the
    /// semantic checks of [`Manifest::issues`].
    pub fn parse(file: &str, json: &str) -> Result<Self, ManifestError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| ManifestError {
            file: file.to_owned(),
            pointer: path_to_pointer(e.path()),
            message: e.inner().to_string(),
        })
    }

    /// Every semantic fault, in document order.
    pub fn issues(&self) -> Vec<ManifestIssue> {
        let mut issues = Vec::new();
        let mut push = |rule, pointer: String, message: String| {
            issues.push(ManifestIssue {
                rule,
                pointer,
                message,
            });
        };
        if self.manifest_version != MANIFEST_SCHEMA_VERSION {
            push(
                ManifestRule::Version,
                "/manifest_version".into(),
                format!(
                    "manifest version {} is not supported: this build reads version {MANIFEST_SCHEMA_VERSION}",
                    self.manifest_version
                ),
            );
        }
        if !is_valid_id(&self.id) {
            push(
                ManifestRule::IdSyntax,
                "/id".into(),
                bad_id("plugin id", &self.id),
            );
        }
        if self.name.trim().is_empty() {
            push(
                ManifestRule::BlankText,
                "/name".into(),
                "plugin name is blank".into(),
            );
        }
        let mut providers = HashSet::new();
        for (i, p) in self.providers.iter().enumerate() {
            let at = format!("/providers/{i}");
            // A badly spelt provider still counts as declared, so the choices naming it are
            // not faulted as well.
            if !is_valid_id(&p.id) {
                push(
                    ManifestRule::ProviderIdSyntax,
                    format!("{at}/id"),
                    bad_id("provider id", &p.id),
                );
            }
            if !providers.insert(p.id.as_str()) {
                push(
                    ManifestRule::DuplicateProvider,
                    format!("{at}/id"),
                    format!("provider {:?} is declared twice", p.id),
                );
            }
            if p.label.trim().is_empty() {
                push(
                    ManifestRule::BlankText,
                    format!("{at}/label"),
                    "provider label is blank".into(),
                );
            }
        }
        let mut choices = HashSet::new();
        for (pointer, id) in self.choice_ids() {
            if !is_valid_id(id) {
                push(
                    ManifestRule::ChoiceIdSyntax,
                    pointer,
                    bad_id("choice id", id),
                );
            } else if !choices.insert(id) {
                push(
                    ManifestRule::DuplicateChoice,
                    pointer,
                    format!("choice id {id:?} is used twice"),
                );
            }
        }
        for (i, c) in self.auth_choices.iter().enumerate() {
            let at = format!("/auth_choices/{i}");
            if !providers.contains(c.provider.as_str()) {
                push(
                    ManifestRule::UnknownProvider,
                    format!("{at}/provider"),
                    format!("provider {:?} is not declared in \"providers\"", c.provider),
                );
            }
            if !is_valid_id(&c.method) {
                push(
                    ManifestRule::MethodIdSyntax,
                    format!("{at}/method"),
                    bad_id("method id", &c.method),
                );
            }
            if !is_valid_id(&c.group.id) {
                push(
                    ManifestRule::IdSyntax,
                    format!("{at}/group/id"),
                    bad_id("group id", &c.group.id),
                );
            }
            let texts = [
                ("label", Some(&c.label)),
                ("hint", c.hint.as_ref()),
                ("group/label", Some(&c.group.label)),
                ("group/hint", c.group.hint.as_ref()),
            ];
            for (field, text) in texts {
                if text.is_some_and(|t| t.trim().is_empty()) {
                    push(
                        ManifestRule::BlankText,
                        format!("{at}/{field}"),
                        format!("{field} is blank"),
                    );
                }
            }
        }
        if let Some(runtime) = &self.runtime {
            for issue in runtime.issues(self.providers.len()) {
                push(ManifestRule::Runtime, issue.pointer, issue.message);
            }
        }
        issues
    }
}

impl Manifest {
    /// Every id `--choice` accepts, with its JSON pointer: each choice's `choice_id`, then its
    /// `deprecated_choice_ids`, in document order.
    pub fn choice_ids(&self) -> impl Iterator<Item = (String, &str)> {
        self.auth_choices.iter().enumerate().flat_map(|(i, c)| {
            let current = (format!("/auth_choices/{i}/choice_id"), c.choice_id.as_str());
            let earlier = c
                .deprecated_choice_ids
                .iter()
                .enumerate()
                .map(move |(j, id)| {
                    (
                        format!("/auth_choices/{i}/deprecated_choice_ids/{j}"),
                        id.as_str(),
                    )
                });
            std::iter::once(current).chain(earlier)
        })
    }
}

fn bad_id(what: &str, id: &str) -> String {
    format!(
        "{what} {id:?} is invalid: use lowercase letters, digits and '-', starting with a letter or digit"
    )
}

/// Turns serde's path (`auth_choices[0].choice_id`) into an RFC 6901 pointer.
fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

/// The manifest's JSON Schema, derived from the Rust types.
pub fn manifest_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
}

/// The schema as committed at `manifests/schema/plugin-manifest.schema.json`: pretty JSON with
/// a trailing newline.
pub fn manifest_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> serde_json::Value {
        serde_json::json!({
            "manifest_version": 1,
            "id": "demo",
            "name": "Demo",
            "version": "0.1.0",
            "providers": [{"id": "demo", "label": "Demo"}],
            "auth_choices": [{
                "choice_id": "demo-api-key",
                "provider": "demo",
                "method": "api-key",
                "kind": "api_key",
                "label": "Demo API key",
                "group": {"id": "demo", "label": "Demo"}
            }]
        })
    }

    fn load(value: &serde_json::Value) -> Result<Manifest, ManifestError> {
        Manifest::load("manifests/demo.json", &value.to_string())
    }

    #[test]
    fn a_good_manifest_loads() {
        let m = load(&good()).unwrap();
        assert_eq!(m.auth_choices[0].kind, AuthKind::ApiKey);
        assert!(m.issues().is_empty());
    }

    #[test]
    fn faults_are_reported_with_file_and_pointer() {
        type Mutation = fn(&mut serde_json::Value);
        let cases: [(&str, Mutation, &str); 12] = [
            (
                "unknown top-level field",
                |v| v["extra"] = 1.into(),
                "/extra",
            ),
            (
                "unknown choice field",
                |v| v["auth_choices"][0]["colour"] = "red".into(),
                "/auth_choices/0/colour",
            ),
            (
                "wrong type",
                |v| v["auth_choices"][0]["order"] = "first".into(),
                "/auth_choices/0/order",
            ),
            (
                "unknown kind",
                |v| v["auth_choices"][0]["kind"] = "magic".into(),
                "/auth_choices/0/kind",
            ),
            (
                "missing field",
                |v| {
                    v["auth_choices"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("label");
                },
                "/auth_choices/0",
            ),
            ("bad plugin id", |v| v["id"] = "Demo".into(), "/id"),
            (
                "bad choice id",
                |v| v["auth_choices"][0]["choice_id"] = "demo key".into(),
                "/auth_choices/0/choice_id",
            ),
            (
                "duplicate choice via deprecated id",
                |v| {
                    v["auth_choices"][0]["deprecated_choice_ids"] =
                        serde_json::json!(["demo-api-key"])
                },
                "/auth_choices/0/deprecated_choice_ids/0",
            ),
            (
                "unknown provider",
                |v| v["auth_choices"][0]["provider"] = "other".into(),
                "/auth_choices/0/provider",
            ),
            (
                "blank hint",
                |v| v["auth_choices"][0]["hint"] = " ".into(),
                "/auth_choices/0/hint",
            ),
            (
                "duplicate provider",
                |v| {
                    v["providers"]
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({"id": "demo", "label": "Again"}))
                },
                "/providers/1/id",
            ),
            (
                "unsupported version",
                |v| v["manifest_version"] = 2.into(),
                "/manifest_version",
            ),
        ];
        for (name, mutate, pointer) in cases {
            let mut v = good();
            mutate(&mut v);
            let err = load(&v).expect_err(name);
            assert_eq!(err.file, "manifests/demo.json", "{name}");
            assert_eq!(err.pointer, pointer, "{name}: {err}");
            assert!(
                err.to_string().starts_with("manifests/demo.json: "),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn runtime_objects_load_and_their_faults_name_the_pointer() {
        let with = |runtime: serde_json::Value| {
            let mut v = good();
            v["runtime"] = runtime;
            load(&v)
        };
        let compatible = with(serde_json::json!({
            "kind": "openai-compatible",
            "base_url": "https://api.groq.com/openai/v1",
            "api_key_env": "GROQ_API_KEY"
        }))
        .unwrap();
        assert_eq!(
            compatible.runtime.as_ref().map(Runtime::kind),
            Some("openai-compatible")
        );
        let exec = with(serde_json::json!({"kind": "exec", "command": ["./bin/plugin"], "env": ["ACME_REGION"]}))
            .unwrap();
        assert_eq!(exec.runtime.as_ref().map(Runtime::kind), Some("exec"));

        let cases = [
            (serde_json::json!({"kind": "wasm"}), "/runtime/kind"),
            (
                serde_json::json!({"kind": "exec", "command": ["./p"], "colour": 1}),
                "/runtime",
            ),
            (
                serde_json::json!({"kind": "openai-compatible", "base_url": "https://x", "api_key_env": "groq_key"}),
                "/runtime/api_key_env",
            ),
            (
                serde_json::json!({"kind": "exec", "command": []}),
                "/runtime/command",
            ),
            (
                serde_json::json!({"kind": "exec", "command": ["/usr/bin/evil"]}),
                "/runtime/command/0",
            ),
            (
                serde_json::json!({"kind": "exec", "command": ["../other/bin"]}),
                "/runtime/command/0",
            ),
            (
                serde_json::json!({"kind": "exec", "command": ["./p"], "env": ["HOME"]}),
                "/runtime/env/0",
            ),
            (
                serde_json::json!({"kind": "exec", "command": ["./p"], "timeout_secs": 0}),
                "/runtime/timeout_secs",
            ),
        ];
        for (runtime, pointer) in cases {
            let err = with(runtime.clone()).expect_err(&runtime.to_string());
            assert_eq!(err.pointer, pointer, "{runtime}: {err}");
        }
    }

    #[test]
    fn committed_schema_matches_the_rust_types() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../manifests/schema/plugin-manifest.schema.json"
        );
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == manifest_schema_text(),
            "manifests/schema/plugin-manifest.schema.json is stale; regenerate it from the workspace root with:\n  \
             cargo run -q -p plugboard-cli -- plugins schema > manifests/schema/plugin-manifest.schema.json"
        );
    }

    #[test]
    fn schema_describes_every_field() {
        let schema = manifest_schema_text();
        for field in [
            "choice_id",
            "deprecated_choice_ids",
            "featured",
            "manifest_version",
            "api_key",
            "oauth",
        ] {
            assert!(schema.contains(field), "{field}");
        }
    }
}
