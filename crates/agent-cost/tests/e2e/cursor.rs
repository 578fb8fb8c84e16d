//! `agent-cost import cursor`: Cursor's dashboard usage CSV (each header variant, `$` and plain
//! costs, blank costs priced by tokens, Max Mode, a BOM, CRLF, quoted fields, bad rows)
//! imported into a real repository, carried by the next commit as `agent=cursor` trailers,
//! never counted twice, limited to a time window, and every bad input refused with a message
//! that says what to do.
//!
//! Costs are hand-computed in micro-dollars. gpt-5 is priced by the built-in list at $1.25/M
//! input (cache write too), $0.125/M cache read, $10/M output.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// A fixture under `tests/fixtures/cursor/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/cursor")
        .join(name)
        .canonicalize()
        .unwrap()
}

/// `agent-cost import cursor FIXTURE ARGS --json`, run in `cwd`.
fn import(env: &TestEnv, cwd: &Path, name: &str, args: &[&str]) -> Value {
    let file = fixture(name);
    let mut all = vec!["import", "cursor", file.to_str().unwrap()];
    all.extend_from_slice(args);
    env.agent_cost_json(cwd, &all)
}

/// `agent-cost import cursor ARGS` expecting failure; returns its stderr.
fn import_fails(env: &TestEnv, cwd: &Path, args: &[&str]) -> String {
    let mut all = vec!["import", "cursor"];
    all.extend_from_slice(args);
    let out = env.output(BIN, cwd, &all, &[]);
    assert!(!out.status.success(), "import cursor {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

/// The model entry of `trailers sum --json`.
fn model<'a>(total: &'a Value, name: &str) -> &'a Value {
    total["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no {name} in {total}"))
}

fn assert_has(lines: &[String], expected: &[&str]) {
    for line in expected {
        assert!(lines.contains(&line.to_string()), "{line}: {lines:#?}");
    }
}

#[test]
fn every_header_variant_lands_on_the_next_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");

    // Oldest variant: `$0.12` and `0.0345` are the file's costs (154,500 µ$); the gpt-5 row has
    // no cost and is priced by tokens: 1,000 in × 1.25 + 2,000 cache read × 0.125 + 500 out ×
    // 10 = 1,250 + 250 + 5,000 = 6,500 µ$.
    let basic = import(&env, &repo, "basic.csv", &[]);
    assert_eq!(basic["variant"], "basic");
    assert_eq!(basic["rows"], 3);
    assert_eq!(basic["imported"], 3);
    assert_eq!(basic["cost_usd_micros"], 154_500);
    assert_eq!(basic["cost_usd"], "0.154500");
    assert_eq!(basic["imported_without_cost"], 1);
    assert_eq!(basic["skipped"], 0);

    // Kind + Max Mode, with a BOM, CRLF line ends and a quoted `Errored, No Charge` kind:
    // the Max Mode row costs $1.25; the errored row (blank cost) is zero; `$0.02`; the gpt-5
    // Included row is priced by tokens: 2,000 in × 1.25 + 1,000 out × 10 = 12,500 µ$. Line 6
    // has no date.
    let kinds = import(&env, &repo, "kind-max-mode.csv", &[]);
    assert_eq!(kinds["variant"], "kind-and-max-mode");
    assert_eq!(kinds["rows"], 5);
    assert_eq!(kinds["imported"], 4);
    assert_eq!(kinds["max_mode_rows"], 1);
    assert_eq!(kinds["cost_usd_micros"], 1_270_000);
    assert_eq!(kinds["skipped"], 1);
    assert_eq!(kinds["skipped_by_reason"]["bad-date"], 1);
    assert_eq!(kinds["skipped_rows"][0]["line"], 6);

    // Newest variant (Cloud Agent ID, Automation ID), with two identical rows (two requests)
    // and a quoted "4,000": 2 × (1,000 in × 1.25 + 100 out × 10) = 4,500 µ$ plus $0.05.
    let cloud = import(&env, &repo, "cloud-agent-week1.csv", &[]);
    assert_eq!(cloud["variant"], "cloud-agent");
    assert_eq!(cloud["imported"], 3);
    assert_eq!(cloud["cost_usd_micros"], 50_000);

    commit(&env, &repo, "a.txt", "Cursor work");
    let lines = ai_trailers(&env, &repo, "HEAD");
    // gpt-5: 6,500 + 12,500 + 4,500 + 50,000 = 73,500 µ$.
    // Total: 154,500 + 1,250,000 + 20,000 + 73,500 = 1,498,000 µ$.
    // Sessions: the days 2026-06-01, 06-02 and 07-01, and the Cloud Agent bc-7f3a.
    assert_has(
        &lines,
        &[
            "AI-Agent: cursor sessions=4 cost=1.498000",
            "AI-Model: claude-4-sonnet agent=cursor cost=0.154500",
            "AI-Tokens: req=2 in=4000 out=1000 cw=500 cr=20000",
            "AI-Model: claude-4.5-sonnet-thinking agent=cursor cost=0.020000",
            "AI-Tokens: req=2 in=600 out=50 cw=0 cr=0",
            "AI-Model: claude-4.5-sonnet-thinking+max agent=cursor cost=1.250000",
            "AI-Tokens: req=1 in=10000 out=3000 cw=2000 cr=50000",
            "AI-Model: gpt-5 agent=cursor cost=0.073500",
            "AI-Tokens: req=5 in=9000 out=2600 cw=0 cr=10000",
            "AI-Cost-Estimate: 1.498000 USD",
        ],
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("AI-Quantity:")),
        "{lines:?}"
    );
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 1_498_000);
    assert_eq!(total["incomplete"], false);
    assert_eq!(total["units"].as_array().unwrap().len(), 0);
    assert_eq!(micros(&model(&total, "gpt-5")["cost_usd"]), 73_500);
    assert_eq!(model(&total, "gpt-5")["agent"], "cursor");
    assert_eq!(
        micros(&model(&total, "claude-4.5-sonnet-thinking+max")["cost_usd"]),
        1_250_000
    );
    assert_eq!(total["tokens"]["cache_write"], 2_500);
}

