//! How an installed plugin runs: the `runtime` object of its `plugin.json`. Built-in extensions
//! have none (their code is linked in); an installed plugin must have one. This is data only:
//! the host crates that serve each kind decide what it means at run time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::is_upper_snake;

/// The longest request timeout an executable plugin may ask for, in seconds.
pub const MAX_EXEC_TIMEOUT_SECS: u32 = 600;

/// Variables an executable plugin always gets and so may not list in `runtime.env`.
pub const EXEC_BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "TZ"];

/// How an installed plugin's providers are served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Runtime {
    /// A service that speaks the OpenAI chat API: the host serves the plugin's one provider
    /// itself, with no plugin code.
    OpenaiCompatible(OpenAiCompatibleRuntime),
    /// A program that speaks the plugin protocol over its stdin and stdout.
    Exec(ExecRuntime),
}

impl Runtime {
    /// The stable name of the kind (`openai-compatible`, `exec`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OpenaiCompatible(_) => "openai-compatible",
            Self::Exec(_) => "exec",
        }
    }
}

/// A manifest-only provider of an OpenAI-compatible service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiCompatibleRuntime {
    /// The API root, path included (`https://api.groq.com/openai/v1`): model calls go to
    /// `<base_url>/chat/completions` and listings to `<base_url>/models`. The provider's
    /// `<PROVIDER>_BASE_URL` variable replaces it whole.
    pub base_url: String,
    /// The variable holding the key (`GROQ_API_KEY`); when set it wins over stored profiles.
    /// Without it the service needs no key and the provider's sign-in is `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Z][A-Z0-9_]*$"))]
    pub api_key_env: Option<String>,
    /// A model to suggest as default, as the service names it (without the provider prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
}

/// An executable plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecRuntime {
    /// The program and its arguments; the program is a path relative to the plugin directory
    /// (`["./bin/my-plugin"]`), or a bare name found on `PATH` (`["python3", "plugin.py"]`).
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
    /// Variables passed from the host's environment to the plugin's, besides `PATH`, `HOME`
    /// and the locale, which it always gets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^[A-Z][A-Z0-9_]*$")))]
    pub env: Vec<String>,
    /// The plugin's service, handed to it with every request; the provider's
    /// `<PROVIDER>_BASE_URL` variable replaces it whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Longest wait for the plugin's answer to one request, in seconds (default 30; time spent
    /// waiting for the user's answer to a prompt does not count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_secs: Option<u32>,
}

/// One fault in a runtime object, relative to `/runtime`.
pub(crate) struct RuntimeIssue {
    pub(crate) pointer: String,
    pub(crate) message: String,
}

impl Runtime {
    /// Every fault in the runtime object of a manifest declaring `providers` providers.
    pub(crate) fn issues(&self, providers: usize) -> Vec<RuntimeIssue> {
        let mut issues = Vec::new();
        let mut push = |pointer: &str, message: String| {
            issues.push(RuntimeIssue {
                pointer: format!("/runtime{pointer}"),
                message,
            });
        };
        match self {
            Self::OpenaiCompatible(rt) => {
                if providers != 1 {
                    push(
                        "/kind",
                        format!(
                            "an openai-compatible plugin declares exactly one provider, not {providers}"
                        ),
                    );
                }
                if rt.base_url.trim().is_empty() {
                    push("/base_url", "base_url is blank".into());
                }
                if let Some(name) = &rt.api_key_env
                    && !is_upper_snake(name)
                {
                    push("/api_key_env", not_upper_snake(name));
                }
                if rt
                    .default_model
                    .as_ref()
                    .is_some_and(|m| m.trim().is_empty())
                {
                    push("/default_model", "default_model is blank".into());
                }
            }
            Self::Exec(rt) => {
                match rt.command.first() {
                    None => push(
                        "/command",
                        "command is empty: name the program to run".into(),
                    ),
                    Some(program) => {
                        if let Some(message) = program_issue(program) {
                            push("/command/0", message);
                        }
                    }
                }
                for (i, name) in rt.env.iter().enumerate() {
                    if !is_upper_snake(name) {
                        push(&format!("/env/{i}"), not_upper_snake(name));
                    } else if EXEC_BASE_ENV.contains(&name.as_str()) {
                        push(
                            &format!("/env/{i}"),
                            format!("{name} is always passed: leave it out"),
                        );
                    }
                }
                if rt.base_url.as_ref().is_some_and(|u| u.trim().is_empty()) {
                    push("/base_url", "base_url is blank".into());
                }
                if let Some(secs) = rt.timeout_secs
                    && !(1..=MAX_EXEC_TIMEOUT_SECS).contains(&secs)
                {
                    push(
                        "/timeout_secs",
                        format!("timeout_secs is {secs}: use 1 to {MAX_EXEC_TIMEOUT_SECS}"),
                    );
                }
            }
        }
        issues
    }
}

/// Why `program` cannot be an executable plugin's program: it must stay inside the plugin
/// directory (`./bin/x`, `bin/x`) or be a bare name looked up on `PATH`.
fn program_issue(program: &str) -> Option<String> {
    if program.trim().is_empty() {
        return Some("the program is blank".into());
    }
    if program.starts_with('/') {
        return Some(format!(
            "the program {program:?} is an absolute path: give it relative to the plugin directory"
        ));
    }
    if program.split('/').any(|part| part == "..") {
        return Some(format!(
            "the program {program:?} leaves the plugin directory: keep it inside"
        ));
    }
    if program.chars().any(char::is_control) {
        return Some("the program contains control characters".into());
    }
    None
}

fn not_upper_snake(name: &str) -> String {
    format!(
        "environment variable {name:?} is not UPPER_SNAKE: use A-Z, 0-9 and '_', starting with a letter"
    )
}

/// The variable that replaces a provider's base URL: `<PROVIDER>_BASE_URL`, the id in upper
/// case with `-` as `_` (`acme-cloud` → `ACME_CLOUD_BASE_URL`).
pub fn base_url_env(provider_id: &str) -> String {
    format!(
        "{}_BASE_URL",
        provider_id.to_ascii_uppercase().replace('-', "_")
    )
}
