//! The ledger contract under random sequences of work: whatever happens (aborted commits,
//! amends, repeated and growing lines, lost cursors, killed processes), history plus pending
//! equals exactly what the transcripts say, and every request is counted once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

/// A small deterministic generator (no seeds shared with other tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Expected totals: (requests, input, output) of everything written to transcripts.
#[derive(Default, Debug, PartialEq)]
struct Totals {
    requests: u64,
    input: u64,
    output: u64,
}

fn observed(env: &TestEnv, repo: &Path) -> Totals {
    let history = sum(env, repo, "HEAD");
    let pending = &env.agent_cost_json(repo, &["status"])["pending"];
    let requests: u64 = history["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    Totals {
        requests: requests + pending["requests"].as_u64().unwrap(),
        input: history["tokens"]["input"].as_u64().unwrap()
            + pending["tokens"]["input"].as_u64().unwrap(),
        output: history["tokens"]["output"].as_u64().unwrap()
            + pending["tokens"]["output"].as_u64().unwrap(),
    }
}

fn random_walk(seed: u64) {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let mut rng = Lcg(seed);
    let mut expected = Totals::default();
    let mut next_id = 0;
    let mut last: Option<(&'static str, u64, u64)> = None;
    let mut file = 0;
    for step in 0..24 {
        match rng.next(8) {
            0..=2 => {
                // New requests, each streamed as a partial then a final line.
                for _ in 0..=rng.next(3) {
                    next_id += 1;
                    let id: &'static str =
                        Box::leak(format!("msg_{seed}_{next_id}").into_boxed_str());
                    let (input, output) = (1 + rng.next(500), 1 + rng.next(5000));
                    env.claude_lines(
                        &repo,
                        "s1",
                        &[sonnet(id, input, 1), sonnet(id, input, output)],
                    );
                    expected.requests += 1;
                    expected.input += input;
                    expected.output += output.max(1);
                    last = Some((id, input, output));
                }
            }
            3 => {
                // A repeat of the last request, as a replay or re-read would produce.
                if let Some((id, input, output)) = last {
                    env.claude_lines(&repo, "s1", &[sonnet(id, input, output)]);
                }
            }
            4 => {
                file += 1;
                commit(
                    &env,
                    &repo,
                    &format!("f{file}.txt"),
                    &format!("Step {step}"),
                );
            }
            5 => {
                file += 1;
                stage(&env, &repo, &format!("f{file}.txt"));
                let out = env.output("git", &repo, &["commit", "-q", "-m", ""], &[]);
                assert!(!out.status.success(), "an empty message aborts");
            }
            6 => {
                file += 1;
                stage(&env, &repo, &format!("f{file}.txt"));
                env.git(&repo, &["commit", "-q", "--amend", "--no-edit"]);
            }
            _ => {
                env.forget_cursors();
                env.agent_cost(&repo, &["ingest"]);
            }
        }
        assert_eq!(
            observed(&env, &repo),
            expected,
            "seed {seed}, after step {step}"
        );
        let verify = env.output(BIN, &repo, &["verify"], &[]);
        assert!(
            verify.status.success(),
            "seed {seed}, after step {step}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
}

#[test]
fn random_sequences_of_work_count_every_request_once() {
    for seed in [1, 2, 3] {
        random_walk(seed);
    }
}

#[test]
fn killing_ingest_at_any_moment_loses_and_doubles_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let mut expected = Totals::default();
    let padding = "p".repeat(2_000);
    for session in 0..8 {
        let path = env.transcript_path(&encode(&repo), &format!("s{session}.jsonl"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for n in 0..600u64 {
            let id: &'static str = Box::leak(format!("msg_{session}_{n}").into_boxed_str());
            let request = sonnet(id, n + 1, 10);
            text.push_str(&request.line(&repo, &format!("s{session}")));
            text.push('\n');
            text.push_str(&format!(
                "{{\"type\":\"user\",\"message\":{{\"content\":\"{padding}\"}}}}\n"
            ));
            expected.requests += 1;
            expected.input += n + 1;
            expected.output += 10;
        }
        append(&path, &text);
    }
    let mut rng = Lcg(42);
    for _ in 0..12 {
        let mut child = env
            .command(BIN, &repo)
            .arg("ingest")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next(60)));
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(observed(&env, &repo), expected);
    commit(&env, &repo, "a.txt", "Everything");
    assert_eq!(observed(&env, &repo), expected);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
}
