//! Hostile input for every source: broken lines, wrong types, huge and deeply nested lines,
//! odd files and directories. The real binary must not panic, must keep its memory bounded,
//! must record every valid request beside the bad input, and must count every skip where
//! `agent-cost sources --json --files` (or the Cursor import's summary) shows it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::harness::*;

/// One agent's append-only log format, as the tests write it.
struct LineLog {
    /// The source's name in `agent-cost sources`.
    source: &'static str,
    /// The agent its events are recorded under.
    agent: &'static str,
    /// Where the `k`-th log of the test lies.
    path: fn(env: &TestEnv, k: usize) -> PathBuf,
    /// Lines written before any request (session metadata), if the format has them.
    header: fn(repo: &Path, k: usize) -> Vec<String>,
    /// The bytes that make a line worth parsing for this source.
    marker: &'static str,
    /// The `n`-th request (1-based, each with its own id and larger counts than the previous).
    request: fn(repo: &Path, n: u64) -> Value,
    /// Where a request's token count is, as a JSON pointer.
    tokens: &'static str,
    /// Fields of a request line the parser reads (id, model, timestamp, cwd…), as JSON
    /// pointers.
    fields: &'static [&'static str],
    /// Those of `fields` read as absent when they have another type: the request is still
    /// recorded (with the model `unknown`, no timestamp, an id made from the line's).
    lenient: &'static [&'static str],
}

impl LineLog {
    fn line(&self, repo: &Path, n: u64) -> String {
        (self.request)(repo, n).to_string()
    }

    /// A request line with the value at `pointer` replaced by the JSON text `raw`.
    fn with(&self, repo: &Path, n: u64, pointer: &str, raw: &str) -> String {
        let mut line = (self.request)(repo, n);
        *line
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")) = json!("@RAW@");
        line.to_string().replacen("\"@RAW@\"", raw, 1)
    }

