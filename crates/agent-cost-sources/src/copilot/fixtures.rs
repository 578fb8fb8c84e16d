//! The Copilot source against the hand-written fixtures of `tests/fixtures/copilot/` (see its
//! README for what each file holds and the figures computed by hand).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use agent_cost_events::{TokenCounts, UsageEvent};
use agent_cost_prices::CopilotBilling;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/copilot")
        .join(name)
}

/// A fake home: a VS Code `User` dir with one workspace (folder `<tmp>/my repo`, named
/// percent-encoded) holding `sess-a.json` and `sess-b.jsonl`, an empty-window session, and a
/// Copilot CLI home.
struct Home {
    _tmp: tempfile::TempDir,
    user: PathBuf,
    repo: PathBuf,
    cli: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let user = root.join(".config/Code/User");
        let repo = root.join("my repo");
        std::fs::create_dir_all(&repo).unwrap();
        let hash = user.join("workspaceStorage/3f1e9c0a");
        std::fs::create_dir_all(hash.join("chatSessions")).unwrap();
        let uri = format!("file://{}", repo.display()).replace(' ', "%20");
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
        let cli = root.join(".copilot");
        let session = cli.join("session-state/cccc1111-2222-3333-4444-555566667777");
        std::fs::create_dir_all(&session).unwrap();
        std::fs::create_dir_all(cli.join("history-session-state")).unwrap();
        let place = |name: &str, to: &Path| {
            let text = std::fs::read_to_string(fixture(name))
                .unwrap()
                .replace("@REPO@", &repo.display().to_string());
            std::fs::write(to, text).unwrap();
        };
        place("cli/events.jsonl", &session.join("events.jsonl"));
        place(
            "cli/legacy.jsonl",
            &cli.join("history-session-state/cccc1111-2222-3333-4444-555566667777.jsonl"),
        );
        Home {
            _tmp: tmp,
            user,
            repo,
            cli,
        }
    }

    fn source(&self) -> CopilotSource {
        CopilotSource::new(
            vec![self.user.clone()],
            Some(self.cli.clone()),
            CopilotBilling::default(),
        )
    }

    fn chat(&self, name: &str) -> PathBuf {
        self.user
            .join("workspaceStorage/3f1e9c0a/chatSessions")
            .join(name)
    }

    fn db(&self) -> PathBuf {
        self.user
            .join("globalStorage/github.copilot-chat")
            .join(traces::DB_NAME)
    }

    /// The span database, made as Copilot Chat's exporter lays it out: two `chat` spans of
    /// request r1, a tool span, and a `chat` span of a session with no file.
    fn make_db(&self) -> rusqlite::Connection {
        std::fs::create_dir_all(self.db().parent().unwrap()).unwrap();
        let db = rusqlite::Connection::open(self.db()).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE spans (span_id TEXT, trace_id TEXT, parent_span_id TEXT, name TEXT,
                 operation_name TEXT, chat_session_id TEXT, request_model TEXT,
                 response_model TEXT, input_tokens INTEGER, output_tokens INTEGER,
                 cached_tokens INTEGER, reasoning_tokens INTEGER, start_time_ms INTEGER,
                 end_time_ms INTEGER, span_attributes TEXT);",
        )
        .unwrap();
        // Times are those of sess-a's requests: r1 at 1780000000000, r2 a minute later.
        db.execute_batch(
            "INSERT INTO spans (span_id, trace_id, operation_name, chat_session_id,
                 request_model, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
                 end_time_ms, span_attributes) VALUES
               ('s1', 't1', 'chat', 'sess-a', 'claude-opus-4.5', 5000, 400, 3000, 0,
                1780000020000, '{\"gen_ai.usage.cache_creation.input_tokens\":500}'),
               ('s2', 't1', 'chat', 'sess-a', 'claude-opus-4.5', 2000, 100, 1500, 0,
                1780000040000, '{}'),
               ('s3', 't1', 'execute_tool', 'sess-a', '', 0, 0, 0, 0, 1780000030000, '{}'),
               ('s4', 't1', 'chat', 'sess-x', 'gpt-4o', 100, 10, 0, 0, 1780000005000, '{}');",
        )
        .unwrap();
        db
    }
}

fn data_file(path: &Path) -> DataFile {
    let meta = std::fs::metadata(path).unwrap();
    DataFile {
        path: path.to_path_buf(),
        modified: meta.modified().unwrap(),
        subagent: false,
        stamp: Some(FileStamp::of(&meta)),
    }
}

