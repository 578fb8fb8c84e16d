//! Reading the JSON storage of OpenCode versions before the database:
//! `storage/message/<sessionID>/<messageID>.json` (one file per message, rewritten whole as the
//! message grows), `storage/part/<messageID>/<partID>.json` (one per part) and
//! `storage/session/<projectID>/<sessionID>.json` (the session's `directory`).
//!
//! Each message file is one data file. Its cursor is the stamp of the message file and of its
//! part directory: OpenCode rewrites the message whenever a step ends (its totals change) and
//! adds the step's part to the directory, so either stamp changing means the message is read
//! again, whole, and its step-finish parts handed out again; their ids make the copies one
//! event.

use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MessageInfo, PartOutcome, StepEvent, part_usage, stamp_of};
use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats};

/// The largest message or part file read (a step-finish part is a few hundred bytes; larger
/// files are tool output or text).
const MAX_FILE: u64 = 8 << 20;

/// A legacy message's cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyCursor {
    /// The message file when read.
    pub message: FileStamp,
    /// Its part directory when read (`None`: there was none).
    pub parts: Option<FileStamp>,
    /// That directory, when it is not named by the message file's name (the message's `id`
    /// names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// Adds every `storage/message/*/*.json` under `storage` to `discovery`.
pub fn find_messages(storage: &Path, discovery: &mut Discovery) {
    let root = storage.join("message");
    let sessions = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            discovery
                .unreadable
                .push(format!("{}: {e}", root.display()));
            return;
        }
    };
    for session in sessions.flatten() {
        let dir = session.path();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => discovery.files.push(DataFile {
                    modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                    stamp: Some(FileStamp::of(&meta)),
                    subagent: false,
                    path,
                }),
                Ok(_) => {}
                Err(e) => discovery
                    .unreadable
                    .push(format!("{}: {e}", path.display())),
            }
        }
    }
}

/// `storage/` of a message file `storage/message/<session>/<message>.json`.
fn storage_of(message: &Path) -> Option<&Path> {
    message.parent()?.parent()?.parent()
}

/// The part directory of a message file (OpenCode names the file after the message's id).
fn parts_dir(message: &Path) -> Option<PathBuf> {
    let id = message.file_stem()?;
    Some(storage_of(message)?.join("part").join(id))
}

/// The part directory of a message whose JSON names its id.
fn parts_dir_of(message: &Path, id: Option<&str>) -> Option<PathBuf> {
    match id {
        Some(id) if !id.is_empty() && !id.contains(['/', '\\']) && id != ".." => {
            Some(storage_of(message)?.join("part").join(id))
        }
        _ => parts_dir(message),
    }
}

/// True when the message file and its part directory are as they were when `cursor` was
/// saved.
pub fn unchanged(file: &DataFile, cursor: &str) -> bool {
    let Ok(cursor) = serde_json::from_str::<LegacyCursor>(cursor) else {
        return false;
    };
    let dir = cursor.dir.clone().or_else(|| parts_dir(&file.path));
    file.stamp == Some(cursor.message) && dir.and_then(|d| stamp_of(&d)) == cursor.parts
}

/// Reads a file of at most [`MAX_FILE`] bytes (`Ok(None)`: larger).
fn read_small(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_FILE {
        return Ok(None);
    }
    std::fs::read(path).map(Some)
}

