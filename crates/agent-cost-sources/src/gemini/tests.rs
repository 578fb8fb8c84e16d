//! The Gemini CLI source against the hand-written fixtures of `tests/fixtures/gemini/` (see
//! its README for the counts worked out by hand) and small temporary `.gemini` trees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agent_cost_events::{RepeatRule, TokenCounts, UsageEvent};

use super::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/gemini")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A `.gemini` directory in a temp dir, with the `shop` project rooted at `/w/shop`.
struct Home {
    _tmp: tempfile::TempDir,
    gemini: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let gemini = tmp.path().join(".gemini");
        std::fs::create_dir_all(gemini.join("tmp/shop/chats")).unwrap();
        std::fs::write(gemini.join("tmp/shop/.project_root"), "/w/shop").unwrap();
        Home { _tmp: tmp, gemini }
    }

    /// Writes `text` as chat `name` of project folder `folder`.
    fn chat(&self, folder: &str, name: &str, text: &str) -> PathBuf {
        let path = self
            .gemini
            .join("tmp")
            .join(folder)
            .join("chats")
            .join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn source(&self) -> GeminiSource {
        GeminiSource::new(self.gemini.clone())
    }
}

fn data_file(path: &Path) -> DataFile {
    let meta = std::fs::metadata(path).unwrap();
    DataFile {
        path: path.to_path_buf(),
        modified: std::time::UNIX_EPOCH,
        subagent: path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n != "chats"),
        stamp: Some(FileStamp::of(&meta)),
    }
}

fn read(source: &GeminiSource, path: &Path, cursor: Option<&str>) -> (Vec<UsageEvent>, ReadEnd) {
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

/// What the ledger keeps of these copies: the last copy of each event id.
fn last_copies(events: &[UsageEvent]) -> BTreeMap<String, UsageEvent> {
    events
        .iter()
        .map(|e| (e.event_id.clone(), e.clone()))
        .collect()
}

fn tokens(input: u64, output: u64, cache_read: u64) -> TokenCounts {
    TokenCounts {
        input,
        output,
        cache_read,
        ..TokenCounts::default()
    }
}

const REWRITE_SESSION: &str = "5e551a0e-0000-4000-8000-000000000001";

#[test]
fn the_last_copy_of_a_rewritten_message_counts_and_rewound_spend_stays() {
    let home = Home::new();
    let path = home.chat("shop", "session-a.jsonl", &fixture("rewrite.jsonl"));
    let (events, end) = read(&home.source(), &path, None);
    // g1 twice (its second copy from the `$set` message list), g2, g3 (rewound), g4; the
    // truncated g5 is not read yet.
    let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
    let id = |m: &str| format!("{REWRITE_SESSION}:{m}");
    assert_eq!(ids, [id("g1"), id("g1"), id("g2"), id("g3"), id("g4")]);
    assert!(events.iter().all(|e| e.repeat == RepeatRule::Replace));
    assert!(
        events
            .iter()
            .all(|e| e.agent.as_str() == "gemini-cli" && e.cwd == "/w/shop")
    );
    let kept = last_copies(&events);
    // g1's last copy: 12000 in of which 9000 cached, 300 out + 100 thoughts.
    assert_eq!(kept[&id("g1")].tokens, tokens(3_000, 400, 9_000));
    assert_eq!(kept[&id("g2")].tokens, tokens(1_000, 100, 12_000));
    // g3 was rewound away, but it was a request made and paid for.
    assert_eq!(kept[&id("g3")].tokens, tokens(1_000, 500, 13_000));
    // g4: 1500 uncached + 28 tool-use prompt tokens, 80 out + 20 thoughts.
    assert_eq!(kept[&id("g4")].tokens, tokens(1_528, 100, 12_000));
    assert_eq!(kept[&id("g4")].model, "gemini-2.5-pro");
    assert_eq!(kept[&id("g4")].timestamp, "2026-06-01T10:02:05.000Z");
    let sum = kept
        .values()
        .fold(TokenCounts::default(), |sum, e| sum + e.tokens);
    assert_eq!(sum, tokens(6_528, 1_100, 46_000));
    assert_eq!(end.stats.malformed, 0);

    // The truncated line, once complete, is read alone from the cursor.
    let cursor = end.cursor.unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, fixture("rewrite.rest").as_bytes()).unwrap();
    let (events, end) = read(&home.source(), &path, Some(&cursor));
    assert!(!end.stats.restarted);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, id("g5"));
    assert_eq!(events[0].tokens, tokens(1_000, 60, 14_000));
    assert_eq!(events[0].session_id, REWRITE_SESSION);
}

