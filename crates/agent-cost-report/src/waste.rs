//! Waste candidates: commits whose AI spend bought little, by rule. A commit is a candidate
//! when its USD cost is above a threshold and it is of a low-leverage type (fix, doc, config)
//! or changed only a few lines; beside the list, the share of all spend that went to small
//! changes and to low-leverage types, whatever their cost.

use agent_cost_events::Money;

use crate::ledger::Ledger;

/// The types whose spend is low-leverage: fixes, documentation and configuration.
pub const LOW_LEVERAGE_TYPES: [&str; 3] = ["fix", "doc", "config"];

/// What makes a commit a waste candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasteRules {
    /// A candidate costs more than this (USD).
    pub threshold: Money,
    /// A change of at most this many lines (added + removed) is small.
    pub max_lines: u64,
}

impl Default for WasteRules {
    /// 0.50 USD and 5 lines.
    fn default() -> WasteRules {
        WasteRules {
            threshold: Money::from_micros(500_000),
            max_lines: 5,
        }
    }
}

/// Why a commit is a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasteReason {
    /// Its type is one of [`LOW_LEVERAGE_TYPES`].
    LowLeverageType,
    /// It changed at most [`WasteRules::max_lines`] lines.
    SmallChange,
}

impl WasteReason {
    /// `type` or `lines`, as JSON and text print it.
    pub fn name(self) -> &'static str {
        match self {
            WasteReason::LowLeverageType => "type",
            WasteReason::SmallChange => "lines",
        }
    }
}

/// One candidate commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasteCandidate {
    /// Index into [`Ledger::commits`].
    pub commit: usize,
    /// Its USD cost (unpriced charges count nothing).
    pub cost: Money,
    /// Lines added plus removed.
    pub lines: u64,
    /// Why it is a candidate (one or both).
    pub reasons: Vec<WasteReason>,
}

/// Commits and USD of a part of the spend, and that USD's share of the whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendShare {
    /// Commits with spend in the part.
    pub commits: u64,
    /// Their USD cost.
    pub cost: Money,
    /// `cost` in tenths of a percent of all spend, rounded half up.
    pub per_mille: u64,
}

impl SpendShare {
    /// The share as a percent with one decimal: `34.5`.
    pub fn percent(&self) -> String {
        format!("{}.{}", self.per_mille / 10, self.per_mille % 10)
    }
}

/// The waste candidates of a ledger and the shares of spend on small and low-leverage changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waste {
    /// The rules applied.
    pub rules: WasteRules,
    /// Candidates, costliest first (then in walk order).
    pub candidates: Vec<WasteCandidate>,
    /// The candidates together.
    pub candidates_share: SpendShare,
    /// All commits of at most `max_lines` changed lines, whatever their cost.
    pub small_changes: SpendShare,
    /// All commits of a low-leverage type, whatever their cost.
    pub low_leverage: SpendShare,
    /// All USD spend of the ledger.
    pub total: Money,
}

impl Ledger {
    /// The waste candidates by `rules`. Needs the lines counted ([`Ledger::count_lines`]): a
    /// commit whose lines were not counted, and a merge (its lines are its branch's), is never
    /// a small change.
    pub fn waste(&self, rules: WasteRules) -> Waste {
        let costs = self.cost_by_commit();
        let total = Money(costs.values().map(|c| c.0).sum());
        let share = |commits: u64, cost: Money| SpendShare {
            commits,
            cost,
            per_mille: per_mille(cost, total),
        };
        let mut candidates = Vec::new();
        let (mut small, mut small_cost) = (0, 0u128);
        let (mut low, mut low_cost) = (0, 0u128);
        let mut ordered: Vec<(usize, Money)> = costs.into_iter().collect();
        ordered.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (index, cost) in ordered {
            let commit = &self.commits[index];
            let lines = commit.lines.map(|l| l.added.saturating_add(l.removed));
            let mut reasons = Vec::new();
            if LOW_LEVERAGE_TYPES.contains(&commit.kind) {
                reasons.push(WasteReason::LowLeverageType);
                low += 1;
                low_cost += cost.0;
            }
            if commit.parent_count <= 1 && lines.is_some_and(|n| n <= rules.max_lines) {
                reasons.push(WasteReason::SmallChange);
                small += 1;
                small_cost += cost.0;
            }
            if cost > rules.threshold && !reasons.is_empty() {
                candidates.push(WasteCandidate {
                    commit: index,
                    cost,
                    lines: lines.unwrap_or(0),
                    reasons,
                });
            }
        }
        let candidates_cost = Money(candidates.iter().map(|c| c.cost.0).sum());
        Waste {
            rules,
            candidates_share: share(candidates.len() as u64, candidates_cost),
            candidates,
            small_changes: share(small, Money(small_cost)),
            low_leverage: share(low, Money(low_cost)),
            total,
        }
    }
}