/// Reads one message and hands out the usage of its step-finish parts.
pub fn read(
    file: &DataFile,
    cursor: Option<&str>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let previous: Option<LegacyCursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    // Stamps before reading: a change made while we read is seen next time. (The part
    // directory's is taken again below if the message names another one.)
    let mut cursor = LegacyCursor {
        message: stamp_of(&file.path).unwrap_or_default(),
        parts: parts_dir(&file.path).as_deref().and_then(stamp_of),
        dir: None,
    };
    let mut stats = ReadStats {
        restarted: previous.is_some(),
        ..ReadStats::default()
    };
    let end = |stats: ReadStats, cursor: &LegacyCursor| {
        Ok(ReadEnd {
            cursor: Some(serde_json::to_string(cursor).unwrap_or_default()),
            stats,
        })
    };
    let Some(bytes) = read_small(&file.path)? else {
        stats.oversize += 1;
        return end(stats, &cursor);
    };
    stats.lines += 1;
    stats.bytes += bytes.len() as u64;
    let Ok(message) = serde_json::from_slice::<Value>(&bytes) else {
        stats.malformed += 1;
        return end(stats, &cursor);
    };
    let info = MessageInfo::from_json(&message);
    if info.role.as_deref().is_some_and(|r| r != "assistant") {
        return end(stats, &cursor);
    }
    let session = info.session.clone().unwrap_or_else(|| {
        file.path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let id = message.get("id").and_then(Value::as_str);
    let Some(parts) = parts_dir_of(&file.path, id) else {
        return end(stats, &cursor);
    };
    if Some(&parts) != parts_dir(&file.path).as_ref() {
        cursor.parts = stamp_of(&parts);
        cursor.dir = Some(parts.clone());
    }
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&parts) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return end(stats, &cursor),
        Err(e) => return Err(e),
    };
    names.sort();
    let mut directory: Option<Option<String>> = None;
    // A part that cannot be read (a directory, no permission) is skipped and counted, and the
    // message is read again next time.
    let mut unread_part = false;
    for path in names {
        let bytes = match read_small(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                stats.oversize += 1;
                continue;
            }
            // Removed between the listing and the read.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(_) => {
                stats.malformed += 1;
                unread_part = true;
                continue;
            }
        };
        stats.lines += 1;
        stats.bytes += bytes.len() as u64;
        if memchr::memmem::find(&bytes, b"step-finish").is_none() {
            continue;
        }
        let Ok(part) = serde_json::from_slice::<Value>(&bytes) else {
            stats.malformed += 1;
            continue;
        };
        let usage = match part_usage(&part) {
            PartOutcome::Usage(usage) => usage,
            PartOutcome::NoUsage => continue,
            PartOutcome::Malformed => {
                stats.malformed += 1;
                continue;
            }
            PartOutcome::Implausible => {
                stats.implausible += 1;
                continue;
            }
        };
        let id = part
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        if info.cwd.is_none() && directory.is_none() {
            directory = Some(session_directory(&file.path, &session));
        }
        let event = StepEvent {
            part_id: &id,
            session: &session,
            message: &info,
            fallback_cwd: directory.as_ref().and_then(Option::as_deref),
            time_ms: None,
            usage,
        }
        .event();
        if sink(Item::Event(Box::new(event))).is_break() {
            // Nothing of this message is recorded as read: it is read again, whole.
            stats.stopped = true;
            return Ok(ReadEnd {
                cursor: None,
                stats,
            });
        }
    }
    if unread_part {
        return Ok(ReadEnd {
            cursor: None,
            stats,
        });
    }
    end(stats, &cursor)
}

