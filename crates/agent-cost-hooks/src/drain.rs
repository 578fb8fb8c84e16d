//! From pending charges to the lines of a trailer block.
//!
//! Charges of the same event within one drain (a first charge and a top-up from a longer
//! streamed copy) are added up before pricing, so a long-context tier is decided on the whole
//! request. Models are named as the price list names them (dated names become undated).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use agent_cost_events::TokenCounts;
use agent_cost_ledger::journal::Charge;
use agent_cost_prices::{PriceBook, PricedModel};
use agent_cost_trailers::ModelLine;

/// A model's trailer name and its prices (`None`: unpriced), looked up once per drain.
type PriceLookup = (String, Option<PricedModel>);

/// What a set of charges amounts to, ready for [`agent_cost_trailers::Block::build`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One line per (agent, model), summed and priced (`cost: None` = unpriced).
    pub models: Vec<ModelLine>,
    /// Distinct sessions per agent.
    pub sessions: BTreeMap<String, u64>,
}

/// Prices and sums `charges`.
pub fn summarize<'a>(charges: impl IntoIterator<Item = &'a Charge>, book: &PriceBook) -> Summary {
    let mut by_event: HashMap<&str, (TokenCounts, u64, &Charge)> = HashMap::new();
    let mut order = Vec::new();
    let mut sessions: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for charge in charges {
        sessions
            .entry(charge.agent.as_str().to_string())
            .or_default()
            .insert(charge.session.as_str());
        let entry = by_event.entry(charge.event.as_str()).or_insert_with(|| {
            order.push(charge.event.as_str());
            (TokenCounts::default(), 0, charge)
        });
        entry.0 += charge.tokens;
        entry.1 += charge.requests;
    }
    let mut models: BTreeMap<(String, String), ModelLine> = BTreeMap::new();
    let mut lookups: HashMap<(&str, Option<&str>), PriceLookup> = HashMap::new();
    for event in order {
        let (tokens, requests, first) = &by_event[event];
        let speed = first.speed.as_deref();
        let (name, priced) = lookups
            .entry((first.model.as_str(), speed))
            .or_insert_with(|| {
                (
                    book.display_name(&first.model),
                    book.lookup_with_speed(&first.model, speed),
                )
            });
        let name = name.clone();
        let cost = priced.as_ref().map(|p| p.prices.cost(tokens));
        let line =
            ModelLine::from_tokens(first.agent.as_str(), name.clone(), *requests, tokens, cost);
        models
            .entry((first.agent.as_str().to_string(), name))
            .and_modify(|existing| existing.add(&line))
            .or_insert(line);
    }
    Summary {
        models: models.into_values().collect(),
        sessions: sessions
            .into_iter()
            .map(|(agent, set)| (agent, set.len() as u64))
            .collect(),
    }
}
