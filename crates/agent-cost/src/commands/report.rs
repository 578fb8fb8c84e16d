//! `agent-cost report`, `agent-cost tail` and `agent-cost export`: the per-key tables, recent
//! commits and per-commit rows of `agent-cost-report`, printed as text, JSON, CSV or Markdown.

use agent_cost_git::History;
use agent_cost_report::{
    Charge, Filter, Key, Ledger, Money, PrReport, Row, Table, Waste, WasteRules, html, pareto,
};
use serde_json::{Value, json};

use crate::commands::export_focus::{self, FocusFormat};
use crate::commands::report_scope::{ReadOptions, report_config};
use crate::output::{self, CommandError, CommandResult, outln, print_json};

/// Spend in history by agent, model, author, type, pull request, ticket, branch, date or unit.
///
/// Reads the AI-cost trailers of every commit in the range (default: all of HEAD's history),
/// counts each drain (AI-Cost-Id) once, charged to the newest commit carrying it (a squash
/// merge in the range takes the drains of the commits it squashed), and groups them by the
/// keys given with --by (several --by make one row per combination). Rows are sorted by USD
/// cost, highest first, and end with a total. Amounts in credits or premium requests get
/// columns of their own and are never added to USD.
///
/// Keys: agent, model, author (name and email after .mailmap), type (conventional-commit
/// prefix: fix, feat, refac, test, doc, config, other), pr (from `Merge pull request #N` and
/// `… (#N)` subjects, or [report] pr_pattern), ticket ([A-Z]+-\d+, or [report]
/// ticket_pattern, in the message, then in the branch name), branch (the default branch's
/// first-parent line, then the branch a merge's subject names for the commits it brought in,
/// then the other local branches' first-parent lines, else none), day, week (ISO), month
/// (author date, the author's own offset), unit. The [report] table of
/// $AGENT_COST_HOME/config.toml and of the repository's agent-cost.toml (which wins) sets
/// ticket_pattern, pr_pattern and default_branch. Lines added and removed are those of the
/// row's commits against their first parent (merges: none, as `git log --numstat`), and cost
/// per line is USD over lines added plus removed. Examples:
///
///   agent-cost report                          # by model (the default key)
///   agent-cost report main..HEAD --by author
///   agent-cost report --since 2026-11-01 --by week --by type --csv
///   agent-cost report --prs                    # cost per merged pull request, by week
///   agent-cost report --html spend.html        # a dashboard to open in a browser
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// A revision range, as git understands it (default: HEAD, i.e. all of its history).
    range: Option<String>,
    /// Only commits authored on or after this date (YYYY-MM-DD, UTC) or instant (RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only commits authored on or before this date (the whole day, UTC) or instant.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Group by KEY (repeatable): agent, model, author, type, pr, ticket, branch, day, week,
    /// month, unit, repo. Default: model, or repo over several repositories.
    #[arg(long = "by", value_name = "KEY")]
    by: Vec<Key>,
    #[command(flatten)]
    read: ReadOptions,
    /// Print one JSON object: keys, commits, rows [{key, commits, cost_usd, …}], total.
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    json: bool,
    /// Print CSV: one line per row and a total line.
    #[arg(long, conflicts_with = "markdown")]
    csv: bool,
    /// Print a Markdown table.
    #[arg(long)]
    markdown: bool,
    /// Also show how concentrated the spend is: the fewest commits, pull requests and authors
    /// holding 50 % and 80 % of it, named (JSON: a `pareto` object).
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    pareto: bool,
    /// Show cost per merged pull request (the pull requests `--by pr` finds): the headline,
    /// its median and one row per ISO week of the merge (JSON: a `prs` object with every pull
    /// request under `items`).
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    prs: bool,
    /// Write a self-contained HTML dashboard to FILE (charts of spend by model, agent,
    /// author, type and week, cost per merged pull request, the Pareto curve, the costliest
    /// commits) instead of printing a table.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "csv", "markdown", "pareto", "prs", "waste"])]
    html: Option<std::path::PathBuf>,
    /// Also list waste candidates: commits costing more than --waste-threshold that are fixes,
    /// docs or config, or changed at most --waste-lines lines; and the share of all spend on
    /// such changes (JSON: a `waste` object).
    #[arg(long, conflicts_with_all = ["csv", "markdown", "no_lines"])]
    waste: bool,
    /// The cost above which a commit can be a waste candidate, in USD (default: the
    /// `[report]` table's waste_threshold, else 0.50).
    #[arg(long, value_name = "USD", requires = "waste")]
    waste_threshold: Option<String>,
    /// A change of at most this many lines (added + removed) is small (default: the
    /// `[report]` table's waste_lines, else 5).
    #[arg(long, value_name = "LINES", requires = "waste")]
    waste_lines: Option<u64>,
}