    /// Writes the `k`-th log: its header, request 1, `bad`, request 3 (`bad` stands where
    /// request 2 would).
    fn write_around(&self, env: &TestEnv, repo: &Path, k: usize, bad: &[u8]) -> PathBuf {
        let mut bytes = Vec::new();
        for line in (self.header)(repo, k) {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(self.line(repo, 1).as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(bad);
        bytes.push(b'\n');
        bytes.extend_from_slice(self.line(repo, 3).as_bytes());
        bytes.push(b'\n');
        let path = (self.path)(env, k);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn claude_log() -> LineLog {
    LineLog {
        source: "claude-code",
        agent: "claude-code",
        path: |env, k| env.transcript_path("-bad-input", &format!("s{k}.jsonl")),
        header: |_, _| Vec::new(),
        marker: "\"usage\"",
        request: |repo, n| {
            let mut line: Value =
                serde_json::from_str(&sonnet("msg", 100 * n, 10 * n).line(repo, "s1")).unwrap();
            line["message"]["id"] = json!(format!("msg_{n}"));
            line["requestId"] = json!(format!("req_{n}"));
            line["uuid"] = json!(format!("uuid-{n}"));
            line
        },
        tokens: "/message/usage/input_tokens",
        fields: &[
            "/message/id",
            "/message/model",
            "/timestamp",
            "/cwd",
            "/message/usage",
        ],
        lenient: &[],
    }
}

fn codex_log() -> LineLog {
    LineLog {
        source: "codex",
        agent: "codex",
        path: |env, k| {
            env.codex.join(format!(
                "sessions/2026/06/01/rollout-2026-06-01T10-00-00-bad{k}.jsonl"
            ))
        },
        header: |repo, k| {
            vec![
                json!({"timestamp": "2026-06-01T10:00:00Z", "type": "session_meta",
                    "payload": {"id": format!("bad-session-{k}"), "cwd": repo}})
                .to_string(),
                json!({"timestamp": "2026-06-01T10:00:01Z", "type": "turn_context",
                    "payload": {"model": "gpt-5", "cwd": repo}})
                .to_string(),
            ]
        },
        marker: "token_count",
        request: |_, n| {
            let usage = json!({"input_tokens": 1000 * n, "cached_input_tokens": 0,
                "output_tokens": 100 * n, "reasoning_output_tokens": 0,
                "total_tokens": 1100 * n});
            json!({"timestamp": format!("2026-06-01T10:00:0{}Z", n + 1), "type": "event_msg",
                "payload": {"type": "token_count",
                    "info": {"total_token_usage": usage, "last_token_usage": usage}}})
        },
        tokens: "/payload/info/total_token_usage/input_tokens",
        fields: &[
            "/timestamp",
            "/type",
            "/payload/info",
            "/payload/info/total_token_usage",
        ],
        lenient: &["/timestamp"],
    }
}

fn gemini_log() -> LineLog {
    LineLog {
        source: "gemini-cli",
        agent: "gemini-cli",
        path: |env, k| {
            env.root.join(format!(
                "home/.gemini/tmp/alpha/chats/session-2026-06-01T10-00-bad{k:05}.jsonl"
            ))
        },
        header: |_, k| {
            vec![
                json!({"sessionId": format!("bad{k:05}-0000-4000-8000-000000000000"),
                    "projectHash": "0".repeat(64), "startTime": "2026-06-01T10:00:00.000Z",
                    "lastUpdated": "2026-06-01T10:00:00.000Z", "kind": "main"})
                .to_string(),
            ]
        },
        marker: "\"tokens\"",
        request: |_, n| {
            json!({"id": format!("m{n}"), "timestamp": format!("2026-06-01T10:00:0{n}.000Z"),
                "type": "gemini", "content": "ok", "model": "gemini-2.5-pro",
                "tokens": {"input": 100 * n, "output": 10 * n, "cached": 0, "thoughts": 0,
                    "tool": 0, "total": 110 * n}})
        },
        tokens: "/tokens/input",
        fields: &["/id", "/model", "/timestamp", "/type"],
        lenient: &["/model", "/timestamp", "/type"],
    }
}

fn copilot_cli_log() -> LineLog {
    LineLog {
        source: "copilot",
        agent: "copilot",
        path: |env, k| {
            env.root.join(format!(
                "home/.copilot/session-state/bad{k:05}-1111-2222-3333-444444444444/events.jsonl"
            ))
        },
        header: |repo, k| {
            vec![
                json!({"type": "session.start",
                    "data": {"sessionId": format!("bad{k:05}-1111-2222-3333-444444444444"),
                        "selectedModel": "claude-sonnet-4.5",
                        "context": {"cwd": repo, "branch": "main"}},
                    "id": "e0", "timestamp": "2026-06-01T10:00:00.000Z"})
                .to_string(),
            ]
        },
        marker: "outputTokens",
        request: |_, n| {
            json!({"type": "assistant.message", "data": {"messageId": format!("m{n}"),
                "content": "ok", "model": "claude-sonnet-4.5", "outputTokens": 100 * n},
                "id": format!("e{n}"), "timestamp": format!("2026-06-01T10:00:0{n}.000Z")})
        },
        tokens: "/data/outputTokens",
        fields: &["/data/messageId", "/data/model", "/timestamp", "/type"],
        lenient: &["/data/messageId", "/data/model", "/timestamp"],
    }
}

fn source<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {report:#}"))
}

/// Runs `agent-cost ARGS`, asserting it did not crash; returns its output.
fn run(env: &TestEnv, cwd: &Path, args: &[&str]) -> Output {
    let out = env.output(BIN, cwd, args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code().is_some(),
        "`agent-cost {}` crashed: {stderr}",
        args.join(" ")
    );
    out
}

/// `agent-cost ingest --json`, which must succeed.
fn ingest(env: &TestEnv, repo: &Path) -> Value {
    let out = run(env, repo, &["ingest", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The source's report in `sources --files --json` (without catching up first).
fn report(env: &TestEnv, repo: &Path, name: &str) -> Value {
    let out = run(env, repo, &["sources", "--files", "--no-ingest", "--json"]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    source(&report, name).clone()
}

/// One file's row in a source's report.
fn row<'a>(source: &'a Value, path: &Path) -> &'a Value {
    source["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path.display().to_string())
        .unwrap_or_else(|| panic!("no row for {} in {source:#}", path.display()))
}

/// Lines skipped and counted, whatever the reason.
fn skipped(counts: &Value) -> u64 {
    [
        "skipped_malformed",
        "skipped_implausible",
        "skipped_synthetic",
    ]
    .iter()
    .map(|k| counts[k].as_u64().unwrap())
    .sum()
}

/// One bad line between two good requests.
struct BadLine {
    name: String,
    bytes: Vec<u8>,
    /// True when it is read as a request, false when it is skipped and counted.
    recorded: bool,
}

fn bad_lines(log: &LineLog, repo: &Path) -> Vec<BadLine> {
    let marker = log.marker;
    let mut cases = vec![
        BadLine {
            name: "invalid UTF-8".into(),
            bytes: [&b"{\"type\":\"x\",\xff\xfe"[..], marker.as_bytes(), b":1}"].concat(),
            recorded: false,
        },
        BadLine {
            name: "invalid UTF-8 inside a request".into(),
            bytes: log
                .with(repo, 2, log.fields[0], "\"@X@\"")
                .replacen("@X@", "\u{1}", 1)
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
            recorded: false,
        },
        BadLine {
            name: "NUL bytes".into(),
            bytes: [&b"\0\0\0{"[..], marker.as_bytes(), b"\0}"].concat(),
            recorded: false,
        },
        BadLine {
            name: "a NUL byte inside a request".into(),
            bytes: log.line(repo, 2).replacen(':', ":\0", 1).into_bytes(),
            recorded: false,
        },
        BadLine {
            name: "100,000 [".into(),
            bytes: format!("{{\"a\":{}{marker}", "[".repeat(100_000)).into_bytes(),
            recorded: false,
        },
        BadLine {
            name: "a deeply nested value inside a request".into(),
            bytes: log
                .with(
                    repo,
                    2,
                    log.fields[0],
                    &format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)),
                )
                .into_bytes(),
            recorded: false,
        },
        BadLine {
            name: "a request cut after its marker".into(),
            bytes: {
                let line = log.line(repo, 2);
                let cut = line.find(marker).unwrap() + marker.len() + 2;
                line.as_bytes()[..cut].to_vec()
            },
            recorded: false,
        },
    ];
    for (name, raw) in [
        ("negative", "-5"),
        ("overflowing", "1e30"),
        ("above u64", "340282366920938463463374607431768211455"),
        ("fractional", "1.5"),
        ("string-typed", "\"100\""),
        ("object-typed", "{\"n\":1}"),
        ("implausible", "18446744073709551615"),
    ] {
        cases.push(BadLine {
            name: format!("{name} token count"),
            bytes: log.with(repo, 2, log.tokens, raw).into_bytes(),
            recorded: false,
        });
    }
    for field in log.fields {
        let good = (log.request)(repo, 2).pointer(field).unwrap().clone();
        for (kind, raw) in [
            ("number", "7"),
            ("array", "[]"),
            ("object", "{}"),
            ("bool", "true"),
            ("string", "\"x\""),
        ] {
            // Only types other than the field's own.
            let probe: Value = serde_json::from_str(raw).unwrap();
            if std::mem::discriminant(&probe) == std::mem::discriminant(&good) {
                continue;
            }
            cases.push(BadLine {
                name: format!("{field} as {kind}"),
                bytes: log.with(repo, 2, field, raw).into_bytes(),
                recorded: log.lenient.contains(field),
            });
        }
    }
    cases
}

fn every_line_log() -> [LineLog; 4] {
    [claude_log(), codex_log(), gemini_log(), copilot_cli_log()]
}

/// A new environment with a tracked repository `alpha` (and Gemini CLI's project folder for
/// it).
fn setup() -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let folder = env.root.join("home/.gemini/tmp/alpha");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(".project_root"), repo.display().to_string()).unwrap();
    (env, repo)
}

/// Requests the ledger holds for `agent`.
fn requests(env: &TestEnv, repo: &Path, agent: &str) -> u64 {
    let report = env.agent_cost_json(repo, &["sources", "--no-ingest"]);
    report["recorded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent"] == agent)
        .map_or(0, |r| r["requests"].as_u64().unwrap())
}

/// Every bad line, each in a log of its own between two good requests: the run does not
/// crash, both good requests are read, and the bad line is either skipped and counted or
/// (for a field read leniently) read as a request.
#[test]
fn each_bad_line_is_counted_and_the_requests_around_it_are_read() {
    for log in every_line_log() {
        let (env, repo) = setup();
        let cases = bad_lines(&log, &repo);
        let paths: Vec<PathBuf> = cases
            .iter()
            .enumerate()
            .map(|(k, case)| log.write_around(&env, &repo, k, &case.bytes))
            .collect();
        ingest(&env, &repo);
        let report = report(&env, &repo, log.source);
        let header = (log.header)(&repo, 0).len() as u64;
        for (case, path) in cases.iter().zip(&paths) {
            let row = row(&report, path);
            let what = format!("{}, {}: {row:#}", log.source, case.name);
            assert_eq!(row["lines"], header + 3, "{what}");
            assert_eq!(row["usage_records"], 2 + u64::from(case.recorded), "{what}");
            assert_eq!(skipped(row), u64::from(!case.recorded), "{what}");
            assert_eq!(row["error"], Value::Null, "{what}");
        }
        assert_eq!(report["unreadable"], json!([]), "{report:#}");
        assert!(requests(&env, &repo, log.agent) >= 2, "{}", log.source);
    }
}

/// A last line cut short (the agent is still writing it) is left for later, then read once
/// when its end arrives; reading again changes nothing.
#[test]
fn a_truncated_last_line_is_read_once_when_it_is_completed() {
    for log in every_line_log() {
        let (env, repo) = setup();
        let path = log.write_around(&env, &repo, 0, b"");
        let header = (log.header)(&repo, 0);
        let mut text = String::new();
        for line in &header {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&log.line(&repo, 1));
        text.push('\n');
        let second = log.line(&repo, 2);
        let (start, end) = second.split_at(second.len() / 2);
        text.push_str(start);
        std::fs::write(&path, &text).unwrap();
        ingest(&env, &repo);
        let first = row(&report(&env, &repo, log.source), &path).clone();
        let what = format!("{}: {first:#}", log.source);
        assert_eq!(first["lines"], header.len() as u64 + 1, "{what}");
        assert_eq!(first["usage_records"], 1, "{what}");
        assert_eq!(skipped(&first), 0, "{what}");
        assert_eq!(requests(&env, &repo, log.agent), 1, "{what}");

        append(&path, &format!("{end}\n"));
        for _ in 0..2 {
            ingest(&env, &repo);
            let done = row(&report(&env, &repo, log.source), &path).clone();
            let what = format!("{}: {done:#}", log.source);
            assert_eq!(done["lines"], header.len() as u64 + 2, "{what}");
            assert_eq!(done["usage_records"], 2, "{what}");
            assert_eq!(skipped(&done), 0, "{what}");
            assert_eq!(done["restarts"], 0, "{what}");
            assert_eq!(requests(&env, &repo, log.agent), 2, "{what}");
        }
    }
}

/// `agent-cost ARGS` run under python3, which reports the peak resident memory of its children
/// (`getrusage(RUSAGE_CHILDREN)`): the output and that peak in KiB.
fn peak_rss(env: &TestEnv, cwd: &Path, args: &[&str]) -> (Output, u64) {
    const WRAPPER: &str = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:]).returncode\n\
        print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, \
        file=sys.stderr)\n\
        sys.exit(code)\n";
    let mut all = vec!["-c", WRAPPER, BIN];
    all.extend_from_slice(args);
    let out = env.output("python3", cwd, &all, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .unwrap_or_else(|| panic!("no peak in {stderr}"))
        .trim()
        .parse()
        .unwrap();
    (out, peak)
}

