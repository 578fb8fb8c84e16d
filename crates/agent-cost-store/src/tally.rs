//! A worktree's tally (its pending charges), and the drains that carry it into commits.
//!
//! A drain is *proposed* when a hook writes its block into a commit message, covering every
//! pending charge of the worktree up to a charge id (`upto`). It is *settled* once a commit
//! carrying it exists: its charges then leave the tally, the ones from before tracking began
//! under the worktree's `pre-tracking` drain (never written to a commit). A proposal whose
//! charges a later settlement already took is *superseded*.

use std::collections::BTreeMap;

use agent_cost_events::{Money, TokenCounts};
use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::record::tokens_at;
use crate::store::Tx;
use crate::time::now_rfc3339;

/// Prompt sizes at which price lists switch to a long-context tier: pending charges are grouped
/// by which of them their whole request exceeded, so each group is priced at one tier.
pub const PROMPT_CLASS_BOUNDS: [u64; 2] = [128_000, 200_000];

/// Pending charges of one (agent, model, speed, tier, unit), summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingGroup {
    /// Agent name.
    pub agent: String,
    /// Model as logged.
    pub model: String,
    /// Premium speed mode, if any.
    pub speed: Option<String>,
    /// Every request of the group had a prompt (uncached input, cache writes and reads, of the
    /// whole request) of at least this many tokens: 0, or one more than a bound of
    /// [`PROMPT_CLASS_BOUNDS`].
    pub min_prompt_tokens: u64,
    /// Summed token counts.
    pub tokens: TokenCounts,
    /// Requests.
    pub requests: u64,
    /// The unit of `quantity`, when the agent bills in one.
    pub unit: Option<String>,
    /// Summed quantity in millionths of `unit`.
    pub quantity: u64,
    /// Summed cost reported by the source, and how many charges carried one.
    pub source_cost: Money,
    /// Charges in the group.
    pub charges: u64,
    /// Charges that carried a source cost.
    pub charges_with_source_cost: u64,
}

/// What a worktree has pending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingSpend {
    /// Charges a commit carries (on or after the tracking start), grouped.
    pub groups: Vec<PendingGroup>,
    /// Distinct sessions per agent among those charges.
    pub sessions: BTreeMap<String, u64>,
    /// Charges from before tracking began, grouped (never written to a commit).
    pub before_tracking: Vec<PendingGroup>,
    /// The last pending charge id (what a drain proposed now covers), 0 when none.
    pub last_charge: i64,
}

impl PendingSpend {
    /// True when nothing at all is pending.
    pub fn is_empty(&self) -> bool {
        self.last_charge == 0
    }
}

/// A drain written into a commit message, not yet known to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The drain's `AI-Cost-Id`.
    pub drain: String,
    /// The last charge id it covers.
    pub upto: i64,
}

/// Pending spend of a worktree that no longer exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphaned {
    /// Where the worktree was.
    pub workdir: String,
    /// Its git dir, now gone.
    pub git_dir: String,
    /// What it had pending.
    pub groups: Vec<PendingGroup>,
}

const GROUP_COLUMNS: &str = "a.name, m.name, e.speed,
    CASE WHEN (e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read) > 200000 THEN 200001
         WHEN (e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read) > 128000 THEN 128001
         ELSE 0 END AS prompt_class,
    SUM(c.input), SUM(c.output), SUM(c.cache_write_5m), SUM(c.cache_write_1h), SUM(c.cache_read),
    SUM(c.requests), e.unit, COALESCE(SUM(c.quantity), 0), COALESCE(SUM(c.source_cost), 0),
    COUNT(*), COUNT(c.source_cost)";

fn group_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PendingGroup> {
    Ok(PendingGroup {
        agent: row.get(0)?,
        model: row.get(1)?,
        speed: row.get(2)?,
        min_prompt_tokens: row.get::<_, i64>(3)?.max(0) as u64,
        tokens: tokens_at(row, 4)?,
        requests: row.get::<_, i64>(9)?.max(0) as u64,
        unit: row.get(10)?,
        quantity: row.get::<_, i64>(11)?.max(0) as u64,
        source_cost: Money(row.get::<_, i64>(12)?.max(0) as u128),
        charges: row.get::<_, i64>(13)?.max(0) as u64,
        charges_with_source_cost: row.get::<_, i64>(14)?.max(0) as u64,
    })
}

/// `worktree IS ?1` matches a worktree id, or the unattributed tally when `?1` is NULL.
const PENDING_OF: &str = "c.worktree IS ?1 AND c.drain IS NULL AND c.id <= ?2";

