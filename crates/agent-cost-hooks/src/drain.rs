//! From pending spend to the lines of a trailer block.
//!
//! The store hands pending charges summed per (agent, model, speed, prompt-size class), so each
//! group is priced at one tier: the long-context tier applies to a group whose every request
//! exceeded its threshold. Models are named as the price list names them (dated names become
//! undated). A model the price list does not know is priced from the cost its source reported
//! when every charge carried one, and is otherwise written as unpriced.

use std::collections::{BTreeMap, HashMap};

use agent_cost_prices::{PriceBook, PricedModel};
use agent_cost_store::PendingGroup;
use agent_cost_trailers::ModelLine;

/// A model's trailer name and its prices (`None`: unpriced), looked up once per drain.
type PriceLookup = (String, Option<PricedModel>);

/// What a set of pending groups amounts to, ready for [`agent_cost_trailers::Block::build`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One line per (agent, model), summed and priced (`cost: None` = unpriced).
    pub models: Vec<ModelLine>,
}

/// Prices and sums pending groups.
pub fn summarize<'a>(
    groups: impl IntoIterator<Item = &'a PendingGroup>,
    book: &PriceBook,
) -> Summary {
    let mut models: BTreeMap<(String, String), ModelLine> = BTreeMap::new();
    let mut lookups: HashMap<(&str, Option<&str>), PriceLookup> = HashMap::new();
    for group in groups {
        let speed = group.speed.as_deref();
        let (name, priced) = lookups
            .entry((group.model.as_str(), speed))
            .or_insert_with(|| {
                (
                    book.display_name(&group.model),
                    book.lookup_with_speed(&group.model, speed),
                )
            });
        let cost = match priced {
            Some(priced) => Some(
                priced
                    .prices
                    .cost_of_sum(&group.tokens, group.min_prompt_tokens),
            ),
            None if group.charges > 0 && group.charges_with_source_cost == group.charges => {
                Some(group.source_cost)
            }
            None => None,
        };
        let line = ModelLine::from_tokens(
            group.agent.as_str(),
            name.clone(),
            group.requests,
            &group.tokens,
            cost,
        );
        models
            .entry((group.agent.clone(), name.clone()))
            .and_modify(|existing| existing.add(&line))
            .or_insert(line);
    }
    Summary {
        models: models.into_values().collect(),
    }
}
