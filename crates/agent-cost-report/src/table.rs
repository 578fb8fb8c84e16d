//! Grouping a ledger's charges by keys into rows: commits, USD, other units, tokens,
//! requests per key value, sorted by cost, with a total.

use std::collections::{BTreeMap, BTreeSet};

use agent_cost_events::{Money, PICOS_PER_MICRO};
use serde::Serialize;

use crate::classify;
use crate::ledger::{Charge, Ledger};

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Agent name.
    Agent,
    /// Model name.
    Model,
    /// `Name <email>` after `.mailmap`.
    Author,
    /// Conventional-commit type ([`classify::commit_type`]).
    Type,
    /// Pull request number, `#N`, or `none`.
    Pr,
    /// Ticket; a commit naming two tickets is in both rows; `none` without one.
    Ticket,
    /// The branch the commit was made on ([`crate::branches`]), or `none`.
    Branch,
    /// The author's local date, `2026-12-01`.
    Day,
    /// ISO week, `2026-W49`.
    Week,
    /// `2026-12`.
    Month,
    /// `USD` or another unit; a charge with an amount in two units is in both rows.
    Unit,
    /// The repository ([`crate::CommitInfo::repo`]).
    Repo,
}

/// A key name that is not one of [`Key::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key `{0}`: use one of agent, model, author, type, pr, ticket, branch, day, week, month, unit, repo"
)]
pub struct KeyParseError(pub String);

impl Key {
    /// Every key's name, as `--by` takes it.
    pub const NAMES: [&'static str; 12] = [
        "agent", "model", "author", "type", "pr", "ticket", "branch", "day", "week", "month",
        "unit", "repo",
    ];

    /// The key's name.
    pub fn name(self) -> &'static str {
        match self {
            Key::Agent => "agent",
            Key::Model => "model",
            Key::Author => "author",
            Key::Type => "type",
            Key::Pr => "pr",
            Key::Ticket => "ticket",
            Key::Branch => "branch",
            Key::Day => "day",
            Key::Week => "week",
            Key::Month => "month",
            Key::Unit => "unit",
            Key::Repo => "repo",
        }
    }
}

impl std::str::FromStr for Key {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Key, KeyParseError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "agent" => Key::Agent,
            "model" => Key::Model,
            "author" => Key::Author,
            "type" => Key::Type,
            "pr" => Key::Pr,
            "ticket" => Key::Ticket,
            "branch" => Key::Branch,
            "day" => Key::Day,
            "week" => Key::Week,
            "month" => Key::Month,
            "unit" => Key::Unit,
            "repo" => Key::Repo,
            _ => return Err(KeyParseError(s.to_string())),
        })
    }
}

/// Token sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenCounts {
    /// Input tokens not read from or written to the cache.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Tokens written to the prompt cache.
    pub cache_write: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
}

/// One row: the charges whose key values are `key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// One value per key, in the order of the keys.
    pub key: Vec<String>,
    /// Distinct commits with a charge in the row.
    pub commits: u64,
    /// Sum of the priced USD costs.
    pub cost: Money,
    /// True when a charge in the row is unpriced (so `cost` is a lower bound).
    pub unpriced: bool,
    /// Amounts in units other than USD, by unit; never part of `cost`.
    pub units: BTreeMap<String, Money>,
    /// Token sums.
    pub tokens: TokenCounts,
    /// API requests.
    pub requests: u64,
    /// Lines added by the row's commits (0 when lines were not counted).
    pub lines_added: u64,
    /// Lines removed by the row's commits.
    pub lines_removed: u64,
}

impl Row {
    /// USD per commit, rounded half up to micro-dollars (zero without commits).
    pub fn cost_per_commit(&self) -> Money {
        if self.commits == 0 {
            return Money::ZERO;
        }
        let n = u128::from(self.commits);
        let micros = (self.cost.micros() * 2 + n) / (2 * n);
        Money(micros * PICOS_PER_MICRO)
    }

    /// USD per changed line (added + removed), rounded half up to micro-dollars; `None`
    /// without changed lines.
    pub fn cost_per_line(&self) -> Option<Money> {
        let lines = u128::from(self.lines_added.saturating_add(self.lines_removed));
        if lines == 0 {
            return None;
        }
        let micros = (self.cost.micros() * 2 + lines) / (2 * lines);
        Some(Money(micros * PICOS_PER_MICRO))
    }

