//! The Gemini CLI source: `${GEMINI_CLI_HOME:-$HOME}/.gemini/tmp/<project>/chats/`.
//!
//! Chats are `session-*.jsonl` files (subagents' in `chats/<parent session>/<session>.jsonl`):
//! a metadata line (`sessionId`, `projectHash`), then message records, each appended again
//! whole whenever it changes (tokens arriving, tool calls added), `{"$set": …}` metadata
//! updates (sometimes carrying the whole message list) and `{"$rewindTo": id}` records.
//! Older versions wrote one pretty-printed `session-*.json` rewritten whole on every change;
//! resuming such a chat copies its messages into `session-*.jsonl` under the same session.
//!
//! Every copy of a message is handed out as an event with id `<session>:<message id>` and
//! [`RepeatRule::Replace`](agent_cost_events::RepeatRule::Replace): the ledger keeps the last
//! copy, once, whichever file or read it came from. `.jsonl` files are read with the tail
//! reader; legacy `.json` files are parsed whole when their stamp changed, and only messages
//! whose usage changed since the last read are handed out again. The project folder is mapped
//! back to its directory by [`project`]; where that fails the events have no working directory
//! and are charged as unattributed. See `docs/reading.md` ("Gemini CLI").

use std::collections::BTreeMap;
use std::io::{self, Read as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope, Source};
use crate::tail::{self, Cursor, LineBytes, ReadOptions};

pub mod chat;
pub mod project;
mod sha256;

pub use chat::{AGENT, UNKNOWN_MODEL};
use chat::{ChatState, Context, LegacyState, Outcome, Record};
use project::Projects;

/// Reads Gemini CLI chats under one `.gemini` directory.
#[derive(Debug)]
pub struct GeminiSource {
    gemini_dir: PathBuf,
    /// The project folders as the latest discovery saw them (with a hook's worktree as a
    /// candidate root), for the reads that follow it.
    projects: Mutex<Option<Arc<Projects>>>,
}

impl GeminiSource {
    /// The source for this `.gemini` directory (existing or not).
    pub fn new(gemini_dir: PathBuf) -> GeminiSource {
        GeminiSource {
            gemini_dir,
            projects: Mutex::new(None),
        }
    }

    fn projects(&self) -> Arc<Projects> {
        let mut saved = self.projects.lock().unwrap_or_else(|e| e.into_inner());
        saved
            .get_or_insert_with(|| Arc::new(Projects::load(&self.gemini_dir, &[])))
            .clone()
    }

    /// The context of a chat file: its project folder (the first component under `tmp/`).
    fn context<'a>(&self, projects: &'a Projects, file: &DataFile) -> Context<'a> {
        let tmp = self.gemini_dir.join("tmp");
        let folder = file
            .path
            .strip_prefix(&tmp)
            .ok()
            .and_then(|rest| rest.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let fallback_session = file
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Context {
            projects,
            folder,
            fallback_session,
            subagent: file.subagent,
        }
    }
}

/// True for a chat file of the main conversation: `session-*.json` or `session-*.jsonl`.
fn is_session_file(name: &str) -> bool {
    name.starts_with("session-") && (name.ends_with(".json") || name.ends_with(".jsonl"))
}

fn push_file(path: PathBuf, subagent: bool, discovery: &mut Discovery) {
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => discovery.files.push(DataFile {
            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            stamp: Some(FileStamp::of(&meta)),
            subagent,
            path,
        }),
        Ok(_) => {}
        Err(e) => discovery
            .unreadable
            .push(format!("{}: {e}", path.display())),
    }
}

/// Adds the chats of one project folder: `chats/session-*.json[l]` and the subagents'
/// `chats/<parent session>/*.jsonl`.
fn find_chats(folder: &Path, discovery: &mut Discovery) {
    let chats = folder.join("chats");
    let entries = match std::fs::read_dir(&chats) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            discovery
                .unreadable
                .push(format!("{}: {e}", chats.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            let Ok(nested) = std::fs::read_dir(&path) else {
                discovery
                    .unreadable
                    .push(format!("{}: unreadable", path.display()));
                continue;
            };
            for inner in nested.flatten() {
                let inner = inner.path();
                if inner.extension().is_some_and(|ext| ext == "jsonl") {
                    push_file(inner, true, discovery);
                }
            }
        } else if is_session_file(&name) {
            push_file(path, false, discovery);
        }
    }
}