/// The most recent commits with their AI cost, model(s), author and subject.
///
/// Recent means by commit date, newest first, over HEAD's history; the cost of a commit is
/// what `agent-cost report` charges to it (each drain once).
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// How many commits.
    #[arg(default_value_t = 10)]
    count: usize,
    /// Print a JSON array: [{id, date, author, email, subject, cost_usd, models, units}].
    #[arg(long)]
    json: bool,
}

/// One row per commit, agent, model and unit, for spreadsheets and pipelines.
///
/// Every counted drain's model lines, charged to one commit each (as `agent-cost report`
/// does). Each (commit, agent, model) has a `USD` row holding its requests, tokens and
/// cost_usd, and one row more per other unit it was billed in (credits, premium-requests)
/// holding only that unit's amount, so that summing any column by unit never counts twice.
///
/// With `--otlp URL` the same spend is pushed as OpenTelemetry metrics instead, e.g. to an
/// OpenTelemetry Collector with `--otlp http://localhost:4318`; `--dry-run` prints the payload
/// without sending it (docs/otlp.md).
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A revision range, as git understands it (default: HEAD, i.e. all of its history).
    range: Option<String>,
    /// Print CSV (the default).
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print a JSON array of the same rows.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadOptions,
    /// Write FinOps FOCUS 1.2 cost and usage rows instead, for FinOps tools and warehouses
    /// (DuckDB, BigQuery, ClickHouse): one row per commit, agent, model and pricing unit, the
    /// commit's author date as the charge period (its UTC day; billing period: its UTC month),
    /// BilledCost in USD (summing it gives `trailers sum`'s USD total), credits and premium
    /// requests as PricingQuantity in their own PricingUnit, never as dollars; repository,
    /// commit, author, branch, pr, model, agent and type in Tags. See docs/focus.md.
    #[arg(long, conflicts_with_all = ["csv", "json", "otlp", "otlp_file"])]
    focus: bool,
    /// With --focus: the file format. Default: parquet when --output ends in .parquet, else
    /// csv. Parquet is never printed to a terminal: use --output or a redirect.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "focus")]
    format: Option<FocusFormat>,
    /// With --focus: write the file FILE (replacing it) instead of printing.
    #[arg(long, value_name = "FILE", requires = "focus")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    otlp: crate::commands::otlp::OtlpOptions,
}

fn open_history() -> Result<History, CommandError> {
    let cwd = std::env::current_dir().map_err(CommandError::from)?;
    History::discover(&cwd)
        .map_err(|e| CommandError::from_error(&e).hint("run this inside a git repository"))
}

/// `YYYY-MM-DD` (from the start of that UTC day, or to its end) or an RFC 3339 instant, as
/// seconds since the epoch.
pub fn instant(text: &str, flag: &str, end_of_day: bool) -> Result<i64, CommandError> {
    let bad = || {
        CommandError::msg(format!("{flag} `{text}` is not a date"))
            .hint("write a date as YYYY-MM-DD (UTC) or an instant as 2026-11-30T17:00:00Z")
    };
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    let date = if end_of_day {
        date.tomorrow().map_err(|_| bad())?
    } else {
        date
    };
    let seconds = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| bad())?
        .timestamp()
        .as_second();
    Ok(if end_of_day { seconds - 1 } else { seconds })
}

/// A row's USD cell: `0.300000`, `unpriced`, or `0.300000+unpriced`.
fn cost_cell(row: &Row) -> String {
    match (row.unpriced, row.cost == Money::ZERO) {
        (true, true) => "unpriced".to_string(),
        (true, false) => format!("{}+unpriced", row.cost.to_decimal()),
        (false, _) => row.cost.to_decimal(),
    }
}

