//! Spend compared with budgets: [`Verdict`] says whether
//! one group of spend (a commit, a branch, an author's day, a repository's week or month) is
//! within a budget, over its soft level or over its hard level, and by how much.
//!
//! A level is exceeded when the spend is strictly above it: spending exactly the budget is
//! within it.

use agent_cost_events::Money;

use crate::config::{Budget, Scope};

/// How a spend stands against a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// At or below every level.
    Within,
    /// Above the soft level, not above the hard one.
    Soft,
    /// Above the hard level.
    Hard,
}

impl Level {
    /// `within`, `soft`, `hard`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Within => "within",
            Level::Soft => "soft",
            Level::Hard => "hard",
        }
    }

    /// Where `spent` stands against `budget`.
    pub fn of(budget: &Budget, spent: Money) -> Level {
        if budget.hard.is_some_and(|hard| spent > hard) {
            Level::Hard
        } else if budget.soft.is_some_and(|soft| spent > soft) {
            Level::Soft
        } else {
            Level::Within
        }
    }
}

/// One group of spend compared with one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The budget.
    pub budget: Budget,
    /// What was added up, for people: `commit 1a2b3c4 "Add cart"`, `dana@example.com on
    /// 2026-12-01`, `shop in 2026-W49`.
    pub subject: String,
    /// The spend in the budget's unit.
    pub spent: Money,
    /// Where it stands.
    pub level: Level,
    /// At commit time, for a period: the part of `spent` the commit being made adds (the rest
    /// is in history already).
    pub added: Option<Money>,
}

impl Verdict {
    /// `spent` of `subject` compared with `budget`.
    pub fn new(budget: &Budget, subject: String, spent: Money) -> Verdict {
        Verdict {
            level: Level::of(budget, spent),
            budget: budget.clone(),
            subject,
            spent,
            added: None,
        }
    }

    /// `spent` of a period at commit time, `added` of it by the commit being made.
    pub fn at_commit(budget: &Budget, subject: String, spent: Money, added: Money) -> Verdict {
        Verdict {
            added: Some(added),
            ..Verdict::new(budget, subject, spent)
        }
    }

    /// Whether the level was exceeded before the commit being made added its part.
    pub fn was_over_already(&self) -> bool {
        self.added.is_some_and(|added| {
            let before = Money(self.spent.0.saturating_sub(added.0));
            self.level != Level::Within && Level::of(&self.budget, before) >= self.level
        })
    }

    /// The level exceeded (the hard one when both are), if any.
    pub fn limit(&self) -> Option<Money> {
        match self.level {
            Level::Within => None,
            Level::Soft => self.budget.soft,
            Level::Hard => self.budget.hard,
        }
    }

    /// How far the spend is above the level exceeded (zero when within).
    pub fn over_by(&self) -> Money {
        self.limit().map_or(Money::ZERO, |limit| {
            Money(self.spent.0.saturating_sub(limit.0))
        })
    }

    /// How much of the nearest level is used, in percent (the soft level when set, else the
    /// hard one), rounded down.
    pub fn percent_used(&self) -> Option<u128> {
        let limit = self.budget.soft.or(self.budget.hard)?;
        if limit == Money::ZERO {
            return None;
        }
        Some(self.spent.0.saturating_mul(100) / limit.0)
    }

    /// One line for people: `over the soft budget per commit (agent-cost.toml:3): commit
    /// 1a2b3c4 "Add cart" spent 0.61 USD, soft level 0.50 USD, over by 0.11 USD`.
    pub fn sentence(&self) -> String {
        let unit = self.budget.unit;
        let scope = self.budget.scope.describe();
        let origin = self.budget.origin();
        let with_this = self
            .added
            .map(|added| format!(" with this commit's {}", unit.format(added)))
            .unwrap_or_default();
        let still = if self.was_over_already() {
            "still "
        } else {
            ""
        };
        match self.limit() {
            Some(limit) => format!(
                "{still}over the {} budget {scope} ({origin}): {} spent {}{with_this}, {} level {}, over by {}",
                self.level.name(),
                self.subject,
                unit.format(self.spent),
                self.level.name(),
                unit.format(limit),
                unit.format(self.over_by()),
            ),
            None => format!(
                "within the budget {scope} ({origin}): {} spent {}{with_this}{}",
                self.subject,
                unit.format(self.spent),
                self.levels_text(),
            ),
        }
    }

    /// `, soft 0.50 USD, hard 5.00 USD`.
    pub fn levels_text(&self) -> String {
        let unit = self.budget.unit;
        let mut text = String::new();
        if let Some(soft) = self.budget.soft {
            text.push_str(&format!(", soft {}", unit.format(soft)));
        }
        if let Some(hard) = self.budget.hard {
            text.push_str(&format!(", hard {}", unit.format(hard)));
        }
        text
    }
}

