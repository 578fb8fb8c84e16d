//! Shared helpers for the integration tests: a sample block and running the real `git`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use agent_cost_events::Money;
use agent_cost_trailers::{Block, ModelLine, Quantity, UNIT_CREDITS, UNIT_PREMIUM_REQUESTS};

/// A model line with the given cost in micro-dollars (`None` = unpriced).
pub fn model(agent: &str, model: &str, micros: Option<u64>) -> ModelLine {
    ModelLine {
        work_type: None,
        agent: agent.to_string(),
        model: model.to_string(),
        requests: 3,
        input: 100,
        output: 200,
        cache_write: 300,
        cache_read: 400,
        cost: micros.map(Money::from_micros),
        quantities: Vec::new(),
    }
}

/// A two-agent block with an unpriced model and a replaced id.
pub fn sample_block(id: &str) -> Block {
    let sessions = BTreeMap::from([("claude-code".to_string(), 2), ("codex".to_string(), 1)]);
    Block::build(
        id.to_string(),
        vec![
            model("claude-code", "claude-sonnet-4-5", Some(401_234)),
            model("claude-code", "claude-haiku-4-5", Some(11_111)),
            model("codex", "gpt-9-mystery", None),
        ],
        &sessions,
        vec!["00000000000000aa".to_string()],
    )
}

/// A block with spend in USD, premium requests (an unpriced Copilot model) and credits.
pub fn units_block(id: &str) -> Block {
    Block::build(
        id.to_string(),
        vec![
            model("claude-code", "claude-sonnet-4-5", Some(401_234)),
            ModelLine {
                work_type: None,
                requests: 12,
                ..model("copilot", "gpt-5", None)
            }
            .with_quantity(Money::from_micros(12_000_000), UNIT_PREMIUM_REQUESTS),
            model("kiro", "claude-sonnet-4-5", Some(52_000))
                .with_quantity(Money::from_micros(3_500_000), UNIT_CREDITS),
        ],
        &BTreeMap::from([("copilot".to_string(), 1), ("kiro".to_string(), 1)]),
        vec![],
    )
}

/// A block whose lines are as long as realistic values make them: 40-character model names,
/// 25-character agent and unit names, counts of 10¹⁰, amounts of 99999.999999.
pub fn longest_block(id: &str) -> Block {
    const TEN_BILLION: u64 = 10_000_000_000;
    let agent = "a".repeat(25);
    let line = |model: char, cost: Option<u64>| ModelLine {
        work_type: None,
        agent: agent.clone(),
        model: model.to_string().repeat(40),
        requests: TEN_BILLION,
        input: TEN_BILLION,
        output: TEN_BILLION,
        cache_write: TEN_BILLION,
        cache_read: TEN_BILLION,
        cost: cost.map(Money::from_micros),
        quantities: vec![Quantity::new(
            Money::from_micros(99_999_999_999),
            "u".repeat(25),
        )],
    };
    Block::build(
        id.to_string(),
        vec![line('m', Some(99_999_999_999)), line('n', None)],
        &BTreeMap::from([(agent.clone(), TEN_BILLION)]),
        vec!["eeeeeeeeeeeeeeee".to_string()],
    )
}

/// A `git` command isolated from the user's and system's configuration.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "A U Thor")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "A U Thor")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("LC_ALL", "C");
    cmd
}

/// Runs `git <args>` with `input` on stdin and returns stdout; panics if git fails.
pub fn git_stdin(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = git(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `git interpret-trailers --no-divider --parse < file`, the message written to a temp file:
/// the trailers git finds, one `Key: value` per entry.
pub fn git_parse(dir: &Path, message: &str) -> Vec<String> {
    let file = dir.join("msg.txt");
    std::fs::write(&file, message).unwrap();
    let out = git(dir)
        .args(["interpret-trailers", "--no-divider", "--parse"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}
