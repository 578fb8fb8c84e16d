//! `agent-cost install-agent-hook claude`: a watcher-free way for Claude Code users to have
//! each finished turn read at once, through Claude Code's own `Stop` and `SubagentStop` hooks.

use agent_cost_git::Worktree;
use agent_cost_hooks::claude_settings::{EVENTS, install, uninstall};

use crate::output::{CommandError, CommandResult, outln};

/// Make Claude Code tell agent-cost when a turn ends (no watcher needed).
///
/// Adds `Stop` and `SubagentStop` hooks to Claude Code's settings that run `agent-cost ingest
/// --claude-hook`, which reads only the transcript Claude Code names: `agent-cost status`
/// and the statusline are then current after every turn, and commits never wait on a
/// catch-up. The settings are merged: every other key and hook stays as it was, and
/// `--uninstall` takes out only agent-cost's entries.
///
/// User level by default (`settings.json` in $CLAUDE_CONFIG_DIR, else ~/.claude); with
/// --project, the repository's `.claude/settings.json` (commit it to share it with the team).
///
/// Examples:
///   agent-cost install-agent-hook claude
///   agent-cost install-agent-hook claude --project
///   agent-cost install-agent-hook claude --uninstall
#[derive(Debug, clap::Args)]
pub struct InstallAgentHookArgs {
    /// The agent whose hooks to change.
    #[arg(value_enum)]
    agent: HookAgent,
    /// This repository's `.claude/settings.json` instead of the user's settings.
    #[arg(long)]
    project: bool,
    /// Remove agent-cost's entries instead.
    #[arg(long)]
    uninstall: bool,
}

/// Agents with hooks agent-cost can join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HookAgent {
    /// Claude Code.
    Claude,
}

/// Runs the command.
pub fn run(args: InstallAgentHookArgs) -> CommandResult {
    let HookAgent::Claude = args.agent;
    let path = if args.project {
        let worktree = Worktree::current().ok_or_else(|| {
            CommandError::msg("--project needs a git repository")
                .hint("cd into the repository whose .claude/settings.json to change")
        })?;
        worktree.workdir.join(".claude").join("settings.json")
    } else {
        super::locations()?.claude_settings.ok_or_else(|| {
            CommandError::msg("cannot find Claude Code's settings: set HOME or CLAUDE_CONFIG_DIR")
        })?
    };
    if args.uninstall {
        let change = uninstall(&path).map_err(|e| CommandError::from_error(&e))?;
        if change.events.is_empty() {
            return outln!("{}: no agent-cost hooks to remove", path.display());
        }
        return outln!(
            "{}: removed agent-cost's {} hooks ({})",
            path.display(),
            change.events.join(" and "),
            change.command
        );
    }
    let binary = std::env::current_exe()
        .map_err(|e| CommandError::msg(format!("cannot tell where agent-cost is: {e}")))?;
    let change = install(&path, &binary).map_err(|e| CommandError::from_error(&e))?;
    if change.events.is_empty() {
        return outln!(
            "{}: agent-cost's {} hooks are already there",
            path.display(),
            EVENTS.join(" and ")
        );
    }
    outln!(
        "{}: added to hooks.{}:",
        path.display(),
        change.events.join(" and hooks.")
    )?;
    outln!(
        "  {{\"type\": \"command\", \"command\": \"{}\"}}",
        change.command
    )?;
    outln!(
        "Claude Code reads it in new sessions; each finished turn is then charged at once. \
         Undo with `agent-cost install-agent-hook claude{} --uninstall`.",
        if args.project { " --project" } else { "" }
    )
}
