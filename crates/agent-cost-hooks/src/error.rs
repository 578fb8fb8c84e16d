//! Errors of hook installation and hook runs.

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Not inside a git worktree.
    #[error("not inside a git working tree: run this from a repository (or pass its path)")]
    NotInRepository,
    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// git could not be run or failed.
    #[error("`git {args}` failed: {detail}")]
    Git {
        /// The arguments.
        args: String,
        /// What git said.
        detail: String,
    },
    /// The ledger's store could not be used.
    #[error(transparent)]
    Store(#[from] agent_cost_store::StoreError),
    /// History could not be read.
    #[error(transparent)]
    History(#[from] agent_cost_git::HistoryError),
    /// No directory for agent-cost's state could be found.
    #[error(transparent)]
    Locations(#[from] agent_cost_paths::NoStateDir),
    /// The hook was called with arguments git never passes.
    #[error("unexpected hook arguments: {0}")]
    Usage(String),
}

pub(crate) trait IoResultExt<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T, HookError>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T, HookError> {
        self.map_err(|source| HookError::Io {
            path: path.into(),
            source,
        })
    }
}
