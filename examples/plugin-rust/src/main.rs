//! `example-rust-plugin`: the example provider as an executable plugin, served on stdin and
//! stdout by the plugin SDK.

fn main() -> std::process::ExitCode {
    plugboard_plugin::run(plugboard_example_plugin::plugin())
}
