//! A home signed in to all five providers, each against its own double: what `models status
//! --check` (in `check.rs`) and `models list` (in `models_list.rs`) are tested on when every
//! provider has something to say, and when some of the services fail.

use plugboard_testkit::{
    AnthropicDouble, CodexDouble, GitHubDouble, OllamaDouble, OpenRouterDouble,
};

use crate::support::{Plugboard, Run};
use crate::{anthropic, codex, copilot, ollama};

/// Every provider the binary links, in the order `models status` and `models list` show them.
pub(crate) const PROVIDERS: [&str; 5] = [
    "anthropic",
    "github-copilot",
    "ollama",
    "openai-codex",
    "openrouter",
];

/// One home, five doubles, and a profile for each provider stored from a sign-in against its
/// double: an OpenRouter key and an Anthropic key from stdin, a ChatGPT sign-in, a GitHub
/// device-code sign-in and a local Ollama one.
pub(crate) struct FiveProviders {
    pub(crate) pb: Plugboard,
    pub(crate) openrouter: OpenRouterDouble,
    pub(crate) openrouter_key: String,
    pub(crate) anthropic: AnthropicDouble,
    pub(crate) anthropic_key: String,
    pub(crate) codex: CodexDouble,
    pub(crate) github: GitHubDouble,
    ollama: Option<OllamaDouble>,
    /// Each provider's setting that points it at its double (the Ollama one outlives it).
    env: Vec<(&'static str, String)>,
}

impl FiveProviders {
    pub(crate) fn signed_in() -> Self {
        let openrouter = OpenRouterDouble::start().expect("the OpenRouter double starts");
        let anthropic = AnthropicDouble::start().expect("the Anthropic double starts");
        let codex = codex::double_issuing(codex::HOUR);
        let github = copilot::double();
        let ollama = OllamaDouble::start().expect("the Ollama double starts");
        let env = vec![
            ("OPENROUTER_BASE_URL", openrouter.api_base()),
            ("ANTHROPIC_BASE_URL", anthropic.origin()),
            (codex::BASE_URL_ENV, codex.origin()),
            (copilot::BASE_URL_ENV, github.origin()),
            (ollama::HOST_ENV, ollama.origin()),
        ];
        let five = Self {
            pb: Plugboard::new(),
            openrouter_key: openrouter.issue_key(),
            openrouter,
            anthropic_key: anthropic.issue_key(),
            anthropic,
            codex,
            github,
            ollama: Some(ollama),
            env,
        };
        let pb = &five.pb;
        pb.remember_secret(&five.openrouter_key);
        pb.remember_secret(&five.anthropic_key);

        // The device sign-in waits a poll interval (a second); the others are signed in
        // meanwhile, each writing the same store.
        let env = five.env();
        let device = pb.spawn_watched(copilot::LOGIN, &env);
        pb.login(&five.openrouter_key, &[]);
        pb.run(anthropic::LOGIN, format!("{}\n", five.anthropic_key), &env)
            .success();
        codex::sign_in(pb, &five.codex).success();
        pb.run(ollama::LOGIN, "", &env).success();
        pb.wait_watched(device, "").success();
        copilot::remember_tokens(pb, &five.github);
        five
    }

    /// The environment that points every provider at its double.
    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }

    /// Runs plugboard with every provider pointed at its double.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let run = self.pb.run(args, "", &self.env());
        copilot::remember_tokens(&self.pb, &self.github);
        run
    }

    /// Stops the Ollama double: nothing listens at its address any more.
    pub(crate) fn stop_ollama(&mut self) {
        if let Some(ollama) = self.ollama.take() {
            ollama.shutdown().expect("the Ollama double stops");
        }
    }
}
