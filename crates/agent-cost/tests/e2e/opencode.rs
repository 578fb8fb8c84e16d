//! Reading OpenCode: its database (made here with the tables OpenCode creates) and the JSON
//! storage of older versions (`tests/fixtures/opencode`), every trap counted by hand.
//!
//! Prices (vendored list, $ per million tokens): claude-sonnet-4-5 3 in / 15 out / 3.75 cache
//! write / 0.30 cache read; gpt-5 1.25 in / 10 out / 0.125 cache read.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::harness::*;

/// OpenCode's data directory in the fake home (`~/.local/share/opencode`).
pub(crate) fn data_dir(env: &TestEnv) -> PathBuf {
    env.root.join("home/.local/share/opencode")
}

/// Copies the hand-written legacy storage in, its placeholder replaced by `repo`.
fn install_storage(env: &TestEnv, repo: &Path) {
    fn copy(from: &Path, to: &Path, repo: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target, repo);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(
                    target,
                    text.replace("@REPO_A@", &repo.display().to_string()),
                )
                .unwrap();
            }
        }
    }
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/opencode/storage");
    copy(&fixtures, &data_dir(env).join("storage"), repo);
}

/// The tables OpenCode 1.x creates that agent-cost reads (with columns it does not read).
const SCHEMA: &str = "
    CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT,
        time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,
        sandboxes TEXT NOT NULL DEFAULT '[]');
    CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT,
        slug TEXT NOT NULL, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
        time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
    CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
        time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
        time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX part_message_idx ON part (message_id);";

/// 2026-06-01T10:00:00Z.
const T0: i64 = 1_780_308_000_000;

/// OpenCode's database with one project and one session in `repo`.
pub(crate) fn database(env: &TestEnv, repo: &Path, journal: &str) -> Connection {
    std::fs::create_dir_all(data_dir(env)).unwrap();
    let db = Connection::open(data_dir(env).join("opencode.db")).unwrap();
    db.pragma_update(None, "journal_mode", journal).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let dir = repo.display().to_string();
    db.execute(
        "INSERT INTO project VALUES ('prj_alpha', ?1, 'git', NULL, 0, 0, '[]')",
        [&dir],
    )
    .unwrap();
    for session in ["ses_db", "ses_alpha"] {
        db.execute(
            "INSERT INTO session VALUES (?1, 'prj_alpha', NULL, 'slug', ?2, 'title', '1.2.3', 0, 0)",
            [session, &dir],
        )
        .unwrap();
    }
    db
}

/// A message row (`data` without `id` and `sessionID`, as OpenCode stores it).
pub(crate) fn message(db: &Connection, id: &str, session: &str, data: &Value) {
    db.execute(
        "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
        rusqlite::params![id, session, T0, data.to_string()],
    )
    .unwrap();
}

/// A part row.
fn part(db: &Connection, id: &str, message: &str, session: &str, data: &Value) {
    db.execute(
        "INSERT INTO part VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        rusqlite::params![id, message, session, T0 + 5_000, data.to_string()],
    )
    .unwrap();
}

pub(crate) fn step(
    input: u64,
    output: u64,
    reasoning: u64,
    read: u64,
    write: u64,
    cost: f64,
) -> Value {
    json!({"type": "step-finish", "reason": "stop", "snapshot": "0a1b2c", "cost": cost,
           "tokens": {"input": input, "output": output, "reasoning": reasoning,
                      "cache": {"read": read, "write": write}}})
}

pub(crate) fn assistant(model: &str, repo: &Path) -> Value {
    json!({"role": "assistant", "modelID": model, "providerID": "openai", "mode": "build",
           "parentID": "msg_u", "cost": 0.01, "path": {"cwd": repo, "root": repo},
           "tokens": {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
           "time": {"created": T0, "completed": T0 + 9_000}})
}

fn has(lines: &[String], line: &str) {
    assert!(lines.iter().any(|l| l == line), "{line} not in {lines:#?}");
}

fn model<'a>(sum: &'a Value, name: &str) -> &'a Value {
    sum["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no {name} in {sum:#}"))
}

fn counts(m: &Value) -> [u64; 5] {
    ["requests", "input", "output", "cache_write", "cache_read"].map(|k| m[k].as_u64().unwrap())
}

