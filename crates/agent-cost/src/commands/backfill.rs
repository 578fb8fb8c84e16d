//! `agent-cost backfill` and `agent-cost squash-note`: spend written into git notes
//! (`refs/notes/ai-cost`) by `agent-cost-backfill`, printed as text or JSON.

use std::path::PathBuf;

use agent_cost_backfill::carry::{blocks_to_carry, note_text};
use agent_cost_backfill::write::append_note;
use agent_cost_backfill::{Plan, apply, plan};
use agent_cost_git::{AI_COST_NOTES, History};
use agent_cost_hooks::pricing::price_book;
use agent_cost_report::Money;
use serde_json::{Value, json};

use crate::output::{CommandError, CommandResult, errln, outln, print_json};

/// Put spend from before the hooks into git notes on the commits it led to.
///
/// A repository's agent logs often go back further than its hooks. backfill takes the requests
/// logged in this repository's worktrees before tracking began (`install-hooks` set the start)
/// and gives each to the commit that followed it: the first commit of its worktree's
/// first-parent line made at or after the request, i.e. the spend between a commit's parent and
/// the commit. Each such commit gets a block, priced and written as a hook would, in a git note
/// under refs/notes/ai-cost: history is never rewritten. `trailers sum`, `report`, `verify` and
/// `export` read the notes beside the trailers, and each drain counts once. Running it again
/// writes nothing new; a run that was killed is finished by the next. Requests made after their
/// worktree's last commit stay spend before tracking.
///
///   agent-cost backfill --dry-run              # what it would write
///   agent-cost backfill --since 2026-09-01     # only requests from that day on
///   git push origin refs/notes/ai-cost         # share the notes (see docs/backfill.md)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct BackfillArgs {
    /// Only requests logged on or after this date (YYYY-MM-DD, UTC) or instant (RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Show what would be written, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The repository (any directory inside it; default: the current one).
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Do not read new log lines into the ledger first.
    #[arg(long)]
    no_ingest: bool,
    /// Print one JSON object: notes [{commit, drain, requests, cost_usd, …}], totals.
    #[arg(long)]
    json: bool,
}

/// Write a pull request's AI-cost blocks onto the commit that squash-merged it, as a git note.
///
/// A squash merge whose message drops the trailers ("pull request title and description", a
/// blank message, a custom template) leaves the merged commit without its spend, and the pull
/// request's own commits are not in the branch's history. This copies every block of RANGE
/// (the pull request's commits, each drain once) that COMMIT does not carry yet into a note on
/// COMMIT under refs/notes/ai-cost. Drain ids are kept, so where the message did keep the
/// trailers nothing is counted twice, and running it again adds nothing. Meant for CI after a
/// merge (docs/ci.md):
///
///   agent-cost squash-note "$BASE_SHA..$HEAD_SHA" --onto "$MERGE_SHA"
///   git push origin refs/notes/ai-cost
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SquashNoteArgs {
    /// The pull request's commits, as a range git understands (BASE..HEAD).
    range: String,
    /// The commit that merged them (its id, or any revision naming it).
    #[arg(long, value_name = "COMMIT")]
    onto: String,
    /// The repository (any directory inside it; default: the current one).
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Show what would be written, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object: commit, blocks [ids], cost_usd, written.
    #[arg(long)]
    json: bool,
}

/// Runs `agent-cost backfill`.
pub fn run(args: BackfillArgs) -> CommandResult {
    let worktree = super::command_repository("backfill", args.repo.as_deref())?;
    let common_dir = worktree.common_dir.to_string_lossy().into_owned();
    let since_ms = args
        .since
        .as_deref()
        .map(|text| super::report::instant(text, "--since", false).map(|s| s * 1000))
        .transpose()?;
    let locations = super::locations()?;
    let mut store = super::current_store(&locations, args.no_ingest)?;
    let tracking = store.read()?.tracking(&common_dir)?.ok_or_else(|| {
        CommandError::msg(format!(
            "{} is not tracked yet: backfill puts spend from before tracking into notes",
            worktree.workdir.display()
        ))
        .hint("run `agent-cost install-hooks` first (it sets where tracking starts), then backfill")
    })?;
    let (book, warnings) = price_book(&locations.config_file(), Some(&worktree.workdir));
    for warning in warnings {
        errln!("warning: {warning}");
    }
    let planned = plan(&store.read()?, &common_dir, since_ms, &book)
        .map_err(|e| CommandError::from_error(&e))?;
    let applied = if args.dry_run {
        None
    } else {
        Some(
            apply(&mut store, &common_dir, &worktree.workdir, &planned)
                .map_err(|e| CommandError::from_error(&e))?,
        )
    };
    if args.json {
        let notes: Vec<Value> = planned
            .notes
            .iter()
            .map(|note| {
                json!({
                    "commit": note.commit,
                    "subject": note.subject,
                    "drain": note.block.id,
                    "requests": note.requests,
                    "cost_usd": cost(note).to_decimal(),
                    "worktree": note.worktree.1.workdir.display().to_string(),
                })
            })
            .collect();
        return print_json(&json!({
            "tracking_since": tracking.since,
            "dry_run": args.dry_run,
            "notes": notes,
            "cost_usd": planned.notes.iter().map(cost).sum::<Money>().to_decimal(),
            "requests": planned.notes.iter().map(|n| n.requests).sum::<u64>(),
            "after_last_commit": planned.after_last_commit.len(),
            "worktree_gone": planned.worktree_gone.len(),
            "before_since": planned.before_since,
            "written": applied.as_ref().map_or(0, |a| a.written),
            "already_there": applied.as_ref().map_or(0, |a| a.already_there),
            "recovered": applied.as_ref().map_or(0, |a| a.recovered),
            "restored": applied.as_ref().map_or(0, |a| a.restored),
        }));
    }
    print_plan(&planned, &tracking.since)?;
    match applied {
        None => outln!("dry run: nothing written; run without --dry-run to write the notes"),
        Some(applied) => {
            if applied.recovered > 0 {
                outln!(
                    "finished {} note(s) a killed run had left",
                    applied.recovered
                )?;
            }
            if planned.notes.is_empty() && applied.recovered == 0 {
                return Ok(());
            }
            outln!(
                "wrote {} note(s) to {AI_COST_NOTES}; share them with `git push origin {AI_COST_NOTES}` (docs/backfill.md)",
                applied.written + applied.already_there + applied.recovered + applied.restored
            )
        }
    }
}

