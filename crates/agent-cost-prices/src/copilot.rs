//! GitHub Copilot's premium-request multipliers and the USD list price of a premium request.
//!
//! Copilot is a subscription billed per *premium request*: each request to a model costs that
//! model's multiplier (0 for the included models, fractions or multiples for premium ones).
//! The table below is GitHub's published one as of early 2026; it is data, overridable in a
//! settings file:
//!
//! ```toml
//! [copilot]
//! usd_per_premium_request = 0.04   # the overage list price (the default)
//!
//! [copilot.multipliers]            # patterns over normalised model names, `*` matches anything
//! "gpt-5" = 1
//! "claude-opus-4*" = 10
//! "*" = 1                          # the default, for models no pattern names
//! ```
//!
//! Model names are normalised before matching: lower case, without a provider prefix
//! (`copilot/`, `anthropic/`: anything up to the last `/`), dots as dashes (`gpt-4.1` is
//! `gpt-4-1`, `claude-opus-4.5` is `claude-opus-4-5`). Patterns are normalised the same way.
//! Overrides are tried first, then the built-in table; the first pattern that matches wins.
//! Within one file, names without `*` are tried first, then patterns with more literal
//! characters; a later file's patterns before an earlier one's. The pattern `"*"` alone sets
//! the default: the multiplier of a model that neither the overrides nor the table name.

use toml::Table;

use crate::overrides::PriceError;
use crate::prices::usd_per_million_to_picos;

/// The built-in multipliers, in millionths, first match wins. `*` matches any run of
/// characters. A model no pattern matches costs [`DEFAULT_MULTIPLIER_MICROS`].
pub const BUILTIN_MULTIPLIERS: &[(&str, u64)] = &[
    ("gpt-4-1*", 0),
    ("gpt-4o*", 0),
    ("gpt-5-mini*", 0),
    ("claude-haiku-4-5*", 330_000),
    ("gemini-*flash*", 330_000),
    ("grok-code-fast-1*", 250_000),
    ("claude-sonnet-*", 1_000_000),
    ("claude-opus-4*", 3_000_000),
];

/// The multiplier of a model no pattern names: one premium request per request.
pub const DEFAULT_MULTIPLIER_MICROS: u64 = 1_000_000;

/// Copilot's overage list price of one premium request, in micro-dollars (0.04 USD).
pub const DEFAULT_MICRO_USD_PER_PREMIUM_REQUEST: u64 = 40_000;

/// The highest multiplier accepted in an override (a larger one is a typo).
const MAX_MULTIPLIER: f64 = 1_000.0;

/// The highest price of a premium request accepted in an override, in USD.
const MAX_USD_PER_PREMIUM_REQUEST: f64 = 100.0;

/// Premium-request multipliers and the USD price of a premium request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopilotBilling {
    /// Override patterns (normalised) with their multipliers in millionths, in the order
    /// they are tried.
    overrides: Vec<(String, u64)>,
    /// The override of the default multiplier (the pattern `"*"`), in millionths.
    default: Option<u64>,
    /// Micro-dollars per premium request.
    micro_usd_per_request: u64,
}

impl Default for CopilotBilling {
    fn default() -> CopilotBilling {
        CopilotBilling {
            overrides: Vec::new(),
            default: None,
            micro_usd_per_request: DEFAULT_MICRO_USD_PER_PREMIUM_REQUEST,
        }
    }
}

impl CopilotBilling {
    /// The multiplier of `model` in millionths (`3_000_000` for 3x, `330_000` for 0.33x).
    pub fn multiplier_micros(&self, model: &str) -> u64 {
        let name = normalise(model);
        self.overrides
            .iter()
            .map(|(pattern, micros)| (pattern.as_str(), *micros))
            .chain(BUILTIN_MULTIPLIERS.iter().copied())
            .find(|(pattern, _)| glob(pattern.as_bytes(), name.as_bytes()))
            .map_or(
                self.default.unwrap_or(DEFAULT_MULTIPLIER_MICROS),
                |(_, micros)| micros,
            )
    }

