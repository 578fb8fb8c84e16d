//! `agent-cost sessions`: one row per agent session with its cost, where that cost stands
//! (committed, pending, orphaned, unattributed, before tracking) and the commits it reached;
//! with `--summary`, the totals of each state per day, headed by the sessions that produced no
//! commit. The store reads and classifies the charges
//! ([`agent_cost_store::Tx::session_spend`]); this module prices them like pending spend
//! ([`agent_cost_hooks::drain::summarize`]) and prints them. See `docs/sessions.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agent_cost_events::Money;
use agent_cost_git::Worktree;
use agent_cost_hooks::drain::summarize;
use agent_cost_hooks::pricing::price_book;
use agent_cost_prices::PriceBook;
use agent_cost_store::time::rfc3339_from_seconds;
use agent_cost_store::{SessionFilter, SessionSpend, SpendState};
use agent_cost_trailers::{ModelLine, TokenTotals};
use serde::Serialize;

use crate::output::{self, CommandError, CommandResult, errln, outln, print_json};

/// List agent sessions with their cost and the commits they reached
///
/// One row per session (Claude Code, Codex, ... and manual entries): first and last request,
/// requests, tokens, cost, the worktrees it was charged to, the commits whose trailers carried
/// its spend, and its status:
///
///   committed         all its spend is in commits (apart from spend before tracking)
///   partly-committed  some in commits, some still pending, orphaned or unattributed
///   pending           none in a commit yet: waiting in a worktree's tally
///   orphaned          pending in a worktree that was removed (it will never be committed)
///   unattributed      it ran outside any git repository
///   before-tracking   all of it from before the repository's tracking start
///
/// Sorted by cost, highest first. By default only spend charged to this repository's
/// worktrees (linked and removed ones included); --all shows every session, unattributed
/// spend included. Costs are priced the way a commit's trailers would price them.
///
/// --summary totals each state (USD, requests, tokens, other units) and each day, and lists
/// first the sessions that produced no commit (pending, orphaned or unattributed): the first
/// place to look for spend that did not turn into work.
///
/// Examples:
///
///   agent-cost sessions                        # this repository's sessions, costliest first
///   agent-cost sessions --summary --since 2026-11-01
///   agent-cost sessions --all --agent codex --json
///   agent-cost sessions --csv > sessions.csv
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SessionsArgs {
    /// Only requests logged at or after DATE (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only requests logged before DATE (an instant), or through the end of DATE (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Only this agent's sessions (e.g. claude-code, codex).
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
    /// The repository whose spend to show [default: the current one].
    #[arg(long, value_name = "PATH", conflicts_with = "all")]
    repo: Option<PathBuf>,
    /// Every session of every repository, and unattributed spend.
    #[arg(long)]
    all: bool,
    /// Totals per state and per day, headed by the sessions that produced no commit.
    #[arg(long)]
    summary: bool,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV, one row per session.
    #[arg(long, conflicts_with = "summary")]
    csv: bool,
    /// Do not read new agent log lines first.
    #[arg(long)]
    no_ingest: bool,
}

/// An amount of spend: requests, tokens, USD (priced models only) and other units.
#[derive(Debug, Clone, Default)]
struct Amount {
    requests: u64,
    tokens: TokenTotals,
    cost: Money,
    unpriced: bool,
    units: BTreeMap<String, Money>,
}

impl Amount {
    fn add_line(&mut self, line: &ModelLine) {
        self.requests += line.requests;
        self.tokens.input += line.input;
        self.tokens.output += line.output;
        self.tokens.cache_write += line.cache_write;
        self.tokens.cache_read += line.cache_read;
        match line.cost {
            Some(cost) => self.cost = Money(self.cost.0 + cost.0),
            None => self.unpriced = true,
        }
        for quantity in &line.quantities {
            let unit = self.units.entry(quantity.unit.clone()).or_default();
            *unit = Money(unit.0 + quantity.amount.0);
        }
    }

    fn add(&mut self, other: &Amount) {
        self.requests += other.requests;
        self.tokens.input += other.tokens.input;
        self.tokens.output += other.tokens.output;
        self.tokens.cache_write += other.tokens.cache_write;
        self.tokens.cache_read += other.tokens.cache_read;
        self.cost = Money(self.cost.0 + other.cost.0);
        self.unpriced |= other.unpriced;
        for (unit, amount) in &other.units {
            let mine = self.units.entry(unit.clone()).or_default();
            *mine = Money(mine.0 + amount.0);
        }
    }

