//! `agent-cost import`: spend from a billing export file, for agents that keep no local log
//! agent-cost can read. `import cursor` reads Cursor's dashboard usage CSV (parsed by
//! `agent_cost_sources::cursor_csv`), keeps the rows inside a time window, and charges the new
//! ones to a worktree's tally. See `docs/cursor-import.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_cost_events::Money;
use agent_cost_git::Worktree;
use agent_cost_sources::cursor_csv::{self, Export};
use agent_cost_store::{Recorded, Store};
use serde::Serialize;

use crate::output::{CommandError, CommandResult, errln, outln, print_json};

/// How many skipped rows are listed by line.
const SKIPPED_LISTED: usize = 5;

/// Import spend from an agent's billing export.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    Cursor(CursorArgs),
}

/// Import Cursor's dashboard usage export (CSV) into this worktree's tally.
///
/// Cursor keeps no local per-request log: download the usage CSV from Cursor's dashboard and
/// import it. Each row is one request of the agent `cursor`, with its tokens, its model (Max
/// Mode rows as `<model>+max`) and the cost the file gives (`$0.50`, `0.49`), which the next
/// commit's trailers carry. A row without a cost (blank, `Included`) is priced by its tokens
/// when the price list knows the model, and is unpriced otherwise.
///
/// Only rows inside the window are imported: from the repository's tracking start (or
/// --since, if later) until --until. A row already in the ledger is never added again, so the
/// same file imported twice, or a later export overlapping an earlier one, adds only new rows.
/// Rows that cannot be read are skipped, counted and listed by line.
///
/// Examples:
///
///   agent-cost import cursor ~/Downloads/usage-events.csv --dry-run   # look first
///   agent-cost import cursor ~/Downloads/usage-events.csv             # then import
///   agent-cost import cursor usage.csv --since 2026-11-24 --until 2026-11-30
///   agent-cost import cursor usage.csv --repo ../shop --json
///   git commit -m "Checkout flow"     # carries AI-Model: ... agent=cursor trailers
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CursorArgs {
    /// The CSV file exported from Cursor's dashboard.
    file: PathBuf,
    /// The repository (or worktree) the spend was for [default: the current one].
    #[arg(long, value_name = "PATH")]
    repo: Option<PathBuf>,
    /// Import only rows at or after DATE (RFC 3339 or YYYY-MM-DD, UTC); never before the
    /// repository's tracking start.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Import only rows before DATE (an instant), or through the end of DATE (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Show what would be imported; record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// What an import did, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Summary {
    file: String,
    variant: &'static str,
    worktree: String,
    dry_run: bool,
    since: Option<String>,
    until: Option<String>,
    /// Data rows in the file (read or skipped).
    rows: usize,
    imported: usize,
    already_present: usize,
    outside_window: usize,
    skipped: usize,
    skipped_by_reason: BTreeMap<&'static str, usize>,
    skipped_rows: Vec<SkippedRow>,
    /// The cost the file gives for the imported rows.
    cost_usd: String,
    cost_usd_micros: u64,
    /// Imported rows without a cost in the file (priced by tokens at commit, or unpriced).
    imported_without_cost: usize,
    max_mode_rows: usize,
    ignored_columns: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SkippedRow {
    line: u64,
    reason: &'static str,
    detail: String,
}

/// Runs an `import` subcommand.
pub fn run(command: ImportCommand) -> CommandResult {
    match command {
        ImportCommand::Cursor(args) => cursor(args),
    }
}

fn cursor(args: CursorArgs) -> CommandResult {
    let worktree = target(args.repo.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|text| instant(text, "--since", false))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|text| instant(text, "--until", true))
        .transpose()?;
    let file = std::fs::File::open(&args.file).map_err(|e| {
        CommandError::msg(format!("cannot open {}: {e}", args.file.display()))
            .hint("give the path of the CSV downloaded from Cursor's dashboard")
    })?;
    let export = cursor_csv::read(std::io::BufReader::new(file)).map_err(|e| {
        let error = CommandError::msg(format!("{}: {e}", args.file.display()));
        match e {
            cursor_csv::CursorCsvError::NotAnExport { .. } | cursor_csv::CursorCsvError::Empty => {
                error.hint(
                    "export the usage CSV from Cursor's dashboard (Usage, Export CSV) and import \
                     that file unchanged",
                )
            }
            _ => error,
        }
    })?;

    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    let tx = store.write()?;
    let tracking = tx.tracking(&worktree.common_dir.to_string_lossy())?;
    let tracked_since = tracking
        .as_ref()
        .and_then(|t| jiff::Timestamp::from_millisecond(t.since_ms).ok());
    if tracked_since.is_none() && since.is_none() {
        return Err(CommandError::msg(format!(
            "agent-cost is not tracking {}, so no commit would carry the imported spend",
            worktree.workdir.display()
        ))
        .hint(
            "run `agent-cost install-hooks` there first (rows from then on are imported), or give \
             --since DATE to record them anyway",
        ));
    }
    // The window starts at the later of --since and the tracking start: spend before tracking
    // is never charged to commits (`install-hooks --since` moves the start back).
    let lower = match (since, tracked_since) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if let (Some(lower), Some(until)) = (lower, until)
        && until <= lower
    {
        return Err(CommandError::msg(format!(
            "the window is empty: --until {until} is not after its start {lower}"
        ))
        .hint("give an --until later than --since and than the repository's tracking start"));
    }

    let cwd = worktree.workdir.to_string_lossy().into_owned();
    let id = tx.worktree_id(&worktree)?;
    let mut summary = Summary::new(&args, &export, &worktree, lower, until);
    let mut cost = 0u64;
    for row in &export.rows {
        let inside =
            lower.is_none_or(|l| row.timestamp >= l) && until.is_none_or(|u| row.timestamp < u);
        if !inside {
            summary.outside_window += 1;
            continue;
        }
        if tx.has_event(cursor_csv::AGENT, &row.event_id)? {
            summary.already_present += 1;
            continue;
        }
        match tx.record(&row.event(&cwd), Some(id))? {
            Recorded::New => {
                summary.imported += 1;
                match row.cost.micros() {
                    Some(micros) => cost = cost.saturating_add(micros),
                    None => summary.imported_without_cost += 1,
                }
                if row.max_mode {
                    summary.max_mode_rows += 1;
                }
            }
            _ => summary.already_present += 1,
        }
    }
    if args.dry_run {
        // Dropping the transaction rolls it back: nothing recorded.
        drop(tx);
    } else {
        tx.commit()?;
    }
    summary.cost_usd = Money::from_micros(cost).to_decimal();
    summary.cost_usd_micros = cost;

    if tracked_since.is_none() && !args.dry_run && summary.imported > 0 {
        errln!(
            "warning: agent-cost is not tracking this repository, so no commit will carry these \
             rows; run `agent-cost install-hooks` here"
        );
    }
    if args.json {
        return print_json(&summary);
    }
    print_summary(&summary)
}

