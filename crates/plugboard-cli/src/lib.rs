//! The `plugboard` host: loads the provider plugins linked into the binary, shows the sign-in
//! menu, signs in, reports which credential each provider uses, and runs models with it.
//!
//! This is the only crate that knows about terminals, exit codes and where files live on this
//! machine; the providers and the core see none of it (see `docs/architecture.md`).

mod app;
mod browser;
mod call;
mod cli;
mod commands;
mod credentials;
mod echo;
mod error;
mod extensions;
mod host;
mod installed;
mod network;
mod output;
#[cfg(test)]
mod reference;
mod refresh;
mod shell;
mod system;
mod terminal;
#[cfg(test)]
mod test_support;

use std::process::ExitCode;

use clap::Parser;

use crate::app::App;
use crate::cli::{
    AuthCommand, Cli, Command, InferCommand, InferModelCommand, ModelsCommand, PluginsCommand,
};
use crate::error::{Reported, exit_code, one_line};

/// Runs the command line and returns the process exit code: 0 ok, 1 failure, 2 usage.
pub fn main() -> ExitCode {
    // First of all: any later crash must not write a key read from the store, a prompt or the
    // environment to disk.
    if let Err(e) = forbid_core_dumps() {
        output::note(&format!(
            "error: cannot switch off core dumps, which could write a key to disk: {e}"
        ));
        return ExitCode::from(1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; clap reports every other parse error as usage.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            let result = runtime.block_on(run(cli));
            // A prompt that lost a race (a paste prompt when the browser callback won) may
            // still be blocked reading stdin; dropping the runtime would wait for it forever.
            runtime.shutdown_background();
            result
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is::<Reported>() {
                output::note(&format!("error: {}", one_line(&e)));
            }
            exit_code(&e)
        }
    }
}

/// Sets the core-file size limit to 0, soft and hard, so neither this process nor anything it
/// starts can dump core and the limit cannot be raised again; on Linux the process is also
/// marked not dumpable, which stops core handlers that ignore the limit (a piped
/// `core_pattern`) and same-user debuggers from reading its memory.
#[cfg(unix)]
fn forbid_core_dumps() -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Windows has no core limit; crash dumps there are the system's Error Reporting settings.
#[cfg(not(unix))]
fn forbid_core_dumps() -> std::io::Result<()> {
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // None of these needs the installed plugins, the config or the store.
    match &cli.command {
        Command::Plugins(PluginsCommand::Schema(a)) => {
            return commands::plugins::schema(a.protocol);
        }
        // A folder is checked against the built-in plugins alone: what is installed does not
        // change whether it keeps the contract (install checks the installed ones itself).
        Command::Plugins(PluginsCommand::Check(a)) => {
            return commands::plugins::check::run(a, cli.verbose).await;
        }
        Command::Plugins(PluginsCommand::Install(a)) => {
            return commands::plugins::install::run(a, cli.verbose).await;
        }
        Command::Completions(a) => return commands::completions::print(a.shell),
        _ => {}
    }
    let app = App::load(cli.verbose)?;
    match cli.command {
        Command::Plugins(PluginsCommand::List(a)) => commands::plugins::list::run(&app, a.json),
        Command::Plugins(PluginsCommand::Remove(a)) => commands::plugins::remove::run(&app, &a.id),
        Command::Plugins(PluginsCommand::Schema(a)) => commands::plugins::schema(a.protocol),
        Command::Plugins(PluginsCommand::Check(a)) => {
            commands::plugins::check::run(&a, cli.verbose).await
        }
        Command::Plugins(PluginsCommand::Install(a)) => {
            commands::plugins::install::run(&a, cli.verbose).await
        }
        Command::Models(ModelsCommand::Auth(AuthCommand::Choices(a))) => {
            commands::choices::list(&app, a.json)
        }
        Command::Models(ModelsCommand::Auth(AuthCommand::Login(a))) => {
            commands::login::run(&app, &a).await
        }
        Command::Models(ModelsCommand::Auth(AuthCommand::Logout(a))) => {
            commands::logout::run(&app, &a).await
        }
        Command::Models(ModelsCommand::Status(a)) => commands::status::run(&app, &a).await,
        Command::Models(ModelsCommand::List(a)) => commands::list::run(&app, &a).await,
        Command::Models(ModelsCommand::Set(a)) => commands::set::run(&app, &a.model),
        Command::Infer(InferCommand::Model(InferModelCommand::Run(a))) => {
            commands::infer::run(&app, &a).await
        }
        Command::Completions(a) => commands::completions::print(a.shell),
    }
}
