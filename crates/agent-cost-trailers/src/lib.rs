//! Trailer format v1: how one drain of agent spend is written into a commit message as git
//! trailers, and how it is read back and summed over history.
//!
//! - [`Block`] is one drain (`AI-Agent:`, `AI-Model:` + `AI-Tokens:` (+ `AI-Quantity:`),
//!   `AI-Cost-Estimate:`, `AI-Cost-Replaces:` and `AI-Cost-Id:` lines); [`Block::build`] and
//!   [`Block::merge`] make one, [`Block::to_trailer_lines`] writes it, every line at most
//!   [`MAX_LINE_CHARS`] characters for realistic values.
//! - [`insert_block`], [`remove_final_blocks`], [`has_content`] and [`remove_our_lines`] edit
//!   a commit message by git's own trailer rules (the rules of `git interpret-trailers
//!   --no-divider`, which are the ones `git commit --trailer` and `git log
//!   --format=%(trailers)` use). Only lines of blocks agent-cost wrote (closed by an
//!   `AI-Cost-Id:` line with a 16-hex-digit id) are ever taken out of a message.
//! - [`parse_blocks`] scans a whole message body (indented lines too) for blocks, and
//!   [`RangeTotals`] sums them over a range of commits, counting each `AI-Cost-Id` once and
//!   keeping one total per unit (USD apart from `credits`, `premium-requests`, …).
//!
//! The format itself is specified in `docs/trailers.md`. Nothing here does I/O or panics on
//! any input.

mod block;
mod message;
mod parse;
mod totals;

pub use block::{
    AgentLine, Block, Estimate, KEY_AGENT, KEY_COST_ESTIMATE, KEY_COST_ID, KEY_COST_REPLACES,
    KEY_MODEL, KEY_QUANTITY, KEY_TOKENS, MAX_LINE_CHARS, MAX_MONEY, ModelLine, OUR_KEYS, Quantity,
    UNIT_CREDITS, UNIT_PREMIUM_REQUESTS, UNIT_USD, is_work_type, new_block_id, normalize_name,
};
pub use message::{has_content, insert_block, remove_final_blocks, remove_our_lines};
pub use parse::{commit_blocks, parse_blocks, parse_history_blocks};
pub use totals::{BlockFate, ModelTotal, RangeTotals, TokenTotals, Totals, UnitTotal, block_fates};
