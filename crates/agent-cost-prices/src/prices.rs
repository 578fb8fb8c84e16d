//! Integer per-token prices, the fallbacks for missing fields, the long-context tier rule and
//! the cost of a request.

use agent_cost_events::{Money, TokenCounts};

/// Pico-dollars in one US dollar, as a float (for converting price-list numbers).
const PICOS_PER_USD: f64 = 1e12;
/// Pico-dollars per token in one "US dollar per million tokens".
const PICOS_PER_TOKEN_PER_USD_PER_MTOK: f64 = 1e6;

/// The prompt size above which Claude Sonnet 4/4.5 and Gemini 2.5 Pro bill the long-context
/// tier; the threshold of the `above_200k` table in override files.
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

/// Converts a price-list number in USD per token to whole pico-dollars per token:
/// `(usd * 1e12).round()`. `None` for negative, non-finite or absurdly large numbers.
///
/// Exact for every realistic price: `3e-06` becomes `3_000_000`, `1.25e-07` becomes `125_000`.
pub fn usd_per_token_to_picos(usd: f64) -> Option<u64> {
    to_integer(usd * PICOS_PER_USD)
}

/// Converts USD per million tokens (the unit of override files) to whole pico-dollars per
/// token: `(usd * 1e6).round()`. `None` for negative, non-finite or absurdly large numbers.
pub fn usd_per_million_to_picos(usd: f64) -> Option<u64> {
    to_integer(usd * PICOS_PER_TOKEN_PER_USD_PER_MTOK)
}

/// Converts a multiplier such as LiteLLM's fast-mode factor `6.0` to thousandths (`6000`).
pub(crate) fn multiplier_to_milli(factor: f64) -> Option<u64> {
    to_integer(factor * 1000.0).filter(|&milli| milli > 0)
}

fn to_integer(value: f64) -> Option<u64> {
    // 2^63 is far above any price yet keeps the cast exact and in range.
    if !value.is_finite() || !(0.0..9.2e18).contains(&value) {
        return None;
    }
    Some(value.round() as u64)
}

/// Prices of one tier of a model, in whole pico-dollars (10⁻¹² USD) per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TierPrices {
    /// Uncached input.
    pub input: u64,
    /// Output, reasoning included.
    pub output: u64,
    /// Cache write with a five-minute lifetime.
    pub cache_write_5m: u64,
    /// Cache write with a one-hour lifetime.
    pub cache_write_1h: u64,
    /// Cache read (a cache hit).
    pub cache_read: u64,
}

impl TierPrices {
    /// Builds a tier from the prices a list gives, filling the missing ones:
    /// cache read → the input price; 5-minute cache write → the input price; 1-hour cache
    /// write → twice the input price (Anthropic's rule for one-hour writes).
    pub fn with_fallbacks(
        input: u64,
        output: u64,
        cache_write_5m: Option<u64>,
        cache_write_1h: Option<u64>,
        cache_read: Option<u64>,
    ) -> TierPrices {
        TierPrices {
            input,
            output,
            cache_write_5m: cache_write_5m.unwrap_or(input),
            cache_write_1h: cache_write_1h.unwrap_or(input.saturating_mul(2)),
            cache_read: cache_read.unwrap_or(input),
        }
    }

    /// Σ count × price-per-token over the five kinds of token, in pico-dollars.
    pub fn cost(&self, tokens: &TokenCounts) -> Money {
        let term = |count: u64, price: u64| u128::from(count).saturating_mul(u128::from(price));
        let picos = term(tokens.input, self.input)
            .saturating_add(term(tokens.output, self.output))
            .saturating_add(term(tokens.cache_write_5m, self.cache_write_5m))
            .saturating_add(term(tokens.cache_write_1h, self.cache_write_1h))
            .saturating_add(term(tokens.cache_read, self.cache_read));
        Money(picos)
    }

