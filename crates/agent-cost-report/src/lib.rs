//! Reports over git history: the AI-cost trailers of a range of commits turned into per-key
//! tables (by agent, model, author, type, pull request, ticket, branch, day, week, month,
//! unit, repository), the most recent commits with their cost, and one export row per commit,
//! agent, model and unit.
//!
//! - [`Ledger::read`] walks a range with [`agent_cost_git::History::walk_details`], parses
//!   each message with [`agent_cost_trailers::parse_blocks`] and charges every drain to exactly
//!   one commit by [`agent_cost_trailers::block_fates`], the rule `trailers sum` counts by.
//! - [`Ledger::table`] groups the charges by one or more [`Key`]s into [`Table`] rows.
//! - [`pareto`] finds the fewest commits, pull requests or authors holding 50 % and 80 % of
//!   the spend.
//! - [`Ledger::merged_prs`] ([`prs`]) gives each merged pull request its spend, the cost per
//!   merged pull request, its median and its weekly trend.
//! - [`Digest`] ([`digest`]) is a period's top outliers (commits, pull requests, authors,
//!   repositories) and the trend of the cost per merged pull request.
//! - [`html`] renders all of it as one self-contained HTML dashboard.
//! - [`Ledger::waste`] lists the commits whose spend bought little (low-leverage types, few
//!   changed lines) and the share of spend on them.
//! - [`classify`] holds what a commit is from its text: type, PR, merged branch, calendar
//!   keys; [`ReportConfig`] (the `[report]` settings) finds tickets and configured PR forms.
//! - [`branches`] names the branch each commit was made on, from history alone.
//!
//! - [`Spend`] adds up charges per unit; [`Ledger::spend_by_commit`] per commit.
//!
//! Money stays in integers ([`Money`], pico-dollars holding whole micro-units) until output.

pub mod branches;
pub mod classify;
mod config;
pub mod digest;
pub mod html;
mod ledger;
pub mod markdown;
pub mod pareto;
pub mod prs;
mod spend;
mod table;
mod waste;

pub use agent_cost_events::Money;
pub use config::{ConfigError, DEFAULT_TICKET_PATTERN, ReportConfig};
pub use digest::{Digest, Outlier, Style};
pub use ledger::{Charge, CommitInfo, Filter, Ledger, ReportError};
pub use pareto::{ParetoShare, pareto};
pub use prs::{MergedPr, PrReport, PrWeek};
pub use spend::Spend;
pub use table::{Key, KeyParseError, Row, Table, TokenCounts};
pub use waste::{LOW_LEVERAGE_TYPES, SpendShare, Waste, WasteCandidate, WasteReason, WasteRules};
