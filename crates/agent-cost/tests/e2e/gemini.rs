//! Reading Gemini CLI chats: every trap of the reference, counted by hand (see
//! `tests/fixtures/gemini/README.md` for the arithmetic).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// `~/.gemini` of the fake home.
fn gemini_dir(env: &TestEnv) -> PathBuf {
    env.root.join("home/.gemini")
}

/// Copies a Gemini fixture to `tmp/<folder>/chats/<name>` under `gemini`, replacing
/// placeholders.
fn install(gemini: &Path, fixture: &str, folder: &str, name: &str, places: &[(&str, &str)]) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/gemini")
        .join(fixture);
    let mut text = std::fs::read_to_string(source).unwrap();
    for (placeholder, value) in places {
        text = text.replace(placeholder, value);
    }
    let target = gemini.join("tmp").join(folder).join("chats").join(name);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(target, text).unwrap();
}

fn fixture_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/gemini")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The project folder `shop` (Gemini CLI's newer layout), rooted at `root`.
fn shop_folder(gemini: &Path, root: &Path) {
    let folder = gemini.join("tmp/shop");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(".project_root"), root.display().to_string()).unwrap();
}

const REWRITE: &str = "session-2026-06-01T10-00-5e551a0e.jsonl";
const LEGACY: &str = "session-2026-06-01T09-00-1e6ac100.json";
/// A resumed legacy chat: the same name with an `l`.
const RESUMED: &str = "session-2026-06-01T09-00-1e6ac100.jsonl";

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

/// gemini-2.5-pro: 1.25 $/M input, 0.125 $/M cache reads, 10 $/M output;
/// gemini-2.5-flash: 0.30 / 0.03 / 2.50.
fn check_shop(status: &Value) {
    let pending = &status["pending"];
    // g1 (last copy 3000 in, 9000 cached, 400 out) 8,875 µ$; g2 3,750; g3 (rewound, still
    // paid) 7,875; g4 (1528 in with the tool-use prompt) 4,410.
    let pro = model(pending, "gemini-2.5-pro");
    assert_eq!(pro["agent"], "gemini-cli");
    assert_eq!(tokens(pro), [4, 6_528, 1_100, 0, 46_000]);
    assert_eq!(micros(&pro["cost_usd"]), 24_910);
    // m2 (4000 in, 100 out) 1,450 µ$, read from the legacy file and from its resumed copy
    // once; m5 (1000 in, 5000 cached, 60 out) 600 µ$.
    let flash = model(pending, "gemini-2.5-flash");
    assert_eq!(tokens(flash), [2, 5_000, 160, 0, 5_000]);
    assert_eq!(micros(&flash["cost_usd"]), 2_050);
    assert_eq!(pending["requests"], 6);
    assert_eq!(micros(&pending["cost_usd"]), 26_960);
}

#[test]
fn gemini_traps_are_counted_exactly_once() {
    let env = TestEnv::new();
    let shop = env.repo("shop");
    let beta = env.repo("beta");
    let gemini = gemini_dir(&env);
    shop_folder(&gemini, &shop);
    // beta is known from the registry alone (no marker in its folder).
    std::fs::create_dir_all(&gemini).unwrap();
    std::fs::write(
        gemini.join("projects.json"),
        serde_json::json!({"projects": {beta.display().to_string(): "beta"}}).to_string(),
    )
    .unwrap();
    install(&gemini, "rewrite.jsonl", "shop", REWRITE, &[]);
    install(&gemini, "legacy.json", "shop", LEGACY, &[]);
    install(&gemini, "legacy-resumed.jsonl", "shop", RESUMED, &[]);
    install(
        &gemini,
        "corrupt.json",
        "shop",
        "session-2026-06-01T11-00-c0bb0000.json",
        &[],
    );
    install(
        &gemini,
        "unknown-model.jsonl",
        "beta",
        "session-2026-06-01T12-00-be7a0000.jsonl",
        &[],
    );
    // An old hash-named folder whose root nothing names: sha256("/nowhere/project").
    install(
        &gemini,
        "unmapped.jsonl",
        "7a029fd580dc21593178a591f6ecaa60b433e3c5947f96e7e2665851c1442965",
        "session-2026-06-01T13-00-10570000.jsonl",
        &[],
    );

    let report = env.agent_cost_json(&shop, &["ingest"]);
    assert_eq!(report["files_found"], 6, "{report:#}");
    // g1 g2 g3 g4, m2 m5, b1 b3, l1; g1's larger copy replaces the first; m2's resumed
    // copy is a duplicate.
    assert_eq!(report["events_charged"], 9, "{report:#}");
    assert_eq!(report["events_topped_up"], 1, "{report:#}");
    assert_eq!(report["duplicates"], 1, "{report:#}");
    // b2's tokens are not numbers; the corrupt legacy file.
    assert_eq!(report["malformed_skipped"], 2, "{report:#}");
    let charged = &report["charged_to"];
    assert_eq!(charged[shop.display().to_string()], 6, "{report:#}");
    assert_eq!(charged[beta.display().to_string()], 2, "{report:#}");
    assert_eq!(charged["unattributed"], 1, "{report:#}");
    check_shop(&env.agent_cost_json(&shop, &["status", "--no-ingest"]));

    // `agent-cost sources` tells where Gemini chats are looked for and what was read.
    let sources = env.agent_cost_json(&shop, &["sources", "--no-ingest"]);
    let gemini_source = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "gemini-cli")
        .unwrap_or_else(|| panic!("{sources:#}"));
    assert_eq!(gemini_source["files_found"], 6, "{gemini_source:#}");
    assert_eq!(
        gemini_source["roots"][0]["path"],
        gemini.join("tmp").display().to_string()
    );
    assert_eq!(gemini_source["roots"][0]["exists"], true);
    assert_eq!(
        gemini_source["read"]["skipped_malformed"], 2,
        "{gemini_source:#}"
    );

    // beta: an unknown model is unpriced, its tokens still counted; gemini-3-flash-preview
    // (0.50 / 0.05 / 3.00 $/M): 1000×0.5 + 1000×0.05 + 200×3 = 1,150 µ$.
    let status = env.agent_cost_json(&beta, &["status", "--no-ingest"]);
    let pending = &status["pending"];
    let unknown = model(pending, "gemini-9-ultra");
    assert_eq!(tokens(unknown), [1, 700, 30, 0, 0]);
    assert!(unknown["cost_usd"].is_null(), "{status:#}");
    let flash3 = model(pending, "gemini-3-flash-preview");
    assert_eq!(tokens(flash3), [1, 1_000, 200, 0, 1_000]);
    assert_eq!(micros(&flash3["cost_usd"]), 1_150);
    assert_eq!(pending["incomplete"], true);

    // Reading everything again, without cursors, adds nothing.
    env.forget_cursors();
    let again = env.agent_cost_json(&shop, &["ingest"]);
    assert_eq!(again["events_charged"], 0, "{again:#}");
    // Read from the top, g1's copies replace each other in the order written (its first
    // copy, then the `$set` one): back where it was.
    assert_eq!(again["events_topped_up"], 2, "{again:#}");
    check_shop(&env.agent_cost_json(&shop, &["status", "--no-ingest"]));
}