#[test]
fn legacy_storage_is_charged_by_the_hook_and_a_rewritten_message_counts_once() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    install_storage(&env, &repo);
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    // msg_a1, two steps: 100 in, 50 out (40 + 10 reasoning), 400 cache writes, 2,000 cache
    // reads → 300 + 750 + 1,500 + 600 = 3,150 µ$; 200 in, 60 out, 3,000 cache reads →
    // 600 + 900 + 900 = 2,400 µ$. Its third step-finish has no tokens.
    has(
        &lines,
        "AI-Model: claude-sonnet-4-5 agent=opencode cost=0.005550",
    );
    has(&lines, "AI-Tokens: req=2 in=300 out=110 cw=400 cr=5000");
    // msg_a2: a model no price list knows, priced at the cost OpenCode recorded.
    has(
        &lines,
        "AI-Model: mystery-model-x agent=opencode cost=0.004321",
    );
    has(&lines, "AI-Agent: opencode sessions=1 cost=0.009871");
    has(&lines, "AI-Cost-Estimate: 0.009871 USD");

    // The next step of msg_a1 ends: its part is added and the message file rewritten whole.
    let storage = data_dir(&env).join("storage");
    std::fs::write(
        storage.join("part/msg_a1/prt_a1g.json"),
        r#"{"id":"prt_a1g","sessionID":"ses_alpha","messageID":"msg_a1","type":"step-finish","reason":"stop","cost":0.00033,"tokens":{"input":10,"output":20,"reasoning":0,"cache":{"read":0,"write":0}}}"#,
    )
    .unwrap();
    let file = storage.join("message/ses_alpha/msg_a1.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("0.0148", "0.01513")).unwrap();
    commit(&env, &repo, "b.txt", "Add b");
    // Only the new step: 10×3 + 20×15 = 330 µ$.
    let lines = ai_trailers(&env, &repo, "HEAD");
    has(
        &lines,
        "AI-Model: claude-sonnet-4-5 agent=opencode cost=0.000330",
    );
    has(&lines, "AI-Cost-Estimate: 0.000330 USD");
    assert!(!lines.iter().any(|l| l.contains("mystery")), "{lines:#?}");

    let total = sum(&env, &repo, "main");
    assert_eq!(micros(&total["cost_usd"]), 10_201, "{total:#}");
    assert_eq!(
        counts(model(&total, "claude-sonnet-4-5")),
        [3, 310, 130, 400, 5000]
    );
    assert_eq!(
        counts(model(&total, "mystery-model-x")),
        [1, 1000, 500, 0, 0]
    );
    assert_eq!(model(&total, "mystery-model-x")["agent"], "opencode");

    // `agent-cost sources` says where OpenCode's data is looked for and what was found.
    let report = env.agent_cost_json(&repo, &["sources", "--no-ingest"]);
    let opencode = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "opencode")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(opencode["agent"], "opencode");
    assert_eq!(
        opencode["roots"][0]["path"],
        data_dir(&env).display().to_string()
    );
    assert_eq!(opencode["roots"][1]["exists"], true);
    assert_eq!(opencode["files_found"], 4, "{opencode:#}");
    assert_eq!(opencode["read"]["skipped_malformed"], 2, "{opencode:#}");

    // Everything read again from scratch adds nothing; the cut-short files are counted.
    env.forget_cursors();
    let again = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(again["events_charged"], 0, "{again:#}");
    assert_eq!(again["malformed_skipped"], 2, "{again:#}");
}