    fn total_tokens(&self) -> u64 {
        let t = &self.tokens;
        t.input + t.output + t.cache_write + t.cache_read
    }

    fn cost_text(&self) -> String {
        let unpriced = if self.unpriced { " (incomplete)" } else { "" };
        format!("{}{unpriced}", self.cost.to_decimal())
    }

    fn units_text(&self) -> String {
        self.units
            .iter()
            .map(|(unit, amount)| format!("{} {unit}", amount.to_decimal_trimmed()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn json(&self) -> AmountJson {
        AmountJson {
            requests: self.requests,
            tokens: self.tokens,
            cost_usd: self.cost.as_f64(),
            cost_usd_micros: u64::try_from(self.cost.micros()).unwrap_or(u64::MAX),
            incomplete: self.unpriced,
            units: self
                .units
                .iter()
                .map(|(unit, amount)| UnitJson {
                    unit: unit.clone(),
                    amount: amount.as_f64(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct AmountJson {
    requests: u64,
    tokens: TokenTotals,
    cost_usd: f64,
    /// The cost in whole micro-dollars (exact).
    cost_usd_micros: u64,
    /// True when some model is unpriced (its cost is not in `cost_usd`).
    incomplete: bool,
    /// Amounts in units other than USD (never added to `cost_usd`).
    units: Vec<UnitJson>,
}

#[derive(Debug, Serialize)]
struct UnitJson {
    unit: String,
    amount: f64,
}

/// One session, priced.
struct Row {
    agent: String,
    session: String,
    status: &'static str,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    worktrees: Vec<String>,
    commits: Vec<String>,
    total: Amount,
    states: BTreeMap<SpendState, Amount>,
    days: BTreeMap<String, BTreeMap<SpendState, Amount>>,
}

impl Row {
    fn new(session: SessionSpend, book: &PriceBook) -> Row {
        let mut total = Amount::default();
        let mut states: BTreeMap<SpendState, Amount> = BTreeMap::new();
        let mut days: BTreeMap<String, BTreeMap<SpendState, Amount>> = BTreeMap::new();
        for part in &session.parts {
            let mut amount = Amount::default();
            for line in &summarize(std::iter::once(&part.group), book).models {
                amount.add_line(line);
            }
            total.add(&amount);
            states.entry(part.state).or_default().add(&amount);
            let day = part.day.clone().unwrap_or_else(|| "unknown".to_string());
            days.entry(day)
                .or_default()
                .entry(part.state)
                .or_default()
                .add(&amount);
        }
        Row {
            status: status(&states),
            agent: session.agent,
            session: session.session,
            first_ms: session.first_ms,
            last_ms: session.last_ms,
            worktrees: session.worktrees,
            commits: session.commits,
            total,
            states,
            days,
        }
    }

    /// True when none of its spend reached a commit and some of it could have.
    fn produced_no_commit(&self) -> bool {
        matches!(self.status, "pending" | "orphaned" | "unattributed")
    }

    fn json(&self) -> SessionJson {
        SessionJson {
            agent: self.agent.clone(),
            session: self.session.clone(),
            status: self.status,
            first_request: self.first_ms.map(time_text),
            last_request: self.last_ms.map(time_text),
            amount: self.total.json(),
            worktrees: self.worktrees.clone(),
            commits: self.commits.clone(),
            states: self
                .states
                .iter()
                .map(|(state, amount)| StateJson {
                    state: state.as_str(),
                    sessions: None,
                    amount: amount.json(),
                })
                .collect(),
        }
    }
}

/// A session's status from the states its spend is in.
fn status(states: &BTreeMap<SpendState, Amount>) -> &'static str {
    let has = |state| states.contains_key(&state);
    let open =
        has(SpendState::Pending) || has(SpendState::Orphaned) || has(SpendState::Unattributed);
    if has(SpendState::Committed) {
        return if open {
            "partly-committed"
        } else {
            "committed"
        };
    }
    [
        SpendState::Pending,
        SpendState::Orphaned,
        SpendState::Unattributed,
        SpendState::BeforeTracking,
    ]
    .into_iter()
    .find(|s| has(*s))
    .map_or("committed", SpendState::as_str)
}

fn time_text(ms: i64) -> String {
    rfc3339_from_seconds(ms.div_euclid(1000))
}

#[derive(Debug, Serialize)]
struct SessionJson {
    agent: String,
    session: String,
    status: &'static str,
    first_request: Option<String>,
    last_request: Option<String>,
    #[serde(flatten)]
    amount: AmountJson,
    worktrees: Vec<String>,
    commits: Vec<String>,
    /// Its spend per state.
    states: Vec<StateJson>,
}

#[derive(Debug, Serialize)]
struct StateJson {
    state: &'static str,
    /// Sessions with spend in this state (summaries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    sessions: Option<usize>,
    #[serde(flatten)]
    amount: AmountJson,
}

#[derive(Debug, Serialize)]
struct Scope {
    /// `repository` or `all`.
    kind: &'static str,
    /// The repository's working tree (repository scope only).
    repository: Option<String>,
    agent: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

#[derive(Debug, Serialize)]
struct ListJson {
    scope: Scope,
    sessions: Vec<SessionJson>,
    total: AmountJson,
}

#[derive(Debug, Serialize)]
struct SummaryJson {
    scope: Scope,
    sessions: usize,
    /// Sessions none of whose spend reached a commit (pending, orphaned, unattributed).
    no_commit: NoCommitJson,
    /// Spend per state, every state listed.
    states: Vec<StateJson>,
    total: AmountJson,
    /// Spend per UTC day of the requests, and per state.
    days: Vec<DayJson>,
}

#[derive(Debug, Serialize)]
struct NoCommitJson {
    sessions: Vec<SessionJson>,
    #[serde(flatten)]
    amount: AmountJson,
}

#[derive(Debug, Serialize)]
struct DayJson {
    day: String,
    states: Vec<StateJson>,
    total: AmountJson,
}

/// Runs the command.
pub fn run(args: SessionsArgs) -> CommandResult {
    let since = args
        .since
        .as_deref()
        .map(|text| super::import::instant(text, "--since", false))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|text| super::import::instant(text, "--until", true))
        .transpose()?;
    let repository = if args.all {
        None
    } else {
        Some(repository(args.repo.as_deref())?)
    };
    let locations = super::locations()?;
    let mut store = super::current_store(&locations, args.no_ingest)?;
    let workdir = repository
        .as_ref()
        .map(|w| w.workdir.clone())
        .or_else(|| Worktree::current().map(|w| w.workdir));
    let (book, warnings) = price_book(&locations.config_file(), workdir.as_deref());
    for warning in warnings {
        errln!("warning: {warning}");
    }
    let filter = SessionFilter {
        common_dir: repository
            .as_ref()
            .map(|w| w.common_dir.to_string_lossy().into_owned()),
        agent: args.agent.clone(),
        since_ms: since.map(|t| t.as_millisecond()),
        until_ms: until.map(|t| t.as_millisecond()),
    };
    let spend = {
        let tx = store.read()?;
        tx.session_spend(&filter)?
    };
    let mut rows: Vec<Row> = spend.into_iter().map(|s| Row::new(s, &book)).collect();
    rows.sort_by(|a, b| {
        b.total
            .cost
            .cmp(&a.total.cost)
            .then(b.last_ms.cmp(&a.last_ms))
            .then(a.agent.cmp(&b.agent))
            .then(a.session.cmp(&b.session))
    });
    let scope = Scope {
        kind: if repository.is_some() {
            "repository"
        } else {
            "all"
        },
        repository: repository.map(|w| w.workdir.display().to_string()),
        agent: args.agent,
        since: since.map(|t| t.to_string()),
        until: until.map(|t| t.to_string()),
    };
    if args.summary {
        return summary(scope, &rows, args.json);
    }
    if args.csv {
        return csv(&rows);
    }
    let mut total = Amount::default();
    for row in &rows {
        total.add(&row.total);
    }
    if args.json {
        return print_json(&ListJson {
            scope,
            sessions: rows.iter().map(Row::json).collect(),
            total: total.json(),
        });
    }
    outln!("{}", scope_line(&scope, rows.len()))?;
    if rows.is_empty() {
        return Ok(());
    }
    output::stdout(format_args!(
        "{}",
        session_table(&rows.iter().collect::<Vec<_>>(), true)
    ))?;
    let units = total.units_text();
    outln!(
        "total: {} USD in {} requests{}",
        total.cost_text(),
        total.requests,
        if units.is_empty() {
            String::new()
        } else {
            format!(", and {units}")
        }
    )
}

/// The repository `--repo` names, or the current one.
fn repository(repo: Option<&Path>) -> Result<Worktree, CommandError> {
    super::repository(
        repo,
        "give the directory of a repository, or --all for every session",
        || {
            CommandError::msg("not inside a git working tree")
                .hint("cd into a repository, give --repo PATH, or --all for every session")
        },
    )
}

fn scope_line(scope: &Scope, sessions: usize) -> String {
    let mut line = match &scope.repository {
        Some(repo) => format!("sessions charged to {repo}"),
        None => "sessions of every repository, and unattributed".to_string(),
    };
    if let Some(agent) = &scope.agent {
        line.push_str(&format!(", agent {agent}"));
    }
    if let Some(since) = &scope.since {
        line.push_str(&format!(", since {since}"));
    }
    if let Some(until) = &scope.until {
        line.push_str(&format!(", until {until}"));
    }
    format!("{line}: {sessions}")
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn session_table(rows: &[&Row], full: bool) -> String {
    let units = rows.iter().any(|r| !r.total.units.is_empty());
    let mut header = vec!["cost (USD)", "status", "agent", "session"];
    if full {
        header.extend(["first request", "last request"]);
    } else {
        header.push("last request");
    }
    header.extend(["requests", "tokens"]);
    if units {
        header.push("other units");
    }
    header.push("worktrees");
    if full {
        header.push("commits");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.total.cost_text(),
                row.status.to_string(),
                row.agent.clone(),
                row.session.clone(),
            ];
            let when = |ms: Option<i64>| ms.map_or_else(|| "-".to_string(), time_text);
            if full {
                cells.push(when(row.first_ms));
            }
            cells.push(when(row.last_ms));
            cells.push(output::thousands(row.total.requests));
            cells.push(output::thousands(row.total.total_tokens()));
            if units {
                cells.push(row.total.units_text());
            }
            cells.push(if row.worktrees.is_empty() {
                "-".to_string()
            } else {
                row.worktrees.join(", ")
            });
            if full {
                cells.push(if row.commits.is_empty() {
                    "-".to_string()
                } else {
                    row.commits
                        .iter()
                        .map(|c| short(c))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
            }
            cells
        })
        .collect();
    // Amounts right-aligned, the rest left-aligned: pad the amounts here, and render every
    // column as text.
    let mut cells = cells;
    let numbers = if full { [0, 6, 7] } else { [0, 5, 6] };
    for column in numbers {
        let width = cells
            .iter()
            .map(|c| c[column].chars().count())
            .chain(std::iter::once(header[column].len()))
            .max()
            .unwrap_or(0);
        for row in &mut cells {
            row[column] = format!("{:>width$}", row[column]);
        }
    }
    let mut table = output::table(&header, header.len(), &cells);
    if !full {
        table = table
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>();
    }
    table
}

fn summary(scope: Scope, rows: &[Row], json: bool) -> CommandResult {
    let mut states: BTreeMap<SpendState, (usize, Amount)> = BTreeMap::new();
    let mut days: BTreeMap<String, BTreeMap<SpendState, Amount>> = BTreeMap::new();
    let mut total = Amount::default();
    for row in rows {
        total.add(&row.total);
        for (state, amount) in &row.states {
            let entry = states.entry(*state).or_default();
            entry.0 += 1;
            entry.1.add(amount);
        }
        for (day, by_state) in &row.days {
            for (state, amount) in by_state {
                days.entry(day.clone())
                    .or_default()
                    .entry(*state)
                    .or_default()
                    .add(amount);
            }
        }
    }
    let no_commit: Vec<&Row> = rows.iter().filter(|r| r.produced_no_commit()).collect();
    let mut wasted = Amount::default();
    for row in &no_commit {
        wasted.add(&row.total);
    }
    let state_amount = |state: SpendState| states.get(&state).cloned().unwrap_or_default();
    if json {
        return print_json(&SummaryJson {
            scope,
            sessions: rows.len(),
            no_commit: NoCommitJson {
                sessions: no_commit.iter().map(|r| r.json()).collect(),
                amount: wasted.json(),
            },
            states: SpendState::ALL
                .iter()
                .map(|state| {
                    let (sessions, amount) = state_amount(*state);
                    StateJson {
                        state: state.as_str(),
                        sessions: Some(sessions),
                        amount: amount.json(),
                    }
                })
                .collect(),
            total: total.json(),
            days: days
                .iter()
                .map(|(day, by_state)| {
                    let mut day_total = Amount::default();
                    for amount in by_state.values() {
                        day_total.add(amount);
                    }
                    DayJson {
                        day: day.clone(),
                        states: SpendState::ALL
                            .iter()
                            .map(|state| StateJson {
                                state: state.as_str(),
                                sessions: None,
                                amount: by_state.get(state).cloned().unwrap_or_default().json(),
                            })
                            .collect(),
                        total: day_total.json(),
                    }
                })
                .collect(),
        });
    }
    outln!("{}", scope_line(&scope, rows.len()))?;
    outln!(
        "sessions that produced no commit: {} of {}, {} USD in {} requests",
        no_commit.len(),
        rows.len(),
        wasted.cost_text(),
        wasted.requests
    )?;
    if !no_commit.is_empty() {
        output::stdout(format_args!("{}", session_table(&no_commit, false)))?;
    }
    outln!()?;
    outln!("spend by where it stands:")?;
    let units = total.units.keys().cloned().collect::<Vec<_>>();
    let mut header = vec!["  state", "sessions", "requests", "tokens", "cost (USD)"];
    header.extend(units.iter().map(String::as_str));
    let state_cells = |name: String, sessions: String, amount: &Amount| {
        let mut cells = vec![
            name,
            sessions,
            output::thousands(amount.requests),
            output::thousands(amount.total_tokens()),
            amount.cost_text(),
        ];
        cells.extend(units.iter().map(|unit| {
            amount
                .units
                .get(unit)
                .map_or_else(|| "0".to_string(), |a| a.to_decimal_trimmed())
        }));
        cells
    };
    let mut cells: Vec<Vec<String>> = SpendState::ALL
        .iter()
        .map(|state| {
            let (sessions, amount) = state_amount(*state);
            state_cells(
                format!("  {}", state.as_str()),
                sessions.to_string(),
                &amount,
            )
        })
        .collect();
    cells.push(state_cells(
        "  total".to_string(),
        rows.len().to_string(),
        &total,
    ));
    output::stdout(format_args!("{}", output::table(&header, 1, &cells)))?;
    if days.is_empty() {
        return Ok(());
    }
    outln!()?;
    outln!("by day (UTC), USD:")?;
    let mut header = vec!["  day"];
    header.extend(SpendState::ALL.iter().map(|s| s.as_str()));
    header.push("total");
    let cells: Vec<Vec<String>> = days
        .iter()
        .map(|(day, by_state)| {
            let mut day_total = Amount::default();
            let mut cells = vec![format!("  {day}")];
            for state in SpendState::ALL {
                let amount = by_state.get(&state).cloned().unwrap_or_default();
                day_total.add(&amount);
                cells.push(amount.cost_text());
            }
            cells.push(day_total.cost_text());
            cells
        })
        .collect();
    output::stdout(format_args!("{}", output::table(&header, 1, &cells)))
}

/// One CSV row per session (RFC 4180, through the `csv` crate).
fn csv(rows: &[Row]) -> CommandResult {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| CommandError::msg(format!("cannot write CSV: {e}"));
    writer
        .write_record([
            "agent",
            "session",
            "status",
            "first_request",
            "last_request",
            "requests",
            "input",
            "output",
            "cache_write",
            "cache_read",
            "cost_usd",
            "incomplete",
            "units",
            "worktrees",
            "commits",
        ])
        .map_err(failed)?;
    for row in rows {
        let t = &row.total.tokens;
        let units = row
            .total
            .units
            .iter()
            .map(|(unit, amount)| format!("{unit}={}", amount.to_decimal_trimmed()))
            .collect::<Vec<_>>()
            .join(" ");
        writer
            .write_record([
                row.agent.clone(),
                row.session.clone(),
                row.status.to_string(),
                row.first_ms.map(time_text).unwrap_or_default(),
                row.last_ms.map(time_text).unwrap_or_default(),
                row.total.requests.to_string(),
                t.input.to_string(),
                t.output.to_string(),
                t.cache_write.to_string(),
                t.cache_read.to_string(),
                row.total.cost.to_decimal(),
                row.total.unpriced.to_string(),
                units,
                row.worktrees.join(" "),
                row.commits.join(" "),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CommandError::msg(format!("cannot write CSV: {e}")))?;
    output::stdout(format_args!("{}", String::from_utf8_lossy(&bytes)))
}
