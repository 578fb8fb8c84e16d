//! Crashes at the points that matter, over many rounds: `ingest` and the commit hooks are
//! aborted (as `kill -9` would) right before and after a ledger commit, between proposing a
//! drain and writing it into the message, and after writing it; after every round `verify`
//! must find every request accounted for, once. The crash points are instrumented
//! (`AGENT_COST_FAULT`, see the `agent-cost-fault` crate), so each kill lands inside a write.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::harness::*;

/// A small deterministic generator (xorshift), so a failing round can be replayed.
struct Rounds(u64);

impl Rounds {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Runs `program args` with the crash point armed and core dumps off.
fn crashing(env: &TestEnv, repo: &Path, fault: &str, program: &str, args: &[&str]) -> Output {
    let mut all = vec!["-c", "ulimit -c 0; exec \"$@\"", "sh", program];
    all.extend_from_slice(args);
    env.output("sh", repo, &all, &[("AGENT_COST_FAULT", fault)])
}

fn verify_clean(env: &TestEnv, repo: &Path, round: u64, what: &str) -> Value {
    let out = env.output(BIN, repo, &["verify", "--json"], &[]);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        out.status.success(),
        "round {round} ({what}): verify found differences: {value:#}"
    );
    value
}

/// Request ids live as long as the test (transcript lines borrow them).
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[test]
fn crashes_inside_ingest_and_the_hooks_lose_and_double_count_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let mut rng = Rounds(0x5eed_1234_abcd_ef01);
    let faults = [
        ("ingest", "store.commit.before:1"),
        ("ingest", "store.commit.after:1"),
        ("commit", "store.commit.before:1"),
        ("commit", "store.commit.after:1"),
        ("commit", "hook.caught-up:1"),
        ("commit", "hook.proposed:1"),
        ("commit", "hook.written:1"),
    ];
    let mut crashed = [0u32; 7];
    let mut requests = 0u64;
    let mut aborted = 0;
    for round in 0..32u64 {
        for k in 0..=rng.next(3) {
            let id = leak(format!("msg_{round}_{k}"));
            let (input, output) = (1 + rng.next(5_000), 1 + rng.next(2_000));
            env.claude_lines(
                &repo,
                &format!("s{}", round % 3),
                &[sonnet(id, input, output)],
            );
            requests += 1;
        }
        let pick = rng.next(faults.len() as u64 + 2) as usize;
        if pick == faults.len() + 1 {
            // git aborts the commit itself: the editor fails after the hook wrote the block.
            stage(&env, &repo, &format!("f{round}.txt"));
            let out = env.output("git", &repo, &["commit", "-q"], &[("GIT_EDITOR", "false")]);
            assert!(!out.status.success(), "a failing editor aborts");
            aborted += 1;
            verify_clean(&env, &repo, round, "a commit the editor aborted");
            continue;
        }
        let Some(&(what, fault)) = faults.get(pick) else {
            commit(
                &env,
                &repo,
                &format!("f{round}.txt"),
                &format!("Round {round}"),
            );
            verify_clean(&env, &repo, round, "a plain commit");
            continue;
        };
        let out = if what == "ingest" {
            crashing(&env, &repo, fault, BIN, &["ingest"])
        } else {
            stage(&env, &repo, &format!("f{round}.txt"));
            crashing(
                &env,
                &repo,
                fault,
                "git",
                &["commit", "-q", "-m", &format!("Round {round}")],
            )
        };
        assert!(
            !out.status.success(),
            "round {round}: {what} with {fault} did not crash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        crashed[pick] += 1;
        verify_clean(
            &env,
            &repo,
            round,
            &format!("after {what} crashed at {fault}"),
        );
        if what == "commit" {
            // The commit did not happen: the next one carries everything.
            env.git(
                &repo,
                &["commit", "-q", "-m", &format!("Round {round} again")],
            );
            verify_clean(&env, &repo, round, &format!("the commit after {fault}"));
        }
    }
    // Every crash point was hit at least once, and git aborted some commits itself.
    assert!(crashed.iter().all(|n| *n > 0), "{crashed:?}");
    assert!(aborted > 0);
    // In the end everything is committed, once.
    commit(&env, &repo, "last.txt", "Last");
    let value = verify_clean(&env, &repo, 99, "the end");
    let row = &value["rows"][0];
    assert_eq!(row["committed"]["requests"], requests);
    assert_eq!(row["pending"]["requests"], 0);
    let total = sum(&env, &repo, "HEAD");
    let summed: u64 = total["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(summed, requests);
}

#[test]
fn the_watcher_crashed_inside_its_writes_loses_and_doubles_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let mut rng = Rounds(0x0dd_ba11_cafe_f00d);
    let mut crashes = 0;
    for round in 0..12u64 {
        let at = 1 + rng.next(2);
        let fault = format!(
            "store.commit.{}:{at}",
            if rng.next(2) == 0 { "before" } else { "after" }
        );
        let mut watcher = env
            .command("sh", &repo)
            .args([
                "-c",
                "ulimit -c 0; exec \"$@\"",
                "sh",
                BIN,
                "watch",
                "--quiet",
            ])
            .env("AGENT_COST_FAULT", &fault)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Lines in a few writes, so the watcher commits several times.
        for k in 0..3 {
            let id = leak(format!("msg_{round}_{k}"));
            env.claude_lines(&repo, "s1", &[sonnet(id, 10 + k, 20 + round)]);
            std::thread::sleep(std::time::Duration::from_millis(40 + rng.next(60)));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let status = loop {
            if let Some(status) = watcher.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        match status {
            Some(status) => {
                assert!(
                    !status.success(),
                    "round {round}: the watcher exited cleanly"
                );
                crashes += 1;
            }
            None => {
                // Fewer commits than the crash point: stopped from outside instead.
                let _ = watcher.kill();
                let _ = watcher.wait();
            }
        }
        if round % 3 == 2 {
            commit(
                &env,
                &repo,
                &format!("f{round}.txt"),
                &format!("Round {round}"),
            );
        }
        verify_clean(
            &env,
            &repo,
            round,
            &format!("the watcher crashed at {fault}"),
        );
    }
    assert!(
        crashes >= 6,
        "only {crashes} of 12 watchers crashed inside a write"
    );
}

#[test]
fn concurrent_commits_in_two_worktrees_beside_ingest_and_the_watcher_count_once() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let linked = env.linked_worktree(&repo, "beta");
    let mut watcher = env
        .command(BIN, &repo)
        .args(["watch", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let per_worktree = 8u64;
    std::thread::scope(|scope| {
        for (name, worktree) in [("a", &repo), ("b", &linked)] {
            let env = &env;
            scope.spawn(move || {
                for round in 0..per_worktree {
                    for k in 0..2 {
                        let id = leak(format!("msg_{name}_{round}_{k}"));
                        env.claude_lines(worktree, &format!("s{name}"), &[sonnet(id, 5, 7)]);
                    }
                    commit(
                        env,
                        worktree,
                        &format!("{name}{round}.txt"),
                        &format!("{name} {round}"),
                    );
                }
            });
        }
        let env = &env;
        let repo = &repo;
        scope.spawn(move || {
            for _ in 0..6 {
                env.agent_cost(repo, &["ingest"]);
            }
        });
    });
    let _ = watcher.kill();
    let _ = watcher.wait();
    let value = verify_clean(&env, &repo, 0, "concurrent commits");
    let row = &value["rows"][0];
    let requests = 2 * 2 * per_worktree;
    assert_eq!(row["expected"]["requests"], requests);
    assert_eq!(
        row["committed"]["requests"].as_u64().unwrap()
            + row["pending"]["requests"].as_u64().unwrap(),
        requests
    );
    // Each worktree's branch carries its own spend.
    let main = sum(&env, &repo, "main");
    let feature = sum(&env, &repo, "feature");
    assert!(main["drains"].as_u64().unwrap() > 0 && feature["drains"].as_u64().unwrap() > 0);
}

#[test]
fn skewed_clocks_in_transcripts_are_accounted_once() {
    let env = TestEnv::new();
    // Tracking since 2020: a line stamped 1999 is before tracking, one stamped 2099 is not.
    let repo = env.tracked_repo("alpha");
    let at = |id: &'static str, timestamp: &'static str| Request {
        timestamp,
        ..sonnet(id, 10, 20)
    };
    env.claude_lines(
        &repo,
        "s1",
        &[
            at("msg_future", "2099-01-01T00:00:00Z"),
            at("msg_now", "2026-06-01T12:00:00Z"),
            at("msg_past", "1999-12-31T23:59:59Z"),
            at("msg_back", "2026-05-01T12:00:00Z"),
        ],
    );
    commit(&env, &repo, "a.txt", "Skewed");
    let value = verify_clean(&env, &repo, 0, "skewed clocks");
    let row = &value["rows"][0];
    assert_eq!(row["expected"]["requests"], 4);
    assert_eq!(row["committed"]["requests"], 3);
    assert_eq!(row["before_tracking"]["requests"], 1);
    // Read again from scratch, the same.
    env.forget_cursors();
    env.agent_cost(&repo, &["ingest"]);
    let again = verify_clean(&env, &repo, 1, "skewed clocks, read again");
    assert_eq!(again["rows"], value["rows"]);
}

#[test]
fn a_state_directory_that_cannot_be_written_lets_commits_through_and_loses_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 10, 20)]);
    commit(&env, &repo, "a.txt", "Before");
    // The state directory is replaced by a file: nothing can be opened or written there.
    let aside = env.root.join("state-aside");
    std::fs::rename(&env.state, &aside).unwrap();
    std::fs::write(&env.state, "not a directory").unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 30, 40)]);
    stage(&env, &repo, "b.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Unwritable"]);
    assert!(
        out.stderr.contains("agent-cost: warning:"),
        "{}",
        out.stderr
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(!message.contains("AI-Cost-Id"), "{message}");
    // Writable again: the next commit carries what the unwritable one could not.
    std::fs::remove_file(&env.state).unwrap();
    std::fs::rename(&aside, &env.state).unwrap();
    commit(&env, &repo, "c.txt", "After");
    let value = verify_clean(&env, &repo, 0, "an unwritable state directory");
    assert_eq!(value["rows"][0]["committed"]["requests"], 2);
    let last = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(last.contains("AI-Tokens: req=1 in=30 out=40"), "{last}");
}

