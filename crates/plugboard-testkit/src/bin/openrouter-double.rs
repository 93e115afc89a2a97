//! `openrouter-double`: runs the OpenRouter double until killed, for trying plugboard offline.
//!
//! ```text
//! openrouter-double [--port N] [--fault NAME]
//! ```

use std::process::ExitCode;

use plugboard_testkit::{Fault, OpenRouterDouble};

const USAGE: &str = "usage: openrouter-double [--port N] [--fault NAME]

Runs a local stand-in for OpenRouter (consent page, code exchange, key info, chat) until
stopped with Ctrl-C. --port 0 (the default) takes any free port. --fault sets a fault on the
code exchange: status:<code>, unavailable-once, slow:<N>ms|<N>s, not-json, oversized, reset,
missing-key, empty-key or reused-code.";

struct Args {
    port: u16,
    fault: Option<Fault>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        port: 0,
        fault: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                parsed.port = value
                    .parse()
                    .map_err(|_| format!("--port takes a number from 0 to 65535, not {value:?}"))?;
            }
            "--fault" => {
                let value = args.next().ok_or("--fault needs a value")?;
                parsed.fault = Some(value.parse().map_err(|e| format!("--fault: {e}"))?);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: the export lines go to stdout, problems to stderr"
)]
fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("openrouter-double: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder = OpenRouterDouble::builder().port(args.port);
    if let Some(fault) = args.fault {
        builder = builder.fault_on(plugboard_testkit::Endpoint::Exchange, fault);
    }
    let double = match builder.start() {
        Ok(double) => double,
        Err(e) => {
            eprintln!(
                "openrouter-double: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let key = double.issue_key();
    println!("# OpenRouter double listening on {}", double.origin());
    println!("export OPENROUTER_BASE_URL={}", double.api_base());
    println!("# Sign in through the double's consent page (press Authorize in the browser):");
    println!("#   plugboard models auth login --provider openrouter --method oauth");
    println!("# Or use a key it already accepts:");
    println!("#   OPENROUTER_API_KEY={key}");
    if let Some(fault) = args.fault {
        println!("# Fault on the code exchange: {fault}");
    }
    println!("# Ctrl-C stops the double.");
    // The double serves from its own thread; this one only has to stay alive until killed.
    loop {
        std::thread::park();
    }
}