#[test]
fn the_same_rows_are_never_imported_twice() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    import(&env, &repo, "cloud-agent-week1.csv", &[]);

    // The same file again, before and after a commit: nothing new.
    let again = import(&env, &repo, "cloud-agent-week1.csv", &[]);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["already_present"], 3);
    commit(&env, &repo, "a.txt", "Week one");
    // 4,500 + 50,000 µ$ (see every_header_variant_lands_on_the_next_commit).
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 54_500);
    let after = import(&env, &repo, "cloud-agent-week1.csv", &[]);
    assert_eq!(after["imported"], 0);
    assert_eq!(after["already_present"], 3);

    // A later export holding week one again (the $0.05 row spelled `0.05`, its "4,000" as
    // 4000) and one new row of $0.30: only that row is new.
    let later = import(&env, &repo, "cloud-agent-week2.csv", &[]);
    assert_eq!(later["rows"], 4);
    assert_eq!(later["imported"], 1);
    assert_eq!(later["already_present"], 3);
    assert_eq!(later["cost_usd_micros"], 300_000);
    commit(&env, &repo, "b.txt", "Week two");
    assert_has(
        &ai_trailers(&env, &repo, "HEAD"),
        &[
            "AI-Model: gpt-5 agent=cursor cost=0.300000",
            "AI-Tokens: req=1 in=3000 out=300 cw=0 cr=0",
            "AI-Cost-Estimate: 0.300000 USD",
        ],
    );
    let total = sum(&env, &repo, "HEAD~2..HEAD");
    assert_eq!(micros(&total["cost_usd"]), 354_500);
    assert_eq!(model(&total, "gpt-5")["requests"], 4);

    // Nothing is left pending.
    commit(&env, &repo, "c.txt", "Nothing");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());
}

#[test]
fn only_rows_inside_the_window_are_imported() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    // Tracking starts on 2026-07-02: the two rows of 07-01 are older history.
    env.agent_cost(&repo, &["install-hooks", "--since", "2026-07-02"]);

    // --until a date is through the end of that day: only the 07-02 row ($0.05).
    let first = import(
        &env,
        &repo,
        "cloud-agent-week2.csv",
        &["--until", "2026-07-02"],
    );
    assert_eq!(first["imported"], 1);
    assert_eq!(first["outside_window"], 3);
    assert_eq!(first["since"], "2026-07-02T00:00:00Z");
    assert_eq!(first["until"], "2026-07-03T00:00:00Z");
    assert_eq!(first["cost_usd_micros"], 50_000);

    // --since earlier than the tracking start does not reach before it; --until an instant
    // is exclusive (the 07-08 09:00 row is outside).
    let none = import(
        &env,
        &repo,
        "cloud-agent-week2.csv",
        &["--since", "2026-06-01", "--until", "2026-07-08T09:00:00Z"],
    );
    assert_eq!(none["since"], "2026-07-02T00:00:00Z");
    assert_eq!(none["imported"], 0);
    assert_eq!(none["already_present"], 1);
    assert_eq!(none["outside_window"], 3);

    // --since a later date: only the 07-08 row ($0.30).
    let second = import(
        &env,
        &repo,
        "cloud-agent-week2.csv",
        &["--since", "2026-07-05"],
    );
    assert_eq!(second["imported"], 1);
    assert_eq!(second["outside_window"], 3);

    // By default, everything since the tracking start: nothing new is left.
    let rest = import(&env, &repo, "cloud-agent-week2.csv", &[]);
    assert_eq!(rest["imported"], 0);
    assert_eq!(rest["already_present"], 2);
    assert_eq!(rest["outside_window"], 2);

    commit(&env, &repo, "a.txt", "July");
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 350_000);
    assert_eq!(model(&total, "gpt-5")["requests"], 2);
}