#[test]
fn a_failing_hook_after_ours_aborts_the_commit_and_the_next_carries_the_spend() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    // The repository's own commit-msg hook, kept and run by agent-cost's after its own work:
    // it rejects commits while a marker file exists.
    executable(
        &repo.join(".git/hooks/commit-msg"),
        "#!/bin/sh\n[ -e \"$(git rev-parse --git-dir)/reject\" ] && { echo 'rejected by policy' >&2; exit 1; }\nexit 0\n",
    );
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 10, 20)]);
    std::fs::write(repo.join(".git/reject"), "").unwrap();
    stage(&env, &repo, "a.txt");
    let out = env.output("git", &repo, &["commit", "-q", "-m", "Rejected"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected by policy"));
    let value = verify_clean(&env, &repo, 0, "a commit rejected by a later hook");
    assert_eq!(value["rows"][0]["pending"]["requests"], 1);
    std::fs::remove_file(repo.join(".git/reject")).unwrap();
    env.git(&repo, &["commit", "-q", "-m", "Accepted"]);
    let value = verify_clean(&env, &repo, 1, "the commit after it");
    assert_eq!(value["rows"][0]["committed"]["requests"], 1);
    assert_eq!(value["rows"][0]["pending"]["requests"], 0);
}

#[test]
fn writes_that_fail_as_on_a_full_disk_let_the_commit_through_and_lose_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 5, 7)]);
    stage(&env, &repo, "a.txt");
    // No file may grow past 1 KiB while committing, and writing past it fails with an error
    // (SIGXFSZ ignored), as writes fail on a full disk: the ledger's write-ahead log is far
    // larger, git's own small files are not.
    let out = env.output(
        "sh",
        &repo,
        &[
            "-c",
            "trap '' XFSZ; ulimit -f 2; exec git commit -q -m Full",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the commit failed: {stderr}");
    assert!(
        stderr.contains("the commit goes ahead and its AI spend stays pending"),
        "{stderr}"
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(!message.contains("AI-Cost-Id"), "{message}");
    let value = verify_clean(&env, &repo, 0, "writes that failed");
    assert_eq!(value["rows"][0]["pending"]["requests"], 1);
    // Room again: the next commit carries it.
    commit(&env, &repo, "b.txt", "After");
    let value = verify_clean(&env, &repo, 1, "the commit after");
    assert_eq!(value["rows"][0]["committed"]["requests"], 1);
}
