//! `agent-cost log`: manual entries in credits and USD, carried by the next commit beside the
//! spend read from logs, counted once, and every mistake refused with a message that says what
//! to do.

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// The amount of `unit` in a `units` array of `trailers sum --json`, in micro-units.
fn unit_micros(units: &Value, unit: &str) -> Option<u64> {
    units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == unit)
        .map(|u| micros(&u["amount"]))
}

/// Runs `agent-cost log ARGS` expecting failure; returns its stderr.
fn log_fails(env: &TestEnv, cwd: &Path, args: &[&str]) -> String {
    let mut all = vec!["log"];
    all.extend_from_slice(args);
    let out = env.output(BIN, cwd, &all, &[]);
    assert!(!out.status.success(), "log {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn kiro_credits_and_claude_code_spend_share_a_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    // 1,000 in × $3/M + 2,000 out × $15/M = 33,000 µ$.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    let entry = env.agent_cost_json(
        &repo,
        &[
            "log",
            "1.26",
            "feat",
            "--agent",
            "kiro",
            "--unit",
            "credits",
            "--elapsed",
            "600",
            "--note",
            "spec for the parser",
        ],
    );
    assert_eq!(entry["agent"], "kiro");
    assert_eq!(entry["type"], "feat");
    assert_eq!(entry["unit"], "credits");
    assert_eq!(entry["amount"], "1.26");
    assert_eq!(entry["amount_micros"], 1_260_000);
    // 1.26 credits × 0.04 USD = 0.0504 USD.
    assert_eq!(entry["cost_usd"], "0.050400");
    assert_eq!(entry["cost_usd_micros"], 50_400);
    assert_eq!(entry["usd_micros_per_credit"], 40_000);
    assert_eq!(entry["elapsed_secs"], 600);
    assert_eq!(entry["note"], "spec for the parser");
    assert!(entry["event_id"].as_str().unwrap().starts_with("manual-"));
    let kept: (String, i64, String) = env
        .ledger()
        .query_row(
            "SELECT d.work_type, d.elapsed_secs, d.note FROM entry_details d
             JOIN events e ON e.id = d.event WHERE e.key = ?1",
            [entry["event_id"].as_str().unwrap()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        kept,
        ("feat".to_string(), 600, "spec for the parser".to_string())
    );

    commit(&env, &repo, "a.txt", "Parser");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for expected in [
        "AI-Agent: claude-code sessions=1 cost=0.033000",
        "AI-Agent: kiro sessions=1 cost=0.050400",
        "AI-Model: manual agent=kiro cost=0.050400 type=feat",
        "AI-Quantity: 1.26 credits",
        "AI-Cost-Estimate: 0.083400 USD",
        "AI-Cost-Estimate: 1.26 credits",
    ] {
        assert!(
            lines.contains(&expected.to_string()),
            "{expected}: {lines:?}"
        );
    }
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 83_400);
    assert_eq!(total["incomplete"], false);
    assert_eq!(unit_micros(&total["units"], "credits"), Some(1_260_000));
    assert_eq!(total["units"].as_array().unwrap().len(), 1);
    let models = total["models"].as_array().unwrap();
    let kiro = models.iter().find(|m| m["agent"] == "kiro").unwrap();
    assert_eq!(micros(&kiro["cost_usd"]), 50_400);
    assert_eq!(unit_micros(&kiro["units"], "credits"), Some(1_260_000));
    let claude = models.iter().find(|m| m["agent"] == "claude-code").unwrap();
    assert_eq!(micros(&claude["cost_usd"]), 33_000);
    assert_eq!(claude["units"].as_array().unwrap().len(), 0);
}