/// Runs `agent-cost report`.
pub fn report(args: ReportArgs) -> CommandResult {
    let filter = Filter {
        since: args
            .since
            .as_deref()
            .map(|t| instant(t, "--since", false))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| instant(t, "--until", true))
            .transpose()?,
    };
    let keys = if args.by.is_empty() && args.read.scope.is_multi() {
        vec![Key::Repo]
    } else if args.by.is_empty() {
        vec![Key::Model]
    } else {
        args.by.clone()
    };
    let waste_rules = waste_rules(&args)?;
    let mut read = args.read.clone();
    // The dashboard shows no line counts: no diffs.
    read.no_lines |= args.html.is_some();
    let scoped = read.read(args.range.as_deref(), filter)?;
    let ledger = scoped.ledger;
    let table = ledger.table(&keys);
    let range = args.range.as_deref().unwrap_or("HEAD");
    if let Some(file) = &args.html {
        let web_urls = scoped
            .repositories
            .iter()
            .filter_map(|repository| {
                let remote = History::discover(std::path::Path::new(&repository.path))
                    .ok()?
                    .remote_url("origin")?;
                Some((repository.name.clone(), html::web_url(&remote)?))
            })
            .collect();
        return write_dashboard(file, range, &args, web_urls, &ledger, &table);
    }
    if args.json {
        let mut value = report_json(range, &args, &ledger, &table);
        if args.read.scope.is_multi() {
            value["repositories"] = json!(scoped.repositories);
            value["skipped"] = json!(scoped.skipped);
        }
        if args.pareto {
            value["pareto"] = pareto_json(&ledger);
        }
        if args.prs {
            value["prs"] = prs_json(&ledger, &ledger.merged_prs());
        }
        if args.waste {
            value["waste"] = waste_json(&ledger, &ledger.waste(waste_rules));
        }
        return print_json(&value);
    }
    if args.prs {
        print_prs(range, &ledger, &ledger.merged_prs())?;
        if args.pareto {
            print_pareto(&ledger)?;
        }
        if args.waste {
            print_waste(&ledger, &ledger.waste(waste_rules))?;
        }
        return Ok(());
    }
    let (header, rows) = report_cells(&table);
    if args.csv {
        return print_csv(&header, &rows);
    }
    if args.markdown {
        return output::stdout(format_args!("{}", markdown(&header, &rows)));
    }
    if args.read.scope.is_multi() {
        outln!(
            "{range} in {} repositories: {} commits, {} with AI cost",
            scoped.repositories.len(),
            ledger.commits.len(),
            table.total.commits
        )?;
    } else {
        outln!(
            "{range}: {} commits, {} with AI cost",
            ledger.commits.len(),
            table.total.commits
        )?;
    }
    if ledger.duplicate_blocks + ledger.replaced_blocks > 0 {
        outln!(
            "(not counted again: {} copies of drains already counted, {} drains replaced by an amended one)",
            ledger.duplicate_blocks,
            ledger.replaced_blocks
        )?;
    }
    if ledger.malformed_blocks > 0 {
        outln!(
            "(not counted: {} blocks that are not well formed: no id, no model lines, or lines that do not add up; see docs/trailers.md)",
            ledger.malformed_blocks
        )?;
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    output::stdout(format_args!(
        "{}",
        output::table(&header, keys.len(), &rows)
    ))?;
    if table.total.unpriced {
        outln!("note: some models have no known price; USD covers priced models only")?;
    }
    if args.pareto {
        print_pareto(&ledger)?;
    }
    if args.waste {
        print_waste(&ledger, &ledger.waste(waste_rules))?;
    }
    Ok(())
}