fn read(source: &CopilotSource, path: &Path, cursor: Option<&str>) -> (Vec<UsageEvent>, ReadEnd) {
    let mut events = Vec::new();
    let end = source
        .read(&data_file(path), cursor, None, &mut |item| {
            if let Item::Event(e) = item {
                events.push(*e);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    (events, end)
}

fn by_id(events: &[UsageEvent]) -> BTreeMap<String, &UsageEvent> {
    events.iter().map(|e| (e.event_id.clone(), e)).collect()
}

fn tokens(input: u64, output: u64, cache_write: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_write_5m: cache_write,
        cache_write_1h: 0,
        cache_read,
    }
}

/// (premium requests in millionths, USD in micro-dollars)
fn billed(e: &UsageEvent) -> (u64, u128) {
    let quantity = e.quantity.as_ref().unwrap();
    assert_eq!(quantity.unit.as_str(), "premium-requests");
    (quantity.micros, e.source_cost.unwrap().micros())
}

#[test]
fn a_snapshot_rewritten_with_more_requests_counts_each_once() {
    let home = Home::new();
    let source = home.source();
    let (events, end) = read(&source, &home.chat("sess-a.json"), None);
    let first = by_id(&events);
    // r2 was cancelled, r3 has no result yet.
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        [
            "vscode:sess-a:request_r1",
            "vscode:sess-a:request_r4",
            "vscode:sess-a:request_r5"
        ]
    );
    let r1 = first["vscode:sess-a:request_r1"];
    assert_eq!(r1.agent.as_str(), "copilot");
    assert_eq!(r1.model, "claude-opus-4.5");
    assert_eq!(r1.repeat, RepeatRule::Replace);
    assert_eq!(r1.requests, 1);
    assert_eq!(r1.timestamp, "2026-05-28T20:26:40Z");
    assert_eq!(r1.cwd, home.repo.display().to_string());
    // "Claude Opus 4.5 • 3x": 3 premium requests, 3 × 0.04 = 0.12 USD; no span database, so
    // the session's own counts.
    assert_eq!(billed(r1), (3_000_000, 120_000));
    assert_eq!(r1.tokens, tokens(1200, 300, 0, 0));
    // "GPT-4.1 • 0x": included.
    let r4 = first["vscode:sess-a:request_r4"];
    assert_eq!(billed(r4), (0, 0));
    assert_eq!(r4.tokens, tokens(800, 50, 0, 0));
    // A model the table does not know and no details: the default, 1x.
    let r5 = first["vscode:sess-a:request_r5"];
    assert_eq!(r5.model, "some-future-model");
    assert_eq!(billed(r5), (1_000_000, 40_000));
    assert!(r5.tokens.is_zero());

    // Rewritten whole with r3 finished and r6 added: every request is handed out again under
    // its id (the store keeps one copy of each), with the new ones.
    let cursor = end.cursor.unwrap();
    let path = home.chat("sess-a.json");
    std::fs::copy(fixture("vscode/sess-a.rewritten.json"), &path).unwrap();
    let (events, end) = read(&source, &path, Some(&cursor));
    assert!(end.stats.restarted);
    let second = by_id(&events);
    assert_eq!(second.len(), 5);
    for (id, event) in &first {
        assert_eq!(&second[id], event);
    }
    let r3 = second["vscode:sess-a:request_r3"];
    assert_eq!(billed(r3), (1_000_000, 40_000));
    assert_eq!(r3.tokens, tokens(700, 70, 0, 0));
    // r6 names its model in `selectedModel` only, and has no details: the table's 0.33x,
    // 0.33 × 0.04 = 0.0132 USD.
    let r6 = second["vscode:sess-a:request_r6"];
    assert_eq!(r6.model, "claude-haiku-4.5");
    assert_eq!(billed(r6), (330_000, 13_200));

    // Touched but not changed: nothing handed out, and the source knows it from the stamp
    // next time.
    let cursor = end.cursor.unwrap();
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, text).unwrap();
    let (events, end) = read(&source, &path, Some(&cursor));
    assert!(events.is_empty());
    assert!(end.stats.up_to_date);
    let cursor = end.cursor.unwrap();
    assert!(source.unchanged(&data_file(&path), &cursor));
}

