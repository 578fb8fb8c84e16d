//! The ledger's store: every usage event agent-cost has read, the worktree it is charged to,
//! the read cursors of every source, and the drains that carried spend into commits, in one
//! SQLite database (`$AGENT_COST_HOME/ledger.db`, WAL mode).
//!
//! - [`schema`] owns the tables, the schema version and its migrations.
//! - [`store`] opens the database (private to the user) and hands out transactions.
//! - [`record`] applies one copy of an event: deduplication by the source's repeat rule.
//! - [`pending`] keeps running sums of every tally's pending charges.
//! - [`tally`] reads a worktree's pending spend, proposes drains and settles them.
//! - [`reads`] keeps what each source's reads of each file found (for `agent-cost sources`).
//! - [`entries`] keeps what people say of manual entries (kind of work, time, note).
//! - [`sessions`] sums agent sessions' spend: one session's (for the statusline), and every
//!   session's by where it stands (for `agent-cost sessions`).
//! - [`backfill`] finds spend from before tracking and records the drains `agent-cost
//!   backfill` writes into git notes.
//! - [`tracking`] records which repositories charge spend to commits, and since when.
//! - [`legacy`] reads the first ledger's files (journals and `seen` shards in git dirs,
//!   `cursors.json`), and [`import`] brings them into the store once.
//!
//! The contract (see `docs/ledger.md`): every event that belongs to a worktree is, at any
//! moment, either pending in that worktree's tally or inside exactly one settled drain. One
//! transaction moves a cursor together with the events it read, so a kill at any instant
//! leaves either both or neither, and an event id is unique, so a replay adds nothing.

pub mod backfill;
pub mod entries;
pub mod error;
pub mod import;
pub mod legacy;
mod names;
pub mod pending;
pub mod reads;
pub mod record;
pub mod schema;
pub mod sessions;
pub mod store;
pub mod tally;
pub mod time;
pub mod tracking;

pub use backfill::{BackfillCharge, OpenBackfill};
pub use entries::{EntryDetails, PendingWorkType};
pub use error::StoreError;
pub use import::LegacyImport;
pub use reads::{AgentEvents, FileRead, FileReads};
pub use record::Recorded;
pub use sessions::{DrainRecord, SessionFilter, SessionPart, SessionSpend, SpendState, SpendTotal};
pub use store::{Store, Tx};
pub use tally::{Orphaned, PendingGroup, PendingSpend, Proposal};
pub use tracking::Tracking;
