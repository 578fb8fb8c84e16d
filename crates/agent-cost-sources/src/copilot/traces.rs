//! Copilot Chat's OpenTelemetry span database,
//! `<User>/globalStorage/github.copilot-chat/agent-traces.db` (written when
//! `github.copilot.chat.otel.dbSpanExporter.enabled` is on).
//!
//! Table `spans`, one row per span; only `operation_name = 'chat'` rows are model calls. Each
//! becomes an event with its exact tokens: `input_tokens` includes `cached_tokens` and the
//! cache writes that `span_attributes` names (`gen_ai.usage.cache_creation.input_tokens`);
//! `output_tokens` includes reasoning. A span adds tokens only: its premium requests are
//! those of the chat request it belongs to (0 here), and it is not a billed request
//! (`requests` 0). The chat session reader leaves out its own token counts for requests a
//! span covers (see [`super::vscode`]).
//!
//! The database is opened read-only; a database that is locked, busy or not what is expected
//! is reported as unreadable for this run (the caller counts it), never a panic. The cursor is
//! the largest row id read.

use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_cost_events::{RepeatRule, TokenCounts};
use agent_cost_prices::CopilotBilling;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Draft, UNKNOWN_MODEL, model_name, rfc3339_of_millis};
use crate::source::{Item, ReadEnd, ReadStats};

/// The database's file name.
pub const DB_NAME: &str = "agent-traces.db";

/// How long a read waits for VS Code's writer before giving up for this run.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// The cursor of the span database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracesCursor {
    /// The largest row id read.
    pub rowid: i64,
}

