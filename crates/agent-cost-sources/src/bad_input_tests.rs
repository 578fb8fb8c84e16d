//! Hostile input hitting each source directly: files that vanish between the listing and the
//! read, directory link loops, counts at the edge of `u64`, and bad elements inside files read
//! whole. The end-to-end side (the real binary on bad lines and files) is in
//! `crates/agent-cost/tests/e2e/bad_input.rs`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use agent_cost_events::UsageEvent;
use agent_cost_prices::CopilotBilling;

use crate::source::{DataFile, FileStamp, Item, ReadEnd, Scope, Source};
use crate::{claude, codex, copilot, cursor_csv, gemini, opencode};

fn read_all(source: &dyn Source, file: &DataFile) -> std::io::Result<(Vec<UsageEvent>, ReadEnd)> {
    let mut events = Vec::new();
    let end = source.read(file, None, None, &mut |item| {
        if let Item::Event(event) = item {
            events.push(*event);
        }
        ControlFlow::Continue(())
    })?;
    Ok((events, end))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const CLAUDE_LINE: &str = r#"{"type":"assistant","sessionId":"s","timestamp":"2026-06-01T10:00:00Z","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":5,"output_tokens":1}}}"#;
const CODEX_LINES: &str = concat!(
    r#"{"timestamp":"t","type":"session_meta","payload":{"id":"s1","cwd":"/w"}}"#,
    "\n",
    r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":5,"output_tokens":1}}}}"#,
    "\n"
);
const GEMINI_LINES: &str = concat!(
    r#"{"sessionId":"g1","projectHash":"00"}"#,
    "\n",
    r#"{"id":"m1","type":"gemini","model":"gemini-2.5-pro","tokens":{"input":5,"output":1}}"#,
    "\n"
);
const CLI_LINES: &str = concat!(
    r#"{"type":"session.start","data":{"sessionId":"c1"},"id":"e0","timestamp":"t"}"#,
    "\n",
    r#"{"type":"assistant.message","data":{"messageId":"m1","outputTokens":5},"id":"e1","timestamp":"t"}"#,
    "\n"
);

/// Every line-based source, each with one valid log under `root`.
fn sources_with_one_log(root: &Path) -> Vec<Box<dyn Source>> {
    write(
        &root.join("claude/projects/-w/s.jsonl"),
        &format!("{CLAUDE_LINE}\n"),
    );
    write(
        &root.join("codex/sessions/2026/06/01/rollout-a.jsonl"),
        CODEX_LINES,
    );
    write(
        &root.join("gemini/tmp/p/chats/session-2026-06-01T10-00-a.jsonl"),
        GEMINI_LINES,
    );
    write(
        &root.join("copilot/session-state/c1/events.jsonl"),
        CLI_LINES,
    );
    write(
        &root.join("vscode/User/workspaceStorage/h/chatSessions/v.json"),
        r#"{"sessionId":"v","requests":[{"requestId":"r1","result":{}}]}"#,
    );
    write(
        &root.join("opencode/storage/message/ses_1/msg_1.json"),
        r#"{"id":"msg_1","role":"assistant","modelID":"m"}"#,
    );
    write(
        &root.join("opencode/storage/part/msg_1/prt_1.json"),
        r#"{"id":"prt_1","type":"step-finish","tokens":{"input":5,"output":1}}"#,
    );
    vec![
        Box::new(claude::ClaudeSource::new(vec![
            root.join("claude/projects"),
        ])),
        Box::new(codex::CodexSource::new(root.join("codex"))),
        Box::new(gemini::GeminiSource::new(root.join("gemini"))),
        Box::new(copilot::CopilotSource::new(
            vec![root.join("vscode/User")],
            Some(root.join("copilot")),
            CopilotBilling::default(),
        )),
        Box::new(opencode::OpenCodeSource::new(
            Some(root.join("opencode")),
            None,
        )),
    ]
}

/// A file listed, then removed (or its directory removed) before it is read: the read fails
/// with an error the run reports, and nothing panics.
#[test]
fn a_file_or_directory_that_vanishes_before_the_read_is_an_error_not_a_panic() {
    for remove_directory in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sources = sources_with_one_log(dir.path());
        for source in &sources {
            let found = source.discover(&Scope::All).files;
            assert!(!found.is_empty(), "{} found nothing", source.name());
            for file in &found {
                let (events, _) = read_all(source.as_ref(), file).unwrap();
                assert!(
                    !events.is_empty(),
                    "{}: {}",
                    source.name(),
                    file.path.display()
                );
                if remove_directory {
                    std::fs::remove_dir_all(file.path.parent().unwrap()).unwrap();
                } else {
                    std::fs::remove_file(&file.path).unwrap();
                }
                match read_all(source.as_ref(), file) {
                    Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}"),
                    Ok((events, _)) => assert!(events.is_empty(), "{}", source.name()),
                }
            }
        }
    }
}

