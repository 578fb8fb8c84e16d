//! Summing blocks over a range of commits: each `AI-Cost-Id` counted once, replaced blocks
//! skipped, totals kept in integers, one total per unit (an amount in credits or premium
//! requests is never added to the USD total).

use std::collections::{BTreeMap, HashMap, HashSet};

use agent_cost_events::Money;
use serde::{Serialize, Serializer};

use crate::block::{Block, add_money};

/// Accumulates the blocks of a range of commits; [`RangeTotals::finish`] sums them.
///
/// Blocks are kept until `finish` because a block that replaces another may come before or
/// after it in the walk.
#[derive(Debug, Clone, Default)]
pub struct RangeTotals {
    commits: u64,
    commits_with_cost: u64,
    blocks: Vec<Block>,
}

/// Token sums over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenTotals {
    /// Input tokens not read from or written to the cache.
    pub input: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Tokens written to the prompt cache.
    pub cache_write: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
}

/// What one (agent, model) cost over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelTotal {
    /// Agent name.
    pub agent: String,
    /// Model name.
    pub model: String,
    /// Number of API requests.
    pub requests: u64,
    /// Input tokens not read from or written to the cache.
    pub input: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Tokens written to the prompt cache.
    pub cache_write: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
    /// Sum of the priced lines' costs; serialised as `cost_usd`, a JSON number of dollars.
    #[serde(rename = "cost_usd", serialize_with = "decimal_number")]
    pub cost: Money,
    /// True when at least one of the summed lines was unpriced.
    pub unpriced: bool,
    /// Sums of the lines' quantities in units other than USD, sorted by unit.
    pub units: Vec<UnitTotal>,
}

/// An amount in one unit other than USD, summed over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitTotal {
    /// The unit word, e.g. `credits` or `premium-requests` (any unit a block names).
    pub unit: String,
    /// The sum, in integer micro-units at most; serialised as a JSON number.
    #[serde(serialize_with = "decimal_number")]
    pub amount: Money,
}

/// Totals of a range of commits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Commits in the range.
    pub commits: u64,
    /// Commits whose message holds at least one block.
    pub commits_with_cost: u64,
    /// Blocks counted (each distinct id once, plus every block without an id).
    pub drains: u64,
    /// Blocks skipped because the same id was already counted.
    pub duplicate_blocks: u64,
    /// Blocks skipped because another block in the range replaces (includes) them.
    pub replaced_blocks: u64,
    /// Blocks skipped because they are not well formed ([`Block::is_well_formed`]).
    pub malformed_blocks: u64,
    /// Sum of the priced model costs of counted blocks; serialised as `cost_usd`, a JSON
    /// number of dollars.
    #[serde(rename = "cost_usd", serialize_with = "decimal_number")]
    pub cost: Money,
    /// True when some counted model was unpriced, so `cost` is a lower bound.
    pub incomplete: bool,
    /// Token sums of counted blocks.
    pub tokens: TokenTotals,
    /// Per (agent, model), sorted by cost (highest first), then model, then agent.
    pub models: Vec<ModelTotal>,
    /// Totals in units other than USD (`credits`, `premium-requests`, any other unit a block
    /// names), sorted by unit. Kept apart from `cost`: never added to it.
    pub units: Vec<UnitTotal>,
}

/// An amount as a JSON number (of dollars, or of its unit), from whole micro-units.
fn decimal_number<S: Serializer>(amount: &Money, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(amount.as_f64())
}

/// Adds `amount` to the total in `unit`, keeping `units` sorted by unit.
fn add_unit(units: &mut Vec<UnitTotal>, unit: &str, amount: Money) {
    match units.binary_search_by(|u| u.unit.as_str().cmp(unit)) {
        Ok(i) => units[i].amount = add_money(units[i].amount, amount),
        Err(i) => units.insert(
            i,
            UnitTotal {
                unit: unit.to_string(),
                amount,
            },
        ),
    }
}

/// Whether a block of a range counts, by the rule every reader of history shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockFate {
    /// The block counts: the first block with its id (or a block without an id).
    Counted,
    /// An earlier block of the range has the same id: a copy made by git (squash, rebase,
    /// cherry-pick) of spend already counted.
    Duplicate,
    /// Another block of the range lists this block's id in `AI-Cost-Replaces:` and holds at
    /// least its spend (it was merged into that block by `--amend`).
    Replaced,
    /// Not a block to count ([`Block::is_well_formed`]): no id, no model lines, or lines
    /// that do not add up to the estimates (typed by hand, or edited).
    Malformed,
}

