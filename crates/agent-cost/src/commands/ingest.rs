//! `agent-cost ingest`: catch up on every agent log now.

use std::time::Duration;

use agent_cost_hooks::run::settle_committed;
use agent_cost_ingest::{IngestOptions, ingest, sources};
use agent_cost_store::Store;

use crate::output::{CommandResult, Progress, errln, outln, print_json, thousands};

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
}

/// Runs the command.
pub fn run(args: IngestArgs) -> CommandResult {
    let locations = super::locations()?;
    let mut progress = Progress::new();
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    let result = ingest(
        &mut store,
        &sources(&locations),
        &IngestOptions::default(),
        &mut |report, done| progress.ingest(report, done),
    );
    progress.finish();
    let report = result?;
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
