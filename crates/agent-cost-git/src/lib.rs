//! Git access for agent-cost.
//!
//! [`worktree`] finds the worktree (and its private git dir) that contains a path by reading
//! `.git` entries, which is fast enough to do per event and needs no git process. [`history`]
//! walks commit ranges and reads messages with gix, for the readers and the hooks; [`branches`]
//! lists the branches reports name commits after; [`notes`] reads the AI-cost notes attached
//! to commits.

pub mod branches;
pub mod discover;
pub mod history;
pub mod notes;
mod packed;
pub mod worktree;

#[cfg(test)]
mod testing;

pub use branches::{Branch, Branches, CommitLinks};
pub use discover::repositories_under;
pub use history::{
    ALL_REFS, CommitDetails, CommitMessage, History, HistoryError, LineCounter, LineStats,
};
pub use notes::{AI_COST_NOTES, Notes};
pub use worktree::Worktree;
