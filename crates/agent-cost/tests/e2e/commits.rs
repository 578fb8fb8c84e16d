//! Commits of every kind carry exactly the pending spend, once.

use std::path::Path;

use crate::harness::*;

fn estimate_micros(lines: &[String]) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.starts_with("AI-Cost-Estimate: "))
        .expect("an estimate");
    let amount = line
        .trim_start_matches("AI-Cost-Estimate: ")
        .split(' ')
        .next()
        .unwrap();
    let (whole, fraction) = amount.split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 1_000_000 + fraction.parse::<u64>().unwrap()
}

fn editor(env: &TestEnv, name: &str, script: &str) -> String {
    let path = env.root.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn pending_requests(env: &TestEnv, repo: &Path) -> u64 {
    env.agent_cost_json(repo, &["status"])["pending"]["requests"]
        .as_u64()
        .unwrap()
}

#[test]
fn commit_with_m_carries_the_spend_and_the_next_commit_none() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(
        &repo,
        "s1",
        &[sonnet("msg_1", 100, 1000), sonnet("msg_2", 50, 500)],
    );
    commit(&env, &repo, "a.txt", "Add a");

    let lines = ai_trailers(&env, &repo, "HEAD");
    // 150×3 + 1500×15 = 22,950 µ$
    assert_eq!(lines[0], "AI-Agent: claude-code sessions=1 cost=0.022950");
    assert_eq!(
        lines[1],
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.022950"
    );
    assert_eq!(lines[2], "AI-Tokens: req=2 in=150 out=1500 cw=0 cr=0");
    assert_eq!(lines[3], "AI-Cost-Estimate: 0.022950 USD");
    assert!(lines[4].starts_with("AI-Cost-Id: "), "{lines:?}");
    assert_eq!(lines.len(), 5);
    let via_format = env
        .git(
            &repo,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=AI-Cost-Estimate,valueonly)",
            ],
        )
        .stdout;
    assert_eq!(via_format.trim(), "0.022950 USD");
    assert_eq!(pending_requests(&env, &repo), 0);

    // Nothing pending: the next commit gets no trailers.
    commit(&env, &repo, "b.txt", "Add b");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());

    let total = sum(&env, &repo, "HEAD");
    assert_eq!(total["commits"], 3);
    assert_eq!(total["commits_with_cost"], 1);
    assert_eq!(micros(&total["cost_usd"]), 22_950);
    assert_eq!(total["tokens"]["input"], 150);
    assert_eq!(total["tokens"]["output"], 1500);
    assert_eq!(total["models"][0]["model"], "claude-sonnet-4-5");
    assert_eq!(total["models"][0]["agent"], "claude-code");
    assert_eq!(total["models"][0]["requests"], 2);
    let only_b = sum(&env, &repo, "HEAD~1..HEAD");
    assert_eq!(only_b["commits"], 1);
    assert_eq!(micros(&only_b["cost_usd"]), 0);
}

#[test]
fn commit_with_an_editor_gets_trailers_after_editing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let write_message = editor(
        &env,
        "editor.sh",
        "printf 'Edited subject\\n\\nBody text.\\n' > \"$1\"",
    );
    env.git_env(&repo, &["commit", "-q"], &[("GIT_EDITOR", &write_message)]);
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(
        message.starts_with("Edited subject\n\nBody text.\n\nAI-Agent: "),
        "{message}"
    );
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
    assert_eq!(pending_requests(&env, &repo), 0);
}

#[test]
fn aborted_commits_leave_everything_pending_for_the_next() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");

    // An empty -m aborts, as it would without agent-cost.
    let out = env.output("git", &repo, &["commit", "-q", "-m", ""], &[]);
    assert!(!out.status.success());
    // An editor closed on an empty message aborts too.
    let empty = editor(&env, "empty.sh", ": > \"$1\"");
    let out = env.output("git", &repo, &["commit", "-q"], &[("GIT_EDITOR", &empty)]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty commit message"));
    // A failing commit-msg hook of the user's would abort too; so does the editor failing.
    let out = env.output("git", &repo, &["commit", "-q"], &[("GIT_EDITOR", "false")]);
    assert!(!out.status.success());
    assert_eq!(
        env.git(&repo, &["rev-list", "--count", "HEAD"])
            .stdout
            .trim(),
        "1"
    );
    assert_eq!(pending_requests(&env, &repo), 1);

    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 1000)]);
    env.git(&repo, &["commit", "-q", "-m", "Finally"]);
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert_eq!(estimate_micros(&lines), 30_600, "{lines:?}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 30_600);
}

