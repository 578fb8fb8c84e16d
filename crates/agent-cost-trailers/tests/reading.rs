//! Reading history: squash-merge shapes, prose that mentions our keys, and range totals.

mod common;

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_trailers::{Block, RangeTotals, parse_blocks};
use common::{model, sample_block};

fn indent(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

fn one_model_block(id: &str, micros: Option<u64>) -> Block {
    Block::build(
        id.to_string(),
        vec![model("claude-code", "claude-sonnet-4-5", micros)],
        &BTreeMap::from([("claude-code".to_string(), 1)]),
        vec![],
    )
}

#[test]
fn local_merge_squash_message_parses_both_blocks() {
    let a = sample_block("aaaaaaaaaaaaaaaa");
    let b = one_model_block("bbbbbbbbbbbbbbbb", Some(5));
    let message = format!(
        "Squashed commit of the following:\n\ncommit 1111111111111111111111111111111111111111\nAuthor: A U Thor <author@example.com>\nDate:   Mon Jan 1 00:00:00 2024 +0000\n\n    Second change\n\n{}\ncommit 2222222222222222222222222222222222222222\nAuthor: A U Thor <author@example.com>\nDate:   Mon Jan 1 00:00:00 2024 +0000\n\n    First change\n    \n    Body.\n    \n{}",
        indent(&b.to_trailer_lines()),
        indent(&a.to_trailer_lines())
    );
    assert_eq!(parse_blocks(&message), vec![b, a]);
}

#[test]
fn github_squash_body_parses_both_blocks() {
    let a = sample_block("aaaaaaaaaaaaaaaa");
    let b = one_model_block("bbbbbbbbbbbbbbbb", None);
    let message = format!(
        "Add the feature (#42)\n\n* First change\n\nBody.\n\n{}\n\n* Second change\n\n{}\n\n---------\n\nCo-authored-by: B <b@example.com>\nCo-authored-by: C <c@example.com>\n",
        a.to_trailer_lines().join("\n"),
        b.to_trailer_lines().join("\n")
    );
    assert_eq!(parse_blocks(&message), vec![a, b]);
}

#[test]
fn prose_mentioning_our_keys_is_ignored() {
    let message = "Explain the format\n\nThe AI-Model: line holds tokens, see AI-Cost-Id: below.\n`AI-Cost-Estimate: 1 USD` in backticks is prose too.\n";
    assert!(parse_blocks(message).is_empty());
}

#[test]
fn leftover_lines_form_an_id_less_block_and_malformed_lines_are_skipped() {
    let message = "S\n\nAI-Model: m agent=a cost=0.5\nAI-Model: broken agent=a in=x cost=1\n";
    let blocks = parse_blocks(message);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].id, "");
    assert_eq!(blocks[0].models.len(), 1);

    // Only malformed lines and no id: nothing.
    assert!(parse_blocks("S\n\nAI-Model: is great\n").is_empty());
    // All malformed but closed by an id: the id still counts.
    let blocks = parse_blocks("S\n\nAI-Model: is great\nAI-Cost-Id: ABCDEF\n");
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].id, "abcdef");
    assert!(blocks[0].models.is_empty());
}

#[test]
fn keys_and_pairs_are_read_leniently() {
    let message = "S\n\nai-agent: x cost=1.5 future=1 sessions=3\nAI-MODEL: m cache-read=4 agent=x cost=1.5 extra=yes\nAI-Cost-Estimate: 1.5 USD\nAI-Cost-Estimate: 7 credits (incomplete)\nAI-Future-Key: whatever\nai-cost-id: 0123456789ABCDEF\n";
    let blocks = parse_blocks(message);
    assert_eq!(blocks.len(), 1);
    let block = &blocks[0];
    assert_eq!(block.id, "0123456789abcdef");
    assert_eq!(block.agents[0].sessions, 3);
    assert_eq!(block.models[0].cache_read, 4);
    assert_eq!(block.estimates.len(), 2);
    assert_eq!(block.estimates[1].unit, "credits");
    assert!(block.estimates[1].incomplete);
}

