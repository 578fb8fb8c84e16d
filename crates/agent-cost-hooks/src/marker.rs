//! `<git-dir>/agent-cost-proposed`: the ids of the drains this worktree's hooks proposed that
//! may not be settled yet, one per line. A hint that saves opening the ledger: `commit-msg`
//! finds there that `prepare-commit-msg` already wrote the block, and `hook post-commit` (run
//! by hook managers or older installs) returns at once when it does not exist. The ledger
//! stays the truth: a lost or stale marker only delays a settlement to the next
//! `prepare-commit-msg`, which reconciles from history and empties the file once nothing is
//! outstanding.

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

/// `<git-dir>/agent-cost-prepared`: a hash of the message `prepare-commit-msg` left, so that
/// `commit-msg` can tell that nobody changed it since (a `-m` commit) and that there is nothing
/// left to do, without opening the ledger. Written on every run, so its time is also when the
/// hooks last ran (`doctor`).
const PREPARED: &str = "agent-cost-prepared";

fn message_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Remembers the message `prepare-commit-msg` left.
pub fn remember_prepared(git_dir: &Path, message: &str) {
    let _ = std::fs::write(git_dir.join(PREPARED), message_hash(message));
}

/// Records that `prepare-commit-msg` ran and left the message to the editor (the file's time
/// is when the hooks last ran; its text matches no message).
pub fn remember_editor(git_dir: &Path) {
    let _ = std::fs::write(git_dir.join(PREPARED), "editor\n");
}

/// Forgets it (`prepare-commit-msg` is starting).
pub fn forget_prepared(git_dir: &Path) {
    let _ = std::fs::remove_file(git_dir.join(PREPARED));
}

/// True when `message` is exactly what `prepare-commit-msg` left.
pub fn is_prepared(git_dir: &Path, message: &str) -> bool {
    std::fs::read_to_string(git_dir.join(PREPARED)).is_ok_and(|hash| hash == message_hash(message))
}
