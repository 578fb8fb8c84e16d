//! `agent-cost trailers …`: reading AI-cost trailers back from history.

use agent_cost_events::Money;
use agent_cost_git::History;
use agent_cost_trailers::{RangeTotals, Totals, commit_blocks};

use crate::output::{self, CommandError, CommandResult, ModelRow, model_table, outln, print_json};

/// Read the AI-cost trailers in git history.
#[derive(Debug, clap::Subcommand)]
pub enum TrailersCommand {
    Sum(SumArgs),
}

/// Add up the AI spend recorded in a range of commits.
///
/// Scans every commit message in the range (whole bodies, so squash merges and rebased
/// commits are read too) and counts each drain (AI-Cost-Id) once, however many commits carry
/// a copy of it. Examples:
///
///   agent-cost trailers sum                 # all of HEAD's history
///   agent-cost trailers sum main..HEAD      # what this branch added
///   agent-cost trailers sum v1.0..v2.0 --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SumArgs {
    /// A revision range, as git understands it (default: HEAD, i.e. all of its history).
    range: Option<String>,
    /// Print one JSON object: commits, commits_with_cost, cost_usd, tokens, models, …
    #[arg(long)]
    json: bool,
    /// Count only blocks this machine drained whose lines match what it drained (see
    /// `agent-cost verify`); blocks from other machines, typed or edited, are left out.
    #[arg(long)]
    verified: bool,
}

/// Runs a `trailers` subcommand.
pub fn run(command: TrailersCommand) -> CommandResult {
    match command {
        TrailersCommand::Sum(args) => sum(args),
    }
}

fn sum(args: SumArgs) -> CommandResult {
    let cwd = std::env::current_dir().map_err(CommandError::from)?;
    let history = History::discover(&cwd)
        .map_err(|e| CommandError::from_error(&e).hint("run this inside a git repository"))?;
    let verified = if args.verified {
        Some(verified_blocks(&cwd)?)
    } else {
        None
    };
    let notes = history.notes(agent_cost_git::AI_COST_NOTES)?;
    let mut totals = RangeTotals::new();
    history.walk(args.range.as_deref(), |id, message| {
        let mut blocks = commit_blocks(message, notes.get(id));
        if let Some(verified) = &verified {
            blocks.retain(|b| verified.contains(&b.id));
        }
        totals.add_commit(blocks);
    })?;
    let totals = totals.finish();
    if args.json {
        return print_json(&totals);
    }
    print_totals(args.range.as_deref().unwrap_or("HEAD"), &totals)
}

/// The ids of the blocks in any reference that match what this machine's ledger drained for
/// the repository at `cwd`.
fn verified_blocks(
    cwd: &std::path::Path,
) -> Result<std::collections::HashSet<String>, CommandError> {
    let worktree = agent_cost_git::Worktree::containing(cwd).ok_or_else(|| {
        CommandError::msg("agent-cost trailers sum --verified must run inside a git repository")
    })?;
    let locations = super::locations()?;
    let Some(mut store) = agent_cost_store::Store::open_existing(
        &locations.state_dir,
        std::time::Duration::from_secs(30),
    )?
    else {
        return Ok(Default::default());
    };
    super::settle_or_warn(&mut store);
    let history = History::of_worktree(&worktree.workdir, &worktree.git_dir)
        .map_err(|e| CommandError::from_error(&e))?;
    let common_dir = worktree.common_dir.to_string_lossy().into_owned();
    let inputs = agent_cost_verify::gather(&mut store, &common_dir, Vec::new(), &history, None)
        .map_err(|e| CommandError::from_error(&e))?;
    let (book, _) =
        agent_cost_hooks::pricing::price_book(&locations.config_file(), Some(&worktree.workdir));
    Ok(agent_cost_verify::compare(&inputs, &book).matching)
}

fn print_totals(range: &str, totals: &Totals) -> CommandResult {
    outln!(
        "{range}: {}, {} with AI cost, {}",
        counted(totals.commits, "commit"),
        totals.commits_with_cost,
        counted(totals.drains, "drain")
    )?;
    if totals.duplicate_blocks + totals.replaced_blocks > 0 {
        outln!(
            "(not counted again: {} copies of drains already counted, {} drains replaced by an amended one)",
            totals.duplicate_blocks,
            totals.replaced_blocks
        )?;
    }
    if totals.malformed_blocks > 0 {
        outln!(
            "(not counted: {} blocks that are not well formed: no id, no model lines, or lines that do not add up; see docs/trailers.md)",
            totals.malformed_blocks
        )?;
    }
    if totals.models.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<ModelRow> = totals
        .models
        .iter()
        .map(|m| ModelRow {
            model: m.model.clone(),
            agent: m.agent.clone(),
            requests: m.requests,
            tokens: [m.input, m.output, m.cache_write, m.cache_read],
            cost: match (m.unpriced, m.cost == Money::ZERO) {
                (true, true) => "unpriced".to_string(),
                (true, false) => format!("{}+unpriced", m.cost.to_decimal()),
                (false, _) => m.cost.to_decimal(),
            },
        })
        .collect();
    rows.push(ModelRow {
        model: "total".to_string(),
        agent: String::new(),
        requests: totals.models.iter().map(|m| m.requests).sum(),
        tokens: [
            totals.tokens.input,
            totals.tokens.output,
            totals.tokens.cache_write,
            totals.tokens.cache_read,
        ],
        cost: totals.cost.to_decimal(),
    });
    output::stdout(format_args!("{}", model_table(&rows, "")))?;
    if totals.incomplete {
        outln!("note: some models have no known price; the total covers priced models only")?;
    }
    Ok(())
}

/// `1 commit`, `2 commits`.
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
