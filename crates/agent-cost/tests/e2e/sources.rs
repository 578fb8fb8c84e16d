//! `agent-cost sources`: where each agent's logs are looked for, what was found and skipped,
//! and what the ledger holds per agent.

use serde_json::Value;

use crate::harness::*;

fn source<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {report:#}"))
}

fn recorded<'a>(report: &'a Value, agent: &str) -> &'a Value {
    report["recorded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["agent"] == agent)
        .unwrap_or_else(|| panic!("no agent {agent} in {report:#}"))
}

#[test]
fn sources_tells_where_it_looked_what_it_read_skipped_and_recorded() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let outside = env.outside();

    // Two requests, a client-side error line and a broken line in the repository; one request
    // outside any repository.
    let mut synthetic = sonnet("msg_syn", 0, 0);
    synthetic.model = "<synthetic>";
    let transcript = env.claude_lines(
        &repo,
        "s1",
        &[
            sonnet("msg_1", 100, 1000),
            synthetic,
            sonnet("msg_2", 10, 100),
        ],
    );
    append(
        &transcript,
        "{\"type\":\"assistant\",\"message\":{\"usage\":{\"input_tokens\": 12\n",
    );
    env.claude_lines(&outside, "s2", &[sonnet("msg_3", 1, 1)]);
    env.install_codex_fixture(
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "sessions/2026/06/01/rollout-2026-06-01T13-00-00-codex-c.jsonl",
        &[("@REPO_A@", repo.as_path()), ("@REPO_B@", repo.as_path())],
    );
    env.agent_cost(
        &repo,
        &["log", "1.26", "--unit", "credits", "--agent", "kiro"],
    );

    let report = env.agent_cost_json(&repo, &["sources"]);
    let claude = source(&report, "claude-code");
    assert_eq!(claude["agent"], "claude-code");
    assert_eq!(
        claude["roots"][0]["path"],
        env.claude.join("projects").display().to_string()
    );
    assert_eq!(claude["roots"][0]["exists"], true);
    assert_eq!(claude["files_found"], 2);
    assert_eq!(claude["files_read"], 2);
    assert_eq!(claude["read"]["lines"], 5, "{claude:#}");
    assert_eq!(claude["read"]["skipped_malformed"], 1, "{claude:#}");
    assert_eq!(claude["read"]["skipped_synthetic"], 1, "{claude:#}");
    assert_eq!(claude["read"]["usage_records"], 3, "{claude:#}");
    assert!(claude["last_read"].as_str().unwrap().ends_with('Z'));
    assert!(report["ingest"]["files_found"].as_u64().unwrap() >= 3);

    let codex = source(&report, "codex");
    assert_eq!(codex["files_found"], 1);
    assert_eq!(codex["read"]["usage_records"], 1, "{codex:#}");
    let archived = &codex["roots"][1];
    assert!(
        archived["path"]
            .as_str()
            .unwrap()
            .ends_with("archived_sessions")
    );
    assert_eq!(archived["exists"], false);

    let claude_recorded = recorded(&report, "claude-code");
    assert_eq!(claude_recorded["requests"], 3);
    assert_eq!(claude_recorded["in_tracked_repositories"], 2);
    assert_eq!(claude_recorded["unattributed"], 1);
    assert_eq!(claude_recorded["first"], "2026-06-01T12:00:00Z");
    assert_eq!(recorded(&report, "codex")["in_tracked_repositories"], 1);
    assert_eq!(recorded(&report, "kiro")["requests"], 1);

    let text = env.agent_cost(&repo, &["sources"]).stdout;
    assert!(text.contains("claude-code\n  looks in    "), "{text}");
    assert!(text.contains("archived_sessions  (not there)"), "{text}");
    assert!(
        text.contains("found       2 files, 2 of them read"),
        "{text}"
    );
    assert!(
        text.contains("1 malformed, 1 client errors (<synthetic>)"),
        "{text}"
    );
    assert!(
        text.contains("kiro: 1 requests, 1 in tracked repositories, 0 unattributed"),
        "{text}"
    );
    assert!(text.contains("(entered with `log` or imported)"), "{text}");
    let codex_line = text.lines().find(|l| l.starts_with("  codex: ")).unwrap();
    assert!(
        codex_line.starts_with("  codex: 1 requests, 1 in tracked repositories")
            && !codex_line.contains("entered"),
        "{text}"
    );

    // New lines are counted only after a catch-up.
    env.claude_lines(&repo, "s1", &[sonnet("msg_4", 5, 5)]);
    let stale = env.agent_cost_json(&repo, &["sources", "--no-ingest"]);
    assert_eq!(stale["ingest"], Value::Null);
    assert_eq!(source(&stale, "claude-code")["read"]["lines"], 5);
    let fresh = env.agent_cost_json(&repo, &["sources"]);
    assert_eq!(source(&fresh, "claude-code")["read"]["lines"], 6);
    assert_eq!(recorded(&fresh, "claude-code")["requests"], 4);

    // A transcript rewritten from its start: its counts start again.
    std::fs::write(
        &transcript,
        format!("{}\n", sonnet("msg_1", 100, 1000).line(&repo, "s1")),
    )
    .unwrap();
    let rewritten = env.agent_cost_json(&repo, &["sources", "--files"]);
    let claude = source(&rewritten, "claude-code");
    assert_eq!(claude["read"]["lines"], 2, "{claude:#}");
    assert_eq!(claude["read"]["skipped_malformed"], 0, "{claude:#}");
    assert_eq!(claude["read"]["restarts"], 1, "{claude:#}");
    let files = claude["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let row = files
        .iter()
        .find(|f| f["path"] == transcript.display().to_string())
        .unwrap();
    assert_eq!(row["lines"], 1);
    assert_eq!(row["restarts"], 1);

    // A deleted transcript is forgotten by the next full catch-up; the requests stay recorded.
    std::fs::remove_file(&transcript).unwrap();
    let after = env.agent_cost_json(&repo, &["sources"]);
    assert_eq!(source(&after, "claude-code")["files_found"], 1);
    assert_eq!(source(&after, "claude-code")["read"]["lines"], 1);
    assert_eq!(recorded(&after, "claude-code")["requests"], 4);
}

#[test]
fn sources_on_an_empty_machine_says_where_it_would_look() {
    let env = TestEnv::new();
    let dir = env.outside();
    let text = env.agent_cost(&dir, &["sources"]).stdout;
    assert!(
        text.contains("found       0 files, 0 of them read"),
        "{text}"
    );
    assert!(text.contains("The ledger holds no requests yet."), "{text}");
    let report = env.agent_cost_json(&dir, &["sources"]);
    assert_eq!(report["recorded"], serde_json::json!([]));
    assert_eq!(source(&report, "codex")["roots"][0]["exists"], false);
}
