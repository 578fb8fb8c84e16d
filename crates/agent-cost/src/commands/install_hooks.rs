//! `agent-cost install-hooks`: set a repository up (or take it back down).

use agent_cost_git::History;
use agent_cost_git::Worktree;
use agent_cost_hooks::install::{HookChange, hooks_dir, install, uninstall};
use agent_cost_ledger::ingest::{IngestOptions, ingest_with_progress};
use agent_cost_ledger::tracking::{Tracking, now_rfc3339, parse_time, rfc3339_from_seconds};

use crate::output::{CommandError, CommandResult, Progress, outln};

/// Install the git hooks that write AI spend into this repository's commits.
///
/// Run once per repository (linked worktrees share the hooks). Installs prepare-commit-msg,
/// commit-msg, post-commit and post-merge shims into the hooks directory git uses (honouring
/// core.hooksPath). A hook already there is kept as `<hook>.pre-agent-cost` and still runs
/// first. Running it again updates the shims; --uninstall restores what was there before.
///
/// Spend is charged to commits from the time of the last commit (HEAD), or from now in a
/// repository without commits, or from --since: the next commit carries the spend of the
/// work it commits, not months of earlier sessions. Installation also reads the agents'
/// logs once, so that the first commit's hook has little to catch up on.
#[derive(Debug, clap::Args)]
pub struct InstallHooksArgs {
    /// Remove agent-cost's hooks and put back the hooks that were there before.
    #[arg(long)]
    uninstall: bool,
    /// Charge spend from this date or time on (e.g. 2026-11-01 or 2026-11-01T09:00:00Z)
    /// instead of from now. Re-running without it keeps the date already set.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Do not read the agents' logs now.
    #[arg(long)]
    no_ingest: bool,
}

/// Runs the command.
pub fn run(args: InstallHooksArgs) -> CommandResult {
    let worktree = Worktree::current().ok_or_else(|| {
        CommandError::msg("not inside a git working tree")
            .hint("cd into the repository whose commits should carry AI spend, then run this again")
    })?;
    let dir = hooks_dir(&worktree)?;
    if args.uninstall {
        let changes = uninstall(&dir)?;
        Tracking::remove(&worktree.common_dir)?;
        for (name, change) in changes {
            let what = match change {
                HookChange::Restored => "removed; the previous hook is back",
                HookChange::Removed => "removed",
                _ => "not installed",
            };
            outln!("{name}: {what}")?;
        }
        outln!("agent-cost hooks removed from {}", dir.display())?;
        return Ok(());
    }
    let binary = std::env::current_exe().map_err(|e| {
        CommandError::msg(format!("cannot tell where agent-cost is installed: {e}"))
    })?;
    let since = match (&args.since, Tracking::read(&worktree.common_dir)?) {
        (Some(text), _) => parse_time(text)?.to_string(),
        (None, Some(existing)) => existing.since,
        (None, None) => History::discover(&worktree.workdir)
            .ok()
            .and_then(|history| history.head_time())
            .map_or_else(now_rfc3339, rfc3339_from_seconds),
    };
    let changes = install(&dir, &binary)?;
    Tracking {
        since: since.clone(),
    }
    .write(&worktree.common_dir)?;
    for (name, change) in &changes {
        let what = match change {
            HookChange::Updated => "updated",
            HookChange::Chained => "installed; the hook that was there runs first",
            _ => "installed",
        };
        outln!("{name}: {what}")?;
    }
    outln!("hooks directory: {}", dir.display())?;
    outln!(
        "charging AI spend since {since} to commits of {}",
        worktree.workdir.display()
    )?;
    if !args.no_ingest {
        let locations = super::locations()?;
        let mut progress = Progress::new();
        let result =
            ingest_with_progress(&locations, IngestOptions::default(), &mut |report, done| {
                progress.ingest(report, done)
            });
        progress.finish();
        let report = result?;
        outln!(
            "read {} new log lines from {} agent log files",
            report.lines_read,
            report.files_read
        )?;
    }
    Ok(())
}
