//! The block: one drain of spend as data, how it is built (rounding, sums, sorting), merged for
//! `--amend`, written as trailer lines, and given a fresh id.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use agent_cost_events::{Money, PICOS_PER_MICRO, TokenCounts};

/// Trailer key of the per-agent summary line.
pub const KEY_AGENT: &str = "AI-Agent";
/// Trailer key of the per-(agent, model) line.
pub const KEY_MODEL: &str = "AI-Model";
/// Trailer key of a model's request and token counts; it follows its `AI-Model:` line.
pub const KEY_TOKENS: &str = "AI-Tokens";
/// Trailer key of what a model consumed in a unit other than USD (`credits`,
/// `premium-requests`); it follows its `AI-Model:` line (and `AI-Tokens:` line).
pub const KEY_QUANTITY: &str = "AI-Quantity";
/// Trailer key of the block's total, one line per unit.
pub const KEY_COST_ESTIMATE: &str = "AI-Cost-Estimate";
/// Trailer key naming a block that this block includes (written by `--amend` merges).
pub const KEY_COST_REPLACES: &str = "AI-Cost-Replaces";
/// Trailer key of the block's unique id; it closes the block.
pub const KEY_COST_ID: &str = "AI-Cost-Id";
/// Every key a v1 block is made of, in the order they appear in a block.
pub const OUR_KEYS: [&str; 7] = [
    KEY_AGENT,
    KEY_MODEL,
    KEY_TOKENS,
    KEY_QUANTITY,
    KEY_COST_ESTIMATE,
    KEY_COST_REPLACES,
    KEY_COST_ID,
];
/// The unit of model costs (`cost=`) and of the first estimate of every block.
pub const UNIT_USD: &str = "USD";
/// The unit of agents that bill in credits.
pub const UNIT_CREDITS: &str = "credits";
/// The unit of agents that bill per premium request (GitHub Copilot).
pub const UNIT_PREMIUM_REQUESTS: &str = "premium-requests";
/// The longest line [`Block::to_trailer_lines`] writes for realistic values (model names up to
/// 40 characters, agent and unit names up to 25, counts up to 10¹⁰, amounts up to
/// 99999.999999): commitlint's conventional config rejects longer body and footer lines.
pub const MAX_LINE_CHARS: usize = 100;

/// The largest amount a trailer may carry (`u64::MAX` micro-units, about 1.8·10¹³).
///
/// Larger amounts are rejected when read and clamped when built, so that sums can never
/// overflow and formatting never panics.
pub const MAX_MONEY: Money = Money(u64::MAX as u128 * PICOS_PER_MICRO);

/// An amount in a unit other than USD, e.g. 12 `premium-requests` or 3.5 `credits`.
///
/// Never added to a USD amount: readers keep one total per unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quantity {
    /// The amount, at most six fractional digits once written.
    pub amount: Money,
    /// The unit word, e.g. [`UNIT_CREDITS`] or [`UNIT_PREMIUM_REQUESTS`]; never `USD`.
    pub unit: String,
}

/// Whether `text` can be a `type=` value: 1 to 16 lowercase ASCII letters.
pub fn is_work_type(text: &str) -> bool {
    (1..=16).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase())
}

impl Quantity {
    /// A quantity of `amount` in `unit`.
    pub fn new(amount: Money, unit: impl Into<String>) -> Quantity {
        Quantity {
            amount,
            unit: unit.into(),
        }
    }
}

