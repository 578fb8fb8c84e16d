//! Reading history: squash-merge shapes, prose that mentions our keys, and range totals.

mod common;

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_trailers::{
    Block, BlockFate, ModelLine, Quantity, RangeTotals, Totals, UNIT_CREDITS,
    UNIT_PREMIUM_REQUESTS, UNIT_USD, UnitTotal, block_fates, parse_blocks, parse_history_blocks,
};
use common::{model, sample_block, units_block};

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
fn unpriced_models_make_totals_incomplete_and_id_less_blocks_never_count() {
    let mut range = RangeTotals::new();
    range.add_commit(vec![sample_block("aaaaaaaaaaaaaaaa")]);
    let id_less = parse_blocks("S\n\nAI-Model: m agent=x in=1 cost=0.000002\n");
    range.add_commit(id_less.clone());
    range.add_commit(id_less);
    let totals = range.finish();
    assert_eq!(totals.drains, 1);
    assert_eq!(totals.malformed_blocks, 2);
    assert!(totals.incomplete);
    assert_eq!(totals.cost, Money::from_micros(412_345));
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

/// A block exactly as the first writer of format v1 wrote it (every count on the `AI-Model:`
/// line, long names): history holds such blocks, so they must read as they always did.
const OLD_FORM: &str = "Add the cart\n\nAI-Agent: claude-code sessions=2 cost=0.412345\nAI-Agent: codex sessions=1 cost=0.000000 unpriced=1\nAI-Model: claude-haiku-4-5 agent=claude-code requests=3 in=300 out=900 cache-write=0 cache-read=0 cost=0.011111\nAI-Model: claude-sonnet-4-5 agent=claude-code requests=14 in=1200 out=6800 cache-write=4000 cache-read=120000 cost=0.401234\nAI-Model: gpt-9-mystery agent=codex requests=2 in=10 out=20 cache-write=0 cache-read=30 cost=unpriced\nAI-Cost-Estimate: 0.412345 USD (incomplete: 1 model unpriced)\nAI-Cost-Replaces: 00000000000000aa\nAI-Cost-Id: 6f1c2a9e4b7d3f80\n";

fn line(agent: &str, model: &str, counts: [u64; 5], micros: Option<u64>) -> ModelLine {
    let [requests, input, output, cache_write, cache_read] = counts;
    ModelLine {
        work_type: None,
        agent: agent.to_string(),
        model: model.to_string(),
        requests,
        input,
        output,
        cache_write,
        cache_read,
        cost: micros.map(Money::from_micros),
        quantities: Vec::new(),
    }
}

/// The block of [`OLD_FORM`], built by this version.
fn old_form_block() -> Block {
    Block::build(
        "6f1c2a9e4b7d3f80".to_string(),
        vec![
            line(
                "claude-code",
                "claude-haiku-4-5",
                [3, 300, 900, 0, 0],
                Some(11_111),
            ),
            line(
                "claude-code",
                "claude-sonnet-4-5",
                [14, 1200, 6800, 4000, 120_000],
                Some(401_234),
            ),
            line("codex", "gpt-9-mystery", [2, 10, 20, 0, 30], None),
        ],
        &BTreeMap::from([("claude-code".to_string(), 2), ("codex".to_string(), 1)]),
        vec!["00000000000000aa".to_string()],
    )
}

fn sum(messages: &[String]) -> Totals {
    let mut range = RangeTotals::new();
    for message in messages {
        range.add_commit(parse_blocks(message));
    }
    range.finish()
}

#[test]
fn old_form_blocks_read_and_sum_exactly_like_the_new_form() {
    let block = old_form_block();
    assert_eq!(parse_blocks(OLD_FORM), vec![block.clone()]);

    let new_form = format!("Add the cart\n\n{}\n", block.to_trailer_lines().join("\n"));
    assert_ne!(new_form, OLD_FORM);
    assert!(new_form.contains("\nAI-Tokens: req=14 in=1200 out=6800 cw=4000 cr=120000\n"));
    assert_eq!(parse_blocks(&new_form), parse_blocks(OLD_FORM));

    let old = sum(&[OLD_FORM.to_string()]);
    let new = sum(std::slice::from_ref(&new_form));
    assert_eq!(old, new);
    assert_eq!(old.cost, Money::from_micros(412_345));
    assert_eq!(old.tokens.input, 1510);
    assert_eq!(old.tokens.cache_read, 120_030);
    assert!(old.incomplete);
    assert!(old.units.is_empty());

    // Old copies of a block (a squash merge, indented) and new ones count once, by id.
    let indented: String = OLD_FORM.lines().map(|l| format!("    {l}\n")).collect();
    assert_eq!(sum(&[indented, new_form]).drains, 1);

    // Old and new blocks in one range add up.
    let mut other = old_form_block();
    other.id = "1111111111111111".to_string();
    let other = format!("More\n\n{}\n", other.to_trailer_lines().join("\n"));
    let both = sum(&[OLD_FORM.to_string(), other]);
    assert_eq!(both.drains, 2);
    assert_eq!(both.cost, Money::from_micros(2 * 412_345));
    assert_eq!(both.models[0].requests, 28);
}

#[test]
fn either_form_of_count_names_reads_on_either_line() {
    let message = "S\n\nAI-Model: m agent=a req=1 cw=2 cr=3 cost=0.1\nAI-Model: n agent=a cost=0.2\nAI-Tokens: requests=4 in=5 out=6 cache-write=7 cache-read=8 future=9\nAI-Cost-Id: 0123456789abcdef\n";
    let block = &parse_blocks(message)[0];
    let m = &block.models[0];
    assert_eq!(
        (m.requests, m.cache_write, m.cache_read, m.input),
        (1, 2, 3, 0)
    );
    let n = &block.models[1];
    assert_eq!(
        [n.requests, n.input, n.output, n.cache_write, n.cache_read],
        [4, 5, 6, 7, 8]
    );
}

#[test]
fn tokens_and_quantities_belong_to_the_model_line_right_above() {
    let message = [
        "S",
        "",
        "AI-Tokens: req=1 in=1", // no model line above: skipped
        "AI-Model: m agent=a cost=1",
        "AI-Tokens: req=2 in=2",
        "AI-Quantity: 4 credits",
        "AI-Quantity: 7 premium-requests",
        "AI-Quantity: 5 credits", // a second one in a unit: skipped, ends m's lines
        "AI-Quantity: 9 other",   // so this one is no one's
        "AI-Model: n agent=a cost=1",
        "AI-Quantity: 6 USD", // never a quantity: skipped, ends n's lines
        "AI-Tokens: req=3",
        "AI-Model: o agent=a cost=1",
        "AI-Tokens: req=4",
        "AI-Tokens: req=5", // a second tokens line: skipped
        "AI-Model: p agent=a cost=1",
        "prose", // anything else ends p's lines
        "AI-Tokens: req=10",
        "AI-Model: q agent=a cost=1",
        "AI-Tokens: req=x", // malformed
        "AI-Cost-Estimate: 1 USD",
        "AI-Tokens: req=8",
        "AI-Cost-Id: 0123456789abcdef",
    ]
    .join("\n");
    let block = &parse_blocks(&message)[0];
    let requests: Vec<u64> = block.models.iter().map(|m| m.requests).collect();
    assert_eq!(requests, [2, 0, 4, 0, 0]);
    assert_eq!(block.models[0].input, 2);
    assert_eq!(
        block.models[0].quantities,
        vec![
            Quantity::new(Money::from_micros(4_000_000), UNIT_CREDITS),
            Quantity::new(Money::from_micros(7_000_000), UNIT_PREMIUM_REQUESTS),
        ]
    );
    assert!(block.models[1..].iter().all(|m| m.quantities.is_empty()));
    assert_eq!(block.unit_amounts().len(), 2);
}

#[test]
fn usd_premium_requests_and_credits_round_trip() {
    let block = units_block("aaaaaaaaaaaaaaaa");
    let lines = block.to_trailer_lines();
    assert!(lines.contains(&"AI-Quantity: 12 premium-requests".to_string()));
    assert!(lines.contains(&"AI-Quantity: 3.5 credits".to_string()));
    assert!(lines.contains(&"AI-Cost-Estimate: 12 premium-requests".to_string()));
    assert!(lines.contains(&"AI-Cost-Estimate: 3.5 credits".to_string()));
    assert!(
        lines
            .contains(&"AI-Cost-Estimate: 0.453234 USD (incomplete: 1 model unpriced)".to_string())
    );
    let message = format!("Subject\n\n{}\n", lines.join("\n"));
    assert_eq!(parse_blocks(&message), vec![block.clone()]);
    assert_eq!(
        block.unit_amounts(),
        BTreeMap::from([
            (UNIT_CREDITS.to_string(), Money::from_micros(3_500_000)),
            (
                UNIT_PREMIUM_REQUESTS.to_string(),
                Money::from_micros(12_000_000)
            ),
        ])
    );
}

#[test]
fn sums_keep_each_unit_apart() {
    let a = units_block("aaaaaaaaaaaaaaaa");
    let b = units_block("bbbbbbbbbbbbbbbb");
    let messages: Vec<String> = [&a, &b, &a]
        .iter()
        .map(|block| format!("S\n\n{}\n", block.to_trailer_lines().join("\n")))
        .collect();
    let totals = sum(&messages);
    assert_eq!(totals.drains, 2);
    assert_eq!(totals.duplicate_blocks, 1);
    assert_eq!(totals.cost, Money::from_micros(2 * 453_234));
    assert_eq!(
        totals.units,
        vec![
            UnitTotal {
                unit: UNIT_CREDITS.to_string(),
                amount: Money::from_micros(7_000_000),
            },
            UnitTotal {
                unit: UNIT_PREMIUM_REQUESTS.to_string(),
                amount: Money::from_micros(24_000_000),
            },
        ]
    );
    let copilot = totals.models.iter().find(|m| m.agent == "copilot").unwrap();
    assert_eq!(copilot.cost, Money::ZERO);
    assert!(copilot.unpriced);
    assert_eq!(copilot.requests, 24);
    assert_eq!(copilot.units[0].unit, UNIT_PREMIUM_REQUESTS);
    assert_eq!(copilot.units[0].amount, Money::from_micros(24_000_000));

    let json = serde_json::to_value(&totals).unwrap();
    assert_eq!(json["cost_usd"], 0.906468);
    assert_eq!(json["units"][0]["unit"], "credits");
    assert_eq!(json["units"][0]["amount"], 7.0);
    assert_eq!(json["units"][1]["unit"], "premium-requests");
    assert_eq!(json["units"][1]["amount"], 24.0);
    let kiro = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["agent"] == "kiro")
        .unwrap();
    assert_eq!(kiro["units"][0]["amount"], 7.0);
    assert_eq!(kiro["cost_usd"], 0.104);
}