#[test]
fn a_mutation_log_is_replayed_up_to_its_last_whole_line() {
    let home = Home::new();
    let (events, end) = read(&home.source(), &home.chat("sess-b.jsonl"), None);
    let events = by_id(&events);
    // b3's line is unfinished: left out.
    assert_eq!(events.len(), 2);
    let b1 = events["vscode:sess-b:request_b1"];
    assert_eq!(b1.model, "claude-sonnet-4.5");
    assert_eq!(billed(b1), (1_000_000, 40_000));
    assert_eq!(b1.tokens, tokens(500, 100, 0, 0));
    assert_eq!(billed(events["vscode:sess-b:request_b2"]), (0, 0));
    assert_eq!(end.stats.malformed, 0);
    assert_eq!(end.stats.lines, 2);
}

#[test]
fn empty_window_sessions_are_unattributed() {
    let home = Home::new();
    let path = home
        .user
        .join("globalStorage/emptyWindowChatSessions/sess-e.json");
    let (events, _) = read(&home.source(), &path, None);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].cwd, "");
    assert_eq!(events[0].model, "claude-sonnet-4");
    assert_eq!(billed(&events[0]), (1_000_000, 40_000));
}

#[test]
fn spans_give_exact_tokens_in_place_of_the_sessions_counts() {
    let home = Home::new();
    let db = home.make_db();
    let source = home.source();
    let (events, end) = read(&source, &home.db(), None);
    let spans = by_id(&events);
    // The tool span is not a model call.
    assert_eq!(
        spans.keys().collect::<Vec<_>>(),
        ["span:t1:s1", "span:t1:s2", "span:t1:s4"]
    );
    let s1 = spans["span:t1:s1"];
    // 5000 input of which 3000 cache reads and 500 cache writes.
    assert_eq!(s1.tokens, tokens(1500, 400, 500, 3000));
    assert_eq!(s1.requests, 0);
    assert_eq!(billed(s1), (0, 0));
    assert_eq!(s1.session_id, "sess-a");
    assert_eq!(s1.cwd, home.repo.display().to_string());
    assert_eq!(spans["span:t1:s2"].tokens, tokens(500, 100, 0, 1500));
    // A session without a file: no folder.
    assert_eq!(spans["span:t1:s4"].cwd, "");
    assert_eq!(end.stats.lines, 4);

    // r1 is covered by s1 and s2 (they ended before r2 was sent): its own counts are left
    // out; r4 is not.
    let (events, _) = read(&source, &home.chat("sess-a.json"), None);
    let chat = by_id(&events);
    assert!(chat["vscode:sess-a:request_r1"].tokens.is_zero());
    assert_eq!(
        billed(chat["vscode:sess-a:request_r1"]),
        (3_000_000, 120_000)
    );
    assert_eq!(
        chat["vscode:sess-a:request_r4"].tokens,
        tokens(800, 50, 0, 0)
    );

    // The cursor is the last row id: only new rows are read.
    let cursor = end.cursor.unwrap();
    let (events, end) = read(&source, &home.db(), Some(&cursor));
    assert!(events.is_empty() && end.stats.up_to_date);
    db.execute(
        "INSERT INTO spans (span_id, trace_id, operation_name, chat_session_id, request_model,
             input_tokens, output_tokens, end_time_ms)
         VALUES ('s5', 't2', 'chat', 'sess-b', 'copilot/claude-sonnet-4.5', 10, 1, 1)",
        [],
    )
    .unwrap();
    let (events, _) = read(&source, &home.db(), Some(&cursor));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].model, "claude-sonnet-4.5");
}

#[test]
fn a_database_that_cannot_be_read_is_an_error_never_a_panic() {
    let home = Home::new();
    std::fs::create_dir_all(home.db().parent().unwrap()).unwrap();
    std::fs::write(home.db(), "not a database, just text").unwrap();
    let result = home
        .source()
        .read(&data_file(&home.db()), None, None, &mut |_| {
            ControlFlow::Continue(())
        });
    assert!(result.is_err());
    // An exclusive lock held by the writer: the read gives up after its busy timeout.
    std::fs::remove_file(home.db()).unwrap();
    let db = home.make_db();
    db.execute_batch("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE;")
        .unwrap();
    let result = home
        .source()
        .read(&data_file(&home.db()), None, None, &mut |_| {
            ControlFlow::Continue(())
        });
    assert!(result.is_err(), "{result:?}");
    // Without the table: an error too.
    drop(db);
    std::fs::remove_file(home.db()).unwrap();
    rusqlite::Connection::open(home.db())
        .unwrap()
        .execute_batch("CREATE TABLE other (x)")
        .unwrap();
    let result = home
        .source()
        .read(&data_file(&home.db()), None, None, &mut |_| {
            ControlFlow::Continue(())
        });
    assert!(result.is_err());
}

