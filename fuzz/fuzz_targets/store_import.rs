//! The store's import of the first ledger's files: the input's NUL-separated parts are a
//! worktree tally's `journal`, one `seen/` shard, the repository's `tracking.json`, the state
//! directory's unattributed `journal` and its `cursors.json`. The store is opened (importing
//! the state directory's files) and the worktree imported, each time in a fresh directory.
#![no_main]

use std::time::Duration;

use agent_cost_fuzz::{parts, write};
use agent_cost_git::Worktree;
use agent_cost_store::Store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = parts(data, 5);
    let part = |i: usize| parts.get(i).copied();
    let tmp = tempfile::tempdir().expect("a scratch directory");
    let state = tmp.path().join("state");
    let workdir = tmp.path().join("repo");
    let git_dir = workdir.join(".git");
    write(&git_dir.join("HEAD"), b"ref: refs/heads/main\n");
    let tally = git_dir.join("agent-cost");
    if let Some(journal) = part(0) {
        write(&tally.join("journal"), journal);
    }
    if let Some(shard) = part(1) {
        write(&tally.join("seen/00"), shard);
    }
    if let Some(tracking) = part(2) {
        write(&tally.join("tracking.json"), tracking);
    }
    if let Some(journal) = part(3) {
        write(&state.join("unattributed/journal"), journal);
    }
    if let Some(cursors) = part(4) {
        write(&state.join("cursors.json"), cursors);
    }
    let Ok(mut store) = Store::open(&state, Duration::from_secs(5)) else {
        return;
    };
    let worktree = Worktree {
        workdir,
        common_dir: git_dir.clone(),
        git_dir,
    };
    let _ = store.import_legacy_worktree(&worktree);
});
