//! Reading OpenAI Codex CLI rollouts: every trap of the reference, counted by hand.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

struct Fixture {
    env: TestEnv,
    repo_a: PathBuf,
    repo_b: PathBuf,
}

const MAIN: &str = "rollout-2026-06-01T10-00-00-codex-a.jsonl";

fn fixture() -> Fixture {
    let env = TestEnv::new();
    let repo_a = env.repo("alpha");
    let repo_b = env.repo("beta");
    let places = [
        ("@REPO_A@", repo_a.as_path()),
        ("@REPO_B@", repo_b.as_path()),
    ];
    let day = "sessions/2026/06/01";
    for name in [
        MAIN,
        "rollout-2026-06-01T11-00-00-codex-f.jsonl",
        "rollout-2026-06-01T12-00-00-codex-g.jsonl",
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "rollout-2026-06-01T14-00-00-codex-t.jsonl",
    ] {
        env.install_codex_fixture(name, &format!("{day}/{name}"), &places);
    }
    // The same rollouts archived (same names), and one copied under another name.
    for name in [MAIN, "rollout-2026-06-01T12-00-00-codex-g.jsonl"] {
        env.install_codex_fixture(name, &format!("archived_sessions/{name}"), &places);
    }
    env.install_codex_fixture(
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "archived_sessions/rollout-2026-06-01T13-00-00-codex-c-copy.jsonl",
        &places,
    );
    // The model of the rollout whose lines name none.
    std::fs::write(env.codex.join("config.toml"), "model = \"gpt-5.1-codex\"\n").unwrap();
    Fixture {
        env,
        repo_a,
        repo_b,
    }
}

fn model<'a>(spend: &'a Value, name: &str) -> &'a Value {
    spend["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no {name} in {spend:#}"))
}

fn tokens(m: &Value) -> [u64; 5] {
    ["requests", "input", "output", "cache_write", "cache_read"].map(|k| m[k].as_u64().unwrap())
}

/// gpt-5: 1.25 $/M input, 0.125 $/M cache reads, 10 $/M output.
fn check_alpha(status: &Value) {
    let pending = &status["pending"];
    // codex-a: deltas (760 in, 240 cached, 100 out), (960, 1040, 150), after the total went
    // down its last usage (500, 0, 20), then (320, 80, 40); the re-emitted totals, `info: null`
    // and the malformed line add nothing. codex-f replays codex-a's first two totals (already
    // counted) and adds (300, 1200, 50); codex-g starts from its parent's total and adds
    // (120, 480, 40).
    let gpt5 = model(pending, "gpt-5");
    assert_eq!(gpt5["agent"], "codex");
    assert_eq!(tokens(gpt5), [6, 2960, 400, 0, 3040]);
    // 2960×1.25 + 3040×0.125 + 400×10 = 3,700 + 380 + 4,000 = 8,080 µ$
    assert_eq!(micros(&gpt5["cost_usd"]), 8_080);
    // codex-c names no model: config.toml's gpt-5.1-codex (same prices): 2000×1.25 + 100×10.
    let configured = model(pending, "gpt-5.1-codex");
    assert_eq!(tokens(configured), [1, 2000, 100, 0, 0]);
    assert_eq!(micros(&configured["cost_usd"]), 3_500);
    assert_eq!(pending["requests"], 7);
    assert_eq!(micros(&pending["cost_usd"]), 11_580);
}

#[test]
fn codex_traps_are_counted_exactly_once() {
    let f = fixture();
    let report = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    // The archived copies with the same names are not even read; the one under another name
    // is read and its event recognised; codex-f's two replayed totals are codex-a's events.
    assert_eq!(report["files_found"], 6, "{report:#}");
    assert_eq!(report["events_charged"], 9, "{report:#}");
    assert_eq!(report["duplicates"], 3, "{report:#}");
    assert_eq!(report["malformed_skipped"], 1, "{report:#}");
    check_alpha(&f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]));

    // codex-t (Codex 0.51 `turn.completed` per-turn usage) ran in beta: (600, 400, 100) and
    // (400, 1600, 50) → 1000×1.25 + 2000×0.125 + 150×10 = 3,000 µ$.
    let beta = f.env.agent_cost_json(&f.repo_b, &["status", "--no-ingest"]);
    let gpt5 = model(&beta["pending"], "gpt-5");
    assert_eq!(tokens(gpt5), [2, 1000, 150, 0, 2000]);
    assert_eq!(micros(&gpt5["cost_usd"]), 3_000);

    // Reading everything again, without cursors, adds nothing.
    f.env.forget_cursors();
    let again = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    assert_eq!(again["events_charged"], 0, "{again:#}");
    check_alpha(&f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]));
}

