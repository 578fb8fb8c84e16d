//! `agent-cost check` and `agent-cost pr-comment`: the budgets of `agent-cost-budget` checked
//! against a range of history, printed as text, JSON or a pull-request comment's Markdown.

use std::path::Path;

use agent_cost_budget::{
    BudgetConfig, Level, Owner, PrComment, Scope, Verdict, check, pr_comment, worst_per_budget,
};
use agent_cost_git::{ALL_REFS, History, Worktree};
use agent_cost_report::{Filter, Ledger};
use serde_json::{Value, json};

use crate::commands::report_scope::report_config;
use crate::output::{self, CommandError, CommandResult, outln, print_json};

/// Check a range of history against the budgets; exit 2 when a hard level is exceeded.
///
/// Budgets are set in the repository's agent-cost.toml (the team's) and in
/// $AGENT_COST_HOME/config.toml (yours); both are checked. Each has a soft level (warn) and/or
/// a hard level (fail), in USD unless unit = "credits" or "premium-requests":
///
///   [budget.commit]      # each commit of the range
///   soft = 0.50
///   hard = 5.00
///
///   [budget.branch]      # the whole range: a branch or pull request
///   hard = 50
///
///   [budget.author_day]  # each author's day the range adds spend to
///   soft = 20
///
///   [budget.repo_week]   # each ISO week of the repository the range adds spend to
///   soft = 100
///
///   [budget.repo_month]  # each calendar month of the repository the range adds spend to
///   hard = 1000
///   unit = "credits"
///
/// A day, week or month holds the repository's whole spend in it (commits on every branch,
/// by author date), not only the range's. A level is exceeded when the spend is above it
/// (exactly the budget is within it). Exit status: 0 within every budget, or only soft levels
/// exceeded (printed as warnings); 1 a soft level exceeded, with --strict; 2 a hard level
/// exceeded; 3 the check could not run (a bad range or argument, broken settings). In CI:
///
///   agent-cost check origin/main..HEAD
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CheckArgs {
    /// A revision range, as git understands it (default: HEAD, i.e. all of its history).
    range: Option<String>,
    /// Exit 1 when a soft level is exceeded (and no hard one).
    #[arg(long)]
    strict: bool,
    /// Check this repository instead of the current one (any directory inside it).
    #[arg(long, value_name = "PATH")]
    repo: Option<std::path::PathBuf>,
    /// Print one JSON object: level, exit_code, budgets [{scope, unit, soft, hard, …, worst}],
    /// exceeded [{scope, subject, spent, level, over_by}].
    #[arg(long)]
    json: bool,
}

/// The Markdown of a pull-request comment: what the range cost, its cost label and budgets.
///
/// Prints the total in USD (and in credits or premium requests, never added to USD), a table
/// per agent and model, one row per commit, the cost band label (cost:low below 2 USD,
/// cost:medium below 20 USD, cost:high from there; set them in [cost_band] with low and
/// medium) and where the range stands against every budget (see `agent-cost check`). The
/// first line is a hidden marker, <!-- agent-cost:pr-comment -->, so that a bot finds its
/// comment and edits it in place instead of adding one per push (docs/ci.md has a GitHub
/// Actions workflow and a GitLab CI job that do). Text from commits (subjects, names) is
/// escaped: it cannot add links, images or mentions. Always exits 0 when the range can be
/// read: use `check` to fail a build.
///
///   agent-cost pr-comment origin/main..HEAD > comment.md
///   agent-cost pr-comment origin/main..HEAD --json | jq -r .label
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct PrCommentArgs {
    /// A revision range, as git understands it (default: HEAD, i.e. all of its history).
    range: Option<String>,
    /// Read this repository instead of the current one (any directory inside it).
    #[arg(long, value_name = "PATH")]
    repo: Option<std::path::PathBuf>,
    /// Print one JSON object: marker, label, level, total_usd, total_micro_usd, units,
    /// markdown (the same text as without --json).
    #[arg(long)]
    json: bool,
}

/// `check`'s exit status when it could not check (clap's usage errors exit 2, which `check`
/// gives to a hard level exceeded: `cli` maps those to this too).
pub const CHECK_FAILED: u8 = 3;

