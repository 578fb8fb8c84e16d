//! The second ledger under the ways a hostile user (or an unlucky one) breaks it: commits not
//! yet settled (no `post-commit` runs), removed worktrees, split git dirs, replays in any
//! order, impossible counts, a newer database, and the privacy of the state files.

use std::path::Path;

use crate::harness::*;

#[test]
fn spend_of_a_commit_not_yet_settled_is_not_carried_again_on_another_branch() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "On feature");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    // The next commit is made on another branch: the feature commit is not an ancestor.
    env.git(&repo, &["checkout", "-q", "main"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 100)]);
    commit(&env, &repo, "b.txt", "On main");
    let main_sum = sum(&env, &repo, "main");
    assert_eq!(micros(&main_sum["cost_usd"]), 1_530, "{main_sum:#}");
    let all = sum(&env, &repo, "feature");
    assert_eq!(micros(&all["cost_usd"]), 15_300);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
    assert_eq!(status["outstanding_drains"], 0, "{status:#}");
}

#[test]
fn status_does_not_count_spend_already_committed_but_not_yet_settled() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Committed");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
    assert_eq!(micros(&status["pending"]["cost_usd"]), 0);
}

#[test]
fn a_removed_worktree_leaves_its_pending_spend_visible_as_orphaned() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let linked = env.linked_worktree(&repo, "alpha-feature");
    env.claude_lines(&linked, "s1", &[sonnet("msg_1", 100, 1000)]);
    let in_linked = env.agent_cost_json(&linked, &["status"]);
    assert_eq!(in_linked["pending"]["requests"], 1, "{in_linked:#}");
    env.git(
        &repo,
        &["worktree", "remove", "--force", linked.to_str().unwrap()],
    );
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
    let orphaned = status["orphaned"].as_array().unwrap();
    assert_eq!(orphaned.len(), 1, "{status:#}");
    assert_eq!(orphaned[0]["worktree"], linked.to_str().unwrap());
    assert_eq!(micros(&orphaned[0]["spend"]["cost_usd"]), 15_300);
    let text = env.agent_cost(&repo, &["status"]).stdout;
    assert!(text.contains("orphaned (worktree"), "{text}");
}

#[test]
fn a_working_tree_with_a_separate_git_dir_is_charged() {
    let env = TestEnv::new();
    let work = env.root.join("work");
    let git_dir = env.root.join("store.git");
    std::fs::create_dir_all(&work).unwrap();
    let (work, split) = (
        work.canonicalize().unwrap(),
        [
            ("GIT_DIR", git_dir.to_str().unwrap()),
            ("GIT_WORK_TREE", work.to_str().unwrap()),
        ],
    );
    let split = &split[..];
    env.git_env(&work, &["init", "-q"], split);
    std::fs::write(work.join("README.md"), "# split\n").unwrap();
    env.git_env(&work, &["add", "README.md"], split);
    env.git_env(&work, &["commit", "-q", "-m", "Initial"], split);
    let out = env.output(
        BIN,
        &work,
        &["install-hooks", "--since", "2020-01-01"],
        split,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.claude_lines(&work, "s1", &[sonnet("msg_1", 100, 1000)]);
    std::fs::write(work.join("a.txt"), "a\n").unwrap();
    env.git_env(&work, &["add", "a.txt"], split);
    let out = env.git_env(&work, &["commit", "-q", "-m", "Split"], split);
    let message = env
        .git_env(&work, &["log", "-1", "--format=%B"], split)
        .stdout;
    assert!(
        message.contains("AI-Cost-Estimate: 0.015300 USD"),
        "{message}\nstderr: {}",
        out.stderr
    );
}

/// A sidechain line replaying `msg_r` under another request id, with different counts.
fn sidechain_replay(cwd: &Path, session: &str, output: u64) -> String {
    serde_json::json!({
        "type": "assistant", "isSidechain": true, "cwd": cwd, "sessionId": session,
        "gitBranch": "main", "requestId": "req_replayed", "uuid": format!("side-{output}"),
        "timestamp": "2026-06-01T12:00:00Z",
        "message": {"id": "msg_r", "model": "claude-sonnet-4-5-20250929",
            "usage": {"input_tokens": 100, "output_tokens": output}}
    })
    .to_string()
}

fn main_line(cwd: &Path, session: &str) -> String {
    sonnet("msg_r", 100, 1000).line(cwd, session)
}

#[test]
fn a_sidechain_replay_adds_nothing_whichever_copy_is_read_first() {
    for sidechain_first in [false, true] {
        let env = TestEnv::new();
        let repo = env.tracked_repo("alpha");
        let main_file = env.transcript_path(&encode(&repo), "s1.jsonl");
        let side_file = env.transcript_path(&encode(&repo), "s1/subagents/agent-1.jsonl");
        std::fs::create_dir_all(side_file.parent().unwrap()).unwrap();
        let (first, first_line, second, second_line) = if sidechain_first {
            (
                &side_file,
                sidechain_replay(&repo, "s1", 3000),
                &main_file,
                main_line(&repo, "s1"),
            )
        } else {
            (
                &main_file,
                main_line(&repo, "s1"),
                &side_file,
                sidechain_replay(&repo, "s1", 3000),
            )
        };
        append(first, &format!("{first_line}\n"));
        env.agent_cost(&repo, &["ingest"]);
        append(second, &format!("{second_line}\n"));
        env.agent_cost(&repo, &["ingest"]);
        // Whatever the order, the main-chain copy is what the request cost.
        let status = env.agent_cost_json(&repo, &["status"]);
        assert_eq!(status["pending"]["requests"], 1, "{status:#}");
        assert_eq!(
            micros(&status["pending"]["cost_usd"]),
            15_300,
            "sidechain first: {sidechain_first}: {status:#}"
        );
        commit(&env, &repo, "a.txt", "Replayed");
        assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    }
}

#[test]
fn agent_progress_copies_are_the_subagent_files_requests() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let subagent_line = |output: u64| {
        serde_json::json!({
            "type": "assistant", "isSidechain": true, "cwd": &repo, "sessionId": "s1",
            "requestId": "req_sub", "uuid": format!("sub-{output}"),
            "timestamp": "2026-06-01T12:00:00Z",
            "message": {"id": "msg_sub", "model": "claude-haiku-4-5-20251001",
                "usage": {"input_tokens": 1000, "output_tokens": output}}
        })
    };
    let progress = |output: u64| {
        serde_json::json!({
            "type": "progress", "isSidechain": false, "cwd": &repo, "sessionId": "s1",
            "timestamp": "2026-06-01T12:00:01Z", "uuid": format!("p-{output}"),
            "data": {"type": "agent_progress", "agentId": "a1", "message": subagent_line(output)}
        })
        .to_string()
    };
    // The main transcript embeds the subagent's streamed copies (output 1, then 200)...
    let main_file = env.transcript_path(&encode(&repo), "s1.jsonl");
    std::fs::create_dir_all(main_file.parent().unwrap()).unwrap();
    append(&main_file, &format!("{}\n{}\n", progress(1), progress(200)));
    // ...and the subagent's own file has the final copy.
    let side_file = env.transcript_path(&encode(&repo), "s1/subagents/agent-a1.jsonl");
    std::fs::create_dir_all(side_file.parent().unwrap()).unwrap();
    append(&side_file, &format!("{}\n", subagent_line(200)));
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["events_charged"], 1, "{report:#}");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 1, "{status:#}");
    // Haiku 4.5: 1,000 in at 1 $/M + 200 out at 5 $/M.
    assert_eq!(micros(&status["pending"]["cost_usd"]), 2_000, "{status:#}");
}

