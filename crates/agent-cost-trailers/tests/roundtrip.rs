//! Property tests: build → write → insert → parse gives the block back; nothing panics on any
//! input; insertion agrees with the real `git` on generated message shapes.

mod common;

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_trailers::{
    Block, ModelLine, UNIT_USD, has_content, insert_block, new_block_id, parse_blocks,
    remove_final_blocks,
};
use common::git_parse;
use proptest::prelude::*;

const BASES: &[&str] = &[
    "Subject\n",
    "Subject",
    "Subject\n\nBody text.\n",
    "Subject\n\nBody.\n\nSigned-off-by: A <a@example.com>\n",
    "Subject\r\n\r\nBody.\r\n",
    "Subject\n\nBody.\n\n# comment\n",
    "\n# template only\n",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.-]{1,20}",
        "\\PC{0,12}",
        "[a-z]{1,5}[ \t\r\n][a-z]{1,5}",
    ]
}

fn model_line() -> impl Strategy<Value = ModelLine> {
    (
        (prop_oneof!["claude-code", "codex", "copilot"], name()),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        (any::<u64>(), any::<u64>()),
        prop::option::of(0u128..10_000_000_000_000_000),
    )
        .prop_map(
            |((agent, model), requests, input, output, (cache_write, cache_read), cost)| {
                ModelLine {
                    agent: agent.to_string(),
                    model,
                    requests,
                    input,
                    output,
                    cache_write,
                    cache_read,
                    cost: cost.map(Money),
                }
            },
        )
}

fn block() -> impl Strategy<Value = Block> {
    (
        "[0-9a-f]{16}",
        prop::collection::vec(model_line(), 0..6),
        prop::collection::btree_map("[a-z-]{1,8}", 0u64..100, 0..3),
        prop::collection::vec("[0-9a-f]{16}", 0..3),
    )
        .prop_map(|(id, models, sessions, replaces)| Block::build(id, models, &sessions, replaces))
}

