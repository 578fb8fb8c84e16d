//! Backfill, end to end: spend from before tracking written as git notes on the commits it led
//! to, read back by `trailers sum`, `report` and `verify`, exactly once across reruns and
//! kills; and a pull request's blocks carried onto a squash commit whose message dropped them,
//! for each of GitHub's squash message settings.

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

fn request(id: &'static str, timestamp: &'static str) -> Request {
    Request {
        id,
        model: "claude-sonnet-4-5-20250929",
        // 1,000 input and 1,000 output tokens of Sonnet 4.5: 0.018000 USD.
        tokens: [1000, 1000, 0, 0, 0],
        timestamp,
    }
}

fn commit_at(env: &TestEnv, repo: &Path, subject: &str, date: &str) {
    env.git_env(
        repo,
        &["commit", "-q", "--allow-empty", "-m", subject],
        &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
    );
}

/// A repository with commits on 10 and 12 February and four requests logged in it before
/// tracking starts on the 14th: one before the first commit, two between the commits, one
/// after the last (with a streamed copy of the first, which counts once).
fn repo_with_history(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.repo("shop");
    commit_at(env, &repo, "Add cart", "2026-02-10T10:00:00+00:00");
    commit_at(env, &repo, "Add search", "2026-02-12T10:00:00+00:00");
    env.claude_lines(
        &repo,
        "old-session",
        &[
            request("msg_a", "2026-02-09T12:00:00Z"),
            request("msg_a", "2026-02-09T12:00:00Z"),
            request("msg_b", "2026-02-11T09:00:00Z"),
            request("msg_c", "2026-02-11T10:00:00Z"),
            request("msg_d", "2026-02-13T10:00:00Z"),
        ],
    );
    env.agent_cost(&repo, &["install-hooks", "--since", "2026-02-14"]);
    repo
}