/// `part` in tenths of a percent of `whole`, rounded half up (0 when `whole` is nothing).
fn per_mille(part: Money, whole: Money) -> u64 {
    if whole.0 == 0 {
        return 0;
    }
    let value = (part.0 * 2000 + whole.0) / (2 * whole.0);
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Charge, CommitInfo};
    use agent_cost_git::LineStats;

    fn commit(subject: &str, lines: Option<(u64, u64)>, parents: usize) -> CommitInfo {
        CommitInfo {
            id: format!("{subject:0>40}"),
            parent_count: parents,
            pr: None,
            lines: lines.map(|(added, removed)| LineStats {
                added,
                removed,
                files: 1,
            }),
            ..CommitInfo::example(subject)
        }
    }

    fn charge(commit: usize, micros: Option<u64>) -> Charge {
        Charge::example(commit, "m", micros, &[])
    }

    #[test]
    fn candidates_need_cost_above_the_threshold_and_a_type_or_few_lines() {
        let ledger = Ledger {
            commits: vec![
                commit("fix: typo", Some((1, 1)), 1),     // 0: both reasons
                commit("feat: cart", Some((300, 20)), 1), // 1: neither
                commit("docs: guide", Some((80, 0)), 1),  // 2: type only
                commit("feat: flag", Some((3, 2)), 1),    // 3: lines only
                commit("chore: bump", Some((1, 1)), 1),   // 4: at the threshold
                commit("Merge pull request #4", Some((0, 0)), 2), // 5: a merge
            ],
            charges: vec![
                charge(0, Some(900_000)),
                charge(0, None),
                charge(1, Some(4_000_000)),
                charge(2, Some(600_000)),
                charge(3, Some(2_000_000)),
                charge(4, Some(500_000)),
                charge(5, Some(1_000_000)),
            ],
            ..Ledger::default()
        };
        let waste = ledger.waste(WasteRules::default());
        let found: Vec<(usize, u128, Vec<&str>)> = waste
            .candidates
            .iter()
            .map(|c| {
                let reasons = c.reasons.iter().map(|r| r.name()).collect();
                (c.commit, c.cost.micros(), reasons)
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (3, 2_000_000, vec!["lines"]),
                (0, 900_000, vec!["type", "lines"]),
                (2, 600_000, vec!["type"]),
            ]
        );
        assert_eq!(waste.total.micros(), 9_000_000);
        // 3.5 of 9.0 USD: 38.888… % → 38.9.
        assert_eq!(waste.candidates_share.cost.micros(), 3_500_000);
        assert_eq!(waste.candidates_share.percent(), "38.9");
        // Small: commits 0, 3 and 4 (not the merge): 3.4 of 9.0 → 37.8 %.
        assert_eq!(waste.small_changes.commits, 3);
        assert_eq!(waste.small_changes.cost.micros(), 3_400_000);
        assert_eq!(waste.small_changes.percent(), "37.8");
        // Low-leverage: fix, docs and chore: 2.0 of 9.0 → 22.2 %.
        assert_eq!(waste.low_leverage.commits, 3);
        assert_eq!(waste.low_leverage.cost.micros(), 2_000_000);
        assert_eq!(waste.low_leverage.percent(), "22.2");
    }

    #[test]
    fn uncounted_lines_are_never_small_and_nothing_spent_is_zero_percent() {
        let ledger = Ledger {
            commits: vec![commit("feat: x", None, 1)],
            charges: vec![charge(0, Some(5_000_000))],
            ..Ledger::default()
        };
        let waste = ledger.waste(WasteRules {
            threshold: Money::ZERO,
            max_lines: 1_000,
        });
        assert!(waste.candidates.is_empty());
        assert_eq!(waste.small_changes.commits, 0);
        assert_eq!(
            Ledger::default()
                .waste(WasteRules::default())
                .small_changes
                .percent(),
            "0.0"
        );
    }
}
