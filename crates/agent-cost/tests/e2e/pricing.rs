//! Unknown models are unpriced, never zero; overrides in agent-cost.toml price them.

use crate::harness::*;

fn acme(id: &'static str) -> Request {
    Request {
        id,
        model: "acme-coder-9",
        tokens: [1000, 1000, 0, 0, 0],
        timestamp: "2026-06-01T12:00:00Z",
    }
}

#[test]
fn unknown_models_are_unpriced_until_an_override_prices_them() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[acme("msg_1"), sonnet("msg_2", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Unknown model");
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.windows(2).any(|pair| pair
            == [
                "AI-Model: acme-coder-9 agent=claude-code cost=unpriced",
                "AI-Tokens: req=1 in=1000 out=1000 cw=0 cr=0"
            ]),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"AI-Agent: claude-code sessions=1 cost=0.015300 unpriced=1".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .contains(&"AI-Cost-Estimate: 0.015300 USD (incomplete: 1 model unpriced)".to_string()),
        "{lines:?}"
    );
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(total["incomplete"], true);
    assert_eq!(micros(&total["cost_usd"]), 15_300);

    // USD per million tokens: 1000×2 + 1000×8 = 10,000 µ$.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[prices.\"acme-coder-9\"]\ninput = 2.0\noutput = 8.0\n",
    )
    .unwrap();
    env.claude_lines(&repo, "s1", &[acme("msg_3")]);
    commit(&env, &repo, "b.txt", "Priced by the repository");
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.contains(&"AI-Cost-Estimate: 0.010000 USD".to_string()),
        "{lines:?}"
    );

    // The user-wide config file works too, and the repository's file wins over it.
    std::fs::write(env.state.join("config.toml"), "[prices.\"acme-coder-9\"]\ninput = 100.0\noutput = 100.0\n[prices.\"other-model\"]\ninput = 1\noutput = 1\n").unwrap();
    env.claude_lines(&repo, "s1", &[acme("msg_4")]);
    commit(&env, &repo, "c.txt", "Repository file wins");
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.010000 USD".to_string())
    );
    std::fs::remove_file(repo.join("agent-cost.toml")).unwrap();
    env.claude_lines(&repo, "s1", &[acme("msg_5")]);
    commit(&env, &repo, "d.txt", "User file");
    // 1000×100 + 1000×100 = 200,000 µ$
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.200000 USD".to_string())
    );
}

#[test]
fn a_broken_override_file_is_reported_and_ignored() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    std::fs::write(repo.join("agent-cost.toml"), "[prices.\"x\"]\ninptu = 1\n").unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "Broken config"]);
    assert!(
        out.stderr.contains("agent-cost.toml") && out.stderr.contains("inptu"),
        "{}",
        out.stderr
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}
