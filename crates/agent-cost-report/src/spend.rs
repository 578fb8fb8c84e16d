//! Spend in every unit, added up: USD estimates, and amounts in other units (credits,
//! premium requests) kept apart, never added to USD; and the charges of a ledger added up per
//! commit.

use std::collections::BTreeMap;

use agent_cost_events::Money;

use crate::ledger::{Charge, Ledger};

/// Spend in every unit: USD estimates, and amounts in other units kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spend {
    /// USD of the priced charges.
    pub usd: Money,
    /// Amounts in other units (`credits`, `premium-requests`), by unit.
    pub units: BTreeMap<String, Money>,
    /// Charges without a USD estimate (unknown models): the USD total understates them.
    pub unpriced: u64,
}

impl Spend {
    /// Adds one charge of a report's ledger.
    pub fn add_charge(&mut self, charge: &Charge) {
        match charge.cost {
            Some(cost) => self.usd = Money(self.usd.0.saturating_add(cost.0)),
            None => self.unpriced += 1,
        }
        for (unit, amount) in &charge.units {
            self.add_unit(unit, *amount);
        }
    }

    /// Adds one `AI-Model:` line (with its quantities in other units).
    pub fn add_model_line(&mut self, line: &agent_cost_trailers::ModelLine) {
        match line.cost {
            Some(cost) => self.usd = Money(self.usd.0.saturating_add(cost.0)),
            None => self.unpriced += 1,
        }
        for quantity in &line.quantities {
            self.add_unit(&quantity.unit, quantity.amount);
        }
    }

    /// Adds another spend.
    pub fn add(&mut self, other: &Spend) {
        self.usd = Money(self.usd.0.saturating_add(other.usd.0));
        self.unpriced += other.unpriced;
        for (unit, amount) in &other.units {
            self.add_unit(unit, *amount);
        }
    }

    /// Adds an amount in a unit other than USD.
    pub fn add_unit(&mut self, unit: &str, amount: Money) {
        let entry = self.units.entry(unit.to_string()).or_default();
        *entry = Money(entry.0.saturating_add(amount.0));
    }

    /// The amount in `unit`, a unit other than USD (zero when none was spent in it).
    pub fn in_unit(&self, unit: &str) -> Money {
        self.units.get(unit).copied().unwrap_or_default()
    }

    /// Whether nothing was spent in any unit.
    pub fn is_empty(&self) -> bool {
        self.usd == Money::ZERO
            && self.unpriced == 0
            && self.units.values().all(|amount| *amount == Money::ZERO)
    }
}

impl Ledger {
    /// The spend charged to each commit (index into [`Ledger::commits`]), for the commits with
    /// a charge.
    pub fn spend_by_commit(&self) -> BTreeMap<usize, Spend> {
        let mut by_commit: BTreeMap<usize, Spend> = BTreeMap::new();
        for charge in &self.charges {
            by_commit
                .entry(charge.commit)
                .or_default()
                .add_charge(charge);
        }
        by_commit
    }
}
