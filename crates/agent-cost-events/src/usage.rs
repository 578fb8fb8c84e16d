//! Usage events and token counts.

use serde::{Deserialize, Serialize};

/// An agent whose usage agent-cost reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    /// Anthropic's Claude Code CLI.
    ClaudeCode,
}

impl Agent {
    /// The name used in trailers and reports, e.g. `claude-code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
        }
    }

    /// Parses the name written by [`Agent::as_str`].
    pub fn from_name(name: &str) -> Option<Agent> {
        match name {
            "claude-code" => Some(Agent::ClaudeCode),
            _ => None,
        }
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// All cache writes, whatever their lifetime.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// Every token of the request: what "the largest copy" of a streamed response means.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_write() + self.cache_read
    }

    /// The input the model saw in one request (uncached, cache writes and cache reads).
    pub fn prompt_tokens(&self) -> u64 {
        self.input + self.cache_write() + self.cache_read
    }

    /// Field-wise maximum: the copy that contains everything both copies reported.
    pub fn max_fieldwise(&self, other: &TokenCounts) -> TokenCounts {
        TokenCounts {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cache_write_5m: self.cache_write_5m.max(other.cache_write_5m),
            cache_write_1h: self.cache_write_1h.max(other.cache_write_1h),
            cache_read: self.cache_read.max(other.cache_read),
        }
    }

    /// Field-wise `self - other`, never below zero.
    pub fn saturating_sub(&self, other: &TokenCounts) -> TokenCounts {
        TokenCounts {
            input: self.input.saturating_sub(other.input),
            output: self.output.saturating_sub(other.output),
            cache_write_5m: self.cache_write_5m.saturating_sub(other.cache_write_5m),
            cache_write_1h: self.cache_write_1h.saturating_sub(other.cache_write_1h),
            cache_read: self.cache_read.saturating_sub(other.cache_read),
        }
    }

    /// True when every count is zero.
    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }
}

impl std::ops::AddAssign for TokenCounts {
    fn add_assign(&mut self, rhs: TokenCounts) {
        self.input += rhs.input;
        self.output += rhs.output;
        self.cache_write_5m += rhs.cache_write_5m;
        self.cache_write_1h += rhs.cache_write_1h;
        self.cache_read += rhs.cache_read;
    }
}

impl std::ops::Add for TokenCounts {
    type Output = TokenCounts;
    fn add(mut self, rhs: TokenCounts) -> TokenCounts {
        self += rhs;
        self
    }
}

/// One deduplicated API request made by an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// The agent that made the request.
    pub agent: Agent,
    /// A stable id derived from the source, unique per request (Claude: `message.id`).
    pub event_id: String,
    /// The agent's session id.
    pub session_id: String,
    /// The model name exactly as the agent logged it.
    pub model: String,
    /// When the request finished, as RFC 3339 text from the log.
    pub timestamp: String,
    /// Token counts of the request.
    pub tokens: TokenCounts,
    /// The working directory the agent ran in.
    pub cwd: String,
    /// The git branch the agent saw, if it logged one.
    pub git_branch: Option<String>,
    /// True when the line came from a subagent (sidechain) transcript.
    pub sidechain: bool,
    /// A premium speed mode (Claude's `speed: "fast"`), if the request used one.
    pub speed: Option<String>,
}
