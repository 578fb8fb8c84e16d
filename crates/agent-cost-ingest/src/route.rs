//! Which worktree an event belongs to: the one containing its working directory, found from
//! `.git` entries, or else a worktree registered in the store whose working tree contains it
//! (a repository with a separate `GIT_DIR` / `GIT_WORK_TREE` has no `.git` entry to find).
//! Answers are cached per directory for the length of one run.

use std::path::{Path, PathBuf};

use agent_cost_git::Worktree;
use agent_cost_store::{StoreError, Tx};
use rustc_hash::FxHashMap as HashMap;

/// Maps working directories to worktree ids in the store.
#[derive(Debug, Default)]
pub struct Router {
    by_cwd: HashMap<String, Option<Worktree>>,
    ids: HashMap<PathBuf, i64>,
    registered: Option<Vec<(PathBuf, Worktree)>>,
}

impl Router {
    /// The worktree of an event that ran in `cwd`, as a store id (`None`: unattributed).
    pub fn route(&mut self, tx: &Tx<'_>, cwd: &str) -> Result<Option<i64>, StoreError> {
        if !self.by_cwd.contains_key(cwd) {
            let found = match Worktree::containing(Path::new(cwd)) {
                Some(worktree) => Some(worktree),
                None => self.registered_containing(tx, Path::new(cwd))?,
            };
            self.by_cwd.insert(cwd.to_string(), found);
        }
        if let Some(known) = self.cached(cwd) {
            return Ok(known);
        }
        let Some(worktree) = self.by_cwd[cwd].clone() else {
            return Ok(None);
        };
        let id = tx.worktree_id(&worktree)?;
        // Before anything is charged to it: what the first ledger knew (its pending spend, and
        // what was already drained, so a re-read charges none of it again).
        tx.import_legacy_worktree(&worktree, id)?;
        self.ids.insert(worktree.git_dir.clone(), id);
        Ok(Some(id))
    }

    /// The answer [`Router::route`] would give for `cwd` without looking at the store, if it
    /// has it.
    pub fn cached(&self, cwd: &str) -> Option<Option<i64>> {
        match self.by_cwd.get(cwd)? {
            None => Some(None),
            Some(worktree) => self.ids.get(&worktree.git_dir).map(|id| Some(*id)),
        }
    }

    /// Forgets ids learnt inside a transaction that was rolled back.
    pub fn forget_ids(&mut self) {
        self.ids.clear();
    }

    fn registered_containing(
        &mut self,
        tx: &Tx<'_>,
        cwd: &Path,
    ) -> Result<Option<Worktree>, StoreError> {
        if self.registered.is_none() {
            self.registered = Some(
                tx.registered_worktrees()?
                    .into_iter()
                    .filter(|w| w.git_dir.join("HEAD").exists())
                    .map(|w| (w.workdir.clone(), w))
                    .collect(),
            );
        }
        let registered = self.registered.as_ref().expect("loaded above");
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        Ok(registered
            .iter()
            .filter(|(workdir, _)| cwd.starts_with(workdir))
            .max_by_key(|(workdir, _)| workdir.as_os_str().len())
            .map(|(_, worktree)| worktree.clone()))
    }
}

impl Router {
    /// A label for reports: the working tree an event of `cwd` was charged to.
    pub fn label(&self, cwd: &str) -> String {
        match self.by_cwd.get(cwd) {
            Some(Some(worktree)) => worktree.workdir.display().to_string(),
            _ => "unattributed".to_string(),
        }
    }
}
