//! Which tally an event belongs to: the worktree containing its working directory, or the
//! unattributed tally. Lookups are cached per directory for the length of one ingest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use agent_cost_git::Worktree;

use crate::tally::Tally;

/// Where an event's spend goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A worktree's tally.
    Worktree(Worktree),
    /// Spend outside any repository.
    Unattributed,
}

impl Destination {
    /// The tally for this destination.
    pub fn tally(&self, state_dir: &Path) -> Tally {
        match self {
            Destination::Worktree(worktree) => Tally::in_git_dir(&worktree.git_dir),
            Destination::Unattributed => unattributed_tally(state_dir),
        }
    }

    /// A label for reports: the worktree path, or `unattributed`.
    pub fn label(&self) -> String {
        match self {
            Destination::Worktree(worktree) => worktree.workdir.display().to_string(),
            Destination::Unattributed => "unattributed".to_string(),
        }
    }
}

/// The tally of spend outside any repository.
pub fn unattributed_tally(state_dir: &Path) -> Tally {
    Tally::at(state_dir.join("unattributed"))
}

/// Maps working directories to destinations, remembering each answer.
#[derive(Debug, Default)]
pub struct Router {
    cache: HashMap<String, Destination>,
}

impl Router {
    /// The destination of an event that ran in `cwd`.
    pub fn route(&mut self, cwd: &str) -> &Destination {
        if !self.cache.contains_key(cwd) {
            let destination = match Worktree::containing(&PathBuf::from(cwd)) {
                Some(worktree) => Destination::Worktree(worktree),
                None => Destination::Unattributed,
            };
            self.cache.insert(cwd.to_string(), destination);
        }
        &self.cache[cwd]
    }
}