/// The `directory` of `storage/session/<any project>/<session>.json`.
fn session_directory(message: &Path, session: &str) -> Option<String> {
    let sessions = storage_of(message)?.join("session");
    let file_name = format!("{session}.json");
    for project in std::fs::read_dir(sessions).ok()?.flatten() {
        let path = project.path().join(&file_name);
        let Ok(Some(bytes)) = read_small(&path) else {
            continue;
        };
        let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        return value
            .get("directory")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;
    use crate::Source;
    use crate::opencode::OpenCodeSource;
    use agent_cost_events::{Money, TokenCounts, UsageEvent};

    /// The hand-written storage of `tests/fixtures/opencode`, copied with its placeholder
    /// replaced by `/w/alpha`.
    fn install() -> tempfile::TempDir {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let path = entry.unwrap().path();
                let target = to.join(path.file_name().unwrap());
                if path.is_dir() {
                    copy(&path, &target);
                } else {
                    let text = std::fs::read_to_string(&path).unwrap();
                    std::fs::write(target, text.replace("@REPO_A@", "/w/alpha")).unwrap();
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let fixtures =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/opencode/storage");
        copy(&fixtures, &dir.path().join("storage"));
        dir
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

    fn read_one(file: &DataFile, cursor: Option<&str>) -> (Vec<UsageEvent>, ReadEnd) {
        let mut events = Vec::new();
        let end = read(file, cursor, &mut |item| {
            if let Item::Event(e) = item {
                events.push(*e);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        (events, end)
    }

    #[test]
    fn step_finish_parts_of_every_message_with_counts_of_what_was_skipped() {
        let dir = install();
        let source = OpenCodeSource::new(Some(dir.path().to_path_buf()), None);
        let discovery = source.discover(&Scope::All);
        assert_eq!(discovery.files.len(), 4, "{discovery:?}");
        let mut events = Vec::new();
        let mut malformed = 0;
        for file in &discovery.files {
            let (mut found, end) = read_one(file, None);
            events.append(&mut found);
            malformed += end.stats.malformed;
        }
        events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        // prt_a1f has no tokens; prt_a2b and msg_bad are cut short.
        assert_eq!(ids, ["prt_a1c", "prt_a1e", "prt_a2a"]);
        assert_eq!(malformed, 2);
        let c = &events[0];
        assert_eq!(c.model, "claude-sonnet-4-5");
        assert_eq!(c.session_id, "ses_alpha");
        assert_eq!(c.cwd, "/w/alpha");
        assert_eq!(c.timestamp, "2026-06-01T10:00:30Z");
        assert_eq!(
            c.tokens,
            TokenCounts {
                input: 100,
                output: 50,
                cache_write_5m: 400,
                cache_write_1h: 0,
                cache_read: 2000
            }
        );
        assert_eq!(c.source_cost, Some(Money::from_micros(12_300)));
        // msg_a2 names no directory: its session's; a model no price list knows, with the
        // cost OpenCode recorded.
        let a = &events[2];
        assert_eq!(a.cwd, "/w/alpha");
        assert_eq!(a.model, "mystery-model-x");
        assert_eq!(a.tokens.input, 1000);
        assert_eq!(a.tokens.output, 500);
        assert_eq!(a.source_cost, Some(Money::from_micros(4_321)));
    }

    #[test]
    fn a_message_rewritten_whole_is_read_again_under_the_same_ids() {
        let dir = install();
        let storage = dir.path().join("storage");
        let message = storage.join("message/ses_alpha/msg_a1.json");
        let (events, end) = read_one(&data_file(&message), None);
        assert_eq!(events.len(), 2);
        let cursor = end.cursor.unwrap();
        assert!(unchanged(&data_file(&message), &cursor));

        // The next step ends: its part is added and the message rewritten with new totals.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            storage.join("part/msg_a1/prt_a1g.json"),
            r#"{"id":"prt_a1g","type":"step-finish","tokens":{"input":10,"output":20}}"#,
        )
        .unwrap();
        let text = std::fs::read_to_string(&message).unwrap();
        std::fs::write(&message, text.replace("0.0148", "0.01513")).unwrap();
        assert!(!unchanged(&data_file(&message), &cursor));
        let (events, end) = read_one(&data_file(&message), Some(&cursor));
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["prt_a1c", "prt_a1e", "prt_a1g"]);
        assert!(end.stats.restarted);
        assert_eq!(events[2].source_cost, None);
        assert!(unchanged(&data_file(&message), &end.cursor.unwrap()));
    }

    #[test]
    fn a_hook_reads_only_the_database_when_there_is_one() {
        let dir = install();
        let source = OpenCodeSource::new(Some(dir.path().to_path_buf()), None);
        let scope = Scope::Worktree(PathBuf::from("/w/alpha"));
        assert_eq!(source.discover(&scope).files.len(), 4);
        std::fs::write(dir.path().join("opencode.db"), b"").unwrap();
        std::fs::write(dir.path().join("opencode-beta.db"), b"").unwrap();
        std::fs::write(dir.path().join("opencode.db-wal"), b"").unwrap();
        let names = |scope: &Scope| -> Vec<String> {
            let mut names: Vec<_> = source
                .discover(scope)
                .files
                .iter()
                .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&scope), ["opencode-beta.db", "opencode.db"]);
        assert_eq!(names(&Scope::All).len(), 6);
    }
}
