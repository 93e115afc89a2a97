//! `plugboard completions <shell>`: the completion script clap derives from the same command
//! definition that parses the arguments, so completions can never drift from the CLI.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

pub(crate) fn print(shell: Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "plugboard", &mut script);
    crate::output::print(String::from_utf8(script)?.trim_end())
}