/// Two links back to a parent in every directory a source lists: discovery ends, and each log
/// is found once.
#[cfg(unix)]
#[test]
fn directory_link_loops_end_and_find_each_log_once() {
    let dir = tempfile::tempdir().unwrap();
    let sources = sources_with_one_log(dir.path());
    let mut dirs = vec![dir.path().to_path_buf()];
    while let Some(at) = dirs.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            }
        }
        std::os::unix::fs::symlink(".", at.join("loop-self")).unwrap();
        // The temp dir's own parent is the machine's temp directory, where other tests'
        // files come and go: the loops stay inside the test's tree.
        if at != dir.path() {
            std::os::unix::fs::symlink("..", at.join("loop-parent")).unwrap();
        }
    }
    for source in &sources {
        let found = source.discover(&Scope::All).files;
        let mut paths: Vec<PathBuf> = found
            .iter()
            .map(|f| f.path.canonicalize().unwrap())
            .collect();
        let all = paths.len();
        paths.sort();
        paths.dedup();
        assert!(!paths.is_empty(), "{} found nothing", source.name());
        if source.name() == "codex" {
            assert_eq!(all, paths.len(), "{}: {found:?}", source.name());
        }
    }
}

#[test]
fn cache_write_counts_at_the_edge_of_u64_are_implausible_not_a_panic() {
    let line = CLAUDE_LINE.replace(
        r#""output_tokens":1"#,
        r#""output_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":18446744073709551615,"ephemeral_1h_input_tokens":18446744073709551615}"#,
    );
    assert_eq!(
        claude::parse_line(line.as_bytes(), false),
        claude::LineOutcome::Implausible
    );
}

fn chat_file(path: &Path) -> DataFile {
    let meta = std::fs::metadata(path).unwrap();
    DataFile {
        path: path.to_path_buf(),
        modified: meta.modified().unwrap(),
        subagent: false,
        stamp: Some(FileStamp::of(&meta)),
    }
}

/// A VS Code chat session with a request id of another type, a request that is not an object
/// and counts that are not counts: those are skipped and counted, the other requests count.
#[test]
fn bad_requests_of_a_chat_session_do_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("User");
    let path = user.join("workspaceStorage/h/chatSessions/v.json");
    write(
        &path,
        r#"{"sessionId":"v","requests":[
            {"requestId":"r1","timestamp":1,"result":{"metadata":{"promptTokens":10,"outputTokens":2}}},
            {"requestId":7,"timestamp":2,"result":{}},
            5,
            ["not", "a", "request"],
            {"requestId":"r4","timestamp":3,"result":{"metadata":{"promptTokens":"10"}}},
            {"requestId":"r5","timestamp":4,"result":{"metadata":{"outputTokens":-1}}},
            {"requestId":"r6","timestamp":5,"result":"done"},
            {"requestId":"r7","timestamp":6,"result":{"metadata":{"promptTokens":20,"outputTokens":4}}}
        ]}"#,
    );
    let source = copilot::CopilotSource::new(vec![user], None, CopilotBilling::default());
    let (events, end) = read_all(&source, &chat_file(&path)).unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["vscode:v:r1", "vscode:v:#1", "vscode:v:r7"]);
    assert_eq!(events[0].tokens.input, 10);
    assert_eq!(events[2].tokens.output, 4);
    // 5, the array, r4, r5 and r6 (a result that is not an object).
    assert_eq!(end.stats.malformed, 5, "{:?}", end.stats);
}

/// A part of an OpenCode message that is a directory, or cannot be read: skipped and counted,
/// the other parts count, and the message is read again next time.
#[test]
fn an_unreadable_opencode_part_is_counted_and_the_others_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("opencode");
    let message = data.join("storage/message/ses_1/msg_1.json");
    write(
        &message,
        r#"{"id":"msg_1","role":"assistant","modelID":"m","path":{"cwd":"/w"}}"#,
    );
    let parts = data.join("storage/part/msg_1");
    write(
        &parts.join("prt_1.json"),
        r#"{"id":"prt_1","type":"step-finish","tokens":{"input":5,"output":1}}"#,
    );
    std::fs::create_dir_all(parts.join("prt_2.json")).unwrap();
    write(
        &parts.join("prt_3.json"),
        r#"{"id":"prt_3","type":"step-finish","tokens":{"input":"5","output":1}}"#,
    );
    let source = opencode::OpenCodeSource::new(Some(data), None);
    let (events, end) = read_all(&source, &chat_file(&message)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, "prt_1");
    assert_eq!(end.stats.malformed, 2, "{:?}", end.stats);
    assert_eq!(end.cursor, None, "read again next time");
}