/// The budgets of `$AGENT_COST_HOME/config.toml` (yours) and of the repository's
/// `agent-cost.toml` (the team's) for the repository at `path`.
pub fn budget_config(path: &Path) -> Result<BudgetConfig, CommandError> {
    let mut files = Vec::new();
    if let Ok(locations) = super::locations() {
        files.push((locations.config_file(), Owner::User));
    }
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(worktree) = Worktree::containing(&absolute) {
        files.push((worktree.workdir.join("agent-cost.toml"), Owner::Repository));
    }
    BudgetConfig::load(&files).map_err(|e| {
        CommandError::from_error(&e).hint("see docs/budgets.md for the [budget.*] tables")
    })
}

/// The range's ledger, the history around it for period budgets, and the budgets of the
/// repository at `repo` (default: the current directory).
struct Checked {
    ledger: Ledger,
    verdicts: Vec<Verdict>,
    config: BudgetConfig,
}

fn read_and_check(range: Option<&str>, repo: Option<&Path>) -> Result<Checked, CommandError> {
    let path = match repo {
        Some(path) => path.to_path_buf(),
        None => std::env::current_dir().map_err(CommandError::from)?,
    };
    let history = History::discover(&path).map_err(|e| {
        CommandError::from_error(&e)
            .hint("run this inside a git repository, or name one with --repo PATH")
    })?;
    let config = budget_config(&path)?;
    let report = report_config(&path)?;
    let read = |e: agent_cost_report::ReportError| {
        let hint = if history.head_time().is_none() {
            "this repository has no commits yet"
        } else {
            "give a range git understands, e.g. origin/main..HEAD"
        };
        CommandError::from_error(&e).hint(hint)
    };
    let mut ledger = Ledger::read(&history, range, Filter::default(), &report).map_err(read)?;
    ledger.set_repo(&history.name());
    let periods = config.budgets.iter().any(|b| {
        matches!(
            b.scope,
            Scope::AuthorDay | Scope::RepoWeek | Scope::RepoMonth
        )
    });
    let context = match agent_cost_budget::check::context_start(&ledger) {
        Some(since) if periods => {
            let mut context = Ledger::read_recent(
                &history,
                Some(ALL_REFS),
                since,
                None,
                Filter::default(),
                &report,
            )
            .map_err(read)?;
            context.set_repo(&history.name());
            Some(context)
        }
        _ => None,
    };
    let range = range.unwrap_or("HEAD");
    let verdicts = check(&config, &ledger, context.as_ref(), range);
    Ok(Checked {
        ledger,
        verdicts,
        config,
    })
}

/// `agent-cost check`.
pub fn run_check(args: CheckArgs) -> CommandResult {
    let range = args.range.as_deref().unwrap_or("HEAD");
    let Checked {
        ledger,
        verdicts,
        config,
    } = read_and_check(args.range.as_deref(), args.repo.as_deref()).map_err(|error| {
        CommandError {
            code: CHECK_FAILED,
            ..error
        }
    })?;
    let level = verdicts
        .iter()
        .map(|v| v.level)
        .max()
        .unwrap_or(Level::Within);
    let code: u8 = match level {
        Level::Hard => 2,
        Level::Soft if args.strict => 1,
        _ => 0,
    };
    if args.json {
        let budgets: Vec<Value> = config
            .budgets
            .iter()
            .map(|budget| {
                let worst = worst_per_budget(&verdicts)
                    .into_iter()
                    .find(|v| &v.budget == budget)
                    .map(verdict_json);
                json!({
                    "scope": budget.scope.key(),
                    "unit": budget.unit.key(),
                    "soft": budget.soft.map(|m| m.to_decimal()),
                    "hard": budget.hard.map(|m| m.to_decimal()),
                    "file": budget.file.display().to_string(),
                    "line": budget.line,
                    "owner": owner_name(budget.owner),
                    "worst": worst,
                })
            })
            .collect();
        let exceeded: Vec<Value> = verdicts
            .iter()
            .filter(|v| v.level != Level::Within)
            .map(verdict_json)
            .collect();
        print_json(&json!({
            "range": range,
            "level": level.name(),
            "exit_code": code,
            "commits": ledger.commits.len(),
            "budgets": budgets,
            "exceeded": exceeded,
        }))?;
    } else {
        print_check(range, &ledger, &config, &verdicts, level, code)?;
    }
    output::flush_stdout()?;
    if code == 0 {
        return Ok(());
    }
    Err(CommandError {
        message: String::new(),
        causes: Vec::new(),
        hint: None,
        code,
        quiet: true,
    })
}

