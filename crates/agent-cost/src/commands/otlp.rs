//! `agent-cost export --otlp URL`: the export's spend as OpenTelemetry metrics.
//!
//! This binary builds the OTLP/JSON payload ([`agent_cost_otlp::metrics_request`]) and never
//! sends it itself: it runs the `agent-cost-otlp` sender (beside this binary, or
//! `$AGENT_COST_OTLP_BIN`) with the URL as its one argument and the payload on stdin, so that
//! `agent-cost` keeps importing no socket function (docs/security.md). `--dry-run` prints the
//! payload and `--otlp-file` writes it; neither starts the sender.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use agent_cost_otlp::{Endpoint, Payload, metrics_request};
use agent_cost_paths::env_vars;
use agent_cost_report::Filter;

use crate::commands::report_scope::ReadOptions;
use crate::output::{CommandError, CommandResult, errln, outln};

/// The name of the sender binary.
const SENDER: &str = "agent-cost-otlp";

/// The `--otlp` options of `agent-cost export`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OtlpOptions {
    /// Push the spend to URL as OpenTelemetry metrics (OTLP/HTTP, JSON encoding) instead of
    /// printing rows: token usage (gen_ai.client.token.usage, agent_cost.token.usage) and cost
    /// (agent_cost.cost.usd, exact agent_cost.cost.usd.micros, and credits or premium requests
    /// under metrics of their own), one data point per commit, agent and model, at the
    /// commit's author time, with repository, commit, branch and author attributes. A URL
    /// without a path gets /v1/metrics: `--otlp http://localhost:4318` suits an OpenTelemetry
    /// Collector. Sent by the `agent-cost-otlp` binary installed beside agent-cost, the only
    /// one that opens a socket. See docs/otlp.md.
    #[arg(long, value_name = "URL", conflicts_with_all = ["csv", "json"])]
    pub otlp: Option<String>,
    /// With --otlp: print the JSON payload instead of sending it.
    #[arg(long, requires = "otlp")]
    pub dry_run: bool,
    /// Write the OTLP JSON payload to FILE (send nothing unless --otlp is given too); send it
    /// later with `agent-cost-otlp URL < FILE` or `curl -H 'Content-Type: application/json'
    /// --data-binary @FILE URL/v1/metrics`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["csv", "json", "dry_run"])]
    pub otlp_file: Option<PathBuf>,
}

impl OtlpOptions {
    /// Whether the export goes to OpenTelemetry instead of stdout rows.
    pub fn wanted(&self) -> bool {
        self.otlp.is_some() || self.otlp_file.is_some()
    }
}

/// Reads `range` as `read` says and pushes (or prints, or writes) its metrics.
pub fn export(options: &OtlpOptions, read: &ReadOptions, range: Option<&str>) -> CommandResult {
    let endpoint = options
        .otlp
        .as_deref()
        .map(Endpoint::parse)
        .transpose()
        .map_err(|e| {
            CommandError::from_error(&e).hint(
                "give the OTLP/HTTP address of an OpenTelemetry Collector, e.g. \
                 --otlp http://localhost:4318 (its path becomes /v1/metrics)",
            )
        })?;
    let ledger = read.read(range, Filter::default())?.ledger;
    let payload = metrics_request(&ledger, env!("CARGO_PKG_VERSION"));
    if options.dry_run {
        let text = serde_json::to_string_pretty(&payload.json).map_err(CommandError::msg)?;
        return outln!("{text}");
    }
    if let Some(file) = &options.otlp_file {
        std::fs::write(file, payload.to_bytes())
            .map_err(|e| CommandError::msg(format!("cannot write {}: {e}", file.display())))?;
        errln!("wrote {} to {}", what(&payload), file.display());
    }
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    if payload.data_points == 0 {
        errln!(
            "nothing sent to {}: no AI spend in the range",
            endpoint.url()
        );
        return Ok(());
    }
    let sender = sender()?;
    send(&sender, &endpoint, &payload)?;
    outln!("sent {} to {}", what(&payload), endpoint.url())
}

/// `12 data points of 3 commits`.
fn what(payload: &Payload) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} of {}",
        plural(payload.data_points, "data point", "data points"),
        plural(payload.commits, "commit", "commits")
    )
}

/// The sender: `$AGENT_COST_OTLP_BIN`, else `agent-cost-otlp` beside this binary.
fn sender() -> Result<PathBuf, CommandError> {
    if let Some(path) = std::env::var_os(env_vars::AGENT_COST_OTLP_BIN).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| {
        CommandError::msg(format!("cannot find this binary's directory: {e}"))
            .hint("set AGENT_COST_OTLP_BIN to the agent-cost-otlp binary")
    })?;
    let path = exe.with_file_name(format!("{SENDER}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        return Err(CommandError::msg(format!(
            "cannot send: the sender {} is not installed",
            path.display()
        ))
        .hint(
            "install it with agent-cost (`bash scripts/install.sh` or `cargo install --path \
             crates/agent-cost` install both), set AGENT_COST_OTLP_BIN to it, or write the \
             payload with --otlp-file FILE and send it with curl",
        ));
    }
    Ok(path)
}

/// Runs `sender URL` with the payload on stdin; the sender prints its own error.
fn send(sender: &std::path::Path, endpoint: &Endpoint, payload: &Payload) -> CommandResult {
    let cannot_run = |e: std::io::Error| {
        CommandError::msg(format!("cannot run the sender {}: {e}", sender.display()))
            .hint("reinstall agent-cost, or set AGENT_COST_OTLP_BIN to the agent-cost-otlp binary")
    };
    let mut child = Command::new(sender)
        .arg(endpoint.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(cannot_run)?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(&payload.to_bytes()));
    let status = child.wait().map_err(cannot_run)?;
    if status.success() {
        if let Some(Err(e)) = written {
            return Err(cannot_run(e));
        }
        return Ok(());
    }
    match status.code() {
        // The sender said what went wrong, on stderr.
        Some(code) if code == 1 || code == 2 => Err(CommandError {
            message: String::new(),
            causes: Vec::new(),
            hint: None,
            code: 1,
            quiet: true,
        }),
        _ => Err(CommandError::msg(format!(
            "the sender {} failed ({status}); nothing was confirmed sent to {}",
            sender.display(),
            endpoint.url()
        ))),
    }
}