#[test]
fn database_rows_and_their_migrated_copies_count_once_and_an_update_adds_its_growth() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    install_storage(&env, &repo);
    let db = database(&env, &repo, "wal");
    message(&db, "msg_d1", "ses_db", &assistant("gpt-5", &repo));
    part(
        &db,
        "prt_d0",
        "msg_d1",
        "ses_db",
        &json!({"type": "step-start"}),
    );
    part(
        &db,
        "prt_d1",
        "msg_d1",
        "ses_db",
        &step(1000, 200, 100, 4000, 0, 0.01),
    );
    // The legacy msg_a1 as OpenCode migrated it into the database: the same ids.
    let mut migrated = assistant("claude-sonnet-4-5", &repo);
    migrated["providerID"] = json!("anthropic");
    message(&db, "msg_a1", "ses_alpha", &migrated);
    part(
        &db,
        "prt_a1c",
        "msg_a1",
        "ses_alpha",
        &step(100, 40, 10, 2000, 400, 0.0123),
    );
    part(
        &db,
        "prt_a1e",
        "msg_a1",
        "ses_alpha",
        &step(200, 60, 0, 3000, 0, 0.0025),
    );

    // A full ingest reads the database and the legacy files (a hook reads only the database).
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["events_charged"], 4, "{report:#}");
    assert_eq!(report["duplicates"], 2, "{report:#}");
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    has(
        &lines,
        "AI-Model: claude-sonnet-4-5 agent=opencode cost=0.005550",
    );
    // 1,000×1.25 + (200 + 100 reasoning)×10 + 4,000×0.125 = 1,250 + 3,000 + 500 = 4,750 µ$.
    has(&lines, "AI-Model: gpt-5 agent=opencode cost=0.004750");
    has(&lines, "AI-Tokens: req=1 in=1000 out=300 cw=0 cr=4000");
    has(
        &lines,
        "AI-Model: mystery-model-x agent=opencode cost=0.004321",
    );
    has(&lines, "AI-Agent: opencode sessions=2 cost=0.014621");
    has(&lines, "AI-Cost-Estimate: 0.014621 USD");
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 14_621, "{total:#}");
    assert_eq!(total["tokens"]["input"], 2300, "{total:#}");
    assert_eq!(total["tokens"]["output"], 910, "{total:#}");
    assert_eq!(total["tokens"]["cache_write"], 400, "{total:#}");
    assert_eq!(total["tokens"]["cache_read"], 9000, "{total:#}");

    // The step-finish row is updated after it was read (60 more output tokens), and a step
    // of another message ends meanwhile; the hook alone reads both.
    db.execute(
        "UPDATE part SET data = ?1, time_updated = ?2 WHERE id = 'prt_d1'",
        rusqlite::params![
            step(1000, 260, 100, 4000, 0, 0.0106).to_string(),
            T0 + 60_000
        ],
    )
    .unwrap();
    message(&db, "msg_d2", "ses_db", &assistant("gpt-5", &repo));
    part(
        &db,
        "prt_d2",
        "msg_d2",
        "ses_db",
        &step(400, 0, 0, 0, 0, 0.0005),
    );
    commit(&env, &repo, "b.txt", "Add b");
    // 60×10 + 400×1.25 = 600 + 500 = 1,100 µ$.
    let lines = ai_trailers(&env, &repo, "HEAD");
    has(&lines, "AI-Model: gpt-5 agent=opencode cost=0.001100");
    has(&lines, "AI-Cost-Estimate: 0.001100 USD");
    let total = sum(&env, &repo, "main");
    assert_eq!(micros(&total["cost_usd"]), 15_721, "{total:#}");
    assert_eq!(counts(model(&total, "gpt-5")), [2, 1400, 360, 0, 4000]);

    env.forget_cursors();
    let again = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(again["events_charged"], 0, "{again:#}");
    assert_eq!(again["events_topped_up"], 0, "{again:#}");
}

#[test]
fn a_database_locked_by_opencode_fails_nothing_and_is_read_by_the_next_commit() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    // A rollback-journal database: a writer's lock keeps readers out.
    let db = database(&env, &repo, "delete");
    message(&db, "msg_d1", "ses_db", &assistant("gpt-5", &repo));
    part(
        &db,
        "prt_d1",
        "msg_d1",
        "ses_db",
        &step(2000, 0, 0, 0, 0, 0.0025),
    );
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    part(
        &db,
        "prt_d2",
        "msg_d1",
        "ses_db",
        &step(400, 0, 0, 0, 0, 0.0005),
    );

    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["events_charged"], 0, "{report:#}");
    let unreadable = report["unreadable"].to_string();
    assert!(unreadable.contains("locked by OpenCode"), "{report:#}");
    // The commit goes through, with nothing to charge yet.
    commit(&env, &repo, "a.txt", "Add a");
    assert_eq!(ai_trailers(&env, &repo, "HEAD"), Vec::<String>::new());

    db.execute_batch("COMMIT").unwrap();
    commit(&env, &repo, "b.txt", "Add b");
    // Both rows: 2,400 × 1.25 = 3,000 µ$.
    let lines = ai_trailers(&env, &repo, "HEAD");
    has(&lines, "AI-Model: gpt-5 agent=opencode cost=0.003000");
    has(&lines, "AI-Tokens: req=2 in=2400 out=0 cw=0 cr=0");
    // The database is OpenCode's: agent-cost never wrote a row (nor its journal).
    let parts: i64 = db
        .query_row("SELECT COUNT(*) FROM part", [], |row| row.get(0))
        .unwrap();
    assert_eq!(parts, 2);
}

#[test]
fn a_model_priced_from_opencode_cost_stays_priced_when_its_step_grows() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let db = database(&env, &repo, "wal");
    message(&db, "msg_m", "ses_db", &assistant("mystery-model-x", &repo));
    part(
        &db,
        "prt_m",
        "msg_m",
        "ses_db",
        &step(1000, 500, 0, 0, 0, 0.004321),
    );
    env.agent_cost(&repo, &["ingest"]);
    // Read again after OpenCode rewrote the row with more output and its new cost.
    db.execute(
        "UPDATE part SET data = ?1 WHERE id = 'prt_m'",
        [step(1000, 700, 0, 0, 0, 0.005).to_string()],
    )
    .unwrap();
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    has(
        &lines,
        "AI-Model: mystery-model-x agent=opencode cost=0.005000",
    );
    has(&lines, "AI-Tokens: req=1 in=1000 out=700 cw=0 cr=0");
    has(&lines, "AI-Cost-Estimate: 0.005000 USD");
}