proptest! {
    #[test]
    fn written_blocks_read_back(block in block(), base in prop::sample::select(BASES)) {
        let message = insert_block(base, &block.to_trailer_lines(), "#");
        prop_assert_eq!(parse_blocks(&message), vec![block.clone()]);
        // And the amend path takes exactly it back out.
        let (_, removed) = remove_final_blocks(&message, "#");
        if has_content(base, "#") {
            prop_assert_eq!(removed, vec![block]);
        }
    }

    #[test]
    fn built_blocks_add_up(block in block()) {
        let model_sum: u128 = block.models.iter().filter_map(|m| m.cost).map(|c| c.0).sum();
        let agent_sum: u128 = block.agents.iter().map(|a| a.cost.0).sum();
        let usd = block.estimates.iter().find(|e| e.unit == UNIT_USD).unwrap();
        prop_assert_eq!(usd.amount.0, model_sum);
        prop_assert_eq!(agent_sum, model_sum);
        prop_assert!(block.models.iter().filter_map(|m| m.cost).all(|c| c.0 % 1_000_000 == 0));
        prop_assert_eq!(usd.incomplete, block.models.iter().any(|m| m.cost.is_none()));
        for line in block.to_trailer_lines() {
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_text(text in "\\PC*|(\\s|[#:=aA-]|AI-Model: |AI-Cost-Id: |\r\n|\n)*") {
        let blocks = parse_blocks(&text);
        let mut totals = agent_cost_trailers::RangeTotals::new();
        totals.add_commit(blocks);
        let _ = totals.finish();
        let _ = has_content(&text, "#");
        let (stripped, _) = remove_final_blocks(&text, "#");
        let inserted = insert_block(&stripped, &["AI-Cost-Id: 0123456789abcdef".to_string()], "#");
        prop_assert!(inserted.ends_with('\n'));
        let _ = insert_block(&text, &["x".to_string()], "");
    }

    #[test]
    fn arbitrary_values_never_panic(value in ".*") {
        for key in ["AI-Agent", "AI-Model", "AI-Cost-Estimate", "AI-Cost-Replaces", "AI-Cost-Id"] {
            let _ = parse_blocks(&format!("{key}: {value}\n    {key}:{value}"));
        }
    }
}

/// Message shapes built from fragments git cares about; our insertion must leave git seeing
/// the old trailers followed by ours.
fn fragment_message() -> impl Strategy<Value = String> {
    let line = prop::sample::select(vec![
        "prose line",
        "Key: value",
        "Change-Id: I0123",
        "Signed-off-by: A <a@example.com>",
        "(cherry picked from commit 0123abc)",
        "  continued",
        "# comment",
        "",
        "",
        "Note: prose with a colon",
        "---",
        "---------",
        "https://example.com/x",
        "Two words: no",
    ]);
    (
        prop::sample::select(vec!["Subject", "Fix: subject"]),
        prop::collection::vec(line, 0..12),
        any::<bool>(),
    )
        .prop_map(|(subject, lines, final_newline)| {
            let mut message = String::from(subject);
            for line in lines {
                message.push('\n');
                message.push_str(line);
            }
            if final_newline {
                message.push('\n');
            }
            message
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn insertion_agrees_with_git_on_generated_shapes(message in fragment_message()) {
        let dir = tempfile::tempdir().unwrap();
        let ours = vec![
            "AI-Cost-Estimate: 0.000001 USD".to_string(),
            "AI-Cost-Id: 0123456789abcdef".to_string(),
        ];
        let before = git_parse(dir.path(), &message);
        let result = insert_block(&message, &ours, "#");
        let after = git_parse(dir.path(), &result);
        let mut expected = before;
        expected.extend(ours);
        prop_assert_eq!(after, expected, "message {:?} became {:?}", message, result);
    }
}

#[test]
fn ids_are_sixteen_lowercase_hex_and_unique() {
    let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_block_id()).collect();
    assert_eq!(ids.len(), 10_000);
    for id in ids.iter().take(100) {
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}

#[test]
fn documented_example_is_written_exactly() {
    let line = |model: &str, requests, input, output, write, read, micros| ModelLine {
        agent: "claude-code".to_string(),
        model: model.to_string(),
        requests,
        input,
        output,
        cache_write: write,
        cache_read: read,
        cost: Some(Money::from_micros(micros)),
    };
    let block = Block::build(
        "6f1c2a9e4b7d3f80".to_string(),
        vec![
            line("claude-sonnet-4-5", 14, 1200, 6800, 4000, 120_000, 401_234),
            line("claude-haiku-4-5", 3, 300, 900, 0, 0, 11_111),
        ],
        &BTreeMap::from([("claude-code".to_string(), 2)]),
        vec![],
    );
    assert_eq!(
        block.to_trailer_lines(),
        [
            "AI-Agent: claude-code sessions=2 cost=0.412345",
            "AI-Model: claude-haiku-4-5 agent=claude-code requests=3 in=300 out=900 cache-write=0 cache-read=0 cost=0.011111",
            "AI-Model: claude-sonnet-4-5 agent=claude-code requests=14 in=1200 out=6800 cache-write=4000 cache-read=120000 cost=0.401234",
            "AI-Cost-Estimate: 0.412345 USD",
            "AI-Cost-Id: 6f1c2a9e4b7d3f80",
        ]
    );
}

#[test]
fn rounding_is_per_model_half_up_and_names_are_normalised() {
    let picos = |p: u128| Some(Money(p));
    let block = Block::build(
        "ABCDEF0123456789".to_string(),
        vec![
            ModelLine {
                cost: picos(500_000),
                ..common::model("claude code", "model one", None)
            },
            ModelLine {
                cost: picos(499_999),
                ..common::model("claude code", "model\ttwo", None)
            },
            ModelLine {
                cost: picos(1),
                ..common::model("claude code", "model one", None)
            },
            common::model("claude code", "", None),
        ],
        &BTreeMap::new(),
        vec![
            "ABCDEF0123456789".to_string(),
            "00000000000000AA".to_string(),
        ],
    );
    let lines = block.to_trailer_lines();
    assert_eq!(
        lines[0],
        "AI-Agent: claude-code sessions=0 cost=0.000001 unpriced=1"
    );
    assert!(lines[1].starts_with("AI-Model: model-one agent=claude-code requests=6 "));
    assert!(lines[1].ends_with(" cost=0.000001"));
    assert!(lines[2].starts_with("AI-Model: model-two ") && lines[2].ends_with(" cost=0.000000"));
    assert!(lines[3].starts_with("AI-Model: unknown ") && lines[3].ends_with(" cost=unpriced"));
    assert_eq!(
        lines[4],
        "AI-Cost-Estimate: 0.000001 USD (incomplete: 1 model unpriced)"
    );
    assert_eq!(lines[5], "AI-Cost-Replaces: 00000000000000aa");
    assert_eq!(lines[6], "AI-Cost-Id: abcdef0123456789");
}
