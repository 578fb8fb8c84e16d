//! Which repositories charge spend to commits, and since when.
//!
//! `agent-cost install-hooks` records the repository (by its common git dir) with a start
//! instant. Spend that happened before `since` is not written into commits (a first commit must
//! not carry months of history); `install-hooks --since DATE` moves the start back.

use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::store::Tx;
use crate::time::parse_time;

/// Tracking settings of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// Spend from this instant on is charged to commits (RFC 3339, UTC).
    pub since: String,
    /// The same instant in milliseconds since the epoch.
    pub since_ms: i64,
}

impl Tracking {
    /// Tracking from an RFC 3339 instant or a date.
    pub fn starting(text: &str) -> Result<Tracking, StoreError> {
        let at = parse_time(text)?;
        Ok(Tracking {
            since: at.to_string(),
            since_ms: at.as_millisecond(),
        })
    }
}

impl Tx<'_> {
    /// The tracking settings of the repository whose common git dir is `common_dir`.
    pub fn tracking(&self, common_dir: &str) -> Result<Option<Tracking>, StoreError> {
        self.tx
            .prepare_cached("SELECT since, since_ms FROM tracking WHERE common_dir = ?1")
            .and_then(|mut s| {
                s.query_row([common_dir], |row| {
                    Ok(Tracking {
                        since: row.get(0)?,
                        since_ms: row.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Starts (or moves the start of) tracking for a repository.
    pub fn set_tracking(&self, common_dir: &str, tracking: &Tracking) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO tracking (common_dir, since, since_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (common_dir) DO UPDATE SET since = excluded.since,
                     since_ms = excluded.since_ms",
                params![common_dir, tracking.since, tracking.since_ms],
            )
            .map_err(|e| self.err(e))?;
        self.touch_repository(common_dir)
    }

    /// Stops tracking a repository (hooks uninstalled).
    pub fn remove_tracking(&self, common_dir: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM tracking WHERE common_dir = ?1", [common_dir])
            .map_err(|e| self.err(e))?;
        self.touch_repository(common_dir)
    }
}
