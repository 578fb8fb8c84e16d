//! Model prices for agent-cost: a vendored snapshot of LiteLLM's price list (MIT), model-name
//! lookup with provider, Bedrock, Vertex and dated/undated aliases, user overrides from TOML,
//! whether a repository may reprice models (`[trust]`), and integer costing in pico-dollars.
//!
//! ```
//! use agent_cost_events::TokenCounts;
//! use agent_cost_prices::PriceBook;
//!
//! let book = PriceBook::builtin();
//! let tokens = TokenCounts { input: 1_000, output: 500, ..TokenCounts::default() };
//! // 1,000 × $3/M + 500 × $15/M = $0.0105
//! let cost = book.cost("claude-sonnet-4-5-20250929", &tokens).expect("priced");
//! assert_eq!(cost.to_decimal(), "0.010500");
//! assert_eq!(book.display_name("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
//! assert_eq!(book.cost("no-such-model", &tokens), None); // unpriced, never zero
//! ```
//!
//! See `docs/prices.md` for the data source, lookup order, fallbacks, tier rule, fast mode and
//! the override file format.

mod book;
mod copilot;
mod credits;
mod names;
mod overrides;
mod prices;
#[cfg(test)]
mod snapshot;
mod table;
mod trust;

pub use book::{PriceBook, PriceSource, PricedModel};
pub use copilot::{
    BUILTIN_MULTIPLIERS, CopilotBilling, DEFAULT_MICRO_USD_PER_PREMIUM_REQUEST,
    DEFAULT_MULTIPLIER_MICROS,
};
pub use credits::{CreditRate, DEFAULT_USD_PER_CREDIT};
pub use overrides::{PriceError, PriceOverrides};
pub use prices::{
    LONG_CONTEXT_THRESHOLD, LongContextTier, ModelPrices, TierPrices, cost,
    usd_per_million_to_picos, usd_per_token_to_picos,
};
pub use table::SourceInfo;
pub use trust::{REPRICING_TABLES, RepositoryFile, Trust, TrustError};

#[cfg(test)]
mod tests;
