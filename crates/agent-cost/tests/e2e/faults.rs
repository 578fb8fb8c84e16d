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
        ("commit", "store.commit.before:2"),
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
