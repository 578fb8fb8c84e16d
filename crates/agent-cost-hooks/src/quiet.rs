//! `<git-dir>/agent-cost-quiet`: proof that a commit of this worktree has nothing to carry,
//! without opening the repository or the ledger.
//!
//! `prepare-commit-msg` writes it when a run found nothing pending and nothing outstanding for
//! the worktree. It holds a fingerprint, taken before that run began, of
//! `<git-dir>/agent-cost-changes` (which the ledger grows by a byte after every transaction that
//! changed this worktree's pending spend or its repository's tracking, whichever process made
//! it) and of every transcript the hook would read (path and stamp). The next run that finds the
//! same fingerprint has nothing to do either: no new log line can be pending, and nothing was
//! charged to this worktree since. Anything that changed after the fingerprint was taken, during
//! that run included (a new line, a new session, a charge to this worktree, a file that cannot be
//! looked at), makes the fingerprints differ, and the hook does its whole work. A lost or stale
//! file costs only that.

use std::path::{Path, PathBuf};

use agent_cost_git::Worktree;
use agent_cost_sources::{FileStamp, Scope, Source};
use agent_cost_store::store::CHANGES_FILE;

const FILE: &str = "agent-cost-quiet";

fn path(git_dir: &Path) -> PathBuf {
    git_dir.join(FILE)
}

/// A 64-bit FNV-1a hash, written as it goes.
struct Fingerprint(u64);

impl Fingerprint {
    fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn add_stamp(&mut self, stamp: &FileStamp) {
        self.add(&stamp.len.to_le_bytes());
        self.add(&stamp.mtime_ns.to_le_bytes());
        self.add(&stamp.ctime_ns.to_le_bytes());
        self.add(&stamp.inode.to_le_bytes());
    }
}

/// The fingerprint of the ledger and of the worktree's transcripts now; `None` when something
/// could not be looked at (then the hook never takes the short way).
pub fn fingerprint(
    sources: &[Box<dyn Source>],
    state_dir: &Path,
    worktree: &Worktree,
) -> Option<String> {
    let mut print = Fingerprint::new();
    // Grows with every ledger transaction that changed this worktree's pending spend or its
    // repository's tracking, whichever process made it.
    let changes = worktree.git_dir.join(CHANGES_FILE);
    match std::fs::metadata(&changes) {
        Ok(meta) => print.add_stamp(&FileStamp::of(&meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => print.add(b"absent"),
        Err(_) => return None,
    }
    print.add(state_dir.as_os_str().as_encoded_bytes());
    let scope = Scope::Worktree(worktree.workdir.clone());
    for source in sources {
        let mut found = source.discover(&scope);
        if !found.unreadable.is_empty() {
            return None;
        }
        found.sort_newest_first();
        print.add(source.name().as_bytes());
        for file in found.files {
            print.add(file.path.as_os_str().as_encoded_bytes());
            print.add_stamp(&file.stamp?);
        }
    }
    Some(format!("{:016x}", print.0))
}

/// True when the worktree was left quiet with exactly this fingerprint.
pub fn holds(git_dir: &Path, fingerprint: &str) -> bool {
    std::fs::read_to_string(path(git_dir)).is_ok_and(|text| text.trim() == fingerprint)
}

/// Records that the worktree is quiet at `fingerprint`.
pub fn remember(git_dir: &Path, fingerprint: &str) {
    let _ = std::fs::write(path(git_dir), fingerprint);
}

/// Forgets it.
pub fn forget(git_dir: &Path) {
    let _ = std::fs::remove_file(path(git_dir));
}
