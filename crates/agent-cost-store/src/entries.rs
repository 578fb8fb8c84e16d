//! What people say of the spend they enter by hand (`agent-cost log`): the kind of work, how
//! long it took and a note, kept beside the entry's event for reports.

use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::store::Tx;

/// The details of one manual entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDetails {
    /// The kind of work: fix, feat, refac, test, doc, config or other.
    pub work_type: String,
    /// How long the work took, in seconds.
    pub elapsed_secs: Option<u64>,
    /// A note for people.
    pub note: Option<String>,
}

/// The pending charges of manual entries of one (agent, model) and kind of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWorkType {
    /// Agent name.
    pub agent: String,
    /// Model as recorded.
    pub model: String,
    /// The kind of work given to `agent-cost log`.
    pub work_type: String,
    /// Pending charges of such entries.
    pub charges: u64,
}

impl Tx<'_> {
    /// The kinds of work of the manual entries among `worktree`'s pending charges up to
    /// `upto` (the `last_charge` of [`Tx::pending`]). Reads from the entries' side, so it costs
    /// nothing when there are none.
    pub fn pending_work_types(
        &self,
        worktree: i64,
        upto: i64,
    ) -> Result<Vec<PendingWorkType>, StoreError> {
        // Most ledgers hold no manual entry: a look at the table is cheaper for SQLite than
        // compiling the join below (a hook compiles every statement afresh).
        let any_details = self
            .tx
            .prepare_cached("SELECT 1 FROM entry_details LIMIT 1")
            .and_then(|mut statement| statement.exists([]))
            .map_err(|e| self.err(e))?;
        if !any_details {
            return Ok(Vec::new());
        }
        let settled = self.settled_upto(Some(worktree))?;
        let mut statement = self
            .tx
            .prepare_cached(
                // CROSS JOIN keeps SQLite from driving the join from the (possibly huge)
                // pending charges: manual entries are few, pending charges may be millions.
                "SELECT a.name, m.name, d.work_type, COUNT(c.id) FROM entry_details d
                 CROSS JOIN charges c ON c.event = d.event
                 JOIN events e ON e.id = d.event JOIN agents a ON a.id = e.agent
                 JOIN models m ON m.id = e.model
                 WHERE c.worktree = ?1 AND c.id > ?2 AND c.id <= ?3
                 GROUP BY a.name, m.name, d.work_type ORDER BY a.name, m.name, d.work_type",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map(params![worktree, settled, upto], |row| {
                Ok(PendingWorkType {
                    agent: row.get(0)?,
                    model: row.get(1)?,
                    work_type: row.get(2)?,
                    charges: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Keeps the details of the entry recorded as `agent`'s event `event_id`; `false` when no
    /// such event is recorded.
    pub fn set_entry_details(
        &self,
        agent: &str,
        event_id: &str,
        details: &EntryDetails,
    ) -> Result<bool, StoreError> {
        let elapsed = details
            .elapsed_secs
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        self.tx
            .execute(
                "INSERT INTO entry_details (event, work_type, elapsed_secs, note)
                 SELECT e.id, ?3, ?4, ?5 FROM events e JOIN agents a ON a.id = e.agent
                 WHERE a.name = ?1 AND e.key = ?2
                 ON CONFLICT (event) DO UPDATE SET work_type = excluded.work_type,
                     elapsed_secs = excluded.elapsed_secs, note = excluded.note",
                params![agent, event_id, details.work_type, elapsed, details.note],
            )
            .map(|changed| changed > 0)
            .map_err(|e| self.err(e))
    }

    /// The details of `agent`'s event `event_id`, if any were kept.
    pub fn entry_details(
        &self,
        agent: &str,
        event_id: &str,
    ) -> Result<Option<EntryDetails>, StoreError> {
        self.tx
            .query_row(
                "SELECT d.work_type, d.elapsed_secs, d.note FROM entry_details d
                 JOIN events e ON e.id = d.event JOIN agents a ON a.id = e.agent
                 WHERE a.name = ?1 AND e.key = ?2",
                params![agent, event_id],
                |row| {
                    Ok(EntryDetails {
                        work_type: row.get(0)?,
                        elapsed_secs: row
                            .get::<_, Option<i64>>(1)?
                            .map(|s| u64::try_from(s).unwrap_or(0)),
                        note: row.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}
