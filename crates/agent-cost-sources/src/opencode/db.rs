//! Reading `opencode.db` while OpenCode writes it: opened read only (never written, never
//! locked for writing), one read transaction per run, new `part` rows found by rowid.
//!
//! Tables read: `part(id, message_id, session_id, data, time_created)`, `message(id, data)`,
//! `session(id, directory, project_id)` and `project(id, worktree)`. Part rows are inserted in
//! rowid order (SQLite has one writer at a time, so a row committed later never has a smaller
//! rowid, unless the largest rows were deleted: see [`DbCursor::id`]). A `step-finish` row is
//! written once, when its step ends; rows can still be updated, so the latest step-finish rows
//! are looked at again by rowid and re-read when their data changed.
//!
//! A database that is busy (a writer holds a lock the read cannot wait out within its budget)
//! is not read this run: the read fails with [`io::ErrorKind::WouldBlock`] and a message saying
//! so, the caller lists it among the files it could not read, the cursor stays, and the next
//! run reads what was missed.

use std::collections::HashMap;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MessageInfo, PartOutcome, StepEvent, fnv1a, part_usage, stamp_of};
use crate::source::{DataFile, FileStamp, Item, ReadEnd, ReadStats};

/// How many of the latest step-finish rows are looked at again for updates.
const RECENT_ROWS: usize = 256;
/// How long a read waits for a lock without a deadline.
const BUSY_WAIT: Duration = Duration::from_secs(2);
/// The longest a read with a deadline waits for a lock.
const BUSY_WAIT_HOOK: Duration = Duration::from_millis(250);

/// Where reading a database stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCursor {
    /// The database and its write-ahead log when the read began (see [`stamp`]).
    #[serde(default)]
    pub stamp: FileStamp,
    /// Every part row up to this rowid was looked at.
    #[serde(default)]
    pub rowid: i64,
    /// The id of the part at `rowid`. When that row is gone or another, the newest rows were
    /// deleted and rowids may have been given again: the table is read again from the start.
    #[serde(default)]
    pub id: String,
    /// The latest step-finish rows read: `(rowid, hash of data)`.
    #[serde(default)]
    pub recent: Vec<(i64, u64)>,
    /// False when the read stopped early (the stamps then do not mean "read").
    #[serde(default)]
    pub complete: bool,
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// True when the database and its write-ahead log are as they were after the read that saved
/// `cursor`.
pub fn unchanged(file: &DataFile, cursor: &str) -> bool {
    let Ok(cursor) = serde_json::from_str::<DbCursor>(cursor) else {
        return false;
    };
    cursor.complete && file.stamp == Some(cursor.stamp)
}

/// The stamp of a database as one file: OpenCode writes to the `-wal` file while it runs (the
/// database file changes only when the log is copied back into it), so the log's size is
/// added to the length and its modification time counts when later. (Its status-change time
/// is left out: opening the log to read, as root, changes it.)
pub fn stamp(path: &Path) -> Option<FileStamp> {
    let db = FileStamp::of(&std::fs::metadata(path).ok()?);
    let Some(wal) = std::fs::metadata(wal_path(path)).ok() else {
        return Some(db);
    };
    let wal = FileStamp::of(&wal);
    Some(FileStamp {
        len: db.len.saturating_add(wal.len),
        mtime_ns: db.mtime_ns.max(wal.mtime_ns),
        ..db
    })
}

/// Opens a database read only. A database in WAL mode needs its `-shm` index, which SQLite
/// creates when it is missing, even for a read-only connection: when OpenCode is not running
/// (no `-wal`, no `-shm`: its last connection checkpointed and removed them) the file is
/// opened as immutable instead, so that reading it creates nothing beside it. A database in
/// rollback-journal mode is always opened with its locks (a writer changes the file itself).
fn open(path: &Path, no_wal: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    if no_wal && !Path::new(&shm).exists() && wal_mode(path) {
        return Connection::open_with_flags(
            format!("file:{}?immutable=1", uri_path(path)),
            flags | OpenFlags::SQLITE_OPEN_URI,
        );
    }
    Connection::open_with_flags(path, flags)
}

