//! Usage events, token counts, the agents that make them and the units they are billed in.

use serde::{Deserialize, Serialize};

/// The largest count of one kind of token that one request may report. A count above it is
/// not usage but a corrupt or hostile line: sources skip and count such lines, and every sum
/// of up to nine million requests then fits in 63 bits (the store's integers).
pub const MAX_TOKENS_PER_REQUEST: u64 = 1_000_000_000_000;

/// The name of an agent, e.g. `claude-code`.
///
/// Open rather than a closed list: a store written by a newer agent-cost that knows more agents
/// still reads, and the name travels unchanged into trailers and reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Agent(String);

impl Agent {
    /// Anthropic's Claude Code CLI.
    pub const CLAUDE_CODE: &'static str = "claude-code";

    /// An agent by name.
    pub fn new(name: impl Into<String>) -> Agent {
        Agent(name.into())
    }

    /// Claude Code.
    pub fn claude_code() -> Agent {
        Agent::new(Agent::CLAUDE_CODE)
    }

    /// The name used in trailers and reports.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unit other than tokens and dollars that an agent bills in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Unit(String);

impl Unit {
    /// GitHub Copilot's premium requests.
    pub const PREMIUM_REQUESTS: &'static str = "premium-requests";
    /// Credits (Cursor, Kiro, newer Copilot plans).
    pub const CREDITS: &'static str = "credits";

    /// A unit by name.
    pub fn new(name: impl Into<String>) -> Unit {
        Unit(name.into())
    }

    /// The unit's name as trailers write it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount in a [`Unit`], in millionths of the unit (premium requests can be fractional:
/// a model with a 0.33 multiplier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quantity {
    /// The unit.
    pub unit: Unit,
    /// Millionths of the unit.
    pub micros: u64,
}

/// How a source's repeated copies of one event combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepeatRule {
    /// Copies are snapshots of one request taken as it streamed: the field-wise largest counts
    /// (Claude Code's streamed lines).
    #[default]
    LargestCopy,
    /// The latest copy is the truth, even when smaller (chat sessions rewritten whole).
    Replace,
    /// Copies are running totals of a counter: what grew since the last copy is new spend.
    CumulativeDelta,
}

/// Token counts of one request, or of a sum of requests.
///
/// `input` excludes cached input; `output` includes reasoning. Cache writes are split by
/// lifetime because a one-hour write costs more than a five-minute one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Input tokens that were neither written to nor read from the prompt cache.
    pub input: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Input tokens written to the cache with a five-minute lifetime.
    pub cache_write_5m: u64,
    /// Input tokens written to the cache with a one-hour lifetime.
    pub cache_write_1h: u64,
    /// Input tokens read from the cache.
    pub cache_read: u64,
}

impl TokenCounts {
    /// The five counts, in the order of the fields.
    pub fn fields(&self) -> [u64; 5] {
        [
            self.input,
            self.output,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
        ]
    }

    /// Counts from the five fields, in the order of [`TokenCounts::fields`].
    pub fn from_fields(fields: [u64; 5]) -> TokenCounts {
        let [input, output, cache_write_5m, cache_write_1h, cache_read] = fields;
        TokenCounts {
            input,
            output,
            cache_write_5m,
            cache_write_1h,
            cache_read,
        }
    }

