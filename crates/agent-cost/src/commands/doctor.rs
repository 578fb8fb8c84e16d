//! `agent-cost doctor`: whether the AI spend of this worktree will reach its commits, checked
//! against what git will actually run, with the fix for each problem.

use std::time::Duration;

use agent_cost_git::Worktree;
use agent_cost_hooks::health::{self, HookState, HooksHealth};
use agent_cost_ingest::sources;
use agent_cost_sources::Scope;
use agent_cost_store::Store;
use agent_cost_store::time::rfc3339_from_seconds;
use serde::Serialize;

use crate::output::{CommandError, CommandResult, outln, print_json};

/// Check that AI spend will reach this repository's commits, and say how to fix what stops it.
///
/// Looks at what git will actually run: the hooks directory (core.hooksPath honoured), each
/// hook agent-cost needs (present, executable, running agent-cost directly or through husky,
/// lefthook or pre-commit, the binary it points at present), hooks of ours that git no longer
/// reads, the ledger, the transcripts found, when the hooks last ran, and commits made since
/// without them. Exits with status 1 when spend would not reach commits.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

/// One thing checked.
#[derive(Debug, Serialize)]
struct Finding {
    /// `ok`, `warning` or `problem` (spend would not reach commits).
    level: &'static str,
    /// What was checked.
    check: String,
    /// What was found.
    found: String,
    /// How to fix it, when it needs fixing.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    worktree: String,
    hooks_dir: String,
    /// True when no finding is a problem.
    spend_reaches_commits: bool,
    findings: Vec<Finding>,
}

fn ok(check: impl Into<String>, found: impl Into<String>) -> Finding {
    Finding {
        level: "ok",
        check: check.into(),
        found: found.into(),
        fix: None,
    }
}

fn warning(check: impl Into<String>, found: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        level: "warning",
        check: check.into(),
        found: found.into(),
        fix: Some(fix.into()),
    }
}

fn problem(check: impl Into<String>, found: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        level: "problem",
        check: check.into(),
        found: found.into(),
        fix: Some(fix.into()),
    }
}

/// Runs the command.
pub fn run(args: DoctorArgs) -> CommandResult {
    let worktree = Worktree::current().ok_or_else(|| {
        CommandError::msg("not inside a git working tree")
            .hint("cd into the repository whose commits should carry AI spend, then run this again")
    })?;
    let health = health::inspect(&worktree)?;
    let mut findings = hook_findings(&health, &worktree.workdir);
    findings.extend(state_findings(&worktree)?);
    let report = Report {
        worktree: worktree.workdir.display().to_string(),
        hooks_dir: health.hooks_dir.display().to_string(),
        spend_reaches_commits: findings.iter().all(|f| f.level != "problem"),
        findings,
    };
    if args.json {
        print_json(&report)?;
    } else {
        outln!("worktree: {}", report.worktree)?;
        outln!("hooks directory git reads: {}", report.hooks_dir)?;
        for finding in &report.findings {
            let mark = match finding.level {
                "ok" => "ok     ",
                "warning" => "warning",
                _ => "PROBLEM",
            };
            outln!("{mark}  {}: {}", finding.check, finding.found)?;
            if let Some(fix) = &finding.fix {
                for (index, line) in fix.lines().enumerate() {
                    let lead = if index == 0 { "fix:" } else { "    " };
                    outln!("         {lead} {line}")?;
                }
            }
        }
    }
    if report.spend_reaches_commits {
        if !args.json {
            outln!("AI spend of this worktree reaches its commits.")?;
        }
        Ok(())
    } else {
        let problems = report
            .findings
            .iter()
            .filter(|f| f.level == "problem")
            .count();
        Err(CommandError::msg(format!(
            "AI spend of this worktree will not reach its commits ({problems} problem{})",
            if problems == 1 { "" } else { "s" }
        )))
    }
}

fn hook_findings(health: &HooksHealth, workdir: &std::path::Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for hook in &health.hooks {
        let check = hook.name.to_string();
        let found = hook.state.describe();
        let reinstall =
            "run `agent-cost install-hooks` (a hook of yours is kept and still runs first)";
        findings.push(match &hook.state {
            HookState::Linked { .. } | HookState::Script | HookState::Manager { .. } => {
                ok(check, found)
            }
            HookState::Shim => warning(
                check,
                found,
                "run `agent-cost install-hooks` to replace it with a link, which starts faster",
            ),
            HookState::BinaryMissing { .. } => problem(
                check,
                found,
                "run `agent-cost install-hooks` with the agent-cost you use now",
            ),
            HookState::ManagerWithoutUs { manager, config } => {
                problem(check, found, manager_fix(manager, hook.name, config))
            }
            HookState::Foreign | HookState::NotExecutable | HookState::Missing => {
                problem(check, found, reinstall)
            }
        });
    }
    for warning_text in manager_ahead(health, workdir) {
        findings.push(warning(
            "hook manager",
            warning_text,
            "run `agent-cost install-hooks` again: it joins the manager's configuration",
        ));
    }
    for path in &health.bypassed {
        findings.push(warning(
            "bypassed hook",
            format!(
                "{} is agent-cost's, but git reads hooks from {} (core.hooksPath)",
                path.display(),
                health.hooks_dir.display()
            ),
            "run `agent-cost install-hooks` (it installs where git reads), then remove it",
        ));
    }
    match health.last_run {
        Some(last) => findings.push(ok(
            "last hook run",
            format!("{} (prepare-commit-msg)", rfc3339_from_seconds(last)),
        )),
        None => findings.push(ok("last hook run", "never in this worktree")),
    }
    if let Some(newest) = health.commits_without_hooks.first() {
        findings.push(problem(
            "commits without the hooks",
            format!(
                "{} commit(s) made after the hooks last ran, newest {} ({}): their spend stays \
                 pending",
                health.commits_without_hooks.len(),
                &newest.id[..newest.id.len().min(12)],
                newest.message
            ),
            "make sure git runs the hooks above (a hook manager may have replaced them); \
             the spend goes into the next commit that runs them",
        ));
    }
    findings
}

