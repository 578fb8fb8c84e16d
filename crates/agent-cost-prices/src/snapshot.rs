//! Turning `data/prices.json` (the vendored LiteLLM snapshot, written by
//! `scripts/update-prices.py`) into `data/builtin.rs`, the statics the binary carries, and
//! checking that the committed file is current: `UPDATE_BUILTIN_PRICES=1 cargo test -p
//! agent-cost-prices builtin` rewrites it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::prices::{
    LongContextTier, ModelPrices, TierPrices, multiplier_to_milli, usd_per_token_to_picos,
};
use crate::table::{SourceInfo, newest_dated};

/// The vendored snapshot.
pub(crate) const PRICES_JSON: &str = include_str!("../data/prices.json");

#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "_source", default)]
    source: SourceInfo,
    #[serde(default)]
    models: BTreeMap<String, Map<String, Value>>,
}

/// A price list as parsed from a file in the format of `data/prices.json`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ParsedTable {
    /// Prices by price-list key (lower case).
    pub(crate) models: BTreeMap<String, ModelPrices>,
    /// Undated name → its newest dated key (`claude-opus-4-1` → `claude-opus-4-1-20250805`).
    pub(crate) newest_dated: BTreeMap<String, String>,
    /// Where the data came from.
    pub(crate) source: SourceInfo,
}

/// `table` as the Rust source of `data/builtin.rs`: statics sorted by key.
pub(crate) fn render(table: &ParsedTable) -> String {
    let mut out = String::from(
        "// Generated from data/prices.json by a test of agent-cost-prices\n\
         // (`UPDATE_BUILTIN_PRICES=1 cargo test -p agent-cost-prices builtin`); do not edit.\n\n",
    );
    let source = &table.source;
    let _ = writeln!(
        out,
        "/// Package, version, licence and date of the snapshot.\npub(crate) const SOURCE: [&str; 4] = [{:?}, {:?}, {:?}, {:?}];\n",
        source.package, source.version, source.license, source.date
    );
    out.push_str("/// Prices by price-list key, sorted by key.\npub(crate) static MODELS: &[(&str, ModelPrices)] = &[\n");
    let tier = |t: &TierPrices| {
        format!(
            "TierPrices {{ input: {}, output: {}, cache_write_5m: {}, cache_write_1h: {}, cache_read: {} }}",
            t.input, t.output, t.cache_write_5m, t.cache_write_1h, t.cache_read
        )
    };
    for (name, prices) in &table.models {
        let long_context = match &prices.long_context {
            Some(long) => format!(
                "Some(LongContextTier {{ threshold_tokens: {}, prices: {} }})",
                long.threshold_tokens,
                tier(&long.prices)
            ),
            None => "None".to_string(),
        };
        let _ = writeln!(
            out,
            "    ({name:?}, ModelPrices {{ base: {}, long_context: {long_context}, fast_multiplier_milli: {:?} }}),",
            tier(&prices.base),
            prices.fast_multiplier_milli
        );
    }
    out.push_str("];\n\n/// Undated name to its newest dated key, sorted by name.\npub(crate) static NEWEST_DATED: &[(&str, &str)] = &[\n");
    for (name, key) in &table.newest_dated {
        let _ = writeln!(out, "    ({name:?}, {key:?}),");
    }
    out.push_str("];\n");
    out
}

/// Parses a file in the format of `data/prices.json`. Entries without a usable input or
/// output price are left out (unpriced), never priced at zero.
pub(crate) fn parse(text: &str) -> Result<ParsedTable, serde_json::Error> {
    let raw: RawFile = serde_json::from_str(text)?;
    let mut models = BTreeMap::new();
    for (name, entry) in &raw.models {
        if let Some(prices) = model_prices(entry) {
            let lower = name.to_lowercase();
            // Deterministic when two keys differ only in case: the lower-case one wins.
            if lower == *name {
                models.insert(lower, prices);
            } else {
                models.entry(lower).or_insert(prices);
            }
        }
    }
    let newest_dated = newest_dated(models.keys()).into_iter().collect();
    Ok(ParsedTable {
        models,
        newest_dated,
        source: raw.source,
    })
}

fn picos(entry: &Map<String, Value>, field: &str) -> Option<u64> {
    entry
        .get(field)
        .and_then(Value::as_f64)
        .and_then(usd_per_token_to_picos)
}

/// One LiteLLM entry to integer prices, with the documented fallbacks.
fn model_prices(entry: &Map<String, Value>) -> Option<ModelPrices> {
    let input = picos(entry, "input_cost_per_token")?;
    let output = picos(entry, "output_cost_per_token")?;
    let base = TierPrices::with_fallbacks(
        input,
        output,
        picos(entry, "cache_creation_input_token_cost"),
        picos(entry, "cache_creation_input_token_cost_above_1hr"),
        picos(entry, "cache_read_input_token_cost"),
    );
    let long_context = long_context_tier(entry, &base);
    let fast_multiplier_milli = entry
        .get("provider_specific_entry")
        .and_then(|specific| specific.get("fast"))
        .and_then(Value::as_f64)
        .and_then(multiplier_to_milli);
    Some(ModelPrices {
        base,
        long_context,
        fast_multiplier_milli,
    })
}

