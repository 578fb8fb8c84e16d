//! `agent-cost statusline`: one short line for Claude Code's status line, with the worktree's
//! uncommitted AI spend and this session's spend.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use agent_cost_git::{History, Worktree};
use agent_cost_hooks::pricing::price_book;
use agent_cost_hooks::run::reconcile;
use agent_cost_store::Store;
use agent_cost_trailers::Block;

use crate::output::{CommandResult, outln};

/// Print one line for Claude Code's status line: uncommitted AI spend here, and this session's.
///
/// Reads the JSON Claude Code passes to its status line command on stdin (`cwd` or
/// `workspace.current_dir`, `session_id`) and prints e.g. `AI $0.42 uncommitted · session
/// $1.37`. It only reads the ledger, so it takes a few milliseconds: keep the tallies current
/// with `agent-cost watch` or `agent-cost install-agent-hook claude`. It never prints an error
/// on stdout (a status line must not show one): on a problem it prints nothing.
///
/// In ~/.claude/settings.json:
///   "statusLine": {"type": "command", "command": "agent-cost statusline"}
#[derive(Debug, clap::Args)]
pub struct StatuslineArgs {}

/// What the status line needs from Claude Code's input.
struct Input {
    cwd: Option<PathBuf>,
    session: Option<String>,
}

fn input() -> Option<Input> {
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let cwd = value
        .pointer("/workspace/current_dir")
        .or_else(|| value.get("cwd"))
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from);
    let session = value
        .get("session_id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    Some(Input { cwd, session })
}

/// Runs the command.
pub fn run(_args: StatuslineArgs) -> CommandResult {
    match line() {
        Some(line) => outln!("{line}"),
        None => Ok(()),
    }
}

fn line() -> Option<String> {
    let input = input()?;
    let locations = super::locations().ok()?;
    let mut store = Store::open_existing(&locations.state_dir, Duration::from_millis(200))
        .ok()
        .flatten()?;
    let worktree = input
        .cwd
        .as_deref()
        .and_then(Worktree::containing)
        .or_else(Worktree::current);
    let (book, _) = price_book(
        &locations.config_file(),
        worktree.as_ref().map(|w| w.workdir.as_path()),
    );
    // A commit made since the last hook run: its drain is settled first, so the spend it
    // carried is no longer shown as uncommitted.
    if let Some(worktree) = &worktree
        && agent_cost_hooks::marker::exists(&worktree.git_dir)
        && let Ok(history) = History::of_worktree(&worktree.workdir, &worktree.git_dir)
        && let Ok(tx) = store.write()
        && let Ok(Some(id)) = tx.find_worktree_id(worktree)
        && reconcile(&tx, id, worktree, &history).is_ok()
    {
        let _ = tx.commit();
    }
    let tx = store.read().ok()?;
    let mut parts = Vec::new();
    if let Some(worktree) = &worktree
        && let Ok(Some(id)) = tx.find_worktree_id(worktree)
    {
        let tracking = tx
            .tracking(&worktree.common_dir.to_string_lossy())
            .ok()
            .flatten();
        let pending = tx
            .pending_amounts(Some(id), tracking.as_ref().map(|t| t.since_ms))
            .ok()?;
        parts.push(format!("AI {} uncommitted", usd(&pending.groups, &book)));
    }
    if let Some(session) = &input.session
        && let Ok(groups) = tx.session_groups(agent_cost_events::Agent::CLAUDE_CODE, session)
        && !groups.is_empty()
    {
        parts.push(format!("session {}", usd(&groups, &book)));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// Dollars of priced groups, to the cent, `+` when some model is unpriced.
fn usd(groups: &[agent_cost_store::PendingGroup], book: &agent_cost_prices::PriceBook) -> String {
    let summary = agent_cost_hooks::drain::summarize(groups, book);
    let block = Block::build(
        String::new(),
        summary.models,
        &Default::default(),
        Vec::new(),
    );
    let micros = block.usd().micros();
    let cents = (micros + 5_000) / 10_000;
    let incomplete = block.models.iter().any(|m| m.cost.is_none());
    format!(
        "${}.{:02}{}",
        cents / 100,
        cents % 100,
        if incomplete { "+" } else { "" }
    )
}
