//! Budgets, end to end: `check` exit codes for every scope and unit, crossed and not; the
//! hook's warning line; `status` budgets and the author's spike day; `pr-comment` against an
//! exact snapshot; `digest`; settings errors with file and line.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::harness::*;

/// A repository with two commits on 2026-03-10 by author@example.com:
/// - 0.40 USD, 3 credits, 2 premium requests;
/// - 0.70 USD, 1.5 credits, 0.33 premium requests.
///
/// Largest commit: 0.70 USD, 3 credits, 2 premium requests; total: 1.10 USD, 4.5 credits,
/// 2.33 premium requests.
fn two_commit_repo(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.repo("shop");
    let first = trailer_block(
        1,
        &[
            BlockLine::usd("kiro", "auto", 400_000).quantity(3_000_000, "credits"),
            BlockLine::usd("copilot", "gpt-5", 0).quantity(2_000_000, "premium-requests"),
        ],
    );
    let second = trailer_block(
        2,
        &[
            BlockLine::usd("kiro", "auto", 700_000).quantity(1_500_000, "credits"),
            BlockLine::usd("copilot", "gpt-5", 0).quantity(330_000, "premium-requests"),
        ],
    );
    let email = "author@example.com";
    commit_block(
        env,
        &repo,
        "Add cart",
        &first,
        email,
        "2026-03-10T09:00:00+00:00",
    );
    commit_block(
        env,
        &repo,
        "Fix | cart <total>",
        &second,
        email,
        "2026-03-10T15:00:00+00:00",
    );
    let total = sum(env, &repo, "HEAD");
    assert_eq!(total["malformed_blocks"], 0, "{total:#}");
    assert_eq!(micros(&total["cost_usd"]), 1_100_000, "{total:#}");
    repo
}

fn run(env: &TestEnv, repo: &Path, args: &[&str]) -> Output {
    env.output(BIN, repo, args, &[])
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn every_budget_is_exceeded_only_above_its_level_in_every_unit() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    // (unit, the largest commit, the total) in micro-units.
    let units = [
        ("usd", 700_000u64, 1_100_000u64),
        ("credits", 3_000_000, 4_500_000),
        ("premium-requests", 2_000_000, 2_330_000),
    ];
    let scopes = ["commit", "branch", "author_day", "repo_week", "repo_month"];
    for (unit, largest, total) in units {
        for scope in scopes {
            // A period budget adds up both commits: its level just below the total is above
            // the largest commit, so only a sum exceeds it.
            let spent = if scope == "commit" { largest } else { total };
            let just_below = spent - 10_000;
            assert!(scope == "commit" || just_below > largest);
            let case = |level: &str, amount: u64| {
                std::fs::write(
                    repo.join("agent-cost.toml"),
                    format!(
                        "[budget.{scope}]\n{level} = {}\nunit = \"{unit}\"\n",
                        decimal(amount)
                    ),
                )
                .unwrap();
                let plain = run(&env, &repo, &["check", "--json"]);
                let strict = run(&env, &repo, &["check", "--strict", "--json"]);
                (plain, strict)
            };
            let what = format!("{scope} in {unit}");

            let (plain, strict) = case("soft", spent);
            assert_eq!(plain.status.code(), Some(0), "{what}: at the soft level");
            assert_eq!(
                strict.status.code(),
                Some(0),
                "{what}: at the soft level, strict"
            );
            assert_eq!(json_of(&strict)["level"], "within", "{what}");

            let (plain, strict) = case("soft", just_below);
            assert_eq!(plain.status.code(), Some(0), "{what}: soft is a warning");
            assert_eq!(strict.status.code(), Some(1), "{what}: soft with --strict");
            let report = json_of(&strict);
            assert_eq!(report["level"], "soft", "{what}: {report:#}");
            let exceeded = report["exceeded"].as_array().unwrap();
            assert_eq!(exceeded.len(), 1, "{what}: {report:#}");
            assert_eq!(exceeded[0]["spent"], decimal(spent), "{what}");
            assert_eq!(exceeded[0]["over_by"], "0.010000", "{what}");
            assert_eq!(exceeded[0]["unit"], unit, "{what}");

            let (plain, strict) = case("hard", spent);
            assert_eq!(plain.status.code(), Some(0), "{what}: at the hard level");
            assert_eq!(
                strict.status.code(),
                Some(0),
                "{what}: at the hard level, strict"
            );

            let (plain, strict) = case("hard", just_below);
            assert_eq!(plain.status.code(), Some(2), "{what}: hard");
            assert_eq!(strict.status.code(), Some(2), "{what}: hard, strict");
            assert_eq!(json_of(&plain)["level"], "hard", "{what}");
        }
    }
}

