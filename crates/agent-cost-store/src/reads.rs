//! What each source's reads found, per file: the counts behind `agent-cost sources`, written
//! in the same transaction as the file's cursor so they describe exactly what the store holds.

use rusqlite::params;

use crate::error::StoreError;
use crate::store::Tx;

/// What one read of a file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRead {
    /// Complete records (lines) read.
    pub lines: u64,
    /// Usage events (copies included) read.
    pub events: u64,
    /// Client-side error records skipped.
    pub synthetic: u64,
    /// Records that were not what the source expects, skipped.
    pub malformed: u64,
    /// Records with impossible counts, skipped.
    pub implausible: u64,
    /// Records too long to hold in memory, streamed through.
    pub oversize: u64,
    /// True when the file was read again from its start: earlier counts are replaced.
    pub restarted: bool,
    /// Why the read failed, if it did.
    pub error: Option<String>,
}

/// What the reads of one file found since it was last read from its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReads {
    /// The file, as the store keys it.
    pub path: Vec<u8>,
    /// Counts, summed over reads (`restarted` unused).
    pub counts: FileRead,
    /// Times the file was read again from its start.
    pub restarts: u64,
    /// When the file last had something new, in milliseconds since the epoch.
    pub last_read_ms: i64,
}

/// What the store holds of one agent's requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentEvents {
    /// The agent.
    pub agent: String,
    /// Distinct requests recorded.
    pub events: u64,
    /// Of them, those charged to a tracked worktree.
    pub attributed: u64,
    /// The earliest and latest request time, in milliseconds since the epoch.
    pub first_ms: Option<i64>,
    /// See `first_ms`.
    pub last_ms: Option<i64>,
}

impl Tx<'_> {
    /// Adds what a read of `file` found (or replaces the counts when it restarted).
    pub fn record_file_read(
        &self,
        source: &str,
        file: &[u8],
        read: &FileRead,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "INSERT INTO source_files (source, path, lines, events, synthetic, malformed,
                     implausible, oversize, restarts, error, last_read_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (source, path) DO UPDATE SET
                     lines = excluded.lines + CASE WHEN ?12 THEN 0 ELSE lines END,
                     events = excluded.events + CASE WHEN ?12 THEN 0 ELSE events END,
                     synthetic = excluded.synthetic + CASE WHEN ?12 THEN 0 ELSE synthetic END,
                     malformed = excluded.malformed + CASE WHEN ?12 THEN 0 ELSE malformed END,
                     implausible = excluded.implausible
                         + CASE WHEN ?12 THEN 0 ELSE implausible END,
                     oversize = excluded.oversize + CASE WHEN ?12 THEN 0 ELSE oversize END,
                     restarts = restarts + excluded.restarts,
                     error = excluded.error,
                     last_read_ms = excluded.last_read_ms",
            )
            .and_then(|mut s| {
                s.execute(params![
                    source,
                    file,
                    n(read.lines),
                    n(read.events),
                    n(read.synthetic),
                    n(read.malformed),
                    n(read.implausible),
                    n(read.oversize),
                    i64::from(read.restarted),
                    read.error,
                    now_ms,
                    read.restarted,
                ])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Forgets the counts of a file that is gone.
    pub fn remove_file_reads(&self, source: &str, file: &[u8]) -> Result<(), StoreError> {
        self.tx
            .execute(
                "DELETE FROM source_files WHERE source = ?1 AND path = ?2",
                params![source, file],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The counts of every file of `source` that was read.
    pub fn file_reads(&self, source: &str) -> Result<Vec<FileReads>, StoreError> {
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT path, lines, events, synthetic, malformed, implausible, oversize,
                        restarts, error, last_read_ms
                 FROM source_files WHERE source = ?1 ORDER BY path",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([source], |row| {
                Ok(FileReads {
                    path: row.get(0)?,
                    counts: FileRead {
                        lines: u(row.get(1)?),
                        events: u(row.get(2)?),
                        synthetic: u(row.get(3)?),
                        malformed: u(row.get(4)?),
                        implausible: u(row.get(5)?),
                        oversize: u(row.get(6)?),
                        restarted: false,
                        error: row.get(8)?,
                    },
                    restarts: u(row.get(7)?),
                    last_read_ms: row.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Requests recorded per agent, whichever way they came in (logs, `log`, imports).
    pub fn agent_events(&self) -> Result<Vec<AgentEvents>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT a.name, COUNT(*), COUNT(e.worktree), MIN(e.ts_ms), MAX(e.ts_ms)
                 FROM events e JOIN agents a ON a.id = e.agent
                 GROUP BY a.name ORDER BY a.name",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(AgentEvents {
                    agent: row.get(0)?,
                    events: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    attributed: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                    first_ms: row.get(3)?,
                    last_ms: row.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Store;

    fn read(lines: u64, malformed: u64, restarted: bool) -> FileRead {
        FileRead {
            lines,
            events: lines / 2,
            malformed,
            restarted,
            ..FileRead::default()
        }
    }

    #[test]
    fn reads_add_up_until_a_restart_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), Duration::from_secs(1)).unwrap();
        let tx = store.write().unwrap();
        tx.record_file_read("claude-code", b"/a", &read(10, 1, false), 100)
            .unwrap();
        tx.record_file_read("claude-code", b"/a", &read(4, 2, false), 200)
            .unwrap();
        tx.record_file_read("codex", b"/a", &read(1, 0, false), 300)
            .unwrap();
        let rows = tx.file_reads("claude-code").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].counts.lines, 14);
        assert_eq!(rows[0].counts.events, 7);
        assert_eq!(rows[0].counts.malformed, 3);
        assert_eq!(rows[0].last_read_ms, 200);
        assert_eq!(rows[0].restarts, 0);

        tx.record_file_read("claude-code", b"/a", &read(6, 0, true), 400)
            .unwrap();
        let rows = tx.file_reads("claude-code").unwrap();
        assert_eq!(rows[0].counts.lines, 6);
        assert_eq!(rows[0].counts.malformed, 0);
        assert_eq!(rows[0].restarts, 1);

        tx.remove_file_reads("claude-code", b"/a").unwrap();
        assert!(tx.file_reads("claude-code").unwrap().is_empty());
        assert_eq!(tx.file_reads("codex").unwrap().len(), 1);
        tx.commit().unwrap();
    }
}