#[test]
fn a_legacy_file_rewritten_whole_hands_out_only_its_new_message() {
    let home = Home::new();
    let path = home.chat("shop", "session-l.json", &fixture("legacy.json"));
    let source = home.source();
    let (events, end) = read(&source, &path, None);
    assert_eq!(events.len(), 1);
    let session = "1e6ac100-0000-4000-8000-000000000002";
    assert_eq!(events[0].event_id, format!("{session}:m2"));
    assert_eq!(events[0].tokens, tokens(4_000, 100, 0));
    assert_eq!(events[0].model, "gemini-2.5-flash");
    assert_eq!(end.stats.lines, 3);
    let cursor = end.cursor.unwrap();
    // Unchanged: told from the stamp alone, and a read reads nothing.
    assert!(source.unchanged(&data_file(&path), &cursor));
    let (events, end) = read(&source, &path, Some(&cursor));
    assert!(events.is_empty() && end.stats.up_to_date && end.cursor.is_none());
    // Rewritten whole with one more message: only that one.
    std::fs::write(&path, fixture("legacy-rewritten.json")).unwrap();
    assert!(!source.unchanged(&data_file(&path), &cursor));
    let (events, end) = read(&source, &path, Some(&cursor));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, format!("{session}:m4"));
    assert_eq!(events[0].tokens, tokens(1_000, 200, 4_000));
    // Without its cursor every message comes again, under the same ids (the ledger keeps
    // one copy of each).
    let (again, _) = read(&source, &path, None);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].event_id, events[0].event_id);
    drop(end);
}

#[test]
fn a_resumed_legacy_chat_copied_to_jsonl_gives_the_same_ids() {
    let home = Home::new();
    let legacy = home.chat("shop", "session-l.json", &fixture("legacy.json"));
    let resumed = home.chat("shop", "session-l.jsonl", &fixture("legacy-resumed.jsonl"));
    let source = home.source();
    let (old, _) = read(&source, &legacy, None);
    let (new, _) = read(&source, &resumed, None);
    assert_eq!(new.len(), 2);
    assert_eq!(new[0], old[0]);
    assert_eq!(new[1].tokens, tokens(1_000, 60, 5_000));
}

#[test]
fn unknown_models_are_kept_and_bad_counts_are_counted() {
    let home = Home::new();
    std::fs::write(
        home.gemini.join("projects.json"),
        r#"{"projects": {"/w/beta": "beta"}}"#,
    )
    .unwrap();
    let path = home.chat("beta", "session-b.jsonl", &fixture("unknown-model.jsonl"));
    let (events, end) = read(&home.source(), &path, None);
    assert_eq!(end.stats.malformed, 1);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].model, "gemini-9-ultra");
    assert_eq!(events[0].tokens, tokens(700, 30, 0));
    assert_eq!(events[0].cwd, "/w/beta");
    assert_eq!(events[1].tokens, tokens(1_000, 200, 1_000));
}

#[test]
fn a_corrupt_legacy_file_is_counted_and_not_read_again_until_it_changes() {
    let home = Home::new();
    let path = home.chat("shop", "session-c.json", &fixture("corrupt.json"));
    let source = home.source();
    let (events, end) = read(&source, &path, None);
    assert!(events.is_empty());
    assert_eq!(end.stats.malformed, 1);
    let cursor = end.cursor.unwrap();
    assert!(source.unchanged(&data_file(&path), &cursor));
    // Completed later: read.
    std::fs::write(&path, fixture("legacy.json")).unwrap();
    let (events, _) = read(&source, &path, Some(&cursor));
    assert_eq!(events.len(), 1);
}

#[test]
fn a_chat_whose_project_cannot_be_mapped_has_no_working_directory() {
    let home = Home::new();
    let folder = sha256::hex_digest(b"/nowhere/project");
    let path = home.chat(&folder, "session-u.jsonl", &fixture("unmapped.jsonl"));
    let (events, _) = read(&home.source(), &path, None);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].cwd, "");
    assert_eq!(events[0].tokens, tokens(1_000, 10, 0));
}