/// True when the database header says WAL mode (read and write versions 2).
fn wal_mode(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok()
        && header[18] == 2
        && header[19] == 2
}

/// A path as the path of a `file:` URI (percent-encoded).
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A database error as an I/O error; busy and locked databases become
/// [`io::ErrorKind::WouldBlock`].
fn io_error(path: &Path, error: rusqlite::Error) -> io::Error {
    let busy = matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    if busy {
        io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "{}: locked by OpenCode ({error}); not read this time, the next run reads it",
                path.display()
            ),
        )
    } else {
        io::Error::other(format!("{}: {error}", path.display()))
    }
}

/// Reads the step-finish parts added or changed since `cursor`.
pub fn read(
    file: &DataFile,
    cursor: Option<&str>,
    deadline: Option<Instant>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let path = &file.path;
    // Stamps first: whatever is written while we read changes them, and the next run looks.
    let wal = stamp_of(&wal_path(path));
    let now = stamp(path).unwrap_or_default();
    let previous: Option<DbCursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    let connection = open(path, wal.is_none()).map_err(|e| io_error(path, e))?;
    let wait = match deadline {
        Some(deadline) => deadline
            .saturating_duration_since(Instant::now())
            .min(BUSY_WAIT_HOOK),
        None => BUSY_WAIT,
    };
    connection
        .busy_timeout(wait)
        .map_err(|e| io_error(path, e))?;
    // One snapshot for the whole read (a deferred transaction in a read-only connection).
    connection
        .execute_batch("BEGIN")
        .map_err(|e| io_error(path, e))?;
    let mut reader = Reader {
        connection: &connection,
        messages: HashMap::new(),
        sessions: HashMap::new(),
        stats: ReadStats::default(),
        has_time: false,
    };
    let lost = cursor.is_some() && previous.is_none();
    let result = reader.read(previous, lost, now, deadline, sink);
    // Ends the read transaction (nothing was written).
    let _ = connection.execute_batch("ROLLBACK");
    let (cursor, stats) = result.map_err(|e| io_error(path, e))?;
    Ok(ReadEnd {
        cursor: Some(serde_json::to_string(&cursor).unwrap_or_default()),
        stats,
    })
}

struct Reader<'c> {
    connection: &'c Connection,
    /// Messages looked up, by id.
    messages: HashMap<String, MessageInfo>,
    /// Session directories looked up, by session id.
    sessions: HashMap<String, Option<String>>,
    stats: ReadStats,
    /// Whether `part` has a `time_created` column.
    has_time: bool,
}

/// One part row.
struct Row {
    id: String,
    session: String,
    message: String,
    time_ms: Option<i64>,
    data: Vec<u8>,
}