/// One model of a drain: what one model cost one agent. Written as an `AI-Model:` line, an
/// `AI-Tokens:` line and one `AI-Quantity:` line per unit other than USD.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ModelLine {
    /// Agent name, e.g. `claude-code`.
    pub agent: String,
    /// Model name, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// Number of API requests (`req=`).
    pub requests: u64,
    /// Input tokens not read from or written to the cache (`in=`).
    pub input: u64,
    /// Output tokens, reasoning included (`out=`).
    pub output: u64,
    /// Tokens written to the prompt cache (`cw=`).
    pub cache_write: u64,
    /// Tokens read from the prompt cache (`cr=`).
    pub cache_read: u64,
    /// Cost in USD; `None` when no USD price is known (`cost=unpriced`), which includes a
    /// model billed only in another unit.
    pub cost: Option<Money>,
    /// Amounts in units other than USD (one per unit; `AI-Quantity:` lines). Empty for models
    /// billed in tokens.
    pub quantities: Vec<Quantity>,
    /// The kind of work (`fix`, `feat`, …) when all of the line's spend was recorded by hand
    /// with that TYPE (`agent-cost log`): the `type=` pair, left out when the line would
    /// exceed [`MAX_LINE_CHARS`].
    pub work_type: Option<String>,
}

impl ModelLine {
    /// A model line from summed token counts (both cache-write lifetimes count as `cache-write`).
    pub fn from_tokens(
        agent: impl Into<String>,
        model: impl Into<String>,
        requests: u64,
        tokens: &TokenCounts,
        cost: Option<Money>,
    ) -> ModelLine {
        ModelLine {
            agent: agent.into(),
            model: model.into(),
            requests,
            input: tokens.input,
            output: tokens.output,
            cache_write: tokens.cache_write_5m.saturating_add(tokens.cache_write_1h),
            cache_read: tokens.cache_read,
            cost,
            quantities: Vec::new(),
            work_type: None,
        }
    }

    /// The line with `amount` more in `unit` (added to what it has in that unit already).
    pub fn with_quantity(mut self, amount: Money, unit: impl Into<String>) -> ModelLine {
        self.add_quantity(&Quantity::new(amount, unit));
        self
    }

    /// The line's amount in `unit`, if it has one.
    pub fn quantity(&self, unit: &str) -> Option<Money> {
        self.quantities
            .iter()
            .find(|q| q.unit == unit)
            .map(|q| q.amount)
    }

    fn add_quantity(&mut self, quantity: &Quantity) {
        match self.quantities.iter_mut().find(|q| q.unit == quantity.unit) {
            Some(existing) => existing.amount = add_money(existing.amount, quantity.amount),
            None => self.quantities.push(quantity.clone()),
        }
    }

    /// Adds `other`'s requests, tokens, cost and quantities (per unit); the cost becomes
    /// `None` if either is unpriced.
    pub fn add(&mut self, other: &ModelLine) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cost = match (self.cost, other.cost) {
            (Some(a), Some(b)) => Some(add_money(a, b)),
            _ => None,
        };
        for quantity in &other.quantities {
            self.add_quantity(quantity);
        }
        if self.work_type != other.work_type {
            self.work_type = None;
        }
    }
}

/// One `AI-Agent:` line: an agent's sessions and the sum of its models' rounded costs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentLine {
    /// Agent name.
    pub agent: String,
    /// Number of agent sessions that contributed to the drain.
    pub sessions: u64,
    /// Sum of this agent's priced model costs (each already rounded to micro-dollars).
    pub cost: Money,
    /// Number of this agent's models without a known price.
    pub unpriced: u64,
}

/// One `AI-Cost-Estimate:` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Estimate {
    /// The amount, at most six fractional digits.
    pub amount: Money,
    /// The unit word: `USD`, or e.g. `credits`, `premium-requests`.
    pub unit: String,
    /// True when some model could not be priced, so the amount is a lower bound.
    pub incomplete: bool,
}

/// One drain of spend: the trailer lines between one `AI-Cost-Id:` and the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Block {
    /// The drain's unique id (16 lowercase hex digits when written by this version); empty
    /// for a block read without its closing `AI-Cost-Id:` line.
    pub id: String,
    /// `AI-Agent:` lines, sorted by agent.
    pub agents: Vec<AgentLine>,
    /// `AI-Model:` lines, sorted by agent then model.
    pub models: Vec<ModelLine>,
    /// `AI-Cost-Estimate:` lines, one per unit (`USD` first).
    pub estimates: Vec<Estimate>,
    /// Ids of older blocks whose amounts this block includes (`AI-Cost-Replaces:`).
    pub replaces: Vec<String>,
}

