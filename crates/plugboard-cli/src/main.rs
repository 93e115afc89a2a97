//! The `plugboard` binary: everything lives in the library so tests can reach it.

fn main() -> std::process::ExitCode {
    plugboard_cli::main()
}