    fn add(&mut self, charge: &Charge, usd: bool, unit: Option<&str>) {
        if usd {
            match charge.cost {
                Some(cost) => self.cost = Money(self.cost.0.saturating_add(cost.0)),
                None => self.unpriced = true,
            }
        }
        for (name, amount) in &charge.units {
            if unit.is_none_or(|u| u == name) {
                let entry = self.units.entry(name.clone()).or_default();
                *entry = Money(entry.0.saturating_add(amount.0));
            }
        }
        self.requests = self.requests.saturating_add(charge.requests);
        let t = &mut self.tokens;
        t.input = t.input.saturating_add(charge.tokens[0]);
        t.output = t.output.saturating_add(charge.tokens[1]);
        t.cache_write = t.cache_write.saturating_add(charge.tokens[2]);
        t.cache_read = t.cache_read.saturating_add(charge.tokens[3]);
    }
}

/// Rows by key, and their total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The keys, in the order given.
    pub keys: Vec<Key>,
    /// Sorted by cost (highest first), then by key values.
    pub rows: Vec<Row>,
    /// Every charge once (a commit in two ticket rows, or an amount in two unit rows, counts
    /// once here).
    pub total: Row,
    /// Units other than USD that appear in some row, sorted.
    pub units: Vec<String>,
    /// Whether the commits' lines were counted ([`Ledger::count_lines`]).
    pub lines: bool,
}

impl Ledger {
    /// Groups the charges by `keys` (no keys: one row holding everything, beside the total).
    /// A commit naming several tickets, or a charge in several units, appears in each of those
    /// rows; the total counts everything once.
    pub fn table(&self, keys: &[Key]) -> Table {
        let mut rows: BTreeMap<Vec<String>, (Row, BTreeSet<usize>)> = BTreeMap::new();
        let mut total = Row {
            key: vec!["total".to_string()],
            ..Row::default()
        };
        let mut total_commits = BTreeSet::new();
        for charge in &self.charges {
            total.add(charge, true, None);
            total_commits.insert(charge.commit);
            for (values, usd, unit) in self.key_values(keys, charge) {
                let entry = rows.entry(values.clone()).or_insert_with(|| {
                    (
                        Row {
                            key: values,
                            ..Row::default()
                        },
                        BTreeSet::new(),
                    )
                });
                entry.0.add(charge, usd, unit.as_deref());
                entry.1.insert(charge.commit);
            }
        }
        let with_lines = |row: &mut Row, commits: &BTreeSet<usize>| {
            row.commits = commits.len() as u64;
            for lines in commits.iter().filter_map(|&i| self.commits[i].lines) {
                row.lines_added = row.lines_added.saturating_add(lines.added);
                row.lines_removed = row.lines_removed.saturating_add(lines.removed);
            }
        };
        with_lines(&mut total, &total_commits);
        let mut rows: Vec<Row> = rows
            .into_values()
            .map(|(mut row, commits)| {
                with_lines(&mut row, &commits);
                row
            })
            .collect();
        rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
        Table {
            keys: keys.to_vec(),
            rows,
            units: total.units.keys().cloned().collect(),
            lines: total_commits
                .iter()
                .any(|&i| self.commits[i].lines.is_some()),
            total,
        }
    }