impl Tx<'_> {
    /// The pending spend of a worktree (`None`: the unattributed tally), split at `since_ms`
    /// (charges of events logged before it are "before tracking"; `None` carries everything).
    pub fn pending(
        &self,
        worktree: Option<i64>,
        since_ms: Option<i64>,
    ) -> Result<PendingSpend, StoreError> {
        let last_charge: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(MAX(id), 0) FROM charges WHERE worktree IS ?1 AND drain IS NULL",
            )
            .and_then(|mut s| s.query_row([worktree], |row| row.get(0)))
            .map_err(|e| self.err(e))?;
        let mut spend = PendingSpend {
            last_charge,
            ..PendingSpend::default()
        };
        if last_charge == 0 {
            return Ok(spend);
        }
        let since = since_ms.unwrap_or(i64::MIN);
        let sql = format!(
            "SELECT {GROUP_COLUMNS}, (e.ts_ms IS NULL OR e.ts_ms >= ?3) AS carried
             FROM charges c JOIN events e ON e.id = c.event
             JOIN agents a ON a.id = e.agent JOIN models m ON m.id = e.model
             WHERE {PENDING_OF}
             GROUP BY e.agent, e.model, e.speed, prompt_class, e.unit, carried
             ORDER BY a.name, m.name, e.speed, prompt_class, e.unit"
        );
        let mut statement = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = statement
            .query(params![worktree, last_charge, since])
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let group = group_from_row(row).map_err(|e| self.err(e))?;
            let carried: bool = row.get(15).map_err(|e| self.err(e))?;
            if carried {
                spend.groups.push(group);
            } else {
                spend.before_tracking.push(group);
            }
        }
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT a.name, COUNT(DISTINCT e.session)
                 FROM charges c JOIN events e ON e.id = c.event JOIN agents a ON a.id = e.agent
                 WHERE c.worktree IS ?1 AND c.drain IS NULL AND c.id <= ?2
                   AND (e.ts_ms IS NULL OR e.ts_ms >= ?3)
                 GROUP BY a.name",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map(params![worktree, last_charge, since], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (agent, sessions) = row.map_err(|e| self.err(e))?;
            spend.sessions.insert(agent, sessions);
        }
        Ok(spend)
    }

    /// Drains proposed for a worktree and not yet settled, oldest first.
    pub fn outstanding(&self, worktree: i64) -> Result<Vec<Proposal>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT drain, upto FROM drains WHERE worktree = ?1 AND state = 'proposed'
                 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([worktree], |row| {
                Ok(Proposal {
                    drain: row.get(0)?,
                    upto: row.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Records that a block with id `drain`, covering the worktree's pending charges up to
    /// `upto`, was written into a commit message.
    pub fn propose(
        &self,
        worktree: i64,
        drain: &str,
        upto: i64,
        since_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO drains (drain, worktree, upto, state, since_ms, proposed_at)
                 VALUES (?1, ?2, ?3, 'proposed', ?4, ?5)
                 ON CONFLICT (drain) DO UPDATE SET upto = MAX(upto, excluded.upto)
                 WHERE state = 'proposed'",
                params![drain, worktree, upto, since_ms, now_rfc3339()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Settles an outstanding drain: it is in commit `commit`. Its charges leave the tally
    /// (those from before its tracking start under the worktree's `pre-tracking` drain), and
    /// proposals it covers entirely are superseded. Returns false when `drain` was not
    /// outstanding.
    pub fn settle(&self, worktree: i64, drain: &str, commit: &str) -> Result<bool, StoreError> {
        let found: Option<(i64, i64, Option<i64>)> = self
            .tx
            .query_row(
                "SELECT id, upto, since_ms FROM drains
                 WHERE drain = ?1 AND worktree = ?2 AND state = 'proposed'",
                params![drain, worktree],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((id, upto, since_ms)) = found else {
            return Ok(false);
        };
        self.tx
            .execute(
                "UPDATE drains SET state = 'settled', settled_at = ?2, commit_id = ?3
                 WHERE id = ?1",
                params![id, now_rfc3339(), commit],
            )
            .map_err(|e| self.err(e))?;
        if let Some(since) = since_ms {
            let early = self.pre_tracking_drain(worktree)?;
            self.tx
                .execute(
                    "UPDATE charges SET drain = ?4
                     WHERE worktree = ?1 AND drain IS NULL AND id <= ?2
                       AND event IN (SELECT id FROM events WHERE ts_ms < ?3)",
                    params![worktree, upto, since, early],
                )
                .map_err(|e| self.err(e))?;
        }
        self.tx
            .execute(
                "UPDATE charges SET drain = ?3 WHERE worktree = ?1 AND drain IS NULL AND id <= ?2",
                params![worktree, upto, id],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute(
                "UPDATE drains SET state = 'superseded'
                 WHERE worktree = ?1 AND state = 'proposed' AND upto <= ?2",
                params![worktree, upto],
            )
            .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Settles every pending charge up to `upto` from before tracking began, when a commit
    /// has nothing to carry (so they do not wait forever in the tally).
    pub fn settle_before_tracking(
        &self,
        worktree: i64,
        upto: i64,
        since_ms: i64,
    ) -> Result<(), StoreError> {
        let early = self.pre_tracking_drain(worktree)?;
        self.tx
            .execute(
                "UPDATE charges SET drain = ?4
                 WHERE worktree = ?1 AND drain IS NULL AND id <= ?2
                   AND event IN (SELECT id FROM events WHERE ts_ms < ?3)",
                params![worktree, upto, since_ms, early],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn pre_tracking_drain(&self, worktree: i64) -> Result<i64, StoreError> {
        let name = format!("pre-tracking:{worktree}");
        self.tx
            .execute(
                "INSERT INTO drains (drain, worktree, upto, state, settled_at)
                 VALUES (?1, ?2, 0, 'settled', ?3) ON CONFLICT (drain) DO NOTHING",
                params![name, worktree, now_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .query_row("SELECT id FROM drains WHERE drain = ?1", [name], |row| {
                row.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Pending spend of the worktrees of repository `common_dir` whose git dir is gone
    /// (`git worktree remove` with spend pending): it stays visible, never silently lost.
    pub fn orphaned(&self, common_dir: &str) -> Result<Vec<Orphaned>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT id, workdir, git_dir FROM worktrees w WHERE common_dir = ?1
                 AND EXISTS (SELECT 1 FROM charges c WHERE c.worktree = w.id AND c.drain IS NULL)",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(i64, String, String)> = statement
            .query_map([common_dir], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut orphaned = Vec::new();
        for (id, workdir, git_dir) in rows {
            if std::path::Path::new(&git_dir).join("HEAD").exists() {
                continue;
            }
            let spend = self.pending(Some(id), None)?;
            orphaned.push(Orphaned {
                workdir,
                git_dir,
                groups: spend.groups,
            });
        }
        Ok(orphaned)
    }
}