#[test]
fn counts_no_request_can_have_are_skipped_and_reported_not_summed() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(
        &repo,
        "s1",
        &[
            sonnet("msg_1", 100, 1000),
            sonnet("msg_huge", 1, u64::MAX / 2),
            sonnet("msg_2", 100, 1000),
        ],
    );
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["implausible_skipped"], 1, "{report:#}");
    assert_eq!(report["events_charged"], 2, "{report:#}");
    let text = env.agent_cost(&repo, &["ingest"]);
    assert!(!text.stdout.contains("panicked"));
    commit(&env, &repo, "a.txt", "Sane");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 30_600);
}

#[test]
fn state_files_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let fresh_home = env.root.join("fresh-state");
    let out = env.output(
        BIN,
        &repo,
        &["ingest"],
        &[("AGENT_COST_HOME", fresh_home.to_str().unwrap())],
    );
    assert!(out.status.success());
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fresh_home), 0o700);
    for entry in std::fs::read_dir(&fresh_home).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn a_ledger_from_a_newer_agent_cost_is_left_alone_and_the_commit_goes_ahead() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    env.agent_cost(&repo, &["ingest"]);
    env.ledger()
        .execute(
            "UPDATE meta SET value = '999' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Newer ledger"]);
    assert!(
        out.stderr.contains("newer than this agent-cost"),
        "{}",
        out.stderr
    );
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
    let status = env.output(BIN, &repo, &["status"], &[]);
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("schema version 999"));
    let version: String = env
        .ledger()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, "999");
}