/// A subject that starts like one of our trailers is the user's text: the commit is made with
/// it, and carries the spend below it.
#[test]
fn a_subject_that_starts_with_an_ai_key_is_committed() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    env.git(
        &repo,
        &["commit", "-q", "-m", "AI-Agent: rename the agent module"],
    );
    let subject = env.git(&repo, &["log", "-1", "--format=%s"]).stdout;
    assert_eq!(subject.trim_end(), "AI-Agent: rename the agent module");
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(
        message.starts_with("AI-Agent: rename the agent module\n\nAI-Agent: claude-code "),
        "{message}"
    );
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
    assert_eq!(pending_requests(&env, &repo), 0);
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(total["commits_with_cost"], 1);
    assert_eq!(micros(&total["cost_usd"]), 15_300);

    // With nothing pending (only commit-msg has anything to decide), and with a body too.
    stage(&env, &repo, "b.txt");
    env.git(
        &repo,
        &[
            "commit",
            "-q",
            "-m",
            "AI-Model: support gpt-5",
            "-m",
            "AI-Cost-Id: shown in git log",
        ],
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert_eq!(
        message.trim_end(),
        "AI-Model: support gpt-5\n\nAI-Cost-Id: shown in git log"
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}

#[test]
fn an_amended_message_emptied_in_the_editor_still_aborts() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 1000)]);
    // The editor keeps only our trailer lines, as if the user deleted their text.
    let keep_ours = editor(
        &env,
        "ours.sh",
        "grep '^AI-' \"$1\" > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"",
    );
    let out = env.output(
        "git",
        &repo,
        &["commit", "--amend", "-q"],
        &[("GIT_EDITOR", &keep_ours)],
    );
    assert!(
        !out.status.success(),
        "the amend must abort: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    assert_eq!(pending_requests(&env, &repo), 1);
}

#[test]
fn amend_merges_old_and_new_spend_into_one_block() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    let old_id = ai_trailers(&env, &repo, "HEAD").pop().unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    std::fs::write(repo.join("a.txt"), "changed\n").unwrap();
    env.git(&repo, &["commit", "-q", "-a", "--amend", "--no-edit"]);

    let lines = ai_trailers(&env, &repo, "HEAD");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("AI-Cost-Id:"))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("AI-Cost-Estimate:"))
            .count(),
        1
    );
    // 15,300 + (200×3 + 2000×15 = 30,600) µ$
    assert_eq!(estimate_micros(&lines), 45_900);
    let old_id = old_id.trim_start_matches("AI-Cost-Id: ");
    assert!(
        lines.contains(&format!("AI-Cost-Replaces: {old_id}")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("req=2 in=300 out=3000")),
        "{lines:?}"
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 45_900);
    assert_eq!(pending_requests(&env, &repo), 0);

    // Amending again with nothing new leaves the message as it is.
    let before = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    env.git(&repo, &["commit", "-q", "--amend", "--no-edit"]);
    assert_eq!(env.git(&repo, &["log", "-1", "--format=%B"]).stdout, before);
}

#[test]
fn linked_worktrees_keep_separate_tallies() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let linked = env.linked_worktree(&repo, "alpha-feature");
    env.claude_lines(&linked, "s-linked", &[sonnet("msg_l", 100, 1000)]);
    env.claude_lines(&repo, "s-main", &[sonnet("msg_m", 200, 2000)]);

    commit(&env, &linked, "l.txt", "Work in the linked worktree");
    assert_eq!(estimate_micros(&ai_trailers(&env, &linked, "HEAD")), 15_300);
    assert_eq!(
        pending_requests(&env, &repo),
        1,
        "the main worktree keeps its own spend"
    );
    commit(&env, &repo, "m.txt", "Work in the main worktree");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 30_600);
    assert_eq!(
        micros(&sum(&env, &repo, "main..feature")["cost_usd"]),
        15_300
    );
}