#[test]
fn a_cursor_export_over_the_limit_is_refused_without_reading_it_whole() {
    let endless = std::io::Read::take(std::io::repeat(b'a'), cursor_csv::MAX_EXPORT + 2);
    assert!(matches!(
        cursor_csv::read(endless),
        Err(cursor_csv::CursorCsvError::TooLarge)
    ));
}

#[test]
fn cursor_skip_details_are_clipped() {
    let long = "x".repeat(100_000);
    let text = format!(
        "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost\n\
         {long},gpt-5,1,1,0,1,2,$0.01\n\
         2026-06-03T10:00:00Z,{long},1,1,0,1,2,$0.01\n\
         2026-06-03T10:00:00Z,gpt-5,{long},1,0,1,2,$0.01\n\
         2026-06-03T10:00:00Z,gpt-5,1,1,0,1,2,{long}\n\
         2026-06-03T10:00:00Z,gpt-5,1,1,0,1,2,$0.01\n"
    );
    let export = cursor_csv::read(text.as_bytes()).unwrap();
    assert_eq!(export.rows.len(), 1);
    assert_eq!(export.skipped.len(), 4);
    for skipped in &export.skipped {
        assert!(skipped.detail.len() < 200, "{}", skipped.detail.len());
        assert!(skipped.detail.contains('…'), "{}", skipped.detail);
    }
}

/// A legacy Gemini CLI chat (one JSON object) whose metadata fields have other types and
/// whose message list holds something that is not a message: the messages are still read,
/// and the odd element is counted.
#[test]
fn a_legacy_gemini_chat_with_odd_fields_still_reads_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let gemini = dir.path().join("gemini");
    let path = gemini.join("tmp/p/chats/session-2026-06-01T10-00-a.json");
    write(
        &path,
        r#"{"sessionId": 5, "projectHash": ["x"], "directories": [1, 2], "messages": [
            {"id": "m1", "type": "gemini", "model": "gemini-2.5-pro", "tokens": {"input": 5, "output": 1}},
            7,
            {"id": "m2", "type": "gemini", "model": 9, "tokens": {"input": 6, "output": 1}},
            {"id": "m3", "type": "gemini", "tokens": {"input": -6}}
        ]}"#,
    );
    let source = gemini::GeminiSource::new(gemini);
    let (events, end) = read_all(&source, &chat_file(&path)).unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "session-2026-06-01T10-00-a:m1",
            "session-2026-06-01T10-00-a:m2"
        ]
    );
    assert_eq!(events[1].model, "unknown");
    assert_eq!(end.stats.malformed, 2, "{:?}", end.stats);
}

/// A replayed Copilot mutation log keeps only what a session is read for: responses are
/// dropped as they arrive, and edits inside them are not mistaken for bad lines.
#[test]
fn a_mutation_log_keeps_only_request_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("User");
    let path = user.join("workspaceStorage/h/chatSessions/m.jsonl");
    write(
        &path,
        concat!(
            r#"{"kind":0,"k":[],"v":{"sessionId":"m","requests":[],"inputState":{"big":"x"}}}"#,
            "\n",
            r#"{"kind":2,"k":["requests"],"v":[{"requestId":"r1","timestamp":1,"response":[{"value":"long answer"}]}]}"#,
            "\n",
            r#"{"kind":2,"k":["requests",0,"response"],"v":[{"value":"more"}]}"#,
            "\n",
            r#"{"kind":1,"k":["requests",0,"response",5,"value"],"v":"edit"}"#,
            "\n",
            r#"{"kind":1,"k":["inputState","big"],"v":"y"}"#,
            "\n",
            r#"{"kind":1,"k":["requests",0,"result"],"v":{"details":"GPT-4.1 • 0x","metadata":{"promptTokens":9,"outputTokens":1,"toolCallRounds":[1,2,3]}}}"#,
            "\n",
            r#"{"kind":1,"k":["requests",3,"result"],"v":{}}"#,
            "\n",
        ),
    );
    let source = copilot::CopilotSource::new(vec![user], None, CopilotBilling::default());
    let (events, end) = read_all(&source, &chat_file(&path)).unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["vscode:m:r1"]);
    assert_eq!(events[0].tokens.input, 9);
    // Only the result of a request that does not exist.
    assert_eq!(end.stats.malformed, 1, "{:?}", end.stats);
}
