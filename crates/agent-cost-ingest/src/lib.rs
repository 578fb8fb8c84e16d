//! Catching up: read what is new in every source's data, route each event to the worktree it
//! ran in, and record it in the store.
//!
//! - [`route`] maps an event's working directory to a worktree (or to no worktree).
//! - [`run`] drives the sources on reader threads and writes what they read in transactions
//!   that hold the events together with the cursors that cover them, so a kill at any instant
//!   leaves both or neither.

pub mod route;
pub mod run;

pub use run::{IngestOptions, IngestReport, ingest, sources};
