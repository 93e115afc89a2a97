//! The command line: clap definitions only; each command's behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  plugboard plugins list
  plugboard plugins remove groq
  plugboard models auth choices
  plugboard models auth login --provider openrouter --method api-key
  plugboard models status --json
  plugboard models set openrouter/auto
  plugboard infer model run --model openrouter/auto --prompt 'Say hello'
  plugboard completions bash > ~/.local/share/bash-completion/completions/plugboard";

/// Host for model-provider plugins: sign in to providers, see which credentials are in use, and
/// run models with them.
#[derive(Debug, Parser)]
#[command(name = "plugboard", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Show what executable plugins write to stderr as it comes (sanitised, prefixed with the
    /// plugin's id), not only when one fails
    #[arg(long, global = true)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Inspect and manage plugins: built in, and installed in the plugins directory
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Sign in to providers, see credential status, pick the default model
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run models with the credential `models status` shows
    #[command(subcommand)]
    Infer(InferCommand),
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  plugboard completions bash > ~/.local/share/bash-completion/completions/plugboard
  plugboard completions zsh > ~/.zfunc/_plugboard      # with fpath+=~/.zfunc before compinit
  plugboard completions fish > ~/.config/fish/completions/plugboard.fish";

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InferCommand {
    /// Text models
    #[command(subcommand)]
    Model(InferModelCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum InferModelCommand {
    /// Send one prompt to a model and print its reply
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
}

const RUN_EXAMPLES: &str = "\
Examples:
  plugboard infer model run --model openrouter/auto --prompt 'Say hello'
  plugboard infer model run --model openrouter/auto --prompt 'Reply exactly: ok' --json
  plugboard infer model run --model openrouter/auto --prompt 'Hi' --profile openrouter:work
  plugboard infer model run --local --model openrouter/auto --prompt 'Hi' --json
  plugboard infer model run --model openai-codex/gpt-5.6-sol --prompt 'Say hello'
  plugboard infer model run --model anthropic/claude-sonnet-5-5 --prompt 'Say hello'

The key is the one `plugboard models status` reports as effective: --profile if given, else the
provider's key variable (OPENROUTER_API_KEY), else its default profile. The model is always called
from this process (--local); there is no gateway. A stored credential its provider says is due
(a token that expires within a minute, a session token that is missing or about to expire) is
refreshed first, and once more if the service says it has expired; many plugboard processes
refresh one token only once.";

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The model, as provider/model (e.g. openrouter/auto)
    #[arg(long, value_name = "PROVIDER/MODEL")]
    pub(crate) model: String,
    /// The prompt to send
    #[arg(long, value_name = "TEXT")]
    pub(crate) prompt: String,
    /// Use this stored profile (`name` or `provider:name`) instead of the effective credential
    #[arg(long, value_name = "ID")]
    pub(crate) profile: Option<String>,
    /// Print JSON (stable, documented in docs/cli.md), failures included
    #[arg(long)]
    pub(crate) json: bool,
    /// Run the model from this process. This is the only transport and the default; the flag
    /// is accepted so commands written for the peer CLI keep working
    #[arg(long)]
    pub(crate) local: bool,
    /// Not available: plugboard has no gateway, so this is refused (exit 2); leave it out
    #[arg(long)]
    pub(crate) gateway: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// List plugins (built in and installed), their providers, sign-in methods and state
    #[command(after_help = PLUGINS_LIST_EXAMPLES)]
    List(JsonFlag),
    /// Remove an installed plugin from the plugins directory
    #[command(after_help = PLUGINS_REMOVE_EXAMPLES)]
    Remove(RemoveArgs),
    /// Print the JSON Schema that plugin manifests (or plugin protocol messages) follow
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema(SchemaArgs),
    /// Hold a plugin folder to the provider contract, running an executable plugin's own
    /// fixtures and the contract's probes through the plugin protocol
    #[command(after_help = CHECK_EXAMPLES)]
    Check(PluginDirArgs),
    /// Check a plugin folder, then copy it into the plugins directory if it passes
    #[command(after_help = INSTALL_EXAMPLES)]
    Install(PluginDirArgs),
}

const CHECK_EXAMPLES: &str = "\
Examples:
  plugboard plugins check ./my-plugin
  plugboard plugins check --verbose examples/plugin-python

Prints one line per failure, `[rule-id] subject: message`, and exits 1 if there is any, 0 when
the plugin passes. Rule plugin-files reports a folder that cannot be used (not private, a symlink
inside, no plugin.json); then the manifest rules run, and ids a built-in plugin already uses are
reported. An executable plugin is then started (its code runs): rule plugin-handshake checks its
hello, plugin-fixtures its list of contract fixtures, and every contract rule runs on its
providers, each call answered by a scripted service on a loopback server handed to the plugin as
its base URL. An openai-compatible plugin is served by plugboard's own code, which plugboard's
tests hold to the contract, so only its manifest is checked.";

const INSTALL_EXAMPLES: &str = "\
Examples:
  plugboard plugins install ./my-plugin
  plugboard plugins install --verbose examples/plugin-python

Runs `plugboard plugins check` on the folder and installs nothing unless it passes. The folder
is copied to <plugins dir>/<plugin id>/ (PLUGBOARD_HOME/plugins, or the data directory's
plugins/), readable and writable by you alone, executable files kept executable; a symlink
inside is refused. A plugin id that is already installed is refused: remove it first with
`plugboard plugins remove <id>`.";

#[derive(Debug, Args)]
pub(crate) struct PluginDirArgs {
    /// The plugin's folder, holding plugin.json
    #[arg(value_name = "DIR")]
    pub(crate) dir: std::path::PathBuf,
}

const PLUGINS_LIST_EXAMPLES: &str = "\
Examples:
  plugboard plugins list
  plugboard plugins list --json

Plugins are read in a fixed order: built in, then the plugins directory ($PLUGBOARD_HOME/plugins,
or the data directory's plugins/), then each folder of PLUGBOARD_PLUGIN_PATH (colon-separated),
plugin folders sorted by name. Each shows where it came from (built-in, manifest, exec), its
folder, and its state: ok, or broken with the reason. A broken plugin is left out of the sign-in
menu and every other command works as if it were not there. Only manifests are read: no plugin
program is started.";

const PLUGINS_REMOVE_EXAMPLES: &str = "\
Examples:
  plugboard plugins remove groq
  plugboard models auth logout --provider groq --all && plugboard plugins remove groq

Removes the plugin's folder from the plugins directory (the id is the plugin's, as `plugboard
plugins list` shows it, or the name of its folder there). The folder is first renamed to a
hidden .removing-<id>, then deleted, so an interrupted removal leaves no half plugin behind. A
folder that is a link to a plugin elsewhere loses only the link. Built-in plugins cannot be
removed, and a plugin found through PLUGBOARD_PLUGIN_PATH is not touched: remove its folder
yourself, or take its entry out of the variable.

Credentials stored for the plugin's providers stay in the store; remove them first with
`plugboard models auth logout --provider <id> --all`.";

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The installed plugin's id (see `plugboard plugins list`)
    #[arg(value_name = "ID")]
    pub(crate) id: String,
}