/// Managers about to take the hooks from links of ours: lefthook moves them aside at its next
/// sync, and husky's `prepare` script moves `core.hooksPath` at the next `npm install`.
fn manager_ahead(health: &HooksHealth, workdir: &std::path::Path) -> Vec<String> {
    let linked = health
        .hooks
        .iter()
        .any(|h| matches!(h.state, HookState::Linked { .. }));
    if !linked {
        return Vec::new();
    }
    let mut ahead = Vec::new();
    if let Some(config) = agent_cost_hooks::managers::LEFTHOOK_CONFIGS
        .iter()
        .map(|c| workdir.join(c))
        .find(|c| c.is_file())
    {
        ahead.push(format!(
            "{} exists: lefthook's next sync moves our linked hooks aside, and they stop running",
            config.display()
        ));
    }
    let package = workdir.join("package.json");
    if std::fs::read_to_string(&package).is_ok_and(|text| text.contains("\"husky")) {
        ahead.push(format!(
            "{} runs husky: the next `npm install` points core.hooksPath at .husky/_, and our \
             linked hooks stop running",
            package.display()
        ));
    }
    ahead
}

/// The lines to add to a hook manager's configuration so that it runs agent-cost.
fn manager_fix(manager: &str, hook: &str, config: &std::path::Path) -> String {
    let config = config.display();
    match manager {
        "husky" => format!("add this line to {config}:\nagent-cost hook {hook} \"$@\""),
        "lefthook" => format!(
            "add to lefthook-local.yml (or {config}):\n{hook}:\n  commands:\n    agent-cost:\n      \
             run: agent-cost hook {hook} {}",
            if hook == "commit-msg" {
                "{1}"
            } else {
                "{1} {2} {3}"
            }
        ),
        _ => format!(
            "add a local hook to {config} for the {hook} stage that runs \
             `agent-cost hook {hook}` with the message file, or run `agent-cost install-hooks`"
        ),
    }
}

fn state_findings(worktree: &Worktree) -> Result<Vec<Finding>, CommandError> {
    let locations = super::locations()?;
    let mut findings = Vec::new();
    match Store::open_existing(&locations.state_dir, Duration::from_secs(5)) {
        Ok(Some(mut store)) => {
            let path = store.path().display().to_string();
            let tx = store.read()?;
            let tracking = tx.tracking(&worktree.common_dir.to_string_lossy())?;
            tx.commit()?;
            findings.push(ok("ledger", path));
            findings.push(match tracking {
                Some(tracking) => ok(
                    "tracking",
                    format!("charging spend since {}", tracking.since),
                ),
                None => problem(
                    "tracking",
                    "this repository is not tracked",
                    "run `agent-cost install-hooks`",
                ),
            });
        }
        Ok(None) => findings.push(problem(
            "ledger",
            format!("none yet in {}", locations.state_dir.display()),
            "run `agent-cost install-hooks`",
        )),
        Err(e) => findings.push(problem(
            "ledger",
            e.to_string(),
            "see the message; AGENT_COST_HOME moves the state directory",
        )),
    }
    let watcher = super::status::WatcherJson::of(&locations.state_dir);
    let summary = watcher.summary();
    let found = summary.trim_start_matches("watcher: ").to_string();
    findings.push(if watcher.last_error.is_some() {
        warning(
            "watcher",
            found,
            "see the error; hooks catch up themselves meanwhile",
        )
    } else if watcher.running && !watcher.current && watcher.behind_ms > 10_000 {
        warning(
            "watcher",
            found,
            "it is catching up on a lot, or stuck: hooks catch up themselves meanwhile",
        )
    } else {
        ok("watcher", found)
    });
    let mut logs_found = 0;
    for source in sources(&locations) {
        let all = source.discover(&Scope::All);
        let here = source.discover(&Scope::Worktree(worktree.workdir.clone()));
        logs_found += all.files.len();
        findings.push(ok(
            format!("{} logs", source.name()),
            format!(
                "{} transcripts, {} of sessions started in this worktree",
                all.files.len(),
                here.files.len()
            ),
        ));
        for entry in all.unreadable {
            findings.push(warning(
                format!("{} logs", source.name()),
                format!("cannot read {entry}"),
                "check the permissions of that entry",
            ));
        }
    }
    if logs_found == 0 {
        findings.push(warning(
            "agent logs",
            "none found for any agent",
            "agent-cost finds them once an agent has run; `agent-cost sources` shows where it \
             looks (CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME, XDG_DATA_HOME move them)",
        ));
    }
    Ok(findings)
}