#[test]
fn check_prints_which_budget_how_much_and_by_how_much() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.commit]\nsoft = 0.50\nhard = 5\n\n[budget.branch]\nhard = 1.00\n",
    )
    .unwrap();
    let out = run(&env, &repo, &["check", "HEAD~2..HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let file = repo.join("agent-cost.toml");
    let file = file.display();
    let second = env.git(&repo, &["rev-parse", "--short=7", "HEAD"]).stdout;
    let expected = format!(
        "Budgets over HEAD~2..HEAD: 2 commits, 2 with AI spend.\n\
         \x20 soft  over the soft budget per commit ({file}:1): commit {} \"Fix | cart <total>\" spent 0.70 USD, soft level 0.50 USD, over by 0.20 USD\n\
         \x20 HARD  over the hard budget per branch ({file}:5): the range HEAD~2..HEAD spent 1.10 USD, hard level 1.00 USD, over by 0.10 USD\n\
         Result: a hard level is exceeded (exit 2).\n",
        second.trim()
    );
    assert_eq!(stdout, expected);
}

#[test]
fn budgets_are_grouped_by_author_day_week_and_month() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    commit_block(
        &env,
        &repo,
        "Add search",
        &trailer_block(3, &[BlockLine::sonnet(2_000_000)]),
        "lee@example.com",
        "2026-04-02T10:00:00+02:00",
    );
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.author_day]\nhard = 1.50\n[budget.repo_week]\nhard = 1.50\n[budget.repo_month]\nhard = 1.50\n",
    )
    .unwrap();
    let out = run(&env, &repo, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json_of(&out);
    let exceeded: Vec<(String, String, String)> = report["exceeded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["scope"].as_str().unwrap().to_string(),
                v["subject"].as_str().unwrap().to_string(),
                v["spent"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let name = repo.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        exceeded,
        vec![
            (
                "author_day".into(),
                "lee@example.com on 2026-04-02".into(),
                "2.000000".into()
            ),
            (
                "repo_week".into(),
                format!("{name} in 2026-W14"),
                "2.000000".into()
            ),
            (
                "repo_month".into(),
                format!("{name} in 2026-04"),
                "2.000000".into()
            ),
        ],
        "March (1.10 USD) stays within every budget: {report:#}"
    );
}

#[test]
fn both_the_users_and_the_repositorys_budgets_are_checked() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    std::fs::write(repo.join("agent-cost.toml"), "[budget.commit]\nhard = 10\n").unwrap();
    std::fs::write(
        env.state.join("config.toml"),
        "[budget.commit]\nhard = 0.60\n",
    )
    .unwrap();
    let out = run(&env, &repo, &["check", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the user's tighter budget counts"
    );
    let report = json_of(&out);
    let owners: Vec<&str> = report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["owner"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["user", "repository"]);
    assert_eq!(
        report["exceeded"][0]["file"],
        env.state.join("config.toml").display().to_string()
    );
}

#[test]
fn budget_settings_errors_name_the_file_line_and_fix() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    let file = repo.join("agent-cost.toml");
    for (text, expected) in [
        (
            "[budget.commit]\nsoft = \"0.50\"\n",
            ":2: [budget.commit] soft must be a number, like soft = 0.50 (found the string \"0.50\": remove the quotes)",
        ),
        (
            "[budget.commit]\nhard = -2\n",
            ":2: [budget.commit] hard is negative (-2): an amount must be 0 or more",
        ),
        (
            "# team budgets\n[budget.commit]\nsoft = 1\ncap = 2\n",
            ":4: unknown key `cap` in [budget.commit]: use soft, hard and unit, or remove it",
        ),
        (
            "[budget.daily]\nsoft = 1\n",
            ":1: unknown budget [budget.daily]: use one of commit, branch, author_day, repo_week, repo_month",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        // `check` exits 3 when it cannot check (2 means a hard level exceeded).
        for (command, code) in [("check", 3), ("pr-comment", 1)] {
            let out = run(&env, &repo, &[command]);
            assert_eq!(out.status.code(), Some(code), "{command} with {text:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("error: {}{expected}", file.display())),
                "{command} with {text:?}: {stderr}"
            );
        }
    }
}

#[test]
fn check_without_budgets_says_how_to_set_them_and_passes() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    let out = run(&env, &repo, &["check", "--strict"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("No budgets are set"), "{stdout}");
    assert!(stdout.contains("[budget.commit]"), "{stdout}");
}

#[test]
fn the_pr_comment_is_exact_and_its_json_carries_the_label() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.commit]\nsoft = 0.50\nhard = 5\n\n[budget.branch]\nhard = 1.00\n\n\
         [budget.author_day]\nsoft = 10\nunit = \"credits\"\n\n[cost_band]\nlow = 1\nmedium = 5\n",
    )
    .unwrap();
    let short = |rev: &str| {
        env.git(&repo, &["rev-parse", "--short=7", rev])
            .stdout
            .trim()
            .to_string()
    };
    let (first, second) = (short("HEAD~1"), short("HEAD"));
    let out = run(&env, &repo, &["pr-comment", "HEAD~2..HEAD"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "pr-comment never fails on budgets"
    );
    let markdown = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "<!-- agent-cost:pr-comment -->
### AI cost: 1.10 USD `cost:medium`

2 of 2 commits in `HEAD~2..HEAD` carry AI spend. Also billed: 4.5 credits, 2.33 premium-requests (never added to USD).

| Agent | Model | Requests | Tokens | USD |
|---|---|--:|--:|--:|
| kiro | auto | 2 | 40 | 1.10 + 4.5 credits |
| copilot | gpt-5 | 2 | 40 | 0.00 + 2.33 premium-requests |

<details><summary>Per commit</summary>

| Commit | Subject | Author | USD |
|---|---|---|--:|
| `{second}` | Fix \\| cart &lt;total&gt; | Test Author | 0.70 + 1.5 credits + 0.33 premium-requests |
| `{first}` | Add cart | Test Author | 0.40 + 3 credits + 2 premium-requests |

</details>

**Budgets**

| Budget | Worst | Spent | Soft | Hard | Status |
|---|---|--:|--:|--:|---|
| per commit (agent-cost.toml:1) | commit {second} \"Fix \\| cart &lt;total&gt;\" | 0.70 USD | 0.50 USD | 5.00 USD | **over soft** by 0.20 USD |
| per branch (agent-cost.toml:5) | the range HEAD\\~2..HEAD | 1.10 USD | – | 1.00 USD | **over hard** by 0.10 USD |
| per author per day (agent-cost.toml:8) | author@\u{200b}example.com on 2026-03-10 | 4.5 credits | 10 credits | – | within |

<sub>agent-cost: estimates at list prices from the commits' AI-Cost trailers, each drain counted once.</sub>
"
    );
    assert_eq!(markdown, expected);

    let json = json_of(&run(&env, &repo, &["pr-comment", "HEAD~2..HEAD", "--json"]));
    assert_eq!(json["marker"], "<!-- agent-cost:pr-comment -->");
    assert_eq!(json["label"], "cost:medium");
    assert_eq!(json["level"], "hard");
    assert_eq!(json["total_micro_usd"], 1_100_000);
    assert_eq!(json["units"]["credits"], "4.500000");
    assert_eq!(json["markdown"], expected.as_str());

    // The default bands: 1.10 USD is low.
    std::fs::write(repo.join("agent-cost.toml"), "").unwrap();
    let json = json_of(&run(&env, &repo, &["pr-comment", "HEAD~2..HEAD", "--json"]));
    assert_eq!(json["label"], "cost:low");
    assert!(
        json["markdown"]
            .as_str()
            .unwrap()
            .contains("**Budgets**: none set"),
        "{json:#}"
    );
}

