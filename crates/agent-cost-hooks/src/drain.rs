//! From pending spend to the lines of a trailer block.
//!
//! The store hands pending charges summed per (agent, model, speed, prompt-size class), so each
//! group is priced at one tier: the long-context tier applies to a group whose every request
//! exceeded its threshold. Models are named as the price list names them (dated names become
//! undated). A model the price list does not know is priced from the cost its source reported
//! when every charge carried one, and is otherwise written as unpriced; a group without tokens
//! (manual entries), or with a quantity in USD (rows of a billing export that state their cost,
//! such as Cursor's), whose every charge carried a cost is priced at that cost, whatever its
//! model. A group in premium requests (GitHub Copilot, a subscription) is never priced by its
//! tokens: it costs the source's estimate when every charge carried one, else its premium
//! requests at the list price (0.04 USD each). Amounts in other units (premium requests,
//! credits) travel as the model line's quantities, never as dollars; a quantity in USD (a
//! manual entry in USD, kept in a group of its own) is not written, its cost being the group's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use agent_cost_events::{Money, Unit};
use agent_cost_prices::{DEFAULT_MICRO_USD_PER_PREMIUM_REQUEST, PriceBook, PricedModel};
use agent_cost_store::{PendingGroup, PendingWorkType};
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
        let all_source_cost = group.charges > 0 && group.charges_with_source_cost == group.charges;
        let billed_in_usd = group
            .unit
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("USD"));
        let premium = group.unit.as_deref() == Some(Unit::PREMIUM_REQUESTS);
        let cost = match priced {
            // Premium requests are what a Copilot subscription bills: the group costs what its
            // source estimated for them, never its tokens' list price.
            _ if premium && all_source_cost => Some(group.source_cost),
            // Some charges without a cost (a request read again with another count): the
            // premium requests at the list price.
            _ if premium => Some(Money(
                u128::from(group.quantity) * u128::from(DEFAULT_MICRO_USD_PER_PREMIUM_REQUEST),
            )),
            // Spend without tokens (a manual entry naming a priced model), or spend a bill
            // states in USD (a Cursor export row with a cost), costs what was given.
            Some(_) if (group.tokens.is_zero() || billed_in_usd) && all_source_cost => {
                Some(group.source_cost)
            }
            Some(priced) => Some(
                priced
                    .prices
                    .cost_of_sum(&group.tokens, group.min_prompt_tokens),
            ),
            None if all_source_cost => Some(group.source_cost),
            None => None,
        };
        let mut line = ModelLine::from_tokens(
            group.agent.as_str(),
            name.clone(),
            group.requests,
            &group.tokens,
            cost,
        );
        // A quantity in USD is the group's cost already (manual entries in USD).
        if let Some(unit) = group
            .unit
            .as_ref()
            .filter(|u| !u.eq_ignore_ascii_case("USD"))
        {
            // Quantities are kept in millionths of their unit.
            line = line.with_quantity(Money::from_micros(group.quantity), unit.as_str());
        }
        models
            .entry((group.agent.clone(), name.clone()))
            .and_modify(|existing| existing.add(&line))
            .or_insert(line);
    }
    Summary {
        models: models.into_values().collect(),
    }
}

