//! [`PriceBook`]: the built-in table plus user overrides; model-name lookup, display names,
//! request costs and fast mode.

use std::collections::BTreeMap;

use agent_cost_events::{Money, TokenCounts};

use crate::names;
use crate::overrides::{AliasEntry, OverrideEntry, PriceOverrides, key_of};
use crate::prices::ModelPrices;
use crate::table::{self, BuiltinTable, SourceInfo};

/// How many aliases may point at aliases before a lookup gives up (cycles end here).
const MAX_ALIAS_DEPTH: usize = 8;

/// Where the prices of a [`PricedModel`] come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriceSource {
    /// The vendored LiteLLM snapshot (with its documented supplement).
    Builtin,
    /// A user override (`[prices."model"]` in a settings file).
    Override,
}

/// The result of a successful lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedModel {
    /// The canonical name to write in trailers: the undated family name when the price list
    /// knows it (`claude-sonnet-4-5` for `claude-sonnet-4-5-20250929`), an alias or override
    /// name as the user wrote it, otherwise the price-list key that matched.
    pub name: String,
    /// The price-list or override key whose prices apply.
    pub priced_as: String,
    /// The prices.
    pub prices: ModelPrices,
    /// Whether the prices are built in or a user override.
    pub source: PriceSource,
}

/// The built-in price table plus user overrides and aliases.
///
/// Lookup order for a model name (first hit wins):
///
/// 1. **User overrides and aliases**, tried under each spelling of the name below, in order
///    (so an override for `claude-sonnet-4-5` also prices `claude-sonnet-4-5-20250929`); an
///    override beats an alias of the same spelling; then the newest dated override of an
///    undated name.
/// 2. **Built-in table** under each spelling: the exact name (trimmed); lower-cased; each step
///    of stripping provider prefixes (`anthropic/`, `openai/`, `gemini/`, `vertex_ai/`,
///    `bedrock/`), Bedrock ids (`anthropic.`, `us.anthropic.`, `eu.`/`apac.`/`global.`…) and
///    version suffixes (`-v1:0`); Vertex `@` versions (`claude-sonnet-4-5@20250929` →
///    `claude-sonnet-4-5-20250929`, `@default` dropped); the undated name (`-YYYYMMDD` or
///    `-YYYY-MM-DD` removed).
/// 3. **Dated variant**: for a name without a date, the newest built-in key that is the name
///    plus `-` plus a date.
///
/// A name found nowhere is unpriced: [`PriceBook::cost`] returns `None`, never zero.
#[derive(Debug, Clone)]
pub struct PriceBook {
    builtin: &'static BuiltinTable,
    overrides: BTreeMap<String, OverrideEntry>,
    aliases: BTreeMap<String, AliasEntry>,
}

impl Default for PriceBook {
    fn default() -> Self {
        PriceBook::builtin()
    }
}

impl PriceBook {
    /// The built-in table without overrides. Cheap: the embedded JSON is parsed once per
    /// process and shared.
    pub fn builtin() -> PriceBook {
        PriceBook {
            builtin: table::builtin(),
            overrides: BTreeMap::new(),
            aliases: BTreeMap::new(),
        }
    }

    /// Where the built-in prices come from (package, version, licence, date).
    pub fn source(&self) -> &SourceInfo {
        &self.builtin.source
    }

    /// This book with `overrides` applied on top. Apply files in order of precedence, lowest
    /// first (`$AGENT_COST_HOME/config.toml`, then the repository's `agent-cost.toml` when the
    /// user's `[trust]` allows it, see [`crate::Trust`]): a later definition of a name, price or alias, replaces an earlier one.
    pub fn with_overrides(mut self, overrides: &PriceOverrides) -> PriceBook {
        for (key, entry) in &overrides.prices {
            self.aliases.remove(key);
            self.overrides.insert(key.clone(), entry.clone());
        }
        for (key, entry) in &overrides.aliases {
            self.overrides.remove(key);
            self.aliases.insert(key.clone(), entry.clone());
        }
        self
    }

    /// Finds the prices of `model` (see the type's documentation for the order), or `None`
    /// when the model is unknown.
    pub fn lookup(&self, model: &str) -> Option<PricedModel> {
        self.lookup_at_depth(model, 0)
    }

    /// The model name to write in trailers: the canonical name when the price list knows the
    /// model (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`), otherwise the name as logged,
    /// trimmed.
    pub fn display_name(&self, model: &str) -> String {
        match self.lookup(model) {
            Some(priced) => priced.name,
            None => model.trim().to_string(),
        }
    }

    /// The cost of one request to `model` with these token counts. `None` means unpriced (an
    /// unknown model), never zero; a model overridden with zero prices costs `Some(Money::ZERO)`.
    pub fn cost(&self, model: &str, tokens: &TokenCounts) -> Option<Money> {
        self.lookup(model).map(|priced| priced.prices.cost(tokens))
    }