impl Summary {
    fn new(
        args: &CursorArgs,
        export: &Export,
        worktree: &Worktree,
        since: Option<jiff::Timestamp>,
        until: Option<jiff::Timestamp>,
    ) -> Summary {
        let mut skipped_by_reason = BTreeMap::new();
        for skip in &export.skipped {
            *skipped_by_reason.entry(skip.reason.as_str()).or_insert(0) += 1;
        }
        Summary {
            file: args.file.display().to_string(),
            variant: export.variant.as_str(),
            worktree: worktree.workdir.display().to_string(),
            dry_run: args.dry_run,
            since: since.map(|t| t.to_string()),
            until: until.map(|t| t.to_string()),
            rows: export.rows.len() + export.skipped.len(),
            imported: 0,
            already_present: 0,
            outside_window: 0,
            skipped: export.skipped.len(),
            skipped_by_reason,
            skipped_rows: export
                .skipped
                .iter()
                .take(SKIPPED_LISTED)
                .map(|s| SkippedRow {
                    line: s.line,
                    reason: s.reason.as_str(),
                    detail: s.detail.clone(),
                })
                .collect(),
            cost_usd: String::new(),
            cost_usd_micros: 0,
            imported_without_cost: 0,
            max_mode_rows: 0,
            ignored_columns: export.ignored_columns.clone(),
        }
    }
}

fn print_summary(s: &Summary) -> CommandResult {
    let verb = if s.dry_run {
        "would import"
    } else {
        "imported"
    };
    outln!(
        "{verb} {} of {} rows from {} (Cursor export, {} header) into {}",
        s.imported,
        s.rows,
        s.file,
        s.variant,
        s.worktree
    )?;
    outln!(
        "  cost given by the file: {} USD{}",
        s.cost_usd,
        match s.imported_without_cost {
            0 => String::new(),
            n => format!(
                "; {n} row{} without a cost, priced by tokens at commit",
                plural(n)
            ),
        }
    )?;
    if s.already_present > 0 {
        outln!("  already present: {} (imported before)", s.already_present)?;
    }
    if s.outside_window > 0 {
        let window = match (&s.since, &s.until) {
            (Some(a), Some(b)) => format!("from {a} until {b}"),
            (Some(a), None) => format!("from {a}"),
            (None, Some(b)) => format!("until {b}"),
            (None, None) => String::new(),
        };
        outln!("  outside the window ({window}): {}", s.outside_window)?;
    }
    if s.skipped > 0 {
        let reasons: Vec<String> = s
            .skipped_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        outln!("  skipped: {} ({})", s.skipped, reasons.join(", "))?;
        for row in &s.skipped_rows {
            outln!("    line {}: {}", row.line, row.detail)?;
        }
        if s.skipped > s.skipped_rows.len() {
            outln!("    … and {} more", s.skipped - s.skipped_rows.len())?;
        }
    }
    if !s.ignored_columns.is_empty() {
        outln!("  columns ignored: {}", s.ignored_columns.join(", "))?;
    }
    if s.dry_run {
        outln!("dry run: nothing was recorded")
    } else if s.imported > 0 {
        outln!("the next commit here carries them")
    } else {
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The worktree to charge: the one containing `--repo`, or the current one.
fn target(repo: Option<&Path>) -> Result<Worktree, CommandError> {
    super::repository(
        repo,
        "give the directory of the repository the Cursor spend was for",
        || {
            CommandError::msg("agent-cost import must run inside a git repository")
                .hint("cd into the repository the spend was for, or give --repo PATH")
        },
    )
}

/// `--since`/`--until` as an instant: RFC 3339, or a date (UTC). A date as `--until` means the
/// end of that day, so `--since D --until D` is the day D.
pub(crate) fn instant(
    text: &str,
    flag: &str,
    end_of_day: bool,
) -> Result<jiff::Timestamp, CommandError> {
    let bad = || {
        CommandError::msg(format!("{flag} `{text}` is not a date"))
            .hint("write a date as YYYY-MM-DD (UTC) or an instant as 2026-11-30T17:00:00Z")
    };
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    let date = if end_of_day {
        date.tomorrow().map_err(|_| bad())?
    } else {
        date
    };
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}
