//! `agent-cost verify`: a repository whose spend is all accounted for verifies clean; a deleted
//! branch, logs rotated away and a hand-edited block are each found, explained and fail it.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::*;

fn verify(env: &TestEnv, repo: &Path) -> (bool, Value) {
    let out = env.output(BIN, repo, &["verify", "--json"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(value["clean"], out.status.success(), "{value:#}");
    (out.status.success(), value)
}

fn row<'a>(value: &'a Value, agent: &str, model: &str) -> &'a Value {
    value["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent"] == agent && r["model"] == model)
        .unwrap_or_else(|| panic!("no {agent}/{model} in {value:#}"))
}

/// Requests and tokens, as the JSON writes them.
fn counts(requests: i64, input: i64, output: i64) -> Value {
    json!({"requests": requests, "input": input, "output": output,
           "cache_write": 0, "cache_read": 0, "quantities": {}})
}

fn zero() -> Value {
    counts(0, 0, 0)
}

#[test]
fn committed_pending_and_entered_spend_verify_clean() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    commit(&env, &repo, "a.txt", "One");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 300, 40)]);
    env.agent_cost(
        &repo,
        &["log", "1.5", "fix", "--agent", "kiro", "--unit", "credits"],
    );
    commit(&env, &repo, "b.txt", "Two");
    // Pending: read, not committed yet.
    env.claude_lines(&repo, "s2", &[sonnet("msg_3", 7, 8)]);
    // A block typed by hand: from elsewhere, counted apart, not a difference.
    commit(
        &env,
        &repo,
        "c.txt",
        "Three\n\nAI-Model: gpt-5 agent=codex cost=9.000000\nAI-Cost-Estimate: 9.000000 USD\nAI-Cost-Id: 00000000000000aa",
    );

    let (clean, value) = verify(&env, &repo);
    assert!(clean, "{value:#}");
    let spent = row(&value, "claude-code", "claude-sonnet-4-5");
    assert_eq!(spent["expected"], counts(3, 1_307, 2_048));
    // The third commit's hook drained msg_3 too: all three requests are committed.
    assert_eq!(spent["committed"], counts(3, 1_307, 2_048));
    assert_eq!(spent["pending"], zero());
    assert_eq!(spent["difference"], zero());
    let kiro = row(&value, "kiro", "manual");
    let credits = json!({"requests": 0, "input": 0, "output": 0, "cache_write": 0,
                         "cache_read": 0, "quantities": {"credits": 1_500_000}});
    assert_eq!(kiro["expected"], credits);
    assert_eq!(kiro["committed"], credits);
    assert_eq!(value["blocks_checked"], 3);
    assert_eq!(value["blocks_matching"], 3);
    assert_eq!(
        value["foreign_blocks"].as_array().unwrap().len(),
        1,
        "{value:#}"
    );
    assert_eq!(value["findings"], json!([]));
    // `trailers sum` counts the typed block (it adds up); `--verified` only this machine's.
    let all = sum(&env, &repo, "HEAD");
    let verified = env.agent_cost_json(&repo, &["trailers", "sum", "--verified"]);
    assert_eq!(
        micros(&all["cost_usd"]) - micros(&verified["cost_usd"]),
        9_000_000
    );
    assert_eq!(all["drains"], 4);
    assert_eq!(verified["drains"], 3);

    // Pending spend is accounted too.
    env.claude_lines(&repo, "s2", &[sonnet("msg_4", 5, 5)]);
    let (clean, value) = verify(&env, &repo);
    assert!(clean, "{value:#}");
    assert_eq!(
        row(&value, "claude-code", "claude-sonnet-4-5")["pending"],
        counts(1, 5, 5)
    );
    let text = env.agent_cost(&repo, &["verify"]).stdout;
    assert!(
        text.contains("OK: every request is accounted for, once"),
        "{text}"
    );
    assert!(
        text.contains("3 of 3 blocks drained on this machine match what was drained; 1 blocks from elsewhere not compared"),
        "{text}"
    );
}

#[test]
fn a_deleted_branch_rotated_logs_and_an_edited_block_are_each_explained() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    commit(&env, &repo, "a.txt", "On main");

    // Spend committed on a branch that is then deleted.
    env.git(&repo, &["checkout", "-q", "-b", "spike"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 20)]);
    commit(&env, &repo, "b.txt", "Spike");
    let spike = env
        .git(&repo, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_string();
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["branch", "-q", "-D", "spike"]);
    let (clean, value) = verify(&env, &repo);
    assert!(!clean);
    let spent = row(&value, "claude-code", "claude-sonnet-4-5");
    assert_eq!(spent["expected"], counts(2, 1_010, 2_020));
    assert_eq!(spent["committed"], counts(1, 1_000, 2_000));
    assert_eq!(spent["difference"], counts(1, 10, 20));
    let finding = &value["findings"][0];
    assert_eq!(finding["kind"], "drain-not-in-history");
    assert_eq!(finding["commit"], spike);
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("a deleted branch"),
        "{finding:#}"
    );

    // The branch back: clean again.
    env.git(&repo, &["branch", "spike", &spike]);
    assert!(verify(&env, &repo).0);

    // The transcript rotated away: the ledger still holds its spend.
    let transcript = env.transcript_path(&encode(&repo), "s1.jsonl");
    std::fs::remove_file(&transcript).unwrap();
    let (clean, value) = verify(&env, &repo);
    assert!(!clean);
    let finding = &value["findings"][0];
    assert_eq!(finding["kind"], "logs-gone", "{value:#}");
    assert_eq!(finding["counts"], counts(2, 1_010, 2_020));
    assert_eq!(
        row(&value, "claude-code", "claude-sonnet-4-5")["difference"],
        counts(-2, -1_010, -2_020)
    );

    // A fresh transcript, committed, then its block edited by hand (hooks off).
    let repo = env.tracked_repo("beta");
    env.claude_lines(&repo, "t1", &[sonnet("msg_9", 100, 200)]);
    commit(&env, &repo, "a.txt", "Real");
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    let edited = message.replace("in=100 out=200", "in=100 out=20");
    assert_ne!(edited, message);
    let file = env.root.join("edited.txt");
    std::fs::write(&file, edited).unwrap();
    env.git_env(
        &repo,
        &["commit", "-q", "--amend", "-F", file.to_str().unwrap()],
        &[("AGENT_COST_DISABLE", "1")],
    );
    let (clean, value) = verify(&env, &repo);
    assert!(!clean);
    let kinds: Vec<&str> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"block-edited"), "{value:#}");
    assert_eq!(value["blocks_checked"], 1);
    assert_eq!(value["blocks_matching"], 0);
    let verified = env.agent_cost_json(&repo, &["trailers", "sum", "--verified"]);
    assert_eq!(verified["drains"], 0);
    assert_eq!(sum(&env, &repo, "HEAD")["drains"], 1);
    assert_eq!(
        row(&value, "claude-code", "claude-sonnet-4-5")["difference"],
        counts(0, 0, 180)
    );
}
