//! Reading Claude Code transcripts: every trap of the reference, counted by hand.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::*;

struct Fixture {
    env: TestEnv,
    repo_a: PathBuf,
    repo_b: PathBuf,
    session_a: PathBuf,
}

fn fixture() -> Fixture {
    let env = TestEnv::new();
    let repo_a = env.repo("alpha");
    let repo_b = env.repo("beta");
    std::fs::create_dir_all(repo_a.join("src/deep")).unwrap();
    let outside = env.outside();
    let places = [
        ("@REPO_A@", repo_a.as_path()),
        ("@REPO_B@", repo_b.as_path()),
        ("@OUTSIDE@", outside.as_path()),
    ];
    let session_a = env.transcript_path(&encode(&repo_a), "sess-a.jsonl");
    env.install_fixture("session-a.jsonl", &session_a, &places);
    env.install_fixture(
        "session-a-agent-1.jsonl",
        &env.transcript_path(&encode(&repo_a), "sess-a/subagents/agent-1.jsonl"),
        &places,
    );
    env.install_fixture(
        "session-b.jsonl",
        &env.transcript_path(&encode(&repo_b), "sess-b.jsonl"),
        &places,
    );
    env.install_fixture(
        "session-outside.jsonl",
        &env.transcript_path(&encode(&outside), "sess-o.jsonl"),
        &places,
    );
    Fixture {
        env,
        repo_a,
        repo_b,
        session_a,
    }
}

fn model<'a>(spend: &'a Value, name: &str) -> &'a Value {
    spend["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no {name} in {spend:#}"))
}

fn tokens(m: &Value) -> [u64; 5] {
    ["requests", "input", "output", "cache_write", "cache_read"].map(|k| m[k].as_u64().unwrap())
}

#[test]
fn fixture_traps_are_counted_exactly_once() {
    let f = fixture();
    let report = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    // A1, A2, A3, A4, S1 in alpha; B1 in beta; O1 outside.
    assert_eq!(report["events_charged"], 7, "{report:#}");
    // A1's second streamed copy, A2's repeat, and the sidechain replay of A1 add nothing new
    // (which copy of A1 comes first depends on file order; the tokens do not).
    let repeats =
        report["events_topped_up"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap();
    assert_eq!(repeats, 3, "{report:#}");
    assert_eq!(report["malformed_skipped"], 1);
    assert_eq!(report["synthetic_skipped"], 1);
    assert_eq!(report["files_found"], 4);

    let status = f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]);
    let pending = &status["pending"];
    assert_eq!(pending["requests"], 5);
    // Sonnet 4.5: A1 (in 5, out 400, write 500 5m + 1000 1h, read 12000), A4 from a
    // subdirectory (in 10, out 100), S1 from the subagent (in 20, out 200).
    assert_eq!(
        tokens(model(pending, "claude-sonnet-4-5")),
        [3, 35, 700, 1500, 12000]
    );
    // A1: 5×3 + 400×15 + 500×3.75 + 1000×6 + 12000×0.3 = 17,490 µ$
    // A4: 10×3 + 100×15 = 1,530 µ$;  S1: 20×3 + 200×15 = 3,060 µ$  → 22,080 µ$
    assert_eq!(
        micros(&model(pending, "claude-sonnet-4-5")["cost_usd"]),
        22_080
    );
    // Haiku 4.5, A2 once: 100×1 + 50×5 + 2000×0.1 = 550 µ$
    assert_eq!(
        tokens(model(pending, "claude-haiku-4-5")),
        [1, 100, 50, 0, 2000]
    );
    assert_eq!(micros(&model(pending, "claude-haiku-4-5")["cost_usd"]), 550);
    // Unknown model: tokens counted, never priced at zero.
    assert_eq!(
        tokens(model(pending, "acme-coder-9")),
        [1, 1000, 1000, 0, 0]
    );
    assert!(model(pending, "acme-coder-9")["cost_usd"].is_null());
    assert_eq!(pending["incomplete"], true);
    assert_eq!(micros(&pending["cost_usd"]), 22_630);
    // Outside any repository: O1 = 1×3 + 1×15 = 18 µ$
    assert_eq!(status["unattributed"]["requests"], 1);
    assert_eq!(micros(&status["unattributed"]["cost_usd"]), 18);

    // Opus 4.1 in beta: 100×15 + 100×75 = 9,000 µ$
    let beta = f.env.agent_cost_json(&f.repo_b, &["status", "--no-ingest"]);
    assert_eq!(
        tokens(model(&beta["pending"], "claude-opus-4-1")),
        [1, 100, 100, 0, 0]
    );
    assert_eq!(micros(&beta["pending"]["cost_usd"]), 9_000);
}

#[test]
fn half_written_line_counts_once_it_is_complete() {
    let f = fixture();
    f.env.agent_cost(&f.repo_a, &["ingest"]);
    let tail = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/claude/session-a.tail"),
    )
    .unwrap();
    append(&f.session_a, &tail);
    let report = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    assert_eq!(report["events_charged"], 1, "{report:#}");
    assert_eq!(
        report["malformed_skipped"], 0,
        "the half line was not read as malformed"
    );
    let pending = &f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"])["pending"];
    // A5 adds 10 output tokens: 150 µ$.
    assert_eq!(
        tokens(model(pending, "claude-sonnet-4-5")),
        [4, 35, 710, 1500, 12000]
    );
    assert_eq!(
        micros(&model(pending, "claude-sonnet-4-5")["cost_usd"]),
        22_230
    );
}