#[test]
fn non_usd_lines_never_change_the_usd_total() {
    let block = units_block("aaaaaaaaaaaaaaaa");
    let message = format!("S\n\n{}\n", block.to_trailer_lines().join("\n"));
    let with_units = sum(std::slice::from_ref(&message));

    // The same message with every non-USD line taken out reads the same USD and tokens.
    let usd_only: String = message
        .lines()
        .filter(|l| !l.starts_with("AI-Quantity:"))
        .filter(|l| !l.starts_with("AI-Cost-Estimate:") || l.contains(" USD"))
        .map(|l| format!("{l}\n"))
        .collect();
    let without = sum(&[usd_only]);
    assert!(without.units.is_empty());
    assert_eq!(with_units.cost, without.cost);
    assert_eq!(with_units.tokens, without.tokens);
    assert_eq!(with_units.incomplete, without.incomplete);

    // What a reader that knows only `AI-Model: … cost=` and `AI-Cost-Estimate: … USD` (the
    // first v1 reader: it ignores unknown keys) sums: USD only, credits never.
    let old_reader_usd: u64 = message
        .lines()
        .filter_map(|l| l.strip_prefix("AI-Model: "))
        .filter_map(|v| v.split_whitespace().find_map(|w| w.strip_prefix("cost=")))
        .filter_map(|c| Money::parse_decimal(c).ok())
        .map(|m| m.micros() as u64)
        .sum();
    assert_eq!(Money::from_micros(old_reader_usd), with_units.cost);
    let estimate = message
        .lines()
        .find(|l| {
            l.starts_with("AI-Cost-Estimate: ") && l.split_whitespace().nth(2) == Some(UNIT_USD)
        })
        .unwrap();
    assert!(estimate.starts_with("AI-Cost-Estimate: 0.453234 USD"));

    // A block of non-USD spend only: the USD total is zero (and says it is incomplete).
    let copilot_only = Block::build(
        "cccccccccccccccc".to_string(),
        vec![
            model("copilot", "gpt-5", None)
                .with_quantity(Money::from_micros(3_000_000), UNIT_PREMIUM_REQUESTS),
        ],
        &BTreeMap::new(),
        vec![],
    );
    let totals = sum(&[copilot_only.to_trailer_lines().join("\n")]);
    assert_eq!(totals.cost, Money::ZERO);
    assert!(totals.incomplete);
    assert_eq!(totals.units[0].amount, Money::from_micros(3_000_000));
}

