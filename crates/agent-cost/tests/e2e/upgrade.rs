//! Upgrading from the first ledger (journals and `seen` shards in each git dir, `cursors.json`
//! and `unattributed/` in AGENT_COST_HOME): its pending spend is imported once, its outstanding
//! proposals still settle, and nothing it had charged is charged again.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::*;

/// Drain ids of the blocks the first version wrote (typed into the messages by hand here).
const SETTLED_ID: &str = "5e771ed0c0ffee01";
const PROPOSED_ID: &str = "b10c0c0ffee00002";

/// Micro-dollars of the Sonnet requests below (3 µ$ per input token, 15 per output token).
const MSG_S: u64 = 100 * 3 + 1000 * 15;
const MSG_P: u64 = 10 * 3 + 100 * 15;
const MSG_A: u64 = 20 * 3 + 200 * 15;
const MSG_B: u64 = 30 * 3 + 300 * 15;

fn requests() -> [Request; 4] {
    [
        sonnet("msg_s", 100, 1000),
        sonnet("msg_p", 10, 100),
        sonnet("msg_a", 20, 200),
        sonnet("msg_b", 30, 300),
    ]
}

fn block(id: &str, input: u64, output: u64, micros: u64) -> String {
    let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    format!(
        "AI-Agent: claude-code sessions=1 cost={cost}\n\
         AI-Model: claude-sonnet-4-5 agent=claude-code requests=1 in={input} out={output} \
         cache-write=0 cache-read=0 cost={cost}\n\
         AI-Cost-Estimate: {cost} USD\n\
         AI-Cost-Id: {id}\n"
    )
}

fn charge(seq: u64, request: &Request, session: &str) -> serde_json::Value {
    let [input, output, write_5m, write_1h, read] = request.tokens;
    json!({"charge": {"seq": seq, "event": format!("claude:{}", request.id),
        "agent": "claude-code", "session": session, "model": request.model,
        "ts": request.timestamp,
        "tokens": {"input": input, "output": output, "cache_write_5m": write_5m,
            "cache_write_1h": write_1h, "cache_read": read},
        "requests": 1, "branch": "main"}})
}

fn shard_line(seq: u64, request: &Request) -> String {
    let [input, output, write_5m, write_1h, read] = request.tokens;
    format!(
        "{seq}\tclaude:{}\t{input}\t{output}\t{write_5m}\t{write_1h}\t{read}\n",
        request.id
    )
}

