//! Property tests: build → write → insert → parse gives the block back; nothing panics on any
//! input; insertion agrees with the real `git` on generated message shapes.

mod common;

use std::collections::BTreeMap;

use agent_cost_events::Money;
use agent_cost_trailers::{
    Block, MAX_LINE_CHARS, ModelLine, Quantity, RangeTotals, UNIT_CREDITS, UNIT_PREMIUM_REQUESTS,
    UNIT_USD, has_content, insert_block, new_block_id, parse_blocks, remove_final_blocks,
    remove_our_lines,
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

/// Units as sources may name them, `USD` included (which [`Block::build`] folds into the cost).
fn unit() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(UNIT_CREDITS.to_string()),
        Just(UNIT_PREMIUM_REQUESTS.to_string()),
        Just("USD".to_string()),
        name(),
    ]
}

fn quantities() -> impl Strategy<Value = Vec<Quantity>> {
    prop::collection::vec(
        (0u128..10_000_000_000_000_000, unit()).prop_map(|(picos, unit)| Quantity {
            amount: Money(picos),
            unit,
        }),
        0..3,
    )
}

fn model_line() -> impl Strategy<Value = ModelLine> {
    (
        (prop_oneof!["claude-code", "codex", "copilot"], name()),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        (any::<u64>(), any::<u64>()),
        prop::option::of(0u128..10_000_000_000_000_000),
        quantities(),
    )
        .prop_map(
            |(
                (agent, model),
                requests,
                input,
                output,
                (cache_write, cache_read),
                cost,
                quantities,
            )| {
                ModelLine {
                    work_type: None,
                    agent: agent.to_string(),
                    model,
                    requests,
                    input,
                    output,
                    cache_write,
                    cache_read,
                    cost: cost.map(Money),
                    quantities,
                }
            },
        )
}

