//! `agent-cost status`: what the next commit in this worktree will carry.

use std::time::Duration;

use agent_cost_budget::config::usd_text;
use agent_cost_git::{History, Worktree};
use agent_cost_hooks::drain::summarize;
use agent_cost_hooks::pricing::price_book_of;
use agent_cost_hooks::run::reconcile;
use agent_cost_hooks::settings::Settings;
use agent_cost_prices::PriceBook;
use agent_cost_store::{PendingGroup, Store};
use agent_cost_trailers::{Block, ModelLine, TokenTotals};
use serde::Serialize;

use crate::output::{
    self, CommandError, CommandResult, ModelRow, errln, model_table, outln, print_json,
};

/// Show the AI spend pending for the next commit in this worktree.
///
/// Reads new agent log lines first (unless --no-ingest), then shows what the next commit's
/// trailers would hold, spend from before tracking started (never charged), and spend that
/// ran outside any git repository (unattributed), and spend left by worktrees that were
/// removed with spend pending (orphaned).
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

/// Prices and sums pending spend the way a commit's trailer block would.
pub fn spend<'a>(groups: impl IntoIterator<Item = &'a PendingGroup>, book: &PriceBook) -> Spend {
    spend_of(summarize(groups, book).models)
}

/// [`spend`] of model lines already priced.
fn spend_of(models: Vec<ModelLine>) -> Spend {
    let block = Block::build(String::new(), models, &Default::default(), Vec::new());
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
    orphaned: Vec<OrphanedJson>,
    outstanding_drains: usize,
    hooks: HooksJson,
    watcher: WatcherJson,
    budgets: Vec<BudgetJson>,
    spike: Option<SpikeJson>,
}

/// One budget with the pending spend added to its period.
#[derive(Debug, Serialize)]
struct BudgetJson {
    scope: &'static str,
    unit: &'static str,
    soft: Option<String>,
    hard: Option<String>,
    file: String,
    line: usize,
    subject: String,
    spent: String,
    level: &'static str,
    over_by: String,
    #[serde(skip)]
    text: String,
}

/// Today's spend of the author against their usual day.
#[derive(Debug, Serialize)]
struct SpikeJson {
    author: String,
    today_usd: String,
    median_usd: String,
    days_with_spend: usize,
    #[serde(skip)]
    text: String,
}

/// Every budget with the pending spend added, and the author's spike, if today is one.
/// Problems reading the settings or history are warnings: status still shows the rest.
fn budgets(
    worktree: &Worktree,
    settings: &Settings,
    pending: &[ModelLine],
) -> (Vec<BudgetJson>, Option<SpikeJson>) {
    let config = match settings.budgets() {
        Ok(config) => config,
        Err(e) => {
            errln!("warning: budgets not shown: {e}");
            return (Vec::new(), None);
        }
    };
    let Ok(history) = History::of_worktree(&worktree.workdir, &worktree.git_dir) else {
        return (Vec::new(), None);
    };
    let report = settings.report();
    let today = agent_cost_budget::local_today();
    let recent =
        match agent_cost_budget::Recent::read(&history, &report, &config, today, true, None) {
            Ok(recent) => recent,
            Err(e) => {
                errln!("warning: budgets not shown: {e}");
                return (Vec::new(), None);
            }
        };
    let mut spend = agent_cost_budget::Spend::default();
    for line in pending {
        spend.add_model_line(line);
    }
    let unchecked: Vec<BudgetJson> = config
        .budgets
        .iter()
        .filter(|b| b.scope == agent_cost_budget::Scope::Branch && recent.branch.is_none())
        .map(|b| BudgetJson {
            scope: b.scope.key(),
            unit: b.unit.key(),
            soft: b.soft.map(|m| m.to_decimal()),
            hard: b.hard.map(|m| m.to_decimal()),
            file: b.file.display().to_string(),
            line: b.line,
            subject: String::new(),
            spent: "0.000000".to_string(),
            level: "unchecked",
            over_by: "0.000000".to_string(),
            text: format!(
                "not checked: the budget {} ({}): {}",
                b.scope.describe(),
                b.origin(),
                recent
                    .branch_unchecked
                    .as_deref()
                    .unwrap_or("no branch to add up")
            ),
        })
        .collect();
    let budgets = recent
        .verdicts(&config, &spend, &spend)
        .into_iter()
        .map(|mut v| {
            // The heading says the pending spend is included; no "this commit" here.
            v.added = None;
            let text = v.sentence();
            BudgetJson {
                scope: v.budget.scope.key(),
                unit: v.budget.unit.key(),
                soft: v.budget.soft.map(|m| m.to_decimal()),
                hard: v.budget.hard.map(|m| m.to_decimal()),
                file: v.budget.file.display().to_string(),
                line: v.budget.line,
                subject: v.subject.clone(),
                spent: v.spent.to_decimal(),
                level: v.level.name(),
                over_by: v.over_by().to_decimal(),
                text,
            }
        })
        .chain(unchecked)
        .collect();
    let spike = recent.spike(&spend).map(|(today_usd, median)| {
        let author = recent.author.clone().unwrap_or_default();
        let days = recent.author_daily.len();
        SpikeJson {
            text: format!(
                "{author} has spent {} USD today (pending included), more than {}x their median day of the last {} days ({} USD, over {days} days with spend): is an agent looping?",
                usd_text(today_usd),
                agent_cost_budget::recent::SPIKE_FACTOR,
                agent_cost_budget::recent::BASELINE_DAYS,
                usd_text(median),
            ),
            author,
            today_usd: today_usd.to_decimal(),
            median_usd: median.to_decimal(),
            days_with_spend: days,
        }
    });
    (budgets, spike)
}