#[test]
fn units_are_summed_under_their_name_and_estimates_without_models_never_count() {
    // The first block has no model lines (typed by hand): not counted. The second's credits
    // estimate is missing, so its quantity does not add up: not counted. The third counts,
    // with a unit agent-cost does not know.
    let message = "S\n\nAI-Cost-Estimate: 1.5 USD\nAI-Cost-Estimate: 2 tokens-of-gratitude\nAI-Cost-Estimate: 0.25 credits\nAI-Cost-Id: 0123456789abcdef\n\nAI-Model: m agent=a cost=0.5\nAI-Quantity: 7 credits\nAI-Cost-Estimate: 0.5 usd\nAI-Cost-Id: 1123456789abcdef\n\nAI-Model: m agent=a cost=0.5\nAI-Quantity: 7 tokens-of-gratitude\nAI-Cost-Estimate: 0.5 usd\nAI-Cost-Estimate: 7 tokens-of-gratitude\nAI-Cost-Id: 2123456789abcdef\n";
    let totals = sum(&[message.to_string()]);
    assert_eq!(totals.malformed_blocks, 2);
    assert_eq!(totals.drains, 1);
    assert_eq!(totals.cost, Money::from_micros(500_000));
    assert_eq!(
        totals.units,
        vec![UnitTotal {
            unit: "tokens-of-gratitude".to_string(),
            amount: Money::from_micros(7_000_000),
        }]
    );
}

