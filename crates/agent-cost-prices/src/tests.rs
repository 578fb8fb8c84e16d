//! Crate-level tests: reference prices to the pico, hand-computed costs, the tier rule, fast
//! mode, overrides and their errors, and additivity.

use agent_cost_events::{Money, TokenCounts};
use proptest::prelude::*;

use crate::*;

/// USD per million tokens → pico-dollars per token, for readable expectations.
const M: u64 = 1_000_000;

fn tokens(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_write_5m: w5,
        cache_write_1h: w1h,
        cache_read: read,
    }
}

fn tier(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> TierPrices {
    TierPrices {
        input,
        output,
        cache_write_5m: w5,
        cache_write_1h: w1h,
        cache_read: read,
    }
}

fn prices_of(book: &PriceBook, model: &str) -> ModelPrices {
    match book.lookup(model) {
        Some(priced) => priced.prices,
        None => panic!("{model} is not priced"),
    }
}

#[test]
fn json_prices_become_exact_picos() {
    assert_eq!(usd_per_token_to_picos(3e-06), Some(3_000_000));
    assert_eq!(usd_per_token_to_picos(3e-07), Some(300_000));
    assert_eq!(usd_per_token_to_picos(1.25e-07), Some(125_000));
    assert_eq!(usd_per_token_to_picos(3.75e-06), Some(3_750_000));
    assert_eq!(usd_per_token_to_picos(1.875e-06), Some(1_875_000));
    assert_eq!(usd_per_token_to_picos(2.25e-05), Some(22_500_000));
    assert_eq!(usd_per_token_to_picos(0.0), Some(0));
    assert_eq!(usd_per_million_to_picos(3.75), Some(3_750_000));
    assert_eq!(usd_per_million_to_picos(0.3), Some(300_000));
    assert_eq!(usd_per_million_to_picos(22.5), Some(22_500_000));
    for bad in [-1e-6, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e30] {
        assert_eq!(usd_per_token_to_picos(bad), None, "{bad}");
        assert_eq!(usd_per_million_to_picos(bad), None, "{bad}");
    }
}

#[test]
fn reference_claude_rows_resolve_to_the_pico() {
    let book = PriceBook::builtin();
    let sonnet = tier(3 * M, 15 * M, 3_750_000, 6 * M, 300_000);
    let rows = [
        (
            &["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"][..],
            sonnet,
        ),
        (&["claude-sonnet-4", "claude-sonnet-4-20250514"][..], sonnet),
        (
            &["claude-opus-4-1", "claude-opus-4-1-20250805"][..],
            tier(15 * M, 75 * M, 18_750_000, 30 * M, 1_500_000),
        ),
        (
            &["claude-opus-4-5", "claude-opus-4-5-20251101"][..],
            tier(5 * M, 25 * M, 6_250_000, 10 * M, 500_000),
        ),
        (
            &["claude-haiku-4-5", "claude-haiku-4-5-20251001"][..],
            tier(M, 5 * M, 1_250_000, 2 * M, 100_000),
        ),
    ];
    for (names, expected) in rows {
        for name in names {
            assert_eq!(prices_of(&book, name).base, expected, "{name}");
        }
    }
}

#[test]
fn sonnet_long_context_tier_matches_reference() {
    let book = PriceBook::builtin();
    for name in [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4",
        "claude-sonnet-4-20250514",
    ] {
        let long = prices_of(&book, name).long_context.expect(name);
        assert_eq!(long.threshold_tokens, 200_000, "{name}");
        // 6 / 22.5 / 7.5 / (1 h: 2 × 6) / 0.6
        assert_eq!(
            long.prices,
            tier(6 * M, 22_500_000, 7_500_000, 12 * M, 600_000),
            "{name}"
        );
    }
}

#[test]
fn reference_openai_and_gemini_rows() {
    let book = PriceBook::builtin();
    for name in ["gpt-5", "gpt-5-codex", "gemini-2.5-pro", "openai/gpt-5"] {
        let base = prices_of(&book, name).base;
        assert_eq!(
            (base.input, base.output, base.cache_read),
            (1_250_000, 10 * M, 125_000),
            "{name}"
        );
        // No cache-write price in the list: 5 min falls back to input, 1 h to 2 × input.
        assert_eq!(
            (base.cache_write_5m, base.cache_write_1h),
            (1_250_000, 2_500_000)
        );
    }
}

#[test]
fn provider_and_version_spellings_resolve() {
    let book = PriceBook::builtin();
    let sonnet = prices_of(&book, "claude-sonnet-4-5").base;
    for name in [
        "anthropic/claude-sonnet-4-5",
        "Claude-Sonnet-4-5-20250929",
        "  claude-sonnet-4-5  ",
        "claude-sonnet-4-5@20250929",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
    ] {
        assert_eq!(prices_of(&book, name).base, sonnet, "{name}");
        assert_eq!(book.display_name(name), "claude-sonnet-4-5", "{name}");
    }
    // A regional Bedrock id is in the list itself, at its own (10 % higher) price.
    let regional = book
        .lookup("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .expect("priced");
    assert_eq!(regional.prices.base.input, 3_300_000);
    assert_eq!(regional.name, "claude-sonnet-4-5");
    assert_eq!(
        regional.priced_as,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    // Bedrock spellings of models whose first-party entry is supplemented.
    assert_eq!(
        prices_of(&book, "bedrock/claude-opus-4-1-20250805-v1:0")
            .base
            .input,
        15 * M
    );
}

#[test]
fn display_names() {
    let book = PriceBook::builtin();
    assert_eq!(
        book.display_name("claude-sonnet-4-5-20250929"),
        "claude-sonnet-4-5"
    );
    assert_eq!(
        book.display_name("claude-haiku-4-5-20251001"),
        "claude-haiku-4-5"
    );
    assert_eq!(
        book.display_name("claude-opus-4-1-20250805"),
        "claude-opus-4-1"
    );
    assert_eq!(book.display_name("gpt-5-2025-08-07"), "gpt-5");
    assert_eq!(book.display_name("gpt-5-codex"), "gpt-5-codex");
    assert_eq!(book.display_name(" Mystery-Model-9 "), "Mystery-Model-9");
    assert_eq!(book.display_name(""), "");
}

#[test]
fn unknown_models_are_unpriced_not_free() {
    let book = PriceBook::builtin();
    let some = tokens(10, 10, 10, 10, 10);
    for name in [
        "mystery-model",
        "",
        "   ",
        "claude",
        "anthropic/",
        "claude-sonnet-9-9",
    ] {
        assert_eq!(book.lookup(name), None, "{name}");
        assert_eq!(book.cost(name, &some), None, "{name}");
        assert_eq!(
            book.cost_with_speed(name, Some("fast"), &some),
            None,
            "{name}"
        );
    }
}

#[test]
fn hand_computed_costs() {
    let book = PriceBook::builtin();
    let cases = [
        // 1,000×3 + 2,000×15 + 10,000×3.75 + 20,000×6 (1 h writes) + 100,000×0.3, per M.
        (
            "claude-sonnet-4-5-20250929",
            tokens(1_000, 2_000, 10_000, 20_000, 100_000),
            220_500_000_000u128,
        ),
        // 500×15 + 1,500×75 + 4,000×30 (1 h writes) + 50,000×1.5, per M.
        (
            "claude-opus-4-1-20250805",
            tokens(500, 1_500, 0, 4_000, 50_000),
            315_000_000_000,
        ),
        // 12,345×1 + 678×5 + 9×1.25 + 10×2 + 11×0.1, per M.
        (
            "claude-haiku-4-5",
            tokens(12_345, 678, 9, 10, 11),
            15_767_350_000,
        ),
        // 1 M×1.25 + 100 k×10 + 2 M×0.125, per M: exactly $2.50.
        (
            "gpt-5",
            tokens(1_000_000, 100_000, 0, 0, 2_000_000),
            2_500_000_000_000,
        ),
    ];
    for (model, counts, picos) in cases {
        assert_eq!(book.cost(model, &counts), Some(Money(picos)), "{model}");
    }
    assert_eq!(
        book.cost("claude-haiku-4-5", &tokens(12_345, 678, 9, 10, 11))
            .map(Money::to_decimal)
            .as_deref(),
        Some("0.015767")
    );
}

#[test]
fn long_context_tier_applies_to_the_whole_request_above_200k() {
    let book = PriceBook::builtin();
    let model = "claude-sonnet-4-5";
    // Exactly 200,000 prompt tokens: base prices. 200,000×0.3 + 1,000×15 per M.
    assert_eq!(
        book.cost(model, &tokens(0, 1_000, 0, 0, 200_000)),
        Some(Money(75_000_000_000))
    );
    // 200,001 prompt tokens: every token at the tier. 1×6 + 200,000×0.6 + 1,000×22.5 per M.
    assert_eq!(
        book.cost(model, &tokens(1, 1_000, 0, 0, 200_000)),
        Some(Money(142_506_000_000))
    );
    // Cache writes count towards the prompt and get tier prices (7.5 and 12 per M).
    assert_eq!(
        book.cost(model, &tokens(0, 0, 100_000, 100_001, 0)),
        Some(Money(100_000 * 7_500_000 + 100_001 * 12_000_000))
    );
    // Output does not count towards the threshold.
    assert_eq!(
        book.cost(model, &tokens(200_000, 50_000, 0, 0, 0)),
        Some(Money(200_000 * 3_000_000 + 50_000 * 15_000_000))
    );
    // Models without a tier never switch.
    assert_eq!(
        book.cost("claude-opus-4-5", &tokens(300_000, 0, 0, 0, 0)),
        Some(Money(300_000 * 5_000_000))
    );
}

#[test]
fn absurd_token_counts_do_not_panic() {
    let book = PriceBook::builtin();
    let huge = tokens(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
    assert!(book.cost("claude-opus-4-1", &huge).is_some());
    assert!(
        book.cost_with_speed("claude-opus-4-8", Some("fast"), &huge)
            .is_some()
    );
}

#[test]
fn fast_mode() {
    let book = PriceBook::builtin();
    let counts = tokens(1_000, 1_000, 1_000, 1_000, 1_000);
    let standard = book.cost("claude-opus-4-8", &counts).expect("priced");
    for speed in [None, Some("standard"), Some(""), Some(" Standard ")] {
        assert_eq!(
            book.cost_with_speed("claude-opus-4-8", speed, &counts),
            Some(standard),
            "{speed:?}"
        );
    }
    // The snapshot gives claude-opus-4-8 a fast multiplier of 2.
    assert_eq!(
        book.cost_with_speed("claude-opus-4-8", Some("fast"), &counts),
        Some(Money(standard.0 * 2))
    );
    // No fast price known: unpriced, not guessed.
    assert_eq!(
        book.cost_with_speed("claude-sonnet-4-5", Some("fast"), &counts),
        None
    );
    assert_eq!(
        book.cost_with_speed("claude-opus-4-8", Some("turbo"), &counts),
        None
    );
    // A user-priced `<model>-fast` entry is used, also for dated names.
    let overrides = PriceOverrides::from_toml_str(
        "[prices.\"claude-sonnet-4-5-fast\"]\ninput = 18\noutput = 90\n",
        "test.toml",
    )
    .expect("valid");
    let book = book.with_overrides(&overrides);
    assert_eq!(
        book.cost_with_speed(
            "claude-sonnet-4-5-20250929",
            Some("fast"),
            &tokens(1_000, 1_000, 0, 0, 0)
        ),
        Some(Money(1_000 * 18 * M as u128 + 1_000 * 90 * M as u128))
    );
    // A fast multiplier in an override.
    let overrides = PriceOverrides::from_toml_str(
        "[prices.m]\ninput = 1\noutput = 2\nfast_multiplier = 6\n",
        "test.toml",
    )
    .expect("valid");
    let book = PriceBook::builtin().with_overrides(&overrides);
    assert_eq!(
        book.cost_with_speed("m", Some("fast"), &tokens(1, 1, 0, 0, 0)),
        Some(Money(18 * M as u128))
    );
}

const EXAMPLE: &str = r#"
[settings]
anything = "ignored"

[prices."my-internal-model"]      # USD per million tokens
input = 3.0
output = 15
cache_write = 3.75
cache_write_1h = 6.0
cache_read = 0.3
above_200k = { input = 6.0, output = 22.5 }

[prices.free-model]
input = 0
output = 0

[aliases]
"corp-claude" = "claude-sonnet-4-5"
"#;

#[test]
fn overrides_and_aliases() {
    let overrides = PriceOverrides::from_toml_str(EXAMPLE, "/home/me/agent-cost.toml")
        .expect("valid overrides");
    assert_eq!(overrides.prices().count(), 2);
    assert_eq!(
        overrides.aliases().collect::<Vec<_>>(),
        [("corp-claude", "claude-sonnet-4-5")]
    );
    let book = PriceBook::builtin().with_overrides(&overrides);

    let mine = book.lookup("My-Internal-Model").expect("overridden");
    assert_eq!(mine.source, PriceSource::Override);
    assert_eq!(mine.name, "my-internal-model");
    assert_eq!(
        mine.prices.base,
        tier(3 * M, 15 * M, 3_750_000, 6 * M, 300_000)
    );
    let long = mine.prices.long_context.expect("tier");
    assert_eq!(long.threshold_tokens, 200_000);
    // Tier fallbacks: writes from the tier input (5 min = input, 1 h = 2 × input), read = input.
    assert_eq!(long.prices, tier(6 * M, 22_500_000, 6 * M, 12 * M, 6 * M));

    assert_eq!(
        book.cost("free-model", &tokens(10, 10, 10, 10, 10)),
        Some(Money::ZERO)
    );

    let alias = book.lookup("corp-claude").expect("alias");
    assert_eq!(alias.name, "corp-claude");
    assert_eq!(alias.priced_as, "claude-sonnet-4-5");
    assert_eq!(alias.source, PriceSource::Builtin);
    assert_eq!(alias.prices, prices_of(&book, "claude-sonnet-4-5"));
    assert_eq!(book.display_name("corp-claude"), "corp-claude");
    assert!(book.unresolved_aliases().is_empty());
}

#[test]
fn override_shadows_builtin_and_its_spellings() {
    let overrides = PriceOverrides::from_toml_str(
        "[prices.\"claude-sonnet-4-5\"]\ninput = 1\noutput = 2\n",
        "config.toml",
    )
    .expect("valid");
    let book = PriceBook::builtin().with_overrides(&overrides);
    for name in [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "anthropic/claude-sonnet-4-5",
        "claude-sonnet-4-5@20250929",
    ] {
        let priced = book.lookup(name).expect(name);
        assert_eq!(priced.source, PriceSource::Override, "{name}");
        assert_eq!(priced.prices.base.input, M, "{name}");
        assert_eq!(priced.prices.long_context, None, "{name}");
        assert_eq!(book.display_name(name), "claude-sonnet-4-5", "{name}");
    }
    // An alias to the overridden model follows the override.
    let aliases = PriceOverrides::from_toml_str(
        "[aliases]\nx = \"claude-sonnet-4-5-20250929\"\n",
        "repo.toml",
    )
    .expect("valid");
    let book = book.with_overrides(&aliases);
    assert_eq!(book.lookup("x").expect("alias").prices.base.input, M);
    // Other models are untouched.
    assert_eq!(prices_of(&book, "claude-opus-4-5").base.input, 5 * M);
}

#[test]
fn later_overrides_win() {
    let home = PriceOverrides::from_toml_str(
        "[prices.m]\ninput = 1\noutput = 1\n[prices.n]\ninput = 1\noutput = 1\n[aliases]\na = \"gpt-5\"\n",
        "home/config.toml",
    )
    .expect("valid");
    let repo = PriceOverrides::from_toml_str(
        "[prices.m]\ninput = 2\noutput = 2\n[prices.a]\ninput = 7\noutput = 7\n[aliases]\nn = \"claude-opus-4-5\"\n",
        "repo/agent-cost.toml",
    )
    .expect("valid");
    let book = PriceBook::builtin()
        .with_overrides(&home)
        .with_overrides(&repo);
    assert_eq!(prices_of(&book, "m").base.input, 2 * M);
    // A later alias replaces an earlier price, and a later price an earlier alias.
    assert_eq!(prices_of(&book, "n").base.input, 5 * M);
    assert_eq!(prices_of(&book, "a").base.input, 7 * M);
    // The other order.
    let book = PriceBook::builtin()
        .with_overrides(&repo)
        .with_overrides(&home);
    assert_eq!(prices_of(&book, "m").base.input, M);
    assert_eq!(prices_of(&book, "a").base.input, 1_250_000);
}

#[test]
fn alias_cycles_and_dangling_aliases_are_unpriced() {
    let overrides = PriceOverrides::from_toml_str(
        "[aliases]\na = \"b\"\nb = \"a\"\nc = \"no-such-model\"\n",
        "cfg.toml",
    )
    .expect("valid");
    let book = PriceBook::builtin().with_overrides(&overrides);
    for name in ["a", "b", "c"] {
        assert_eq!(book.lookup(name), None, "{name}");
    }
    assert_eq!(book.unresolved_aliases().len(), 3);
}

fn error_of(text: &str) -> String {
    match PriceOverrides::from_toml_str(text, "/repo/agent-cost.toml") {
        Ok(overrides) => panic!("accepted {text:?}: {overrides:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bad_override_files_name_the_problem() {
    let cases: &[(&str, &[&str])] = &[
        ("[prices.m\ninput = 1", &["/repo/agent-cost.toml", "TOML"]),
        (
            "[prices.m]\ninput = -1\noutput = 1\n",
            &[
                "/repo/agent-cost.toml",
                "prices.m",
                "`input`",
                "non-negative",
            ],
        ),
        (
            "[prices.m]\ninput = nan\noutput = 1\n",
            &["prices.m", "`input`", "finite"],
        ),
        (
            "[prices.m]\ninput = 1\noutput = inf\n",
            &["prices.m", "`output`", "finite"],
        ),
        (
            "[prices.m]\ninput = \"3\"\noutput = 1\n",
            &["prices.m", "`input`", "number"],
        ),
        (
            "[prices.\"my model\"]\ninptu = 1\ninput = 1\noutput = 1\n",
            &["prices.\"my model\"", "`inptu`", "allowed keys"],
        ),
        ("[prices.m]\ninput = 1\n", &["prices.m", "missing `output`"]),
        ("[prices.m]\noutput = 1\n", &["prices.m", "missing `input`"]),
        (
            "[prices.m]\ninput = 1\noutput = 1\nabove_200k = { input = 2, outptu = 3 }\n",
            &["prices.m", "`above_200k.outptu`"],
        ),
        (
            "[prices.m]\ninput = 1\noutput = 1\nabove_200k = { output = 3 }\n",
            &["prices.m", "missing `above_200k.input`"],
        ),
        (
            "[prices.m]\ninput = 1\noutput = 1\nabove_200k = { input = -2 }\n",
            &["`above_200k.input`"],
        ),
        (
            "[prices.m]\ninput = 1\noutput = 1\nabove_200k = 5\n",
            &["`above_200k`", "table"],
        ),
        (
            "[prices.m]\ninput = 1\noutput = 1\nfast_multiplier = 0\n",
            &["`fast_multiplier`", "positive"],
        ),
        ("prices = 3\n", &["`prices` must be a table"]),
        ("[prices]\nm = 3\n", &["`prices.m` must be a table"]),
        ("aliases = []\n", &["`aliases` must be a table"]),
        ("[aliases]\nx = 3\n", &["[aliases] key `x`", "string"]),
        ("[aliases]\nx = \"  \"\n", &["[aliases] key `x`"]),
        (
            "[prices.x]\ninput = 1\noutput = 1\n[aliases]\nx = \"gpt-5\"\n",
            &["`x`", "both priced"],
        ),
    ];
    for (text, needles) in cases {
        let message = error_of(text);
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{text:?}: {message:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn files_without_prices_are_fine() {
    for text in [
        "",
        "[other]\nkey = 1\n",
        "top = \"level\"\n[hooks]\nx = [1, 2]\n",
    ] {
        let overrides = PriceOverrides::from_toml_str(text, "x.toml").expect("valid");
        assert!(overrides.is_empty());
    }
}

#[test]
fn builtin_is_shared_and_describes_its_source() {
    let a = PriceBook::builtin();
    let b = PriceBook::default();
    assert_eq!(a.source(), b.source());
    assert_eq!(a.source().package, "litellm");
    assert_eq!(a.source().license, "MIT");
}

fn prompt_counts() -> impl Strategy<Value = TokenCounts> {
    // Each prompt field ≤ 25,000, so one request's prompt ≤ 100,000 and two together ≤ 200,000.
    (
        0u64..=25_000,
        0u64..=5_000_000,
        0u64..=25_000,
        0u64..=25_000,
        0u64..=25_000,
    )
        .prop_map(|(input, output, w5, w1h, read)| tokens(input, output, w5, w1h, read))
}

proptest! {
    #[test]
    fn cost_is_additive_below_the_tier(a in prompt_counts(), b in prompt_counts()) {
        let book = PriceBook::builtin();
        for model in ["claude-sonnet-4-5", "claude-opus-4-1", "gpt-5", "gemini-2.5-pro"] {
            let ca = book.cost(model, &a).expect("priced");
            let cb = book.cost(model, &b).expect("priced");
            let sum = book.cost(model, &(a + b)).expect("priced");
            prop_assert_eq!(ca + cb, sum, "{}", model);
        }
    }

    #[test]
    fn lookup_never_panics(name in "\\PC{0,40}") {
        let book = PriceBook::builtin();
        let _ = book.lookup(&name);
        let _ = book.display_name(&name);
        let _ = book.cost_with_speed(&name, Some(&name), &TokenCounts::default());
    }
}

#[test]
fn documented_example_parses() {
    let doc = include_str!("../../../docs/prices.md");
    let example = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/prices.md has a TOML example");
    let overrides = PriceOverrides::from_toml_str(example, "docs/prices.md").expect("valid");
    let book = PriceBook::builtin().with_overrides(&overrides);
    assert_eq!(
        book.cost("free-local-model", &tokens(1, 1, 1, 1, 1)),
        Some(Money::ZERO)
    );
    assert_eq!(
        prices_of(&book, "my-internal-model").fast_multiplier_milli,
        Some(6000)
    );
    assert_eq!(
        book.cost_with_speed("claude-sonnet-4-5", Some("fast"), &tokens(0, 1, 0, 0, 0)),
        Some(Money(90 * M as u128))
    );
    assert_eq!(
        book.lookup("corp-claude").expect("alias").priced_as,
        "claude-sonnet-4-5"
    );
}