#[test]
fn commits_carry_gemini_spend_and_a_rewrite_adds_only_what_is_new() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    let gemini = gemini_dir(&env);
    shop_folder(&gemini, &repo);
    install(&gemini, "rewrite.jsonl", "shop", REWRITE, &[]);
    install(&gemini, "legacy.json", "shop", LEGACY, &[]);

    // The hook reads the worktree's own project folder.
    commit(&env, &repo, "a.txt", "Add cart total");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: gemini-2.5-flash agent=gemini-cli cost=0.001450",
        "AI-Tokens: req=1 in=4000 out=100 cw=0 cr=0",
        "AI-Model: gemini-2.5-pro agent=gemini-cli cost=0.024910",
        "AI-Tokens: req=4 in=6528 out=1100 cw=0 cr=46000",
        "AI-Cost-Estimate: 0.026360 USD",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }

    // The legacy file rewritten whole with one more message: only m4 (1000 in, 4000 cached,
    // 200 out: 300 + 120 + 500 = 920 µ$).
    install(&gemini, "legacy-rewritten.json", "shop", LEGACY, &[]);
    commit(&env, &repo, "b.txt", "Test rounding");
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.contains(&"AI-Cost-Estimate: 0.000920 USD".to_string()),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("gemini-2.5-pro")),
        "{lines:#?}"
    );

    // The truncated last line completed: g5 (1000 in, 14000 cached, 60 out: 1,250 + 1,750 +
    // 600 = 3,600 µ$).
    append(
        &gemini.join("tmp/shop/chats").join(REWRITE),
        &fixture_text("rewrite.rest"),
    );
    commit(&env, &repo, "c.txt", "Pass tests");
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: gemini-2.5-pro agent=gemini-cli cost=0.003600",
        "AI-Cost-Estimate: 0.003600 USD",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }

    // A commit with nothing new gets no trailers.
    commit(&env, &repo, "d.txt", "Docs");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());

    let total = sum(&env, &repo, "HEAD");
    assert_eq!(total["commits_with_cost"], 3, "{total:#}");
    assert_eq!(micros(&total["cost_usd"]), 30_880, "{total:#}");
    assert_eq!(total["tokens"]["input"], 12_528, "{total:#}");
    assert_eq!(total["tokens"]["output"], 1_460, "{total:#}");
    assert_eq!(total["tokens"]["cache_read"], 64_000, "{total:#}");
    assert_eq!(total["tokens"]["cache_write"], 0, "{total:#}");
    let pro = model(&total, "gemini-2.5-pro");
    assert_eq!(pro["agent"], "gemini-cli");
    assert_eq!(tokens(pro), [5, 7_528, 1_160, 0, 60_000]);
    assert_eq!(micros(&pro["cost_usd"]), 28_510);
    let flash = model(&total, "gemini-2.5-flash");
    assert_eq!(tokens(flash), [2, 5_000, 300, 0, 4_000]);
    assert_eq!(micros(&flash["cost_usd"]), 2_370);
}

#[test]
fn an_older_hash_named_folder_under_gemini_cli_home_is_charged_by_its_worktrees_hook() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("old");
    // Gemini CLI's own override of the home directory.
    let home = env.root.join("gemini-home");
    let gemini = home.join(".gemini");
    let hash = sha256_hex(&repo.display().to_string());
    install(
        &gemini,
        "hashed.jsonl",
        &hash,
        "session-2026-06-01T14-00-4a540000.jsonl",
        &[("@HASH@", &hash)],
    );
    stage(&env, &repo, "a.txt");
    let home_var = home.display().to_string();
    env.git_env(
        &repo,
        &["commit", "-q", "-m", "Add a"],
        &[("GEMINI_CLI_HOME", home_var.as_str())],
    );
    // h1: 1000 in, 2000 cached, 40 out: 1,250 + 250 + 400 = 1,900 µ$.
    let lines = ai_trailers(&env, &repo, "HEAD");
    for line in [
        "AI-Model: gemini-2.5-pro agent=gemini-cli cost=0.001900",
        "AI-Tokens: req=1 in=1000 out=40 cw=0 cr=2000",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
    }
}

/// SHA-256 of a text, by the coreutils tool (as Gemini CLI names older project folders).
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_string()
}
