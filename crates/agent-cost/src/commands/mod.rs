//! One module per subcommand.

pub mod agent_hook;
pub mod backfill;
pub mod budget;
pub mod demo;
pub mod digest;
pub mod doctor;
pub mod export_focus;
pub mod hook;
pub mod import;
pub mod ingest;
pub mod install_hooks;
pub mod log;
pub mod otlp;
pub mod report;
pub mod report_scope;
pub mod sessions;
pub mod sources;
pub mod status;
pub mod statusline;
pub mod trailers;
pub mod verify;
pub mod watch;

use std::path::Path;

use agent_cost_git::Worktree;
use agent_cost_ingest::{IngestOptions, IngestReport, ingest};
use agent_cost_paths::Locations;
use agent_cost_store::Store;

use crate::output::{CommandError, Progress};

/// Resolves agent-cost's locations from the environment.
pub fn locations() -> Result<Locations, CommandError> {
    Locations::from_env().map_err(|e| CommandError::from_error(&e))
}

/// A full catch-up of every source, with a progress line on a terminal.
pub fn catch_up(store: &mut Store, locations: &Locations) -> Result<IngestReport, CommandError> {
    let mut progress = Progress::new();
    let result = ingest(
        store,
        &agent_cost_ingest::sources(locations),
        &IngestOptions::default(),
        &mut |report, done| progress.ingest(report, done),
    );
    progress.finish();
    Ok(result?)
}

/// The ledger, caught up with the agents' logs (unless `no_ingest`, or a current watcher has
/// read everything) and with drains whose commits exist settled: what a reader of the ledger
/// (`sessions`, `verify`) starts from.
pub fn current_store(locations: &Locations, no_ingest: bool) -> Result<Store, CommandError> {
    let mut store = Store::open(&locations.state_dir, std::time::Duration::from_secs(30))?;
    if !no_ingest && !watcher_is_current(locations) {
        catch_up(&mut store, locations)?;
    }
    settle_or_warn(&mut store);
    Ok(store)
}

/// Settles drains whose commits exist (commits made since the last hook run), warning on
/// stderr when it cannot.
pub fn settle_or_warn(store: &mut Store) {
    if let Err(e) = agent_cost_hooks::run::settle_committed(store) {
        crate::output::errln!("warning: could not settle drains already committed: {e}");
    }
}

/// True when a watcher runs for `locations` and has read everything it was told of: a
/// command's own catch-up would find nothing.
pub fn watcher_is_current(locations: &Locations) -> bool {
    agent_cost_watch::running(&locations.state_dir).is_some_and(|r| r.is_current())
}

/// [`repository`] for `agent-cost <command>`, with the usual errors: it must run inside a
/// repository, or be given one with `--repo PATH`.
pub fn command_repository(command: &str, repo: Option<&Path>) -> Result<Worktree, CommandError> {
    repository(repo, "give a repository with --repo PATH", || {
        CommandError::msg(format!(
            "agent-cost {command} must run inside a git repository"
        ))
        .hint("cd into a repository, or give one with --repo PATH")
    })
}

/// The worktree `--repo` names (any directory inside it), or the current one; `outside` is the
/// error when there is none, `hint` what to give `--repo` instead.
pub fn repository(
    repo: Option<&Path>,
    hint: &str,
    outside: impl FnOnce() -> CommandError,
) -> Result<Worktree, CommandError> {
    match repo {
        Some(path) => path
            .canonicalize()
            .ok()
            .and_then(|path| Worktree::containing(&path))
            .ok_or_else(|| {
                CommandError::msg(format!(
                    "--repo {} is not a git repository or worktree",
                    path.display()
                ))
                .hint(hint)
            }),
        None => Worktree::current().ok_or_else(outside),
    }
}