const SCHEMA_EXAMPLES: &str = "\
Examples:
  plugboard plugins schema > manifests/schema/plugin-manifest.schema.json
  plugboard plugins schema --protocol host > docs/protocol/host-message.schema.json
  plugboard plugins schema --protocol plugin > docs/protocol/plugin-message.schema.json";

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Print the schema of the plugin protocol's messages from this side instead
    #[arg(long, value_enum, value_name = "SIDE")]
    pub(crate) protocol: Option<ProtocolSide>,
}

/// Which side's messages `plugins schema --protocol` describes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ProtocolSide {
    /// What the host sends to a plugin
    Host,
    /// What a plugin sends to the host
    Plugin,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// Sign in and out
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Show the credential each provider uses, and why
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// List the models each provider offers
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Set the default model (provider/model)
    #[command(
        after_help = "Examples:\n  plugboard models set openrouter/auto\n  plugboard models set openrouter/liquid/lfm-2.5-1.2b-instruct:free"
    )]
    Set(SetArgs),
}

const STATUS_EXAMPLES: &str = "\
Examples:
  plugboard models status
  plugboard models status --json
  plugboard models status --profile openrouter:work
  plugboard models status --check

Without --check nothing is sent anywhere. With it, each provider that can check a credential
is asked once, in parallel, for at most 2 s; a check is ok, rejected, expired, unreachable,
error, no_credential or unsupported. A provider that is down never fails the command.";

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// List the sign-in choices, grouped by provider
    #[command(
        after_help = "Examples:\n  plugboard models auth choices\n  plugboard models auth choices --json"
    )]
    Choices(JsonFlag),
    /// Sign in to a provider and store the credential
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Remove stored credentials
    #[command(after_help = LOGOUT_EXAMPLES)]
    Logout(LogoutArgs),
}

const LOGIN_EXAMPLES: &str = "\
Examples:
  plugboard models auth login                       # pick from the menu (needs a terminal)
  plugboard models auth login --provider openrouter --method oauth
  plugboard models auth login --provider openrouter --method oauth --no-browser   # over SSH
  plugboard models auth login --choice openrouter-api-key --profile work
  printf '%s\\n' \"$KEY\" | plugboard models auth login --provider openrouter --method api-key
  plugboard models auth login --provider openai-codex           # ChatGPT sign-in
  plugboard models auth login --provider anthropic --method api-key