/// The fate of each block of a range, in the order given (walk order): a block that is not
/// well formed ([`Block::is_well_formed`]) does not count; each id counts once, at its first
/// well-formed block; a block replaced by another block of the range does not count, when the
/// replacing block holds at least its spend ([`Block::includes`]: a forged
/// `AI-Cost-Replaces:` cannot hide spend). [`RangeTotals::finish`] sums by this rule, and
/// reports that charge each drain to one commit use it to pick that commit (the one of the
/// counted block).
pub fn block_fates<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Vec<BlockFate> {
    let blocks: Vec<(&Block, bool)> = blocks
        .into_iter()
        .map(|block| (block, block.is_well_formed()))
        .collect();
    let mut by_id: HashMap<&str, &Block> = HashMap::new();
    for (block, _) in blocks.iter().filter(|(_, well_formed)| *well_formed) {
        by_id.entry(&block.id).or_insert(block);
    }
    let mut replaced: HashSet<&str> = HashSet::new();
    for (block, _) in blocks.iter().filter(|(_, well_formed)| *well_formed) {
        for id in &block.replaces {
            if *id != block.id
                && by_id
                    .get(id.as_str())
                    .is_some_and(|old| block.includes(old))
            {
                replaced.insert(id);
            }
        }
    }
    let mut seen: HashSet<&str> = HashSet::new();
    blocks
        .iter()
        .map(|&(block, well_formed)| {
            if !well_formed {
                BlockFate::Malformed
            } else if !seen.insert(&block.id) {
                BlockFate::Duplicate
            } else if replaced.contains(block.id.as_str()) {
                BlockFate::Replaced
            } else {
                BlockFate::Counted
            }
        })
        .collect()
}

impl RangeTotals {
    /// An empty accumulator.
    pub fn new() -> RangeTotals {
        RangeTotals::default()
    }

    /// Adds one commit and the blocks parsed from its message ([`crate::parse_blocks`]).
    pub fn add_commit(&mut self, blocks: Vec<Block>) {
        self.commits += 1;
        if !blocks.is_empty() {
            self.commits_with_cost += 1;
        }
        self.blocks.extend(blocks);
    }

    /// Sums the range: each block id counts once, a block replaced by another block of the
    /// range is not counted (the replacing block includes it), blocks without an id always
    /// count. A block's cost is the sum of its priced model lines (its USD estimate if it has
    /// no model lines); its amount in each other unit is [`Block::unit_amounts`], summed per
    /// unit and never into the cost.
    pub fn finish(self) -> Totals {
        let mut totals = Totals {
            commits: self.commits,
            commits_with_cost: self.commits_with_cost,
            ..Totals::default()
        };
        let mut models: BTreeMap<(&str, &str), ModelTotal> = BTreeMap::new();
        let mut units: Vec<UnitTotal> = Vec::new();
        for (block, fate) in self.blocks.iter().zip(block_fates(&self.blocks)) {
            match fate {
                BlockFate::Counted => {}
                BlockFate::Duplicate => {
                    totals.duplicate_blocks += 1;
                    continue;
                }
                BlockFate::Replaced => {
                    totals.replaced_blocks += 1;
                    continue;
                }
                BlockFate::Malformed => {
                    totals.malformed_blocks += 1;
                    continue;
                }
            }
            totals.drains += 1;
            totals.incomplete |= block.is_incomplete();
            if block.models.is_empty() {
                totals.cost = add_money(totals.cost, block.usd());
            }
            for (unit, amount) in block.unit_amounts() {
                add_unit(&mut units, &unit, amount);
            }
            for line in &block.models {
                if let Some(cost) = line.cost {
                    totals.cost = add_money(totals.cost, cost);
                }
                let t = &mut totals.tokens;
                t.input = t.input.saturating_add(line.input);
                t.output = t.output.saturating_add(line.output);
                t.cache_write = t.cache_write.saturating_add(line.cache_write);
                t.cache_read = t.cache_read.saturating_add(line.cache_read);
                let entry =
                    models
                        .entry((&line.agent, &line.model))
                        .or_insert_with(|| ModelTotal {
                            agent: line.agent.clone(),
                            model: line.model.clone(),
                            requests: 0,
                            input: 0,
                            output: 0,
                            cache_write: 0,
                            cache_read: 0,
                            cost: Money::ZERO,
                            unpriced: false,
                            units: Vec::new(),
                        });
                for quantity in &line.quantities {
                    add_unit(&mut entry.units, &quantity.unit, quantity.amount);
                }
                entry.requests = entry.requests.saturating_add(line.requests);
                entry.input = entry.input.saturating_add(line.input);
                entry.output = entry.output.saturating_add(line.output);
                entry.cache_write = entry.cache_write.saturating_add(line.cache_write);
                entry.cache_read = entry.cache_read.saturating_add(line.cache_read);
                match line.cost {
                    Some(cost) => entry.cost = add_money(entry.cost, cost),
                    None => entry.unpriced = true,
                }
            }
        }
        let mut models: Vec<ModelTotal> = models.into_values().collect();
        models.sort_by(|a, b| {
            b.cost
                .cmp(&a.cost)
                .then_with(|| a.model.cmp(&b.model))
                .then_with(|| a.agent.cmp(&b.agent))
        });
        totals.models = models;
        totals.units = units;
        totals
    }
}
