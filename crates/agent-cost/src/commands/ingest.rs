//! `agent-cost ingest`: catch up on every agent log now.

use std::time::Duration;

use agent_cost_hooks::run::settle_committed;
use agent_cost_ingest::{IngestOptions, ingest, sources};
use agent_cost_store::Store;

use crate::output::{CommandError, CommandResult, errln, outln, print_json, thousands};

/// Read every new line of the agents' logs now and charge it to its worktree.
///
/// Hooks do this on every commit within a small time budget; run it after a long break, or
/// to see what was read. Reading again is always safe: an event already charged is never
/// charged twice, even after agent-cost's cursors are deleted.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Read only the transcript a Claude Code hook names on stdin (its `Stop` and
    /// `SubagentStop` hooks run this; see `agent-cost install-agent-hook`). Prints nothing and
    /// never fails the agent.
    #[arg(long, conflicts_with = "json")]
    claude_hook: bool,
}

/// Runs the command.
pub fn run(args: IngestArgs) -> CommandResult {
    if args.claude_hook {
        if let Err(error) = claude_hook() {
            errln!("agent-cost: {}", error.message);
        }
        return Ok(());
    }
    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    let report = super::catch_up(&mut store, &locations)?;
    // Commits made since the last hook run: their drains are in history, so settle them.
    if let Err(e) = settle_committed(&mut store) {
        errln!("warning: could not settle drains already committed: {e}");
    }
    if let Some(worktree) = agent_cost_git::Worktree::current()
        && let Some(warning) =
            agent_cost_hooks::health::warn_once_about_commits_without_hooks(&worktree)
    {
        errln!("warning: {warning}");
    }
    if args.json {
        return print_json(&report);
    }
    outln!(
        "{} log files, {} with new lines; {} bytes, {} lines read",
        report.files_found,
        report.files_read,
        thousands(report.bytes_read),
        thousands(report.lines_read)
    )?;
    outln!(
        "{} requests charged, {} grown by a longer copy, {} repeats ignored",
        report.events_charged,
        report.events_topped_up,
        report.duplicates
    )?;
    if report.malformed_skipped + report.synthetic_skipped + report.implausible_skipped > 0 {
        outln!(
            "skipped: {} malformed lines, {} <synthetic> lines, {} lines with impossible counts",
            report.malformed_skipped,
            report.synthetic_skipped,
            report.implausible_skipped
        )?;
    }
    for (destination, count) in &report.charged_to {
        outln!("  {count:>6} requests -> {destination}")?;
    }
    for problem in &report.unreadable {
        errln!("warning: skipped unreadable file {problem}");
    }
    Ok(())
}

/// The files a Claude Code hook's input names: the transcript, a subagent's transcript when
/// given, and the session's subagent transcripts (a `SubagentStop` of an older Claude Code
/// names only the main one).
fn claude_hook_files(input: &serde_json::Value) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for key in ["transcript_path", "agent_transcript_path"] {
        if let Some(path) = input.get(key).and_then(serde_json::Value::as_str) {
            files.push(std::path::PathBuf::from(path));
        }
    }
    if let Some(main) = files.first().cloned()
        && let Ok(entries) = std::fs::read_dir(main.with_extension("").join("subagents"))
    {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    files.sort();
    files.dedup();
    files
}

fn claude_hook() -> CommandResult {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| CommandError::msg(format!("cannot read the hook's input: {e}")))?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CommandError::msg(format!("the hook's input is not JSON: {e}")))?;
    let files = claude_hook_files(&input);
    if files.is_empty() {
        return Err(CommandError::msg("the hook's input names no transcript"));
    }
    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(10))?;
    let options = IngestOptions {
        files: Some(files),
        ..IngestOptions::default()
    };
    ingest(&mut store, &sources(&locations), &options, &mut |_, _| {})?;
    Ok(())
}