const MIB: usize = 1 << 20;

/// A request padded to `len` bytes with a field the parser skips.
fn padded(log: &LineLog, repo: &Path, n: u64, len: usize) -> String {
    let short = log.line(repo, n);
    let pad = "p".repeat(len.saturating_sub(short.len() + 16));
    let mut line = (log.request)(repo, n);
    if log.source == "claude-code" {
        // Where Claude Code's huge lines carry their bulk: the message's content.
        line["message"]["content"][0]["text"] = json!(pad);
    } else {
        line["padding"] = json!(pad);
    }
    line.to_string()
}

/// Huge lines (a 20 MiB request, a 30 MiB line without usage, a 7 MiB request under the 8 MiB
/// limit) and a 5 MiB line of `[`: each counted, the requests around them read, and the run's
/// peak memory stays below the file's 62 MiB (about 32 MiB measured, of which 8 MiB is the
/// line buffer and 7 MiB the line under the limit).
#[test]
fn huge_and_deeply_nested_lines_are_read_in_bounded_memory() {
    for log in every_line_log() {
        let (env, repo) = setup();
        let path = (log.path)(&env, 0);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for line in (log.header)(&repo, 0) {
            text.push_str(&line);
            text.push('\n');
        }
        let lines = [
            log.line(&repo, 1),
            padded(&log, &repo, 2, 20 * MIB),
            format!("{{\"x\":\"{}\"}}", "q".repeat(30 * MIB)),
            padded(&log, &repo, 3, 7 * MIB),
            format!("{{\"a\":{}{}", "[".repeat(5 * MIB), log.marker),
            log.line(&repo, 4),
        ];
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&path, &text).unwrap();
        drop(text);
        let (out, peak_kib) = peak_rss(&env, &repo, &["ingest", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{}: peak RSS {peak_kib} KiB", log.source);
        assert!(
            peak_kib < 64 * 1024,
            "{}: peak RSS {peak_kib} KiB",
            log.source
        );
        let row = row(&report(&env, &repo, log.source), &path).clone();
        let what = format!("{}: {row:#}", log.source);
        assert_eq!(row["oversize"], 2, "{what}");
        // Claude Code reads a huge request from its ends; the others count it as malformed.
        let huge_read = log.source == "claude-code";
        assert_eq!(row["usage_records"], 3 + u64::from(huge_read), "{what}");
        // The unfinished `[` line, and the huge request where it is not read.
        assert_eq!(skipped(&row), 1 + u64::from(!huge_read), "{what}");
    }
}

/// True when the tests run as root, whom file permissions do not stop.
fn running_as_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The text of everything a source reported as unreadable (its list and its files' errors).
fn unreadable_text(source: &Value) -> String {
    let mut text = source["unreadable"].to_string();
    for file in source["files"].as_array().unwrap() {
        if !file["error"].is_null() {
            text.push_str(&format!("{} {}\n", file["path"], file["error"]));
        }
    }
    text
}

/// Beside a good log: an empty log, a directory with a log's name, a log nobody may read, a
/// link to nowhere, and links looping back to the log's directory and its parent. The run
/// ends, reads the good log once, and says what it could not read.
#[test]
fn odd_files_beside_a_good_log_are_reported_and_the_good_log_counts_once() {
    let root = running_as_root();
    for log in every_line_log() {
        let (env, repo) = setup();
        let second = log.line(&repo, 2);
        let good = log.write_around(&env, &repo, 0, second.as_bytes());
        let empty = (log.path)(&env, 1);
        std::fs::create_dir_all(empty.parent().unwrap()).unwrap();
        std::fs::write(&empty, "").unwrap();
        let directory = (log.path)(&env, 2);
        std::fs::create_dir_all(&directory).unwrap();
        let locked = log.write_around(&env, &repo, 3, second.as_bytes());
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let dangling = (log.path)(&env, 4);
        std::fs::create_dir_all(dangling.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(env.root.join("no-such-log"), &dangling).unwrap();
        let dir = good.parent().unwrap();
        std::os::unix::fs::symlink(".", dir.join("loop-self")).unwrap();
        std::os::unix::fs::symlink("..", dir.join("loop-parent")).unwrap();

        ingest(&env, &repo);
        let report = report(&env, &repo, log.source);
        let what = format!("{}: {report:#}", log.source);
        let good_row = row(&report, &good);
        assert_eq!(good_row["usage_records"], 3, "{what}");
        assert_eq!(skipped(good_row), 0, "{what}");
        let empty_row = row(&report, &empty);
        assert_eq!(
            (
                &empty_row["lines"],
                &empty_row["usage_records"],
                skipped(empty_row)
            ),
            (&json!(0), &json!(0), 0),
            "{what}"
        );
        assert!(
            !report["files"]
                .to_string()
                .contains(&format!("\"{}\"", directory.display())),
            "{what}"
        );
        let unreadable = unreadable_text(&report);
        assert!(
            unreadable.contains(&dangling.display().to_string()),
            "{what}"
        );
        if root {
            // Root reads a file whatever its mode: the locked log is read like the good one.
            assert_eq!(row(&report, &locked)["usage_records"], 3, "{what}");
        } else {
            assert!(unreadable.contains(&locked.display().to_string()), "{what}");
        }
        // Claude Code's logs repeat the same requests (the ledger holds them once); the
        // others' logs are sessions of their own.
        let sessions = if log.source == "claude-code" {
            1
        } else {
            1 + u64::from(root)
        };
        assert_eq!(requests(&env, &repo, log.agent), 3 * sessions, "{what}");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// A finished VS Code chat request.
fn chat_request(id: &str, ms: u64) -> Value {
    json!({"requestId": id, "timestamp": ms, "modelId": "copilot/gpt-4.1",
        "message": {"text": "hi"}, "response": [{"value": "ok"}],
        "result": {"details": "GPT-4.1 • 0x",
            "metadata": {"promptTokens": 100, "outputTokens": 10}}})
}

/// VS Code's `chatSessions` directory of a workspace whose folder is `repo`.
fn chat_sessions(env: &TestEnv, repo: &Path) -> PathBuf {
    let hash = env
        .root
        .join("home/.config/Code/User/workspaceStorage/0badf00d");
    std::fs::create_dir_all(hash.join("chatSessions")).unwrap();
    std::fs::write(
        hash.join("workspace.json"),
        json!({"folder": format!("file://{}", repo.display())}).to_string(),
    )
    .unwrap();
    hash.join("chatSessions")
}

/// VS Code chat sessions, whole JSON files and mutation logs: a session that does not parse
/// is one malformed record, a bad request or log line is skipped and counted, and the other
/// requests are read.
#[test]
fn bad_vscode_chat_sessions_are_counted_and_their_good_requests_read() {
    let (env, repo) = setup();
    let dir = chat_sessions(&env, &repo);
    let session = |id: &str, requests: Vec<Value>| {
        json!({"version": 3, "sessionId": id, "requests": requests}).to_string()
    };
    let good = session("good", vec![chat_request("r1", 1), chat_request("r2", 2)]);
    let whole: Vec<(&str, Vec<u8>, u64, u64)> = vec![
        // (file, bytes, requests read, skips counted)
        ("good.json", good.clone().into_bytes(), 2, 0),
        ("empty.json", Vec::new(), 0, 1),
        (
            "truncated.json",
            good.as_bytes()[..good.len() / 2].to_vec(),
            0,
            1,
        ),
        // Invalid UTF-8 in text the reader skips: the session still reads.
        (
            "not-utf8.json",
            good.replace("\"hi\"", "\"\u{1}\"")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
            2,
            0,
        ),
        (
            "nul.json",
            [b"\0\0".as_slice(), good.as_bytes()].concat(),
            0,
            1,
        ),
        ("deep.json", "[".repeat(100_000).into_bytes(), 0, 1),
        (
            "deep-inside.json",
            session(
                "deep-inside",
                vec![
                    chat_request("r1", 1),
                    json!({"requestId": "r2", "message": "@DEEP@"}),
                ],
            )
            .replace(
                "\"@DEEP@\"",
                &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            )
            .into_bytes(),
            // Deep nesting in a skipped field is skipped without recursion; r2 is unfinished.
            1,
            0,
        ),
        (
            "types.json",
            session(
                "types",
                vec![
                    chat_request("r1", 1),
                    json!(5),
                    json!({"requestId": "r3", "result": {"metadata": {"promptTokens": -1}}}),
                    json!({"requestId": "r4", "result": {"metadata": {"outputTokens": "10"}}}),
                    json!({"requestId": "r5", "result": {"metadata": {"promptTokens": 1.5}}}),
                    json!({"requestId": "r6", "result": {"metadata":
                        {"promptTokens": 18_446_744_073_709_551_615_u64}}}),
                    json!({"requestId": 7, "timestamp": "noon", "modelId": 3, "result": {}}),
                    chat_request("r8", 8),
                ],
            )
            .into_bytes(),
            3,
            5,
        ),
        (
            "huge.json",
            session(
                "huge",
                vec![
                    json!({"requestId": "r0", "response": [{"value": "v".repeat(20 * MIB)}]}),
                    chat_request("r1", 1),
                ],
            )
            .into_bytes(),
            1,
            0,
        ),
    ];
    let huge_log = format!(
        "{}\n{}\n",
        json!({"kind": 0, "k": [], "v": {"sessionId": "huge-log", "requests": []}}),
        json!({"kind": 2, "k": ["requests"],
            "v": [{"requestId": "r1", "response": [{"value": "v".repeat(20 * MIB)}],
                "result": {"metadata": {"promptTokens": 1, "outputTokens": 1}}}]}),
    );
    let mutation_log = [
        json!({"kind": 0, "k": [], "v": {"sessionId": "log", "requests": []}}).to_string(),
        json!({"kind": 2, "k": ["requests"], "v": [chat_request("r1", 1)]}).to_string(),
        "not json".to_string(),
        "\0\0\0".to_string(),
        "[".repeat(100_000),
        json!({"kind": 7, "k": [], "v": 1}).to_string(),
        json!({"kind": 1, "k": "requests", "v": 1}).to_string(),
        json!({"kind": 1, "k": ["requests", 99_999_999_999_u64], "v": 1}).to_string(),
        json!({"kind": 2, "k": ["requests"], "v": [chat_request("r2", 2)]}).to_string(),
        "{\"kind\": 2, \"k\": [\"requests\"], \"v\": [{\"requestId\": \"r3\"".to_string(),
    ]
    .join("\n");
    for (name, bytes, _, _) in &whole {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("log.jsonl"), &mutation_log).unwrap();
    std::fs::write(dir.join("huge-log.jsonl"), &huge_log).unwrap();

    let (out, peak_kib) = peak_rss(&env, &repo, &["ingest", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A whole session is parsed as a stream (the 20 MiB response is skipped, not held); a
    // mutation log's line is held as bytes and as JSON while it is read, then only request
    // metadata is kept (about 60 MiB measured; logs over 64 MiB are not replayed).
    eprintln!("vscode: peak RSS {peak_kib} KiB");
    assert!(peak_kib < 80 * 1024, "peak RSS {peak_kib} KiB");
    let report = report(&env, &repo, "copilot");
    for (name, _, read, skips) in &whole {
        let row = row(&report, &dir.join(name));
        let what = format!("{name}: {row:#}");
        assert_eq!(row["usage_records"], *read, "{what}");
        assert_eq!(skipped(row), *skips, "{what}");
    }
    // The mutation log: r1 and r2 read; six bad lines; the unfinished last line waits.
    let log_row = row(&report, &dir.join("log.jsonl"));
    assert_eq!(log_row["usage_records"], 2, "{log_row:#}");
    assert_eq!(skipped(log_row), 6, "{log_row:#}");
    let huge_row = row(&report, &dir.join("huge-log.jsonl"));
    assert_eq!(huge_row["usage_records"], 1, "{huge_row:#}");
    assert_eq!(report["unreadable"], json!([]), "{report:#}");
}

/// OpenCode's legacy JSON storage under the fake home.
fn opencode_storage(env: &TestEnv) -> PathBuf {
    env.root.join("home/.local/share/opencode/storage")
}

fn opencode_message(storage: &Path, id: &str, repo: &Path) -> PathBuf {
    let path = storage.join(format!("message/ses_bad/{id}.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        json!({"id": id, "sessionID": "ses_bad", "role": "assistant", "modelID": "gpt-4.1",
            "path": {"cwd": repo}, "time": {"created": 1_780_000_000_000_u64}})
        .to_string(),
    )
    .unwrap();
    path
}

/// A step-finish part with `input` as the JSON text `raw`.
fn opencode_step(id: &str, message: &str, raw_input: &str) -> String {
    json!({"id": id, "messageID": message, "sessionID": "ses_bad", "type": "step-finish",
        "tokens": {"input": "@INPUT@", "output": 10, "reasoning": 0,
            "cache": {"read": 0, "write": 0}}, "cost": 0.001})
    .to_string()
    .replace("\"@INPUT@\"", raw_input)
}

/// OpenCode's legacy storage: every bad part of a message is skipped and counted (or, over
/// 8 MiB, counted as oversize) and its good parts are read; bad message files are counted too.
#[test]
fn bad_opencode_parts_and_messages_are_counted_and_good_parts_read() {
    let root = running_as_root();
    let (env, repo) = setup();
    let storage = opencode_storage(&env);
    let message = opencode_message(&storage, "msg_parts", &repo);
    let parts = storage.join("part/msg_parts");
    std::fs::create_dir_all(&parts).unwrap();
    let step = |id: &str, raw: &str| opencode_step(id, "msg_parts", raw);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("prt_01", step("prt_01", "100").into_bytes()),
        ("prt_02", b"{\"type\":\"step-finish\",".to_vec()),
        (
            "prt_03",
            [b"\0\0".as_slice(), step("prt_03", "1").as_bytes()].concat(),
        ),
        (
            "prt_04",
            step("prt_04", "1")
                .replace("ses_bad", "\u{1}")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
        ),
        (
            "prt_05",
            format!("{{\"type\":\"step-finish\",\"x\":{}", "[".repeat(100_000)).into_bytes(),
        ),
        ("prt_06", step("prt_06", "-5").into_bytes()),
        ("prt_07", step("prt_07", "\"100\"").into_bytes()),
        ("prt_08", step("prt_08", "1.5").into_bytes()),
        (
            "prt_09",
            step("prt_09", "18446744073709551615").into_bytes(),
        ),
        ("prt_10", step("prt_10", "1e30").into_bytes()),
        ("prt_11", Vec::new()),
        (
            "prt_12",
            step("prt_12", "1")
                .replace(
                    "\"cost\"",
                    &format!("\"pad\":\"{}\",\"cost\"", "p".repeat(9 * MIB)),
                )
                .into_bytes(),
        ),
        ("prt_13", step("prt_13", "200").into_bytes()),
    ];
    for (name, bytes) in &files {
        std::fs::write(parts.join(format!("{name}.json")), bytes).unwrap();
    }
    std::fs::create_dir_all(parts.join("prt_14.json")).unwrap();
    let locked = parts.join("prt_15.json");
    std::fs::write(&locked, step("prt_15", "300")).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    // Bad message files, each with a good part.
    let messages = storage.join("message/ses_bad");
    let bad_messages: Vec<(&str, Vec<u8>)> = vec![
        ("msg_invalid", b"{\"id\":".to_vec()),
        ("msg_empty", Vec::new()),
        ("msg_nul", b"\0\0\0".to_vec()),
        (
            "msg_huge",
            format!(
                "{{\"id\":\"msg_huge\",\"pad\":\"{}\"}}",
                "p".repeat(9 * MIB)
            )
            .into_bytes(),
        ),
        (
            "msg_types",
            json!({"id": "msg_types", "sessionID": 5, "role": "assistant", "modelID": [],
                "path": 7, "time": {"created": "noon"}})
            .to_string()
            .into_bytes(),
        ),
    ];
    for (id, bytes) in &bad_messages {
        std::fs::write(messages.join(format!("{id}.json")), bytes).unwrap();
        let part = storage.join(format!("part/{id}/prt_{id}.json"));
        std::fs::create_dir_all(part.parent().unwrap()).unwrap();
        std::fs::write(part, opencode_step(&format!("prt_{id}"), id, "7")).unwrap();
    }
    std::fs::create_dir_all(messages.join("msg_directory.json")).unwrap();

    ingest(&env, &repo);
    let report = report(&env, &repo, "opencode");
    let what = format!("{report:#}");
    let parts_row = row(&report, &message);
    // prt_01, prt_13 (and prt_15 for root, whom its mode does not stop).
    assert_eq!(parts_row["usage_records"], 2 + u64::from(root), "{what}");
    // Malformed: 02, 03, 04, 05, 07, 08, the directory 14 (and 15 when it cannot be read);
    // implausible: 06 (negative), 09, 10.
    assert_eq!(
        parts_row["skipped_malformed"],
        7 + u64::from(!root),
        "{what}"
    );
    assert_eq!(parts_row["skipped_implausible"], 3, "{what}");
    assert_eq!(parts_row["oversize"], 1, "{what}");
    for (id, records, malformed, oversize) in [
        ("msg_invalid", 0, 1, 0),
        ("msg_empty", 0, 1, 0),
        ("msg_nul", 0, 1, 0),
        ("msg_huge", 0, 0, 1),
        // Fields of other types read as absent: the part is read, without a model.
        ("msg_types", 1, 0, 0),
    ] {
        let row = row(&report, &messages.join(format!("{id}.json")));
        assert_eq!(
            (
                &row["usage_records"],
                &row["skipped_malformed"],
                &row["oversize"]
            ),
            (&json!(records), &json!(malformed), &json!(oversize)),
            "{id}: {what}"
        );
    }
    assert!(!what.contains("msg_directory"), "{what}");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const CURSOR_HEADER: &str = "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost";

/// `import cursor FILE --json` in `repo`, under python3 for its peak memory.
fn import_cursor(env: &TestEnv, repo: &Path, file: &Path) -> (Output, u64) {
    peak_rss(
        env,
        repo,
        &["import", "cursor", file.to_str().unwrap(), "--json"],
    )
}

/// A Cursor export with every kind of bad row between good ones: the good rows are imported,
/// each bad one is skipped and counted by reason, its detail stays short, and memory stays
/// within a few times the file although it has 20 MiB fields. A row cut short and completed later is
/// imported once.
#[test]
fn bad_cursor_rows_are_counted_and_good_rows_imported() {
    let (env, repo) = setup();
    let big = "9".repeat(20 * MIB);
    let rows = [
        "2026-06-03T10:00:00Z,gpt-5,100,100,0,10,110,$0.40".to_string(),
        "2026-06-03T10:01:00Z,gpt-5,\u{1},1,0,1,2,$0.01".to_string(),
        "2026-06-03T10:02:00Z,gpt\0-5,1,1,0,1,2,$0.01".to_string(),
        format!("{big},gpt-5,1,1,0,1,2,$0.01"),
        format!("2026-06-03T10:03:00Z,gpt-5,{big},1,0,1,2,$0.01"),
        format!(
            "2026-06-03T10:04:00Z,{},1,1,0,1,2,$0.01",
            "m".repeat(20 * MIB)
        ),
        "2026-06-03T10:05:00Z,gpt-5,-5,1,0,1,2,$0.01".to_string(),
        "2026-06-03T10:06:00Z,gpt-5,1.5,1,0,1,2,$0.01".to_string(),
        "2026-06-03T10:07:00Z,gpt-5,lots,1,0,1,2,$0.01".to_string(),
        "2026-06-03T10:08:00Z,gpt-5,1,1,0,1,2,-$5".to_string(),
        "2026-06-03T10:10:00Z,gpt-5,200,200,0,20,220,$0.80".to_string(),
        "2026-06-03T10:11:00Z,gpt-5,300,30".to_string(),
    ];
    let file = env.root.join("usage.csv");
    let mut bytes = format!("{CURSOR_HEADER}\n{}", rows.join("\n")).into_bytes();
    // The `\u{1}` stands for a byte that is not UTF-8.
    for byte in bytes.iter_mut() {
        if *byte == 1 {
            *byte = 0xff;
        }
    }
    std::fs::write(&file, &bytes).unwrap();
    let (out, peak_kib) = import_cursor(&env, &repo, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An export is read whole (at most 256 MiB): its fields are held while a row is read,
    // about three times the file at most (60 MiB here: 163 MiB measured).
    let file_kib = bytes.len() as u64 / 1024;
    eprintln!("cursor import of {file_kib} KiB: peak RSS {peak_kib} KiB");
    assert!(peak_kib < 3 * file_kib, "peak RSS {peak_kib} KiB");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let what = format!("{:#}", summary["skipped_by_reason"]);
    assert_eq!(summary["imported"], 2, "{what}");
    assert_eq!(summary["skipped"], 10, "{what}");
    let by_reason = &summary["skipped_by_reason"];
    for (reason, count) in [
        ("malformed", 2),
        ("bad-model", 2),
        ("bad-date", 1),
        ("bad-tokens", 4),
        ("bad-cost", 1),
    ] {
        assert_eq!(by_reason[reason], count, "{reason}: {what}");
    }
    for row in summary["skipped_rows"].as_array().unwrap() {
        assert!(row["detail"].as_str().unwrap().len() < 200, "{row}");
    }

    // The cut row completed: imported once, the others not again.
    bytes.extend_from_slice(b"0,0,30,330,$1.20\n");
    std::fs::write(&file, &bytes).unwrap();
    let (out, _) = import_cursor(&env, &repo, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["imported"], 1, "{summary:#}");
    assert_eq!(requests(&env, &repo, "cursor"), 3);
}

/// A directory, a file nobody may read, and a file over 256 MiB given to the import: each is
/// refused with the reason, and nothing is recorded (root reads the locked file).
#[test]
fn unreadable_cursor_exports_are_refused_with_the_reason() {
    let (env, repo) = setup();
    let directory = env.root.join("export.csv");
    std::fs::create_dir_all(&directory).unwrap();
    let out = run(
        &env,
        &repo,
        &["import", "cursor", directory.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Is a directory"), "{stderr}");

    let huge = env.root.join("huge.csv");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(300 << 20).unwrap();
    let (out, peak_kib) = import_cursor(&env, &repo, &huge);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("too large to be a Cursor usage export"),
        "{stderr}"
    );
    assert!(peak_kib < 300 * 1024, "peak RSS {peak_kib} KiB");

    let locked = env.root.join("locked.csv");
    std::fs::write(
        &locked,
        format!("{CURSOR_HEADER}\n2026-06-03T10:00:00Z,gpt-5,100,100,0,10,110,$0.40\n"),
    )
    .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run(&env, &repo, &["import", "cursor", locked.to_str().unwrap()]);
    if running_as_root() {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(requests(&env, &repo, "cursor"), 1);
    } else {
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Permission denied"), "{stderr}");
        assert_eq!(requests(&env, &repo, "cursor"), 0);
    }
}

/// OpenCode's database with bad rows: a part whose data is not JSON (or not UTF-8, or deeply
/// nested), counts that are not counts, ids and times of other types, a 20 MiB part, a message
/// that is not JSON and a session whose directory is a blob. Each bad part is counted, the
/// good ones are read, and the database as a whole is never refused for a bad row.
#[test]
fn bad_opencode_database_rows_are_counted_and_good_rows_read() {
    use crate::opencode::{assistant, data_dir, database, message, step};
    use rusqlite::params;
    let (env, repo) = setup();
    let db = database(&env, &repo, "wal");
    message(&db, "msg_a", "ses_db", &assistant("gpt-4.1", &repo));
    db.execute(
        "INSERT INTO message VALUES ('msg_bad', 'ses_alpha', 0, 0, x'00ff7b')",
        [],
    )
    .unwrap();
    // A blob where OpenCode writes text (a number would be stored as text, by the column's
    // affinity).
    db.execute(
        "UPDATE session SET directory = CAST('/elsewhere' AS BLOB) WHERE id = 'ses_alpha'",
        [],
    )
    .unwrap();
    let insert = |id: &dyn rusqlite::ToSql,
                  msg: &str,
                  time: &dyn rusqlite::ToSql,
                  data: &dyn rusqlite::ToSql| {
        db.execute(
            "INSERT INTO part VALUES (?1, ?2, 'ses_db', ?3, ?3, ?4)",
            params![id, msg, time, data],
        )
        .unwrap();
    };
    let good = |input: u64| step(input, 10, 0, 0, 0, 0.001).to_string();
    let with_input = |raw: &str| good(1).replacen("\"input\":1", &format!("\"input\":{raw}"), 1);
    insert(&"prt_01", "msg_a", &1_780_308_005_000_i64, &good(100));
    insert(&"prt_02", "msg_a", &0, &"{\"type\":\"step-finish\",");
    insert(
        &"prt_03",
        "msg_a",
        &0,
        &b"\xff\xfe{\"type\":\"step-finish\"}".to_vec(),
    );
    insert(
        &"prt_04",
        "msg_a",
        &0,
        &format!("{{\"type\":\"step-finish\",\"x\":{}", "[".repeat(100_000)),
    );
    insert(&"prt_05", "msg_a", &0, &with_input("\"100\""));
    insert(&"prt_06", "msg_a", &0, &with_input("1.5"));
    insert(&"prt_07", "msg_a", &0, &with_input("-5"));
    insert(&"prt_08", "msg_a", &0, &with_input("18446744073709551615"));
    insert(&"prt_09", "msg_a", &0, &"\0\0\0step-finish");
    // An id and a time of other types, and data stored as a blob: read.
    insert(&42, "msg_a", &"noon", &good(200).into_bytes());
    insert(
        &"prt_11",
        "msg_a",
        &0,
        &good(300).replacen('{', &format!("{{\"pad\":\"{}\",", "p".repeat(20 * MIB)), 1),
    );
    // A part of the message that is not JSON, in the session whose directory is a blob.
    db.execute(
        "INSERT INTO part VALUES ('prt_12', 'msg_bad', 'ses_alpha', 0, 0, ?1)",
        [good(400)],
    )
    .unwrap();
    drop(db);

    let (out, peak_kib) = peak_rss(&env, &repo, &["ingest", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("opencode database: peak RSS {peak_kib} KiB");
    assert!(peak_kib < 96 * 1024, "peak RSS {peak_kib} KiB");
    let report = report(&env, &repo, "opencode");
    let row = row(&report, &data_dir(&env).join("opencode.db"));
    let what = format!("{report:#}");
    assert_eq!(row["error"], Value::Null, "{what}");
    // prt_01, 42, prt_11, prt_12.
    assert_eq!(row["usage_records"], 4, "{what}");
    // Not JSON: 02, 03, 04, 09; not counts: 05, 06; implausible: 07 (negative), 08.
    assert_eq!(row["skipped_malformed"], 6, "{what}");
    assert_eq!(row["skipped_implausible"], 2, "{what}");
}

/// Gemini CLI's legacy chats (one JSON object per file): a file that does not parse is one
/// malformed record, odd elements and fields inside a good one spare its messages, and a
/// 20 MiB message text is skipped without being held.
#[test]
fn bad_legacy_gemini_chats_are_counted_and_their_messages_read() {
    let (env, repo) = setup();
    let chats = env.root.join("home/.gemini/tmp/alpha/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let message = |id: &str, content: &str| {
        json!({"id": id, "timestamp": "2026-06-01T10:00:00.000Z", "type": "gemini",
            "content": content, "model": "gemini-2.5-pro",
            "tokens": {"input": 100, "output": 10, "cached": 0, "thoughts": 0, "tool": 0,
                "total": 110}})
    };
    let chat = |session: &str, messages: Vec<Value>| {
        json!({"sessionId": session, "projectHash": "0".repeat(64),
            "startTime": "2026-06-01T10:00:00.000Z", "messages": messages})
        .to_string()
    };
    let good = chat("good", vec![message("m1", "a"), message("m2", "b")]);
    let files: Vec<(&str, Vec<u8>, u64, u64)> = vec![
        // (file, bytes, requests read, skips counted)
        ("good", good.clone().into_bytes(), 2, 0),
        ("empty", Vec::new(), 0, 1),
        ("cut", good.as_bytes()[..good.len() / 2].to_vec(), 0, 1),
        ("nul", [b"\0".as_slice(), good.as_bytes()].concat(), 0, 1),
        ("deep", "[".repeat(100_000).into_bytes(), 0, 1),
        (
            "odd",
            json!({"sessionId": 5, "directories": [1], "messages": [
                message("m1", "a"), 7, "text", message("m2", "b"),
                {"id": "m3", "type": "gemini", "tokens": {"input": "many"}}]})
            .to_string()
            .into_bytes(),
            2,
            3,
        ),
        (
            "huge",
            chat("huge", vec![message("m1", &"c".repeat(20 * MIB))]).into_bytes(),
            1,
            0,
        ),
    ];
    for (name, bytes, _, _) in &files {
        std::fs::write(
            chats.join(format!("session-2026-06-01T10-00-{name}.json")),
            bytes,
        )
        .unwrap();
    }
    let (out, peak_kib) = peak_rss(&env, &repo, &["ingest", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("gemini legacy: peak RSS {peak_kib} KiB");
    // The 20 MiB text is skipped while parsing, not held.
    assert!(peak_kib < 40 * 1024, "peak RSS {peak_kib} KiB");
    let report = report(&env, &repo, "gemini-cli");
    for (name, _, read, skips) in &files {
        let row = row(
            &report,
            &chats.join(format!("session-2026-06-01T10-00-{name}.json")),
        );
        let what = format!("{name}: {row:#}");
        assert_eq!(row["usage_records"], *read, "{what}");
        assert_eq!(skipped(row), *skips, "{what}");
    }
}