#[test]
fn amend_merges_units_without_counting_them_twice() {
    let old = units_block("aaaaaaaaaaaaaaaa");
    let merged = Block::merge(
        "bbbbbbbbbbbbbbbb".to_string(),
        std::slice::from_ref(&old),
        vec![
            model("copilot", "gpt-5", None)
                .with_quantity(Money::from_micros(1_000_000), UNIT_PREMIUM_REQUESTS),
        ],
        &BTreeMap::new(),
    );
    assert_eq!(
        merged.unit_amounts(),
        BTreeMap::from([
            (UNIT_CREDITS.to_string(), Money::from_micros(3_500_000)),
            (
                UNIT_PREMIUM_REQUESTS.to_string(),
                Money::from_micros(13_000_000)
            ),
        ])
    );
    // An old block whose estimate names a unit no model line carries keeps it.
    let mut estimate_only = parse_blocks(
        "S\n\nAI-Cost-Estimate: 0 USD\nAI-Cost-Estimate: 2 credits\nAI-Cost-Id: cccccccccccccccc\n",
    );
    let merged = Block::merge(
        "dddddddddddddddd".to_string(),
        &[estimate_only.remove(0), old],
        Vec::new(),
        &BTreeMap::new(),
    );
    assert_eq!(merged.estimates[0].unit, UNIT_USD);
    assert_eq!(
        merged.unit_amounts(),
        BTreeMap::from([
            (UNIT_CREDITS.to_string(), Money::from_micros(5_500_000)),
            (
                UNIT_PREMIUM_REQUESTS.to_string(),
                Money::from_micros(12_000_000)
            ),
        ])
    );
    let lines = merged.to_trailer_lines();
    assert!(
        lines.contains(&"AI-Cost-Estimate: 5.5 credits".to_string()),
        "{lines:?}"
    );
}