fn cost(note: &agent_cost_backfill::PlannedNote) -> Money {
    note.block.models.iter().filter_map(|m| m.cost).sum()
}

fn print_plan(planned: &Plan, since: &str) -> CommandResult {
    if planned.notes.is_empty() {
        outln!(
            "nothing to backfill: no request from before tracking ({since}) is waiting for a commit"
        )?;
    } else {
        let requests: u64 = planned.notes.iter().map(|n| n.requests).sum();
        let total: Money = planned.notes.iter().map(cost).sum();
        outln!(
            "{requests} request(s) from before tracking ({since}), {} USD, into notes on {} commit(s):",
            total.to_decimal(),
            planned.notes.len()
        )?;
        for note in &planned.notes {
            let short: String = note.commit.chars().take(7).collect();
            let subject: String = note.subject.chars().take(50).collect();
            outln!(
                "  {short}  {:>5} req  {:>12} USD  {subject}",
                note.requests,
                cost(note).to_decimal()
            )?;
        }
    }
    if !planned.after_last_commit.is_empty() {
        outln!(
            "{} request(s) were made after their worktree's last commit: they stay spend before tracking",
            planned.after_last_commit.len()
        )?;
    }
    if !planned.worktree_gone.is_empty() {
        outln!(
            "{} request(s) belong to worktrees that were removed: their commits cannot be told",
            planned.worktree_gone.len()
        )?;
    }
    if planned.before_since > 0 {
        outln!(
            "{} request(s) before --since left alone",
            planned.before_since
        )?;
    }
    Ok(())
}

/// Runs `agent-cost squash-note`.
pub fn run_squash_note(args: SquashNoteArgs) -> CommandResult {
    let worktree = super::command_repository("squash-note", args.repo.as_deref())?;
    let history = History::of_worktree(&worktree.workdir, &worktree.git_dir)
        .map_err(|e| CommandError::from_error(&e))?;
    let onto = history.commit_id(&args.onto).ok_or_else(|| {
        CommandError::msg(format!("--onto {}: no such commit here", args.onto))
            .hint("give the merge commit's id; in CI, fetch it first (fetch-depth: 0)")
    })?;
    let blocks = blocks_to_carry(&history, &args.range, &onto).map_err(|e| {
        CommandError::from_error(&e)
            .hint("give the pull request's commits as BASE..HEAD, both fetched")
    })?;
    let total: Money = blocks
        .iter()
        .flat_map(|b| b.models.iter().filter_map(|m| m.cost))
        .sum();
    let written = !args.dry_run && !blocks.is_empty();
    if written {
        append_note(&worktree.workdir, &onto, &note_text(&blocks))
            .map_err(|e| CommandError::from_error(&e))?;
    }
    if args.json {
        return print_json(&json!({
            "commit": onto,
            "blocks": blocks.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
            "cost_usd": total.to_decimal(),
            "written": written,
        }));
    }
    let short: String = onto.chars().take(7).collect();
    if blocks.is_empty() {
        return outln!(
            "{short} already carries every block of {}: nothing to write",
            args.range
        );
    }
    outln!(
        "{} {} block(s) of {} ({} USD) onto {short}{}",
        if written { "wrote" } else { "would write" },
        blocks.len(),
        args.range,
        total.to_decimal(),
        if written {
            format!(" in {AI_COST_NOTES}; push it with `git push origin {AI_COST_NOTES}`")
        } else {
            " (dry run)".to_string()
        }
    )
}
