//! The commit side of agent-cost.
//!
//! - [`install`] puts the hooks into a repository's hooks directory (links to the binary, or
//!   the shims from `hooks/`; honouring `core.hooksPath`, keeping any hook already there) and
//!   takes them out again.
//! - [`managers`] joins husky and lefthook through their own configuration.
//! - [`health`] says what git will actually run for those hooks, and what stands in the way.
//! - [`drain`] turns pending charges into a trailer block, priced with [`pricing`] from the
//!   [`settings`] files.
//! - [`run`] is what each git hook does: settle what history shows committed, catch up,
//!   propose a drain.
//! - [`claude_settings`] adds (and removes) agent-cost's entries among Claude Code's own
//!   hooks, so each finished turn is read at once without a watcher.
//! - [`marker`] is the hint file that spares `commit-msg` opening the ledger, [`quiet`] the one
//!   that spares `prepare-commit-msg` opening it when nothing changed.

pub mod budgets;
pub mod claude_settings;
pub mod drain;
pub mod error;
pub mod health;
pub mod install;
pub mod invocation;
pub mod managers;
pub mod marker;
pub mod pricing;
pub mod quiet;
pub mod run;
pub mod settings;

pub use error::HookError;