#[test]
fn block_fates_count_the_first_copy_skip_later_copies_and_replaced_blocks() {
    let old = one_model_block("aaaaaaaaaaaaaaaa", Some(1_000_000));
    let merged = Block::merge(
        "bbbbbbbbbbbbbbbb".to_string(),
        std::slice::from_ref(&old),
        vec![model("claude-code", "claude-sonnet-4-5", Some(500_000))],
        &BTreeMap::new(),
    );
    let other = one_model_block("cccccccccccccccc", Some(7));
    let no_id = one_model_block("", Some(9));
    let blocks = [
        other.clone(),
        old.clone(),
        merged.clone(),
        other,
        merged,
        no_id.clone(),
        no_id,
    ];
    assert_eq!(
        block_fates(&blocks),
        vec![
            BlockFate::Counted,
            BlockFate::Replaced,
            BlockFate::Counted,
            BlockFate::Duplicate,
            BlockFate::Duplicate,
            BlockFate::Malformed,
            BlockFate::Malformed,
        ]
    );

    // A forged `AI-Cost-Replaces:` on a block that does not hold the old one's spend hides
    // nothing: both count.
    let mut forged = one_model_block("eeeeeeeeeeeeeeee", Some(1));
    forged.replaces = vec![old.id.clone()];
    assert_eq!(
        block_fates(&[old.clone(), forged.clone()]),
        vec![BlockFate::Counted, BlockFate::Counted]
    );
    // A copy of the old block, malformed by an edit, does not stop its good copy counting.
    let mut edited = old.clone();
    edited.estimates[0].amount = Money::from_micros(5);
    assert_eq!(
        block_fates(&[edited, old]),
        vec![BlockFate::Malformed, BlockFate::Counted]
    );
}

#[test]
fn quoted_blocks_are_not_spend_but_a_local_squash_s_indented_copies_are() {
    let block = sample_block("aaaaaaaaaaaaaaaa")
        .to_trailer_lines()
        .join("\n");
    let indented = block.replace('\n', "\n    ");
    let docs = format!("docs: explain the trailers\n\nExample:\n\n    {indented}\n");
    assert!(parse_history_blocks(&docs).is_empty());
    assert_eq!(parse_blocks(&docs).len(), 1);
    let fenced = format!("docs: example\n\n```\n{block}\n```\n\n~~~text\n{block}\n~~~\n");
    assert!(parse_history_blocks(&fenced).is_empty());
    let squash = format!(
        "Squashed commit of the following:\n\ncommit 0123\nAuthor: A <a@b>\n\n    feat: x\n\n    {indented}\n"
    );
    assert_eq!(parse_history_blocks(&squash).len(), 1);
    // A real block after a fenced example still counts.
    let both = format!("docs: x\n\n```\n{block}\n```\n\n{block}\n");
    assert_eq!(parse_history_blocks(&both).len(), 1);
}