impl Reader<'_> {
    fn read(
        &mut self,
        previous: Option<DbCursor>,
        lost: bool,
        stamp: FileStamp,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> rusqlite::Result<(DbCursor, ReadStats)> {
        let mut cursor = DbCursor {
            stamp,
            complete: true,
            ..DbCursor::default()
        };
        let columns = self.columns("part")?;
        if !["id", "message_id", "session_id", "data"]
            .iter()
            .all(|c| columns.iter().any(|have| have == c))
        {
            // Not (yet) a database with parts: nothing to read.
            self.stats.up_to_date = previous.is_some();
            return Ok((cursor, std::mem::take(&mut self.stats)));
        }
        self.has_time = columns.iter().any(|c| c == "time_created");
        let mut previous = previous.unwrap_or_default();
        if previous.rowid > 0 {
            let id: Option<String> = self
                .connection
                .query_row(
                    "SELECT id FROM part WHERE rowid = ?1",
                    [previous.rowid],
                    |row| row.get(0),
                )
                .optional()?;
            if id.as_deref() != Some(previous.id.as_str()) {
                // The newest rows were deleted (a reverted or deleted session): rowids may
                // have been given again, so every row is looked at again.
                previous = DbCursor::default();
                self.stats.restarted = true;
            }
        } else if lost {
            // A cursor this version cannot read: everything again (ids keep the totals right).
            self.stats.restarted = true;
        }
        cursor.rowid = previous.rowid;
        cursor.id = previous.id.clone();

        // Rows read before whose data changed since.
        let mut recent = Vec::with_capacity(previous.recent.len());
        for (rowid, hash) in &previous.recent {
            let Some(row) = self.row_at(*rowid)? else {
                continue;
            };
            let now = fnv1a(&row.data);
            if now != *hash {
                self.stats.lines += 1;
                self.stats.bytes += row.data.len() as u64;
                if self.emit(&row, sink)?.is_break() {
                    // The changed rows are looked at again next time.
                    cursor.recent = previous.recent.clone();
                    cursor.complete = false;
                    self.stats.stopped = true;
                    return Ok((cursor, std::mem::take(&mut self.stats)));
                }
            }
            recent.push((*rowid, now));
        }

        // Rows added since.
        let sql = format!(
            "SELECT rowid, id, session_id, message_id, {}, data FROM part
             WHERE rowid > ?1 ORDER BY rowid",
            if self.has_time {
                "time_created"
            } else {
                "NULL"
            }
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query([previous.rowid])?;
        let mut looked = 0u64;
        while let Some(row) = rows.next()? {
            looked += 1;
            if looked.is_multiple_of(64) && deadline.is_some_and(|d| Instant::now() >= d) {
                cursor.complete = false;
                self.stats.stopped = true;
                break;
            }
            let rowid: i64 = row.get(0)?;
            let data = row.get_ref(5)?;
            let bytes = match data {
                rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b,
                _ => &[][..],
            };
            self.stats.lines += 1;
            self.stats.bytes += bytes.len() as u64;
            let id = text_at(row, 1)?;
            cursor.rowid = rowid;
            cursor.id = id.clone();
            // Only step-finish parts carry usage; the others (text, tool output) are skipped
            // without being parsed.
            if memchr::memmem::find(bytes, b"step-finish").is_none() {
                continue;
            }
            let part = Row {
                id,
                session: text_at(row, 2)?,
                message: text_at(row, 3)?,
                time_ms: row.get::<_, Option<i64>>(4).ok().flatten(),
                data: bytes.to_vec(),
            };
            let flow = self.emit(&part, sink)?;
            recent.push((rowid, fnv1a(&part.data)));
            if flow.is_break() {
                cursor.complete = false;
                self.stats.stopped = true;
                break;
            }
        }
        if recent.len() > RECENT_ROWS {
            recent.drain(..recent.len() - RECENT_ROWS);
        }
        cursor.recent = recent;
        if self.stats.lines == 0 && !self.stats.restarted && !self.stats.stopped {
            self.stats.up_to_date = true;
        }
        Ok((cursor, std::mem::take(&mut self.stats)))
    }

    /// The column names of a table (none when it does not exist).
    fn columns(&self, table: &str) -> rusqlite::Result<Vec<String>> {
        let mut statement = self
            .connection
            .prepare("SELECT name FROM pragma_table_info(?1)")?;
        let names = statement.query_map([table], |row| row.get::<_, String>(0))?;
        names.collect()
    }

    fn row_at(&self, rowid: i64) -> rusqlite::Result<Option<Row>> {
        let sql = format!(
            "SELECT rowid, id, session_id, message_id, {}, data FROM part WHERE rowid = ?1",
            if self.has_time {
                "time_created"
            } else {
                "NULL"
            }
        );
        self.connection
            .query_row(&sql, [rowid], |row| {
                Ok(Row {
                    id: text_at(row, 1)?,
                    session: text_at(row, 2)?,
                    message: text_at(row, 3)?,
                    time_ms: row.get::<_, Option<i64>>(4).ok().flatten(),
                    data: match row.get_ref(5)? {
                        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                            b.to_vec()
                        }
                        _ => Vec::new(),
                    },
                })
            })
            .optional()
    }

    /// Hands out the usage of one part row, if it has any.
    fn emit(
        &mut self,
        row: &Row,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> rusqlite::Result<ControlFlow<()>> {
        let Ok(part) = serde_json::from_slice::<Value>(&row.data) else {
            self.stats.malformed += 1;
            return Ok(ControlFlow::Continue(()));
        };
        let usage = match part_usage(&part) {
            PartOutcome::Usage(usage) => usage,
            PartOutcome::NoUsage => return Ok(ControlFlow::Continue(())),
            PartOutcome::Malformed => {
                self.stats.malformed += 1;
                return Ok(ControlFlow::Continue(()));
            }
            PartOutcome::Implausible => {
                self.stats.implausible += 1;
                return Ok(ControlFlow::Continue(()));
            }
        };
        let message = self.message(&row.message)?;
        let fallback = if message.cwd.is_none() {
            self.session_directory(&row.session)?
        } else {
            None
        };
        let event = StepEvent {
            part_id: &row.id,
            session: &row.session,
            message: &message,
            fallback_cwd: fallback.as_deref(),
            time_ms: row.time_ms,
            usage,
        }
        .event();
        Ok(sink(Item::Event(Box::new(event))))
    }

    fn message(&mut self, id: &str) -> rusqlite::Result<MessageInfo> {
        if let Some(info) = self.messages.get(id) {
            return Ok(info.clone());
        }
        let data: Option<Vec<u8>> =
            self.connection
                .prepare_cached("SELECT data FROM message WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([id], |row| {
                        Ok(match row.get_ref(0)? {
                            rusqlite::types::ValueRef::Text(b)
                            | rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                            _ => Vec::new(),
                        })
                    })
                    .optional()
                })
                .or_else(missing_table)?;
        let info = data
            .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
            .map(|v| MessageInfo::from_json(&v))
            .unwrap_or_default();
        self.messages.insert(id.to_owned(), info.clone());
        Ok(info)
    }

    /// The session's directory, else its project's worktree.
    fn session_directory(&mut self, id: &str) -> rusqlite::Result<Option<String>> {
        if let Some(dir) = self.sessions.get(id) {
            return Ok(dir.clone());
        }
        let directory: Option<String> = self
            .connection
            .prepare_cached("SELECT directory FROM session WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |row| text_at(row, 0)).optional())
            .or_else(missing_table)?
            .filter(|d| !d.is_empty());
        let directory = match directory {
            Some(dir) => Some(dir),
            None => self
                .connection
                .prepare_cached(
                    "SELECT p.worktree FROM session s JOIN project p ON p.id = s.project_id
                     WHERE s.id = ?1",
                )
                .and_then(|mut s| s.query_row([id], |row| text_at(row, 0)).optional())
                .or_else(missing_table)?
                .filter(|d| !d.is_empty() && d != "/"),
        };
        self.sessions.insert(id.to_owned(), directory.clone());
        Ok(directory)
    }
}