impl Source for GeminiSource {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn roots(&self) -> Vec<PathBuf> {
        vec![self.gemini_dir.join("tmp")]
    }

    fn discover(&self, scope: &Scope) -> Discovery {
        let candidates = match scope {
            Scope::All => Vec::new(),
            Scope::Worktree(workdir) => {
                let mut candidates = vec![workdir.clone()];
                if let Ok(real) = workdir.canonicalize()
                    && real != *workdir
                {
                    candidates.push(real);
                }
                candidates
            }
        };
        let projects = Projects::load(&self.gemini_dir, &candidates);
        let mut discovery = Discovery {
            unreadable: projects.unreadable.clone(),
            ..Discovery::default()
        };
        for folder in &projects.folders {
            let wanted = match scope {
                Scope::All => true,
                // Only projects started in the worktree or below it: a hook reads no other
                // project's chats. The next full catch-up reads the rest.
                Scope::Worktree(_) => folder.root.as_deref().is_some_and(|root| {
                    candidates
                        .iter()
                        .any(|workdir| project::is_within(root, workdir))
                }),
            };
            if wanted {
                find_chats(&folder.path, &mut discovery);
            }
        }
        *self.projects.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(projects));
        discovery
    }

    fn unchanged(&self, file: &DataFile, cursor: &str) -> bool {
        file.stamp.is_some_and(|stamp| {
            tail::cursor_unchanged(&stamp, cursor, tail::wrapped_tail_text, |text| {
                serde_json::from_str::<GeminiCursor<serde_json::Value>>(text)
                    .ok()
                    .map(|c| c.tail)
            })
        })
    }

    fn unread_bytes(&self, file: &DataFile, cursor: Option<&str>) -> Option<u64> {
        tail::unread_bytes(file, cursor, tail::wrapped_tail_text)
    }

    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd> {
        let projects = self.projects();
        let context = self.context(&projects, file);
        if file.path.extension().is_some_and(|ext| ext == "json") {
            read_legacy(file, cursor, deadline, &context, sink)
        } else {
            read_jsonl(file, cursor, deadline, &context, sink)
        }
    }
}

/// A Gemini cursor: the tail reader's position (for a legacy file: its stamp when read) and
/// what the records before it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeminiCursor<S> {
    /// The byte offset and content check of the tail reader, or a legacy file's stamp.
    pub tail: Cursor,
    /// [`ChatState`] for a `.jsonl` chat, [`LegacyState`] for a `.json` one.
    pub state: S,
}

/// Lines longer than the tail reader holds are skipped unless they contain this (then they
/// count as malformed: their usage cannot be read from their ends).
const USAGE_MARKER: &[u8] = b"\"tokens\"";

/// Counts one outcome; hands out an event.
fn hand_out(
    outcome: Outcome,
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match outcome {
        Outcome::Usage(event) => sink(Item::Event(event)),
        Outcome::Malformed => {
            stats.malformed += 1;
            ControlFlow::Continue(())
        }
        Outcome::Implausible => {
            stats.implausible += 1;
            ControlFlow::Continue(())
        }
    }
}

/// Reads a `.jsonl` chat after its cursor.
pub fn read_jsonl(
    file: &DataFile,
    cursor: Option<&str>,
    deadline: Option<Instant>,
    context: &Context<'_>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    // A cursor this version cannot read costs a re-read, never money.
    let previous: Option<GeminiCursor<ChatState>> =
        cursor.and_then(|text| serde_json::from_str(text).ok());
    let options = ReadOptions {
        deadline,
        marker: Some(USAGE_MARKER),
        ..ReadOptions::default()
    };
    let mut state = previous
        .as_ref()
        .map(|c| c.state.clone())
        .unwrap_or_default();
    let mut stats = ReadStats::default();
    let resume_at = previous.as_ref().map_or(0, |c| c.tail.offset);
    let mut reset = false;
    let (new_tail, outcome, start) = tail::read_lines(
        &file.path,
        previous.as_ref().map(|c| &c.tail),
        &options,
        |line| {
            if !reset && (line.start == 0 || line.start < resume_at) {
                // Read from the top: only the recovered root outlives the old content.
                state = ChatState {
                    root: state.root.take(),
                    ..ChatState::default()
                };
                reset = true;
            }
            let outcomes = match line.bytes {
                LineBytes::Whole(bytes) => chat::parse_line(bytes, &mut state, context),
                LineBytes::Oversize { .. } => vec![Outcome::Malformed],
            };
            for outcome in outcomes {
                hand_out(outcome, &mut stats, sink)?;
            }
            ControlFlow::Continue(())
        },
    )?;
    stats.record_tail(&outcome, start);
    let new_cursor = GeminiCursor {
        tail: new_tail,
        state,
    };
    let cursor = tail::changed_cursor(start, previous.as_ref(), &new_cursor);
    Ok(ReadEnd { cursor, stats })
}