/// `verify` finds every request accounted for, once (`context` names the case).
fn assert_verified(env: &TestEnv, repo: &Path, context: &str) {
    let verify = env.output(BIN, repo, &["verify", "--no-ingest"], &[]);
    assert!(
        verify.status.success(),
        "{context}: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn notes_of(env: &TestEnv, repo: &Path) -> String {
    env.git(repo, &["notes", "--ref=ai-cost", "list"]).stdout
}

#[test]
fn backfill_writes_each_commits_spend_from_before_tracking_as_a_note_once() {
    let env = TestEnv::new();
    let repo = repo_with_history(&env);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 0);

    let dry = env.agent_cost_json(&repo, &["backfill", "--dry-run"]);
    assert_eq!(dry["requests"], 3, "{dry:#}");
    assert_eq!(dry["cost_usd"], "0.054000", "{dry:#}");
    assert_eq!(dry["after_last_commit"], 1, "{dry:#}");
    let planned: Vec<(String, u64)> = dry["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["subject"].as_str().unwrap().to_string(),
                n["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        [("Add cart".to_string(), 1), ("Add search".to_string(), 2)]
    );
    assert_eq!(notes_of(&env, &repo), "", "a dry run writes nothing");

    let done = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(done["written"], 2, "{done:#}");
    let cart = env.git(&repo, &["rev-parse", "HEAD~1"]).stdout;
    let note = env
        .git(&repo, &["notes", "--ref=ai-cost", "show", cart.trim()])
        .stdout;
    assert!(
        note.contains("AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.018000"),
        "{note}"
    );
    assert!(note.contains(&format!(
        "AI-Cost-Id: {}",
        dry["notes"][0]["drain"].as_str().unwrap()
    )));
    // History is not rewritten: the commits keep their ids.
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD~1"]).stdout, cart);

    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 54_000, "{total:#}");
    assert_eq!(total["drains"], 2, "{total:#}");
    let report = env.agent_cost_json(&repo, &["report", "--no-lines"]);
    assert_eq!(report["total"]["cost_usd"], "0.054000", "{report:#}");
    assert_verified(&env, &repo, "");

    let rows = env.agent_cost_json(&repo, &["export", "--no-lines"]);
    let exported: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["unit"] == "USD")
        .map(|row| {
            let text = row["cost_usd"].as_str().unwrap().replace('.', "");
            text.parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(exported, 54_000, "export reads the notes: {rows:#}");

    // Again: nothing new, nothing counted twice.
    let again = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(again["notes"], serde_json::json!([]), "{again:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 54_000);
    assert_eq!(notes_of(&env, &repo).lines().count(), 2);
    // Amends and rebases carry the notes.
    assert_eq!(
        env.git(&repo, &["config", "notes.rewriteRef"])
            .stdout
            .trim(),
        "refs/notes/ai-cost"
    );
}

#[test]
fn backfill_since_leaves_older_requests_alone() {
    let env = TestEnv::new();
    let repo = repo_with_history(&env);
    let done = env.agent_cost_json(&repo, &["backfill", "--since", "2026-02-11"]);
    assert_eq!(done["requests"], 2, "{done:#}");
    assert_eq!(done["before_since"], 1, "{done:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 36_000);
    // The rest, later.
    let rest = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(rest["requests"], 1, "{rest:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 54_000);
}

#[test]
fn a_backfill_killed_before_or_after_writing_a_note_is_finished_once() {
    for point in [
        "backfill.proposed:1",
        "backfill.written:1",
        "backfill.proposed:2",
    ] {
        let env = TestEnv::new();
        let repo = repo_with_history(&env);
        let killed = env.output(BIN, &repo, &["backfill"], &[("AGENT_COST_FAULT", point)]);
        assert!(!killed.status.success(), "{point}: the run was killed");
        let finished = env.agent_cost_json(&repo, &["backfill"]);
        assert!(
            finished["recovered"].as_u64().unwrap() >= 1,
            "{point}: {finished:#}"
        );
        let total = sum(&env, &repo, "HEAD");
        assert_eq!(micros(&total["cost_usd"]), 54_000, "{point}: {total:#}");
        assert_eq!(notes_of(&env, &repo).lines().count(), 2, "{point}");
        let note = env
            .git(&repo, &["notes", "--ref=ai-cost", "show", "HEAD"])
            .stdout;
        assert_eq!(
            note.matches("AI-Cost-Id:").count(),
            1,
            "{point}: one block per note: {note}"
        );
        assert_verified(&env, &repo, point);
    }
}

#[test]
fn backfill_needs_the_hooks_and_says_so() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    let out = env.output(BIN, &repo, &["backfill"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not tracked yet") && stderr.contains("agent-cost install-hooks"),
        "{stderr}"
    );
}

/// `main` with a pull request branch `feature` of two commits with spend (0.40 + 0.70 USD),
/// squash-merged onto main with `message`; returns the repository and the range of the pull
/// request's commits.
fn squash_merged(env: &TestEnv, message: &str) -> (std::path::PathBuf, String) {
    let repo = env.repo("shop");
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    for (file, subject, id, micros) in [
        ("a.txt", "Add cart", 0xa1, 400_000),
        ("b.txt", "Fix cart", 0xa2, 700_000),
    ] {
        std::fs::write(repo.join(file), subject).unwrap();
        env.git(&repo, &["add", file]);
        env.git(
            &repo,
            &[
                "commit",
                "-q",
                "-m",
                &format!(
                    "{subject}\n\n{}",
                    trailer_block(id, &[BlockLine::sonnet(micros)])
                ),
            ],
        );
    }
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--squash", "feature"]);
    env.git(
        &repo,
        &["commit", "-q", "--allow-empty-message", "-m", message],
    );
    let range = format!(
        "{}..{}",
        env.git(&repo, &["merge-base", "main", "feature"])
            .stdout
            .trim(),
        env.git(&repo, &["rev-parse", "feature"]).stdout.trim()
    );
    (repo, range)
}

#[test]
fn a_squash_merge_that_dropped_the_trailers_gets_them_back_as_a_note() {
    // GitHub's squash message settings: "Pull request title and description" (no trailers),
    // "Pull request title" alone, and "Default message" listing each commit's message, which
    // keeps the trailers.
    let listed = format!(
        "Cart (#5)\n\n* Add cart\n\n{}\n* Fix cart\n\n{}",
        trailer_block(0xa1, &[BlockLine::sonnet(400_000)]),
        trailer_block(0xa2, &[BlockLine::sonnet(700_000)])
    );
    for (setting, message, carried) in [
        (
            "title and description",
            "Cart (#5)\n\nAdds a cart.".to_string(),
            2,
        ),
        ("title only", "Cart (#5)".to_string(), 2),
        ("blank", String::new(), 2),
        ("commit messages", listed, 0),
    ] {
        let env = TestEnv::new();
        let (repo, range) = squash_merged(&env, &message);
        let before = micros(&sum(&env, &repo, "main")["cost_usd"]);
        let out: Value = env.agent_cost_json(&repo, &["squash-note", &range, "--onto", "main"]);
        assert_eq!(
            out["blocks"].as_array().unwrap().len(),
            carried,
            "{setting}: {out:#}"
        );
        let after = sum(&env, &repo, "main");
        assert_eq!(
            micros(&after["cost_usd"]),
            1_100_000,
            "{setting}: {after:#}"
        );
        assert_eq!(after["drains"], 2, "{setting}");
        if carried == 0 {
            assert_eq!(before, 1_100_000, "{setting}: the message had them already");
        }
        // Twice is once.
        let again: Value = env.agent_cost_json(&repo, &["squash-note", &range, "--onto", "main"]);
        assert_eq!(again["blocks"], serde_json::json!([]), "{setting}");
        assert_eq!(
            micros(&sum(&env, &repo, "main")["cost_usd"]),
            1_100_000,
            "{setting}"
        );
        // Reports see it, and over the squash commit and the branch together each drain
        // counts once.
        let all = env.agent_cost_json(&repo, &["report", "main...feature", "--no-lines"]);
        assert_eq!(all["total"]["cost_usd"], "1.100000", "{setting}: {all:#}");
    }
}

#[test]
fn spend_a_hook_carried_is_never_backfilled_after_tracking_restarts() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    env.claude_lines(&repo, "s1", &[request("msg_a", "2026-06-01T12:00:00Z")]);
    env.git_env(
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "Work"],
        &[("GIT_COMMITTER_DATE", "2026-06-02T00:00:00+00:00")],
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 18_000);
    // Tracking restarts after the request: it now looks like spend from before tracking.
    env.agent_cost(&repo, &["install-hooks", "--since", "2026-07-01"]);
    let done = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(done["notes"], serde_json::json!([]), "{done:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 18_000);
}

#[test]
fn a_hook_never_carries_backfilled_spend_when_tracking_moves_back() {
    let env = TestEnv::new();
    let repo = repo_with_history(&env);
    // A later log holds an older request: its charge gets a higher id than the tracked one.
    env.claude_lines(&repo, "new", &[request("msg_new", "2026-02-20T12:00:00Z")]);
    env.agent_cost(&repo, &["ingest"]);
    env.claude_lines(&repo, "old", &[request("msg_old", "2026-02-11T11:00:00Z")]);
    env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 72_000);
    env.agent_cost(&repo, &["install-hooks", "--since", "2026-01-01"]);
    commit(&env, &repo, "c.txt", "Later work");
    let total = sum(&env, &repo, "HEAD");
    // The new request (and the one after the last commit, now tracked) reach the commit;
    // nothing backfilled comes twice.
    assert_eq!(
        micros(&total["cost_usd"]),
        72_000 + 18_000 + 18_000,
        "{total:#}"
    );
    assert_verified(&env, &repo, "");
}

#[test]
fn a_killed_backfill_survives_commits_made_before_it_is_run_again() {
    let env = TestEnv::new();
    let repo = repo_with_history(&env);
    let killed = env.output(
        BIN,
        &repo,
        &["backfill"],
        &[("AGENT_COST_FAULT", "backfill.proposed:1")],
    );
    assert!(!killed.status.success());
    env.claude_lines(
        &repo,
        "later",
        &[request("msg_later", "2026-03-01T12:00:00Z")],
    );
    commit(&env, &repo, "c.txt", "Tracked work");
    let finished = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(finished["recovered"], 1, "{finished:#}");
    // The killed run's first note (0.018), the rest planned again (0.036), the tracked
    // request the commit carried (0.018), and the request from before tracking that now has a
    // commit after it (0.018).
    assert_eq!(
        micros(&sum(&env, &repo, "HEAD")["cost_usd"]),
        54_000 + 18_000 + 18_000
    );
    assert_verified(&env, &repo, "");
}

#[test]
fn backfill_writes_again_the_notes_a_forced_fetch_replaced() {
    let env = TestEnv::new();
    let repo = repo_with_history(&env);
    env.agent_cost_json(&repo, &["backfill"]);
    env.git(&repo, &["update-ref", "-d", "refs/notes/ai-cost"]);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 0);
    let restored = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(restored["restored"], 2, "{restored:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 54_000);
    let again = env.agent_cost_json(&repo, &["backfill"]);
    assert_eq!(again["restored"], 0, "{again:#}");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 54_000);
}

#[test]
fn a_pull_request_that_merged_main_in_does_not_carry_mains_spend() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    let base = env
        .git(&repo, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_string();
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    let pr_block = trailer_block(0xf1, &[BlockLine::sonnet(2_000_000)]);
    env.git(
        &repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("F1\n\n{pr_block}"),
        ],
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    let main_block = trailer_block(0xe1, &[BlockLine::sonnet(1_000_000)]);
    env.git(
        &repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("M1 (#5)\n\n{main_block}"),
        ],
    );
    env.git(&repo, &["checkout", "-q", "feature"]);
    env.git(&repo, &["merge", "-q", "--no-edit", "main"]);
    let head = env
        .git(&repo, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_string();
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--squash", "feature"]);
    env.git(
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "Feature (#6)"],
    );
    let out = env.agent_cost_json(
        &repo,
        &["squash-note", &format!("{base}..{head}"), "--onto", "HEAD"],
    );
    assert_eq!(
        out["blocks"],
        serde_json::json!(["00000000000000f1"]),
        "{out:#}"
    );
    assert_eq!(
        micros(&sum(&env, &repo, "HEAD^..HEAD")["cost_usd"]),
        2_000_000
    );
    assert_eq!(micros(&sum(&env, &repo, "main")["cost_usd"]), 3_000_000);
}
