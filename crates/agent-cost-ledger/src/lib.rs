//! The ledger: where every usage event is, from the moment it is read until a commit carries it.
//!
//! - [`journal`] is the on-disk record format of a tally (append-only JSON lines).
//! - [`tally`] owns one worktree's tally (in its git dir) or the unattributed tally: locking,
//!   appending charges, proposing and settling drains, and the index of events already seen.
//! - [`seen`] indexes the tokens already charged per event, shard by shard.
//! - [`route`] maps an event's working directory to the worktree that contains it.
//! - [`ingest`] reads new transcript bytes, deduplicates, and charges each destination.
//! - [`tracking`] records which repositories have hooks installed and since when.
//!
//! The contract (see `docs/ledger.md`): every event that belongs to a worktree is, at any
//! moment, either pending in that worktree's tally or inside exactly one settled drain.

pub mod error;
pub mod ingest;
pub mod journal;
pub mod route;
pub mod seen;
pub mod tally;
pub mod tracking;

pub use error::LedgerError;