    /// Micro-dollars per premium request (40,000 for 0.04 USD).
    pub fn micro_usd_per_request(&self) -> u64 {
        self.micro_usd_per_request
    }

    /// The USD estimate, in pico-dollars, of an amount of premium requests given in
    /// millionths. Exact: 1.5 premium requests at 0.04 USD are 0.06 USD.
    pub fn picos_of(&self, premium_micros: u64) -> u128 {
        u128::from(premium_micros) * u128::from(self.micro_usd_per_request)
    }

    /// These settings with the `[copilot]` table of a settings file applied on top (its
    /// multiplier patterns are tried before the ones already there). Other tables are
    /// ignored; an unknown key or a value that is not a plausible number is an error naming
    /// the file. `origin` (usually the file's path) is named in error messages.
    pub fn with_toml_str(
        mut self,
        text: &str,
        origin: impl AsRef<std::path::Path>,
    ) -> Result<CopilotBilling, PriceError> {
        let origin = origin.as_ref().display().to_string();
        let table: Table = toml::from_str(text).map_err(|error| PriceError::Syntax {
            origin: origin.clone(),
            message: error.message().trim().to_string(),
        })?;
        let Some(copilot) = table.get("copilot") else {
            return Ok(self);
        };
        let copilot = copilot.as_table().ok_or_else(|| PriceError::NotATable {
            origin: origin.clone(),
            table: "copilot".into(),
        })?;
        let number = |value: &toml::Value| {
            value
                .as_float()
                .or_else(|| value.as_integer().map(|i| i as f64))
        };
        for (key, value) in copilot {
            match key.as_str() {
                "usd_per_premium_request" => {
                    self.micro_usd_per_request = number(value)
                        .filter(|usd| (0.0..=MAX_USD_PER_PREMIUM_REQUEST).contains(usd))
                        .and_then(usd_per_million_to_picos)
                        .ok_or_else(|| PriceError::BadValue {
                            origin: origin.clone(),
                            table: "copilot".into(),
                            key: key.clone(),
                            problem: "must be a number of USD per premium request from 0 to \
                                      100, like 0.04"
                                .into(),
                        })?;
                }
                "multipliers" => {
                    let multipliers = value.as_table().ok_or_else(|| PriceError::NotATable {
                        origin: origin.clone(),
                        table: "copilot.multipliers".into(),
                    })?;
                    let mut read = Vec::with_capacity(multipliers.len());
                    for (pattern, value) in multipliers {
                        let micros = number(value)
                            .filter(|m| (0.0..=MAX_MULTIPLIER).contains(m))
                            .and_then(usd_per_million_to_picos)
                            .ok_or_else(|| PriceError::BadValue {
                                origin: origin.clone(),
                                table: "copilot.multipliers".into(),
                                key: pattern.clone(),
                                problem: "must be a multiplier from 0 to 1000, like 0.33 or 3"
                                    .into(),
                            })?;
                        if pattern.trim() == "*" {
                            // The default: for models neither the overrides nor the built-in
                            // table name.
                            self.default = Some(micros);
                        } else {
                            read.push((normalise(pattern), micros));
                        }
                    }
                    // TOML tables have no order: the most specific pattern of a file is tried
                    // first (names without `*`, then more literal characters).
                    read.sort_by_key(|(pattern, _)| {
                        let literal = pattern.bytes().filter(|b| *b != b'*').count();
                        (pattern.contains('*'), std::cmp::Reverse(literal))
                    });
                    read.append(&mut self.overrides);
                    self.overrides = read;
                }
                _ => {
                    return Err(PriceError::UnknownKey {
                        origin,
                        table: "copilot".into(),
                        key: key.clone(),
                        allowed: "usd_per_premium_request, multipliers",
                    });
                }
            }
        }
        Ok(self)
    }
}

/// A model name as multipliers are matched: lower case, without a provider prefix, dots as
/// dashes.
pub fn normalise(model: &str) -> String {
    let name = model.rsplit('/').next().unwrap_or(model).trim();
    name.to_ascii_lowercase().replace('.', "-")
}