#[test]
fn reading_again_adds_nothing_even_without_cursors() {
    let f = fixture();
    f.env.agent_cost(&f.repo_a, &["ingest"]);
    let before = f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]);

    let again = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    assert_eq!(again["files_read"], 0, "{again:#}");
    assert_eq!(again["events_charged"], 0);

    f.env.forget_cursors();
    let reread = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    assert_eq!(reread["files_read"], 4, "{reread:#}");
    assert_eq!(reread["events_charged"], 0, "{reread:#}");
    assert_eq!(reread["events_topped_up"], 0, "{reread:#}");

    let after = f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]);
    assert_eq!(before["pending"], after["pending"]);
    assert_eq!(before["unattributed"], after["unattributed"]);
}

#[test]
fn a_transcript_rewritten_in_place_is_reread_without_double_counting() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let path = env.claude_lines(
        &repo,
        "s1",
        &[sonnet("msg_1", 10, 100), sonnet("msg_2", 10, 100)],
    );
    env.agent_cost(&repo, &["ingest"]);
    // Claude Code compacts a session by rewriting the file: same requests, different bytes,
    // then a new request.
    let old = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{{\"type\":\"summary\",\"summary\":\"compacted\"}}\n{old}"),
    )
    .unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_3", 10, 100)]);
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["files_reread"], 1, "{report:#}");
    assert_eq!(report["events_charged"], 1, "{report:#}");
    assert_eq!(report["duplicates"], 2, "{report:#}");
    let status = env.agent_cost_json(&repo, &["status", "--no-ingest"]);
    assert_eq!(status["pending"]["requests"], 3);
}

#[test]
fn spend_before_tracking_is_shown_but_not_charged() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let mut old = sonnet("msg_old", 10, 100);
    old.timestamp = "2025-01-01T00:00:00Z";
    env.claude_lines(&repo, "s1", &[old, sonnet("msg_new", 20, 200)]);
    env.agent_cost(&repo, &["install-hooks", "--since", "2026-01-01"]);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 1);
    assert_eq!(micros(&status["pending"]["cost_usd"]), 3_060);
    assert_eq!(status["before_tracking"]["requests"], 1);
    commit(&env, &repo, "a.txt", "Work");
    let sum = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&sum["cost_usd"]), 3_060);
    // The old request is settled as before-tracking: it never reaches a later commit.
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["before_tracking"]["requests"], 0);
    assert_eq!(status["pending"]["requests"], 0);
}

#[test]
fn install_hooks_charges_spend_since_the_last_commit_by_default() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let mut before_head = sonnet("msg_old", 10, 100);
    before_head.timestamp = "2025-12-31T23:59:59Z";
    // After the last commit (2026-01-01): uncommitted work the next commit should carry.
    env.claude_lines(&repo, "s1", &[before_head, sonnet("msg_new", 20, 200)]);
    let out = env.agent_cost(&repo, &["install-hooks"]);
    assert!(
        out.stdout.contains("since 2026-01-01T00:00:00Z"),
        "{}",
        out.stdout
    );
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["tracking_since"], "2026-01-01T00:00:00Z");
    assert_eq!(status["pending"]["requests"], 1);
    assert_eq!(status["before_tracking"]["requests"], 1);
    // Re-installing keeps the date; --since moves it.
    env.agent_cost(&repo, &["install-hooks"]);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["tracking_since"], "2026-01-01T00:00:00Z");
    env.agent_cost(&repo, &["install-hooks", "--since", "2025-12-01"]);
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        2
    );
}

#[test]
fn transcripts_are_found_where_claude_code_keeps_them() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let home = env.root.join("home");
    let line = |id: &'static str| format!("{}\n", sonnet(id, 1, 1).line(&repo, "s"));
    let put = |dir: std::path::PathBuf, id: &'static str| {
        std::fs::create_dir_all(&dir).unwrap();
        append(&dir.join(format!("{id}.jsonl")), &line(id));
    };
    put(home.join(".claude/projects/p"), "msg_dot_claude");
    put(home.join(".config/claude/projects/p"), "msg_dot_config");
    put(env.root.join("first/projects/p"), "msg_first");
    put(env.root.join("second/projects/p"), "msg_second");

    // Without CLAUDE_CONFIG_DIR: both default locations under HOME.
    let mut command = env.command(BIN, &repo);
    command
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["ingest", "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&command.output().unwrap().stdout).unwrap();
    assert_eq!(report["events_charged"], 2, "{report:#}");

    // A comma-separated list: each entry holds projects/ (or is it).
    let list = format!(
        "{}, {}",
        env.root.join("first").display(),
        env.root.join("second/projects").display()
    );
    let out = env.output(
        BIN,
        &repo,
        &["ingest", "--json"],
        &[("CLAUDE_CONFIG_DIR", &list)],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events_charged"], 2, "{report:#}");
    assert_eq!(report["files_found"], 2);
    assert_eq!(
        env.agent_cost_json(&repo, &["status", "--no-ingest"])["pending"]["requests"],
        4
    );
}