    /// Every price multiplied by `milli / 1000`, rounded half up to whole pico-dollars.
    pub(crate) fn scaled(&self, milli: u64) -> TierPrices {
        let scale = |price: u64| {
            let scaled = (u128::from(price) * u128::from(milli) + 500) / 1000;
            u64::try_from(scaled).unwrap_or(u64::MAX)
        };
        TierPrices {
            input: scale(self.input),
            output: scale(self.output),
            cache_write_5m: scale(self.cache_write_5m),
            cache_write_1h: scale(self.cache_write_1h),
            cache_read: scale(self.cache_read),
        }
    }
}

/// A long-context tier: requests whose prompt exceeds `threshold_tokens` are billed entirely
/// at `prices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongContextTier {
    /// Prompt tokens (uncached input + cache writes + cache reads) a request may have and
    /// still be billed at the base prices; 200,000 for Claude Sonnet 4/4.5.
    pub threshold_tokens: u64,
    /// The prices of a request above the threshold.
    pub prices: TierPrices,
}

/// Everything needed to price a request to one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelPrices {
    /// Prices of an ordinary request.
    pub base: TierPrices,
    /// The long-context tier, when the model has one.
    pub long_context: Option<LongContextTier>,
    /// The fast-mode (`speed: "fast"`) price multiplier in thousandths (`6000` = 6×), when the
    /// price list gives one; it applies to every token price of both tiers.
    pub fast_multiplier_milli: Option<u64>,
}

impl ModelPrices {
    /// A model with one tier and no fast mode.
    pub fn flat(base: TierPrices) -> ModelPrices {
        ModelPrices {
            base,
            long_context: None,
            fast_multiplier_milli: None,
        }
    }

    /// The tier a request is billed at: the long-context tier when the request's prompt
    /// (uncached input + cache writes + cache reads) is strictly more than the threshold,
    /// for every token of the request; otherwise the base tier.
    pub fn tier_for(&self, tokens: &TokenCounts) -> &TierPrices {
        match &self.long_context {
            Some(tier) if prompt_tokens(tokens) > u128::from(tier.threshold_tokens) => &tier.prices,
            _ => &self.base,
        }
    }

    /// The cost of one request: see [`cost`].
    pub fn cost(&self, tokens: &TokenCounts) -> Money {
        self.tier_for(tokens).cost(tokens)
    }

    /// The cost of a sum of requests each of whose prompts had more than
    /// `min_prompt_tokens - 1` tokens: at the long-context tier when every one of them was
    /// above the tier's threshold, else at the base tier. Prices are per token, so within one
    /// tier the cost of the sum is the sum of the costs.
    pub fn cost_of_sum(&self, tokens: &TokenCounts, min_prompt_tokens: u64) -> Money {
        match &self.long_context {
            Some(tier) if min_prompt_tokens > tier.threshold_tokens => tier.prices.cost(tokens),
            _ => self.base.cost(tokens),
        }
    }

    /// These prices with every token price multiplied by `milli / 1000` (rounded half up).
    pub fn scaled(&self, milli: u64) -> ModelPrices {
        ModelPrices {
            base: self.base.scaled(milli),
            long_context: self.long_context.map(|tier| LongContextTier {
                threshold_tokens: tier.threshold_tokens,
                prices: tier.prices.scaled(milli),
            }),
            fast_multiplier_milli: None,
        }
    }
}

/// The cost of one request in pico-dollars: Σ count × price-per-token, in `u128`.
///
/// The tier is chosen per request (see [`ModelPrices::tier_for`]), so pass the counts of one
/// request, not a sum over many, when the model has a long-context tier.
pub fn cost(prices: &ModelPrices, tokens: &TokenCounts) -> Money {
    prices.cost(tokens)
}

/// Prompt tokens without the overflow a `u64` sum could hit on corrupt counts.
fn prompt_tokens(tokens: &TokenCounts) -> u128 {
    u128::from(tokens.input)
        + u128::from(tokens.cache_write_5m)
        + u128::from(tokens.cache_write_1h)
        + u128::from(tokens.cache_read)
}