/// The `*_above_<N>k_tokens` tier: present when the entry has
/// `input_cost_per_token_above_<N>k_tokens`. A missing tier output price falls back to the base
/// output price; missing tier cache prices fall back from the tier's input price.
fn long_context_tier(entry: &Map<String, Value>, base: &TierPrices) -> Option<LongContextTier> {
    let (suffix, thousands) = entry.keys().find_map(|key| {
        let rest = key.strip_prefix("input_cost_per_token_above_")?;
        let number = rest.strip_suffix("k_tokens")?;
        let thousands: u64 = number.parse().ok()?;
        Some((format!("_above_{number}k_tokens"), thousands))
    })?;
    let field = |name: &str| picos(entry, &format!("{name}{suffix}"));
    let input = field("input_cost_per_token")?;
    let prices = TierPrices::with_fallbacks(
        input,
        field("output_cost_per_token").unwrap_or(base.output),
        field("cache_creation_input_token_cost"),
        field("cache_creation_input_token_cost_above_1hr"),
        field("cache_read_input_token_cost"),
    );
    Some(LongContextTier {
        threshold_tokens: thousands.checked_mul(1000)?,
        prices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::builtin;

    #[test]
    fn embedded_snapshot_parses() {
        let table = parse(PRICES_JSON).expect("data/prices.json parses");
        assert!(table.models.len() > 200, "{} models", table.models.len());
        assert_eq!(table.source.package, "litellm");
        assert_eq!(table.source.license, "MIT");
        assert!(!table.source.version.is_empty());
    }

    /// `data/builtin.rs` is `data/prices.json` as parsed here: same models, same integer
    /// prices, same newest dated keys, same source.
    #[test]
    fn builtin_table_is_generated_from_the_snapshot() {
        let table = parse(PRICES_JSON).expect("data/prices.json parses");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/builtin.rs");
        let expected = render(&table);
        if std::env::var_os("UPDATE_BUILTIN_PRICES").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "data/builtin.rs is out of date: run UPDATE_BUILTIN_PRICES=1 cargo test -p agent-cost-prices builtin"
        );
        let compiled = builtin();
        assert_eq!(compiled.len(), table.models.len());
        assert_eq!(compiled.source, table.source);
        for (name, prices) in &table.models {
            assert_eq!(compiled.get(name), Some(prices), "{name}");
        }
        for (family, key) in &table.newest_dated {
            assert_eq!(
                compiled.newest_dated(family),
                Some(key.as_str()),
                "{family}"
            );
        }
        assert_eq!(compiled.get("no-such-model"), None);
    }

    #[test]
    fn fallbacks_fill_missing_fields() {
        let table = parse(
            r#"{"models": {
                "m": {"input_cost_per_token": 2e-06, "output_cost_per_token": 1e-05},
                "t": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                      "input_cost_per_token_above_128k_tokens": 4e-06},
                "no-output": {"input_cost_per_token": 1e-06},
                "negative": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06},
                "text": {"input_cost_per_token": "1e-06", "output_cost_per_token": 1e-06},
                "fast": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
                         "provider_specific_entry": {"fast": 6.0, "us": 1.1}}
            }}"#,
        )
        .expect("parses");
        let m = table.models["m"];
        assert_eq!(
            m.base,
            TierPrices {
                input: 2_000_000,
                output: 10_000_000,
                cache_write_5m: 2_000_000,
                cache_write_1h: 4_000_000,
                cache_read: 2_000_000,
            }
        );
        assert_eq!(m.long_context, None);
        let t = table.models["t"].long_context.expect("tier");
        assert_eq!(t.threshold_tokens, 128_000);
        assert_eq!(
            t.prices,
            TierPrices {
                input: 4_000_000,
                output: 2_000_000,
                cache_write_5m: 4_000_000,
                cache_write_1h: 8_000_000,
                cache_read: 4_000_000,
            }
        );
        assert_eq!(table.models["fast"].fast_multiplier_milli, Some(6000));
        for unpriced in ["no-output", "negative", "text"] {
            assert!(!table.models.contains_key(unpriced), "{unpriced}");
        }
    }

    #[test]
    fn newest_dated_picks_latest() {
        let keys = ["a-20240101", "a-2025-01-01", "a", "b-20250101"].map(String::from);
        let newest = newest_dated(keys.iter());
        assert_eq!(newest["a"], "a-2025-01-01");
        assert_eq!(newest["b"], "b-20250101");
    }

    #[test]
    fn bad_json_is_an_error_not_a_panic() {
        assert!(parse("not json").is_err());
        assert!(parse("{}").expect("empty file parses").models.is_empty());
    }
}