impl Block {
    /// Builds a block from per-(agent, model) spend.
    ///
    /// Names are normalised (whitespace and control characters become `-`, empty names become
    /// `unknown`), lines with the same (agent, model) are summed, each model's cost and
    /// quantities are rounded half up to micro-units, agent lines and the USD estimate are the
    /// sums of the rounded model costs, each other unit gets an estimate that is the sum of the
    /// models' rounded quantities in it, and everything is sorted (quantities by unit). A
    /// quantity in `USD` is not a quantity: it becomes the model's cost if the model has none,
    /// and is dropped otherwise. `sessions_per_agent` gives each agent's session
    /// count; an agent listed there with sessions but no model still gets an `AI-Agent:` line.
    /// `replaces` lists ids of blocks this one includes (duplicates and `id` itself dropped).
    pub fn build(
        id: String,
        models: Vec<ModelLine>,
        sessions_per_agent: &BTreeMap<String, u64>,
        replaces: Vec<String>,
    ) -> Block {
        let mut merged: BTreeMap<(String, String), ModelLine> = BTreeMap::new();
        for mut line in models {
            line.agent = normalize_name(&line.agent);
            line.model = normalize_name(&line.model);
            let quantities = std::mem::take(&mut line.quantities);
            for quantity in quantities {
                let unit = normalize_name(&quantity.unit);
                if unit.eq_ignore_ascii_case(UNIT_USD) {
                    line.cost = line.cost.or(Some(quantity.amount));
                } else {
                    line.add_quantity(&Quantity::new(quantity.amount, unit));
                }
            }
            let key = (line.agent.clone(), line.model.clone());
            match merged.get_mut(&key) {
                Some(existing) => existing.add(&line),
                None => {
                    merged.insert(key, line);
                }
            }
        }
        let models: Vec<ModelLine> = merged
            .into_values()
            .map(|mut line| {
                line.cost = line.cost.map(round_micros);
                for quantity in &mut line.quantities {
                    quantity.amount = round_micros(quantity.amount);
                }
                line.quantities.sort_by(|a, b| a.unit.cmp(&b.unit));
                line
            })
            .collect();

        let mut agents: BTreeMap<String, AgentLine> = BTreeMap::new();
        for (agent, sessions) in sessions_per_agent {
            if *sessions > 0 {
                let agent = normalize_name(agent);
                let entry = agents
                    .entry(agent.clone())
                    .or_insert_with(|| empty_agent(agent));
                entry.sessions = entry.sessions.saturating_add(*sessions);
            }
        }
        let mut total = Money::ZERO;
        let mut unpriced_models = 0u64;
        let mut other_units: BTreeMap<&str, Money> = BTreeMap::new();
        for line in &models {
            for quantity in &line.quantities {
                let entry = other_units.entry(&quantity.unit).or_default();
                *entry = add_money(*entry, quantity.amount);
            }
            let entry = agents
                .entry(line.agent.clone())
                .or_insert_with(|| empty_agent(line.agent.clone()));
            match line.cost {
                Some(cost) => {
                    entry.cost = add_money(entry.cost, cost);
                    total = add_money(total, cost);
                }
                None => {
                    entry.unpriced += 1;
                    unpriced_models += 1;
                }
            }
        }

        let id = normalize_id(&id);
        let mut kept: Vec<String> = Vec::new();
        for other in replaces {
            let other = normalize_id(&other);
            if !other.is_empty() && other != id && !kept.contains(&other) {
                kept.push(other);
            }
        }

        let mut estimates = vec![Estimate {
            amount: total,
            unit: UNIT_USD.to_string(),
            incomplete: unpriced_models > 0,
        }];
        estimates.extend(other_units.into_iter().map(|(unit, amount)| Estimate {
            amount,
            unit: unit.to_string(),
            incomplete: false,
        }));
        Block {
            id,
            agents: agents.into_values().collect(),
            models,
            estimates,
            replaces: kept,
        }
    }