/// Realistic values at their largest: model names up to 40 characters, agent and unit names
/// up to 25, counts up to 10¹⁰, costs and quantities up to 99999.999999.
fn realistic_line() -> impl Strategy<Value = ModelLine> {
    const TEN_BILLION: u64 = 10_000_000_000;
    const MAX_MICROS: u64 = 99_999_999_999;
    let agent = prop_oneof![
        prop::sample::select(vec![
            "claude-code",
            "codex",
            "copilot",
            "gemini-cli",
            "opencode",
            "cursor",
            "kiro",
        ])
        .prop_map(str::to_string),
        "[a-z][a-z0-9-]{0,24}",
    ];
    let unit = prop_oneof![
        Just(UNIT_CREDITS.to_string()),
        Just(UNIT_PREMIUM_REQUESTS.to_string()),
        "[a-z][a-z0-9-]{0,24}",
    ];
    (
        agent,
        "[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,39}",
        prop::array::uniform5(0..=TEN_BILLION),
        prop::option::of(0..=MAX_MICROS),
        prop::collection::vec((0..=MAX_MICROS, unit), 0..3),
    )
        .prop_map(|(agent, model, counts, cost, quantities)| {
            let [requests, input, output, cache_write, cache_read] = counts;
            ModelLine {
                work_type: None,
                agent,
                model,
                requests,
                input,
                output,
                cache_write,
                cache_read,
                cost: cost.map(Money::from_micros),
                quantities: quantities
                    .into_iter()
                    .map(|(micros, unit)| Quantity::new(Money::from_micros(micros), unit))
                    .collect(),
            }
        })
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
        prop_assert_eq!(&block.estimates[0].unit, UNIT_USD);
        // Every other unit's estimate is the sum of the models' quantities in it.
        let mut units: BTreeMap<&str, u128> = BTreeMap::new();
        for quantity in block.models.iter().flat_map(|m| &m.quantities) {
            prop_assert!(!quantity.unit.eq_ignore_ascii_case(UNIT_USD));
            prop_assert_eq!(quantity.amount.0 % 1_000_000, 0);
            *units.entry(&quantity.unit).or_default() += quantity.amount.0;
        }
        let estimated: BTreeMap<&str, u128> = block.estimates[1..]
            .iter()
            .map(|e| (e.unit.as_str(), e.amount.0))
            .collect();
        prop_assert_eq!(estimated, units);
        for line in block.to_trailer_lines() {
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
        }
    }

    /// commitlint's conventional config rejects body and footer lines over 100 characters.
    #[test]
    fn realistic_lines_fit_in_100_characters_and_read_back(
        models in prop::collection::vec(realistic_line(), 1..6),
        sessions in prop::collection::btree_map(
            "[a-z][a-z0-9-]{0,24}", 0u64..=10_000_000_000, 0..3),
        replaces in prop::collection::vec("[0-9a-f]{16}", 0..3),
    ) {
        let block = Block::build(new_block_id(), models, &sessions, replaces);
        let lines = block.to_trailer_lines();
        for line in &lines {
            prop_assert!(
                line.chars().count() <= MAX_LINE_CHARS,
                "{} characters: {}", line.chars().count(), line
            );
        }
        let message = insert_block("Subject\n", &lines, "#");
        let read = parse_blocks(&message);
        prop_assert_eq!(&read, &vec![block.clone()]);
        // And the sums agree with the values written.
        let mut range = RangeTotals::new();
        range.add_commit(read);
        let totals = range.finish();
        let usd: u128 = block.models.iter().filter_map(|m| m.cost).map(|c| c.0).sum();
        prop_assert_eq!(totals.cost.0, usd);
        let input: u64 = block.models.iter().map(|m| m.input).sum();
        prop_assert_eq!(totals.tokens.input, input);
        for unit in &totals.units {
            let sum: u128 = block
                .models
                .iter()
                .filter_map(|m| m.quantity(&unit.unit))
                .map(|q| q.0)
                .sum();
            prop_assert_eq!(unit.amount.0, sum);
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

/// A user's message made of lines that look like ours but are no block agent-cost wrote
/// (no line closes them with a 16-hex-digit id).
fn lookalike_message() -> impl Strategy<Value = String> {
    let line = prop::sample::select(vec![
        "Subject",
        "prose",
        "",
        "",
        "# comment",
        "AI-Agent: rename the agent module",
        "AI-Model: the new one",
        "AI-Model: m agent=a cost=1",
        "AI-Tokens: req=1 in=2",
        "AI-Quantity: 2 credits",
        "AI-Cost-Estimate: 1 USD",
        "AI-Cost-Replaces: 0123456789abcdef",
        "AI-Cost-Id: not-an-id",
        "AI-Cost-Id: 0123456789abcde",
        "    AI-Model: m agent=a cost=1",
        "Signed-off-by: A <a@example.com>",
        "Key: value",
    ]);
    prop::collection::vec(line, 0..10).prop_map(|lines| {
        let mut message = lines.join("\n");
        message.push('\n');
        message
    })
}

/// Blocks as the hook writes them: at least one model, so they start with `AI-Agent:` lines.
fn hook_block() -> impl Strategy<Value = Block> {
    (
        "[0-9a-f]{16}",
        prop::collection::vec(model_line(), 1..4),
        prop::collection::vec("[0-9a-f]{16}", 0..2),
    )
        .prop_map(|(id, models, replaces)| Block::build(id, models, &BTreeMap::new(), replaces))
}

proptest! {
    /// Whatever the user wrote stays: only the block we inserted is ever taken out again, and
    /// whether the message has content is decided by the user's lines alone.
    #[test]
    fn only_our_blocks_are_ever_taken_out(user in lookalike_message(), block in hook_block()) {
        let message = insert_block(&user, &block.to_trailer_lines(), "#");
        prop_assert_eq!(has_content(&message, "#"), has_content(&user, "#"));
        let non_blank = |text: &str| -> Vec<String> {
            text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
        };
        prop_assert_eq!(non_blank(&remove_our_lines(&message)), non_blank(&user));
        // The amend path (the hook writes blocks only into messages with content).
        if has_content(&user, "#") {
            let (stripped, removed) = remove_final_blocks(&message, "#");
            prop_assert_eq!(non_blank(&stripped), non_blank(&user));
            prop_assert_eq!(removed, vec![block]);
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
        work_type: None,
        agent: "claude-code".to_string(),
        model: model.to_string(),
        requests,
        input,
        output,
        cache_write: write,
        cache_read: read,
        cost: Some(Money::from_micros(micros)),
        quantities: Vec::new(),
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
            "AI-Model: claude-haiku-4-5 agent=claude-code cost=0.011111",
            "AI-Tokens: req=3 in=300 out=900 cw=0 cr=0",
            "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.401234",
            "AI-Tokens: req=14 in=1200 out=6800 cw=4000 cr=120000",
            "AI-Cost-Estimate: 0.412345 USD",
            "AI-Cost-Id: 6f1c2a9e4b7d3f80",
        ]
    );
}

#[test]
fn documented_units_example_is_written_exactly() {
    let sonnet = ModelLine {
        work_type: None,
        requests: 14,
        input: 1200,
        output: 6800,
        cache_write: 4000,
        cache_read: 120_000,
        ..ModelLine::from_tokens(
            "claude-code",
            "claude-sonnet-4-5",
            0,
            &Default::default(),
            Some(Money::from_micros(401_234)),
        )
    };
    let copilot = ModelLine {
        work_type: None,
        requests: 12,
        ..ModelLine::from_tokens("copilot", "gpt-5", 0, &Default::default(), None)
    }
    .with_quantity(Money::from_micros(12_000_000), UNIT_PREMIUM_REQUESTS);
    let kiro = ModelLine::from_tokens(
        "kiro",
        "claude-sonnet-4-5",
        3,
        &Default::default(),
        Some(Money::from_micros(52_000)),
    )
    .with_quantity(Money::from_micros(3_500_000), UNIT_CREDITS);
    let block = Block::build(
        "0a1b2c3d4e5f6789".to_string(),
        vec![sonnet, copilot, kiro],
        &BTreeMap::from([
            ("claude-code".to_string(), 1),
            ("copilot".to_string(), 1),
            ("kiro".to_string(), 1),
        ]),
        vec![],
    );
    let lines = block.to_trailer_lines();
    assert_eq!(
        lines,
        [
            "AI-Agent: claude-code sessions=1 cost=0.401234",
            "AI-Agent: copilot sessions=1 cost=0.000000 unpriced=1",
            "AI-Agent: kiro sessions=1 cost=0.052000",
            "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.401234",
            "AI-Tokens: req=14 in=1200 out=6800 cw=4000 cr=120000",
            "AI-Model: gpt-5 agent=copilot cost=unpriced",
            "AI-Tokens: req=12 in=0 out=0 cw=0 cr=0",
            "AI-Quantity: 12 premium-requests",
            "AI-Model: claude-sonnet-4-5 agent=kiro cost=0.052000",
            "AI-Tokens: req=3 in=0 out=0 cw=0 cr=0",
            "AI-Quantity: 3.5 credits",
            "AI-Cost-Estimate: 0.453234 USD (incomplete: 1 model unpriced)",
            "AI-Cost-Estimate: 3.5 credits",
            "AI-Cost-Estimate: 12 premium-requests",
            "AI-Cost-Id: 0a1b2c3d4e5f6789",
        ]
    );
    assert_eq!(parse_blocks(&lines.join("\n")), vec![block]);
}

#[test]
fn quantities_add_per_unit_and_usd_is_never_a_quantity() {
    let base = || ModelLine::from_tokens("copilot", "gpt-5", 1, &Default::default(), None);
    let block = Block::build(
        "0123456789abcdef".to_string(),
        vec![
            base().with_quantity(Money::from_micros(1_000_000), UNIT_PREMIUM_REQUESTS),
            base()
                .with_quantity(Money::from_micros(2_000_000), UNIT_PREMIUM_REQUESTS)
                .with_quantity(Money::from_micros(250_000), "USD"),
            // A unit named with a space is normalised like names are.
            base().with_quantity(Money(1_500_000), "premium requests"),
        ],
        &BTreeMap::new(),
        vec![],
    );
    assert_eq!(block.models.len(), 1);
    let line = &block.models[0];
    assert_eq!(line.requests, 3);
    // The USD "quantity" became the cost the other lines lacked; so it stays unpriced (one of
    // the summed lines had no price), and no USD quantity is left.
    assert_eq!(line.cost, None);
    // Amounts are summed exactly, then rounded half up to micro-units once.
    assert_eq!(
        line.quantities,
        vec![Quantity::new(
            Money::from_micros(3_000_002),
            UNIT_PREMIUM_REQUESTS
        )]
    );
    assert_eq!(
        block.to_trailer_lines()[3],
        "AI-Quantity: 3.000002 premium-requests"
    );

    // A priced line keeps its cost; a USD quantity on an unpriced line prices it.
    let priced = Block::build(
        "0123456789abcdef".to_string(),
        vec![base().with_quantity(Money::from_micros(250_000), "usd")],
        &BTreeMap::new(),
        vec![],
    );
    assert_eq!(priced.models[0].cost, Some(Money::from_micros(250_000)));
    assert!(priced.models[0].quantities.is_empty());
    assert_eq!(priced.estimates.len(), 1);
}

#[test]
fn rounding_is_per_model_half_up_and_names_are_normalised() {
    let picos = |p: u128| Some(Money(p));
    let block = Block::build(
        "ABCDEF0123456789".to_string(),
        vec![
            ModelLine {
                work_type: None,
                cost: picos(500_000),
                ..common::model("claude code", "model one", None)
            },
            ModelLine {
                work_type: None,
                cost: picos(499_999),
                ..common::model("claude code", "model\ttwo", None)
            },
            ModelLine {
                work_type: None,
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
    assert_eq!(
        lines[1],
        "AI-Model: model-one agent=claude-code cost=0.000001"
    );
    assert_eq!(lines[2], "AI-Tokens: req=6 in=200 out=400 cw=600 cr=800");
    assert_eq!(
        lines[3],
        "AI-Model: model-two agent=claude-code cost=0.000000"
    );
    assert_eq!(
        lines[5],
        "AI-Model: unknown agent=claude-code cost=unpriced"
    );
    assert_eq!(
        lines[7],
        "AI-Cost-Estimate: 0.000001 USD (incomplete: 1 model unpriced)"
    );
    assert_eq!(lines[8], "AI-Cost-Replaces: 00000000000000aa");
    assert_eq!(lines[9], "AI-Cost-Id: abcdef0123456789");
}

#[test]
fn the_longest_realistic_lines_are_exactly_100_characters() {
    let block = common::longest_block("ffffffffffffffff");
    let lines = block.to_trailer_lines();
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert_eq!(longest, MAX_LINE_CHARS, "{lines:#?}");
    assert_eq!(
        lines[1],
        format!(
            "AI-Model: {} agent={} cost=99999.999999",
            "m".repeat(40),
            "a".repeat(25)
        )
    );
    assert_eq!(
        lines[2],
        "AI-Tokens: req=10000000000 in=10000000000 out=10000000000 cw=10000000000 cr=10000000000"
    );
    assert_eq!(parse_blocks(&lines.join("\n")), vec![block]);
}

#[test]
fn a_work_type_is_a_pair_on_the_model_line_when_it_fits() {
    let mut kiro = common::model("kiro", "manual", Some(52_000));
    kiro.work_type = Some("fix".to_string());
    let block = Block::build(
        "0123456789abcdef".to_string(),
        vec![kiro.clone(), common::model("codex", "gpt-5", Some(1))],
        &BTreeMap::new(),
        Vec::new(),
    );
    let lines = block.to_trailer_lines();
    assert!(
        lines.contains(&"AI-Model: manual agent=kiro cost=0.052000 type=fix".to_string()),
        "{lines:#?}"
    );
    assert_eq!(parse_blocks(&lines.join("\n")), vec![block]);

    // At the longest realistic line there is no room: the pair is left out, the line stays 100.
    let mut longest = common::longest_block("ffffffffffffffff");
    longest.models[0].work_type = Some("config".to_string());
    let lines = longest.to_trailer_lines();
    assert_eq!(lines[1].chars().count(), MAX_LINE_CHARS);
    assert!(!lines[1].contains("type="));
    assert_eq!(parse_blocks(&lines.join("\n"))[0].models[0].work_type, None);

    // Read leniently: any case, and a value that cannot be a type is ignored.
    let read = |pair: &str| {
        let text = format!(
            "AI-Model: manual agent=kiro cost=0.052000 {pair}\nAI-Cost-Estimate: 0.052000 USD\nAI-Cost-Id: 0123456789abcdef"
        );
        parse_blocks(&text)[0].models[0].work_type.clone()
    };
    assert_eq!(read("type=FIX"), Some("fix".to_string()));
    assert_eq!(read("type=fix2"), None);
    assert_eq!(read("type="), None);

    // Lines of two types added together have none.
    let mut doc = kiro.clone();
    doc.work_type = Some("doc".to_string());
    let mut same = kiro.clone();
    same.add(&kiro);
    assert_eq!(same.work_type.as_deref(), Some("fix"));
    same.add(&doc);
    assert_eq!(same.work_type, None);
}
