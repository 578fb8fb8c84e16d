//! Cost per merged pull request: each pull request of a ledger with its merge commit, merge
//! date, commits and spend, the cost per merged pull request and its median, and the same per
//! ISO week of the merge date.

use std::collections::{BTreeMap, HashMap};

use agent_cost_events::{Money, PICOS_PER_MICRO};

use crate::classify;
use crate::ledger::Ledger;

/// One merged pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPr {
    /// The repository's name ([`crate::CommitInfo::repo`]): numbers are per repository.
    pub repo: String,
    /// The pull request number.
    pub number: u64,
    /// Index in [`Ledger::commits`] of its merge or squash commit: the newest commit of the
    /// walk with this pull request.
    pub commit: usize,
    /// The author date of that commit, in its author's offset.
    pub merged: jiff::civil::Date,
    /// Commits of the walk with this pull request (the merge commit included).
    pub commits: u64,
    /// USD charged to those commits.
    pub cost: Money,
    /// True when one of the charges has no USD price (`cost` is then a lower bound).
    pub unpriced: bool,
    /// Amounts in units other than USD, by unit (never part of `cost`).
    pub units: BTreeMap<String, Money>,
}

/// The pull requests merged in one ISO week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrWeek {
    /// `2026-W49`.
    pub week: String,
    /// Pull requests merged that week.
    pub merged: u64,
    /// Their summed USD.
    pub cost: Money,
}

impl PrWeek {
    /// USD per pull request merged that week, rounded half up to micro-dollars.
    pub fn cost_per_pr(&self) -> Money {
        per(self.cost, self.merged)
    }
}

/// Every merged pull request of a ledger, newest merge first, and the weeks they were merged
/// in, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrReport {
    /// Newest merge first (walk order of the merge commits).
    pub items: Vec<MergedPr>,
    /// ISO weeks of the merge dates, oldest first; weeks without a merge are absent.
    pub weeks: Vec<PrWeek>,
}

impl PrReport {
    /// The summed USD of all merged pull requests.
    pub fn cost(&self) -> Money {
        self.items.iter().map(|pr| pr.cost).sum()
    }

    /// True when one of the pull requests has an unpriced charge.
    pub fn unpriced(&self) -> bool {
        self.items.iter().any(|pr| pr.unpriced)
    }

    /// Other units summed over all pull requests.
    pub fn units(&self) -> BTreeMap<String, Money> {
        let mut units: BTreeMap<String, Money> = BTreeMap::new();
        for pr in &self.items {
            for (unit, amount) in &pr.units {
                *units.entry(unit.clone()).or_default() += *amount;
            }
        }
        units
    }

    /// Total USD ÷ merged pull requests, rounded half up to micro-dollars (zero without any).
    pub fn cost_per_pr(&self) -> Money {
        per(self.cost(), self.items.len() as u64)
    }

    /// The median USD of a merged pull request; with an even count, the mean of the middle
    /// two, rounded half up to micro-dollars (zero without any).
    pub fn median(&self) -> Money {
        let mut costs: Vec<Money> = self.items.iter().map(|pr| pr.cost).collect();
        costs.sort_unstable();
        match costs.len() {
            0 => Money::ZERO,
            n if n % 2 == 1 => costs[n / 2],
            n => per(costs[n / 2 - 1] + costs[n / 2], 2),
        }
    }
}

/// `amount ÷ count`, rounded half up to micro-dollars (zero when `count` is zero).
fn per(amount: Money, count: u64) -> Money {
    if count == 0 {
        return Money::ZERO;
    }
    let n = u128::from(count);
    Money((amount.micros() * 2 + n) / (2 * n) * PICOS_PER_MICRO)
}

impl Ledger {
    /// The merged pull requests of the ledger: every pull request number a kept commit has
    /// ([`crate::CommitInfo::pr`]) in its repository, merged by the newest of those commits.
    pub fn merged_prs(&self) -> PrReport {
        let mut by_number: HashMap<(&str, u64), usize> = HashMap::new();
        let mut items: Vec<MergedPr> = Vec::new();
        for (index, commit) in self.commits.iter().enumerate() {
            let Some(number) = commit.pr else { continue };
            let slot = *by_number
                .entry((commit.repo.as_str(), number))
                .or_insert_with(|| {
                    items.push(MergedPr {
                        repo: commit.repo.clone(),
                        number,
                        commit: index,
                        merged: commit.date(),
                        commits: 0,
                        cost: Money::ZERO,
                        unpriced: false,
                        units: BTreeMap::new(),
                    });
                    items.len() - 1
                });
            items[slot].commits += 1;
        }
        for charge in &self.charges {
            let commit = &self.commits[charge.commit];
            let Some(number) = commit.pr else {
                continue;
            };
            let pr = &mut items[by_number[&(commit.repo.as_str(), number)]];
            match charge.cost {
                Some(cost) => pr.cost += cost,
                None => pr.unpriced = true,
            }
            for (unit, amount) in &charge.units {
                *pr.units.entry(unit.clone()).or_default() += *amount;
            }
        }
        PrReport {
            weeks: weeks_of(&items),
            items,
        }
    }
}