#[test]
fn the_ledger_can_be_read_with_plain_sql() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(
        &repo,
        "s1",
        &[sonnet("msg_1", 100, 1000), sonnet("msg_2", 1, 1)],
    );
    commit(&env, &repo, "a.txt", "One");
    env.claude_lines(&repo, "s1", &[sonnet("msg_3", 7, 7)]);
    env.agent_cost(&repo, &["ingest"]);
    let ledger = env.ledger();
    let head = env
        .git(&repo, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_string();
    let mut statement = ledger
        .prepare("SELECT model, input, output, commit_id FROM usage_charges ORDER BY id")
        .unwrap();
    let rows: Vec<(String, i64, i64, Option<String>)> = statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let model = "claude-sonnet-4-5-20250929".to_string();
    assert_eq!(
        rows,
        [
            (model.clone(), 100, 1000, Some(head.clone())),
            (model.clone(), 1, 1, Some(head)),
            (model, 7, 7, None),
        ]
    );
    let (cwd, ts): (String, String) = ledger
        .query_row(
            "SELECT cwd, ts FROM usage_events WHERE key = 'msg_3'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(cwd, repo.to_str().unwrap());
    assert_eq!(ts, "2026-06-01T12:00:00.000Z");
}

#[test]
fn the_ledger_opens_in_the_sqlite3_shell_and_in_duckdb() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "One");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 100)]);
    env.agent_cost(&repo, &["ingest"]);
    let db = env.state.join("ledger.db");

    let shell = std::process::Command::new("sqlite3")
        .arg("-readonly")
        .arg(&db)
        .arg(
            "SELECT model, SUM(output), COUNT(commit_id) FROM usage_charges GROUP BY model; \
             SELECT value FROM meta WHERE key = 'schema_version';",
        )
        .output()
        .expect("the sqlite3 shell: run scripts/install-test-tools.sh");
    assert!(
        shell.status.success(),
        "{}",
        String::from_utf8_lossy(&shell.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        "claude-sonnet-4-5-20250929|1100|1\n3\n"
    );

    let script = r#"
import glob, os, sys, duckdb, duckdb_ext
ext = glob.glob(os.path.join(list(duckdb_ext.__path__)[0], "extensions", "v" + duckdb.__version__,
                             "*", "sqlite_scanner.duckdb_extension"))[0]
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
con.execute(f"ATTACH '{sys.argv[1]}' AS ledger (TYPE sqlite, READ_ONLY)")
rows = con.execute(
    "SELECT m.name, SUM(c.input), SUM(c.output), COUNT(*) FROM ledger.charges c "
    "JOIN ledger.events e ON e.id = c.event JOIN ledger.models m ON m.id = e.model "
    "GROUP BY 1").fetchall()
print(rows)
"#;
    let duck = std::process::Command::new(venv_program("python"))
        .arg("-c")
        .arg(script)
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        duck.status.success(),
        "{}",
        String::from_utf8_lossy(&duck.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&duck.stdout).trim(),
        "[('claude-sonnet-4-5-20250929', 110, 1100, 2)]"
    );
}

/// A copy of `msg_r` in a subagent's file: a sidechain replay under another request id.
fn sidechain_copy(cwd: &Path, output: u64) -> String {
    serde_json::json!({
        "type": "assistant", "isSidechain": true, "cwd": cwd, "sessionId": "s1",
        "gitBranch": "main", "requestId": "req_replayed", "uuid": format!("side-{output}"),
        "timestamp": "2026-06-01T12:00:00Z",
        "message": {"id": "msg_r", "model": "claude-sonnet-4-5-20250929",
            "usage": {"input_tokens": 100, "output_tokens": output}}
    })
    .to_string()
}

#[test]
fn an_ingest_between_prepare_commit_msg_and_post_commit_loses_nothing() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    // The user's own commit-msg hook runs while the commit is being made; here it stands in
    // for `agent-cost ingest` (or a watcher) running at that moment.
    let main_file = env.transcript_path(&encode(&repo), "s1.jsonl");
    let side_file = env.transcript_path(&encode(&repo), "s1/subagents/agent-1.jsonl");
    std::fs::create_dir_all(side_file.parent().unwrap()).unwrap();
    let later = env.root.join("later.jsonl");
    std::fs::write(
        &later,
        format!(
            "{}\n{}\n",
            sonnet("msg_r", 100, 1000).line(&repo, "s1"),
            sonnet("msg_new", 10, 100).line(&repo, "s1")
        ),
    )
    .unwrap();
    let hook = repo.join(".git/hooks/commit-msg");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat '{}' >> '{}'\n'{}' ingest >/dev/null\n",
            later.display(),
            main_file.display(),
            BIN
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);

    // A subagent's replay of msg_r, streamed: two copies, read as they are written.
    for output in [500, 1500] {
        append(&side_file, &format!("{}\n", sidechain_copy(&repo, output)));
        env.agent_cost(&repo, &["ingest"]);
    }
    commit(&env, &repo, "a.txt", "Work");
    // The commit carries msg_r as read when its block was written; msg_new was logged after,
    // so it is in no commit and must still be pending, and msg_r must not be pending again.
    let committed = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(committed.contains("req=1 in=100 out=1500"), "{committed}");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 1, "{committed}\n{status:#}");
    assert_eq!(
        micros(&status["pending"]["cost_usd"]),
        1_530,
        "{committed}\n{status:#}"
    );
}

#[test]
fn a_full_catch_up_forgets_the_cursors_of_transcripts_that_are_gone() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let kept = env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let deleted = env.claude_lines(&repo, "s2", &[sonnet("msg_2", 10, 100)]);
    env.agent_cost(&repo, &["ingest"]);
    let cursors = |env: &TestEnv| -> i64 {
        env.ledger()
            .query_row("SELECT COUNT(*) FROM cursors", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(cursors(&env), 2);
    std::fs::remove_file(&deleted).unwrap();
    env.agent_cost(&repo, &["ingest"]);
    assert_eq!(cursors(&env), 1);
    assert!(kept.exists());
    // What was read from it stays pending.
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        2
    );
}