/// Sums per model: (requests, tokens, premium requests in millionths, USD in micro-dollars).
fn totals(events: &[UsageEvent]) -> BTreeMap<String, (u64, TokenCounts, u64, u128)> {
    let mut sums: BTreeMap<String, (u64, TokenCounts, u64, u128)> = BTreeMap::new();
    for e in events {
        let (premium, usd) = billed(e);
        let sum = sums.entry(e.model.clone()).or_default();
        sum.0 += e.requests;
        sum.1 += e.tokens;
        sum.2 += premium;
        sum.3 += usd;
    }
    sums
}

#[test]
fn cli_output_per_message_and_the_rest_at_shutdown_never_twice() {
    let home = Home::new();
    let source = home.source();
    let path = home
        .cli
        .join("session-state/cccc1111-2222-3333-4444-555566667777/events.jsonl");
    let (events, end) = read(&source, &path, None);
    assert_eq!(end.stats.malformed, 1);
    for e in &events {
        assert_eq!(e.cwd, home.repo.display().to_string());
        assert_eq!(e.git_branch.as_deref(), Some("main"));
        assert_eq!(e.session_id, "cccc1111-2222-3333-4444-555566667777");
    }
    let sums = totals(&events);
    // First stretch, claude-sonnet-4.5: messages of 120, 80 and 50 output tokens; the
    // shutdown's 9000 input (6000 cache reads, 1000 writes) and 300 output, of which 250 were
    // counted: 50 more. Premium requests: checkpoints 1 then 2, the shutdown's 2 adds nothing.
    assert_eq!(
        sums["claude-sonnet-4.5"],
        (3, tokens(2000, 300, 1000, 6000), 2_000_000, 80_000)
    );
    // The resumed stretch, gpt-4.1: a message of 40, the shutdown's 60 output (20 more) and
    // 1000 input; 0 premium requests.
    assert_eq!(sums["gpt-4.1"], (1, tokens(1000, 60, 0, 0), 0, 0));
    assert_eq!(events.len(), 4 + 2 + 2);

    // The legacy copy of the first stretch names the same events.
    let legacy = home
        .cli
        .join("history-session-state/cccc1111-2222-3333-4444-555566667777.jsonl");
    let (copies, _) = read(&source, &legacy, None);
    let ids = by_id(&events);
    assert_eq!(copies.len(), 6);
    for copy in &copies {
        assert_eq!(ids[&copy.event_id], copy);
    }

    // The unfinished last line waits for its end.
    let cursor = end.cursor.unwrap();
    assert!(source.unchanged(&data_file(&path), &cursor));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, b"utputTokens\": 7}, \"id\": \"e15\"}\n").unwrap();
    let (events, end) = read(&source, &path, Some(&cursor));
    assert!(!end.stats.restarted);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].event_id,
        "cli:cccc1111-2222-3333-4444-555566667777:msg:m5"
    );
    assert_eq!(events[0].model, "gpt-4.1");
    assert_eq!(events[0].tokens.output, 7);
}

#[test]
fn a_worktree_catch_up_finds_only_its_workspace_sessions() {
    let home = Home::new();
    let source = home.source();
    let names = |scope: &Scope| {
        let mut names: Vec<String> = source
            .discover(scope)
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let all = names(&Scope::All);
    assert_eq!(
        all,
        [
            "cccc1111-2222-3333-4444-555566667777.jsonl",
            "events.jsonl",
            "sess-a.json",
            "sess-b.jsonl",
            "sess-e.json"
        ]
    );
    // Below the workspace folder: its sessions, and the CLI logs (which name their directory
    // only inside).
    let inside = names(&Scope::Worktree(home.repo.join("src")));
    assert_eq!(
        inside,
        [
            "cccc1111-2222-3333-4444-555566667777.jsonl",
            "events.jsonl",
            "sess-a.json",
            "sess-b.jsonl"
        ]
    );
    let elsewhere = names(&Scope::Worktree(home.repo.with_file_name("other")));
    assert_eq!(
        elsewhere,
        ["cccc1111-2222-3333-4444-555566667777.jsonl", "events.jsonl"]
    );
}
