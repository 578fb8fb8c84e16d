//! The pull-request comment (`agent-cost pr-comment`): what a range of commits cost, by agent
//! and model and by commit, its cost band label and where it stands against every budget, as
//! Markdown that starts with a hidden marker so that a bot edits one comment in place.

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_report::markdown::cell;
use agent_cost_report::{Ledger, Spend};

use crate::config::{BudgetConfig, usd_text};
use crate::verdict::{Level, Verdict, worst_per_budget};

/// The first line of every comment: an HTML comment, invisible on GitHub and GitLab, that a
/// bot looks for to find the comment it wrote before.
pub const MARKER: &str = "<!-- agent-cost:pr-comment -->";

/// Commits listed one by one; more are summed in one line.
pub const MAX_COMMIT_ROWS: usize = 100;

/// A rendered comment and what it says, for scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrComment {
    /// The Markdown, starting with [`MARKER`].
    pub markdown: String,
    /// The cost band label of the USD total.
    pub label: &'static str,
    /// Spend of the range in every unit.
    pub total: Spend,
    /// The highest level any budget reached.
    pub level: Level,
}

/// Renders the comment for `ledger`, the commits of `range`, with the budgets' `verdicts`
/// ([`crate::check()`]) and the budgets and cost bands of `config`.
pub fn pr_comment(
    ledger: &Ledger,
    range: &str,
    verdicts: &[Verdict],
    config: &BudgetConfig,
) -> PrComment {
    let bands = &config.bands;
    let mut total = Spend::default();
    let mut by_model: BTreeMap<(&str, &str), (u128, u128, Spend)> = BTreeMap::new();
    for charge in &ledger.charges {
        total.add_charge(charge);
        let row = by_model
            .entry((charge.agent.as_str(), charge.model.as_str()))
            .or_default();
        row.0 = row.0.saturating_add(u128::from(charge.requests));
        row.1 = row
            .1
            .saturating_add(charge.tokens.iter().map(|&t| u128::from(t)).sum::<u128>());
        row.2.add_charge(charge);
    }
    let by_commit = ledger.spend_by_commit();
    let label = bands.label(total.usd);
    let level = verdicts
        .iter()
        .map(|v| v.level)
        .max()
        .unwrap_or(Level::Within);

    let mut md = String::new();
    md.push_str(MARKER);
    md.push('\n');
    md.push_str(&format!(
        "### AI cost: {} USD `{label}`\n\n",
        usd_text(total.usd)
    ));
    md.push_str(&format!(
        "{} of {} commits in `{}` carry AI spend.",
        by_commit.len(),
        ledger.commits.len(),
        range.replace('`', "'")
    ));
    if !total.units.is_empty() {
        let units: Vec<String> = total
            .units
            .iter()
            .map(|(unit, amount)| format!("{} {unit}", amount.to_decimal_trimmed()))
            .collect();
        md.push_str(&format!(
            " Also billed: {} (never added to USD).",
            units.join(", ")
        ));
    }
    if total.unpriced > 0 {
        md.push_str(&format!(
            " {} model line(s) of unknown models are unpriced: the USD total leaves them out.",
            total.unpriced
        ));
    }
    md.push_str("\n\n");

    if !by_model.is_empty() {
        md.push_str("| Agent | Model | Requests | Tokens | USD |\n|---|---|--:|--:|--:|\n");
        let mut rows: Vec<_> = by_model.into_iter().collect();
        rows.sort_by(|a, b| b.1.2.usd.cmp(&a.1.2.usd).then(a.0.cmp(&b.0)));
        for ((agent, model), (requests, tokens, spend)) in rows {
            md.push_str(&format!(
                "| {} | {} | {requests} | {} | {} |\n",
                cell(agent),
                cell(model),
                thousands(tokens),
                usd_cell(&spend)
            ));
        }
        md.push('\n');

        md.push_str("<details><summary>Per commit</summary>\n\n");
        md.push_str("| Commit | Subject | Author | USD |\n|---|---|---|--:|\n");
        for (shown, (index, spend)) in by_commit.iter().enumerate() {
            if shown == MAX_COMMIT_ROWS {
                md.push_str(&format!(
                    "| … | {} more commits | | |\n",
                    by_commit.len() - MAX_COMMIT_ROWS
                ));
                break;
            }
            let commit = &ledger.commits[*index];
            let short: String = commit.id.chars().take(7).collect();
            md.push_str(&format!(
                "| `{short}` | {} | {} | {} |\n",
                cell(&commit.subject),
                cell(&commit.author_name),
                usd_cell(spend)
            ));
        }
        md.push_str("\n</details>\n\n");
    }

    md.push_str("**Budgets**");
    if config.budgets.is_empty() {
        md.push_str(": none set (`[budget.*]` in `agent-cost.toml`).\n");
    } else {
        md.push_str(
            "\n\n| Budget | Worst | Spent | Soft | Hard | Status |\n|---|---|--:|--:|--:|---|\n",
        );
        let worst = worst_per_budget(verdicts);
        for budget in &config.budgets {
            let unit = budget.unit;
            let level_text =
                |level: Option<Money>| level.map_or("–".to_string(), |m| unit.format(m));
            let verdict = worst
                .iter()
                .find(|v| &v.budget == budget)
                .filter(|v| v.spent > Money::ZERO);
            let (subject, spent, status) = match verdict {
                None => (
                    "–".to_string(),
                    unit.format(Money::ZERO),
                    "nothing spent".to_string(),
                ),
                Some(v) => (
                    cell(&v.subject),
                    unit.format(v.spent),
                    match v.level {
                        Level::Within => "within".to_string(),
                        level => {
                            format!("**over {}** by {}", level.name(), unit.format(v.over_by()))
                        }
                    },
                ),
            };
            md.push_str(&format!(
                "| {} ({}) | {subject} | {spent} | {} | {} | {status} |\n",
                budget.scope.describe(),
                origin_name(budget),
                level_text(budget.soft),
                level_text(budget.hard),
            ));
        }
    }
    md.push_str("\n<sub>agent-cost: estimates at list prices from the commits' AI-Cost trailers, each drain counted once.</sub>\n");
    PrComment {
        markdown: md,
        label,
        total,
        level,
    }
}

/// A budget's file name and line (the file's name only: paths differ between machines).
fn origin_name(budget: &crate::config::Budget) -> String {
    let name = budget.file.file_name().map_or_else(
        || budget.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!("{name}:{}", budget.line)
}

/// USD of a spend, with its other units after it: `1.20`, `0.00 + 3 credits`.
fn usd_cell(spend: &Spend) -> String {
    let mut text = usd_text(spend.usd);
    for (unit, amount) in &spend.units {
        text.push_str(&format!(" + {} {unit}", amount.to_decimal_trimmed()));
    }
    if spend.unpriced > 0 && spend.usd == Money::ZERO && spend.units.is_empty() {
        text = "unpriced".to_string();
    }
    text
}

fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
