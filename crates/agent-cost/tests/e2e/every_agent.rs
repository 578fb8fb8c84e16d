//! One commit carrying spend from several agents at once, in several units: Claude Code
//! (USD by tokens), Codex CLI (USD by tokens), the Copilot CLI (premium requests with a USD
//! estimate) and a manual Kiro entry (credits with a USD estimate), read back per unit by
//! `trailers sum`.

use std::path::Path;

use crate::harness::*;

const COPILOT_SESSION: &str = "cccc1111-2222-3333-4444-555566667777";

fn copilot_cli_session(env: &TestEnv, repo: &Path) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/copilot/cli/events.jsonl");
    let text = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("@REPO@", &repo.display().to_string());
    let session = env
        .root
        .join("home/.copilot/session-state")
        .join(COPILOT_SESSION);
    std::fs::create_dir_all(&session).unwrap();
    std::fs::write(session.join("events.jsonl"), text).unwrap();
}

#[test]
fn one_commit_carries_claude_codex_copilot_and_kiro_each_in_its_unit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    // Claude Code: 1,000 in × $3/M + 2,000 out × $15/M = 33,000 µ$.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 1_000, 2_000)]);
    // Codex: one request of 2,000 uncached in and 100 out of gpt-5 (named by config.toml):
    // 2,000 × $1.25/M + 100 × $10/M = 3,500 µ$.
    std::fs::write(env.codex.join("config.toml"), "model = \"gpt-5\"\n").unwrap();
    env.install_codex_fixture(
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "sessions/2026/06/01/rollout-2026-06-01T13-00-00-codex-c.jsonl",
        &[("@REPO_A@", repo.as_path()), ("@REPO_B@", repo.as_path())],
    );
    // The Copilot CLI: claude-sonnet-4.5, 2 premium requests × $0.04 = 80,000 µ$; gpt-4.1,
    // 0 premium requests (priced at its estimate, 0, never by its tokens).
    copilot_cli_session(&env, &repo);
    // Kiro: 1.26 credits × $0.04 = 50,400 µ$.
    env.agent_cost(
        &repo,
        &[
            "log", "1.26", "feat", "--agent", "kiro", "--unit", "credits",
        ],
    );

    commit(&env, &repo, "a.txt", "Checkout flow");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for expected in [
        "AI-Agent: claude-code sessions=1 cost=0.033000",
        "AI-Agent: codex sessions=1 cost=0.003500",
        "AI-Agent: copilot sessions=1 cost=0.080000",
        "AI-Agent: kiro sessions=1 cost=0.050400",
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.033000",
        "AI-Model: gpt-5 agent=codex cost=0.003500",
        "AI-Tokens: req=1 in=2000 out=100 cw=0 cr=0",
        "AI-Model: claude-sonnet-4.5 agent=copilot cost=0.080000",
        "AI-Quantity: 2 premium-requests",
        "AI-Model: gpt-4.1 agent=copilot cost=0.000000",
        "AI-Model: manual agent=kiro cost=0.050400 type=feat",
        "AI-Quantity: 1.26 credits",
        // 33,000 + 3,500 + 80,000 + 0 + 50,400 µ$.
        "AI-Cost-Estimate: 0.166900 USD",
        "AI-Cost-Estimate: 1.26 credits",
        "AI-Cost-Estimate: 2 premium-requests",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} not in {lines:#?}"
        );
    }
    assert!(
        lines.iter().all(|l| l.len() <= 100),
        "a trailer line is longer than commitlint allows: {lines:#?}"
    );

    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 166_900, "{total:#}");
    assert_eq!(total["incomplete"], false);
    let mut units: Vec<(String, f64)> = total["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unit"].as_str().unwrap().to_string(),
                u["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        units,
        vec![
            ("credits".to_string(), 1.26),
            ("premium-requests".to_string(), 2.0)
        ]
    );
    let agents: std::collections::BTreeSet<&str> = total["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents.into_iter().collect::<Vec<_>>(),
        ["claude-code", "codex", "copilot", "kiro"]
    );

    // Nothing is left pending, and a second commit carries nothing.
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status:#}");
    commit(&env, &repo, "b.txt", "Nothing new");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
}