#[test]
fn a_drained_event_read_again_is_not_charged_again() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    env.forget_cursors();
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["events_charged"], 0, "{report:#}");
    commit(&env, &repo, "b.txt", "Second");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
}

#[test]
fn a_longer_copy_arriving_after_the_drain_charges_only_the_growth() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1)]);
    commit(&env, &repo, "a.txt", "First");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "b.txt", "Second");
    let lines = ai_trailers(&env, &repo, "HEAD");
    // Only the 999 more output tokens: 14,985 µ$, and no new request.
    assert!(
        lines.iter().any(|l| l.contains("req=0 in=0 out=999")),
        "{lines:?}"
    );
    assert_eq!(estimate_micros(&lines), 14_985);
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 15_300);
    assert_eq!(total["models"][0]["requests"], 1);
}

#[test]
fn a_reused_aborted_message_does_not_write_its_stale_block_twice() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let reject = env.root.join("reject.sh");
    std::fs::write(&reject, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&reject, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&reject, repo.join(".git/hooks/commit-msg.pre-agent-cost")).unwrap();
    let out = env.output("git", &repo, &["commit", "-q", "-m", "Rejected once"], &[]);
    assert!(!out.status.success());
    std::fs::remove_file(repo.join(".git/hooks/commit-msg.pre-agent-cost")).unwrap();
    let saved = std::fs::read_to_string(repo.join(".git/COMMIT_EDITMSG")).unwrap();
    assert!(saved.contains("AI-Cost-Id:"), "{saved}");

    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 1000)]);
    env.git(&repo, &["commit", "-q", "-F", ".git/COMMIT_EDITMSG"]);
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("AI-Cost-Id:"))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(estimate_micros(&lines), 30_600);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 30_600);
}

#[test]
fn verbose_editor_commits_put_trailers_above_the_diff() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    std::fs::write(
        repo.join("a.txt"),
        "Signed-off-by: not a trailer, part of the diff\n",
    )
    .unwrap();
    env.git(&repo, &["add", "a.txt"]);
    // Writes a subject above git's template (comments and the -v diff stay below).
    let prepend = editor(
        &env,
        "prepend.sh",
        "{ printf 'Verbose subject\\n'; cat \"$1\"; } > \"$1.new\"; mv \"$1.new\" \"$1\"",
    );
    env.git_env(&repo, &["commit", "-q", "-v"], &[("GIT_EDITOR", &prepend)]);
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(
        message.starts_with("Verbose subject\n\nAI-Agent: "),
        "{message}"
    );
    assert!(!message.contains("diff --git"), "{message}");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
}

#[test]
fn each_commit_is_settled_by_the_next_hook_without_a_post_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    assert!(!repo.join(".git/hooks/post-commit").exists());
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    let proposed = std::fs::read_to_string(repo.join(".git/agent-cost-proposed")).unwrap();
    assert_eq!(proposed.lines().count(), 1, "{proposed}");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    commit(&env, &repo, "b.txt", "Second");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 30_600);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 45_900);
    // The second hook settled the first drain and forgot it; only the second is outstanding.
    let proposed = std::fs::read_to_string(repo.join(".git/agent-cost-proposed")).unwrap();
    assert_eq!(proposed.lines().count(), 1, "{proposed}");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["outstanding_drains"], 0, "{status:#}");
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
}

#[test]
fn committing_from_a_subdirectory_works_the_same() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let deep = repo.join("src/deep");
    std::fs::create_dir_all(&deep).unwrap();
    env.claude_lines(&deep, "s1", &[sonnet("msg_1", 100, 1000)]);
    std::fs::write(deep.join("x.txt"), "x\n").unwrap();
    env.git(&deep, &["add", "x.txt"]);
    env.git(&deep, &["commit", "-q", "-m", "From a subdirectory"]);
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    std::fs::write(deep.join("y.txt"), "y\n").unwrap();
    let outside = env.outside();
    let repo_arg = repo.display().to_string();
    env.git(&outside, &["-C", &repo_arg, "add", "src/deep/y.txt"]);
    env.git(
        &outside,
        &["-C", &repo_arg, "commit", "-q", "-m", "With git -C"],
    );
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 30_600);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 45_900);
    // The second hook settled the first drain and forgot it; only the second is outstanding.
    let proposed = std::fs::read_to_string(repo.join(".git/agent-cost-proposed")).unwrap();
    assert_eq!(proposed.lines().count(), 1, "{proposed}");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["outstanding_drains"], 0, "{status:#}");
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
}

