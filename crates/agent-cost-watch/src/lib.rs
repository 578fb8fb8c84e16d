//! The background watcher: every source's data roots watched (inotify on Linux, FSEvents on
//! macOS, through `notify` 8), and what agents write ingested as they write it, through the
//! same sources, cursors and store as `agent-cost ingest`.
//!
//! - [`lock`] makes sure one watcher runs per state directory, and says who holds it.
//! - [`state`] is what a running watcher tells others (`status`, `doctor`, hooks): whether it
//!   is current and how far behind it is.
//! - [`service`] writes the systemd user unit or launchd agent that runs the watcher.
//! - [`watch`] is the loop: arm watches on the roots (or on the nearest existing parent of a
//!   root not there yet), wait for a burst of changes to settle, catch up, repeat; it sleeps in
//!   the kernel while nothing changes.

pub mod lock;
pub mod service;
pub mod state;
pub mod watch;

use std::path::PathBuf;

pub use lock::{Holder, WatchLock};
pub use state::{Running, WatchState, running};
pub use watch::{CatchUp, WatchOptions, roots_without_notifications, watch};

/// Why the watcher cannot run.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Another watcher holds the state directory.
    #[error(
        "another watcher is already running for this state directory: {}",
        holder.as_ref().map_or_else(|| String::from("unknown process"), ToString::to_string)
    )]
    AlreadyRunning {
        /// Who holds it, if the lock file says.
        holder: Option<Holder>,
        /// The lock file.
        lock: PathBuf,
    },
    /// A file of the watcher's own could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The operating system's file notifications could not be set up.
    #[error("cannot watch files: {0}")]
    Notify(#[from] notify::Error),
    /// The ledger could not be opened or written.
    #[error(transparent)]
    Store(#[from] agent_cost_store::StoreError),
}