fn open(db: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

fn to_io(db: &Path, error: rusqlite::Error) -> io::Error {
    io::Error::other(format!("{}: {error}", db.display()))
}

/// The columns of `spans` this version reads, as SQL (`NULL` for those the table lacks).
struct Columns {
    end_ms: String,
    span_id: &'static str,
    trace_id: &'static str,
    attributes: &'static str,
    cached: &'static str,
}

impl Columns {
    fn of(connection: &Connection) -> rusqlite::Result<Columns> {
        let mut statement = connection.prepare("SELECT name FROM pragma_table_info('spans')")?;
        let names: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let has = |name: &str| names.iter().any(|n| n == name);
        let pick = |name: &'static str| if has(name) { name } else { "NULL" };
        // Some versions keep nanoseconds in `end_time`: scaled by size.
        let end_ms = if has("end_time_ms") {
            "end_time_ms".to_string()
        } else if has("end_time") {
            "CASE WHEN end_time > 100000000000000000 THEN end_time / 1000000 \
             WHEN end_time > 10000000000000 THEN end_time / 1000 ELSE end_time END"
                .to_string()
        } else {
            "NULL".to_string()
        };
        Ok(Columns {
            end_ms,
            span_id: pick("span_id"),
            trace_id: pick("trace_id"),
            attributes: pick("span_attributes"),
            cached: pick("cached_tokens"),
        })
    }
}

/// The end times (ms) of one chat session's `chat` spans, sorted.
pub fn session_span_ends(db: &Path, session_id: &str) -> rusqlite::Result<Vec<i64>> {
    let connection = open(db)?;
    let columns = Columns::of(&connection)?;
    let sql = format!(
        "SELECT {} FROM spans WHERE operation_name = 'chat' AND chat_session_id = ?1",
        columns.end_ms
    );
    let mut statement = connection.prepare(&sql)?;
    let mut ends: Vec<i64> = statement
        .query_map([session_id], |row| row.get::<_, Option<i64>>(0))?
        .filter_map(|r| r.ok().flatten())
        .collect();
    ends.sort_unstable();
    Ok(ends)
}

/// Reads the `chat` spans added since `cursor`.
pub fn read(
    db: &Path,
    cursor: Option<&str>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let previous: TracesCursor = cursor
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let connection = open(db).map_err(|e| to_io(db, e))?;
    let columns = Columns::of(&connection).map_err(|e| to_io(db, e))?;
    let restarted = cursor.is_some() && {
        // A database replaced by a smaller one (deleted and started again) is read again.
        let max: Option<i64> = connection
            .query_row("SELECT MAX(rowid) FROM spans", [], |row| row.get(0))
            .optional()
            .map_err(|e| to_io(db, e))?
            .flatten();
        max.unwrap_or(0) < previous.rowid
    };
    let after = if restarted { 0 } else { previous.rowid };
    let sql = format!(
        "SELECT rowid, operation_name, chat_session_id, request_model, input_tokens,
                output_tokens, {cached}, {end}, {attributes}, {span}, {trace}
         FROM spans WHERE rowid > ?1 ORDER BY rowid",
        cached = columns.cached,
        end = columns.end_ms,
        attributes = columns.attributes,
        span = columns.span_id,
        trace = columns.trace_id,
    );
    let mut statement = connection.prepare(&sql).map_err(|e| to_io(db, e))?;
    let mut rows = statement.query([after]).map_err(|e| to_io(db, e))?;
    let mut stats = ReadStats {
        restarted,
        ..ReadStats::default()
    };
    let mut last = after;
    let folders = SessionFolders::new(db);
    // Spans carry no premium requests: the list price does not matter here.
    let billing = CopilotBilling::default();
    while let Some(row) = rows.next().map_err(|e| to_io(db, e))? {
        let rowid: i64 = row.get(0).map_err(|e| to_io(db, e))?;
        stats.lines += 1;
        let draft = match span(row, rowid, &folders) {
            Ok(Some(draft)) => draft,
            Ok(None) => {
                last = rowid;
                continue;
            }
            Err(Skip::Malformed) => {
                stats.malformed += 1;
                last = rowid;
                continue;
            }
            Err(Skip::Implausible) => {
                stats.implausible += 1;
                last = rowid;
                continue;
            }
        };
        if sink(Item::Event(Box::new(draft.into_event(&billing)))).is_break() {
            stats.stopped = true;
            break;
        }
        last = rowid;
    }
    stats.up_to_date = stats.lines == 0 && !restarted;
    let cursor = (last != previous.rowid || restarted).then(|| {
        serde_json::to_string(&TracesCursor { rowid: last }).expect("a cursor serializes")
    });
    Ok(ReadEnd { cursor, stats })
}

enum Skip {
    Malformed,
    Implausible,
}

fn span(
    row: &rusqlite::Row<'_>,
    rowid: i64,
    folders: &SessionFolders,
) -> Result<Option<Draft>, Skip> {
    let text = |i: usize| -> Option<String> { row.get::<_, Option<String>>(i).ok().flatten() };
    let count = |i: usize| -> Result<u64, Skip> {
        match row.get::<_, Option<i64>>(i) {
            Ok(None) => Ok(0),
            Ok(Some(n)) => u64::try_from(n).map_err(|_| Skip::Malformed),
            Err(_) => Err(Skip::Malformed),
        }
    };
    if text(1).as_deref() != Some("chat") {
        return Ok(None);
    }
    let session = text(2).unwrap_or_default();
    let input = count(4)?;
    let output = count(5)?;
    let cached = count(6)?;
    let end_ms = row.get::<_, Option<i64>>(7).ok().flatten();
    let cache_write = text(8)
        .and_then(|a| serde_json::from_str::<Value>(&a).ok())
        .and_then(|a| {
            a.get("gen_ai.usage.cache_creation.input_tokens")
                .and_then(Value::as_u64)
        })
        .unwrap_or(0);
    let tokens = TokenCounts {
        input: input.saturating_sub(cached).saturating_sub(cache_write),
        output,
        cache_write_5m: cache_write,
        cache_write_1h: 0,
        cache_read: cached,
    };
    if !tokens.is_plausible_request() {
        return Err(Skip::Implausible);
    }
    let id = match (text(10), text(9)) {
        (Some(trace), Some(span)) => format!("span:{trace}:{span}"),
        _ => format!("span:{session}:{rowid}"),
    };
    Ok(Some(Draft {
        event_id: id,
        repeat: RepeatRule::LargestCopy,
        model: text(3)
            .as_deref()
            .and_then(model_name)
            .unwrap_or_else(|| UNKNOWN_MODEL.to_string()),
        timestamp: end_ms.map(rfc3339_of_millis).unwrap_or_default(),
        tokens,
        requests: 0,
        premium_micros: 0,
        cwd: folders.folder(&session),
        session_id: session,
        git_branch: None,
    }))
}

/// Chat session id → workspace folder, from the session files of the database's `User`
/// directory (looked up once, on the first span).
struct SessionFolders {
    user: Option<PathBuf>,
    map: std::cell::OnceCell<std::collections::HashMap<String, Option<PathBuf>>>,
}

impl SessionFolders {
    fn new(db: &Path) -> SessionFolders {
        // …/User/globalStorage/github.copilot-chat/agent-traces.db
        let user = db.parent().and_then(Path::parent).and_then(Path::parent);
        SessionFolders {
            user: user.map(Path::to_path_buf),
            map: std::cell::OnceCell::new(),
        }
    }

    /// The folder of a session's workspace (empty: unattributed).
    fn folder(&self, session: &str) -> String {
        let map = self.map.get_or_init(|| match &self.user {
            Some(user) => super::vscode::session_folders(user).into_iter().collect(),
            None => Default::default(),
        });
        map.get(session)
            .and_then(Option::as_ref)
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}