/// A file's stamp as a tail cursor that covers all of it (what [`Source::unchanged`] checks).
fn stamp_cursor(stamp: &FileStamp) -> Cursor {
    Cursor {
        offset: stamp.len,
        size: stamp.len,
        mtime_ns: stamp.mtime_ns,
        ctime_ns: stamp.ctime_ns,
        inode: stamp.inode,
        window_hash: 0,
        pending: None,
    }
}

/// Reads a legacy `.json` chat: parsed whole when its stamp changed; only messages whose usage
/// is new or changed since the last read are handed out.
pub fn read_legacy(
    file: &DataFile,
    cursor: Option<&str>,
    deadline: Option<Instant>,
    context: &Context<'_>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let previous: Option<GeminiCursor<LegacyState>> =
        cursor.and_then(|text| serde_json::from_str(text).ok());
    let mut stats = ReadStats::default();
    let opened = std::fs::File::open(&file.path)?;
    let stamp = FileStamp::of(&opened.metadata()?);
    if let Some(previous) = &previous
        && tail::unchanged(
            stamp.len,
            stamp.mtime_ns,
            stamp.ctime_ns,
            stamp.inode,
            &previous.tail,
        )
    {
        stats.up_to_date = true;
        return Ok(ReadEnd {
            cursor: None,
            stats,
        });
    }
    let mut state = previous.map(|c| c.state).unwrap_or_default();
    stats.restarted = cursor.is_some();
    if deadline.is_some_and(|d| Instant::now() >= d) {
        stats.stopped = true;
        return Ok(ReadEnd {
            cursor: None,
            stats,
        });
    }
    stats.bytes = stamp.len;
    let reader = io::BufReader::new(opened.take(stamp.len));
    let record: Record = match serde_json::from_reader(reader) {
        Ok(record) => record,
        Err(_) => {
            // Corrupt, or caught while Gemini CLI rewrote it: counted, and read again once
            // its stamp changes.
            stats.malformed += 1;
            let cursor = GeminiCursor {
                tail: stamp_cursor(&stamp),
                state,
            };
            return Ok(ReadEnd {
                cursor: Some(serde_json::to_string(&cursor).expect("a cursor serializes")),
                stats,
            });
        }
    };
    state.chat.learn(
        record.session_id.as_ref(),
        record.project_hash.as_ref(),
        record.directories.as_ref(),
    );
    let mut seen = BTreeMap::new();
    let mut complete = true;
    for message in record.messages.iter().flatten() {
        stats.lines += 1;
        let Some(message) = message.object() else {
            stats.malformed += 1;
            continue;
        };
        let id = message
            .id
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let print = chat::fingerprint(message);
        if state.seen.get(&id) == Some(&print) {
            seen.insert(id, print);
            continue;
        }
        if let Some(outcome) = chat::message_event(message, &mut state.chat, context)
            && hand_out(outcome, &mut stats, sink).is_break()
        {
            seen.insert(id, print);
            complete = false;
            break;
        }
        seen.insert(id, print);
    }
    if complete {
        state.seen = seen;
    } else {
        // Stopped by the caller: keep what was handed out, and read the file again.
        state.seen.extend(seen);
        stats.stopped = true;
    }
    let tail = if complete {
        stamp_cursor(&stamp)
    } else {
        Cursor::default()
    };
    let cursor = GeminiCursor { tail, state };
    Ok(ReadEnd {
        cursor: Some(serde_json::to_string(&cursor).expect("a cursor serializes")),
        stats,
    })
}

#[cfg(test)]
mod tests;
