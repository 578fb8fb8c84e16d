//! The USD rate of credits (Kiro, Cursor, newer Copilot plans) for manual entries, read from
//! the `[credits]` table of a settings file:
//!
//! ```toml
//! [credits]
//! usd_per_credit = 0.04
//! ```
//!
//! The default is Kiro's overage list price, 0.04 USD per credit. The rate only estimates the
//! USD line of a trailer: the credits themselves are written as their own unit.

use toml::Table;

use crate::overrides::PriceError;
use crate::prices::usd_per_million_to_picos;

/// Kiro's overage list price, in USD per credit.
pub const DEFAULT_USD_PER_CREDIT: f64 = 0.04;

/// The highest rate accepted, in USD per credit: a larger one is a typo (a price per thousand
/// credits, say).
const MAX_USD_PER_CREDIT: f64 = 100.0;

/// A USD rate for credits, kept as pico-dollars per micro-credit (which is the number of
/// micro-dollars per credit: 0.04 USD per credit is 40,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditRate {
    picos_per_micro_credit: u64,
}

impl Default for CreditRate {
    fn default() -> CreditRate {
        CreditRate {
            picos_per_micro_credit: 40_000,
        }
    }
}

impl CreditRate {
    /// A rate from whole micro-dollars per credit (`40_000` is 0.04 USD per credit).
    pub fn from_micro_usd_per_credit(micros: u64) -> CreditRate {
        CreditRate {
            picos_per_micro_credit: micros,
        }
    }

    /// Micro-dollars per credit (`40_000` for 0.04 USD per credit).
    pub fn micro_usd_per_credit(self) -> u64 {
        self.picos_per_micro_credit
    }

    /// The USD estimate, in pico-dollars, of an amount of micro-credits. Exact: no rounding.
    pub fn picos_of(self, micro_credits: u64) -> u128 {
        u128::from(micro_credits) * u128::from(self.picos_per_micro_credit)
    }

    /// The rate in a settings file's `[credits]` table, `None` when the file sets none. Other
    /// tables and keys are ignored (the file holds other settings too); an unknown key in
    /// `[credits]` or a rate that is not a number between 0 and 100 is an error naming the
    /// file. `origin` (usually the file's path) is named in error messages.
    pub fn from_toml_str(
        text: &str,
        origin: impl AsRef<std::path::Path>,
    ) -> Result<Option<CreditRate>, PriceError> {
        let origin = origin.as_ref().display().to_string();
        let table: Table = toml::from_str(text).map_err(|error| PriceError::Syntax {
            origin: origin.clone(),
            message: error.message().trim().to_string(),
        })?;
        let Some(credits) = table.get("credits") else {
            return Ok(None);
        };
        let credits = credits.as_table().ok_or_else(|| PriceError::NotATable {
            origin: origin.clone(),
            table: "credits".into(),
        })?;
        if let Some(key) = credits.keys().find(|key| *key != "usd_per_credit") {
            return Err(PriceError::UnknownKey {
                origin,
                table: "credits".into(),
                key: key.clone(),
                allowed: "usd_per_credit",
            });
        }
        let Some(value) = credits.get("usd_per_credit") else {
            return Ok(None);
        };
        let usd = value
            .as_float()
            .or_else(|| value.as_integer().map(|i| i as f64))
            .filter(|usd| (0.0..=MAX_USD_PER_CREDIT).contains(usd))
            .and_then(usd_per_million_to_picos)
            .ok_or_else(|| PriceError::BadValue {
                origin,
                table: "credits".into(),
                key: "usd_per_credit".into(),
                problem: "must be a number of USD per credit from 0 to 100, like 0.04".into(),
            })?;
        Ok(Some(CreditRate {
            picos_per_micro_credit: usd,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_four_cents_a_credit() {
        let rate = CreditRate::default();
        assert_eq!(rate.micro_usd_per_credit(), 40_000);
        // 1.26 credits at 0.04 USD = 0.0504 USD = 50,400 µ$.
        assert_eq!(rate.picos_of(1_260_000), 50_400 * 1_000_000);
        assert_eq!(
            usd_per_million_to_picos(DEFAULT_USD_PER_CREDIT),
            Some(rate.micro_usd_per_credit())
        );
    }

    #[test]
    fn reads_the_credits_table_only() {
        let text = "[prices.x]\ninput = 1\n[credits]\nusd_per_credit = 0.05\n";
        let rate = CreditRate::from_toml_str(text, "c.toml").unwrap().unwrap();
        assert_eq!(rate.micro_usd_per_credit(), 50_000);
        assert_eq!(CreditRate::from_toml_str("[prices]\n", "c.toml"), Ok(None));
        let whole = CreditRate::from_toml_str("[credits]\nusd_per_credit = 1\n", "c.toml");
        assert_eq!(whole.unwrap().unwrap().micro_usd_per_credit(), 1_000_000);
    }

    #[test]
    fn bad_rates_name_the_file_and_the_key() {
        let typo = CreditRate::from_toml_str("[credits]\nusd_per_credt = 0.04\n", "c.toml");
        assert_eq!(
            typo.unwrap_err().to_string(),
            "c.toml: [credits] has an unknown key `usd_per_credt`; the allowed keys are usd_per_credit"
        );
        for bad in ["-0.04", "\"0.04\"", "1000.0", "nan"] {
            let text = format!("[credits]\nusd_per_credit = {bad}\n");
            let error = CreditRate::from_toml_str(&text, "c.toml").unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("usd_per_credit` must be a number"),
                "{bad}: {error}"
            );
        }
    }
}