#[test]
fn amend_with_a_new_message_keeps_the_old_spend() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    // Nothing new pending: `--amend -m` rewords the commit (git passes `message`, not `commit`).
    env.git(&repo, &["commit", "-q", "--amend", "-m", "First, reworded"]);
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(message.starts_with("First, reworded"), "{message}");
    assert_eq!(
        micros(&sum(&env, &repo, "HEAD")["cost_usd"]),
        15_300,
        "{message}"
    );
}

#[test]
fn amend_with_a_new_message_and_new_spend_carries_both() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "First");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    std::fs::write(repo.join("reworded.txt"), "First, reworded\n").unwrap();
    env.git(&repo, &["commit", "-q", "--amend", "-F", "reworded.txt"]);
    // 15,300 (the amended commit's) + 30,600 (new) µ$, in the one commit that is left.
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(message.contains("AI-Cost-Replaces:"), "{message}");
    assert_eq!(
        micros(&sum(&env, &repo, "HEAD")["cost_usd"]),
        45_900,
        "{message}"
    );
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        0
    );
}

#[test]
fn a_quiet_worktree_takes_the_short_way_and_any_change_ends_it() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let quiet = repo.join(".git/agent-cost-quiet");
    commit(&env, &repo, "a.txt", "Nothing to carry");
    assert!(quiet.exists(), "a run that found nothing leaves the hint");
    let hint = std::fs::read_to_string(&quiet).unwrap();
    commit(&env, &repo, "b.txt", "Still nothing");
    assert_eq!(std::fs::read_to_string(&quiet).unwrap(), hint);
    // Spend committed in another repository writes the shared ledger, not this worktree's
    // counter: the next commit here still takes the short way (the hint is not rewritten).
    let other = env.tracked_repo("beta");
    env.claude_lines(&other, "s9", &[sonnet("msg_9", 1, 1)]);
    commit(&env, &other, "x.txt", "Spend elsewhere");
    let written = std::fs::metadata(&quiet).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    commit(&env, &repo, "b2.txt", "Still nothing here");
    assert_eq!(
        std::fs::metadata(&quiet).unwrap().modified().unwrap(),
        written
    );

    // A new line in one of the worktree's transcripts.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "c.txt", "New spend");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
    assert!(
        !quiet.exists(),
        "a run that proposed a block drops the hint"
    );

    // Back to quiet (the next run settles the proposal, the one after finds nothing).
    commit(&env, &repo, "d.txt", "Settles");
    commit(&env, &repo, "e.txt", "Quiet again");
    assert!(quiet.exists());

    // Spend charged here by a full catch-up, from a session started in another directory:
    // the hook's own transcripts did not change, but the ledger did.
    let elsewhere = env.outside();
    let line = sonnet("msg_2", 10, 100).line(&repo, "s2");
    let started_elsewhere = env.transcript_path(&encode(&elsewhere), "s2.jsonl");
    std::fs::create_dir_all(started_elsewhere.parent().unwrap()).unwrap();
    append(&started_elsewhere, &format!("{line}\n"));
    env.agent_cost(&repo, &["ingest"]);
    commit(&env, &repo, "f.txt", "Spend from elsewhere");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 1_530);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 16_830);
}

#[test]
fn a_stale_quiet_hint_is_ignored() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    commit(&env, &repo, "a.txt", "Nothing to carry");
    let quiet = repo.join(".git/agent-cost-quiet");
    assert!(quiet.exists());
    std::fs::write(&quiet, "0123456789abcdef").unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "b.txt", "Spend");
    assert_eq!(estimate_micros(&ai_trailers(&env, &repo, "HEAD")), 15_300);
}
