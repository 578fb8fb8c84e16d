//! What verification compares: a model's requests, tokens and amounts in units other than USD,
//! as signed integers so that differences are counts too.

use std::collections::BTreeMap;
use std::ops::{AddAssign, SubAssign};

use agent_cost_store::PendingGroup;
use agent_cost_trailers::{ModelLine, UNIT_USD};
use serde::Serialize;

/// Requests, tokens and other-unit amounts (millionths) of some spend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// API requests.
    pub requests: i64,
    /// Input tokens not read from or written to the cache.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Tokens written to the cache (both lifetimes).
    pub cache_write: i64,
    /// Tokens read from the cache.
    pub cache_read: i64,
    /// Amounts in units other than USD, in millionths, by unit.
    pub quantities: BTreeMap<String, i64>,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Counts {
    /// The counts of a ledger group (a quantity in USD is a cost, not a quantity: left out,
    /// as trailers leave it out).
    pub fn of_group(group: &PendingGroup) -> Counts {
        let mut counts = Counts {
            requests: signed(group.requests),
            input: signed(group.tokens.input),
            output: signed(group.tokens.output),
            cache_write: signed(
                group
                    .tokens
                    .cache_write_5m
                    .saturating_add(group.tokens.cache_write_1h),
            ),
            cache_read: signed(group.tokens.cache_read),
            quantities: BTreeMap::new(),
        };
        if let Some(unit) = group
            .unit
            .as_deref()
            .filter(|u| !u.eq_ignore_ascii_case(UNIT_USD))
            && group.quantity > 0
        {
            counts
                .quantities
                .insert(unit.to_string(), signed(group.quantity));
        }
        counts
    }

    /// The counts of a trailer's model line.
    pub fn of_line(line: &ModelLine) -> Counts {
        Counts {
            requests: signed(line.requests),
            input: signed(line.input),
            output: signed(line.output),
            cache_write: signed(line.cache_write),
            cache_read: signed(line.cache_read),
            quantities: line
                .quantities
                .iter()
                .filter(|q| q.amount.0 > 0)
                .map(|q| {
                    let micros = i64::try_from(q.amount.micros()).unwrap_or(i64::MAX);
                    (q.unit.clone(), micros)
                })
                .collect(),
        }
    }

    /// Whether every count is zero.
    pub fn is_zero(&self) -> bool {
        self.requests == 0
            && self.input == 0
            && self.output == 0
            && self.cache_write == 0
            && self.cache_read == 0
            && self.quantities.values().all(|q| *q == 0)
    }
}

impl AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, other: &Counts) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        for (unit, amount) in &other.quantities {
            let entry = self.quantities.entry(unit.clone()).or_default();
            *entry = entry.saturating_add(*amount);
        }
        self.quantities.retain(|_, q| *q != 0);
    }
}

impl SubAssign<&Counts> for Counts {
    fn sub_assign(&mut self, other: &Counts) {
        self.requests = self.requests.saturating_sub(other.requests);
        self.input = self.input.saturating_sub(other.input);
        self.output = self.output.saturating_sub(other.output);
        self.cache_write = self.cache_write.saturating_sub(other.cache_write);
        self.cache_read = self.cache_read.saturating_sub(other.cache_read);
        for (unit, amount) in &other.quantities {
            let entry = self.quantities.entry(unit.clone()).or_default();
            *entry = entry.saturating_sub(*amount);
        }
        self.quantities.retain(|_, q| *q != 0);
    }
}