/// A tracked repository whose next commit carries one Claude Code request of 0.018 USD
/// (1,000 input and 1,000 output tokens of Sonnet 4.5).
fn pending_request(env: &TestEnv, repo: &Path, id: &'static str) {
    env.claude_lines(repo, &format!("session-{id}"), &[sonnet(id, 1000, 1000)]);
}

#[test]
fn the_hook_warns_in_one_line_and_never_blocks_the_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    let file = repo.join("agent-cost.toml");

    std::fs::write(&file, "[budget.commit]\nsoft = 0.01\nhard = 1\n").unwrap();
    pending_request(&env, &repo, "msg_1");
    let out = commit(&env, &repo, "a.txt", "Add a");
    let warning = format!(
        "agent-cost: warning: over the soft budget per commit ({}:1): this commit spent 0.018000 USD, soft level 0.01 USD, over by 0.008000 USD\n",
        file.display()
    );
    assert_eq!(out.stderr, warning);
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.018000 USD".to_string())
    );

    std::fs::write(&file, "[budget.commit]\nhard = 0.017\n").unwrap();
    pending_request(&env, &repo, "msg_2");
    let out = commit(&env, &repo, "b.txt", "Add b");
    assert_eq!(
        out.stderr,
        format!(
            "agent-cost: warning: over the hard budget per commit ({}:1): this commit spent 0.018000 USD, hard level 0.017000 USD, over by 0.001000 USD\n",
            file.display()
        ),
        "a hard level warns too, and the commit is made"
    );
    assert_eq!(
        env.git(&repo, &["log", "-1", "--format=%s"]).stdout,
        "Add b\n"
    );

    std::fs::write(&file, "[budget.commit]\nsoft = 0.018\n").unwrap();
    pending_request(&env, &repo, "msg_3");
    let out = commit(&env, &repo, "c.txt", "Add c");
    assert_eq!(out.stderr, "", "exactly the budget is within it");

    // Today's commits count towards the author's day: 3 × 0.018 + 0.018 pending.
    std::fs::write(&file, "[budget.author_day]\nsoft = 0.07\n").unwrap();
    pending_request(&env, &repo, "msg_4");
    let out = commit(&env, &repo, "d.txt", "Add d");
    assert!(
        out.stderr.starts_with(&format!(
            "agent-cost: warning: over the soft budget per author per day ({}:1): author@example.com on ",
            file.display()
        )) && out
            .stderr
            .ends_with(
                " spent 0.072000 USD with this commit's 0.018000 USD, soft level 0.07 USD, over by 0.002000 USD\n"
            ),
        "{}",
        out.stderr
    );

    // Broken settings: a warning, and the commit is made with its trailers.
    std::fs::write(&file, "[budget.commit]\nsoft = \"a lot\"\n").unwrap();
    pending_request(&env, &repo, "msg_5");
    let out = commit(&env, &repo, "e.txt", "Add e");
    assert!(
        out.stderr.contains("budgets not checked: ") && out.stderr.contains("agent-cost.toml:2:"),
        "{}",
        out.stderr
    );
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.018000 USD".to_string())
    );
}