#[test]
fn a_hooks_worktree_finds_its_own_projects_and_no_other() {
    let home = Home::new();
    let old_root = "/w/old";
    let hashed = sha256::hex_digest(old_root.as_bytes());
    let shop = home.chat("shop", "session-a.jsonl", &fixture("rewrite.jsonl"));
    let sub = home.chat("shop", "5e551a0e/sub-1.jsonl", &fixture("unmapped.jsonl"));
    let old = home.chat(
        &hashed,
        "session-h.jsonl",
        &fixture("hashed.jsonl").replace("@HASH@", &hashed),
    );
    home.chat("lost", "session-u.jsonl", &fixture("unmapped.jsonl"));
    // Not chats: checkpoints and logs beside them.
    home.chat("shop", "notes.json", "{}");
    std::fs::write(home.gemini.join("tmp/shop/logs.json"), "[]").unwrap();
    let source = home.source();
    let paths = |scope: &Scope| {
        let mut found: Vec<_> = source
            .discover(scope)
            .files
            .into_iter()
            .map(|f| (f.path, f.subagent))
            .collect();
        found.sort();
        found
    };
    let mut expected = vec![(shop.clone(), false), (sub.clone(), true)];
    expected.sort();
    assert_eq!(paths(&Scope::Worktree(PathBuf::from("/w/shop"))), expected);
    assert_eq!(paths(&Scope::Worktree(PathBuf::from("/w"))).len(), 2);
    assert_eq!(
        paths(&Scope::Worktree(PathBuf::from(old_root))),
        vec![(old.clone(), false)]
    );
    assert_eq!(paths(&Scope::All).len(), 4);

    // The hash-named folder, found by the worktree's hash, is charged there; its cursor
    // remembers the root for reads that have no worktree to go by.
    let source = home.source();
    source.discover(&Scope::Worktree(PathBuf::from(old_root)));
    let (events, end) = read(&source, &old, None);
    assert_eq!(events[0].cwd, old_root);
    std::fs::write(
        &old,
        format!(
            "{}{}\n",
            fixture("hashed.jsonl").replace("@HASH@", &hashed),
            fixture("unmapped.jsonl").lines().nth(1).unwrap()
        ),
    )
    .unwrap();
    let later = home.source();
    later.discover(&Scope::All);
    let (events, _) = read(&later, &old, end.cursor.as_deref());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].cwd, old_root);
    // A subagent chat is marked as a sidechain of its session.
    let (events, _) = read(&later, &sub, None);
    assert!(events[0].sidechain);
}

#[test]
fn the_recorded_directories_can_name_the_root() {
    let home = Home::new();
    let root = "/w/dirs";
    let hash = sha256::hex_digest(root.as_bytes());
    let text = fixture("hashed.jsonl").replace("@HASH@", &hash).replacen(
        "\"kind\":\"main\"",
        &format!("\"kind\":\"main\",\"directories\":[\"/w/other\",\"{root}\"]"),
        1,
    );
    let path = home.chat("anything", "session-d.jsonl", &text);
    let (events, _) = read(&home.source(), &path, None);
    assert_eq!(events[0].cwd, root);
}

#[test]
fn reads_stopped_after_every_event_add_up_to_one_read() {
    let home = Home::new();
    let jsonl = home.chat("shop", "session-a.jsonl", &fixture("rewrite.jsonl"));
    let legacy = home.chat("shop", "session-l.json", &fixture("legacy-rewritten.json"));
    for path in [jsonl, legacy] {
        let source = home.source();
        let (whole, _) = read(&source, &path, None);
        let (mut pieces, mut cursor, mut reads) = (Vec::new(), None::<String>, 0);
        loop {
            let end = source
                .read(&data_file(&path), cursor.as_deref(), None, &mut |item| {
                    if let Item::Event(e) = item {
                        pieces.push(*e);
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                })
                .unwrap();
            reads += 1;
            match end.cursor {
                Some(next) if !end.stats.up_to_date && reads < 50 => cursor = Some(next),
                _ => break,
            }
            if !end.stats.stopped {
                break;
            }
        }
        assert!(reads > 1, "{}", path.display());
        assert_eq!(
            last_copies(&pieces),
            last_copies(&whole),
            "{}",
            path.display()
        );
    }
}

#[test]
fn lines_that_are_not_records_are_counted_never_a_panic() {
    let home = Home::new();
    let text = [
        "not json",
        "[1,2]",
        r#"{"id":"x","tokens":{"input":1},"sessionId":5}"#,
        r#"{"id":7,"tokens":{"input":1}}"#,
        r#"{"tokens":{"input":1}}"#,
        r#"{"id":"big","tokens":{"input":2000000000000}}"#,
        r#"{"$rewindTo":"nothing"}"#,
        r#"{"$set":{"messages":"no"}}"#,
        r#"{"id":"zero","tokens":{"input":0,"output":0}}"#,
        "",
    ]
    .join("\n");
    let path = home.chat("shop", "session-x.jsonl", &text);
    let (events, end) = read(&home.source(), &path, None);
    // A session id of another type is ignored: the message is read, under the file's session.
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["session-x:x"]);
    assert_eq!(end.stats.implausible, 1);
    assert_eq!(end.stats.malformed, 5);
}