/// Whether `agent-cost watch` runs for this state directory, and how far behind it is.
#[derive(Debug, Serialize)]
pub struct WatcherJson {
    /// True when a watcher holds the state directory.
    pub running: bool,
    /// Its process id.
    pub pid: Option<u32>,
    /// When it started.
    pub started: Option<String>,
    /// True when it has caught up with every change it saw.
    pub current: bool,
    /// How long the oldest change it has not caught up with has waited, in milliseconds.
    pub behind_ms: i64,
    /// When its last catch-up ended.
    pub caught_up: Option<String>,
    /// Its last catch-up's failure.
    pub last_error: Option<String>,
}

impl WatcherJson {
    /// The watcher of `state_dir`, as `status` and `doctor` report it.
    pub fn of(state_dir: &std::path::Path) -> WatcherJson {
        let running = agent_cost_watch::running(state_dir);
        let state = running.as_ref().and_then(|r| r.state.as_ref());
        WatcherJson {
            running: running.is_some(),
            pid: running.as_ref().map(|r| r.pid),
            started: running.as_ref().map(|r| r.started.clone()),
            current: running.as_ref().is_some_and(|r| r.is_current()),
            behind_ms: running
                .as_ref()
                .map_or(0, |r| r.behind_ms(agent_cost_store::time::now_millis())),
            caught_up: state
                .and_then(|s| s.caught_up_ms)
                .map(|ms| agent_cost_store::time::rfc3339_from_seconds(ms.div_euclid(1000))),
            last_error: state.and_then(|s| s.last_error.clone()),
        }
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        match (self.running, self.pid) {
            (false, _) => "watcher: not running (`agent-cost watch` keeps tallies current)".into(),
            (true, pid) => {
                let pid = pid.map_or_else(|| "?".to_string(), |p| p.to_string());
                if let Some(error) = &self.last_error {
                    format!("watcher: running (process {pid}), its last catch-up failed: {error}")
                } else if self.current {
                    format!("watcher: running (process {pid}), current")
                } else {
                    format!(
                        "watcher: running (process {pid}), {:.1} s behind",
                        self.behind_ms as f64 / 1000.0
                    )
                }
            }
        }
    }
}

/// Whether git runs agent-cost's hooks in this worktree (what `doctor` checks in detail).
#[derive(Debug, Serialize)]
struct HooksJson {
    /// True when every hook agent-cost needs runs it.
    running: bool,
    /// One line saying so, or what is wrong.
    summary: String,
    /// Commits made after the hooks last ran (their spend stays pending).
    commits_without_hooks: usize,
}

/// Pending spend of a worktree that was removed.
#[derive(Debug, Serialize)]
struct OrphanedJson {
    worktree: String,
    spend: Spend,
}