fn write_lines(path: &Path, lines: &[serde_json::Value]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// A repository as the first version left it: hooks installed, a commit carrying the drain of
/// `msg_s`, a commit carrying the outstanding proposal of `msg_p` (its post-commit never ran),
/// `msg_a` and `msg_b` pending, and the transcript holding all four requests.
fn first_version_repo(env: &TestEnv) -> (PathBuf, PathBuf) {
    let repo = env.repo("alpha");
    agent_cost_hooks::install::install(&repo.join(".git/hooks"), Path::new(BIN)).unwrap();
    let transcript = env.claude_lines(&repo, "s1", &requests());
    let [s, p, a, b] = requests();
    let disabled = [("AGENT_COST_DISABLE", "1")];
    for (file, subject, block) in [
        ("s.txt", "Settled work", block(SETTLED_ID, 100, 1000, MSG_S)),
        ("p.txt", "Proposed work", block(PROPOSED_ID, 10, 100, MSG_P)),
    ] {
        stage(env, &repo, file);
        let message = format!("{subject}\n\n{block}");
        env.git_env(&repo, &["commit", "-q", "-m", &message], &disabled);
    }

    let tally = repo.join(".git/agent-cost");
    write_lines(
        &tally.join("journal"),
        &[
            json!({"base": {"settled_upto": 1, "next_seq": 2}}),
            charge(2, &p, "s1"),
            json!({"propose": {"drain": PROPOSED_ID, "upto": 2, "at": "2026-06-01T12:30:00Z"}}),
            charge(3, &a, "s1"),
            charge(4, &b, "s1"),
        ],
    );
    std::fs::create_dir_all(tally.join("seen")).unwrap();
    std::fs::write(
        tally.join("seen/1c"),
        shard_line(1, &s) + &shard_line(3, &a),
    )
    .unwrap();
    std::fs::write(
        tally.join("seen/e4"),
        shard_line(2, &p) + &shard_line(4, &b),
    )
    .unwrap();
    std::fs::write(
        tally.join("seen/watermark"),
        r#"{"upto":4,"journal_inode":0,"journal_offset":0}"#,
    )
    .unwrap();
    std::fs::write(
        tally.join("tracking.json"),
        "{\n  \"since\": \"2026-01-01T00:00:00Z\"\n}\n",
    )
    .unwrap();
    (repo, transcript)
}

/// The first version's cursor of a file read to its end (it had no `ctime_ns` nor `pending`).
fn cursor_at_end(path: &Path) -> serde_json::Value {
    let options = agent_cost_sources::tail::ReadOptions::default();
    let (cursor, _, _) = agent_cost_sources::tail::read_lines(path, None, &options, |_| {
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    let mut cursor = serde_json::to_value(cursor).unwrap();
    let fields = cursor.as_object_mut().unwrap();
    fields.remove("ctime_ns");
    fields.remove("pending");
    cursor
}

fn pending_micros(status: &serde_json::Value) -> u64 {
    micros(&status["pending"]["cost_usd"])
}

#[test]
fn an_upgrade_keeps_pending_spend_settles_old_proposals_and_counts_everything_once() {
    let env = TestEnv::new();
    let (repo, transcript) = first_version_repo(&env);
    // Spend outside any repository, in the unattributed tally, and the read cursors.
    let outside = env.claude_lines(&env.outside(), "s2", &[sonnet("msg_u", 1, 10)]);
    write_lines(
        &env.state.join("unattributed/journal"),
        &[charge(1, &sonnet("msg_u", 1, 10), "s2")],
    );
    let cursors = json!({"version": 1, "files": {
        transcript.to_str().unwrap(): cursor_at_end(&transcript),
        outside.to_str().unwrap(): cursor_at_end(&outside),
    }});
    std::fs::write(env.state.join("cursors.json"), cursors.to_string()).unwrap();

    // status: exactly the pending spend; the proposal in HEAD settled.
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["tracking_since"], "2026-01-01T00:00:00Z");
    assert_eq!(status["pending"]["requests"], 2, "{status}");
    assert_eq!(pending_micros(&status), MSG_A + MSG_B);
    assert_eq!(status["pending"]["tokens"]["output"], 500);
    assert_eq!(status["outstanding_drains"], 0);
    assert_eq!(status["unattributed"]["requests"], 1);
    let head = env.git(&repo, &["rev-parse", "HEAD"]).stdout;
    let settled_in: String = env
        .ledger()
        .query_row(
            "SELECT commit_id FROM drains WHERE drain = ?1 AND state = 'settled'",
            [PROPOSED_ID],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(settled_in, head.trim());
    // The old files are kept, renamed, and not imported again.
    assert!(!repo.join(".git/agent-cost").exists());
    assert!(repo.join(".git/agent-cost.imported-v1/journal").exists());
    assert!(env.state.join("cursors.json.imported-v1").exists());
    assert!(env.state.join("unattributed.imported-v1").exists());

    // The cursors came along: nothing to read.
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["files_read"], 0, "{report}");
    // A full re-read charges nothing the first version had charged, settled or pending.
    env.forget_cursors();
    let report = env.agent_cost_json(&repo, &["ingest"]);
    assert_eq!(report["files_read"], 2, "{report}");
    assert_eq!(report["events_charged"], 0, "{report}");
    assert_eq!(report["events_topped_up"], 0, "{report}");
    assert_eq!(report["duplicates"], 5, "{report}");
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 2);
    assert_eq!(pending_micros(&status), MSG_A + MSG_B);
    assert_eq!(status["unattributed"]["requests"], 1);

    // The next commit carries the pending spend, once.
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert_eq!(
        lines[1],
        "AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.007650"
    );
    assert_eq!(lines[2], "AI-Tokens: req=2 in=50 out=500 cw=0 cr=0");
    assert_eq!(lines[3], "AI-Cost-Estimate: 0.007650 USD");
    commit(&env, &repo, "b.txt", "Add b");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        0
    );

    let total = sum(&env, &repo, "HEAD");
    assert_eq!(total["commits"], 5);
    assert_eq!(total["commits_with_cost"], 3);
    assert_eq!(micros(&total["cost_usd"]), MSG_S + MSG_P + MSG_A + MSG_B);
    assert_eq!(total["models"][0]["requests"], 4);
    assert_eq!(total["tokens"]["output"], 1600);
}

#[test]
fn a_first_commit_after_the_upgrade_reads_every_log_and_carries_only_what_was_pending() {
    let env = TestEnv::new();
    // No cursors: the hook's catch-up reads the whole transcript before anything else.
    let (repo, _) = first_version_repo(&env);
    commit(&env, &repo, "a.txt", "Add a");
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert_eq!(
        lines[2], "AI-Tokens: req=2 in=50 out=500 cw=0 cr=0",
        "{lines:?}"
    );
    assert_eq!(lines[3], "AI-Cost-Estimate: 0.007650 USD", "{lines:?}");
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), MSG_S + MSG_P + MSG_A + MSG_B);
    assert_eq!(total["models"][0]["requests"], 4);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["pending"]["requests"], 0, "{status}");
    assert_eq!(status["outstanding_drains"], 0);
}

#[test]
fn install_hooks_after_the_upgrade_keeps_the_first_versions_start_date() {
    let env = TestEnv::new();
    let (repo, _) = first_version_repo(&env);
    std::fs::write(
        repo.join(".git/agent-cost/tracking.json"),
        r#"{"since": "2025-03-01T00:00:00Z"}"#,
    )
    .unwrap();
    env.agent_cost(&repo, &["install-hooks", "--no-ingest"]);
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(status["tracking_since"], "2025-03-01T00:00:00Z");
    assert_eq!(pending_micros(&status), MSG_A + MSG_B);
}