fn print_check(
    range: &str,
    ledger: &Ledger,
    config: &BudgetConfig,
    verdicts: &[Verdict],
    level: Level,
    code: u8,
) -> CommandResult {
    if config.budgets.is_empty() {
        outln!("No budgets are set, so nothing can be exceeded.")?;
        outln!(
            "Set them in the repository's agent-cost.toml (the team's) or in $AGENT_COST_HOME/config.toml (yours), e.g.:"
        )?;
        outln!("  [budget.commit]\n  soft = 0.50\n  hard = 5.00")?;
        return Ok(());
    }
    let with_spend = {
        let mut charged: Vec<usize> = ledger.charges.iter().map(|c| c.commit).collect();
        charged.sort_unstable();
        charged.dedup();
        charged.len()
    };
    outln!(
        "Budgets over {range}: {}, {with_spend} with AI spend.",
        plural(ledger.commits.len(), "commit")
    )?;
    for verdict in verdicts.iter().filter(|v| v.level != Level::Within) {
        let tag = if verdict.level == Level::Hard {
            "HARD"
        } else {
            "soft"
        };
        outln!("  {tag}  {}", verdict.sentence())?;
    }
    for budget in &config.budgets {
        let worst = worst_per_budget(verdicts)
            .into_iter()
            .find(|v| &v.budget == budget);
        match worst {
            Some(v) if v.level != Level::Within => {}
            Some(v) if v.spent > agent_cost_report::Money::ZERO => outln!(
                "  ok    {} ({}): highest {} ({}){}",
                budget.scope.describe(),
                budget.origin(),
                budget.unit.format(v.spent),
                v.subject,
                v.levels_text()
            )?,
            _ => outln!(
                "  ok    {} ({}): nothing spent in the range",
                budget.scope.describe(),
                budget.origin()
            )?,
        }
    }
    let result = match level {
        Level::Within => "within every budget".to_string(),
        Level::Soft if code == 1 => "a soft level is exceeded (--strict: exit 1)".to_string(),
        Level::Soft => "a soft level is exceeded (a warning; --strict makes it exit 1)".to_string(),
        Level::Hard => "a hard level is exceeded (exit 2)".to_string(),
    };
    outln!("Result: {result}.")
}

/// `1 commit`, `3 commits`.
fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn owner_name(owner: Owner) -> &'static str {
    match owner {
        Owner::User => "user",
        Owner::Repository => "repository",
    }
}

fn verdict_json(verdict: &Verdict) -> Value {
    json!({
        "scope": verdict.budget.scope.key(),
        "unit": verdict.budget.unit.key(),
        "file": verdict.budget.file.display().to_string(),
        "line": verdict.budget.line,
        "subject": verdict.subject,
        "spent": verdict.spent.to_decimal(),
        "level": verdict.level.name(),
        "over_by": verdict.over_by().to_decimal(),
    })
}

/// `agent-cost pr-comment`.
pub fn run_pr_comment(args: PrCommentArgs) -> CommandResult {
    let range = args.range.as_deref().unwrap_or("HEAD");
    let Checked {
        ledger,
        verdicts,
        config,
    } = read_and_check(args.range.as_deref(), args.repo.as_deref())?;
    let comment = pr_comment(&ledger, range, &verdicts, &config);
    if args.json {
        return print_json(&comment_json(&comment));
    }
    output::stdout(format_args!("{}", comment.markdown))
}

fn comment_json(comment: &PrComment) -> Value {
    json!({
        "marker": agent_cost_budget::MARKER,
        "label": comment.label,
        "level": comment.level.name(),
        "total_usd": comment.total.usd.to_decimal(),
        "total_micro_usd": u64::try_from(comment.total.usd.micros()).unwrap_or(u64::MAX),
        "unpriced": comment.total.unpriced,
        "units": comment
            .total
            .units
            .iter()
            .map(|(unit, amount)| (unit.clone(), json!(amount.to_decimal())))
            .collect::<serde_json::Map<String, Value>>(),
        "markdown": comment.markdown,
    })
}