/// Gives each model line the kind of work of its manual entries (`agent-cost log TYPE`) when
/// all of the line's pending charges are such entries of one TYPE other than `other`; any
/// charge read from an agent's logs, or two kinds, leave the line without one.
pub fn apply_work_types(
    models: &mut [ModelLine],
    groups: &[PendingGroup],
    entries: &[PendingWorkType],
    book: &PriceBook,
) {
    if entries.is_empty() {
        return;
    }
    let mut charges: HashMap<(&str, &str), u64> = HashMap::new();
    for group in groups {
        *charges.entry((&group.agent, &group.model)).or_default() += group.charges;
    }
    let mut typed: HashMap<(&str, &str), (BTreeSet<&str>, u64)> = HashMap::new();
    for entry in entries {
        let slot = typed.entry((&entry.agent, &entry.model)).or_default();
        slot.0.insert(entry.work_type.as_str());
        slot.1 += entry.charges;
    }
    // Per model line (agent, trailer name): the work types of the logged models it sums.
    let mut lines: BTreeMap<(String, String), Vec<Option<&str>>> = BTreeMap::new();
    for (&(agent, model), &count) in &charges {
        let work_type = typed
            .get(&(agent, model))
            .filter(|(types, typed_charges)| *typed_charges == count && types.len() == 1)
            .and_then(|(types, _)| types.first().copied())
            .filter(|t| *t != "other");
        lines
            .entry((agent.to_string(), book.display_name(model)))
            .or_default()
            .push(work_type);
    }
    for line in models {
        let Some(types) = lines.get(&(line.agent.clone(), line.model.clone())) else {
            continue;
        };
        line.work_type = match types.first() {
            Some(Some(first)) if types.iter().all(|t| t == &Some(*first)) => {
                Some(first.to_string())
            }
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_cost_events::TokenCounts;
    use agent_cost_trailers::{Block, parse_blocks};

    fn group(model: &str, unit: Option<&str>, quantity: u64) -> PendingGroup {
        PendingGroup {
            agent: "copilot".to_string(),
            model: model.to_string(),
            requests: 3,
            tokens: TokenCounts {
                input: 1_000,
                output: 100,
                ..TokenCounts::default()
            },
            unit: unit.map(str::to_string),
            quantity,
            charges: 3,
            ..PendingGroup::default()
        }
    }

    #[test]
    fn premium_requests_become_quantities_never_dollars() {
        let book = PriceBook::builtin();
        let groups = [
            group("gpt-5", Some("premium-requests"), 3_000_000),
            group("claude-sonnet-4-5", Some("premium-requests"), 1_500_000),
        ];
        let summary = summarize(&groups, &book);
        let block = Block::build(
            "0123456789abcdef".to_string(),
            summary.models,
            &Default::default(),
            Vec::new(),
        );
        let text = block.to_trailer_lines().join("\n");
        assert!(
            text.contains("AI-Cost-Estimate: 4.5 premium-requests"),
            "{text}"
        );
        let parsed = &parse_blocks(&format!("Subject\n\n{text}\n"))[0];
        assert_eq!(
            parsed.unit_amounts()["premium-requests"],
            Money::from_micros(4_500_000)
        );
        // No charge carried a cost: the premium requests at 0.04 USD, not the tokens' list
        // price: 4.5 × 0.04 = 0.18 USD.
        assert_eq!(parsed.usd(), Money::from_micros(180_000));
    }

    #[test]
    fn premium_requests_cost_their_source_estimate_whatever_the_tokens() {
        let book = PriceBook::builtin();
        // Copilot: 3 requests to a priced model, 2 premium requests estimated at 0.05 USD
        // each (a configured rate), with tokens that would cost 0.0045 USD at list prices.
        let copilot = PendingGroup {
            source_cost: Money::from_micros(100_000),
            charges_with_source_cost: 3,
            ..group("claude-sonnet-4-5", Some("premium-requests"), 2_000_000)
        };
        let summary = summarize([&copilot], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(100_000)));
        // One charge without a cost: the list price of the premium requests, 2 × 0.04.
        let mixed = PendingGroup {
            charges_with_source_cost: 2,
            ..copilot.clone()
        };
        let summary = summarize([&mixed], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(80_000)));
        // Zero premium requests (an included model) cost nothing, tokens or not.
        let included = PendingGroup {
            source_cost: Money::ZERO,
            ..group("gpt-4.1", Some("premium-requests"), 0)
        };
        let included = PendingGroup {
            charges_with_source_cost: included.charges,
            ..included
        };
        let summary = summarize([&included], &book);
        assert_eq!(summary.models[0].cost, Some(Money::ZERO));
    }

    #[test]
    fn spend_without_tokens_costs_what_its_source_gave_even_for_a_priced_model() {
        let book = PriceBook::builtin();
        let manual = PendingGroup {
            agent: "kiro".to_string(),
            model: "claude-sonnet-4-5".to_string(),
            unit: Some("credits".to_string()),
            quantity: 1_260_000,
            source_cost: Money::from_micros(50_400),
            charges: 1,
            charges_with_source_cost: 1,
            ..PendingGroup::default()
        };
        let summary = summarize([&manual], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(50_400)));
        // With tokens, the price list prices them and the given cost is ignored.
        let with_tokens = PendingGroup {
            tokens: TokenCounts {
                output: 1_000,
                ..TokenCounts::default()
            },
            ..manual
        };
        let summary = summarize([&with_tokens], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(15_000)));
    }

    #[test]
    fn a_cost_billed_in_usd_wins_over_token_prices() {
        let book = PriceBook::builtin();
        // A Cursor export row with tokens and a cost: the cost it states is what was paid.
        let billed = PendingGroup {
            agent: "cursor".to_string(),
            model: "gpt-5".to_string(),
            requests: 1,
            tokens: TokenCounts {
                input: 1_000,
                output: 100,
                ..TokenCounts::default()
            },
            unit: Some("USD".to_string()),
            quantity: 50_000,
            source_cost: Money::from_micros(50_000),
            charges: 1,
            charges_with_source_cost: 1,
            ..PendingGroup::default()
        };
        let summary = summarize([&billed], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(50_000)));
        assert!(summary.models[0].quantities.is_empty());
        // A row without a cost is priced by its tokens: 1,000 × $1.25/M + 100 × $10/M.
        let included = PendingGroup {
            unit: None,
            quantity: 0,
            source_cost: Money::ZERO,
            charges_with_source_cost: 0,
            ..billed.clone()
        };
        let summary = summarize([&billed, &included], &book);
        assert_eq!(summary.models[0].cost, Some(Money::from_micros(52_250)));
    }

    #[test]
    fn a_line_takes_the_work_type_only_when_all_its_charges_are_entries_of_that_type() {
        let book = PriceBook::builtin();
        let manual = |agent: &str, model: &str, charges| PendingGroup {
            agent: agent.to_string(),
            model: model.to_string(),
            charges,
            ..PendingGroup::default()
        };
        let entry = |agent: &str, model: &str, work_type: &str, charges| PendingWorkType {
            agent: agent.to_string(),
            model: model.to_string(),
            work_type: work_type.to_string(),
            charges,
        };
        let groups = [
            manual("cursor", "gpt-5", 2),
            manual("kiro", "manual", 2),
            manual("aider", "manual", 1),
            manual("claude-code", "claude-sonnet-4-5", 3),
        ];
        let entries = [
            entry("cursor", "gpt-5", "fix", 2),
            entry("kiro", "manual", "doc", 1),
            entry("kiro", "manual", "test", 1),
            entry("aider", "manual", "other", 1),
            entry("claude-code", "claude-sonnet-4-5", "fix", 1),
        ];
        let mut models = summarize(&groups, &book).models;
        apply_work_types(&mut models, &groups, &entries, &book);
        let types: Vec<(&str, Option<&str>)> = models
            .iter()
            .map(|m| (m.agent.as_str(), m.work_type.as_deref()))
            .collect();
        assert_eq!(
            types,
            [
                ("aider", None),
                ("claude-code", None),
                ("cursor", Some("fix")),
                ("kiro", None),
            ]
        );
    }
}