/// `--pareto` as text: for 50 % and 80 % of the spend, the fewest commits, pull requests and
/// authors holding it, the first five named.
fn print_pareto(ledger: &Ledger) -> CommandResult {
    for (what, items) in concentration(ledger) {
        for share in pareto(items) {
            outln!(
                "{}% of spend: {} of {} {what} ({}%): {}",
                share.percent,
                share.items,
                share.of,
                share.items_percent(),
                share
                    .top
                    .iter()
                    .take(5)
                    .map(|(label, cost)| format!("{label} ({})", cost.to_decimal()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    Ok(())
}

/// Writes the `--html` dashboard and says where.
fn write_dashboard(
    file: &std::path::Path,
    range: &str,
    args: &ReportArgs,
    web_urls: std::collections::BTreeMap<String, String>,
    ledger: &Ledger,
    table: &Table,
) -> CommandResult {
    let page = html::render(
        ledger,
        &html::Dashboard {
            range: range.to_string(),
            since: args.since.clone(),
            until: args.until.clone(),
            web_urls,
        },
    );
    std::fs::write(file, page).map_err(|e| {
        CommandError::msg(format!("cannot write {}: {e}", file.display()))
            .hint("give --html a file in a directory that exists and is writable")
    })?;
    outln!(
        "wrote {}: {range}, {} commits with AI cost, {} USD",
        file.display(),
        table.total.commits,
        cost_cell(&table.total)
    )
}

/// Other units as `3.5 credits, 12 premium-requests`.
fn units_text(units: &std::collections::BTreeMap<String, Money>) -> String {
    units
        .iter()
        .map(|(unit, amount)| format!("{} {unit}", amount.to_decimal_trimmed()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--prs` as text: the headline, then one row per ISO week of the merges and a total.
fn print_prs(range: &str, ledger: &Ledger, report: &PrReport) -> CommandResult {
    let merged = report.items.len();
    outln!(
        "{range}: {} commits, merged pull requests: {merged}",
        ledger.commits.len()
    )?;
    if merged == 0 {
        return outln!(
            "no merged pull request (a `Merge pull request #N` merge or a subject ending in (#N))"
        );
    }
    let unpriced = if report.unpriced() { "+unpriced" } else { "" };
    let units = report.units();
    let units = if units.is_empty() {
        String::new()
    } else {
        format!("; also {} (not in USD)", units_text(&units))
    };
    outln!(
        "cost per merged PR: {} USD (median {}); {}{unpriced} USD in all{units}",
        report.cost_per_pr().to_decimal(),
        report.median().to_decimal(),
        report.cost().to_decimal(),
    )?;
    let mut rows: Vec<Vec<String>> = report
        .weeks
        .iter()
        .map(|week| {
            vec![
                week.week.clone(),
                week.merged.to_string(),
                week.cost.to_decimal(),
                week.cost_per_pr().to_decimal(),
            ]
        })
        .collect();
    rows.push(vec![
        "total".to_string(),
        merged.to_string(),
        report.cost().to_decimal(),
        report.cost_per_pr().to_decimal(),
    ]);
    output::stdout(format_args!(
        "{}",
        output::table(&["week", "merged", "cost (USD)", "per PR"], 1, &rows)
    ))
}

fn usd_json(prefix: &str, money: Money) -> [(String, Value); 2] {
    [
        (format!("{prefix}_usd"), json!(money.to_decimal())),
        (
            format!("{prefix}_micro_usd"),
            json!(u64::try_from(money.micros()).unwrap_or(u64::MAX)),
        ),
    ]
}

fn units_json(units: &std::collections::BTreeMap<String, Money>) -> Value {
    units
        .iter()
        .map(|(unit, amount)| {
            json!({
                "unit": unit,
                "amount": amount.to_decimal_trimmed(),
                "amount_micro": u64::try_from(amount.micros()).unwrap_or(u64::MAX),
            })
        })
        .collect()
}

fn prs_json(ledger: &Ledger, report: &PrReport) -> Value {
    let object = |pairs: Vec<(String, Value)>| Value::Object(pairs.into_iter().collect());
    let weeks: Vec<Value> = report
        .weeks
        .iter()
        .map(|week| {
            let mut pairs = vec![
                ("week".to_string(), json!(week.week)),
                ("merged".to_string(), json!(week.merged)),
            ];
            pairs.extend(usd_json("cost", week.cost));
            pairs.extend(usd_json("cost_per_pr", week.cost_per_pr()));
            object(pairs)
        })
        .collect();
    let items: Vec<Value> = report
        .items
        .iter()
        .map(|pr| {
            let commit = &ledger.commits[pr.commit];
            let mut pairs = Vec::new();
            if ledger.is_multi_repo() {
                pairs.push(("repo".to_string(), json!(pr.repo)));
            }
            pairs.extend([
                ("pr".to_string(), json!(pr.number)),
                ("commit".to_string(), json!(commit.id)),
                ("subject".to_string(), json!(commit.subject)),
                ("merged".to_string(), json!(pr.merged.to_string())),
                ("commits".to_string(), json!(pr.commits)),
            ]);
            pairs.extend(usd_json("cost", pr.cost));
            pairs.push(("unpriced".to_string(), json!(pr.unpriced)));
            pairs.push(("units".to_string(), units_json(&pr.units)));
            object(pairs)
        })
        .collect();
    let mut pairs = vec![("merged".to_string(), json!(report.items.len()))];
    pairs.extend(usd_json("cost", report.cost()));
    pairs.extend(usd_json("cost_per_pr", report.cost_per_pr()));
    pairs.extend(usd_json("median", report.median()));
    pairs.push(("unpriced".to_string(), json!(report.unpriced())));
    pairs.push(("units".to_string(), units_json(&report.units())));
    pairs.push(("weeks".to_string(), Value::Array(weeks)));
    pairs.push(("items".to_string(), Value::Array(items)));
    object(pairs)
}

/// The waste rules: the flags, else the `[report]` table (of the user's settings and the
/// current repository's), else the defaults.
fn waste_rules(args: &ReportArgs) -> Result<WasteRules, CommandError> {
    if !args.waste {
        return Ok(WasteRules::default());
    }
    let cwd = std::env::current_dir().map_err(CommandError::from)?;
    let configured = report_config(&cwd)?.waste;
    let threshold = match &args.waste_threshold {
        None => configured.threshold,
        Some(text) => Money::parse_decimal(text).map_err(|_| {
            CommandError::msg(format!("--waste-threshold `{text}` is not an amount"))
                .hint("write USD as a decimal, e.g. --waste-threshold 0.50")
        })?,
    };
    Ok(WasteRules {
        threshold,
        max_lines: args.waste_lines.unwrap_or(configured.max_lines),
    })
}

fn print_waste(ledger: &Ledger, waste: &Waste) -> CommandResult {
    let rules = waste.rules;
    outln!()?;
    outln!(
        "Waste candidates (above {} USD; a fix, doc or config commit, or at most {} changed lines): {} commits, {} USD, {}% of spend",
        rules.threshold.to_decimal(),
        rules.max_lines,
        waste.candidates.len(),
        waste.candidates_share.cost.to_decimal(),
        waste.candidates_share.percent()
    )?;
    if !waste.candidates.is_empty() {
        let rows: Vec<Vec<String>> = waste
            .candidates
            .iter()
            .map(|candidate| {
                let commit = &ledger.commits[candidate.commit];
                let why: Vec<&str> = candidate.reasons.iter().map(|r| r.name()).collect();
                vec![
                    commit.id.chars().take(10).collect(),
                    commit.date().to_string(),
                    commit.kind.to_string(),
                    candidate.lines.to_string(),
                    candidate.cost.to_decimal(),
                    why.join("+"),
                    commit.subject.clone(),
                ]
            })
            .collect();
        output::stdout(format_args!(
            "{}",
            output::table(
                &[
                    "commit",
                    "date",
                    "type",
                    "lines",
                    "cost (USD)",
                    "why",
                    "subject"
                ],
                7,
                &rows
            )
        ))?;
    }
    outln!(
        "{}% of spend on changes of at most {} lines ({} commits, {} USD); {}% on fix, doc and config commits ({} commits, {} USD)",
        waste.small_changes.percent(),
        rules.max_lines,
        waste.small_changes.commits,
        waste.small_changes.cost.to_decimal(),
        waste.low_leverage.percent(),
        waste.low_leverage.commits,
        waste.low_leverage.cost.to_decimal()
    )
}

fn waste_json(ledger: &Ledger, waste: &Waste) -> Value {
    let share = |share: &agent_cost_report::SpendShare| {
        json!({
            "commits": share.commits,
            "cost_usd": share.cost.to_decimal(),
            "cost_micro_usd": share.cost.micros() as u64,
            "percent_of_spend": share.percent(),
        })
    };
    json!({
        "threshold_usd": waste.rules.threshold.to_decimal(),
        "max_lines": waste.rules.max_lines,
        "low_leverage_types": agent_cost_report::LOW_LEVERAGE_TYPES,
        "candidates": waste.candidates.iter().map(|candidate| {
            let commit = &ledger.commits[candidate.commit];
            json!({
                "repo": commit.repo,
                "id": commit.id,
                "date": commit.rfc3339(),
                "author": commit.author(),
                "subject": commit.subject,
                "type": commit.kind,
                "lines": candidate.lines,
                "cost_usd": candidate.cost.to_decimal(),
                "cost_micro_usd": candidate.cost.micros() as u64,
                "reasons": candidate.reasons.iter().map(|r| r.name()).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "candidates_total": share(&waste.candidates_share),
        "small_changes": share(&waste.small_changes),
        "low_leverage": share(&waste.low_leverage),
        "total_usd": waste.total.to_decimal(),
        "total_micro_usd": waste.total.micros() as u64,
    })
}

/// The items whose concentration `--pareto` shows: commits (`<short id> <subject>`), pull
/// requests (`#N`, commits without one left out) and authors, each with its USD.
fn concentration(ledger: &Ledger) -> Vec<(&'static str, Vec<(String, Money)>)> {
    let by_commit = ledger.cost_by_commit();
    let mut prs: std::collections::BTreeMap<String, Money> = Default::default();
    let mut authors: std::collections::BTreeMap<String, Money> = Default::default();
    let mut commits = Vec::new();
    // Across repositories, commits and pull requests are named with their repository's name.
    let repo_of = |repo: &str, separator: &str| {
        if ledger.is_multi_repo() {
            format!("{repo}{separator}")
        } else {
            String::new()
        }
    };
    for (&index, &cost) in &by_commit {
        let commit = &ledger.commits[index];
        commits.push((
            format!(
                "{}{} {}",
                repo_of(&commit.repo, " "),
                &commit.id[..7.min(commit.id.len())],
                commit.subject
            ),
            cost,
        ));
        if let Some(pr) = commit.pr {
            let entry = prs
                .entry(format!("{}#{pr}", repo_of(&commit.repo, "")))
                .or_default();
            *entry = Money(entry.0 + cost.0);
        }
        let entry = authors.entry(commit.author()).or_default();
        *entry = Money(entry.0 + cost.0);
    }
    vec![
        ("commits", commits),
        ("pull requests", prs.into_iter().collect()),
        ("authors", authors.into_iter().collect()),
    ]
}

fn pareto_json(ledger: &Ledger) -> Value {
    let mut out = serde_json::Map::new();
    for (what, items) in concentration(ledger) {
        let shares: Vec<Value> = pareto(items)
            .into_iter()
            .map(|share| {
                json!({
                    "percent_of_spend": share.percent,
                    "items": share.items,
                    "of": share.of,
                    "percent_of_items": share.items_percent(),
                    "top": share.top.iter().map(|(label, cost)| json!({
                        "item": label,
                        "cost_usd": cost.to_decimal(),
                        "cost_micro_usd": u64::try_from(cost.micros()).unwrap_or(u64::MAX),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        out.insert(what.replace(' ', "_"), Value::Array(shares));
    }
    Value::Object(out)
}

/// The header and cells of a report table, the total last (text, CSV and Markdown alike).
fn report_cells(table: &Table) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = table.keys.iter().map(|k| k.name().to_string()).collect();
    header.extend(["commits", "cost (USD)", "per commit"].map(String::from));
    if table.lines {
        header.extend(["added", "removed", "per line"].map(String::from));
    }
    header.extend(table.units.iter().cloned());
    header.extend(["requests", "input", "output", "cache-write", "cache-read"].map(String::from));
    let cells = |key: Vec<String>, row: &Row| {
        let mut cells = key;
        cells.push(row.commits.to_string());
        cells.push(cost_cell(row));
        cells.push(row.cost_per_commit().to_decimal());
        if table.lines {
            cells.push(row.lines_added.to_string());
            cells.push(row.lines_removed.to_string());
            cells.push(
                row.cost_per_line()
                    .map_or("-".to_string(), Money::to_decimal),
            );
        }
        for unit in &table.units {
            cells.push(
                row.units
                    .get(unit)
                    .map_or("0".to_string(), |a| a.to_decimal_trimmed()),
            );
        }
        cells.push(row.requests.to_string());
        for n in [
            row.tokens.input,
            row.tokens.output,
            row.tokens.cache_write,
            row.tokens.cache_read,
        ] {
            cells.push(n.to_string());
        }
        cells
    };
    let mut rows: Vec<Vec<String>> = table.rows.iter().map(|r| cells(r.key.clone(), r)).collect();
    let mut total_key = vec![String::new(); table.keys.len().max(1)];
    total_key[0] = "total".to_string();
    total_key.truncate(table.keys.len().max(1));
    rows.push(cells(total_key, &table.total));
    (header, rows)
}

fn markdown(header: &[String], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(header);
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

fn print_csv(header: &[String], rows: &[Vec<String>]) -> CommandResult {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = header
        .iter()
        .map(|h| match h.as_str() {
            "cost (USD)" => "cost_usd".to_string(),
            "per commit" => "cost_per_commit_usd".to_string(),
            "added" => "lines_added".to_string(),
            "removed" => "lines_removed".to_string(),
            "per line" => "cost_per_line_usd".to_string(),
            other => other.replace('-', "_"),
        })
        .collect();
    let mut write = |cells: &[String]| writer.write_record(cells).map_err(CommandError::msg);
    write(&header)?;
    for row in rows {
        write(row)?;
    }
    let bytes = writer.into_inner().map_err(CommandError::msg)?;
    output::stdout(format_args!("{}", String::from_utf8_lossy(&bytes)))
}

fn row_json(row: &Row, lines: bool) -> Value {
    let line_value = |n: u64| if lines { json!(n) } else { Value::Null };
    json!({
        "commits": row.commits,
        "cost_usd": row.cost.to_decimal(),
        "cost_micro_usd": row.cost.micros() as u64,
        "cost_per_commit_usd": row.cost_per_commit().to_decimal(),
        "unpriced": row.unpriced,
        "units": row.units.iter().map(|(unit, amount)| json!({
            "unit": unit,
            "amount": amount.to_decimal_trimmed(),
            "amount_micro": amount.micros() as u64,
        })).collect::<Vec<_>>(),
        "requests": row.requests,
        "tokens": row.tokens,
        "lines_added": line_value(row.lines_added),
        "lines_removed": line_value(row.lines_removed),
        "cost_per_line_usd": row.cost_per_line().filter(|_| lines).map(Money::to_decimal),
    })
}

fn report_json(range: &str, args: &ReportArgs, ledger: &Ledger, table: &Table) -> Value {
    let rows: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let mut value = row_json(row, table.lines);
            let key: serde_json::Map<String, Value> = table
                .keys
                .iter()
                .zip(&row.key)
                .map(|(k, v)| (k.name().to_string(), Value::String(v.clone())))
                .collect();
            value
                .as_object_mut()
                .map(|o| o.insert("key".to_string(), Value::Object(key)));
            value
        })
        .collect();
    json!({
        "range": range,
        "since": args.since,
        "until": args.until,
        "keys": table.keys.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "commits": ledger.commits.len(),
        "commits_with_cost": table.total.commits,
        "duplicate_blocks": ledger.duplicate_blocks,
        "replaced_blocks": ledger.replaced_blocks,
        "malformed_blocks": ledger.malformed_blocks,
        "rows": rows,
        "total": row_json(&table.total, table.lines),
    })
}

/// Distinct models of a commit's charges, in the order first charged.
fn models_of<'a>(charges: impl Iterator<Item = &'a Charge>) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for charge in charges {
        if !models.contains(&charge.model) {
            models.push(charge.model.clone());
        }
    }
    models
}

/// Runs `agent-cost tail`.
pub fn tail(args: TailArgs) -> CommandResult {
    let history = open_history()?;
    let cwd = std::env::current_dir().map_err(CommandError::from)?;
    let config = report_config(&cwd)?;
    let mut ledger = Ledger::read(&history, None, Filter::default(), &config)
        .map_err(|e| CommandError::from_error(&e))?;
    let costs = ledger.cost_by_commit();
    let mut order: Vec<usize> = (0..ledger.commits.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ledger.commits[i].commit_time));
    order.truncate(args.count);
    ledger
        .count_lines_of(&history, &order, |_, _| {})
        .map_err(|e| CommandError::from_error(&e))?;
    let lines_of = |i: usize| ledger.commits[i].lines.unwrap_or_default();
    let charges_of = |i: usize| ledger.charges.iter().filter(move |c| c.commit == i);
    if args.json {
        let rows: Vec<Value> = order
            .iter()
            .map(|&i| {
                let commit = &ledger.commits[i];
                let cost = costs.get(&i).copied().unwrap_or_default();
                let mut units: std::collections::BTreeMap<&str, Money> = Default::default();
                for charge in charges_of(i) {
                    for (unit, amount) in &charge.units {
                        let entry = units.entry(unit).or_default();
                        *entry = Money(entry.0 + amount.0);
                    }
                }
                json!({
                    "id": commit.id,
                    "date": commit.rfc3339(),
                    "author": commit.author_name,
                    "email": commit.author_email,
                    "subject": commit.subject,
                    "branch": commit.branch,
                    "lines_added": lines_of(i).added,
                    "lines_removed": lines_of(i).removed,
                    "cost_usd": cost.to_decimal(),
                    "cost_micro_usd": cost.micros() as u64,
                    "unpriced": charges_of(i).any(|c| c.cost.is_none()),
                    "models": models_of(charges_of(i)),
                    "units": units.iter().map(|(unit, amount)| json!({
                        "unit": unit, "amount": amount.to_decimal_trimmed()
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return print_json(&rows);
    }
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|&i| {
            let commit = &ledger.commits[i];
            let models = models_of(charges_of(i));
            vec![
                commit.id.chars().take(10).collect(),
                commit.date().to_string(),
                commit.author_name.clone(),
                if models.is_empty() {
                    "-".to_string()
                } else {
                    models.join(",")
                },
                commit.subject.clone(),
                format!("+{} -{}", lines_of(i).added, lines_of(i).removed),
                costs.get(&i).map_or("-".to_string(), |c| c.to_decimal()),
            ]
        })
        .collect();
    output::stdout(format_args!(
        "{}",
        output::table(
            &[
                "commit",
                "date",
                "author",
                "models",
                "subject",
                "lines",
                "cost (USD)"
            ],
            5,
            &rows
        )
    ))
}

/// The export's column names.
const EXPORT_COLUMNS: [&str; 23] = [
    "commit",
    "date",
    "author",
    "email",
    "subject",
    "type",
    "pr",
    "tickets",
    "agent",
    "model",
    "unit",
    "amount",
    "requests",
    "input",
    "output",
    "cache_write",
    "cache_read",
    "cost_usd",
    "unpriced",
    "lines_added",
    "lines_removed",
    "repo",
    "branch",
];

/// Runs `agent-cost export`.
pub fn export(args: ExportArgs) -> CommandResult {
    if args.otlp.wanted() {
        return crate::commands::otlp::export(&args.otlp, &args.read, args.range.as_deref());
    }
    let mut read = args.read.clone();
    // FOCUS rows have no line counts: no diffs.
    read.no_lines |= args.focus;
    let ledger = read.read(args.range.as_deref(), Filter::default())?.ledger;
    if args.focus {
        return export_focus::write(&ledger, args.format, args.output.as_ref());
    }
    // A commit's lines go on its first row only, so that summing the column counts them once.
    let mut lines_written = std::collections::HashSet::new();
    let mut lines_cells = |commit: usize| match ledger.commits[commit].lines {
        None => [String::new(), String::new()],
        Some(_) if !lines_written.insert(commit) => ["0".to_string(), "0".to_string()],
        Some(lines) => [lines.added.to_string(), lines.removed.to_string()],
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for charge in &ledger.charges {
        let commit = &ledger.commits[charge.commit];
        let head = vec![
            commit.id.clone(),
            commit.rfc3339(),
            commit.author_name.clone(),
            commit.author_email.clone(),
            commit.subject.clone(),
            charge.kind(commit).to_string(),
            commit.pr.map_or(String::new(), |n| n.to_string()),
            commit.tickets.join(" "),
            charge.agent.clone(),
            charge.model.clone(),
        ];
        let cost = charge.cost.unwrap_or_default().to_decimal();
        let mut usd = head.clone();
        usd.extend(["USD".to_string(), cost.clone(), charge.requests.to_string()]);
        usd.extend(charge.tokens.iter().map(u64::to_string));
        usd.extend([cost, charge.cost.is_none().to_string()]);
        usd.extend(lines_cells(charge.commit));
        usd.push(commit.repo.clone());
        usd.push(commit.branch.clone().unwrap_or_default());
        rows.push(usd);
        for (unit, amount) in &charge.units {
            let mut row = head.clone();
            row.extend([unit.clone(), amount.to_decimal_trimmed()]);
            row.extend(std::iter::repeat_n("0".to_string(), 5));
            row.extend([Money::ZERO.to_decimal(), "false".to_string()]);
            row.extend(lines_cells(charge.commit));
            row.push(commit.repo.clone());
            row.push(commit.branch.clone().unwrap_or_default());
            rows.push(row);
        }
    }
    if args.json {
        let values: Vec<Value> = rows
            .iter()
            .map(|row| {
                let object: serde_json::Map<String, Value> = EXPORT_COLUMNS
                    .iter()
                    .zip(row)
                    .map(|(column, cell)| {
                        let value = match *column {
                            "lines_added" | "lines_removed" if cell.is_empty() => Value::Null,
                            "requests" | "input" | "output" | "cache_write" | "cache_read"
                            | "lines_added" | "lines_removed" => {
                                json!(cell.parse::<u64>().unwrap_or(0))
                            }
                            "pr" | "branch" if cell.is_empty() => Value::Null,
                            "pr" => json!(cell.parse::<u64>().unwrap_or(0)),
                            "unpriced" => json!(cell == "true"),
                            "tickets" => json!(cell.split_whitespace().collect::<Vec<_>>()),
                            _ => json!(cell),
                        };
                        (column.to_string(), value)
                    })
                    .collect();
                Value::Object(object)
            })
            .collect();
        return print_json(&values);
    }
    let header: Vec<String> = EXPORT_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).map_err(CommandError::msg)?;
    for row in &rows {
        writer.write_record(row).map_err(CommandError::msg)?;
    }
    let bytes = writer.into_inner().map_err(CommandError::msg)?;
    output::stdout(format_args!("{}", String::from_utf8_lossy(&bytes)))
}