    /// Merges older blocks and new spend into one block with id `id`, for `git commit --amend`.
    ///
    /// Model lines are summed by (agent, model) (a cost is unpriced if either side is,
    /// quantities add up per unit), agent sessions add up, an old block's estimate in a unit
    /// other than USD that none of its model lines carries is added to the merged estimate in
    /// that unit (one carried by its model lines is already in theirs), and `replaces`
    /// lists the merged blocks' ids followed by the ids they replaced, so a reader that sees
    /// an old block next to the merged one counts only the merged one.
    pub fn merge(
        id: String,
        blocks: &[Block],
        extra: Vec<ModelLine>,
        extra_sessions: &BTreeMap<String, u64>,
    ) -> Block {
        let mut models = Vec::new();
        let mut sessions: BTreeMap<String, u64> = BTreeMap::new();
        let mut replaces = Vec::new();
        let mut other_units: BTreeMap<String, Estimate> = BTreeMap::new();
        for block in blocks {
            models.extend(block.models.iter().cloned());
            for agent in &block.agents {
                let entry = sessions.entry(agent.agent.clone()).or_default();
                *entry = entry.saturating_add(agent.sessions);
            }
            if !block.id.is_empty() {
                replaces.push(block.id.clone());
            }
            replaces.extend(block.replaces.iter().cloned());
            for estimate in &block.estimates {
                if estimate.unit.eq_ignore_ascii_case(UNIT_USD)
                    || block
                        .models
                        .iter()
                        .any(|m| m.quantity(&estimate.unit).is_some())
                {
                    continue;
                }
                let entry = other_units
                    .entry(estimate.unit.clone())
                    .or_insert_with(|| Estimate {
                        amount: Money::ZERO,
                        unit: estimate.unit.clone(),
                        incomplete: false,
                    });
                entry.amount = add_money(entry.amount, estimate.amount);
                entry.incomplete |= estimate.incomplete;
            }
        }
        models.extend(extra);
        for (agent, count) in extra_sessions {
            let entry = sessions.entry(agent.clone()).or_default();
            *entry = entry.saturating_add(*count);
        }
        let mut block = Block::build(id, models, &sessions, replaces);
        for (unit, carried) in other_units {
            let unit = normalize_name(&unit);
            match block.estimates.iter_mut().find(|e| e.unit == unit) {
                Some(estimate) => {
                    estimate.amount = add_money(estimate.amount, carried.amount);
                    estimate.incomplete |= carried.incomplete;
                }
                None => block.estimates.push(Estimate { unit, ..carried }),
            }
        }
        block.estimates[1..].sort_by(|a, b| a.unit.cmp(&b.unit));
        block
    }

