//! Budgets at commit time (the hook, `status`): the spend a commit made now would carry,
//! added to what its branch, its author's day and its repository's week and month already
//! hold in history. Only the recent end of history is read (commits of the last 31 days or
//! since the week or month began, and the current branch's own commits), so that the hook
//! stays fast in a repository of any age.
//!
//! Also here: whether the author's spend today is a spike, more than twice the median of
//! their daily spend over the previous 30 days.

use std::collections::BTreeMap;
use std::time::Instant;

use agent_cost_events::Money;
use agent_cost_git::History;
use agent_cost_report::{Filter, Ledger, ReportConfig, ReportError, Spend, branches, classify};
use jiff::civil::Date;

use crate::check::{cutoff, periods_start};
use crate::config::{BudgetConfig, Scope};
use crate::verdict::Verdict;

/// Days of history before today the spike baseline looks at.
pub const BASELINE_DAYS: i64 = 30;
/// Days with spend the baseline needs before a day can be called a spike.
pub const BASELINE_MIN_DAYS: usize = 3;
/// Today is a spike above this many times the baseline median.
pub const SPIKE_FACTOR: u128 = 2;

/// The spend already in history of each period a commit made now belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// Today's date (the machine's time zone).
    pub today: Date,
    /// The author of the next commit (`user.email`, after `.mailmap`), if configured.
    pub author: Option<String>,
    /// The current branch and its default branch, when `HEAD` is on a branch that is not the
    /// default one: `("feature/cart", "main")`.
    pub branch: Option<(String, String)>,
    /// The commits of the current branch that the default branch does not have.
    pub branch_spend: Spend,
    /// Why there is no branch to add up, when a branch budget is set but `branch` is `None`.
    pub branch_unchecked: Option<String>,
    /// The author's spend in commits authored today.
    pub author_today: Spend,
    /// The repository's spend in commits of this ISO week.
    pub week: Spend,
    /// The repository's spend in commits of this month.
    pub month: Spend,
    /// The author's USD per day over the [`BASELINE_DAYS`] before today, days with spend only.
    pub author_daily: BTreeMap<Date, Money>,
    /// The repository's name.
    pub repo: String,
}

impl Recent {
    /// Reads the periods of `history` as of `today` for the budgets of `config` (history is
    /// read only for the scopes it has budgets for, or all of them with `spike`, which needs
    /// the author's last 30 days). With a `deadline` (the hook's), reading history still going
    /// at it fails with [`agent_cost_git::HistoryError::OutOfTime`].
    pub fn read(
        history: &History,
        report: &ReportConfig,
        config: &BudgetConfig,
        today: Date,
        spike: bool,
        deadline: Option<Instant>,
    ) -> Result<Recent, ReportError> {
        let mut recent = Recent {
            today,
            author: history.author_identity().map(|(_, email)| email),
            repo: history.name(),
            ..Recent::default()
        };
        if history.head_time().is_none() {
            return Ok(recent);
        }
        let needs = |scope: Scope| config.budgets.iter().any(|b| b.scope == scope);
        if needs(Scope::Branch) {
            recent.read_branch(history, report, deadline)?;
        }
        let periods =
            spike || needs(Scope::AuthorDay) || needs(Scope::RepoWeek) || needs(Scope::RepoMonth);
        if !periods {
            return Ok(recent);
        }
        let baseline_start = today
            .checked_sub(jiff::Span::new().days(BASELINE_DAYS))
            .unwrap_or(today);
        let earliest = if spike {
            periods_start(today).min(baseline_start)
        } else {
            periods_start(today)
        };
        // The author's own local date decides below.
        let since = cutoff(earliest);
        let ledger =
            Ledger::read_recent(history, None, since, deadline, Filter::default(), report)?;
        let this_week = classify::week_key(today);
        let this_month = classify::month_key(today);
        for (index, spend) in ledger.spend_by_commit() {
            let commit = &ledger.commits[index];
            let date = commit.date();
            if classify::week_key(date) == this_week {
                recent.week.add(&spend);
            }
            if classify::month_key(date) == this_month {
                recent.month.add(&spend);
            }
            let mine = recent
                .author
                .as_deref()
                .is_some_and(|author| author.eq_ignore_ascii_case(&commit.author_email));
            if !mine {
                continue;
            }
            if date == today {
                recent.author_today.add(&spend);
            } else if date >= baseline_start && date < today && spend.usd > Money::ZERO {
                let day = recent.author_daily.entry(date).or_default();
                *day = Money(day.0.saturating_add(spend.usd.0));
            }
        }
        Ok(recent)
    }

