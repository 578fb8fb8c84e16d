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
    /// Write a systemd user unit (Linux) or launchd agent (macOS) that runs the watcher, and
    /// print how to start it. The variables that move agent-cost's and the agents' files, as
    /// set now, are written into it.
    #[arg(long, conflicts_with_all = ["quiet", "uninstall_service"])]
    install_service: bool,
    /// Remove that unit or agent, and print how to stop it.
    #[arg(long, conflicts_with = "quiet")]
    uninstall_service: bool,
}

/// Runs the command.
pub fn run(args: WatchArgs) -> CommandResult {
    if args.install_service || args.uninstall_service {
        return service(args.install_service);
    }
    let locations = super::locations()?;
    let sources = sources(&locations);
    let mut options = WatchOptions::default();
    let roots: Vec<std::path::PathBuf> = sources.iter().flat_map(|s| s.roots()).collect();
    let unnotified = agent_cost_watch::roots_without_notifications(&roots);
    match std::env::var(agent_cost_paths::env_vars::AGENT_COST_WATCH_POLL_MS) {
        Ok(text) if !text.is_empty() => {
            let ms: u64 = text
                .trim()
                .parse()
                .ok()
                .filter(|ms| *ms >= 10)
                .ok_or_else(|| {
                    CommandError::msg(format!(
                        "AGENT_COST_WATCH_POLL_MS must be a number of milliseconds, at least 10 \
                     (it is {text:?})"
                    ))
                })?;
            options.poll = Some(std::time::Duration::from_millis(ms));
        }
        _ if !unnotified.is_empty() => {
            options.poll = Some(std::time::Duration::from_secs(5));
        }
        _ => {}
    }
    if !args.quiet {
        for root in &unnotified {
            outln!(
                "{} is on a file system that does not notify changes: looking every {} s",
                root.display(),
                options.poll.map_or(5, |p| p.as_secs().max(1))
            )?;
        }
    }
    let mut first = true;
    let mut printed_roots = false;
    let result = watch(
        &locations.state_dir,
        &sources,
        &options,
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

/// Writes or removes the service definition.
fn service(install: bool) -> CommandResult {
    use agent_cost_watch::service::{Manager, PASSED_ON, service};
    let home = std::env::var_os(agent_cost_paths::env_vars::HOME)
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| CommandError::msg("HOME is not set: cannot tell where services go"))?;
    let config_home = std::env::var_os(agent_cost_paths::env_vars::XDG_CONFIG_HOME)
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from);
    let binary = std::env::current_exe()
        .map_err(|e| CommandError::msg(format!("cannot tell where agent-cost is: {e}")))?;
    let environment: Vec<(String, String)> = PASSED_ON
        .iter()
        .filter_map(|key| {
            let value = std::env::var(key).ok().filter(|v| !v.is_empty())?;
            Some((key.to_string(), value))
        })
        .collect();
    let service = service(
        Manager::native(),
        &binary,
        &environment,
        &home,
        config_home.as_deref(),
    );
    let io = |e: std::io::Error| CommandError::msg(format!("{}: {e}", service.path.display()));
    if install {
        if let Some(dir) = service.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&service.path, &service.text).map_err(io)?;
        outln!("wrote {}:\n", service.path.display())?;
        outln!("{}", service.text)?;
        outln!("start it (and at every login) with:")?;
        for command in &service.start {
            outln!("  {command}")?;
        }
        return Ok(());
    }
    match std::fs::remove_file(&service.path) {
        Ok(()) => outln!("removed {}", service.path.display())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return outln!(
                "no service to remove ({} does not exist)",
                service.path.display()
            );
        }
        Err(e) => return Err(io(e)),
    }
    outln!("if it is running, stop it with:")?;
    for command in &service.stop {
        outln!("  {command}")?;
    }
    Ok(())
}
