//! The vocabulary every other agent-cost crate speaks: one deduplicated API request
//! ([`UsageEvent`]), its token counts ([`TokenCounts`]), and money as integers ([`Money`]).
//!
//! Nothing here does I/O. Money is kept in pico-dollars (10⁻¹² USD) so that per-token prices
//! from public price lists are exact integers, and totals add up the same in every order.
//! Decimals appear only when money is formatted for people or trailers (six fractional digits).

mod money;
mod usage;

pub use money::{Money, MoneyParseError, PICOS_PER_MICRO, PICOS_PER_USD};
pub use usage::{
    Agent, MAX_TOKENS_PER_REQUEST, Quantity, RepeatRule, TokenCounts, Unit, UsageEvent,
};
