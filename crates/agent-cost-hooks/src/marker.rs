//! `<git-dir>/agent-cost-proposed`: the ids of the drains this worktree's hooks proposed that
//! may not be settled yet, one per line. A hint that saves opening the ledger: `commit-msg`
//! finds there that `prepare-commit-msg` already wrote the block, and `post-commit` returns at
//! once when it does not exist (nothing of this worktree is waiting for a commit). The ledger
//! stays the truth: a lost or stale marker only delays a settlement to the next
//! `prepare-commit-msg`, which reconciles from history.

use std::io::Write;
use std::path::{Path, PathBuf};

const FILE: &str = "agent-cost-proposed";

fn path(git_dir: &Path) -> PathBuf {
    git_dir.join(FILE)
}

/// Records that drain `id` was proposed.
pub fn add(git_dir: &Path, id: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path(git_dir))?;
    file.write_all(format!("{id}\n").as_bytes())
}

/// True when any of `ids` was recorded.
pub fn holds_any<'a>(git_dir: &Path, mut ids: impl Iterator<Item = &'a str>) -> bool {
    let Ok(text) = std::fs::read_to_string(path(git_dir)) else {
        return false;
    };
    ids.any(|id| {
        text.lines()
            .any(|line| line.trim().eq_ignore_ascii_case(id))
    })
}

/// True when a proposal may be waiting for its commit.
pub fn exists(git_dir: &Path) -> bool {
    path(git_dir).exists()
}

/// Forgets every proposal (none is outstanding any more).
pub fn clear(git_dir: &Path) {
    let _ = std::fs::remove_file(path(git_dir));
}
