//! Integer money: pico-dollars inside, six-decimal text at the edge.

use serde::{Deserialize, Serialize};

/// Pico-dollars in one US dollar.
pub const PICOS_PER_USD: u128 = 1_000_000_000_000;
/// Pico-dollars in one micro-dollar (the smallest unit a trailer shows).
pub const PICOS_PER_MICRO: u128 = 1_000_000;

/// An amount of money in pico-dollars (10⁻¹² of the unit).
///
/// Trailers carry micro-dollars; [`Money::round_to_micros`] rounds half up once, at the edge.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub u128);

/// Text that is not a non-negative decimal with at most six fractional digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an amount like 0.412345 (digits, at most six after the point)")]
pub struct MoneyParseError {
    /// The text that failed to parse.
    pub text: String,
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// Money from whole micro-dollars.
    pub fn from_micros(micros: u64) -> Money {
        Money(u128::from(micros) * PICOS_PER_MICRO)
    }

    /// The amount in pico-dollars.
    pub fn picos(self) -> u128 {
        self.0
    }

    /// The amount rounded half up to micro-dollars.
    pub fn round_to_micros(self) -> Money {
        let micros = (self.0 + PICOS_PER_MICRO / 2) / PICOS_PER_MICRO;
        Money(micros * PICOS_PER_MICRO)
    }

    /// Whole micro-dollars, rounding half up.
    pub fn micros(self) -> u128 {
        self.round_to_micros().0 / PICOS_PER_MICRO
    }

    /// Six-decimal text, rounded half up: `0.412345`.
    pub fn to_decimal(self) -> String {
        let micros = self.micros();
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    /// Six decimals without trailing zeros, as amounts in units other than USD are written:
    /// `12`, `3.5`, `0.33`, `0`.
    pub fn to_decimal_trimmed(self) -> String {
        let text = self.to_decimal();
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// The amount as a floating-point number, for JSON output only.
    pub fn as_f64(self) -> f64 {
        self.micros() as f64 / 1_000_000.0
    }

    /// Parses a non-negative decimal with at most six fractional digits (`12`, `0.5`, `0.412345`).
    pub fn parse_decimal(text: &str) -> Result<Money, MoneyParseError> {
        let error = || MoneyParseError {
            text: text.to_string(),
        };
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || fraction.len() > 6 || !all_digits(whole) || !all_digits(fraction) {
            return Err(error());
        }
        if text.ends_with('.') {
            return Err(error());
        }
        let whole: u128 = whole.parse().map_err(|_| error())?;
        let fraction_micros: u128 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<6}").parse().map_err(|_| error())?
        };
        whole
            .checked_mul(1_000_000)
            .and_then(|m| m.checked_add(fraction_micros))
            .and_then(|m| m.checked_mul(PICOS_PER_MICRO))
            .map(Money)
            .ok_or_else(error)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_six_decimals_rounding_half_up() {
        assert_eq!(Money(0).to_decimal(), "0.000000");
        assert_eq!(Money(412_345 * PICOS_PER_MICRO).to_decimal(), "0.412345");
        assert_eq!(Money(PICOS_PER_MICRO / 2).to_decimal(), "0.000001");
        assert_eq!(Money(PICOS_PER_MICRO / 2 - 1).to_decimal(), "0.000000");
        assert_eq!(Money(12 * PICOS_PER_USD).to_decimal(), "12.000000");
    }

    #[test]
    fn parses_decimals_and_rejects_junk() {
        assert_eq!(Money::parse_decimal("0.412345").unwrap().micros(), 412_345);
        assert_eq!(Money::parse_decimal("12").unwrap().micros(), 12_000_000);
        assert_eq!(Money::parse_decimal("0.5").unwrap().micros(), 500_000);
        for junk in ["", ".5", "1.", "-1", "1.2345678", "1e3", "abc", "1.2.3"] {
            assert!(Money::parse_decimal(junk).is_err(), "{junk:?} parsed");
        }
    }

    proptest! {
        #[test]
        fn decimal_round_trips(micros in 0u64..u64::MAX / 2) {
            let money = Money::from_micros(micros);
            prop_assert_eq!(Money::parse_decimal(&money.to_decimal()).unwrap(), money);
        }
    }
}
