//! Property tests: what `trailers sum` counts over a range of commits does not depend on the
//! order the commits are walked in, with drains copied into several commits (cherry-picks,
//! squashes) and drains replaced by later ones (`--amend`). Which copy of a duplicated drain
//! counts may change with the order; the totals and how many blocks were counted, skipped as
//! duplicates or skipped as replaced may not.

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_trailers::{
    Block, BlockFate, ModelLine, Quantity, RangeTotals, Totals, UNIT_CREDITS, block_fates,
    insert_block, parse_blocks,
};
use proptest::prelude::*;

/// The ids drains are drawn from: few, so that copies and replacements are frequent.
const IDS: &[&str] = &[
    "0000000000000001",
    "0000000000000002",
    "0000000000000003",
    "0000000000000004",
    "0000000000000005",
    "0000000000000006",
];

fn model_line() -> impl Strategy<Value = ModelLine> {
    (
        prop::sample::select(vec!["claude-code", "codex", "copilot"]),
        prop::sample::select(vec!["model-a", "model-b"]),
        prop::array::uniform5(0u64..1_000_000),
        prop::option::of(0u64..10_000_000),
        prop::option::of(0u64..10_000_000),
    )
        .prop_map(|(agent, model, counts, cost, credits)| {
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
                cost: cost.map(Money::from_micros),
                quantities: credits
                    .map(|c| Quantity::new(Money::from_micros(c), UNIT_CREDITS))
                    .into_iter()
                    .collect(),
            }
        })
}

/// One distinct drain per id (a block without an id among them now and then), each maybe
/// replacing some of the others.
fn drains() -> impl Strategy<Value = Vec<Block>> {
    prop::collection::vec(
        (
            prop::collection::vec(model_line(), 0..3),
            prop::collection::vec(prop::sample::select(IDS), 0..3),
            prop::bool::weighted(0.1),
        ),
        IDS.len(),
    )
    .prop_map(|drains| {
        drains
            .into_iter()
            .zip(IDS)
            .map(|((models, replaces, no_id), id)| {
                let replaces = replaces.into_iter().map(str::to_string).collect();
                let mut block = Block::build(id.to_string(), models, &BTreeMap::new(), replaces);
                if no_id {
                    block.id.clear();
                }
                block
            })
            .collect()
    })
}

/// Commits, each holding copies of some drains (a drain may be in none, one or several).
fn commits() -> impl Strategy<Value = Vec<Vec<Block>>> {
    (
        drains(),
        prop::collection::vec(prop::collection::vec(0..IDS.len(), 0..3), 1..8),
    )
        .prop_map(|(drains, commits)| {
            commits
                .into_iter()
                .map(|picks| picks.into_iter().map(|i| drains[i].clone()).collect())
                .collect()
        })
}

/// The same commits and a shuffled copy of them, each commit's blocks shuffled too.
fn commits_and_shuffled() -> impl Strategy<Value = (Vec<Vec<Block>>, Vec<Vec<Block>>)> {
    commits().prop_flat_map(|commits| {
        let shuffled: Vec<_> = commits
            .iter()
            .map(|blocks| Just(blocks.clone()).prop_shuffle())
            .collect();
        (Just(commits), shuffled.prop_shuffle())
    })
}

fn totals(commits: &[Vec<Block>]) -> Totals {
    let mut range = RangeTotals::new();
    for blocks in commits {
        range.add_commit(blocks.clone());
    }
    range.finish()
}

/// How many blocks met each fate.
fn fate_counts(commits: &[Vec<Block>]) -> BTreeMap<&'static str, usize> {
    let all: Vec<Block> = commits.iter().flatten().cloned().collect();
    let mut counts = BTreeMap::new();
    for fate in block_fates(&all) {
        let name = match fate {
            BlockFate::Counted => "counted",
            BlockFate::Duplicate => "duplicate",
            BlockFate::Replaced => "replaced",
            BlockFate::Malformed => "malformed",
        };
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

proptest! {
    #[test]
    fn totals_do_not_depend_on_the_order_of_commits((commits, shuffled) in commits_and_shuffled()) {
        prop_assert_eq!(totals(&commits), totals(&shuffled));
        prop_assert_eq!(fate_counts(&commits), fate_counts(&shuffled));
    }

    /// The same through the commit messages: each commit's blocks written into its message
    /// and read back, in either order.
    #[test]
    fn totals_read_from_messages_do_not_depend_on_their_order(
        (commits, shuffled) in commits_and_shuffled()
    ) {
        let through_messages = |commits: &[Vec<Block>]| -> Vec<Vec<Block>> {
            commits
                .iter()
                .map(|blocks| {
                    let mut message = String::from("Subject\n");
                    for block in blocks {
                        message = insert_block(&message, &block.to_trailer_lines(), "#");
                        message.push_str("\nMore text.\n");
                    }
                    parse_blocks(&message)
                })
                .collect()
        };
        let read = through_messages(&commits);
        prop_assert_eq!(&read, &commits);
        prop_assert_eq!(totals(&read), totals(&through_messages(&shuffled)));
    }

    /// A drain and every copy of it count once: copying drains into more commits changes
    /// nothing but the duplicate and malformed counts.
    #[test]
    fn copies_of_drains_add_nothing(commits in commits()) {
        let mut doubled = commits.clone();
        doubled.extend(commits.iter().cloned());
        let once = totals(&commits);
        let twice = totals(&doubled);
        let blocks: u64 = commits.iter().map(|c| c.len() as u64).sum();
        // Every copy of a well-formed drain is a duplicate; blocks that are not well formed
        // (no id, no model lines) never count, however many copies.
        prop_assert_eq!(
            twice.duplicate_blocks,
            once.duplicate_blocks + blocks - once.malformed_blocks
        );
        prop_assert_eq!(twice.malformed_blocks, 2 * once.malformed_blocks);
        prop_assert_eq!(twice.cost, once.cost);
        prop_assert_eq!(twice.tokens, once.tokens);
        prop_assert_eq!(twice.units, once.units);
        prop_assert_eq!(twice.drains, once.drains);
    }
}
