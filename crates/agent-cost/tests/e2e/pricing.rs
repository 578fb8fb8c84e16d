//! Unknown models are unpriced, never zero; overrides in the user's config.toml price them, and
//! so does a repository's agent-cost.toml, but only when the user trusts repositories to.

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

/// What lets repositories set prices, in the user's config.toml.
const TRUST: &str = "[trust]\nrepository_prices = true\n";

/// The refusal of `repo`'s `agent-cost.toml` setting `tables` (like `[prices]`), as printed.
fn refusal(env: &TestEnv, repo: &Path, tables: &str, tail: &str) -> String {
    format!(
        "warning: {} sets {tables} but a repository may not reprice models unless you allow it: \
         add `[trust]` with `repository_prices = true` to {}; the built-in and your own {tail} used",
        repo.join("agent-cost.toml").display(),
        env.state.join("config.toml").display()
    )
}

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

    // USD per million tokens: 1000×2 + 1000×8 = 10,000 µ$, once the user trusts repositories.
    std::fs::write(env.state.join("config.toml"), TRUST).unwrap();
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[prices.\"acme-coder-9\"]\ninput = 2.0\noutput = 8.0\n",
    )
    .unwrap();
    env.claude_lines(&repo, "s1", &[acme("msg_3")]);
    let out = commit(&env, &repo, "b.txt", "Priced by the repository");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.contains(&"AI-Cost-Estimate: 0.010000 USD".to_string()),
        "{lines:?}"
    );

    // The user-wide config file works too, and a trusted repository's file wins over it.
    std::fs::write(env.state.join("config.toml"), format!("{TRUST}[prices.\"acme-coder-9\"]\ninput = 100.0\noutput = 100.0\n[prices.\"other-model\"]\ninput = 1\noutput = 1\n")).unwrap();
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
    std::fs::write(env.state.join("config.toml"), TRUST).unwrap();
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

#[test]
fn repository_prices_are_ignored_unless_the_user_trusts_them() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    // A cloned repository makes its own spend free, and prices a model the list does not know;
    // its [report] rules are its own to set.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[prices.\"claude-sonnet-4-5\"]\ninput = 0\noutput = 0\n\
         [prices.\"acme-coder-9\"]\ninput = 0\noutput = 0\n\
         [aliases]\n\"corp-claude\" = \"acme-coder-9\"\n\
         [report]\nwaste_lines = 7\n",
    )
    .unwrap();
    let warning = refusal(&env, &repo, "[prices] and [aliases]", "prices are");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000), acme("msg_2")]);
    let status = env.agent_cost(&repo, &["status"]);
    assert!(status.stderr.contains(&warning), "{}", status.stderr);
    let out = commit(&env, &repo, "a.txt", "Untrusted repository");
    // One warning, the same the hook and the commands print.
    assert_eq!(
        out.stderr.matches("may not reprice").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: acme-coder-9 agent=claude-code cost=unpriced",
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.015300",
        "AI-Cost-Estimate: 0.015300 USD (incomplete: 1 model unpriced)",
    ] {
        assert!(lines.contains(&line.to_string()), "{line}: {lines:?}");
    }
    for args in [&["verify"][..], &["sessions"]] {
        let out = env.output(BIN, &repo, args, &[]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&warning),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The repository's other tables still apply.
    let report = env.agent_cost_json(&repo, &["report", "--waste"]);
    assert_eq!(report["waste"]["max_lines"], 7, "{report}");

    // Trusted, the same file prices the next commit's spend, without a warning.
    std::fs::write(env.state.join("config.toml"), TRUST).unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_3", 100, 1000), acme("msg_4")]);
    let out = commit(&env, &repo, "b.txt", "Trusted repository");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: acme-coder-9 agent=claude-code cost=0.000000",
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.000000",
        "AI-Cost-Estimate: 0.000000 USD",
    ] {
        assert!(lines.contains(&line.to_string()), "{line}: {lines:?}");
    }
    // The first commit keeps the prices it was written with.
    assert_eq!(micros(&sum(&env, &repo, "HEAD~1")["cost_usd"]), 15_300);
}

#[test]
fn a_repository_cannot_trust_itself() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[trust]\nrepository_prices = true\n[prices.\"claude-sonnet-4-5\"]\ninput = 0\noutput = 0\n",
    )
    .unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let out = commit(&env, &repo, "a.txt", "Self-trusting repository");
    let ignored = format!(
        "warning: {}: [trust] is ignored: a repository cannot trust itself; remove it there, and \
         to let repositories set prices add `[trust]` with `repository_prices = true` to {}",
        repo.join("agent-cost.toml").display(),
        env.state.join("config.toml").display()
    );
    assert!(out.stderr.contains(&ignored), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&refusal(&env, &repo, "[prices]", "prices are")),
        "{}",
        out.stderr
    );
    assert!(
        ai_trailers(&env, &repo, "HEAD").contains(&"AI-Cost-Estimate: 0.015300 USD".to_string())
    );
}

#[test]
fn a_trust_setting_that_is_not_a_boolean_is_warned_about_and_trusts_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[prices.\"claude-sonnet-4-5\"]\ninput = 0\noutput = 0\n",
    )
    .unwrap();
    let user = env.state.join("config.toml");
    for (text, problem) in [
        (
            "[trust]\nrepository_prices = \"yes\"\n",
            format!(
                "warning: {}: [trust] repository_prices must be true or false, not \"yes\": write \
                 `repository_prices = true` to let repositories set prices; until then they may not",
                user.display()
            ),
        ),
        (
            "[trust]\nrepository_prices = true\nrepository_price = true\n",
            format!(
                "warning: {}: unknown key `repository_price` in [trust]: the only key is \
                 repository_prices (like `repository_prices = true`); remove or rename it; until \
                 then repositories may not set prices",
                user.display()
            ),
        ),
    ] {
        std::fs::write(&user, text).unwrap();
        let status = env.agent_cost(&repo, &["status"]);
        assert!(
            status.stderr.contains(&problem),
            "{text}: {}",
            status.stderr
        );
        assert!(
            status
                .stderr
                .contains(&refusal(&env, &repo, "[prices]", "prices are")),
            "{text}: {}",
            status.stderr
        );
    }
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let out = commit(&env, &repo, "a.txt", "Mistyped trust");
    assert!(out.stderr.contains("repository_price"), "{}", out.stderr);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}

#[test]
fn a_repository_credit_rate_needs_the_users_trust_too() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[credits]\nusd_per_credit = 0\n",
    )
    .unwrap();
    let log = |env: &TestEnv| {
        let out = env.agent_cost(
            &repo,
            &["log", "2", "--agent", "kiro", "--unit", "credits", "--json"],
        );
        let entry: Value = serde_json::from_str(&out.stdout).unwrap();
        (entry, out.stderr)
    };
    // Untrusted: recorded at the default rate, 2 credits × 0.04 USD = 80,000 µ$, with the
    // refusal.
    let (entry, stderr) = log(&env);
    assert_eq!(entry["cost_usd_micros"], 80_000, "{entry}");
    assert_eq!(entry["usd_micros_per_credit"], 40_000, "{entry}");
    assert_eq!(
        stderr.trim_end(),
        refusal(&env, &repo, "[credits]", "prices and credit rate are"),
        "{stderr}"
    );
    // Trusted: the repository's rate.
    std::fs::write(env.state.join("config.toml"), TRUST).unwrap();
    let (entry, stderr) = log(&env);
    assert_eq!(entry["cost_usd_micros"], 0, "{entry}");
    assert!(stderr.is_empty(), "{stderr}");
}
