//! Reading GitHub Copilot's logs (VS Code chat sessions, its span database, the Copilot CLI)
//! into the ledger and the commit trailers: every trap of `tests/fixtures/copilot/`, counted by
//! hand.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

const CLI_SESSION: &str = "cccc1111-2222-3333-4444-555566667777";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/copilot")
        .join(name)
}

struct Fixture {
    env: TestEnv,
    /// The VS Code workspace folder ("my repo", named percent-encoded in workspace.json).
    alpha: PathBuf,
    /// Where the Copilot CLI ran.
    beta: PathBuf,
    user: PathBuf,
}

impl Fixture {
    fn chat(&self, name: &str) -> PathBuf {
        self.user
            .join("workspaceStorage/5d41402abc4b2a76/chatSessions")
            .join(name)
    }
}

/// VS Code's `User` dir under the fake home's `~/.config/Code`, the span database, and the
/// Copilot CLI's `~/.copilot`, as the fixtures' README describes.
fn fixture_env() -> Fixture {
    let env = TestEnv::new();
    let alpha = env.tracked_repo("my repo");
    let beta = env.tracked_repo("beta");
    let home = env.root.join("home");
    let user = home.join(".config/Code/User");
    let hash = user.join("workspaceStorage/5d41402abc4b2a76");
    std::fs::create_dir_all(hash.join("chatSessions")).unwrap();
    let uri = format!("file://{}", alpha.display()).replace(' ', "%20");
    let workspace = std::fs::read_to_string(fixture("vscode/workspace.json"))
        .unwrap()
        .replace("@FOLDER_URI@", &uri);
    std::fs::write(hash.join("workspace.json"), workspace).unwrap();
    for name in ["sess-a.json", "sess-b.jsonl"] {
        std::fs::copy(
            fixture(&format!("vscode/{name}")),
            hash.join("chatSessions").join(name),
        )
        .unwrap();
    }
    let empty = user.join("globalStorage/emptyWindowChatSessions");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::copy(
        fixture("vscode/empty-window.json"),
        empty.join("sess-e.json"),
    )
    .unwrap();
    make_traces_db(&user.join("globalStorage/github.copilot-chat/agent-traces.db"));
    let cli = home.join(".copilot");
    let session = cli.join("session-state").join(CLI_SESSION);
    std::fs::create_dir_all(&session).unwrap();
    std::fs::create_dir_all(cli.join("history-session-state")).unwrap();
    for (name, to) in [
        ("cli/events.jsonl", session.join("events.jsonl")),
        (
            "cli/legacy.jsonl",
            cli.join(format!("history-session-state/{CLI_SESSION}.jsonl")),
        ),
    ] {
        let text = std::fs::read_to_string(fixture(name))
            .unwrap()
            .replace("@REPO@", &beta.display().to_string());
        std::fs::write(to, text).unwrap();
    }
    Fixture {
        env,
        alpha,
        beta,
        user,
    }
}

/// Two `chat` spans of request r1 of sess-a, a tool span, and a `chat` span of a session that
/// has no file (unattributed).
fn make_traces_db(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE spans (span_id TEXT, trace_id TEXT, operation_name TEXT,
             chat_session_id TEXT, request_model TEXT, input_tokens INTEGER,
             output_tokens INTEGER, cached_tokens INTEGER, reasoning_tokens INTEGER,
             end_time_ms INTEGER, span_attributes TEXT);
         INSERT INTO spans VALUES
           ('s1', 't1', 'chat', 'sess-a', 'claude-opus-4.5', 5000, 400, 3000, 0, 1780000020000,
            '{\"gen_ai.usage.cache_creation.input_tokens\":500}'),
           ('s2', 't1', 'chat', 'sess-a', 'claude-opus-4.5', 2000, 100, 1500, 0, 1780000040000,
            '{}'),
           ('s3', 't1', 'execute_tool', 'sess-a', NULL, NULL, NULL, NULL, NULL, 1780000030000,
            '{}'),
           ('s4', 't1', 'chat', 'sess-x', 'gpt-4o', 100, 10, 0, 0, 1780000005000, '{}');",
    )
    .unwrap();
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

