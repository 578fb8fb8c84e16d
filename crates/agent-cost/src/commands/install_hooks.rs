//! `agent-cost install-hooks`: set a repository up (or take it back down).

use agent_cost_git::History;
use agent_cost_git::Worktree;
use agent_cost_hooks::install::{HookChange, binary_to_link, hooks_dir, install, uninstall};
use agent_cost_hooks::managers::{self, LefthookSetup, Owner};
use std::time::Duration;

use agent_cost_store::time::{now_rfc3339, rfc3339_from_seconds};
use agent_cost_store::{Store, Tracking};

use crate::output::{CommandError, CommandResult, errln, outln};

/// Install the git hooks that write AI spend into this repository's commits.
///
/// Run once per repository (linked worktrees share the hooks). Installs prepare-commit-msg and
/// commit-msg into the hooks directory git uses (honouring core.hooksPath): on Unix, links to
/// this binary, so no shell starts on a commit. A hook already there is kept as
/// `<hook>.pre-agent-cost` and still runs first. Running it again updates the hooks and
/// removes the post-commit and post-merge hooks of earlier versions; --uninstall restores what
/// was there before.
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
    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    // Before tracking is read or changed: the first ledger's start date and pending spend.
    if let Err(e) = store.import_legacy_worktree(&worktree) {
        errln!("warning: {}: {e}", agent_cost_store::import::IMPORT_FAILED);
    }
    let common_dir = worktree.common_dir.to_string_lossy().into_owned();
    let owner = managers::owner(&dir, &worktree.workdir);
    if args.uninstall {
        let changes = uninstall(&dir)?;
        let mut manager_changes = Vec::new();
        if let Owner::Husky(husky_dir) = &owner {
            manager_changes.extend(managers::uninstall_husky(husky_dir)?);
        }
        manager_changes.extend(managers::uninstall_lefthook(&worktree.workdir)?);
        let tx = store.write()?;
        tx.remove_tracking(&common_dir)?;
        tx.commit()?;
        for change in manager_changes {
            outln!("{}: {}", change.path.display(), change.what)?;
        }
        for (name, change) in changes {
            match change {
                HookChange::Restored => outln!("{name}: removed; the previous hook is back")?,
                HookChange::RestoredWithOthers(others) => {
                    outln!("{name}: removed; the hook that was there first is back")?;
                    for other in others {
                        outln!(
                            "  also kept: {} (it replaced agent-cost's hook later; merge it into \
                             {name} by hand or delete it)",
                            other.display()
                        )?;
                    }
                }
                HookChange::Removed => outln!("{name}: removed")?,
                _ => outln!("{name}: not installed")?,
            }
        }
        outln!("agent-cost hooks removed from {}", dir.display())?;
        return Ok(());
    }
    let binary = binary_to_link(&std::env::current_exe().map_err(|e| {
        CommandError::msg(format!("cannot tell where agent-cost is installed: {e}"))
    })?);
    let existing = store.read()?.tracking(&common_dir)?;
    let tracking = match (&args.since, existing) {
        (Some(text), _) => Tracking::starting(text)?,
        (None, Some(existing)) => existing,
        (None, None) => Tracking::starting(
            &History::of_worktree(&worktree.workdir, &worktree.git_dir)
                .ok()
                .and_then(|history| history.head_time())
                .map_or_else(now_rfc3339, rfc3339_from_seconds),
        )?,
    };
    let since = tracking.since.clone();
    let changes = match &owner {
        Owner::Git => install(&dir, &binary)?,
        // The manager runs agent-cost; links of ours it would skip or move aside go.
        Owner::Husky(_) | Owner::Lefthook => uninstall(&dir)?,
    };
    let tx = store.write()?;
    tx.set_tracking(&common_dir, &tracking)?;
    // Registered, so that spend in a working tree whose git dir lives elsewhere
    // (GIT_DIR / GIT_WORK_TREE) is routed to it.
    tx.worktree_id(&worktree)?;
    tx.commit()?;
    for (name, change) in &changes {
        let what = match change {
            HookChange::Updated => "updated",
            HookChange::Chained => "installed; the hook that was there runs first",
            HookChange::UnderPreCommit => {
                "installed as its .legacy hook, which pre-commit runs before its own"
            }
            HookChange::Removed => "removed (no longer needed)",
            HookChange::Restored | HookChange::RestoredWithOthers(_) => {
                "removed (no longer needed); the previous hook is back"
            }
            _ => "installed",
        };
        outln!("{name}: {what}")?;
    }
    // Hooks of ours that git no longer reads (core.hooksPath moved, e.g. by husky) go, and
    // what they had kept comes back.
    let default_dir = worktree.common_dir.join("hooks");
    if !agent_cost_hooks::health::same_dir(&dir, &default_dir) {
        for (name, change) in uninstall(&default_dir)? {
            if change != HookChange::Absent {
                outln!(
                    "{name}: removed from {}, which git no longer reads",
                    default_dir.display()
                )?;
            }
        }
    }
    match &owner {
        Owner::Git => outln!("hooks directory: {}", dir.display())?,
        Owner::Husky(husky_dir) => {
            outln!("husky runs the hooks ({}):", husky_dir.display())?;
            for change in managers::install_husky(husky_dir)? {
                outln!("  {}: {}", change.path.display(), change.what)?;
            }
        }
        Owner::Lefthook => join_lefthook(&worktree.workdir, &dir, &binary)?,
    }
    outln!(
        "charging AI spend since {since} to commits of {}",
        worktree.workdir.display()
    )?;
    if !args.no_ingest {
        let report = super::catch_up(&mut store, &locations)?;
        outln!(
            "read {} new log lines from {} agent log files",
            report.lines_read,
            report.files_read
        )?;
    }
    Ok(())
}

/// Adds our commands to lefthook's configuration and has lefthook write its hooks, or says
/// exactly what to add where it cannot.
/// Until lefthook's own hooks run our commands (it is not installed yet, or the lines must be
/// added by hand), our links stay in `hooks_dir`, so that commits carry their spend meanwhile.
fn join_lefthook(
    workdir: &std::path::Path,
    hooks_dir: &std::path::Path,
    binary: &std::path::Path,
) -> CommandResult {
    outln!("lefthook runs the hooks:")?;
    match managers::install_lefthook(workdir)? {
        LefthookSetup::Written(change) => {
            outln!("  {}: {}", change.path.display(), change.what)?;
            match managers::run_lefthook_install(workdir) {
                Ok(()) => outln!("  lefthook install: its hooks now run agent-cost")?,
                Err(why) => {
                    errln!("warning: {why}");
                    install(hooks_dir, binary)?;
                    outln!(
                        "  run `lefthook install` so that its hooks run agent-cost; until then \
                         agent-cost's own hooks run"
                    )?;
                }
            }
        }
        LefthookSetup::AddByHand { path, lines } => {
            install(hooks_dir, binary)?;
            errln!(
                "warning: {} configures prepare-commit-msg or commit-msg already; add \
                 agent-cost's commands to them by hand:",
                path.display()
            );
            for line in lines.lines() {
                errln!("    {line}");
            }
        }
    }
    Ok(())
}
