//! Errors of the ledger, each naming the file involved.

use std::path::PathBuf;

/// What went wrong while reading or writing ledger state.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A file or directory could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another agent-cost process holds the lock and did not release it in time.
    #[error(
        "{path} is locked by another agent-cost process; try again, or remove the lock file if no agent-cost is running"
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// A state file is not in the format agent-cost wrote.
    #[error("{path} is corrupt ({detail}); move it aside to start that state afresh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// A date could not be understood.
    #[error("`{text}` is not a date or time: use 2026-11-01 or 2026-11-01T09:00:00Z")]
    BadTime {
        /// The text given.
        text: String,
    },
}

/// Attaches a path to I/O errors.
pub trait IoResultExt<T> {
    /// Converts an I/O error into [`LedgerError::Io`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T, LedgerError>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T, LedgerError> {
        self.map_err(|source| LedgerError::Io {
            path: path.into(),
            source,
        })
    }
}