/// Runs the command.
pub fn run(args: StatusArgs) -> CommandResult {
    let worktree = Worktree::current().ok_or_else(|| {
        CommandError::msg("not inside a git working tree")
            .hint("cd into a repository to see its pending AI spend")
    })?;
    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    // A current watcher has read everything already.
    let watcher = WatcherJson::of(&locations.state_dir);
    if !args.no_ingest && !watcher.current {
        super::catch_up(&mut store, &locations)?;
    }
    let settings = Settings::read(&locations.config_file(), Some(&worktree.workdir));
    let (book, warnings) = price_book_of(&settings);
    for warning in warnings {
        errln!("warning: {warning}");
    }
    let tx = store.write()?;
    let worktree_id = tx.worktree_id(&worktree)?;
    if let Err(e) = tx.import_legacy_worktree(&worktree, worktree_id) {
        errln!("warning: {}: {e}", agent_cost_store::import::IMPORT_FAILED);
    }
    // Commits made since the last hook run carry drains not yet settled: settle them, so
    // pending is not overstated.
    if let Ok(history) = History::of_worktree(&worktree.workdir, &worktree.git_dir) {
        reconcile(&tx, worktree_id, &worktree, &history)?;
    }
    let tracking = tx.tracking(&worktree.common_dir.to_string_lossy())?;
    let pending = tx.pending(Some(worktree_id), tracking.as_ref().map(|t| t.since_ms))?;
    let unattributed = tx.pending(None, None)?;
    let orphaned = tx.orphaned(&worktree.common_dir.to_string_lossy())?;
    let outstanding = tx.outstanding(worktree_id)?.len();
    tx.commit()?;
    let warning = agent_cost_hooks::health::warn_once_about_commits_without_hooks(&worktree);
    let health = agent_cost_hooks::health::inspect(&worktree).ok();
    let hooks = HooksJson {
        running: health.as_ref().is_some_and(|h| h.all_run()),
        summary: health.as_ref().map_or_else(
            || "hooks: cannot tell (git did not say where hooks are)".to_string(),
            |h| h.summary(),
        ),
        commits_without_hooks: health.as_ref().map_or(0, |h| h.commits_without_hooks.len()),
    };
    let pending_models = summarize(&pending.groups, &book).models;
    let (budgets, spike) = budgets(&worktree, &settings, &pending_models);
    let report = StatusJson {
        worktree: worktree.workdir.display().to_string(),
        tracking_since: tracking.as_ref().map(|t| t.since.clone()),
        pending: spend_of(pending_models),
        before_tracking: spend(&pending.before_tracking, &book),
        unattributed: spend(&unattributed.groups, &book),
        orphaned: orphaned
            .iter()
            .map(|o| OrphanedJson {
                worktree: o.workdir.clone(),
                spend: spend(&o.groups, &book),
            })
            .collect(),
        outstanding_drains: outstanding,
        hooks,
        watcher,
        budgets,
        spike,
    };
    if let Some(warning) = warning {
        errln!("warning: {warning}");
    }
    if let Some(spike) = &report.spike {
        errln!("warning: {}", spike.text);
    }
    if args.json {
        return print_json(&report);
    }
    outln!("worktree: {}", report.worktree)?;
    match &report.tracking_since {
        Some(since) => outln!("tracking: charging spend since {since}")?,
        None => outln!(
            "tracking: hooks not installed; run `agent-cost install-hooks` to charge commits"
        )?,
    }
    if report.tracking_since.is_some() {
        if report.hooks.running {
            outln!("{}", report.hooks.summary)?;
        } else {
            outln!("{}; run `agent-cost doctor`", report.hooks.summary)?;
        }
    }
    if report.watcher.running {
        outln!("{}", report.watcher.summary())?;
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
    if !report.budgets.is_empty() {
        outln!("budgets, with the pending spend:")?;
        for budget in &report.budgets {
            outln!("  {}", budget.text)?;
        }
    }
    for orphan in &report.orphaned {
        print_spend(
            &format!(
                "orphaned (worktree {} was removed with spend pending)",
                orphan.worktree
            ),
            &orphan.spend,
        )?;
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