#[test]
fn an_append_continues_the_deltas_from_the_saved_total() {
    let f = fixture();
    f.env.agent_cost(&f.repo_a, &["ingest"]);
    // The truncated last line is left alone until it is complete.
    let unchanged = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    assert_eq!(unchanged["events_charged"], 0, "{unchanged:#}");
    let rest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/codex/rollout-2026-06-01T10-00-00-codex-a.rest");
    let path = f.env.codex.join("sessions/2026/06/01").join(MAIN);
    append(&path, &std::fs::read_to_string(rest).unwrap());
    let report = f.env.agent_cost_json(&f.repo_a, &["ingest"]);
    // Only the completed line is read, and only its growth over the saved total counts:
    // (1900, 880, 160) − (900, 80, 60) = 200 uncached, 800 cached, 100 out.
    assert_eq!(report["events_charged"], 1, "{report:#}");
    assert_eq!(report["files_read"], 1, "{report:#}");
    assert_eq!(report["files_reread"], 0, "{report:#}");
    let status = f.env.agent_cost_json(&f.repo_a, &["status", "--no-ingest"]);
    let gpt5 = model(&status["pending"], "gpt-5");
    assert_eq!(tokens(gpt5), [7, 3160, 500, 0, 3840]);
    // 8,080 + 200×1.25 + 800×0.125 + 100×10 = 8,080 + 1,350 = 9,430 µ$
    assert_eq!(micros(&gpt5["cost_usd"]), 9_430);
}

#[test]
fn one_commit_carries_claude_code_and_codex_spend() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    // Claude Code: 100×3 + 1000×15 = 15,300 µ$.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    // Codex: codex-t's two turns, 3,000 µ$.
    env.install_codex_fixture(
        "rollout-2026-06-01T14-00-00-codex-t.jsonl",
        "sessions/2026/06/01/rollout-2026-06-01T14-00-00-codex-t.jsonl",
        &[("@REPO_B@", repo.as_path())],
    );
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.015300",
        "AI-Model: gpt-5 agent=codex cost=0.003000",
        "AI-Cost-Estimate: 0.018300 USD",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 18_300, "{total:#}");
    assert_eq!(total["tokens"]["input"], 1100, "{total:#}");
    assert_eq!(total["tokens"]["output"], 1150, "{total:#}");
    assert_eq!(total["tokens"]["cache_read"], 2000, "{total:#}");
    let models = total["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{total:#}");
    let codex = models.iter().find(|m| m["agent"] == "codex").unwrap();
    assert_eq!(codex["model"], "gpt-5");
    assert_eq!(codex["requests"], 2);
    assert_eq!(micros(&codex["cost_usd"]), 3_000);
    let claude = models.iter().find(|m| m["agent"] == "claude-code").unwrap();
    assert_eq!(micros(&claude["cost_usd"]), 15_300);
}

#[test]
fn a_rollout_without_any_model_is_counted_unpriced() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    // codex-c names no model, and there is no config.toml.
    env.install_codex_fixture(
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "sessions/2026/06/01/rollout-2026-06-01T13-00-00-codex-c.jsonl",
        &[("@REPO_A@", repo.as_path())],
    );
    let status = env.agent_cost_json(&repo, &["status"]);
    let pending = &status["pending"];
    let unknown = model(pending, "unknown");
    assert_eq!(unknown["agent"], "codex");
    assert_eq!(tokens(unknown), [1, 2000, 100, 0, 0]);
    assert!(unknown["cost_usd"].is_null(), "{status:#}");
    assert_eq!(pending["incomplete"], true);
}
