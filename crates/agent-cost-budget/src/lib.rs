//! Budgets on AI spend and the cost band of a pull request.
//!
//! - [`BudgetConfig`] ([`config`]) reads the `[budget.*]` tables (per commit, branch, author
//!   per day, repository per week and month; soft and hard levels in USD, credits or premium
//!   requests) and the `[cost_band]` table of the settings files, errors naming file and line.
//! - [`Verdict`] ([`verdict`]) compares one group of [`Spend`] (USD and other units, added up)
//!   with one [`Budget`].
//! - [`check()`] ([`check`]) compares every group of a range of history (`agent-cost check`,
//!   `pr-comment`).
//! - [`pr_comment()`] ([`comment`]) renders a range's cost, cost band and budget status as the
//!   Markdown of a pull-request comment that a bot edits in place.
//! - [`Recent`] ([`recent`]) compares what a commit made now would carry, with its branch,
//!   its author's day and its repository's week and month (the hook, `status`), and finds an
//!   author's spike day.
//!
//! Amounts are [`Money`]: integers, formatted only for output.

pub mod check;
pub mod comment;
pub mod config;
pub mod recent;
pub mod today;
pub mod verdict;

pub use agent_cost_events::Money;
pub use agent_cost_report::Spend;
pub use check::check;
pub use comment::{MARKER, PrComment, pr_comment};
pub use config::{Budget, BudgetConfig, ConfigError, CostBands, Owner, Scope, Unit};
pub use recent::Recent;
pub use today::local_today;
pub use verdict::{Level, Verdict, worst_per_budget};