#[test]
fn the_hook_stops_reading_history_for_budgets_at_its_time_budget() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.commit]\nsoft = 0.01\n[budget.repo_month]\nsoft = 0.001\n",
    )
    .unwrap();
    // A commit of this month, which the month budget would have to read.
    commit(&env, &repo, "setup.txt", "Set up");
    pending_request(&env, &repo, "msg_1");
    env.agent_cost(&repo, &["ingest"]);
    std::fs::write(repo.join("a.txt"), "a\n").unwrap();
    env.git(&repo, &["add", "a.txt"]);
    // No time at all: the month is not read, and says so; the commit's own budget still is.
    let out = env.git_env(
        &repo,
        &["commit", "-q", "-m", "Add a"],
        &[("AGENT_COST_HOOK_BUDGET_MS", "0")],
    );
    assert!(
        out.stderr.contains(
            "agent-cost: warning: budgets not checked: reading this period's commits took longer \
             than the hook's time budget (0 read); `agent-cost status` checks them\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("per month"),
        "nothing is said of an unread month: {}",
        out.stderr
    );
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.018000 USD".to_string()),
        "the commit carries its spend"
    );

    // With time, the same settings read the month and warn about it.
    pending_request(&env, &repo, "msg_2");
    let out = commit(&env, &repo, "b.txt", "Add b");
    assert!(
        out.stderr
            .contains("over the soft budget per repository per month"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_hook_adds_the_branchs_commits_to_a_branch_budget() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    pending_request(&env, &repo, "msg_main");
    commit(&env, &repo, "main.txt", "On main");
    env.git(&repo, &["checkout", "-q", "-b", "feature/cart"]);
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.branch]\nsoft = 0.03\n",
    )
    .unwrap();
    pending_request(&env, &repo, "msg_1");
    let out = commit(&env, &repo, "a.txt", "Add a");
    assert_eq!(
        out.stderr, "",
        "the branch holds 0.018 USD: main's commit is not the branch's"
    );
    pending_request(&env, &repo, "msg_2");
    let out = commit(&env, &repo, "b.txt", "Add b");
    assert_eq!(
        out.stderr,
        format!(
            "agent-cost: warning: over the soft budget per branch ({}:1): branch feature/cart spent 0.036000 USD with this commit's 0.018000 USD, soft level 0.03 USD, over by 0.006000 USD\n",
            repo.join("agent-cost.toml").display()
        )
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A repository with 1.00 USD on each of the three days before today and `today_micros`
/// committed today, all by author@example.com.
fn spike_repo(env: &TestEnv, today_micros: u64) -> std::path::PathBuf {
    let repo = env.tracked_repo("shop");
    let now = now();
    for day in 1..=3u64 {
        let date = format!("{} +0000", now - day as i64 * 86_400);
        commit_block(
            env,
            &repo,
            &format!("Day {day}"),
            &trailer_block(day, &[BlockLine::sonnet(1_000_000)]),
            "author@example.com",
            &date,
        );
    }
    let date = format!("{now} +0000");
    commit_block(
        env,
        &repo,
        "Today",
        &trailer_block(9, &[BlockLine::sonnet(today_micros)]),
        "author@example.com",
        &date,
    );
    repo
}

#[test]
fn status_warns_when_today_is_over_twice_the_authors_median_day() {
    let env = TestEnv::new();
    let repo = spike_repo(&env, 2_500_000);
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.author_day]\nsoft = 2\n",
    )
    .unwrap();
    let out = env.output(
        BIN,
        &repo,
        &["status", "--no-ingest", "--json"],
        &[("TZ", "UTC")],
    );
    assert!(out.status.success());
    let status = json_of(&out);
    assert_eq!(status["spike"]["today_usd"], "2.500000", "{status:#}");
    assert_eq!(status["spike"]["median_usd"], "1.000000", "{status:#}");
    assert_eq!(status["spike"]["days_with_spend"], 3, "{status:#}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: author@example.com has spent 2.50 USD today (pending included), more than 2x their median day of the last 30 days (1.00 USD, over 3 days with spend)"),
        "{stderr}"
    );
    let budgets = status["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 1, "{status:#}");
    assert_eq!(budgets[0]["scope"], "author_day");
    assert_eq!(budgets[0]["spent"], "2.500000");
    assert_eq!(budgets[0]["level"], "soft");

    let text = env.output(BIN, &repo, &["status", "--no-ingest"], &[("TZ", "UTC")]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(
            "budgets, with the pending spend:\n  over the soft budget per author per day ("
        ),
        "{stdout}"
    );
}

#[test]
fn status_stays_quiet_on_a_day_at_most_twice_the_median() {
    let env = TestEnv::new();
    let repo = spike_repo(&env, 2_000_000);
    let out = env.output(
        BIN,
        &repo,
        &["status", "--no-ingest", "--json"],
        &[("TZ", "UTC")],
    );
    assert!(out.status.success());
    let status = json_of(&out);
    assert_eq!(status["spike"], Value::Null, "{status:#}");
    assert_eq!(status["budgets"], serde_json::json!([]));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("median"));
}