#[test]
fn a_dry_run_records_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let dry = import(&env, &repo, "kind-max-mode.csv", &["--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["imported"], 4);
    assert_eq!(dry["cost_usd_micros"], 1_270_000);
    let text = env.agent_cost(
        &repo,
        &[
            "import",
            "cursor",
            fixture("kind-max-mode.csv").to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(
        text.stdout.contains("would import 4 of 5 rows"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("dry run: nothing was recorded"),
        "{}",
        text.stdout
    );
    commit(&env, &repo, "a.txt", "Nothing yet");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());

    // The real import afterwards finds every row new.
    let real = import(&env, &repo, "kind-max-mode.csv", &[]);
    assert_eq!(real["imported"], 4);
    assert_eq!(real["already_present"], 0);
}

#[test]
fn bad_rows_are_counted_and_listed_by_line() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let summary = import(&env, &repo, "bad-rows.csv", &[]);
    assert_eq!(summary["rows"], 7);
    assert_eq!(summary["imported"], 1);
    assert_eq!(summary["skipped"], 6);
    let by_reason = &summary["skipped_by_reason"];
    assert_eq!(by_reason["bad-date"], 1);
    assert_eq!(by_reason["bad-model"], 1);
    assert_eq!(by_reason["bad-tokens"], 2);
    assert_eq!(by_reason["bad-cost"], 1);
    assert_eq!(by_reason["malformed"], 1);
    let lines: Vec<u64> = summary["skipped_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
    assert_eq!(
        summary["skipped_rows"][3]["detail"],
        "Input (w/ Cache Write) 1 is less than Input (w/o Cache Write) 5"
    );

    // The text summary lists the first rows and counts the rest.
    let env2 = TestEnv::new();
    let repo2 = env2.tracked_repo("beta");
    let file = fixture("bad-rows.csv");
    let text = env2
        .agent_cost(&repo2, &["import", "cursor", file.to_str().unwrap()])
        .stdout;
    for expected in [
        "imported 1 of 7 rows",
        "skipped: 6 (bad-cost 1, bad-date 1, bad-model 1, bad-tokens 2, malformed 1)",
        "line 2: `yesterday` is not a date",
        "line 6: Cost `about a dollar` is not an amount",
        "… and 1 more",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    commit(&env, &repo, "a.txt", "The good row");
    assert_has(
        &ai_trailers(&env, &repo, "HEAD"),
        &["AI-Cost-Estimate: 0.400000 USD"],
    );
}

#[test]
fn another_worktree_is_charged_with_repo() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let outside = env.outside();
    let summary = import(
        &env,
        &outside,
        "basic.csv",
        &["--repo", repo.to_str().unwrap()],
    );
    assert_eq!(summary["imported"], 3);
    assert_eq!(summary["worktree"], repo.to_str().unwrap());
    commit(&env, &repo, "a.txt", "Charged from outside");
    // 154,500 + 6,500 µ$.
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 161_000);
}

#[test]
fn bad_input_is_refused_with_what_to_do() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let untracked = env.repo("beta");
    let outside = env.outside();
    let empty = env.root.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let basic = fixture("basic.csv");
    let basic = basic.to_str().unwrap();
    let not_export = fixture("not-an-export.csv");
    let cases: Vec<(&Path, Vec<&str>, Vec<&str>)> = vec![
        (
            &repo,
            vec![not_export.to_str().unwrap()],
            vec![
                "this is not a Cursor usage export",
                "lacks `Date`, `Model`",
                "Date,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost",
                "hint: export the usage CSV from Cursor's dashboard",
            ],
        ),
        (
            &repo,
            vec![empty.to_str().unwrap()],
            vec!["the file is empty"],
        ),
        (
            &repo,
            vec!["no-such-file.csv"],
            vec!["cannot open no-such-file.csv"],
        ),
        (
            &outside,
            vec![basic],
            vec!["must run inside a git repository", "or give --repo PATH"],
        ),
        (
            &repo,
            vec![basic, "--repo", outside.to_str().unwrap()],
            vec!["is not a git repository or worktree"],
        ),
        (
            &untracked,
            vec![basic],
            vec![
                "agent-cost is not tracking",
                "run `agent-cost install-hooks` there first",
            ],
        ),
        (
            &repo,
            vec![basic, "--since", "last week"],
            vec!["--since `last week` is not a date", "YYYY-MM-DD"],
        ),
        (
            &repo,
            vec![basic, "--since", "2026-06-02", "--until", "2026-06-01"],
            vec!["the window is empty"],
        ),
        (
            &repo,
            vec![],
            vec![
                "the following required arguments were not provided",
                "<FILE>",
            ],
        ),
    ];
    for (cwd, args, messages) in cases {
        let error = import_fails(&env, cwd, &args);
        for message in messages {
            assert!(error.contains(message), "{args:?}: {message}: {error}");
        }
        assert!(!error.contains("panicked"), "{error}");
    }
    // Nothing was recorded.
    commit(&env, &repo, "a.txt", "Nothing pending");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());

    // An untracked repository takes rows with --since, and warns that no commit carries them.
    let out = env.output(
        BIN,
        &untracked,
        &["import", "cursor", basic, "--since", "2026-01-01"],
        &[],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("agent-cost is not tracking this repository"),
        "{stderr}"
    );
}
