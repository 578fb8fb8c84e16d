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

use super::{MessageInfo, PartOutcome, Stamp, StepEvent, fnv1a, part_usage, stamp_of};
use crate::source::{DataFile, Item, ReadEnd, ReadStats};

/// How many of the latest step-finish rows are looked at again for updates.
const RECENT_ROWS: usize = 256;
/// How long a read waits for a lock without a deadline.
const BUSY_WAIT: Duration = Duration::from_secs(2);
/// The longest a read with a deadline waits for a lock.
const BUSY_WAIT_HOOK: Duration = Duration::from_millis(250);

/// Where reading a database stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCursor {
    /// The database file when the read began.
    #[serde(default)]
    pub db: Stamp,
    /// Its `-wal` file when the read began (`None`: there was none).
    #[serde(default)]
    pub wal: Option<Stamp>,
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
    cursor.complete
        && file.stamp.map(Stamp::from) == Some(cursor.db)
        && stamp_of(&wal_path(&file.path)) == cursor.wal
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
    let db = stamp_of(path).unwrap_or_default();
    let wal = stamp_of(&wal_path(path));
    let previous: Option<DbCursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| io_error(path, e))?;
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
    let result = reader.read(previous, lost, db, wal, deadline, sink);
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
        db: Stamp,
        wal: Option<Stamp>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> rusqlite::Result<(DbCursor, ReadStats)> {
        let mut cursor = DbCursor {
            db,
            wal,
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
            if self.has_time { "time_created" } else { "NULL" }
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query([previous.rowid])?;
        let mut looked = 0u64;
        while let Some(row) = rows.next()? {
            looked += 1;
            if looked % 64 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
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
            if self.has_time { "time_created" } else { "NULL" }
        );
        self.connection
            .query_row(&sql, [rowid], |row| {
                Ok(Row {
                    id: text_at(row, 1)?,
                    session: text_at(row, 2)?,
                    message: text_at(row, 3)?,
                    time_ms: row.get::<_, Option<i64>>(4).ok().flatten(),
                    data: match row.get_ref(5)? {
                        rusqlite::types::ValueRef::Text(b)
                        | rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
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
        let data: Option<Vec<u8>> = self
            .connection
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
            .and_then(|mut s| {
                s.query_row([id], |row| row.get::<_, Option<String>>(0))
                    .optional()
            })
            .or_else(missing_table)?
            .flatten()
            .filter(|d| !d.is_empty());
        let directory = match directory {
            Some(dir) => Some(dir),
            None => self
                .connection
                .prepare_cached(
                    "SELECT p.worktree FROM session s JOIN project p ON p.id = s.project_id
                     WHERE s.id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([id], |row| row.get::<_, Option<String>>(0))
                        .optional()
                })
                .or_else(missing_table)?
                .flatten()
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

/// A text column (an id); a NULL is an empty string.
fn text_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<String> {
    Ok(row.get::<_, Option<String>>(index)?.unwrap_or_default())
}