/// A table or column another OpenCode version does not have reads as nothing; other errors
/// (busy, corrupt) stay errors.
fn missing_table<T: Default>(error: rusqlite::Error) -> rusqlite::Result<T> {
    match &error {
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.code == ErrorCode::Unknown
                && (message.contains("no such table") || message.contains("no such column")) =>
        {
            Ok(T::default())
        }
        _ => Err(error),
    }
}

/// A text column (an id), whatever SQLite holds there; a NULL is an empty string.
fn text_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(index)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Null => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_cost_events::{Money, TokenCounts, UsageEvent};
    use serde_json::json;

    /// The tables and columns OpenCode (1.x) creates that this reader looks at, plus a few it
    /// does not, as OpenCode's migrations create them.
    const SCHEMA: &str = "
        CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT,
            time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,
            sandboxes TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT,
            slug TEXT NOT NULL, directory TEXT NOT NULL, title TEXT NOT NULL,
            version TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
        CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
            time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
        CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL,
            session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
            time_updated INTEGER NOT NULL, data TEXT NOT NULL);
        CREATE INDEX message_session_idx ON message (session_id);
        CREATE INDEX part_message_idx ON part (message_id);
        CREATE INDEX part_session_idx ON part (session_id);";

    /// 2026-06-01T10:00:00Z.
    const T0: i64 = 1_780_308_000_000;

    struct Db {
        _dir: tempfile::TempDir,
        path: PathBuf,
        writer: Connection,
    }

    impl Db {
        fn new(journal: &str) -> Db {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("opencode.db");
            let writer = Connection::open(&path).unwrap();
            writer.pragma_update(None, "journal_mode", journal).unwrap();
            writer.execute_batch(SCHEMA).unwrap();
            writer
                .execute_batch(
                    "INSERT INTO project VALUES ('prj_1', '/w/alpha', 'git', NULL, 0, 0, '[]');
                     INSERT INTO session VALUES ('ses_1', 'prj_1', NULL, 's', '/w/alpha', 't',
                        '1.2.3', 0, 0);
                     INSERT INTO session VALUES ('ses_2', 'prj_1', NULL, 's', '', 't',
                        '1.2.3', 0, 0);",
                )
                .unwrap();
            Db {
                _dir: dir,
                path,
                writer,
            }
        }

        fn message(&self, id: &str, session: &str, data: Value) {
            self.writer
                .execute(
                    "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
                    rusqlite::params![id, session, T0, data.to_string()],
                )
                .unwrap();
        }

        fn part(&self, id: &str, message: &str, session: &str, at: i64, data: &str) {
            self.writer
                .execute(
                    "INSERT INTO part VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                    rusqlite::params![id, message, session, at, data],
                )
                .unwrap();
        }

        fn file(&self) -> DataFile {
            let meta = std::fs::metadata(&self.path).unwrap();
            DataFile {
                path: self.path.clone(),
                modified: meta.modified().unwrap(),
                subagent: false,
                stamp: stamp(&self.path),
            }
        }

        fn read(&self, cursor: Option<&str>) -> (Vec<UsageEvent>, ReadEnd) {
            self.read_by(cursor, None).unwrap()
        }

        fn read_by(
            &self,
            cursor: Option<&str>,
            deadline: Option<Instant>,
        ) -> io::Result<(Vec<UsageEvent>, ReadEnd)> {
            let mut events = Vec::new();
            let end = read(&self.file(), cursor, deadline, &mut |item| {
                if let Item::Event(e) = item {
                    events.push(*e);
                }
                ControlFlow::Continue(())
            })?;
            Ok((events, end))
        }
    }

    fn step(input: u64, output: u64, reasoning: u64, read: u64, write: u64, cost: f64) -> String {
        json!({"type": "step-finish", "reason": "tool-calls", "snapshot": "abc", "cost": cost,
               "tokens": {"input": input, "output": output, "reasoning": reasoning,
                          "cache": {"read": read, "write": write}}})
        .to_string()
    }

    fn assistant(model: &str, cwd: Option<&str>) -> Value {
        let mut m = json!({"role": "assistant", "modelID": model, "providerID": "anthropic",
            "mode": "build", "parentID": "msg_u", "cost": 0.5,
            "tokens": {"input": 1, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}},
            "time": {"created": T0, "completed": T0 + 9_000}});
        if let Some(cwd) = cwd {
            m["path"] = json!({"cwd": cwd, "root": "/w/alpha"});
        }
        m
    }

    /// A session of two assistant messages: three step-finish parts with tokens, one without,
    /// and parts of other kinds.
    fn session(db: &Db) {
        db.message(
            "msg_u",
            "ses_1",
            json!({"role": "user", "time": {"created": T0}, "agent": "build",
                   "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"}}),
        );
        db.message(
            "msg_a1",
            "ses_1",
            assistant("claude-sonnet-4-5", Some("/w/alpha/sub")),
        );
        db.message("msg_a2", "ses_1", assistant("claude-sonnet-4-5", None));
        db.part(
            "prt_01",
            "msg_u",
            "ses_1",
            T0,
            r#"{"type":"text","text":"step-finish?"}"#,
        );
        db.part(
            "prt_02",
            "msg_a1",
            "ses_1",
            T0 + 1,
            r#"{"type":"step-start"}"#,
        );
        db.part(
            "prt_03",
            "msg_a1",
            "ses_1",
            T0 + 2,
            r#"{"type":"tool","tool":"bash","state":{"status":"completed","output":"x"}}"#,
        );
        db.part(
            "prt_04",
            "msg_a1",
            "ses_1",
            T0 + 3_000,
            &step(100, 50, 10, 1000, 200, 0.0123),
        );
        db.part(
            "prt_05",
            "msg_a1",
            "ses_1",
            T0 + 4_000,
            &step(20, 5, 0, 1200, 0, 0.0021),
        );
        db.part(
            "prt_06",
            "msg_a2",
            "ses_1",
            T0 + 5_000,
            r#"{"type":"step-finish","reason":"stop"}"#,
        );
        db.part(
            "prt_07",
            "msg_a2",
            "ses_1",
            T0 + 6_000,
            &step(7, 3, 0, 0, 0, 0.0001),
        );
    }

    #[test]
    fn step_finish_rows_become_events_with_model_place_and_opencode_cost() {
        let db = Db::new("wal");
        session(&db);
        let (events, end) = db.read(None);
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["prt_04", "prt_05", "prt_07"]);
        let first = &events[0];
        assert_eq!(first.agent.as_str(), "opencode");
        assert_eq!(first.model, "claude-sonnet-4-5");
        assert_eq!(first.session_id, "ses_1");
        assert_eq!(first.cwd, "/w/alpha/sub");
        assert_eq!(first.timestamp, "2026-06-01T10:00:03Z");
        assert_eq!(
            first.tokens,
            TokenCounts {
                input: 100,
                output: 60,
                cache_write_5m: 200,
                cache_write_1h: 0,
                cache_read: 1000
            }
        );
        assert_eq!(first.source_cost, Some(Money::from_micros(12_300)));
        assert_eq!(first.requests, 1);
        // The second message names no directory: the session's.
        assert_eq!(events[2].cwd, "/w/alpha");
        assert_eq!(end.stats.lines, 7);
        assert_eq!(end.stats.malformed, 0);
        let cursor: DbCursor = serde_json::from_str(end.cursor.as_deref().unwrap()).unwrap();
        assert_eq!((cursor.rowid, cursor.id.as_str()), (7, "prt_07"));
        assert!(cursor.complete);
    }

    #[test]
    fn only_rows_added_since_the_cursor_are_read_and_an_untouched_database_is_not_opened() {
        let db = Db::new("wal");
        session(&db);
        let (_, end) = db.read(None);
        let cursor = end.cursor.unwrap();
        assert!(unchanged(&db.file(), &cursor));
        let (events, again) = db.read(Some(&cursor));
        assert!(events.is_empty());
        assert!(again.stats.up_to_date);

        db.part(
            "prt_08",
            "msg_a2",
            "ses_1",
            T0 + 7_000,
            &step(1, 2, 3, 4, 5, 0.0002),
        );
        assert!(!unchanged(&db.file(), &cursor));
        let (events, end) = db.read(Some(&cursor));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "prt_08");
        assert_eq!(events[0].tokens.output, 5);
        assert_eq!(end.stats.lines, 1);
    }

    #[test]
    fn a_step_finish_row_updated_after_it_was_read_is_read_again() {
        let db = Db::new("wal");
        session(&db);
        let (_, end) = db.read(None);
        db.writer
            .execute(
                "UPDATE part SET data = ?1, time_updated = ?2 WHERE id = 'prt_05'",
                rusqlite::params![step(20, 45, 0, 1200, 0, 0.0027), T0 + 8_000],
            )
            .unwrap();
        let (events, end) = db.read(end.cursor.as_deref());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "prt_05");
        assert_eq!(events[0].tokens.output, 45);
        assert_eq!(events[0].source_cost, Some(Money::from_micros(2_700)));
        // And not again.
        let (events, _) = db.read(end.cursor.as_deref());
        assert!(events.is_empty());
    }

    #[test]
    fn rowids_given_again_after_a_deletion_read_the_table_again() {
        let db = Db::new("wal");
        session(&db);
        let (_, end) = db.read(None);
        // A revert deletes the newest parts; the next insert takes the freed rowid.
        db.writer
            .execute("DELETE FROM part WHERE id = 'prt_07'", [])
            .unwrap();
        db.part(
            "prt_09",
            "msg_a2",
            "ses_1",
            T0 + 9_000,
            &step(9, 9, 0, 0, 0, 0.0001),
        );
        let (events, end) = db.read(end.cursor.as_deref());
        assert!(end.stats.restarted);
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        // Everything again (the ledger knows the first two), and the new row.
        assert_eq!(ids, ["prt_04", "prt_05", "prt_09"]);
    }

    #[test]
    fn unknown_messages_corrupt_rows_and_impossible_counts_are_counted_not_fatal() {
        let db = Db::new("wal");
        db.part("prt_1", "msg_gone", "ses_2", T0, &step(10, 1, 0, 0, 0, 0.5));
        db.part(
            "prt_2",
            "msg_gone",
            "ses_2",
            T0,
            r#"{"type":"step-finish","tokens":{"input":"#,
        );
        db.part(
            "prt_3",
            "msg_gone",
            "ses_2",
            T0,
            r#"{"type":"step-finish","tokens":{"input":-1}}"#,
        );
        let (events, end) = db.read(None);
        assert_eq!(events.len(), 1);
        // No message, no directory (the session's is empty, and its project's is used).
        assert_eq!(events[0].model, "unknown");
        assert_eq!(events[0].cwd, "/w/alpha");
        assert_eq!(events[0].source_cost, Some(Money::from_micros(500_000)));
        assert_eq!(end.stats.malformed, 1);
        assert_eq!(end.stats.implausible, 1);
    }

    #[test]
    fn rows_a_writer_has_not_committed_are_read_by_the_next_run() {
        let db = Db::new("wal");
        session(&db);
        db.writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        db.part(
            "prt_08",
            "msg_a2",
            "ses_1",
            T0 + 7_000,
            &step(1, 1, 0, 0, 0, 0.0),
        );
        // WAL: the reader sees what was committed, and is not blocked.
        let (events, end) = db.read(None);
        assert_eq!(events.len(), 3);
        db.writer.execute_batch("COMMIT").unwrap();
        let (events, _) = db.read(end.cursor.as_deref());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "prt_08");
    }

    #[test]
    fn a_locked_database_is_skipped_with_a_reason_and_read_the_next_time() {
        let db = Db::new("delete");
        session(&db);
        let (_, end) = db.read(None);
        db.writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
        db.part(
            "prt_08",
            "msg_a2",
            "ses_1",
            T0 + 7_000,
            &step(1, 1, 0, 0, 0, 0.0),
        );
        let deadline = Instant::now() + Duration::from_millis(50);
        let error = db
            .read_by(end.cursor.as_deref(), Some(deadline))
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(error.to_string().contains("next run"), "{error}");
        db.writer.execute_batch("COMMIT").unwrap();
        let (events, _) = db.read(end.cursor.as_deref());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "prt_08");
    }

    #[test]
    fn reading_never_writes_the_database() {
        let db = Db::new("wal");
        session(&db);
        let Db { _dir, path, writer } = db;
        // OpenCode closes: the log is checkpointed and removed.
        drop(writer);
        let files = |dir: &Path| {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            names
        };
        let before = (std::fs::read(&path).unwrap(), files(_dir.path()));
        let db = Db {
            writer: Connection::open_in_memory().unwrap(),
            path: path.clone(),
            _dir,
        };
        let (events, _) = db.read(None);
        assert_eq!(events.len(), 3);
        let after = (std::fs::read(&path).unwrap(), files(db._dir.path()));
        assert!(
            before == after,
            "the database directory changed: {:?} {:?}",
            before.1,
            after.1
        );
    }

    #[test]
    fn a_read_stopped_by_its_caller_continues_where_it_stopped() {
        let db = Db::new("wal");
        session(&db);
        let mut first = Vec::new();
        let end = read(&db.file(), None, None, &mut |item| {
            if let Item::Event(e) = item {
                first.push(e.event_id.clone());
            }
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(first, ["prt_04"]);
        assert!(end.stats.stopped);
        let cursor = end.cursor.unwrap();
        assert!(!unchanged(&db.file(), &cursor));
        let (events, _) = db.read(Some(&cursor));
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["prt_05", "prt_07"]);
    }
}
