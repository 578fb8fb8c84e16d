//! The hook never blocks a commit: broken state is reported on stderr and skipped.

use crate::harness::*;

#[test]
fn a_corrupt_ledger_lets_the_commit_through_and_says_why() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    env.agent_cost(&repo, &["ingest"]);
    // Overwrite the database with garbage: SQLite cannot open it.
    std::fs::write(env.state.join("ledger.db"), vec![0x5a; 8192]).unwrap();
    for side in ["ledger.db-wal", "ledger.db-shm"] {
        let _ = std::fs::remove_file(env.state.join(side));
    }
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Still commits"]);
    assert!(
        out.stderr.contains("agent-cost: warning:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the commit goes ahead"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ledger.db"), "{}", out.stderr);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("agent-cost: warning"))
            .count(),
        out.stderr.lines().count()
    );
    assert_eq!(
        env.git(&repo, &["log", "-1", "--format=%s"]).stdout.trim(),
        "Still commits"
    );
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
    let status = env.output(BIN, &repo, &["status"], &[]);
    assert!(!status.status.success());
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("ledger.db"),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn an_unusable_ledger_lets_the_commit_through_and_says_why() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    // The database path is a directory: nothing can be written there.
    for file in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let _ = std::fs::remove_file(env.state.join(file));
    }
    std::fs::create_dir(env.state.join("ledger.db")).unwrap();
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Still commits"]);
    assert!(
        out.stderr.contains("agent-cost: warning:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the commit goes ahead"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("agent-cost: warning"))
            .count(),
        out.stderr.lines().count()
    );
    assert_eq!(
        env.git(&repo, &["log", "-1", "--format=%s"]).stdout.trim(),
        "Still commits"
    );
}

#[test]
fn unreadable_agent_state_lets_the_commit_through_and_says_why() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    // agent-cost's state directory is a file: the ledger cannot be opened.
    std::fs::remove_dir_all(&env.state).unwrap();
    std::fs::write(&env.state, "not a directory").unwrap();
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Still commits"]);
    assert!(
        out.stderr.contains("cannot access") && out.stderr.contains("the commit goes ahead"),
        "{}",
        out.stderr
    );
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
}

#[test]
fn disabled_hooks_do_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    env.git_env(
        &repo,
        &["commit", "-q", "-m", "Quiet"],
        &[("AGENT_COST_DISABLE", "1")],
    );
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        1
    );
}

#[test]
fn errors_of_read_commands_say_what_to_do() {
    let env = TestEnv::new();
    let outside = env.outside();
    let out = env.output(BIN, &outside, &["status"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not inside a git working tree") && stderr.contains("hint:"),
        "{stderr}"
    );
    let repo = env.repo("alpha");
    let out = env.output(BIN, &repo, &["trailers", "sum", "nosuchbranch..HEAD"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot resolve `nosuchbranch..HEAD`"),
        "{stderr}"
    );
}

#[test]
fn demo_runs_and_shows_trailers_and_the_sum() {
    let env = TestEnv::new();
    let out = env.agent_cost(&env.root, &["demo"]);
    assert!(
        out.stdout.contains("AI-Cost-Estimate: 0.058875 USD"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("total"), "{}", out.stdout);
    assert!(out.stdout.contains("0.103635"), "{}", out.stdout);
}

#[test]
fn an_unreadable_transcript_is_reported_and_the_rest_still_counts() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let good = env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let dead = good.with_file_name("gone.jsonl");
    std::os::unix::fs::symlink(env.root.join("no-such-file.jsonl"), &dead).unwrap();
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "One log is broken"]);
    assert!(
        out.stderr.contains("skipped unreadable log") && out.stderr.contains("gone.jsonl"),
        "{}",
        out.stderr
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(
        report["unreadable"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
}

#[test]
fn binary_garbage_in_a_transcript_is_skipped_and_counted() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let path = env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let mut garbage = vec![0xffu8, 0xfe, 0x00, b'"', b'u'];
    garbage.extend_from_slice(b"\"usage\" \x01\x02\n");
    garbage.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
    garbage.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, &garbage).unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 1000)]);
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["malformed_skipped"], 1, "{report:#}");
    assert_eq!(report["events_charged"], 2, "{report:#}");
}
