//! `agent-cost-otlp URL`: sends the OTLP/JSON metrics payload read from stdin to URL
//! (OTLP/HTTP, `POST`, `Content-Type: application/json`).
//!
//! `agent-cost export --otlp URL` runs this binary (found beside `agent-cost`, or at
//! `$AGENT_COST_OTLP_BIN`) with the URL as its one argument and the payload on stdin, so that
//! the `agent-cost` binary itself never opens a socket (docs/security.md). It prints nothing
//! on success; on failure, `error:` and `hint:` lines on stderr. Exit codes: 0 sent (2xx),
//! 1 not accepted or not sent, 2 wrong arguments or input.

use std::io::{Read, Write};
use std::process::ExitCode;

use agent_cost_otlp::{Endpoint, send};

const USAGE: &str = "\
usage: agent-cost-otlp URL < payload.json

Sends an OTLP/JSON ExportMetricsServiceRequest read from stdin to URL (http:// or https://;
a URL without a path gets /v1/metrics). Run by `agent-cost export --otlp URL`; see
docs/otlp.md.";

fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(args) => args,
        Err(_) => return fail(2, "the URL is not UTF-8", USAGE),
    };
    let url = match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "-V" || flag == "--version" => {
            let _ = writeln!(
                std::io::stdout(),
                "agent-cost-otlp {}",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        [url] => url,
        _ => return fail(2, "expected one argument, the URL", USAGE),
    };
    let endpoint = match Endpoint::parse(url) {
        Ok(endpoint) => endpoint,
        Err(error) => return fail(2, error, "e.g. http://localhost:4318"),
    };
    let mut body = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut body) {
        return fail(
            2,
            format!("cannot read the payload from stdin: {error}"),
            USAGE,
        );
    }
    if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return fail(
            2,
            "stdin is not a JSON payload",
            "make one with `agent-cost export --otlp-file FILE`",
        );
    }
    match send::send(&endpoint, &body) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            let hint = error.hint();
            fail(1, error, hint)
        }
    }
}

/// Prints `error:` and `hint:` lines on stderr (ignoring write errors) and exits with `code`.
fn fail(code: u8, message: impl std::fmt::Display, hint: &str) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {message}");
    let _ = writeln!(stderr, "hint: {hint}");
    ExitCode::from(code)
}