    /// The block as trailer lines (without line endings), in v1 order: `AI-Agent:` lines, for
    /// each model its `AI-Model:`, `AI-Tokens:` and `AI-Quantity:` lines, `AI-Cost-Estimate:`
    /// lines, `AI-Cost-Replaces:` lines, `AI-Cost-Id:`.
    ///
    /// For realistic values every line is at most [`MAX_LINE_CHARS`] characters.
    pub fn to_trailer_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(
            self.agents.len()
                + 2 * self.models.len()
                + self.estimates.len()
                + self.replaces.len()
                + 1,
        );
        for agent in &self.agents {
            let mut line = format!(
                "{KEY_AGENT}: {} sessions={} cost={}",
                normalize_name(&agent.agent),
                agent.sessions,
                clamp(agent.cost).to_decimal()
            );
            if agent.unpriced > 0 {
                line.push_str(&format!(" unpriced={}", agent.unpriced));
            }
            lines.push(line);
        }
        for model in &self.models {
            let cost = match model.cost {
                Some(cost) => clamp(cost).to_decimal(),
                None => "unpriced".to_string(),
            };
            let mut line = format!(
                "{KEY_MODEL}: {} agent={} cost={cost}",
                normalize_name(&model.model),
                normalize_name(&model.agent),
            );
            if let Some(work_type) = model.work_type.as_deref().filter(|t| is_work_type(t)) {
                let pair = format!(" type={work_type}");
                if line.chars().count() + pair.len() <= MAX_LINE_CHARS {
                    line.push_str(&pair);
                }
            }
            lines.push(line);
            lines.push(format!(
                "{KEY_TOKENS}: req={} in={} out={} cw={} cr={}",
                model.requests, model.input, model.output, model.cache_write, model.cache_read,
            ));
            for quantity in &model.quantities {
                let unit = normalize_name(&quantity.unit);
                if !unit.eq_ignore_ascii_case(UNIT_USD) {
                    lines.push(format!(
                        "{KEY_QUANTITY}: {} {unit}",
                        amount_text(quantity.amount, &unit)
                    ));
                }
            }
        }
        let unpriced_models = self.models.iter().filter(|m| m.cost.is_none()).count();
        for estimate in &self.estimates {
            let unit = normalize_name(&estimate.unit);
            let mut line = format!(
                "{KEY_COST_ESTIMATE}: {} {unit}",
                amount_text(estimate.amount, &unit),
            );
            if estimate.incomplete {
                if estimate.unit == UNIT_USD && unpriced_models > 0 {
                    let plural = if unpriced_models == 1 { "" } else { "s" };
                    line.push_str(&format!(
                        " (incomplete: {unpriced_models} model{plural} unpriced)"
                    ));
                } else {
                    line.push_str(" (incomplete)");
                }
            }
            lines.push(line);
        }
        for replaced in &self.replaces {
            lines.push(format!("{KEY_COST_REPLACES}: {}", normalize_id(replaced)));
        }
        lines.push(format!("{KEY_COST_ID}: {}", normalize_id(&self.id)));
        lines
    }

    /// The USD estimate of the block: its `USD` estimate line if it has one, else the sum of
    /// its priced model lines.
    pub fn usd(&self) -> Money {
        self.estimates
            .iter()
            .find(|e| e.unit == UNIT_USD)
            .map(|e| e.amount)
            .unwrap_or_else(|| {
                self.models
                    .iter()
                    .filter_map(|m| m.cost)
                    .fold(Money::ZERO, add_money)
            })
    }

    /// The block's amounts in units other than USD, by unit: for each unit, its
    /// `AI-Cost-Estimate:` line if it has one (the first), else the sum of its models'
    /// quantities in that unit. USD is never among them.
    pub fn unit_amounts(&self) -> BTreeMap<String, Money> {
        let mut amounts: BTreeMap<String, Money> = BTreeMap::new();
        for estimate in &self.estimates {
            if !estimate.unit.eq_ignore_ascii_case(UNIT_USD) {
                amounts
                    .entry(estimate.unit.clone())
                    .or_insert(estimate.amount);
            }
        }
        let mut from_models: BTreeMap<&str, Money> = BTreeMap::new();
        for quantity in self.models.iter().flat_map(|m| &m.quantities) {
            if !quantity.unit.eq_ignore_ascii_case(UNIT_USD)
                && !amounts.contains_key(&quantity.unit)
            {
                let entry = from_models.entry(&quantity.unit).or_default();
                *entry = add_money(*entry, quantity.amount);
            }
        }
        amounts.extend(
            from_models
                .into_iter()
                .map(|(unit, amount)| (unit.to_string(), amount)),
        );
        amounts
    }

    /// True when some model of the block is unpriced or an estimate says it is incomplete.
    pub fn is_incomplete(&self) -> bool {
        self.models.iter().any(|m| m.cost.is_none()) || self.estimates.iter().any(|e| e.incomplete)
    }

    /// Whether the block is one a reader can count, as agent-cost writes them: an id of 16
    /// hexadecimal digits, at least one `AI-Model:` line, a USD estimate equal to the sum of
    /// the priced model costs, and for each unit the models have quantities in, an estimate
    /// equal to their sum. The sums may differ from the estimates by one micro-unit per
    /// model line (each line is rounded on its own). A hand-typed `AI-Cost-Estimate:` without
    /// model lines, or lines that do not add up, are not a block to count.
    pub fn is_well_formed(&self) -> bool {
        let written_id = self.id.len() == 16 && self.id.bytes().all(|b| b.is_ascii_hexdigit());
        if !written_id || self.models.is_empty() {
            return false;
        }
        let slack = self.models.len() as u128 * PICOS_PER_MICRO;
        let adds_up = |estimate: Option<Money>, sum: Money| {
            estimate.is_some_and(|e| e.0.abs_diff(sum.0) <= slack)
        };
        let estimate = |unit: &str| {
            self.estimates
                .iter()
                .find(|e| e.unit.eq_ignore_ascii_case(unit))
                .map(|e| e.amount)
        };
        let priced = self
            .models
            .iter()
            .filter_map(|m| m.cost)
            .fold(Money::ZERO, add_money);
        if !adds_up(estimate(UNIT_USD), priced) {
            return false;
        }
        let mut by_unit: BTreeMap<&str, Money> = BTreeMap::new();
        for quantity in self.models.iter().flat_map(|m| &m.quantities) {
            if !quantity.unit.eq_ignore_ascii_case(UNIT_USD) {
                let entry = by_unit.entry(&quantity.unit).or_default();
                *entry = add_money(*entry, quantity.amount);
            }
        }
        by_unit
            .into_iter()
            .all(|(unit, sum)| adds_up(estimate(unit), sum))
    }

    /// Whether this block holds at least `other`'s spend: for each of `other`'s model lines, a
    /// line of the same agent and model with at least its requests, tokens, cost and
    /// quantities. A block made by `--amend` holds the blocks it replaces.
    pub fn includes(&self, other: &Block) -> bool {
        other.models.iter().all(|theirs| {
            self.models.iter().any(|ours| {
                ours.agent == theirs.agent
                    && ours.model == theirs.model
                    && ours.requests >= theirs.requests
                    && ours.input >= theirs.input
                    && ours.output >= theirs.output
                    && ours.cache_write >= theirs.cache_write
                    && ours.cache_read >= theirs.cache_read
                    && match (ours.cost, theirs.cost) {
                        (Some(a), Some(b)) => a >= b,
                        (_, None) => true,
                        (None, Some(_)) => false,
                    }
                    && theirs.quantities.iter().all(|q| {
                        ours.quantity(&q.unit)
                            .is_some_and(|amount| amount >= q.amount)
                    })
            })
        })
    }
}