    /// The key-value tuples a charge falls under, each with whether its USD cost counts in
    /// that row and which unit's amount does (`None`: all).
    fn key_values(
        &self,
        keys: &[Key],
        charge: &Charge,
    ) -> Vec<(Vec<String>, bool, Option<String>)> {
        let commit = &self.commits[charge.commit];
        let mut tuples: Vec<(Vec<String>, bool, Option<String>)> = vec![(Vec::new(), true, None)];
        for key in keys {
            let values: Vec<(String, bool, Option<String>)> = match key {
                Key::Agent => vec![(charge.agent.clone(), true, None)],
                Key::Model => vec![(charge.model.clone(), true, None)],
                Key::Author => vec![(commit.author(), true, None)],
                Key::Type => vec![(charge.kind(commit).to_string(), true, None)],
                Key::Pr => vec![(
                    commit.pr.map_or("none".to_string(), |n| format!("#{n}")),
                    true,
                    None,
                )],
                Key::Ticket if commit.tickets.is_empty() => vec![("none".to_string(), true, None)],
                Key::Ticket => commit
                    .tickets
                    .iter()
                    .map(|t| (t.clone(), true, None))
                    .collect(),
                Key::Branch => vec![(
                    commit.branch.clone().unwrap_or_else(|| "none".to_string()),
                    true,
                    None,
                )],
                Key::Day => vec![(classify::day_key(commit.date()), true, None)],
                Key::Week => vec![(classify::week_key(commit.date()), true, None)],
                Key::Month => vec![(classify::month_key(commit.date()), true, None)],
                Key::Repo => vec![(commit.repo.clone(), true, None)],
                Key::Unit => {
                    let mut units = Vec::new();
                    if charge.cost.is_some() || charge.units.is_empty() {
                        units.push(("USD".to_string(), true, Some(String::new())));
                    }
                    for unit in charge.units.keys() {
                        units.push((unit.clone(), false, Some(unit.clone())));
                    }
                    units
                }
            };
            tuples = tuples
                .into_iter()
                .flat_map(|(prefix, usd, unit)| {
                    values.iter().map(move |(value, value_usd, value_unit)| {
                        let mut key = prefix.clone();
                        key.push(value.clone());
                        (
                            key,
                            usd && *value_usd,
                            value_unit.clone().or_else(|| unit.clone()),
                        )
                    })
                })
                .collect();
        }
        tuples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::CommitInfo;

    fn commit(subject: &str, tickets: &[&str]) -> CommitInfo {
        CommitInfo {
            tickets: tickets.iter().map(|t| t.to_string()).collect(),
            ..CommitInfo::example(subject)
        }
    }

    fn charge(commit: usize, model: &str, micros: Option<u64>, units: &[(&str, u64)]) -> Charge {
        Charge::example(commit, model, micros, units)
    }

    fn ledger() -> Ledger {
        Ledger {
            commits: vec![
                commit("fix: SHOP-1 and SHOP-2 (#4)", &["SHOP-1", "SHOP-2"]),
                commit("feat: cart", &[]),
            ],
            charges: vec![
                charge(0, "a", Some(300_000), &[]),
                charge(1, "b", Some(500_000), &[("credits", 3_500_000)]),
                charge(1, "c", None, &[("premium-requests", 12_000_000)]),
            ],
            ..Ledger::default()
        }
    }

    #[test]
    fn tickets_repeat_a_commit_in_each_row_and_the_total_counts_it_once() {
        let table = ledger().table(&[Key::Ticket]);
        let rows: Vec<(Vec<String>, u64, u128)> = table
            .rows
            .iter()
            .map(|r| (r.key.clone(), r.commits, r.cost.micros()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (vec!["none".to_string()], 1, 500_000),
                (vec!["SHOP-1".to_string()], 1, 300_000),
                (vec!["SHOP-2".to_string()], 1, 300_000),
            ]
        );
        assert_eq!(table.total.cost.micros(), 800_000);
        assert_eq!(table.total.commits, 2);
        assert!(table.total.unpriced);
        assert_eq!(table.units, vec!["credits", "premium-requests"]);
        assert_eq!(table.total.requests, 3);
        assert_eq!(table.total.tokens.cache_read, 12);
    }

    /// A unit row: its key, USD micros and amounts by unit.
    type UnitRow = (String, u128, Vec<(String, u128)>);

    #[test]
    fn units_are_rows_of_their_own_and_never_usd() {
        let table = ledger().table(&[Key::Unit]);
        let rows: Vec<UnitRow> = table
            .rows
            .iter()
            .map(|r| {
                let units = r
                    .units
                    .iter()
                    .map(|(u, a)| (u.clone(), a.micros()))
                    .collect();
                (r.key[0].clone(), r.cost.micros(), units)
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("USD".to_string(), 800_000, vec![]),
                (
                    "credits".to_string(),
                    0,
                    vec![("credits".to_string(), 3_500_000)]
                ),
                (
                    "premium-requests".to_string(),
                    0,
                    vec![("premium-requests".to_string(), 12_000_000)]
                ),
            ]
        );
    }

    #[test]
    fn branches_are_rows_and_commits_without_one_are_none() {
        let mut ledger = ledger();
        ledger.commits[1].branch = Some("feature/cart".to_string());
        let table = ledger.table(&[Key::Branch]);
        let rows: Vec<(&str, u64, u128)> = table
            .rows
            .iter()
            .map(|r| (r.key[0].as_str(), r.commits, r.cost.micros()))
            .collect();
        assert_eq!(
            rows,
            vec![("feature/cart", 1, 500_000), ("none", 1, 300_000)]
        );
    }

    #[test]
    fn two_keys_make_one_row_per_pair_and_cost_per_commit_rounds_half_up() {
        let table = ledger().table(&[Key::Type, Key::Pr]);
        let keys: Vec<Vec<String>> = table.rows.iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys, vec![vec!["feat", "none"], vec!["fix", "#4"]]);
        let row = Row {
            commits: 3,
            cost: Money::from_micros(1_000_000),
            ..Row::default()
        };
        assert_eq!(row.cost_per_commit().micros(), 333_333);
        let row = Row {
            commits: 2,
            cost: Money::from_micros(1),
            ..Row::default()
        };
        assert_eq!(row.cost_per_commit().micros(), 1);
        assert!("weekly".parse::<Key>().is_err());
        assert_eq!("branch".parse::<Key>(), Ok(Key::Branch));
        assert!(
            Key::NAMES
                .iter()
                .all(|n| n.parse::<Key>().map(Key::name) == Ok(*n))
        );
        assert_eq!("Week".parse::<Key>(), Ok(Key::Week));
    }
}