/// True when `name` matches `pattern`, where `*` matches any run of bytes.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_table_as_data() {
        let billing = CopilotBilling::default();
        for (model, micros) in [
            ("gpt-4.1", 0),
            ("copilot/gpt-4o", 0),
            ("gpt-5-mini", 0),
            ("claude-haiku-4.5", 330_000),
            ("gemini-2.0-flash-001", 330_000),
            ("grok-code-fast-1", 250_000),
            ("claude-sonnet-4", 1_000_000),
            ("anthropic/Claude-Sonnet-4.5", 1_000_000),
            ("copilot/claude-opus-4.5", 3_000_000),
            ("claude-opus-4.1", 3_000_000),
            ("gpt-5", 1_000_000),
            ("some-new-model", DEFAULT_MULTIPLIER_MICROS),
        ] {
            assert_eq!(billing.multiplier_micros(model), micros, "{model}");
        }
        // 3 premium requests at 0.04 USD = 0.12 USD.
        assert_eq!(billing.picos_of(3_000_000), 120_000 * 1_000_000);
    }

    #[test]
    fn overrides_come_first_and_name_a_default() {
        let text = "[prices.x]\ninput = 1\n[copilot]\nusd_per_premium_request = 0.05\n\
                    [copilot.multipliers]\n\"claude-opus-4.5\" = 10\n\"*\" = 2\n";
        let billing = CopilotBilling::default()
            .with_toml_str(text, "c.toml")
            .unwrap();
        assert_eq!(
            billing.multiplier_micros("copilot/claude-opus-4.5"),
            10_000_000
        );
        // `"*"` is the default, not a pattern over the built-in table.
        assert_eq!(billing.multiplier_micros("gpt-4.1"), 0);
        assert_eq!(billing.multiplier_micros("new-model"), 2_000_000);
        assert_eq!(billing.micro_usd_per_request(), 50_000);
        // A later file's patterns are tried before an earlier one's.
        let later = billing
            .with_toml_str("[copilot.multipliers]\n\"gpt-*\" = 5\n", "r.toml")
            .unwrap();
        assert_eq!(later.multiplier_micros("gpt-4.1"), 5_000_000);
        assert_eq!(later.multiplier_micros("claude-opus-4.5"), 10_000_000);
        assert_eq!(later.multiplier_micros("new-model"), 2_000_000);
        let untouched = CopilotBilling::default()
            .with_toml_str("[credits]\nusd_per_credit = 1\n", "c.toml")
            .unwrap();
        assert_eq!(untouched, CopilotBilling::default());
    }

    #[test]
    fn bad_settings_name_the_file_and_the_key() {
        for (text, message) in [
            ("[copilot]\nmultiplier = 1\n", "unknown key `multiplier`"),
            (
                "[copilot.multipliers]\n\"gpt-5\" = -1\n",
                "`gpt-5` must be a multiplier",
            ),
            (
                "[copilot.multipliers]\n\"gpt-5\" = \"1\"\n",
                "`gpt-5` must be a multiplier",
            ),
            (
                "[copilot]\nusd_per_premium_request = 500\n",
                "must be a number of USD",
            ),
            ("copilot = 1\n", "`copilot` must be a table"),
            ("[copilot\n", "not valid TOML"),
        ] {
            let error = CopilotBilling::default()
                .with_toml_str(text, "c.toml")
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("c.toml: "), "{error}");
            assert!(error.contains(message), "{text}: {error}");
        }
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../../docs/prices.md");
        let example = doc
            .split("```toml\n")
            .filter_map(|rest| rest.split("```").next())
            .find(|block| block.contains("[copilot]"))
            .expect("docs/prices.md has a [copilot] example");
        let billing = CopilotBilling::default()
            .with_toml_str(example, "docs/prices.md")
            .unwrap();
        assert_eq!(billing.multiplier_micros("claude-opus-4.5"), 10_000_000);
        assert_eq!(billing.multiplier_micros("gpt-4.1"), 0);
        assert_eq!(billing.multiplier_micros("new-model"), 1_000_000);
        assert_eq!(billing.micro_usd_per_request(), 40_000);
    }
}
