//! The built-in price table: the vendored LiteLLM snapshot (`data/prices.json`), embedded in
//! the binary and parsed once on first use.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::names;
use crate::prices::{
    LongContextTier, ModelPrices, TierPrices, multiplier_to_milli, usd_per_token_to_picos,
};

/// The vendored snapshot, written by `scripts/update-prices.py`.
const PRICES_JSON: &str = include_str!("../data/prices.json");

/// Where the built-in prices come from (the `_source` object of `data/prices.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SourceInfo {
    /// The package the price list was taken from: `litellm`.
    pub package: String,
    /// That package's version, e.g. `1.109.1`.
    pub version: String,
    /// The licence of the price data: `MIT`.
    pub license: String,
    /// The day the snapshot was taken (`YYYY-MM-DD`).
    pub date: String,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "_source", default)]
    source: SourceInfo,
    #[serde(default)]
    models: BTreeMap<String, Map<String, Value>>,
}

/// The parsed built-in table.
#[derive(Debug, Default)]
pub(crate) struct BuiltinTable {
    /// Prices by price-list key.
    pub(crate) models: HashMap<String, ModelPrices>,
    /// Undated name → its newest dated key (`claude-opus-4-1` → `claude-opus-4-1-20250805`).
    pub(crate) newest_dated: HashMap<String, String>,
    /// Where the data came from.
    pub(crate) source: SourceInfo,
}

/// The built-in table, parsed on first use and shared afterwards.
pub(crate) fn builtin() -> &'static BuiltinTable {
    static TABLE: OnceLock<BuiltinTable> = OnceLock::new();
    // The embedded file is checked by the crate's tests; should it ever fail to parse, every
    // model is reported as unpriced rather than panicking.
    TABLE.get_or_init(|| parse(PRICES_JSON).unwrap_or_default())
}

/// Parses a file in the format of `data/prices.json`. Entries without a usable input or
/// output price are left out (unpriced), never priced at zero.
pub(crate) fn parse(text: &str) -> Result<BuiltinTable, serde_json::Error> {
    let raw: RawFile = serde_json::from_str(text)?;
    let mut models = HashMap::with_capacity(raw.models.len());
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
    let newest_dated = newest_dated(models.keys());
    Ok(BuiltinTable {
        models,
        newest_dated,
        source: raw.source,
    })
}

/// Maps every undated name to its newest dated key.
pub(crate) fn newest_dated<'a>(keys: impl Iterator<Item = &'a String>) -> HashMap<String, String> {
    let mut best: HashMap<String, (u32, String)> = HashMap::new();
    for key in keys {
        if let Some((base, date)) = names::date_suffix(key) {
            let slot = best
                .entry(base.to_string())
                .or_insert_with(|| (date, key.clone()));
            if (date, key.as_str()) > (slot.0, slot.1.as_str()) {
                *slot = (date, key.clone());
            }
        }
    }
    best.into_iter()
        .map(|(base, (_, key))| (base, key))
        .collect()
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

    #[test]
    fn embedded_snapshot_parses() {
        let table = parse(PRICES_JSON).expect("data/prices.json parses");
        assert!(table.models.len() > 200, "{} models", table.models.len());
        assert_eq!(table.source.package, "litellm");
        assert_eq!(table.source.license, "MIT");
        assert!(!table.source.version.is_empty());
        assert_eq!(builtin().models.len(), table.models.len());
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
