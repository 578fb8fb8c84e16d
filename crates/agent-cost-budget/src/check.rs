//! Budgets checked against a range of history (`agent-cost check`, `pr-comment`): every
//! commit of the range against the per-commit budgets, the whole range against the per-branch
//! budgets, and each author's day and each repository's week and month that the range adds
//! spend to against theirs. Those periods hold the repository's whole spend in them, not only
//! the range's: a pull request that pushes this week over its budget is over it even if the
//! rest of the week's spend was merged before.

use std::collections::{BTreeMap, HashSet};

use agent_cost_report::{Ledger, Spend, classify};

use crate::config::{BudgetConfig, Scope};
use crate::verdict::Verdict;

/// The key of the period of a commit a budget of a period scope adds up: `dana@example.com on
/// 2026-12-01` (emails compared in lower case), `shop in 2026-W49`, `shop in 2026-12`.
fn period_key(scope: Scope, commit: &agent_cost_report::CommitInfo) -> String {
    let date = commit.date();
    match scope {
        Scope::AuthorDay => format!(
            "{} on {}",
            commit.author_email.to_lowercase(),
            classify::day_key(date)
        ),
        Scope::RepoWeek => format!("{} in {}", commit.repo, classify::week_key(date)),
        _ => format!("{} in {}", commit.repo, classify::month_key(date)),
    }
}

/// The spend of each group of a range a budget of `scope` adds up, with a subject for
/// people, in a stable order (commits in walk order, other groups sorted by key). For a
/// period scope, `context` (the repository's history around the range, see [`check`]) adds
/// the spend of the range's periods outside the range.
pub fn groups(
    ledger: &Ledger,
    context: Option<&Ledger>,
    scope: Scope,
    range: &str,
) -> Vec<(String, Spend)> {
    let by_commit = ledger.spend_by_commit();
    match scope {
        Scope::Commit => by_commit
            .into_iter()
            .map(|(index, spend)| {
                let commit = &ledger.commits[index];
                (commit_subject(&commit.id, &commit.subject), spend)
            })
            .collect(),
        Scope::Branch => {
            let mut total = Spend::default();
            for spend in by_commit.values() {
                total.add(spend);
            }
            vec![(format!("the range {range}"), total)]
        }
        Scope::AuthorDay | Scope::RepoWeek | Scope::RepoMonth => {
            let mut grouped: BTreeMap<String, Spend> = BTreeMap::new();
            for (index, spend) in &by_commit {
                let key = period_key(scope, &ledger.commits[*index]);
                grouped.entry(key).or_default().add(spend);
            }
            if let Some(context) = context {
                let in_range: HashSet<&str> =
                    ledger.commits.iter().map(|c| c.id.as_str()).collect();
                for (index, spend) in context.spend_by_commit() {
                    let commit = &context.commits[index];
                    if in_range.contains(commit.id.as_str()) {
                        continue;
                    }
                    // Only the periods the range adds spend to.
                    if let Some(total) = grouped.get_mut(&period_key(scope, commit)) {
                        total.add(&spend);
                    }
                }
            }
            grouped.into_iter().collect()
        }
    }
}

/// `commit 1a2b3c4 "Add cart total"` (the subject cut at 50 characters).
pub fn commit_subject(id: &str, subject: &str) -> String {
    let short: String = id.chars().take(7).collect();
    let mut text: String = subject.chars().take(50).collect();
    if subject.chars().count() > 50 {
        text.push('…');
    }
    format!("commit {short} \"{text}\"")
}

/// Every budget of `config` against every group of `ledger` (the commits of `range`): one
/// verdict per budget and group, within or not, in budget order. `context` is the
/// repository's history covering the range's periods (every branch, from the earliest period
/// start on), whose other commits' spend counts towards the per-author-day, per-week and
/// per-month budgets of the periods the range touches.
pub fn check(
    config: &BudgetConfig,
    ledger: &Ledger,
    context: Option<&Ledger>,
    range: &str,
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for budget in &config.budgets {
        for (subject, spend) in groups(ledger, context, budget.scope, range) {
            verdicts.push(Verdict::new(budget, subject, budget.unit.of(&spend)));
        }
    }
    verdicts
}

/// The earliest start of a period of the range's commits with spend (the first day of the
/// month or ISO week of the oldest), as seconds since the epoch in UTC, two days early for
/// authors in other time zones: where the context [`check`] needs begins. `None` when the
/// range has no spend.
pub fn context_start(ledger: &Ledger) -> Option<i64> {
    let oldest = ledger
        .spend_by_commit()
        .keys()
        .map(|&index| ledger.commits[index].date())
        .min()?;
    Some(cutoff(periods_start(oldest)))
}

/// The first day of `date`'s ISO week or of its month, whichever is earlier: where the weeks
/// and months holding `date` begin.
pub(crate) fn periods_start(date: jiff::civil::Date) -> jiff::civil::Date {
    let monday = date
        .checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
        .unwrap_or(date);
    monday.min(date.first_of_month())
}

/// Seconds since the epoch two days before `date` began in UTC: a committer-time cut-off that
/// no commit of that date falls behind, whatever its author's time zone.
pub(crate) fn cutoff(date: jiff::civil::Date) -> i64 {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(i64::MIN, |z| z.timestamp().as_second() - 2 * 86_400)
}
