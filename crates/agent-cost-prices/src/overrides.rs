//! User price overrides and aliases read from TOML (`[prices."model"]` and `[aliases]`), and
//! the errors that name the file, table and key at fault.

use std::collections::BTreeMap;
use std::path::Path;

use toml::{Table, Value};

use crate::prices::{
    LONG_CONTEXT_THRESHOLD, LongContextTier, ModelPrices, TierPrices, multiplier_to_milli,
    usd_per_million_to_picos,
};

/// Keys allowed in a `[prices."model"]` table.
const PRICE_KEYS: &str =
    "input, output, cache_write, cache_write_1h, cache_read, above_200k, fast_multiplier";
/// Keys allowed in an `above_200k` table.
const TIER_KEYS: &str = "input, output, cache_write, cache_write_1h, cache_read";

/// A problem in a price override file. Every message names the file and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// The file is not valid TOML.
    #[error("{origin}: not valid TOML: {message}; fix the syntax and run agent-cost again")]
    Syntax {
        /// The file (or other origin) of the text.
        origin: String,
        /// The TOML parser's message.
        message: String,
    },
    /// A table that must be a TOML table is something else.
    #[error("{origin}: `{table}` must be a table, like `[{table}]`")]
    NotATable {
        /// The file (or other origin) of the text.
        origin: String,
        /// The table, e.g. `prices."my-model"`.
        table: String,
    },
    /// A key has a value that cannot be used.
    #[error("{origin}: [{table}] key `{key}` {problem}")]
    BadValue {
        /// The file (or other origin) of the text.
        origin: String,
        /// The table, e.g. `prices."my-model"`.
        table: String,
        /// The key, e.g. `input` or `above_200k.output`.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A key that overrides do not know (a typo, usually).
    #[error("{origin}: [{table}] has an unknown key `{key}`; the allowed keys are {allowed}")]
    UnknownKey {
        /// The file (or other origin) of the text.
        origin: String,
        /// The table, e.g. `prices."my-model"`.
        table: String,
        /// The unknown key.
        key: String,
        /// The keys that are allowed there.
        allowed: &'static str,
    },
    /// A required key is missing.
    #[error(
        "{origin}: [{table}] is missing `{key}`; add it in USD per million tokens, e.g. `{key} = 3.0`"
    )]
    MissingKey {
        /// The file (or other origin) of the text.
        origin: String,
        /// The table, e.g. `prices."my-model"`.
        table: String,
        /// The missing key.
        key: String,
    },
    /// One name is both priced and aliased in the same file.
    #[error(
        "{origin}: `{name}` is both priced under [prices] and aliased under [aliases]; keep only one"
    )]
    Conflict {
        /// The file (or other origin) of the text.
        origin: String,
        /// The name defined twice.
        name: String,
    },
}

/// An overridden model: its name as written and its prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverrideEntry {
    pub(crate) name: String,
    pub(crate) prices: ModelPrices,
}

/// An alias: its name as written and the model it is priced like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasEntry {
    pub(crate) name: String,
    pub(crate) target: String,
}

/// Prices and aliases from one settings file; apply with
/// [`PriceBook::with_overrides`](crate::PriceBook::with_overrides).
///
/// Names are matched case-insensitively (keys are stored lower-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceOverrides {
    pub(crate) prices: BTreeMap<String, OverrideEntry>,
    pub(crate) aliases: BTreeMap<String, AliasEntry>,
}

impl PriceOverrides {
    /// Reads the `[prices]` and `[aliases]` tables of a settings file; other top-level tables
    /// and keys are ignored (the file holds other settings too). `origin` (usually the file's
    /// path) is named in error messages.
    ///
    /// Prices are USD per million tokens (integer or float), converted to pico-dollars per
    /// token as `(v * 1e6).round()`. Negative, non-finite or non-numeric values and unknown
    /// keys inside a `[prices."model"]` table are errors.
    pub fn from_toml_str(
        text: &str,
        origin: impl AsRef<Path>,
    ) -> Result<PriceOverrides, PriceError> {
        let origin = origin.as_ref().display().to_string();
        let table: Table = toml::from_str(text).map_err(|error| PriceError::Syntax {
            origin: origin.clone(),
            message: error.message().trim().to_string(),
        })?;
        let mut overrides = PriceOverrides::default();
        if let Some(prices) = table.get("prices") {
            let prices = prices.as_table().ok_or_else(|| PriceError::NotATable {
                origin: origin.clone(),
                table: "prices".into(),
            })?;
            for (name, value) in prices {
                let table_name = format!("prices.{}", quoted(name));
                let model = value.as_table().ok_or_else(|| PriceError::NotATable {
                    origin: origin.clone(),
                    table: table_name.clone(),
                })?;
                let prices = parse_model(model, &origin, &table_name)?;
                let entry = OverrideEntry {
                    name: name.trim().to_string(),
                    prices,
                };
                overrides.prices.insert(key_of(name), entry);
            }
        }
        if let Some(aliases) = table.get("aliases") {
            let aliases = aliases.as_table().ok_or_else(|| PriceError::NotATable {
                origin: origin.clone(),
                table: "aliases".into(),
            })?;
            for (name, value) in aliases {
                let target = value
                    .as_str()
                    .map(str::trim)
                    .filter(|target| !target.is_empty())
                    .ok_or_else(|| PriceError::BadValue {
                        origin: origin.clone(),
                        table: "aliases".into(),
                        key: quoted(name),
                        problem: "must name a model as a string, like \"claude-sonnet-4-5\"".into(),
                    })?;
                let key = key_of(name);
                if overrides.prices.contains_key(&key) {
                    return Err(PriceError::Conflict {
                        origin,
                        name: name.clone(),
                    });
                }
                let entry = AliasEntry {
                    name: name.trim().to_string(),
                    target: target.to_string(),
                };
                overrides.aliases.insert(key, entry);
            }
        }
        Ok(overrides)
    }

