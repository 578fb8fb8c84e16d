//! `agent-cost report`, `agent-cost tail` and `agent-cost export`: the per-key tables, recent
//! commits and per-commit rows of `agent-cost-report`, printed as text, JSON, CSV or Markdown.

use agent_cost_git::History;
use agent_cost_report::{Charge, Filter, Key, Ledger, Money, Row, Table, pareto};
use serde_json::{Value, json};

use crate::output::{self, CommandError, CommandResult, outln, print_json};

/// Spend in history by agent, model, author, type, pull request, ticket, date or unit.
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
/// `… (#N)` subjects), ticket ([A-Z]+-\d+ in the message), day, week (ISO), month (author
/// date, the author's own offset), unit. Lines added and removed are those of the row's
/// commits against their first parent (merges: none, as `git log --numstat`), and cost per
/// line is USD over lines added plus removed. Examples:
///
///   agent-cost report                          # by model (the default key)
///   agent-cost report main..HEAD --by author
///   agent-cost report --since 2026-11-01 --by week --by type --csv
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
    /// Group by KEY (repeatable): agent, model, author, type, pr, ticket, day, week, month, unit.
    #[arg(long = "by", value_name = "KEY")]
    by: Vec<Key>,
    /// Do not count the lines each commit changed (faster: no diffs).
    #[arg(long)]
    no_lines: bool,
    /// Show progress on stderr while reading (only when stderr is a terminal).
    #[arg(long)]
    progress: bool,
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
}

fn open_history() -> Result<History, CommandError> {
    let cwd = std::env::current_dir().map_err(CommandError::from)?;
    History::discover(&cwd)
        .map_err(|e| CommandError::from_error(&e).hint("run this inside a git repository"))
}

fn read(spec: Option<&str>, filter: Filter) -> Result<Ledger, CommandError> {
    Ledger::read(&open_history()?, spec, filter).map_err(|e| CommandError::from_error(&e))
}

/// A spinner on stderr when `wanted` and stderr is a terminal (never in pipes or files).
fn progress_bar(wanted: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message("reading history");
    Some(bar)
}

/// `YYYY-MM-DD` (from the start of that UTC day, or to its end) or an RFC 3339 instant, as
/// seconds since the epoch.
fn instant(text: &str, flag: &str, end_of_day: bool) -> Result<i64, CommandError> {
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

/// An amount in a unit other than USD, as trailers write it: `12`, `3.5`.
fn unit_amount(amount: Money) -> String {
    let text = amount.to_decimal();
    text.trim_end_matches('0').trim_end_matches('.').to_string()
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
    let keys = if args.by.is_empty() {
        vec![Key::Model]
    } else {
        args.by.clone()
    };
    let history = open_history()?;
    let bar = progress_bar(args.progress);
    let mut ledger = Ledger::read_with_progress(&history, args.range.as_deref(), filter, |n| {
        if let Some(bar) = &bar
            && n % 256 == 0
        {
            bar.set_message(format!("{n} commits read"));
            bar.tick();
        }
    })
    .map_err(|e| CommandError::from_error(&e))?;
    if !args.no_lines {
        ledger
            .count_lines(&history, |done, total| {
                if let Some(bar) = &bar {
                    bar.set_message(format!("lines of {done}/{total} commits with AI cost"));
                    bar.tick();
                }
            })
            .map_err(|e| CommandError::from_error(&e))?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let table = ledger.table(&keys);
    let range = args.range.as_deref().unwrap_or("HEAD");
    if args.json {
        let mut value = report_json(range, &args, &ledger, &table);
        if args.pareto {
            value["pareto"] = pareto_json(&ledger);
        }
        return print_json(&value);
    }
    let (header, rows) = report_cells(&table);
    if args.csv {
        return print_csv(&header, &rows);
    }
    if args.markdown {
        return output::stdout(format_args!("{}", markdown(&header, &rows)));
    }
    outln!(
        "{range}: {} commits, {} with AI cost",
        ledger.commits.len(),
        table.total.commits
    )?;
    if ledger.duplicate_blocks + ledger.replaced_blocks > 0 {
        outln!(
            "(not counted again: {} copies of drains already counted, {} drains replaced by an amended one)",
            ledger.duplicate_blocks,
            ledger.replaced_blocks
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
        for (what, items) in concentration(&ledger) {
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
    }
    Ok(())
}

/// The items whose concentration `--pareto` shows: commits (`<short id> <subject>`), pull
/// requests (`#N`, commits without one left out) and authors, each with its USD.
fn concentration(ledger: &Ledger) -> Vec<(&'static str, Vec<(String, Money)>)> {
    let by_commit = ledger.cost_by_commit();
    let mut prs: std::collections::BTreeMap<String, Money> = Default::default();
    let mut authors: std::collections::BTreeMap<String, Money> = Default::default();
    let mut commits = Vec::new();
    for (&index, &cost) in &by_commit {
        let commit = &ledger.commits[index];
        commits.push((
            format!(
                "{} {}",
                &commit.id[..7.min(commit.id.len())],
                commit.subject
            ),
            cost,
        ));
        if let Some(pr) = commit.pr {
            let entry = prs.entry(format!("#{pr}")).or_default();
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
                    .map_or("0".to_string(), |a| unit_amount(*a)),
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
            "amount": unit_amount(*amount),
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
    let ledger = read(None, Filter::default())?;
    let costs = ledger.cost_by_commit();
    let mut order: Vec<usize> = (0..ledger.commits.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ledger.commits[i].commit_time));
    order.truncate(args.count);
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
                    "cost_usd": cost.to_decimal(),
                    "cost_micro_usd": cost.micros() as u64,
                    "unpriced": charges_of(i).any(|c| c.cost.is_none()),
                    "models": models_of(charges_of(i)),
                    "units": units.iter().map(|(unit, amount)| json!({
                        "unit": unit, "amount": unit_amount(*amount)
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
                "cost (USD)"
            ],
            5,
            &rows
        )
    ))
}

/// The export's column names.
const EXPORT_COLUMNS: [&str; 19] = [
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
];

/// Runs `agent-cost export`.
pub fn export(args: ExportArgs) -> CommandResult {
    let ledger = read(args.range.as_deref(), Filter::default())?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for charge in &ledger.charges {
        let commit = &ledger.commits[charge.commit];
        let head = vec![
            commit.id.clone(),
            commit.rfc3339(),
            commit.author_name.clone(),
            commit.author_email.clone(),
            commit.subject.clone(),
            commit.kind.to_string(),
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
        rows.push(usd);
        for (unit, amount) in &charge.units {
            let mut row = head.clone();
            row.extend([unit.clone(), unit_amount(*amount)]);
            row.extend(std::iter::repeat_n("0".to_string(), 5));
            row.extend([Money::ZERO.to_decimal(), "false".to_string()]);
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
                            "requests" | "input" | "output" | "cache_write" | "cache_read" => {
                                json!(cell.parse::<u64>().unwrap_or(0))
                            }
                            "pr" if cell.is_empty() => Value::Null,
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