    /// All cache writes, whatever their lifetime.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m.saturating_add(self.cache_write_1h)
    }

    /// Every token of the request: what "the largest copy" of a streamed response means.
    pub fn total(&self) -> u64 {
        self.fields()
            .iter()
            .fold(0u64, |sum, n| sum.saturating_add(*n))
    }

    /// The input the model saw in one request (uncached, cache writes and cache reads).
    pub fn prompt_tokens(&self) -> u64 {
        self.input
            .saturating_add(self.cache_write())
            .saturating_add(self.cache_read)
    }

    /// True when no field exceeds [`MAX_TOKENS_PER_REQUEST`].
    pub fn is_plausible_request(&self) -> bool {
        self.fields().iter().all(|n| *n <= MAX_TOKENS_PER_REQUEST)
    }

    /// Field-wise maximum: the copy that contains everything both copies reported.
    pub fn max_fieldwise(&self, other: &TokenCounts) -> TokenCounts {
        self.zip(other, u64::max)
    }

    /// Field-wise `self - other`, never below zero.
    pub fn saturating_sub(&self, other: &TokenCounts) -> TokenCounts {
        self.zip(other, u64::saturating_sub)
    }

    /// Field-wise sum, or `None` if a field overflows.
    pub fn checked_add(&self, other: &TokenCounts) -> Option<TokenCounts> {
        let (a, b) = (self.fields(), other.fields());
        let mut out = [0u64; 5];
        for i in 0..5 {
            out[i] = a[i].checked_add(b[i])?;
        }
        Some(TokenCounts::from_fields(out))
    }

    /// True when every count is zero.
    pub fn is_zero(&self) -> bool {
        self.fields().iter().all(|n| *n == 0)
    }

    fn zip(&self, other: &TokenCounts, f: impl Fn(u64, u64) -> u64) -> TokenCounts {
        let (a, b) = (self.fields(), other.fields());
        TokenCounts::from_fields(std::array::from_fn(|i| f(a[i], b[i])))
    }
}

/// Adds saturating at `u64::MAX`: sums are of plausible requests (see
/// [`MAX_TOKENS_PER_REQUEST`]), so saturation means corrupt state, never silent wrap-around.
impl std::ops::AddAssign for TokenCounts {
    fn add_assign(&mut self, rhs: TokenCounts) {
        *self = self.zip(&rhs, u64::saturating_add);
    }
}

impl std::ops::Add for TokenCounts {
    type Output = TokenCounts;
    fn add(mut self, rhs: TokenCounts) -> TokenCounts {
        self += rhs;
        self
    }
}

/// One API request made by an agent, as a source read it (possibly one copy of several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// The agent that made the request.
    pub agent: Agent,
    /// A stable id derived from the source, the same for every copy of the request
    /// (Claude: `message.id`).
    pub event_id: String,
    /// Which copy this is when one request is logged under several sub-ids (Claude:
    /// `requestId`); empty when the source has none.
    pub variant: String,
    /// How copies of this event combine.
    pub repeat: RepeatRule,
    /// The agent's session id.
    pub session_id: String,
    /// The model name exactly as the agent logged it.
    pub model: String,
    /// When the request finished, as RFC 3339 text from the log.
    pub timestamp: String,
    /// Token counts of the request.
    pub tokens: TokenCounts,
    /// API requests this event stands for (1 for a request; 0 for usage reported without one).
    pub requests: u64,
    /// An amount in another unit (premium requests, credits), if the agent bills one.
    pub quantity: Option<Quantity>,
    /// A cost in USD that the source itself reported, if any.
    pub source_cost: Option<crate::Money>,
    /// The working directory the agent ran in.
    pub cwd: String,
    /// The git branch the agent saw, if it logged one.
    pub git_branch: Option<String>,
    /// True when the line came from a subagent (sidechain) transcript.
    pub sidechain: bool,
    /// A premium speed mode (Claude's `speed: "fast"`), if the request used one.
    pub speed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_and_checked_sums_report_overflow() {
        let big = TokenCounts {
            output: u64::MAX - 1,
            ..TokenCounts::default()
        };
        let two = TokenCounts {
            output: 2,
            input: 1,
            ..TokenCounts::default()
        };
        assert_eq!(big.checked_add(&two), None);
        assert_eq!((big + two).output, u64::MAX);
        assert_eq!(big.total(), u64::MAX - 1);
        assert!(!big.is_plausible_request());
        assert!(two.is_plausible_request());
        assert_eq!(two.checked_add(&two).unwrap().output, 4);
    }
}
