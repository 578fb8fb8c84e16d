//! What `agent-cost backfill` needs of the ledger: the charges from before a repository's
//! tracking start that no note carries yet, and the backfill drains that carry them into git
//! notes (`refs/notes/ai-cost`), proposed before their note is written and settled after, so
//! that a run killed in between writes the same note again instead of a second one.

use agent_cost_events::{Money, TokenCounts};
use rusqlite::params;

use crate::error::StoreError;
use crate::record::tokens_at;
use crate::store::Tx;
use crate::time::now_rfc3339;

/// A charge from before tracking that no backfill drain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillCharge {
    /// The charge id.
    pub id: i64,
    /// The worktree it is charged to (row id).
    pub worktree: i64,
    /// When its request was logged, milliseconds since the epoch.
    pub ts_ms: i64,
    /// Agent name.
    pub agent: String,
    /// Model as logged.
    pub model: String,
    /// Premium speed mode, if any.
    pub speed: Option<String>,
    /// The agent's session.
    pub session: String,
    /// The event's stable key (with the agent, its identity).
    pub key: String,
    /// The unit of `quantity`, if the agent bills in one.
    pub unit: Option<String>,
    /// Token counts.
    pub tokens: TokenCounts,
    /// Requests.
    pub requests: u64,
    /// Quantity in millionths of `unit`.
    pub quantity: u64,
    /// Cost the source reported, if any.
    pub source_cost: Option<Money>,
}

/// A backfill drain and its note: settled once the note was written (a run killed before
/// leaves it unsettled); written again whenever the notes lack it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBackfill {
    /// The drain id (`AI-Cost-Id`).
    pub drain: String,
    /// The commit the note is on.
    pub commit: String,
    /// The note's text.
    pub note: String,
    /// Whether its note was written.
    pub settled: bool,
}

