//! Every extension linked into the binary. `inventory` registrations vanish if nothing
//! references the extension crate, so each one is named here, and a test asserts the registry
//! holds exactly these providers.

use plugboard_anthropic as _;
use plugboard_github_copilot as _;
use plugboard_ollama as _;
use plugboard_openai_codex as _;
use plugboard_openrouter as _;

/// Provider ids the linked extensions register, sorted; kept beside the `use` lines above so
/// the two cannot drift. Adding an extension touches this file, this crate's `Cargo.toml`
/// (the dependency) and the root `Cargo.toml` (`members`, `[workspace.dependencies]`); see
/// docs/plugin-authoring.md.
#[cfg(test)]
pub(crate) const LINKED_PROVIDERS: &[&str] = &[
    "anthropic",
    "github-copilot",
    "ollama",
    "openai-codex",
    "openrouter",
];

#[cfg(test)]
mod tests {
    use plugboard_core::Registry;

    use super::LINKED_PROVIDERS;

    #[test]
    fn registry_holds_every_linked_extension() {
        let registry = Registry::load().unwrap();
        assert_eq!(registry.provider_ids(), LINKED_PROVIDERS);
    }
}
