//! `agent-cost watch`: keep every worktree's tally current while agents work.

use agent_cost_ingest::sources;
use agent_cost_watch::{CatchUp, WatchError, WatchOptions, watch};

use crate::output::{CommandError, CommandResult, errln, flush_stdout, outln};

/// Watch the agents' logs and keep every worktree's pending spend current.
///
/// Runs in the foreground until stopped (Ctrl-C), reading what agents write as they write it,
/// through the same cursors and ledger as `agent-cost ingest`: `agent-cost status` then shows
/// spend before the commit, and hooks skip their own catch-up while the watcher is current, so
/// a commit never waits on a large one. It uses the system's file notifications (inotify,
/// FSEvents) and does nothing while nothing changes. Directories created after it started
/// (a first Claude Code session, a new Codex day) are picked up; when notifications are lost it
/// looks at everything again.
///
/// One watcher runs per $AGENT_COST_HOME: a second one says which process holds it and exits
/// with status 3.
///
/// Examples:
///   agent-cost watch                   # in a terminal of its own
///   agent-cost watch --quiet &         # in the background
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// Runs the command.
pub fn run(args: WatchArgs) -> CommandResult {
    let locations = super::locations()?;
    let sources = sources(&locations);
    let mut first = true;
    let mut printed_roots = false;
    let result = watch(
        &locations.state_dir,
        &sources,
        &WatchOptions::default(),
        &mut |catch_up: &CatchUp<'_>| {
            if args.quiet {
                return;
            }
            if !printed_roots {
                printed_roots = true;
                for root in sources.iter().flat_map(|s| s.roots()) {
                    let state = if catch_up.new_roots.contains(&root) {
                        "watching"
                    } else {
                        "waiting for"
                    };
                    let _ = outln!("{state} {}", root.display());
                }
            } else {
                for root in catch_up.new_roots {
                    let _ = outln!("watching {} (it appeared)", root.display());
                }
            }
            report(catch_up, first);
            first = false;
            let _ = flush_stdout();
        },
    );
    match result {
        Ok(()) => Ok(()),
        Err(error @ WatchError::AlreadyRunning { .. }) => {
            let mut refusal = CommandError::msg(error)
                .hint("stop that watcher first, or let it keep the tallies current");
            refusal.code = 3;
            Err(refusal)
        }
        Err(error) => Err(CommandError::from_error(&error)),
    }
}

fn report(catch_up: &CatchUp<'_>, first: bool) {
    let report = catch_up.report;
    let now = agent_cost_store::time::now_rfc3339();
    if first {
        let _ = outln!(
            "{now} caught up: {} log files, {} requests charged",
            report.files_found,
            report.events_charged
        );
    } else if report.events_charged + report.events_topped_up > 0 {
        for (destination, count) in &report.charged_to {
            let _ = outln!("{now} +{count} requests -> {destination}");
        }
    }
    if catch_up.rescan {
        let _ = outln!("{now} notifications were lost: looked at every log again");
    }
    for problem in &report.unreadable {
        errln!("warning: skipped unreadable file {problem}");
    }
}