impl Tx<'_> {
    /// The worktrees of repository `common_dir` the store knows, with their row ids.
    pub fn worktrees_of(
        &self,
        common_dir: &str,
    ) -> Result<Vec<(i64, agent_cost_git::Worktree)>, StoreError> {
        let mut statement = self
            .tx
            .prepare("SELECT id, workdir, git_dir, common_dir FROM worktrees WHERE common_dir = ?1")
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([common_dir], |row| {
                Ok((
                    row.get(0)?,
                    agent_cost_git::Worktree {
                        workdir: row.get::<_, String>(1)?.into(),
                        git_dir: row.get::<_, String>(2)?.into(),
                        common_dir: row.get::<_, String>(3)?.into(),
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The charges of the worktrees of repository `common_dir` whose requests were logged
    /// before its tracking start and that no backfill drain holds, oldest first. Empty when
    /// the repository is not tracked.
    pub fn backfill_candidates(&self, common_dir: &str) -> Result<Vec<BackfillCharge>, StoreError> {
        let mut statement = self
            .tx
            .prepare(
                "SELECT c.id, c.worktree, e.ts_ms, a.name, m.name, COALESCE(e.speed, ''),
                        s.name, e.key, COALESCE(e.unit, ''),
                        c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read,
                        c.requests, c.quantity, c.source_cost
                 FROM charges c
                 JOIN events e ON e.id = c.event
                 JOIN agents a ON a.id = e.agent
                 JOIN models m ON m.id = e.model
                 JOIN sessions s ON s.id = e.session
                 JOIN worktrees w ON w.id = c.worktree
                 JOIN tracking t ON t.common_dir = w.common_dir
                 WHERE w.common_dir = ?1 AND e.ts_ms IS NOT NULL AND e.ts_ms < t.since_ms
                   AND NOT EXISTS (SELECT 1 FROM backfills b WHERE b.charge = c.id)
                   -- Not carried into a commit by a hook: a settled drain whose range holds
                   -- the charge, unless the charge was from before that drain's tracking start.
                   AND NOT EXISTS (
                       SELECT 1 FROM drains d
                       WHERE d.worktree = c.worktree AND d.state = 'settled'
                         AND d.first_charge IS NOT NULL
                         AND c.id BETWEEN d.first_charge AND d.upto
                         AND d.drain NOT LIKE 'pre-tracking:%'
                         AND (d.since_ms IS NULL OR e.ts_ms >= d.since_ms))
                 ORDER BY e.ts_ms, c.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([common_dir], |row| {
                let text = |i: usize| -> rusqlite::Result<Option<String>> {
                    let value: String = row.get(i)?;
                    Ok((!value.is_empty()).then_some(value))
                };
                Ok(BackfillCharge {
                    id: row.get(0)?,
                    worktree: row.get(1)?,
                    ts_ms: row.get(2)?,
                    agent: row.get(3)?,
                    model: row.get(4)?,
                    speed: text(5)?,
                    session: row.get(6)?,
                    key: row.get(7)?,
                    unit: text(8)?,
                    tokens: tokens_at(row, 9)?,
                    requests: row.get::<_, i64>(14)?.max(0) as u64,
                    quantity: row.get::<_, Option<i64>>(15)?.unwrap_or(0).max(0) as u64,
                    source_cost: row
                        .get::<_, Option<i64>>(16)?
                        .map(|picos| Money(picos.max(0) as u128)),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Records that the note `note` with block `drain` is about to be written on `commit`,
    /// carrying `charges` (of `worktree`). Returns false, changing nothing, when the drain is
    /// known already.
    pub fn propose_backfill(
        &self,
        worktree: i64,
        drain: &str,
        commit: &str,
        note: &str,
        charges: &[i64],
    ) -> Result<bool, StoreError> {
        let upto = charges.iter().copied().max().unwrap_or(0);
        let inserted = self
            .tx
            .execute(
                "INSERT INTO drains (drain, worktree, upto, state, proposed_at, commit_id)
                 VALUES (?1, ?2, ?3, 'backfill', ?4, ?5)
                 ON CONFLICT (drain) DO NOTHING",
                params![drain, worktree, upto, now_rfc3339(), commit],
            )
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            return Ok(false);
        }
        let id = self.tx.last_insert_rowid();
        self.tx
            .execute(
                "INSERT INTO backfill_notes (drain, note) VALUES (?1, ?2)",
                params![id, note],
            )
            .map_err(|e| self.err(e))?;
        let mut insert = self
            .tx
            .prepare("INSERT INTO backfills (charge, drain) VALUES (?1, ?2)")
            .map_err(|e| self.err(e))?;
        for charge in charges {
            insert
                .execute(params![charge, id])
                .map_err(|e| self.err(e))?;
        }
        // The charges leave the tally's running sums at once: whatever tracking start is set
        // later, no hook can carry them again.
        let settled = self.settled_upto(Some(worktree))?;
        self.rebuild_pending(worktree, settled)?;
        Ok(true)
    }

    /// Marks a backfill drain settled: its note is written.
    pub fn settle_backfill(&self, drain: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "UPDATE drains SET state = 'settled', settled_at = ?2
                 WHERE drain = ?1 AND state = 'backfill'
                   AND EXISTS (SELECT 1 FROM backfill_notes n WHERE n.drain = drains.id)",
                params![drain, now_rfc3339()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Every backfill drain of repository `common_dir`, settled or not (a run killed between
    /// recording a note and writing it leaves one unsettled), with its note's text: what the
    /// notes must hold.
    pub fn backfill_notes(&self, common_dir: &str) -> Result<Vec<OpenBackfill>, StoreError> {
        let mut statement = self
            .tx
            .prepare(
                "SELECT d.drain, d.commit_id, n.note, d.state = 'settled' FROM drains d
                 JOIN backfill_notes n ON n.drain = d.id
                 JOIN worktrees w ON w.id = d.worktree
                 WHERE w.common_dir = ?1
                 ORDER BY d.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([common_dir], |row| {
                Ok(OpenBackfill {
                    drain: row.get(0)?,
                    commit: row.get(1)?,
                    note: row.get(2)?,
                    settled: row.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