#[test]
fn the_credit_rate_comes_from_the_config_file() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    std::fs::write(
        env.state.join("config.toml"),
        "[credits]\nusd_per_credit = 0.05\n",
    )
    .unwrap();
    let entry = env.agent_cost_json(&repo, &["log", "3", "--agent", "kiro", "--unit", "credits"]);
    // 3 credits × 0.05 USD = 150,000 µ$.
    assert_eq!(entry["cost_usd_micros"], 150_000);
    commit(&env, &repo, "a.txt", "Rate");
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 150_000);
    assert_eq!(unit_micros(&total["units"], "credits"), Some(3_000_000));

    std::fs::write(
        env.state.join("config.toml"),
        "[credits]\nusd_per_credt = 0.05\n",
    )
    .unwrap();
    let error = log_fails(&env, &repo, &["1", "--agent", "kiro", "--unit", "credits"]);
    assert!(
        error.contains("[credits] has an unknown key `usd_per_credt`"),
        "{error}"
    );
}

#[test]
fn a_usd_entry_is_the_models_cost() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let entry = env.agent_cost_json(
        &repo,
        &[
            "log",
            "2.5",
            "fix",
            "--agent",
            "cursor",
            "--model",
            "claude-sonnet-4-5",
        ],
    );
    assert_eq!(entry["unit"], "USD");
    assert_eq!(entry["cost_usd_micros"], 2_500_000);
    assert_eq!(entry["amount_micros"], 2_500_000);
    assert!(entry.get("usd_micros_per_credit").is_none());
    commit(&env, &repo, "a.txt", "Fix");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for expected in [
        "AI-Agent: cursor sessions=1 cost=2.500000",
        "AI-Model: claude-sonnet-4-5 agent=cursor cost=2.500000 type=fix",
        "AI-Tokens: req=0 in=0 out=0 cw=0 cr=0",
        "AI-Cost-Estimate: 2.500000 USD",
    ] {
        assert!(
            lines.contains(&expected.to_string()),
            "{expected}: {lines:?}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("AI-Quantity:")),
        "{lines:?}"
    );
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 2_500_000);
    assert_eq!(total["units"].as_array().unwrap().len(), 0);
}

#[test]
fn an_entry_is_never_counted_twice() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.agent_cost(
        &repo,
        &["log", "0.75", "--agent", "kiro", "--unit", "credits"],
    );
    commit(&env, &repo, "a.txt", "First");
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.75 credits".to_string())
    );
    env.agent_cost(&repo, &["ingest"]);
    commit(&env, &repo, "b.txt", "Second");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());
    let total = sum(&env, &repo, "HEAD~2..HEAD");
    // 0.75 credits × 0.04 USD = 30,000 µ$.
    assert_eq!(micros(&total["cost_usd"]), 30_000);
    assert_eq!(unit_micros(&total["units"], "credits"), Some(750_000));
}

#[test]
fn mistakes_are_refused_with_what_to_do() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let outside = env.outside();
    let cases: [(&Path, &[&str], &[&str]); 9] = [
        (
            &outside,
            &["1", "--agent", "kiro"],
            &[
                "must run inside a git repository",
                "hint: cd into the repository",
            ],
        ),
        (
            &repo,
            &["-1", "--agent", "kiro"],
            &["the amount -1 is negative", "positive amount"],
        ),
        (
            &repo,
            &["0", "--agent", "kiro"],
            &["the amount is zero; nothing to log"],
        ),
        (
            &repo,
            &["10000.01", "--agent", "kiro"],
            &["10000.01 USD is more than one entry may hold (at most 10000 USD)"],
        ),
        (
            &repo,
            &["1000000.5", "--agent", "kiro", "--unit", "credits"],
            &["1000000.5 credits is more than one entry may hold (at most 1000000 credits)"],
        ),
        (
            &repo,
            &["1.2345678", "--agent", "kiro"],
            &[
                "`1.2345678` is not an amount",
                "at most six fractional digits",
            ],
        ),
        (
            &repo,
            &["1", "--agent", "kiro", "--unit", "credit"],
            &[
                "invalid value 'credit' for '--unit <UNIT>'",
                "[possible values: usd, credits]",
            ],
        ),
        (
            &repo,
            &["1", "fature", "--agent", "kiro"],
            &[
                "invalid value 'fature' for '[TYPE]'",
                "[possible values: fix, feat, refac, test, doc, config, other]",
            ],
        ),
        (
            &repo,
            &["1", "feat"],
            &[
                "the following required arguments were not provided",
                "--agent <AGENT>",
            ],
        ),
    ];
    for (cwd, args, messages) in cases {
        let error = log_fails(&env, cwd, args);
        for message in messages {
            assert!(error.contains(message), "{args:?}: {message}: {error}");
        }
    }
    // Nothing was recorded.
    commit(&env, &repo, "a.txt", "Nothing pending");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());
}