/// The worst verdict of each budget (highest level, then highest spend; the first budget
/// without any group yields none), in budget order.
pub fn worst_per_budget(verdicts: &[Verdict]) -> Vec<&Verdict> {
    let mut worst: Vec<&Verdict> = Vec::new();
    for verdict in verdicts {
        match worst.iter_mut().find(|w| w.budget == verdict.budget) {
            Some(slot) => {
                if (verdict.level, verdict.spent) > (slot.level, slot.spent) {
                    *slot = verdict;
                }
            }
            None => worst.push(verdict),
        }
    }
    worst
}

/// Whether the scope is added up over more than one commit.
pub fn is_period(scope: Scope) -> bool {
    scope != Scope::Commit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Owner, Unit};
    use agent_cost_report::{Charge, Spend};

    fn budget(soft: Option<u64>, hard: Option<u64>, unit: Unit) -> Budget {
        Budget {
            scope: Scope::Commit,
            unit,
            soft: soft.map(Money::from_micros),
            hard: hard.map(Money::from_micros),
            file: "agent-cost.toml".into(),
            line: 3,
            owner: Owner::Repository,
        }
    }

    #[test]
    fn a_level_is_exceeded_only_above_it() {
        let b = budget(Some(500_000), Some(5_000_000), Unit::Usd);
        let level = |micros| Level::of(&b, Money::from_micros(micros));
        assert_eq!(level(0), Level::Within);
        assert_eq!(level(500_000), Level::Within);
        assert_eq!(level(500_001), Level::Soft);
        assert_eq!(level(5_000_000), Level::Soft);
        assert_eq!(level(5_000_001), Level::Hard);
        let hard_only = budget(None, Some(1_000_000), Unit::Credits);
        assert_eq!(
            Level::of(&hard_only, Money::from_micros(999_999)),
            Level::Within
        );
        assert_eq!(
            Level::of(&hard_only, Money::from_micros(1_000_001)),
            Level::Hard
        );
    }

    #[test]
    fn a_verdict_says_which_budget_how_much_and_by_how_much() {
        let b = budget(Some(500_000), Some(5_000_000), Unit::Usd);
        let v = Verdict::new(
            &b,
            "commit 1a2b3c4 \"Add cart\"".into(),
            Money::from_micros(610_000),
        );
        assert_eq!(
            v.sentence(),
            "over the soft budget per commit (agent-cost.toml:3): commit 1a2b3c4 \"Add cart\" spent 0.61 USD, soft level 0.50 USD, over by 0.11 USD"
        );
        let v = Verdict::new(&b, "this commit".into(), Money::from_micros(6_000_000));
        assert_eq!(v.over_by(), Money::from_micros(1_000_000));
        assert!(
            v.sentence()
                .contains("hard level 5.00 USD, over by 1.00 USD")
        );
        let v = Verdict::new(&b, "this commit".into(), Money::from_micros(250_000));
        assert_eq!(
            v.sentence(),
            "within the budget per commit (agent-cost.toml:3): this commit spent 0.25 USD, soft 0.50 USD, hard 5.00 USD"
        );
        assert_eq!(v.percent_used(), Some(50));
    }

    #[test]
    fn at_commit_a_period_already_over_says_still() {
        let b = budget(Some(500_000), None, Unit::Usd);
        let crossing = Verdict::at_commit(
            &b,
            "dana on 2026-12-01".into(),
            Money::from_micros(700_000),
            Money::from_micros(300_000),
        );
        assert!(!crossing.was_over_already());
        assert_eq!(
            crossing.sentence(),
            "over the soft budget per commit (agent-cost.toml:3): dana on 2026-12-01 spent 0.70 USD with this commit's 0.30 USD, soft level 0.50 USD, over by 0.20 USD"
        );
        let still = Verdict::at_commit(
            &b,
            "dana on 2026-12-01".into(),
            Money::from_micros(900_000),
            Money::from_micros(300_000),
        );
        assert!(still.was_over_already());
        assert!(still.sentence().starts_with("still over the soft budget"));
    }

    fn charge(micros: Option<u64>, units: &[(&str, u64)]) -> Charge {
        Charge {
            commit: 0,
            agent: "kiro".into(),
            model: "auto".into(),
            requests: 1,
            tokens: [0; 4],
            cost: micros.map(Money::from_micros),
            units: units
                .iter()
                .map(|(unit, micros)| (unit.to_string(), Money::from_micros(*micros)))
                .collect(),
            work_type: None,
        }
    }

    #[test]
    fn spend_keeps_units_apart_and_never_adds_credits_to_dollars() {
        let mut spend = Spend::default();
        spend.add_charge(&charge(Some(1_000_000), &[("credits", 3_000_000)]));
        spend.add_charge(&charge(None, &[("premium-requests", 330_000)]));
        assert_eq!(Unit::Usd.of(&spend), Money::from_micros(1_000_000));
        assert_eq!(Unit::Credits.of(&spend), Money::from_micros(3_000_000));
        assert_eq!(
            Unit::PremiumRequests.of(&spend),
            Money::from_micros(330_000)
        );
        assert_eq!(spend.unpriced, 1);
    }
}
