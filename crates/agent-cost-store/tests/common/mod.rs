//! What the store's tests share: a request as the Claude Code source reads it, and a store in
//! a temp dir with one worktree.
#![allow(dead_code)]

use std::time::Duration;

use agent_cost_events::{Agent, RepeatRule, TokenCounts, UsageEvent};
use agent_cost_git::Worktree;
use agent_cost_store::Store;

/// A Claude Code request `key` (request id `req_<key>`, session `s1`, Sonnet 4.5, main chain)
/// with `output` output tokens; tests change the fields they are about.
pub fn request(key: &str, output: u64) -> UsageEvent {
    UsageEvent {
        agent: Agent::claude_code(),
        event_id: key.to_string(),
        variant: format!("req_{key}"),
        repeat: RepeatRule::LargestCopy,
        session_id: "s1".to_string(),
        model: "claude-sonnet-4-5-20250929".to_string(),
        timestamp: "2026-06-01T12:00:00Z".to_string(),
        tokens: TokenCounts {
            output,
            ..TokenCounts::default()
        },
        requests: 1,
        quantity: None,
        source_cost: None,
        cwd: "/w".to_string(),
        git_branch: Some("main".to_string()),
        sidechain: false,
        speed: None,
    }
}

/// A store in a temp dir (kept alive by the first value) and a worktree at `/w`.
pub fn scratch_store() -> (tempfile::TempDir, Store, Worktree) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Duration::from_secs(5)).unwrap();
    let worktree = Worktree {
        workdir: "/w".into(),
        git_dir: dir.path().join("git"),
        common_dir: dir.path().join("git"),
    };
    (dir, store, worktree)
}