impl PrReport {
    /// The pull requests merged from `from` to `to` (merge dates, both inclusive), with
    /// their whole spend whenever their commits were made.
    pub fn merged_between(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> PrReport {
        let items: Vec<MergedPr> = self
            .items
            .iter()
            .filter(|pr| pr.merged >= from && pr.merged <= to)
            .cloned()
            .collect();
        PrReport {
            weeks: weeks_of(&items),
            items,
        }
    }
}

/// The ISO weeks of the merge dates of `items`, oldest first.
fn weeks_of(items: &[MergedPr]) -> Vec<PrWeek> {
    {
        let mut weeks: BTreeMap<(i16, i8), PrWeek> = BTreeMap::new();
        for pr in items {
            let iso = pr.merged.iso_week_date();
            let week = weeks
                .entry((iso.year(), iso.week()))
                .or_insert_with(|| PrWeek {
                    week: classify::week_key(pr.merged),
                    merged: 0,
                    cost: Money::ZERO,
                });
            week.merged += 1;
            week.cost += pr.cost;
        }
        weeks.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Charge, CommitInfo};

    /// 2026-12-01T00:00:00Z, a Tuesday of ISO week 2026-W49.
    const DEC_1: i64 = 1_796_083_200;
    const DAY: i64 = 86_400;

    fn commit(subject: &str, pr: Option<u64>, time: i64) -> CommitInfo {
        CommitInfo {
            id: format!("{:0>40}", subject.len()),
            author_time: time,
            commit_time: time,
            pr,
            ..CommitInfo::example(subject)
        }
    }

    fn charge(commit: usize, micros: Option<u64>, units: &[(&str, u64)]) -> Charge {
        Charge::example(commit, "m", micros, units)
    }

    /// Walk order (newest first): #3 squash on 8 Dec (W50); #2's true merge on 2 Dec and its
    /// two branch commits; #1 squash on 1 Dec (W49) with no spend; a commit without a PR.
    fn ledger() -> Ledger {
        Ledger {
            commits: vec![
                commit("Add c (#3)", Some(3), DEC_1 + 7 * DAY),
                commit("Merge pull request #2 from x/y", Some(2), DEC_1 + DAY),
                commit("docs: b", Some(2), DEC_1 + DAY / 2),
                commit("test: b", Some(2), DEC_1 + DAY / 3),
                commit("Add a (#1)", Some(1), DEC_1),
                commit("fix: no pr", None, DEC_1 - DAY),
            ],
            charges: vec![
                charge(0, Some(1_000_000), &[]),
                charge(2, Some(480_000), &[("premium-requests", 12_000_000)]),
                charge(3, Some(52_001), &[("credits", 3_500_000)]),
                charge(3, None, &[]),
                charge(5, Some(9_999_999), &[]),
            ],
            ..Ledger::default()
        }
    }

    #[test]
    fn each_pr_is_merged_by_its_newest_commit_and_holds_its_commits_spend() {
        let report = ledger().merged_prs();
        let summary: Vec<(u64, usize, String, u64, u128, bool)> = report
            .items
            .iter()
            .map(|pr| {
                (
                    pr.number,
                    pr.commit,
                    pr.merged.to_string(),
                    pr.commits,
                    pr.cost.micros(),
                    pr.unpriced,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, 0, "2026-12-08".to_string(), 1, 1_000_000, false),
                (2, 1, "2026-12-02".to_string(), 3, 532_001, true),
                (1, 4, "2026-12-01".to_string(), 1, 0, false),
            ]
        );
        assert_eq!(
            report.items[1].units,
            BTreeMap::from([
                ("credits".to_string(), Money::from_micros(3_500_000)),
                (
                    "premium-requests".to_string(),
                    Money::from_micros(12_000_000)
                ),
            ])
        );
        // The commit without a PR is in no PR's spend; other units never reach USD.
        assert_eq!(report.cost().micros(), 1_532_001);
        assert!(report.unpriced());
        assert_eq!(report.units()["credits"].micros(), 3_500_000);
    }

    #[test]
    fn cost_per_pr_and_median_round_half_up_to_micro_dollars() {
        let report = ledger().merged_prs();
        // 1.532001 / 3 = 0.510667 (0.5106670); the median of 0, 0.532001, 1 is 0.532001.
        assert_eq!(report.cost_per_pr().micros(), 510_667);
        assert_eq!(report.median().micros(), 532_001);
        let weeks: Vec<(String, u64, u128, u128)> = report
            .weeks
            .iter()
            .map(|w| {
                (
                    w.week.clone(),
                    w.merged,
                    w.cost.micros(),
                    w.cost_per_pr().micros(),
                )
            })
            .collect();
        assert_eq!(
            weeks,
            vec![
                ("2026-W49".to_string(), 2, 532_001, 266_001),
                ("2026-W50".to_string(), 1, 1_000_000, 1_000_000),
            ]
        );
        // An even count: the mean of the middle two, rounded half up.
        let with_costs = |micros: &[u64]| PrReport {
            items: micros
                .iter()
                .map(|&m| MergedPr {
                    cost: Money::from_micros(m),
                    ..report.items[0].clone()
                })
                .collect(),
            weeks: Vec::new(),
        };
        assert_eq!(with_costs(&[0, 1]).median().micros(), 1);
        assert_eq!(with_costs(&[4, 0, 3, 1]).median().micros(), 2);
        assert_eq!(with_costs(&[4, 0, 3, 1]).cost_per_pr().micros(), 2);
        assert_eq!(with_costs(&[2, 0, 0]).cost_per_pr().micros(), 1);
        assert_eq!(PrReport::default().cost_per_pr(), Money::ZERO);
        assert_eq!(PrReport::default().median(), Money::ZERO);
    }

    #[test]
    fn the_same_number_in_two_repositories_is_two_pull_requests() {
        let mut two = ledger();
        let mut other = ledger();
        other.set_repo("api");
        two.append(other);
        let report = two.merged_prs();
        assert_eq!(report.items.len(), 6);
        assert_eq!(report.cost().micros(), 2 * 1_532_001);
        let first_of_api = report.items.iter().position(|pr| pr.repo == "api");
        assert_eq!(first_of_api, Some(3));
        assert_eq!(report.weeks[0].merged, 4);
    }
}