    /// Like [`PriceBook::lookup`], for a request made in a speed mode (Claude's
    /// `speed: "fast"`). `None`, an empty string and `"standard"` mean the normal prices. For
    /// any other speed `s`, in order:
    ///
    /// 1. a model named `<model>-<s>` or `<s>/<model>` (built in or overridden), trying the
    ///    name as logged, then the key whose prices apply, then the canonical name;
    /// 2. for `fast`, the model's fast multiplier (LiteLLM's `provider_specific_entry.fast`,
    ///    or `fast_multiplier` in an override) applied to every token price;
    /// 3. otherwise `None`: unpriced rather than guessed.
    pub fn lookup_with_speed(&self, model: &str, speed: Option<&str>) -> Option<PricedModel> {
        let speed = speed
            .map(str::trim)
            .filter(|speed| !speed.is_empty() && !speed.eq_ignore_ascii_case("standard"));
        let Some(speed) = speed else {
            return self.lookup(model);
        };
        let speed = speed.to_lowercase();
        let base = self.lookup(model);
        let mut names = vec![model.trim().to_string()];
        if let Some(base) = &base {
            names.push(base.priced_as.clone());
            names.push(base.name.clone());
        }
        for name in &names {
            for variant in [format!("{name}-{speed}"), format!("{speed}/{name}")] {
                if let Some(priced) = self.lookup(&variant) {
                    return Some(priced);
                }
            }
        }
        let base = base?;
        if speed != "fast" {
            return None;
        }
        let milli = base.prices.fast_multiplier_milli?;
        Some(PricedModel {
            prices: base.prices.scaled(milli),
            ..base
        })
    }

    /// The cost of one request made in a speed mode; see [`PriceBook::lookup_with_speed`].
    /// `None` means unpriced: an unknown model, or a speed the price list has no price for.
    pub fn cost_with_speed(
        &self,
        model: &str,
        speed: Option<&str>,
        tokens: &TokenCounts,
    ) -> Option<Money> {
        self.lookup_with_speed(model, speed)
            .map(|priced| priced.prices.cost(tokens))
    }

    /// Aliases whose target is not priced, as `(alias, target)`: worth a warning, since
    /// requests to them are reported as unpriced.
    pub fn unresolved_aliases(&self) -> Vec<(String, String)> {
        self.aliases
            .values()
            .filter(|alias| self.lookup(&alias.name).is_none())
            .map(|alias| (alias.name.clone(), alias.target.clone()))
            .collect()
    }

    fn lookup_at_depth(&self, model: &str, depth: usize) -> Option<PricedModel> {
        if depth > MAX_ALIAS_DEPTH {
            return None;
        }
        let forms = names::candidates(model);
        let family = forms.last().cloned().unwrap_or_default();

        // 1. User overrides and aliases.
        for form in &forms {
            if let Some(entry) = self.overrides.get(&key_of(form)) {
                return Some(self.priced_override(entry));
            }
            if let Some(alias) = self.aliases.get(&key_of(form)) {
                let target = self.lookup_at_depth(&alias.target, depth + 1)?;
                return Some(PricedModel {
                    name: alias.name.clone(),
                    ..target
                });
            }
        }
        if names::strip_date(&family).is_none()
            && let Some(entry) = self.newest_dated_override(&family)
        {
            return Some(self.priced_override(entry));
        }

        // 2. The built-in table.
        for form in &forms {
            if let Some(prices) = self.builtin.get(form) {
                return Some(self.priced_builtin(form, prices));
            }
        }

        // 3. The newest dated built-in variant of an undated name.
        if names::strip_date(&family).is_none()
            && let Some(key) = self.builtin.newest_dated(&family)
            && let Some(prices) = self.builtin.get(key)
        {
            return Some(self.priced_builtin(key, prices));
        }
        None
    }

    fn newest_dated_override(&self, family: &str) -> Option<&OverrideEntry> {
        let newest = table::newest_dated(self.overrides.keys());
        let key = newest.get(family)?;
        self.overrides.get(key)
    }

    fn priced_override(&self, entry: &OverrideEntry) -> PricedModel {
        PricedModel {
            name: self.canonical(&entry.name),
            priced_as: entry.name.clone(),
            prices: entry.prices,
            source: PriceSource::Override,
        }
    }

    fn priced_builtin(&self, key: &str, prices: &ModelPrices) -> PricedModel {
        PricedModel {
            name: self.canonical(key),
            priced_as: key.to_string(),
            prices: *prices,
            source: PriceSource::Builtin,
        }
    }

    /// The family name of `key` when the book knows it under that name, else `key`.
    fn canonical(&self, key: &str) -> String {
        let family = names::family(key);
        let known = self.builtin.contains(&family) || self.overrides.contains_key(&key_of(&family));
        if known { family } else { key.to_string() }
    }
}
