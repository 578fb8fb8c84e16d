//! Spend that no commit carries, put into git notes (`refs/notes/ai-cost`) so that history is
//! never rewritten:
//!
//! - [`plan()`] ([`plan`]) attributes each charge from before a repository's tracking start to
//!   the commit of its worktree that followed it, and prices one block per commit;
//! - [`apply()`] ([`write`]) writes those blocks as notes, exactly once (recorded in the ledger
//!   before and after each write, with drain ids derived from the charges);
//! - [`carry`] copies a pull request's blocks onto the squash commit that merged it, for
//!   merge settings that drop the trailers.
//!
//! Readers (`trailers sum`, `report`, `verify`, `export`) read the notes beside the messages
//! and count each drain once, wherever it appears.

pub mod carry;
pub mod plan;
pub mod write;

pub use plan::{Plan, PlannedNote, plan};
pub use write::{Applied, apply};

/// Why backfill could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Store(#[from] agent_cost_store::StoreError),
    /// History could not be read.
    #[error(transparent)]
    History(#[from] agent_cost_git::HistoryError),
    /// A git command failed.
    #[error("git could not {what}: {message}")]
    Git {
        /// What it was asked to do.
        what: String,
        /// What it said.
        message: String,
    },
    /// The commit to carry blocks onto does not exist.
    #[error("no commit {0} in this repository")]
    NoCommit(String),
}
