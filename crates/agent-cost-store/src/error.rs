//! Errors of the store, each naming the database involved.

use std::path::PathBuf;

/// What went wrong while reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory or database file could not be created or opened.
    #[error("cannot access {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite reported an error.
    #[error("the ledger database {path} failed ({source})")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another agent-cost process holds the database and did not release it in time.
    #[error(
        "the ledger database {path} is busy (another agent-cost is writing it); try again in a moment"
    )]
    Busy {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer agent-cost.
    #[error(
        "the ledger database {path} has schema version {found}, newer than this agent-cost knows \
         ({known}); install the newer agent-cost (nothing was changed)"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version this binary knows.
        known: i64,
    },
    /// A file of the first ledger (before this store) could not be read for its import.
    #[error("cannot read {path} ({source}); make it readable, and the next run imports it")]
    Legacy {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A date could not be understood.
    #[error("`{text}` is not a date or time: use 2026-11-01 or 2026-11-01T09:00:00Z")]
    BadTime {
        /// The text given.
        text: String,
    },
}

impl StoreError {
    /// Wraps a SQLite error, recognising a busy database.
    pub fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> StoreError {
        let busy = matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        if busy {
            StoreError::Busy {
                path: path.to_path_buf(),
            }
        } else {
            StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}
