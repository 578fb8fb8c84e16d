//! `agent-cost status`: what the next commit in this worktree will carry.

use agent_cost_git::Worktree;
use agent_cost_hooks::drain::summarize;
use agent_cost_hooks::pricing::price_book;
use agent_cost_ledger::ingest::{IngestOptions, ingest_with_progress};
use agent_cost_ledger::journal::Charge;
use agent_cost_ledger::route::unattributed_tally;
use agent_cost_ledger::tally::Tally;
use agent_cost_ledger::tracking::{Tracking, split_by_tracking};
use agent_cost_prices::PriceBook;
use agent_cost_trailers::{Block, TokenTotals};
use serde::Serialize;

use crate::output::{
    self, CommandError, CommandResult, ModelRow, Progress, errln, model_table, outln, print_json,
};

/// Show the AI spend pending for the next commit in this worktree.
///
/// Reads new agent log lines first (unless --no-ingest), then shows what the next commit's
/// trailers would hold, spend from before tracking started (never charged), and spend that
/// ran outside any git repository (unattributed).
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Do not read new agent log lines first.
    #[arg(long)]
    no_ingest: bool,
}

/// Spend of a set of charges, as JSON.
#[derive(Debug, Serialize)]
pub struct Spend {
    /// Requests.
    pub requests: u64,
    /// Cost in USD (priced models only).
    pub cost_usd: f64,
    /// True when some model is unpriced.
    pub incomplete: bool,
    /// Token sums.
    pub tokens: TokenTotals,
    /// Per model.
    pub models: Vec<ModelSpend>,
    #[serde(skip)]
    cost_text: String,
}

/// One model's part of a [`Spend`].
#[derive(Debug, Serialize)]
pub struct ModelSpend {
    model: String,
    agent: String,
    requests: u64,
    input: u64,
    output: u64,
    cache_write: u64,
    cache_read: u64,
    /// `null` when unpriced.
    cost_usd: Option<f64>,
    #[serde(skip)]
    cost_text: String,
}

/// Prices and sums charges the way a commit's trailer block would.
pub fn spend<'a>(charges: impl IntoIterator<Item = &'a Charge>, book: &PriceBook) -> Spend {
    let summary = summarize(charges, book);
    let block = Block::build(
        String::new(),
        summary.models.clone(),
        &summary.sessions,
        Vec::new(),
    );
    let tokens = TokenTotals {
        input: block.models.iter().map(|m| m.input).sum(),
        output: block.models.iter().map(|m| m.output).sum(),
        cache_write: block.models.iter().map(|m| m.cache_write).sum(),
        cache_read: block.models.iter().map(|m| m.cache_read).sum(),
    };
    Spend {
        requests: block.models.iter().map(|m| m.requests).sum(),
        cost_usd: block.usd().as_f64(),
        incomplete: block.is_incomplete(),
        tokens,
        models: block
            .models
            .iter()
            .map(|m| ModelSpend {
                model: m.model.clone(),
                agent: m.agent.clone(),
                requests: m.requests,
                input: m.input,
                output: m.output,
                cache_write: m.cache_write,
                cache_read: m.cache_read,
                cost_usd: m.cost.map(|c| c.as_f64()),
                cost_text: m.cost.map_or("unpriced".to_string(), |c| c.to_decimal()),
            })
            .collect(),
        cost_text: block.usd().to_decimal(),
    }
}

#[derive(Debug, Serialize)]
struct StatusJson {
    worktree: String,
    tracking_since: Option<String>,
    pending: Spend,
    before_tracking: Spend,
    unattributed: Spend,
    outstanding_drains: usize,
    corrupt_journal_lines: u64,
}

/// Runs the command.
pub fn run(args: StatusArgs) -> CommandResult {
    let worktree = Worktree::current().ok_or_else(|| {
        CommandError::msg("not inside a git working tree")
            .hint("cd into a repository to see its pending AI spend")
    })?;
    let locations = super::locations()?;
    if !args.no_ingest {
        let mut progress = Progress::new();
        let result =
            ingest_with_progress(&locations, IngestOptions::default(), &mut |report, done| {
                progress.ingest(report, done)
            });
        progress.finish();
        result?;
    }
    let (book, warnings) = price_book(&locations.config_file(), Some(&worktree.workdir));
    for warning in warnings {
        errln!("warning: {warning}");
    }
    let tracking = Tracking::read(&worktree.common_dir)?;
    let pending = Tally::in_git_dir(&worktree.git_dir).peek()?;
    let (eligible, early) = split_by_tracking(tracking.as_ref(), &pending.charges);
    let unattributed = unattributed_tally(&locations.state_dir).peek()?;
    let report = StatusJson {
        worktree: worktree.workdir.display().to_string(),
        tracking_since: tracking.as_ref().map(|t| t.since.clone()),
        pending: spend(eligible, &book),
        before_tracking: spend(early, &book),
        unattributed: spend(&unattributed.charges, &book),
        outstanding_drains: pending.proposals.len(),
        corrupt_journal_lines: pending.corrupt_lines,
    };
    if args.json {
        return print_json(&report);
    }
    outln!("worktree: {}", report.worktree)?;
    match &report.tracking_since {
        Some(since) => outln!("tracking: hooks installed, charging spend since {since}")?,
        None => outln!(
            "tracking: hooks not installed; run `agent-cost install-hooks` to charge commits"
        )?,
    }
    print_spend("pending for the next commit", &report.pending)?;
    if report.before_tracking.requests > 0 {
        print_spend(
            "before tracking started (not charged)",
            &report.before_tracking,
        )?;
    }
    if report.unattributed.requests > 0 {
        outln!(
            "unattributed (outside any repository): {} USD in {} requests",
            report.unattributed.cost_text,
            report.unattributed.requests
        )?;
    }
    if report.corrupt_journal_lines > 0 {
        errln!(
            "warning: {} unreadable lines in this worktree's tally were skipped",
            report.corrupt_journal_lines
        );
    }
    Ok(())
}

fn print_spend(title: &str, spend: &Spend) -> CommandResult {
    let incomplete = if spend.incomplete {
        " (some models unpriced)"
    } else {
        ""
    };
    outln!(
        "{title}: {} USD{incomplete} in {} requests",
        spend.cost_text,
        spend.requests
    )?;
    if spend.models.is_empty() {
        return Ok(());
    }
    let rows: Vec<ModelRow> = spend
        .models
        .iter()
        .map(|m| ModelRow {
            model: m.model.clone(),
            agent: m.agent.clone(),
            requests: m.requests,
            tokens: [m.input, m.output, m.cache_write, m.cache_read],
            cost: m.cost_text.clone(),
        })
        .collect();
    output::stdout(format_args!("{}", model_table(&rows, "  ")))
}