#[test]
fn duplicate_ids_count_once() {
    let a = one_model_block("aaaaaaaaaaaaaaaa", Some(1_000_000));
    let b = one_model_block("bbbbbbbbbbbbbbbb", Some(250_000));
    let mut range = RangeTotals::new();
    range.add_commit(vec![a.clone()]); // original commit
    range.add_commit(vec![b.clone()]);
    range.add_commit(vec![]); // commit without spend
    range.add_commit(vec![a.clone(), b.clone()]); // squash commit copying both
    let totals = range.finish();
    assert_eq!(totals.commits, 4);
    assert_eq!(totals.commits_with_cost, 3);
    assert_eq!(totals.drains, 2);
    assert_eq!(totals.duplicate_blocks, 2);
    assert_eq!(totals.replaced_blocks, 0);
    assert_eq!(totals.cost, Money::from_micros(1_250_000));
    assert_eq!(totals.tokens.input, 200);
    assert_eq!(totals.models.len(), 1);
    assert_eq!(totals.models[0].requests, 6);
    assert!(!totals.incomplete);
}

#[test]
fn replaced_blocks_are_skipped_in_either_order() {
    let old = one_model_block("aaaaaaaaaaaaaaaa", Some(1_000_000));
    let merged = Block::merge(
        "bbbbbbbbbbbbbbbb".to_string(),
        std::slice::from_ref(&old),
        vec![model("claude-code", "claude-sonnet-4-5", Some(500_000))],
        &BTreeMap::new(),
    );
    for order in [
        vec![old.clone(), merged.clone()],
        vec![merged.clone(), old.clone()],
    ] {
        let mut range = RangeTotals::new();
        for block in order {
            range.add_commit(vec![block]);
        }
        let totals = range.finish();
        assert_eq!(totals.drains, 1);
        assert_eq!(totals.replaced_blocks, 1);
        assert_eq!(totals.cost, Money::from_micros(1_500_000));
        assert_eq!(totals.models[0].requests, 6);
    }
    // The replacing block outside the range: the old one counts.
    let mut range = RangeTotals::new();
    range.add_commit(vec![old]);
    assert_eq!(range.finish().cost, Money::from_micros(1_000_000));
}

#[test]
fn unpriced_models_make_totals_incomplete_and_id_less_blocks_always_count() {
    let mut range = RangeTotals::new();
    range.add_commit(vec![sample_block("aaaaaaaaaaaaaaaa")]);
    let id_less = parse_blocks("S\n\nAI-Model: m agent=x in=1 cost=0.000002\n");
    range.add_commit(id_less.clone());
    range.add_commit(id_less);
    let totals = range.finish();
    assert_eq!(totals.drains, 3);
    assert!(totals.incomplete);
    assert_eq!(totals.cost, Money::from_micros(412_345 + 4));
    let mystery = totals
        .models
        .iter()
        .find(|m| m.model == "gpt-9-mystery")
        .unwrap();
    assert!(mystery.unpriced);
    assert_eq!(mystery.cost, Money::ZERO);
    // Sorted by cost, highest first.
    assert_eq!(totals.models[0].model, "claude-sonnet-4-5");
    assert!(totals.models.windows(2).all(|w| w[0].cost >= w[1].cost));
}

#[test]
fn totals_serialise_with_documented_field_names() {
    let mut range = RangeTotals::new();
    range.add_commit(vec![sample_block("aaaaaaaaaaaaaaaa")]);
    let json = serde_json::to_value(range.finish()).unwrap();
    assert_eq!(json["commits"], 1);
    assert_eq!(json["commits_with_cost"], 1);
    assert_eq!(json["cost_usd"], 0.412345);
    assert_eq!(json["incomplete"], true);
    assert_eq!(json["tokens"]["cache_write"], 900);
    assert_eq!(json["models"][0]["model"], "claude-sonnet-4-5");
    assert_eq!(json["models"][0]["agent"], "claude-code");
    assert_eq!(json["models"][0]["cost_usd"], 0.401234);
    assert_eq!(json["models"][2]["unpriced"], true);
}
