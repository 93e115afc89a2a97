//! `plugboard-double`: runs one service's double until killed, for trying plugboard offline.
//!
//! ```text
//! plugboard-double --service openrouter|openai-codex|anthropic|ollama|github-copilot [--port N] [--fault ...]
//! ```
//!
//! `openrouter-double` stays as the OpenRouter-only spelling of `--service openrouter`.

use std::process::ExitCode;
use std::time::Duration;

use plugboard_testkit::{
    AnthropicDouble, CodexDouble, CodexEndpoint, CodexFault, Endpoint, Fault, GitHubDouble,
    GitHubFault, OllamaDouble, OpenRouterDouble,
};

const USAGE: &str = "usage: plugboard-double --service openrouter|openai-codex|anthropic|ollama|github-copilot [options]

Runs a local stand-in for one model service until stopped with Ctrl-C, and prints the
export line that points plugboard at it.

Options for every service:
  --port N                 listen on this port of 127.0.0.1 (0, the default: any free one)

--service openrouter (consent page, code exchange, key info, chat):
  --fault NAME             a fault on the code exchange: status:<code>, unavailable-once,
                           slow:<N>ms|<N>s, not-json, oversized, reset, missing-key,
                           empty-key or reused-code

--service openai-codex (ChatGPT sign-in, token endpoint, Codex Responses):
  --fault ENDPOINT=NAME    a fault on exchange, refresh or responses: status:<code>,
                           rate-limited:<secs>, slow:<N>ms|<N>s, reset, stream-cut,
                           response-failed or invalid-grant (repeatable)
  --access-token-ttl SECS  access-token lifetime (0: issued already expired)
  --any-redirect-port      accept http://localhost:<any port>/auth/callback, not only
                           1455 and 1457
  --no-rotation            refreshes keep the refresh token instead of rotating it

--service anthropic (Messages and Models endpoints; prints a key it accepts)

--service ollama (a local Ollama server: version, tags and chat; no credentials)

--service github-copilot (device sign-in, Copilot token exchange, Copilot API):
  --pending N              polls answered authorization_pending before the token (default 0)
  --slow-down N            polls answered slow_down after those (default 0)
  --fault NAME             access-denied, expired-token, revoked (every GitHub token refused
                           at the token exchange) or no-copilot (403 there)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    OpenRouter,
    OpenAiCodex,
    Anthropic,
    Ollama,
    GitHubCopilot,
}