/// (model, [requests, input, output, cache write, cache read], USD in micro-dollars) of what
/// ran in alpha, after sess-a was rewritten.
const ALPHA: [(&str, [u64; 5], u64); 7] = [
    // r1 (3x) with the exact tokens of its two spans: 1500 + 500 uncached, 400 + 100 out,
    // 500 cache writes, 3000 + 1500 cache reads; its own counts left out.
    ("claude-opus-4.5", [1, 2000, 500, 500, 4500], 120_000),
    // r3, finished in the rewrite (1x), its own counts.
    ("gpt-5", [1, 700, 70, 0, 0], 40_000),
    // r4 (0x).
    ("gpt-4.1", [1, 800, 50, 0, 0], 0),
    // r5: a model the table does not know, no details: 1x.
    ("some-future-model", [1, 0, 0, 0, 0], 40_000),
    // r6: selectedModel only, the table's 0.33x: 0.0132 USD.
    ("claude-haiku-4.5", [1, 0, 0, 0, 0], 13_200),
    // sess-b.jsonl replayed: b1 (1x), b2 (0x); b3's line is unfinished.
    ("claude-sonnet-4.5", [1, 500, 100, 0, 0], 40_000),
    ("gpt-5-mini", [1, 0, 0, 0, 0], 0),
];

fn check_alpha(spend: &Value) {
    for (name, counts, usd) in ALPHA {
        let m = model(spend, name);
        assert_eq!(m["agent"], "copilot", "{name}");
        assert_eq!(tokens(m), counts, "{name}");
        assert_eq!(micros(&m["cost_usd"]), usd, "{name}");
    }
    assert_eq!(spend["models"].as_array().unwrap().len(), ALPHA.len());
    assert_eq!(micros(&spend["cost_usd"]), 253_200, "{spend:#}");
}

#[test]
fn copilot_traps_are_counted_exactly_once() {
    let f = fixture_env();
    let report = f.env.agent_cost_json(&f.alpha, &["ingest"]);
    // sess-a (r1, r4, r5), sess-b (b1, b2), the empty window (e1), spans s1, s2, s4, the CLI
    // log (4 messages, 2 premium-request counts, 2 shutdown remainders); the legacy copy of
    // the CLI session adds nothing.
    assert_eq!(report["events_charged"], 3 + 2 + 1 + 3 + 8, "{report:#}");
    assert_eq!(report["malformed_skipped"], 1, "{report:#}");
    assert_eq!(report["charged_to"]["unattributed"], 2, "{report:#}");

    // sess-a rewritten whole: r3 finished, r6 added; nothing else counts again.
    std::fs::copy(
        fixture("vscode/sess-a.rewritten.json"),
        f.chat("sess-a.json"),
    )
    .unwrap();
    let report = f.env.agent_cost_json(&f.alpha, &["ingest"]);
    assert_eq!(report["events_charged"], 2, "{report:#}");
    check_alpha(&f.env.agent_cost_json(&f.alpha, &["status", "--no-ingest"])["pending"]);

    // The CLI ran in beta: claude-sonnet-4.5 2 premium requests (0.08 USD) with 3 messages,
    // gpt-4.1 none.
    let beta = f.env.agent_cost_json(&f.beta, &["status", "--no-ingest"]);
    let sonnet = model(&beta["pending"], "claude-sonnet-4.5");
    assert_eq!(tokens(sonnet), [3, 2000, 300, 1000, 6000]);
    assert_eq!(micros(&sonnet["cost_usd"]), 80_000);
    let gpt41 = model(&beta["pending"], "gpt-4.1");
    assert_eq!(tokens(gpt41), [1, 1000, 60, 0, 0]);
    assert_eq!(micros(&gpt41["cost_usd"]), 0);

    // Reading everything again, without cursors, adds nothing.
    f.env.forget_cursors();
    let again = f.env.agent_cost_json(&f.alpha, &["ingest"]);
    assert_eq!(again["events_charged"], 0, "{again:#}");
    check_alpha(&f.env.agent_cost_json(&f.alpha, &["status", "--no-ingest"])["pending"]);
}

