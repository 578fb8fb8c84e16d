//! `agent-cost verify`: the agents' logs read again, the ledger and history's trailers compared
//! per agent and model, each difference explained; exit status 1 when anything differs.

use std::path::PathBuf;

use agent_cost_git::History;
use agent_cost_hooks::pricing::price_book;
use agent_cost_verify::{Counts, Verification, compare, gather, recompute};
use serde_json::json;

use crate::output::{self, CommandError, CommandResult, errln, outln, print_json};

/// Check that every request the agents logged in this repository is accounted for, once.
///
/// Reads every agent log again into a throwaway ledger (the real one is not touched) and
/// compares, per agent and model, in requests, tokens and other units:
///
///   expected   what the logs show for this repository's worktrees, plus spend entered by
///              hand (agent-cost log, imports)
///   committed  the trailers of this machine's drains in history (every branch, tag and
///              remote-tracking branch; each AI-Cost-Id once)
///   pending, orphaned, before tracking   what the ledger holds outside commits
///   difference expected − committed − pending − orphaned − before tracking
///
/// Each block this machine drained is checked against what it drained (an edited block is
/// reported); blocks from other machines are counted, not compared. Every difference is
/// explained: logs rotated away, spend not yet read, a drain in no branch (deleted, reset), a
/// drain not settled yet. Exits 0 when everything adds up, 1 otherwise.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct VerifyArgs {
    /// The history to look for drains in (default: every reference, as `git log --all`).
    range: Option<String>,
    /// The repository (any directory inside it; default: the current one).
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Do not read new log lines into the ledger first.
    #[arg(long)]
    no_ingest: bool,
    /// Print one JSON object: rows [{agent, model, expected, committed, …}], findings, clean.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: VerifyArgs) -> CommandResult {
    let worktree = super::command_repository("verify", args.repo.as_deref())?;
    let common_dir = worktree.common_dir.to_string_lossy().into_owned();
    let locations = super::locations()?;
    let mut store = super::current_store(&locations, args.no_ingest)?;
    let recomputed =
        recompute(&locations, &common_dir).map_err(|e| CommandError::from_error(&e))?;
    let history = History::of_worktree(&worktree.workdir, &worktree.git_dir)
        .map_err(|e| CommandError::from_error(&e))?;
    let inputs = gather(
        &mut store,
        &common_dir,
        recomputed,
        &history,
        args.range.as_deref(),
    )
    .map_err(|e| CommandError::from_error(&e))?;
    let (book, warnings) = price_book(&locations.config_file(), Some(&worktree.workdir));
    for warning in warnings {
        errln!("warning: {warning}");
    }
    let verification = compare(&inputs, &book);
    if args.json {
        print_json(&json!({
            "repository": worktree.workdir.display().to_string(),
            "range": args.range.as_deref().unwrap_or("--all"),
            "clean": verification.is_clean(),
            "rows": verification.rows,
            "findings": verification.findings.iter().map(|f| {
                let mut value = serde_json::to_value(f).unwrap_or_default();
                value["explanation"] = json!(f.explain());
                value
            }).collect::<Vec<_>>(),
            "blocks_checked": verification.blocks_checked,
            "blocks_matching": verification.blocks_matching,
            "foreign_blocks": verification.foreign_blocks,
        }))?;
    } else {
        print_text(&worktree.workdir.display().to_string(), &verification)?;
    }
    if verification.is_clean() {
        Ok(())
    } else {
        Err(CommandError {
            message: String::new(),
            causes: Vec::new(),
            hint: None,
            code: 1,
            quiet: true,
        })
    }
}

/// `requests/tokens`, and other units after them: `14/132000`, `2/0 +12 premium-requests`.
fn cell(counts: &Counts) -> String {
    let tokens = counts.input + counts.output + counts.cache_write + counts.cache_read;
    let mut text = format!("{}/{tokens}", counts.requests);
    for (unit, micros) in &counts.quantities {
        let amount =
            agent_cost_events::Money::from_micros(micros.unsigned_abs()).to_decimal_trimmed();
        let sign = if *micros < 0 { "-" } else { "+" };
        text.push_str(&format!(" {sign}{amount} {unit}"));
    }
    text
}

fn print_text(repository: &str, verification: &Verification) -> CommandResult {
    outln!("{repository}: requests/tokens per agent and model")?;
    let rows: Vec<Vec<String>> = verification
        .rows
        .iter()
        .map(|row| {
            vec![
                row.agent.clone(),
                row.model.clone(),
                cell(&row.expected),
                cell(&row.committed),
                cell(&row.pending),
                cell(&row.orphaned),
                cell(&row.before_tracking),
                if row.difference.is_zero() {
                    "0".to_string()
                } else {
                    cell(&row.difference)
                },
            ]
        })
        .collect();
    output::stdout(format_args!(
        "{}",
        output::table(
            &[
                "agent",
                "model",
                "expected",
                "committed",
                "pending",
                "orphaned",
                "before tracking",
                "difference",
            ],
            8,
            &rows
        )
    ))?;
    outln!(
        "{} of {} blocks drained on this machine match what was drained; {} blocks from elsewhere not compared",
        verification.blocks_matching,
        verification.blocks_checked,
        verification.foreign_blocks.len()
    )?;
    for finding in &verification.findings {
        outln!("- {}", finding.explain())?;
    }
    if verification.is_clean() {
        outln!("OK: every request is accounted for, once")
    } else {
        outln!("DIFFERENCES: see above")
    }
}