    fn read_branch(
        &mut self,
        history: &History,
        report: &ReportConfig,
        deadline: Option<Instant>,
    ) -> Result<(), ReportError> {
        let refs = history.branches()?;
        let Some(head) = refs.head.clone() else {
            self.branch_unchecked = Some("HEAD is detached, on no branch".to_string());
            return Ok(());
        };
        let configured = report.default_branch.as_deref();
        let default = branches::default_branch(&refs, configured).unwrap_or_default();
        if head == default {
            self.branch_unchecked = Some(format!(
                "{head} is the default branch (a branch budget adds up a branch's own commits; set [report] default_branch if {head} is not it)"
            ));
            return Ok(());
        }
        let base = if refs.local.iter().any(|b| b.name == default) {
            default.clone()
        } else if refs.origin.iter().any(|b| b.name == default) {
            format!("origin/{default}")
        } else {
            self.branch_unchecked = Some(format!(
                "the default branch {default:?} is not found: set [report] default_branch in agent-cost.toml"
            ));
            return Ok(());
        };
        let range = format!("{base}..HEAD");
        let ledger = Ledger::read_recent(
            history,
            Some(&range),
            i64::MIN,
            deadline,
            Filter::default(),
            report,
        )?;
        for charge in &ledger.charges {
            self.branch_spend.add_charge(charge);
        }
        self.branch = Some((head, default));
        Ok(())
    }

    /// Every budget of `config` against the periods a commit carrying `commit` would belong
    /// to: the commit itself, then its branch, its author's day, its repository's week and
    /// month, each with `added` (what history does not hold yet: `commit`, or less when an
    /// amended commit carries spend that is in history already). A branch budget is skipped
    /// on the default branch.
    pub fn verdicts(&self, config: &BudgetConfig, commit: &Spend, added: &Spend) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        for budget in &config.budgets {
            let (subject, mut spend) = match budget.scope {
                Scope::Commit => {
                    verdicts.push(Verdict::new(
                        budget,
                        "this commit".to_string(),
                        budget.unit.of(commit),
                    ));
                    continue;
                }
                Scope::Branch => match &self.branch {
                    Some((branch, _)) => (format!("branch {branch}"), self.branch_spend.clone()),
                    None => continue,
                },
                Scope::AuthorDay => (
                    format!(
                        "{} on {}",
                        self.author.as_deref().unwrap_or("you"),
                        classify::day_key(self.today)
                    ),
                    self.author_today.clone(),
                ),
                Scope::RepoWeek => (
                    format!("{} in {}", self.repo, classify::week_key(self.today)),
                    self.week.clone(),
                ),
                Scope::RepoMonth => (
                    format!("{} in {}", self.repo, classify::month_key(self.today)),
                    self.month.clone(),
                ),
            };
            spend.add(added);
            verdicts.push(Verdict::at_commit(
                budget,
                subject,
                budget.unit.of(&spend),
                budget.unit.of(added),
            ));
        }
        verdicts
    }

    /// The median of the author's USD per day over the baseline days with spend, when there
    /// are at least [`BASELINE_MIN_DAYS`] of them (the lower middle of an even count).
    pub fn baseline_median(&self) -> Option<Money> {
        let mut days: Vec<Money> = self.author_daily.values().copied().collect();
        if days.len() < BASELINE_MIN_DAYS {
            return None;
        }
        days.sort_unstable();
        Some(days[(days.len() - 1) / 2])
    }

    /// Today's USD of the author (history and `pending`) when it is above
    /// [`SPIKE_FACTOR`] times the baseline median: `(today, median)`.
    pub fn spike(&self, pending: &Spend) -> Option<(Money, Money)> {
        let median = self.baseline_median()?;
        let today = Money(self.author_today.usd.0.saturating_add(pending.usd.0));
        (today.0 > median.0.saturating_mul(SPIKE_FACTOR)).then_some((today, median))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent_with_days(days: &[(i8, u64)], today_micros: u64) -> Recent {
        let today = jiff::civil::date(2026, 12, 20);
        Recent {
            today,
            author_today: Spend {
                usd: Money::from_micros(today_micros),
                ..Spend::default()
            },
            author_daily: days
                .iter()
                .map(|&(day, micros)| {
                    (jiff::civil::date(2026, 12, day), Money::from_micros(micros))
                })
                .collect(),
            ..Recent::default()
        }
    }

    #[test]
    fn a_spike_is_above_twice_the_median_of_days_with_spend() {
        let recent = recent_with_days(&[(1, 1_000_000), (2, 3_000_000), (5, 2_000_000)], 4_000_000);
        assert_eq!(
            recent.baseline_median(),
            Some(Money::from_micros(2_000_000))
        );
        assert_eq!(
            recent.spike(&Spend::default()),
            None,
            "exactly twice is no spike"
        );
        let pending = Spend {
            usd: Money::from_micros(1),
            ..Spend::default()
        };
        assert_eq!(
            recent.spike(&pending),
            Some((Money::from_micros(4_000_001), Money::from_micros(2_000_000)))
        );
    }

    #[test]
    fn too_few_days_make_no_baseline() {
        let recent = recent_with_days(&[(1, 1_000_000), (2, 1_000_000)], 90_000_000);
        assert_eq!(recent.baseline_median(), None);
        assert_eq!(recent.spike(&Spend::default()), None);
    }

    #[test]
    fn an_even_count_takes_the_lower_middle() {
        let recent = recent_with_days(
            &[
                (1, 1_000_000),
                (2, 2_000_000),
                (3, 3_000_000),
                (4, 4_000_000),
            ],
            0,
        );
        assert_eq!(
            recent.baseline_median(),
            Some(Money::from_micros(2_000_000))
        );
    }
}