#[test]
fn a_usd_entry_for_a_model_read_from_logs_adds_to_it() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    // 1,000 in × $3/M + 2,000 out × $15/M = 33,000 µ$, plus 2 USD by hand.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    env.agent_cost(
        &repo,
        &[
            "log",
            "2",
            "--agent",
            "claude-code",
            "--model",
            // The model exactly as the log names it.
            "claude-sonnet-4-5-20250929",
        ],
    );
    commit(&env, &repo, "a.txt", "Both");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for expected in [
        "AI-Agent: claude-code sessions=2 cost=2.033000",
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=2.033000",
        "AI-Tokens: req=1 in=1000 out=2000 cw=0 cr=0",
        "AI-Cost-Estimate: 2.033000 USD",
    ] {
        assert!(
            lines.contains(&expected.to_string()),
            "{expected}: {lines:?}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("AI-Quantity:")),
        "{lines:?}"
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 2_033_000);
}

#[test]
fn the_type_given_to_log_travels_with_its_model_line_into_reports() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let log = |args: &[&str]| {
        let mut all = vec!["log"];
        all.extend_from_slice(args);
        env.agent_cost(&repo, &all);
    };
    // Two cursor entries of one type: the line says so.
    log(&["0.30", "fix", "--agent", "cursor", "--model", "gpt-5"]);
    log(&["0.20", "fix", "--agent", "cursor", "--model", "gpt-5"]);
    // Two kiro entries of two types, and an `other`: no type.
    log(&["1", "doc", "--agent", "kiro", "--unit", "credits"]);
    log(&["0.5", "test", "--agent", "kiro", "--unit", "credits"]);
    log(&["0.10", "other", "--agent", "aider"]);
    // Claude Code spend beside a manual entry for the same model: no type either.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    log(&[
        "0.05",
        "fix",
        "--agent",
        "claude-code",
        "--model",
        "claude-sonnet-4-5",
    ]);
    commit(&env, &repo, "a.txt", "Parser");
    let lines = ai_trailers(&env, &repo, "HEAD");
    let models: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("AI-Model:"))
        .collect();
    assert_eq!(
        models,
        [
            "AI-Model: manual agent=aider cost=0.100000",
            "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.083000",
            "AI-Model: gpt-5 agent=cursor cost=0.500000 type=fix",
            "AI-Model: manual agent=kiro cost=0.060000",
        ],
        "{lines:?}"
    );

    // `report --by type`: the logged type wins for its spend, the subject's for the rest.
    let report = env.agent_cost_json(&repo, &["report", "--by", "type", "--no-lines"]);
    let rows: Vec<(String, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"]["type"].as_str().unwrap().to_string(),
                r["cost_usd"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("fix".to_string(), "0.500000".to_string()),
            ("other".to_string(), "0.243000".to_string()),
        ]
    );
    let export = env.agent_cost_json(&repo, &["export", "--no-lines"]);
    let types: Vec<(&str, &str)> = export
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["unit"] == "USD")
        .map(|r| (r["agent"].as_str().unwrap(), r["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("aider", "other"),
            ("claude-code", "other"),
            ("cursor", "fix"),
            ("kiro", "other"),
        ]
    );
}