/// A fresh block id: 16 lowercase hex digits, different on every call.
///
/// Mixes the time in nanoseconds, the process id, a process-wide counter and the randomly
/// keyed [`std::collections::hash_map::RandomState`] through SipHash.
pub fn new_block_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}

/// Adds two amounts, saturating at [`MAX_MONEY`].
pub(crate) fn add_money(a: Money, b: Money) -> Money {
    clamp(Money(a.0.saturating_add(b.0)))
}

/// Caps an amount at [`MAX_MONEY`].
pub(crate) fn clamp(m: Money) -> Money {
    if m > MAX_MONEY { MAX_MONEY } else { m }
}

/// Rounds half up to whole micro-units, after capping (so it cannot overflow).
fn round_micros(m: Money) -> Money {
    clamp(m).round_to_micros()
}

/// An amount as written: six decimals in USD (`0.410000`), and without trailing zeros in
/// other units (`12`, `3.5`).
fn amount_text(amount: Money, unit: &str) -> String {
    if unit == UNIT_USD {
        return clamp(amount).to_decimal();
    }
    clamp(amount).to_decimal_trimmed()
}

/// A name as written in a trailer: whitespace and control characters become `-`, and an empty
/// name becomes `unknown`.
pub fn normalize_name(name: &str) -> String {
    if name.is_empty() {
        return "unknown".to_string();
    }
    name.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// An id as written and compared: lowercase, without whitespace or control characters.
pub(crate) fn normalize_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn empty_agent(agent: String) -> AgentLine {
    AgentLine {
        agent,
        sessions: 0,
        cost: Money::ZERO,
        unpriced: 0,
    }
}