struct Args {
    service: Service,
    port: u16,
    openrouter_fault: Option<Fault>,
    codex_faults: Vec<(CodexEndpoint, CodexFault)>,
    access_ttl: Option<Duration>,
    any_redirect_port: bool,
    no_rotation: bool,
    github_script: Option<(u32, u32)>,
    github_fault: Option<GitHubFault>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut service = None;
    let mut parsed = Args {
        service: Service::OpenRouter,
        port: 0,
        openrouter_fault: None,
        codex_faults: Vec::new(),
        access_ttl: None,
        any_redirect_port: false,
        no_rotation: false,
        github_script: None,
        github_fault: None,
    };
    let mut raw_faults = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--service" => {
                let value = args.next().ok_or("--service needs a value")?;
                service = Some(match value.as_str() {
                    "openrouter" => Service::OpenRouter,
                    "openai-codex" => Service::OpenAiCodex,
                    "anthropic" => Service::Anthropic,
                    "ollama" => Service::Ollama,
                    "github-copilot" => Service::GitHubCopilot,
                    _ => return Err(format!("unknown service {value:?}")),
                });
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                parsed.port = value
                    .parse()
                    .map_err(|_| format!("--port takes a number from 0 to 65535, not {value:?}"))?;
            }
            "--fault" => raw_faults.push(args.next().ok_or("--fault needs a value")?),
            "--access-token-ttl" => {
                let value = args.next().ok_or("--access-token-ttl needs a value")?;
                let secs: u64 = value.parse().map_err(|_| {
                    format!("--access-token-ttl takes whole seconds, not {value:?}")
                })?;
                parsed.access_ttl = Some(Duration::from_secs(secs));
            }
            "--any-redirect-port" => parsed.any_redirect_port = true,
            "--no-rotation" => parsed.no_rotation = true,
            flag @ ("--pending" | "--slow-down") => {
                let value = args.next().ok_or(format!("{flag} needs a value"))?;
                let n: u32 = value
                    .parse()
                    .map_err(|_| format!("{flag} takes a whole number, not {value:?}"))?;
                let script = parsed.github_script.get_or_insert((0, 0));
                if flag == "--pending" {
                    script.0 = n;
                } else {
                    script.1 = n;
                }
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    parsed.service = service.ok_or("--service is required")?;
    let codex_only = parsed.access_ttl.is_some() || parsed.any_redirect_port || parsed.no_rotation;
    if codex_only && parsed.service != Service::OpenAiCodex {
        return Err("--access-token-ttl, --any-redirect-port and --no-rotation are for --service openai-codex".to_owned());
    }
    if parsed.github_script.is_some() && parsed.service != Service::GitHubCopilot {
        return Err("--pending and --slow-down are for --service github-copilot".to_owned());
    }
    for raw in raw_faults {
        match parsed.service {
            Service::OpenRouter => {
                if parsed.openrouter_fault.is_some() {
                    return Err("openrouter takes one --fault".to_owned());
                }
                parsed.openrouter_fault = Some(raw.parse().map_err(|e| format!("--fault: {e}"))?);
            }
            Service::OpenAiCodex => {
                let (endpoint, fault) = raw.split_once('=').ok_or_else(|| {
                    format!("--fault {raw:?}: use ENDPOINT=NAME, e.g. refresh=slow:2s")
                })?;
                parsed.codex_faults.push((
                    endpoint.parse().map_err(|e| format!("--fault: {e}"))?,
                    fault.parse().map_err(|e| format!("--fault: {e}"))?,
                ));
            }
            Service::Anthropic => return Err("--fault is not available for anthropic".to_owned()),
            Service::Ollama => return Err("--fault is not available for ollama".to_owned()),
            Service::GitHubCopilot => {
                parsed.github_fault = Some(match raw.as_str() {
                    "access-denied" => GitHubFault::AccessDenied,
                    "expired-token" => GitHubFault::ExpiredToken,
                    "revoked" => GitHubFault::RevokedGitHubTokens,
                    "no-copilot" => GitHubFault::NoCopilotAccess,
                    _ => return Err(format!("--fault: unknown github-copilot fault {raw:?}")),
                });
            }
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
            eprintln!("plugboard-double: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = match args.service {
        Service::OpenRouter => run_openrouter(&args).map(Running::OpenRouter),
        Service::OpenAiCodex => run_codex(&args).map(Running::Codex),
        Service::Anthropic => run_anthropic(&args).map(Running::Anthropic),
        Service::Ollama => run_ollama(&args).map(Running::Ollama),
        Service::GitHubCopilot => run_github(&args).map(Running::GitHub),
    };
    let _running = match started {
        Ok(running) => running,
        Err(e) => {
            eprintln!(
                "plugboard-double: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!("# Ctrl-C stops the double.");
    // The double serves from its own thread; this one only has to stay alive until killed.
    loop {
        std::thread::park();
    }
}

/// Keeps the running double alive for as long as `main` runs.
enum Running {
    OpenRouter(
        #[expect(dead_code, reason = "held only to keep the double serving")] OpenRouterDouble,
    ),
    Codex(#[expect(dead_code, reason = "held only to keep the double serving")] CodexDouble),
    Anthropic(
        #[expect(dead_code, reason = "held only to keep the double serving")] AnthropicDouble,
    ),
    Ollama(#[expect(dead_code, reason = "held only to keep the double serving")] OllamaDouble),
    GitHub(#[expect(dead_code, reason = "held only to keep the double serving")] GitHubDouble),
}

#[expect(
    clippy::print_stdout,
    reason = "the export lines are the tool's output"
)]
fn run_ollama(args: &Args) -> std::io::Result<OllamaDouble> {
    let double = OllamaDouble::start_on(args.port)?;
    println!("# Ollama double listening on {}", double.origin());
    println!("export OLLAMA_HOST={}", double.origin());
    // Ollama needs no credential: the sign-in only checks that the server answers.
    println!("# Sign in (checks the server answers; nothing secret is stored):");
    println!("#   plugboard models auth login --provider ollama");
    Ok(double)
}

#[expect(
    clippy::print_stdout,
    reason = "the export lines are the tool's output"
)]
fn run_github(args: &Args) -> std::io::Result<GitHubDouble> {
    let (pending, slow_down) = args.github_script.unwrap_or((0, 0));
    let mut builder = GitHubDouble::builder()
        .port(args.port)
        .pending(pending)
        .slow_down(slow_down);
    if let Some(fault) = args.github_fault {
        builder = builder.fault(fault);
    }
    let double = builder.start()?;
    println!("# GitHub Copilot double listening on {}", double.origin());
    println!("export GITHUB_COPILOT_BASE_URL={}", double.origin());
    println!("# Sign in with a device code (the double confirms it by itself after the script):");
    println!("#   plugboard models auth login --provider github-copilot --method device");
    if let Some(fault) = args.github_fault {
        println!("# Fault: {fault:?}");
    }
    Ok(double)
}

#[expect(
    clippy::print_stdout,
    reason = "the export lines are the tool's output"
)]
fn run_anthropic(args: &Args) -> std::io::Result<AnthropicDouble> {
    let double = AnthropicDouble::start_on(args.port)?;
    println!("# Anthropic double listening on {}", double.origin());
    println!("export ANTHROPIC_BASE_URL={}", double.origin());
    // A made-up key only this double accepts: the one secret-looking thing it prints, so that
    // an offline try has something to paste.
    println!("# Sign in with a key this double accepts:");
    println!(
        "#   echo {} | plugboard models auth login --provider anthropic --method api-key",
        double.issue_key()
    );
    Ok(double)
}

#[expect(
    clippy::print_stdout,
    reason = "the export lines are the tool's output"
)]
fn run_openrouter(args: &Args) -> std::io::Result<OpenRouterDouble> {
    let mut builder = OpenRouterDouble::builder().port(args.port);
    if let Some(fault) = args.openrouter_fault {
        builder = builder.fault_on(Endpoint::Exchange, fault);
    }
    let double = builder.start()?;
    println!("# OpenRouter double listening on {}", double.origin());
    println!("export OPENROUTER_BASE_URL={}", double.api_base());
    println!("# Sign in through the double's consent page (press Authorize in the browser):");
    println!("#   plugboard models auth login --provider openrouter --method oauth");
    if let Some(fault) = args.openrouter_fault {
        println!("# Fault on the code exchange: {fault}");
    }
    Ok(double)
}

#[expect(
    clippy::print_stdout,
    reason = "the export lines are the tool's output"
)]
fn run_codex(args: &Args) -> std::io::Result<CodexDouble> {
    let mut builder = CodexDouble::builder()
        .port(args.port)
        .rotate_refresh_tokens(!args.no_rotation);
    if let Some(ttl) = args.access_ttl {
        builder = builder.access_token_ttl(ttl);
    }
    if args.any_redirect_port {
        builder = builder.accept_any_redirect_port();
    }
    for (endpoint, fault) in &args.codex_faults {
        builder = builder.fault_on(*endpoint, *fault);
    }
    let double = builder.start()?;
    println!("# OpenAI Codex double listening on {}", double.origin());
    println!("export OPENAI_CODEX_BASE_URL={}", double.origin());
    println!("# Sign in through the double's consent page (press Continue in the browser):");
    println!("#   plugboard models auth login --provider openai-codex");
    println!(
        "# Signed-in account: {} ({})",
        double.email(),
        double.account_id()
    );
    for (endpoint, fault) in &args.codex_faults {
        println!("# Fault on {endpoint}: {fault}");
    }
    Ok(double)
}