#[test]
fn a_commit_carries_copilot_premium_requests_and_their_estimate() {
    let f = fixture_env();
    std::fs::copy(
        fixture("vscode/sess-a.rewritten.json"),
        f.chat("sess-a.json"),
    )
    .unwrap();
    commit(&f.env, &f.alpha, "a.txt", "Add a");
    let lines = ai_trailers(&f.env, &f.alpha, "HEAD");
    for line in [
        "AI-Agent: copilot sessions=2 cost=0.253200",
        "AI-Model: claude-opus-4.5 agent=copilot cost=0.120000",
        "AI-Tokens: req=1 in=2000 out=500 cw=500 cr=4500",
        "AI-Quantity: 3 premium-requests",
        "AI-Model: claude-haiku-4.5 agent=copilot cost=0.013200",
        "AI-Quantity: 0.33 premium-requests",
        "AI-Model: some-future-model agent=copilot cost=0.040000",
        "AI-Cost-Estimate: 0.253200 USD",
        // 3 + 1 + 0 + 1 + 0.33 + 1 + 0
        "AI-Cost-Estimate: 6.33 premium-requests",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }
    // No model is unpriced: premium requests are priced at their estimate, whatever the
    // price list knows of the model.
    assert!(!lines.iter().any(|l| l.contains("unpriced")), "{lines:#?}");

    let total = sum(&f.env, &f.alpha, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 253_200, "{total:#}");
    let units = total["units"].as_array().unwrap();
    assert_eq!(units.len(), 1, "{total:#}");
    assert_eq!(units[0]["unit"], "premium-requests");
    assert_eq!(units[0]["amount"].as_f64(), Some(6.33), "{total:#}");
    let opus = model(&total, "claude-opus-4.5");
    assert_eq!(opus["units"][0]["amount"].as_f64(), Some(3.0), "{total:#}");
    assert_eq!(micros(&opus["cost_usd"]), 120_000);

    // The CLI's spend is beta's, not alpha's.
    commit(&f.env, &f.beta, "b.txt", "Add b");
    let lines = ai_trailers(&f.env, &f.beta, "HEAD");
    for line in [
        "AI-Model: claude-sonnet-4.5 agent=copilot cost=0.080000",
        "AI-Tokens: req=3 in=2000 out=300 cw=1000 cr=6000",
        "AI-Quantity: 2 premium-requests",
        "AI-Cost-Estimate: 0.080000 USD",
        "AI-Cost-Estimate: 2 premium-requests",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }
}

#[test]
fn multipliers_can_be_overridden_in_the_user_config() {
    let f = fixture_env();
    // Opus at 10x and anything else unnamed at 2x; 0.05 USD a premium request. The details
    // of a request ("• 3x") say what Copilot itself charged and still win over the table.
    std::fs::write(
        f.env.state.join("config.toml"),
        "[copilot]\nusd_per_premium_request = 0.05\n\n[copilot.multipliers]\n\
         \"claude-haiku-4.5\" = 1\n\"*\" = 2\n",
    )
    .unwrap();
    std::fs::copy(
        fixture("vscode/sess-a.rewritten.json"),
        f.chat("sess-a.json"),
    )
    .unwrap();
    let status = f.env.agent_cost_json(&f.alpha, &["status"]);
    let pending = &status["pending"];
    // r6 (no details): 1 × 0.05; r5 (no details, unknown): 2 × 0.05; r1: 3 × 0.05.
    assert_eq!(
        micros(&model(pending, "claude-haiku-4.5")["cost_usd"]),
        50_000
    );
    assert_eq!(
        micros(&model(pending, "some-future-model")["cost_usd"]),
        100_000
    );
    assert_eq!(
        micros(&model(pending, "claude-opus-4.5")["cost_usd"]),
        150_000
    );

    // A broken table is reported, and the built-in multipliers are used.
    std::fs::write(
        f.env.state.join("config.toml"),
        "[copilot.multipliers]\n\"gpt-5\" = \"one\"\n",
    )
    .unwrap();
    let ran = f.env.agent_cost(&f.alpha, &["status"]);
    assert!(
        ran.stderr
            .contains("Copilot's built-in multipliers are used")
            || ran
                .stdout
                .contains("Copilot's built-in multipliers are used"),
        "{}{}",
        ran.stdout,
        ran.stderr
    );
}
