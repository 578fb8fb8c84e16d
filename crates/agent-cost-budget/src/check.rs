//! Budgets checked against a range of history (`agent-cost check`, `pr-comment`): every
//! commit against the per-commit budgets, the whole range against the per-branch budgets,
//! each author's day and each repository's week and month against theirs.

use std::collections::BTreeMap;

use agent_cost_report::{Ledger, classify};

use crate::config::{BudgetConfig, Scope};
use agent_cost_report::Spend;

use crate::verdict::Verdict;

/// The spend of each group of a range a budget of `scope` adds up, with a subject for
/// people, in a stable order (commits in walk order, other groups sorted by key).
pub fn groups(ledger: &Ledger, scope: Scope, range: &str) -> Vec<(String, Spend)> {
    let mut by_commit: BTreeMap<usize, Spend> = BTreeMap::new();
    for charge in &ledger.charges {
        by_commit
            .entry(charge.commit)
            .or_default()
            .add_charge(charge);
    }
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
            for (index, spend) in by_commit {
                let commit = &ledger.commits[index];
                let date = commit.date();
                let key = match scope {
                    Scope::AuthorDay => {
                        format!("{} on {}", commit.author_email, classify::day_key(date))
                    }
                    Scope::RepoWeek => format!("{} in {}", commit.repo, classify::week_key(date)),
                    _ => format!("{} in {}", commit.repo, classify::month_key(date)),
                };
                grouped.entry(key).or_default().add(&spend);
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
/// verdict per budget and group, within or not, in budget order.
pub fn check(config: &BudgetConfig, ledger: &Ledger, range: &str) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for budget in &config.budgets {
        for (subject, spend) in groups(ledger, budget.scope, range) {
            verdicts.push(Verdict::new(budget, subject, budget.unit.of(&spend)));
        }
    }
    verdicts
}