#[test]
fn the_digest_ranks_this_weeks_spend_and_compares_cost_per_pr() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    let now = now();
    let at = |days_ago: i64| format!("{} +0000", now - days_ago * 86_400);
    let email = "author@example.com";
    commit_block(
        &env,
        &repo,
        "Old work (#11)",
        &trailer_block(1, &[BlockLine::sonnet(2_000_000)]),
        email,
        &at(9),
    );
    commit_block(
        &env,
        &repo,
        "Add search (#12)",
        &trailer_block(2, &[BlockLine::sonnet(3_000_000)]),
        email,
        &at(3),
    );
    commit_block(
        &env,
        &repo,
        "Add cart (#13)",
        &trailer_block(3, &[BlockLine::sonnet(9_000_000)]),
        "lee@example.com",
        &at(2),
    );
    commit_block(
        &env,
        &repo,
        "Tweak",
        &trailer_block(4, &[BlockLine::sonnet(1_000_000)]),
        email,
        &at(1),
    );
    let digest = env.agent_cost_json(&repo, &["digest", "--since", "7d"]);
    assert_eq!(digest["cost_usd"], "13.000000", "{digest:#}");
    assert_eq!(digest["commits"], 3);
    let top: Vec<&str> = digest["top_commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["Add cart (#13)", "Add search (#12)", "Tweak"]);
    assert_eq!(digest["top_commits"][0]["percent_of_median"], 300);
    assert_eq!(
        digest["top_authors"][0]["name"],
        "Test Author <lee@example.com>"
    );
    assert_eq!(digest["merged_prs"], 2);
    assert_eq!(digest["cost_per_pr"], "6.000000");
    assert_eq!(digest["previous_merged_prs"], 1);
    assert_eq!(digest["previous_cost_per_pr"], "2.000000");

    let markdown = env.agent_cost(&repo, &["digest", "--markdown"]).stdout;
    assert!(markdown.starts_with("## AI spend digest, "), "{markdown}");
    assert!(
        markdown.contains("Cost per merged pull request: 6.000000 USD over 2 (the 7 days before: 2.000000 USD over 1, +200%)."),
        "{markdown}"
    );
    assert!(markdown.contains("### Top pull requests"), "{markdown}");

    let bad = run(&env, &repo, &["digest", "--since", "last week"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since `last week` is not a period"));
}

#[test]
fn the_hook_compares_credits_with_a_budget_in_credits_only() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    let file = repo.join("agent-cost.toml");
    std::fs::write(
        &file,
        "[budget.commit]\nsoft = 2\nunit = \"credits\"\n\n[budget.author_day]\nsoft = 0.50\n",
    )
    .unwrap();
    env.agent_cost(
        &repo,
        &["log", "--agent", "kiro", "--unit", "credits", "3", "feat"],
    );
    let out = commit(&env, &repo, "a.txt", "Add a");
    // 3 credits are 0.12 USD at the default rate: over the credits budget, within the USD one.
    assert_eq!(
        out.stderr,
        format!(
            "agent-cost: warning: over the soft budget per commit ({}:1): this commit spent 3 credits, soft level 2 credits, over by 1 credits\n",
            file.display()
        )
    );
}

#[test]
fn the_digest_reads_every_repository_under_a_folder() {
    let env = TestEnv::new();
    let team = env.root.join("team");
    std::fs::create_dir_all(&team).unwrap();
    let now = now();
    let yesterday = format!("{} +0000", now - 86_400);
    for (name, micros) in [("api", 4_000_000), ("web", 1_000_000)] {
        let repo = env.repo(&format!("team/{name}"));
        commit_block(
            &env,
            &repo,
            &format!("Work on {name}"),
            &trailer_block(micros, &[BlockLine::sonnet(micros)]),
            "author@example.com",
            &yesterday,
        );
    }
    let digest = env.agent_cost_json(&env.root, &["digest", "--repos", team.to_str().unwrap()]);
    assert_eq!(digest["cost_usd"], "5.000000", "{digest:#}");
    assert_eq!(digest["repositories"], 2);
    let repos: Vec<(&str, &str)> = digest["top_repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["cost_usd"].as_str().unwrap()))
        .collect();
    assert_eq!(repos, [("api", "4.000000"), ("web", "1.000000")]);
    let first = digest["top_commits"][0]["name"].as_str().unwrap();
    assert!(
        first.starts_with("api@"),
        "commits are named with their repository: {first}"
    );
}

#[test]
fn a_ranges_weeks_and_days_hold_the_repositorys_other_spend_in_them() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    // Merged before: 10 USD on Tuesday by Dana (her email in capitals that time).
    commit_block(
        &env,
        &repo,
        "Add search",
        &trailer_block(1, &[BlockLine::sonnet(10_000_000)]),
        "Dana@Example.COM",
        "2026-03-10T09:00:00+00:00",
    );
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    commit_block(
        &env,
        &repo,
        "Add cart",
        &trailer_block(2, &[BlockLine::sonnet(1_000_000)]),
        "dana@example.com",
        "2026-03-10T15:00:00+00:00",
    );
    // Last month's spend is not this pull request's business.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.repo_week]\nsoft = 5\n[budget.author_day]\nhard = 10.50\n[budget.repo_month]\nsoft = 12\n",
    )
    .unwrap();
    let out = run(&env, &repo, &["check", "main..HEAD", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json_of(&out);
    let exceeded: Vec<(&str, &str, &str)> = report["exceeded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["scope"].as_str().unwrap(),
                v["subject"].as_str().unwrap(),
                v["spent"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        exceeded,
        [
            ("repo_week", "shop in 2026-W11", "11.000000"),
            ("author_day", "dana@example.com on 2026-03-10", "11.000000"),
        ],
        "{report:#}"
    );
}

#[test]
fn the_pr_comment_neither_overflows_nor_renders_links_or_mentions_from_commits() {
    let env = TestEnv::new();
    let repo = env.repo("shop");
    let huge = "AI-Agent: claude-code sessions=1 cost=1.000000\n\
        AI-Model: [click](https://evil.example) agent=claude-code cost=1.000000\n\
        AI-Tokens: req=1 in=9999999999999999999 out=9999999999999999999 cw=0 cr=0\n\
        AI-Cost-Estimate: 1.000000 USD\nAI-Cost-Id: 00000000000000aa\n";
    commit_block(
        &env,
        &repo,
        "![t](https://evil.example/p.png) @org/team",
        huge,
        "author@example.com",
        "2026-03-10T09:00:00+00:00",
    );
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.commit]\nsoft = 5\n[budget.repo_month]\nhard = 50\n",
    )
    .unwrap();
    let out = run(&env, &repo, &["pr-comment", "HEAD~1..HEAD"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(
        markdown.contains("| 19,999,999,999,999,999,998 |"),
        "{markdown}"
    );
    assert!(
        !markdown.contains("](https"),
        "no link or image survives: {markdown}"
    );
    assert!(
        !markdown.contains("@org"),
        "no mention survives: {markdown}"
    );
    assert!(
        markdown.contains("\\!\\[t\\]\\(https\\://evil.example/p.png\\) @\u{200b}org/team"),
        "{markdown}"
    );

    // Every budget has a row, even one with nothing to count.
    let out = run(&env, &repo, &["pr-comment", "HEAD..HEAD"]);
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(
        markdown.contains(
            "| per commit (agent-cost.toml:1) | – | 0.00 USD | 5.00 USD | – | nothing spent |"
        ),
        "{markdown}"
    );
    assert!(markdown.contains("| per repository per month (agent-cost.toml:3) | – | 0.00 USD | – | 50.00 USD | nothing spent |"), "{markdown}");
}

#[test]
fn check_exits_3_when_it_cannot_check() {
    let env = TestEnv::new();
    let repo = two_commit_repo(&env);
    let out = run(&env, &repo, &["check", "nosuch..HEAD"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: give a range git understands"));
    let out = run(&env, &repo, &["check", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a usage error is not a hard budget"
    );
    let empty = env.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    env.git(&empty, &["init", "-q"]);
    let out = run(&env, &empty, &["check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("this repository has no commits yet"));
}

#[test]
fn the_hook_says_still_over_when_the_day_was_over_before_this_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    let file = repo.join("agent-cost.toml");
    std::fs::write(&file, "[budget.author_day]\nsoft = 0.01\n").unwrap();
    pending_request(&env, &repo, "msg_1");
    let first = commit(&env, &repo, "a.txt", "Add a");
    assert!(
        first
            .stderr
            .contains("warning: over the soft budget per author per day"),
        "{}",
        first.stderr
    );
    pending_request(&env, &repo, "msg_2");
    let second = commit(&env, &repo, "b.txt", "Add b");
    assert!(
        second
            .stderr
            .contains("warning: still over the soft budget per author per day")
            && second
                .stderr
                .contains("spent 0.036000 USD with this commit's 0.018000 USD"),
        "{}",
        second.stderr
    );
}

#[test]
fn status_says_why_a_branch_budget_is_not_checked() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    std::fs::write(repo.join("agent-cost.toml"), "[budget.branch]\nsoft = 1\n").unwrap();
    let status = env.agent_cost_json(&repo, &["status", "--no-ingest"]);
    let budgets = status["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 1, "{status:#}");
    assert_eq!(budgets[0]["level"], "unchecked");
    let text = env.agent_cost(&repo, &["status", "--no-ingest"]).stdout;
    assert!(
        text.contains("not checked: the budget per branch (")
            && text.contains("main is the default branch"),
        "{text}"
    );
}