    /// True when the file defined no prices and no aliases.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty() && self.aliases.is_empty()
    }

    /// The overridden models (name as written) and their prices, sorted by name.
    pub fn prices(&self) -> impl Iterator<Item = (&str, &ModelPrices)> {
        self.prices
            .values()
            .map(|entry| (entry.name.as_str(), &entry.prices))
    }

    /// The aliases (name as written → model it is priced like), sorted by name.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases
            .values()
            .map(|entry| (entry.name.as_str(), entry.target.as_str()))
    }
}

/// The lookup key of a user-written name.
pub(crate) fn key_of(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A TOML key as it would be written: bare when possible, quoted otherwise.
fn quoted(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn parse_model(model: &Table, origin: &str, table: &str) -> Result<ModelPrices, PriceError> {
    for key in model.keys() {
        let known = matches!(
            key.as_str(),
            "input"
                | "output"
                | "cache_write"
                | "cache_write_1h"
                | "cache_read"
                | "above_200k"
                | "fast_multiplier"
        );
        if !known {
            return Err(PriceError::UnknownKey {
                origin: origin.into(),
                table: table.into(),
                key: key.clone(),
                allowed: PRICE_KEYS,
            });
        }
    }
    let base = parse_tier(model, origin, table, "", None)?;
    let long_context = match model.get("above_200k") {
        None => None,
        Some(value) => {
            let tier = value.as_table().ok_or_else(|| PriceError::BadValue {
                origin: origin.into(),
                table: table.into(),
                key: "above_200k".into(),
                problem: "must be a table like `{ input = 6.0, output = 22.5 }`".into(),
            })?;
            for key in tier.keys() {
                let known = matches!(
                    key.as_str(),
                    "input" | "output" | "cache_write" | "cache_write_1h" | "cache_read"
                );
                if !known {
                    return Err(PriceError::UnknownKey {
                        origin: origin.into(),
                        table: table.into(),
                        key: format!("above_200k.{key}"),
                        allowed: TIER_KEYS,
                    });
                }
            }
            Some(LongContextTier {
                threshold_tokens: LONG_CONTEXT_THRESHOLD,
                prices: parse_tier(tier, origin, table, "above_200k.", Some(base.output))?,
            })
        }
    };
    let fast_multiplier_milli = match model.get("fast_multiplier") {
        None => None,
        Some(value) => {
            let bad = || PriceError::BadValue {
                origin: origin.into(),
                table: table.into(),
                key: "fast_multiplier".into(),
                problem: format!(
                    "must be a positive number such as 6 (fast mode costs 6x), found {value}"
                ),
            };
            let factor = number(value).ok_or_else(bad)?;
            Some(multiplier_to_milli(factor).ok_or_else(bad)?)
        }
    };
    Ok(ModelPrices {
        base,
        long_context,
        fast_multiplier_milli,
    })
}

/// One tier's prices; `output_fallback` makes `output` optional (for the long-context tier).
fn parse_tier(
    tier: &Table,
    origin: &str,
    table: &str,
    prefix: &str,
    output_fallback: Option<u64>,
) -> Result<TierPrices, PriceError> {
    let price = |key: &str| -> Result<Option<u64>, PriceError> {
        let Some(value) = tier.get(key) else {
            return Ok(None);
        };
        let bad = |problem: String| PriceError::BadValue {
            origin: origin.into(),
            table: table.into(),
            key: format!("{prefix}{key}"),
            problem,
        };
        let usd = number(value).ok_or_else(|| {
            bad(format!(
                "must be a number of USD per million tokens, such as 3.0, found {value}"
            ))
        })?;
        usd_per_million_to_picos(usd).map(Some).ok_or_else(|| {
            bad(format!(
                "must be a finite, non-negative number of USD per million tokens, found {value}"
            ))
        })
    };
    let missing = |key: &str| PriceError::MissingKey {
        origin: origin.into(),
        table: table.into(),
        key: format!("{prefix}{key}"),
    };
    let input = price("input")?.ok_or_else(|| missing("input"))?;
    let output = match (price("output")?, output_fallback) {
        (Some(output), _) => output,
        (None, Some(fallback)) => fallback,
        (None, None) => return Err(missing("output")),
    };
    Ok(TierPrices::with_fallbacks(
        input,
        output,
        price("cache_write")?,
        price("cache_write_1h")?,
        price("cache_read")?,
    ))
}

/// A TOML integer or float as `f64`.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(integer) => Some(*integer as f64),
        Value::Float(float) => Some(*float),
        _ => None,
    }
}