Browser sign-in prints the URL and opens a browser ($BROWSER if set). Over SSH, without a display
or with --no-browser, open the URL anywhere and paste the address the browser lands on; the
loopback callback keeps listening meanwhile. On a terminal the paste prompt is offered after
opening a browser too, for when it cannot reach this machine (WSL, containers). Without a
terminal, the redirect URL is read from standard input.

A device-code sign-in prints a code and a URL (on stderr, so it works without a terminal): open
the URL on any device and enter the code; plugboard waits until you confirm, up to --timeout.
Ctrl-C stops any sign-in; nothing is stored unless it finishes.

An API key is never taken as an argument: it is asked for (hidden) on a terminal, or read as one
line from standard input.";

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print JSON (stable, documented in docs/cli.md)
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Provider to sign in to (see `plugboard plugins list`)
    #[arg(long, value_name = "P")]
    pub(crate) provider: Option<String>,
    /// The provider's sign-in method (e.g. api-key)
    #[arg(
        long,
        value_name = "M",
        requires = "provider",
        conflicts_with = "choice"
    )]
    pub(crate) method: Option<String>,
    /// A sign-in choice from `plugboard models auth choices` (e.g. openrouter-api-key)
    #[arg(long, value_name = "C")]
    pub(crate) choice: Option<String>,
    /// Store under this profile (`name` or `provider:name`) instead of `<provider>:default`
    #[arg(long, value_name = "ID")]
    pub(crate) profile: Option<String>,
    /// Also make the provider's suggested model the default
    #[arg(long)]
    pub(crate) set_default: bool,
    /// Never open a browser. Browser sign-in: paste the redirect URL instead (the loopback
    /// callback still listens); device-code sign-in: open the URL it prints yourself
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Browser sign-in: listen for the callback on this localhost port (0: any free port);
    /// fails if it is taken. Default: 3000, or a free port when 3000 is taken
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// Browser or device-code sign-in: give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) timeout: u64,
}

const LOGOUT_EXAMPLES: &str = "\
Examples:
  plugboard models auth logout --provider openrouter                  # its only profile
  plugboard models auth logout --provider openrouter --profile work
  plugboard models auth logout --provider openrouter --all
  plugboard models auth logout --damaged 'openrouter:bad name'

With several profiles and no --profile, a terminal asks which to remove; without a terminal
the command lists them and exits 2 unless --all is given. A row `plugboard models status`
reports as damaged is removed with the --damaged command it prints. Logging out never
revokes a key at the provider.";

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// Provider to sign out of
    #[arg(long, value_name = "P", required_unless_present = "damaged")]
    pub(crate) provider: Option<String>,
    /// Remove only this profile (`name` or `provider:name`)
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub(crate) profile: Option<String>,
    /// Remove every profile of the provider without asking
    #[arg(long)]
    pub(crate) all: bool,
    /// Remove a row `models status` lists as damaged, by its id exactly as stored (copy the
    /// command status prints: it quotes the id for the shell)
    #[arg(
        long,
        value_name = "RAW_ID",
        conflicts_with_all = ["provider", "profile", "all"]
    )]
    pub(crate) damaged: Option<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON (stable, documented in docs/cli.md)
    #[arg(long)]
    pub(crate) json: bool,
    /// Show what a command given `--profile ID` would use (`name` at every provider, or
    /// `provider:name`)
    #[arg(long, value_name = "ID")]
    pub(crate) profile: Option<String>,
    /// Also ask each provider, all at once and for at most 2 s each, whether the credential it
    /// would use works (never refreshes or stores anything)
    #[arg(long)]
    pub(crate) check: bool,
}

const LIST_EXAMPLES: &str = "\
Examples:
  plugboard models list
  plugboard models list --provider openrouter
  plugboard models list --json

Every provider that can list models is asked at once (at most 15 s each, or
PLUGBOARD_HTTP_TIMEOUT), with the credential `plugboard models status` reports; a stored token
due for a refresh is refreshed first, as for a model call. Each model is one line,
provider/model (what --model takes), with (free) for free ones. A provider without a
credential, or whose service fails, is said on stderr; the command fails only when no provider
listed anything.";

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Ask only this provider (one that can list models, see `plugboard plugins list`)
    #[arg(long, value_name = "P")]
    pub(crate) provider: Option<String>,
    /// Print JSON (stable, documented in docs/cli.md)
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The model, as provider/model
    #[arg(value_name = "PROVIDER/MODEL")]
    pub(crate) model: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
