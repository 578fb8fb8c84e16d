//! The built-in price table: the vendored LiteLLM snapshot (`data/prices.json`), compiled into
//! the binary as the sorted statics of `data/builtin.rs`, so pricing a commit parses no JSON.
//! The `snapshot` module (tests only) turns the JSON into that file and checks it is current.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::names;
use crate::prices::ModelPrices;

mod generated {
    #[allow(unused_imports)] // a snapshot may have no long-context model
    use crate::prices::{LongContextTier, ModelPrices, TierPrices};
    include!("../data/builtin.rs");
}

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

/// The built-in table: sorted statics, searched by binary search.
#[derive(Debug)]
pub(crate) struct BuiltinTable {
    models: &'static [(&'static str, ModelPrices)],
    newest_dated: &'static [(&'static str, &'static str)],
    /// Where the data came from.
    pub(crate) source: SourceInfo,
}

impl BuiltinTable {
    /// The prices of price-list key `key` (lower case).
    pub(crate) fn get(&self, key: &str) -> Option<&'static ModelPrices> {
        let models = self.models;
        let index = models.binary_search_by(|(name, _)| (*name).cmp(key)).ok()?;
        Some(&models[index].1)
    }

    /// Whether `key` is in the table.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The newest dated key of undated name `family`.
    pub(crate) fn newest_dated(&self, family: &str) -> Option<&'static str> {
        let newest = self.newest_dated;
        let index = newest
            .binary_search_by(|(name, _)| (*name).cmp(family))
            .ok()?;
        Some(newest[index].1)
    }

    /// How many models the table prices.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.models.len()
    }
}

/// The built-in table.
pub(crate) fn builtin() -> &'static BuiltinTable {
    static TABLE: OnceLock<BuiltinTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let [package, version, license, date] = generated::SOURCE.map(String::from);
        BuiltinTable {
            models: generated::MODELS,
            newest_dated: generated::NEWEST_DATED,
            source: SourceInfo {
                package,
                version,
                license,
                date,
            },
        }
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
