//! Reports over git history: the AI-cost trailers of a range of commits turned into per-key
//! tables (by agent, model, author, type, pull request, ticket, day, week, month, unit), the
//! most recent commits with their cost, and one export row per commit, agent, model and unit.
//!
//! - [`Ledger::read`] walks a range with [`agent_cost_git::History::walk_details`], parses
//!   each message with [`agent_cost_trailers::parse_blocks`] and charges every drain to exactly
//!   one commit by [`agent_cost_trailers::block_fates`], the rule `trailers sum` counts by.
//! - [`Ledger::table`] groups the charges by one or more [`Key`]s into [`Table`] rows.
//! - [`pareto`] finds the fewest commits, pull requests or authors holding 50 % and 80 % of
//!   the spend.
//! - [`Ledger::merged_prs`] ([`prs`]) gives each merged pull request its spend, the cost per
//!   merged pull request, its median and its weekly trend.
//! - [`html`] renders all of it as one self-contained HTML dashboard.
//! - [`classify`] holds what a commit is from its text: type, PR, tickets, calendar keys.
//!
//! Money stays in integers ([`Money`], pico-dollars holding whole micro-units) until output.

pub mod classify;
pub mod html;
mod ledger;
pub mod pareto;
pub mod prs;
mod table;

pub use agent_cost_events::Money;
pub use ledger::{Charge, CommitInfo, Filter, Ledger, ReportError};
pub use pareto::{ParetoShare, pareto};
pub use prs::{MergedPr, PrReport, PrWeek};
pub use table::{Key, KeyParseError, Row, Table, TokenCounts};
