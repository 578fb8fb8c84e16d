//! `doctor` and the hooks line of `status`: what git will actually run, checked after the
//! ways hooks get switched off (core.hooksPath moved, a hook replaced, hooks removed).

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

fn doctor(env: &TestEnv, repo: &Path) -> (Option<i32>, Value) {
    let out = env.output(BIN, repo, &["doctor", "--json"], &[]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), json)
}

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no finding {check}: {report:#}"))
}

#[test]
fn a_tracked_repository_is_healthy() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "One");
    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["spend_reaches_commits"], true);
    for hook in ["prepare-commit-msg", "commit-msg"] {
        let found = finding(&report, hook);
        assert_eq!(found["level"], "ok", "{found:#}");
        assert!(found["found"].as_str().unwrap().contains(BIN), "{found:#}");
    }
    assert_eq!(finding(&report, "tracking")["level"], "ok");
    assert!(
        finding(&report, "claude-code logs")["found"]
            .as_str()
            .unwrap()
            .starts_with("1 transcripts, 1 of sessions started in this worktree")
    );
    let text = env.agent_cost(&repo, &["doctor"]).stdout;
    assert!(
        text.ends_with("AI spend of this worktree reaches its commits.\n"),
        "{text}"
    );
    let status = env.agent_cost(&repo, &["status"]).stdout;
    assert!(
        status.contains("hooks run (prepare-commit-msg, commit-msg)"),
        "{status}"
    );
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["hooks"]["running"],
        true
    );
}

/// A hook manager (or anyone) points core.hooksPath elsewhere after install: git no longer runs
/// our hooks. doctor says so and how to fix it; status says so in its hooks line; the commits
/// made meanwhile are reported once; install-hooks repairs it.
#[test]
fn a_moved_hooks_path_is_found_and_commits_without_hooks_are_reported_once() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    commit(&env, &repo, "a.txt", "With hooks");
    env.git(&repo, &["config", "core.hooksPath", ".githooks"]);
    // git's reflog time has one-second resolution.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "b.txt", "Without hooks");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());

    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["spend_reaches_commits"], false);
    let hook = finding(&report, "prepare-commit-msg");
    assert_eq!(hook["level"], "problem");
    assert_eq!(hook["found"], "not installed");
    assert!(
        hook["fix"]
            .as_str()
            .unwrap()
            .contains("agent-cost install-hooks")
    );
    assert_eq!(finding(&report, "bypassed hook")["level"], "warning");
    let without = finding(&report, "commits without the hooks");
    assert!(
        without["found"]
            .as_str()
            .unwrap()
            .starts_with("1 commit(s)"),
        "{without:#}"
    );
    let text = env.output(BIN, &repo, &["doctor"], &[]);
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains("will not reach its commits (3 problems)"),
        "{stderr}"
    );

    let first = env.agent_cost(&repo, &["status"]);
    assert!(
        first.stdout.contains("hooks NOT running"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stderr
            .contains("1 commit(s) in this worktree were made without agent-cost's hooks"),
        "{}",
        first.stderr
    );
    let second = env.agent_cost(&repo, &["status"]);
    assert_eq!(second.stderr, "", "said once");
    assert_eq!(env.agent_cost(&repo, &["ingest"]).stderr, "", "said once");
    // Another commit without the hooks: ingest tells, once.
    commit(&env, &repo, "b2.txt", "Still without hooks");
    let told = env.agent_cost(&repo, &["ingest"]).stderr;
    assert!(
        told.contains("2 commit(s) in this worktree were made without"),
        "{told}"
    );

    env.agent_cost(&repo, &["install-hooks"]);
    assert!(repo.join(".githooks/prepare-commit-msg").is_symlink());
    commit(&env, &repo, "c.txt", "Hooks again");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(0), "{report:#}");
}

/// Gerrit's documented install copies its commit-msg over ours.
#[test]
fn a_replaced_commit_msg_hook_is_a_problem_until_reinstalled() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let gerrit = "#!/bin/sh\n# From Gerrit Code Review\n\
                  git interpret-trailers --in-place --trailer \"Change-Id: I$(date +%s%N | sha1sum | cut -c1-40)\" \"$1\"\n";
    let hook = repo.join(".git/hooks/commit-msg");
    std::fs::remove_file(&hook).unwrap();
    executable(&hook, gerrit);
    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(1));
    let found = finding(&report, "commit-msg");
    assert_eq!(
        found["found"],
        "another hook, which does not run agent-cost"
    );
    assert_eq!(finding(&report, "prepare-commit-msg")["level"], "ok");

    env.agent_cost(&repo, &["install-hooks"]);
    assert_eq!(doctor(&env, &repo).0, Some(0));
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Reviewed");
    let lines = trailers(&env, &repo, "HEAD");
    assert!(
        lines.iter().any(|l| l.starts_with("Change-Id: I")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("AI-Cost-Id: ")),
        "{lines:?}"
    );
}

/// A hook script of the user's that calls `agent-cost hook` counts as running it; a link to a
/// binary that is gone does not.
#[test]
fn scripts_calling_the_entry_point_count_and_dangling_links_do_not() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let hooks = repo.join(".git/hooks");
    std::fs::remove_file(hooks.join("prepare-commit-msg")).unwrap();
    executable(
        &hooks.join("prepare-commit-msg"),
        &format!("#!/bin/sh\n# team checks here\n'{BIN}' hook prepare-commit-msg \"$@\"\n"),
    );
    std::fs::remove_file(hooks.join("commit-msg")).unwrap();
    std::os::unix::fs::symlink(env.root.join("gone/agent-cost"), hooks.join("commit-msg")).unwrap();
    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(finding(&report, "prepare-commit-msg")["level"], "ok");
    let commit_msg = finding(&report, "commit-msg");
    assert_eq!(commit_msg["level"], "problem");
    assert!(
        commit_msg["found"]
            .as_str()
            .unwrap()
            .contains("which is gone"),
        "{commit_msg:#}"
    );
    // The script's call works: the commit carries the spend.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Through the script");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}

/// An editor commit runs the hooks too (prepare-commit-msg leaves the message to commit-msg):
/// it is not reported as made without them, however long the editor stayed open.
#[test]
fn editor_commits_count_as_made_with_the_hooks() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let editor = env.root.join("slow-editor.sh");
    executable(&editor, "#!/bin/sh\nsleep 3\nprintf 'Edited\\n' > \"$1\"\n");
    env.git_env(
        &repo,
        &["commit", "-q"],
        &[("GIT_EDITOR", editor.to_str().unwrap())],
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    let (code, report) = doctor(&env, &repo);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["check"] != "commits without the hooks"),
        "{report:#}"
    );
}
