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
use crate::pending::PROMPT_CLASS_SQL;
use crate::record::tokens_at;
use crate::store::Tx;
use crate::time::now_rfc3339;

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
    /// [`crate::pending::PROMPT_CLASS_BOUNDS`].
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

/// Rows of pending sums, before they are split at a tracking start.
struct Row {
    group: PendingGroup,
    minute: i64,
}

fn group_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        group: PendingGroup {
            agent: row.get(0)?,
            model: row.get(1)?,
            speed: row.get::<_, String>(2)?.into_option(),
            min_prompt_tokens: row.get::<_, i64>(3)?.max(0) as u64,
            tokens: tokens_at(row, 4)?,
            requests: row.get::<_, i64>(9)?.max(0) as u64,
            unit: row.get::<_, String>(10)?.into_option(),
            quantity: row.get::<_, i64>(11)?.max(0) as u64,
            source_cost: Money(row.get::<_, i64>(12)?.max(0) as u128),
            charges: row.get::<_, i64>(13)?.max(0) as u64,
            charges_with_source_cost: row.get::<_, i64>(14)?.max(0) as u64,
        },
        minute: row.get(16)?,
    })
}

trait IntoOption {
    fn into_option(self) -> Option<String>;
}

impl IntoOption for String {
    fn into_option(self) -> Option<String> {
        (!self.is_empty()).then_some(self)
    }
}

/// Where a group of a given minute goes when tracking starts at `since_ms`.
enum Side {
    Carried,
    Early,
    /// The tracking start's own minute: its charges are split one by one.
    Split,
}

fn side(minute: i64, since_ms: Option<i64>) -> Side {
    match since_ms {
        None => Side::Carried,
        Some(_) if minute < 0 => Side::Carried,
        Some(since) => match minute.cmp(&since.div_euclid(60_000)) {
            std::cmp::Ordering::Greater => Side::Carried,
            std::cmp::Ordering::Less => Side::Early,
            std::cmp::Ordering::Equal => Side::Split,
        },
    }
}

/// Adds `group` into `groups`, merging with an equal key.
fn push_group(groups: &mut Vec<PendingGroup>, group: PendingGroup) {
    let same = |g: &PendingGroup| {
        g.agent == group.agent
            && g.model == group.model
            && g.speed == group.speed
            && g.min_prompt_tokens == group.min_prompt_tokens
            && g.unit == group.unit
    };
    match groups.iter_mut().find(|g| same(g)) {
        Some(existing) => {
            existing.tokens += group.tokens;
            existing.requests += group.requests;
            existing.quantity += group.quantity;
            existing.source_cost += group.source_cost;
            existing.charges += group.charges;
            existing.charges_with_source_cost += group.charges_with_source_cost;
        }
        None => groups.push(group),
    }
}

const SUM_COLUMNS: &str = "a.name, m.name, p.speed, p.prompt_class, p.input, p.output,
    p.cache_write_5m, p.cache_write_1h, p.cache_read, p.requests, p.unit, p.quantity,
    p.source_cost, p.charges, p.with_source_cost, p.agent, p.minute";

impl Tx<'_> {
    /// The pending spend of a worktree (`None`: the unattributed tally), split at `since_ms`
    /// (charges of events logged before it are "before tracking"; `None` carries everything).
    /// Reads running sums: its cost does not grow with the number of pending charges.
    pub fn pending(
        &self,
        worktree: Option<i64>,
        since_ms: Option<i64>,
    ) -> Result<PendingSpend, StoreError> {
        self.pending_with(worktree, since_ms, true)
    }

    /// [`Tx::pending`] without counting distinct sessions (`sessions` stays empty): what a
    /// reader that shows only amounts needs (the status line), at a fraction of the cost when
    /// many sessions are pending.
    pub fn pending_amounts(
        &self,
        worktree: Option<i64>,
        since_ms: Option<i64>,
    ) -> Result<PendingSpend, StoreError> {
        self.pending_with(worktree, since_ms, false)
    }

    fn pending_with(
        &self,
        worktree: Option<i64>,
        since_ms: Option<i64>,
        sessions: bool,
    ) -> Result<PendingSpend, StoreError> {
        self.flush_pending()?;
        let settled = self.settled_upto(worktree)?;
        let key = worktree.unwrap_or(0);
        let last_charge: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(MAX(id), 0) FROM charges WHERE worktree IS ?1 AND id > ?2",
            )
            .and_then(|mut s| s.query_row(params![worktree, settled], |row| row.get(0)))
            .map_err(|e| self.err(e))?;
        let mut spend = PendingSpend {
            last_charge,
            ..PendingSpend::default()
        };
        if last_charge == 0 {
            return Ok(spend);
        }
        let sql = format!(
            "SELECT {SUM_COLUMNS} FROM pending_groups p
             JOIN agents a ON a.id = p.agent JOIN models m ON m.id = p.model
             WHERE p.worktree = ?1
             ORDER BY a.name, m.name, p.speed, p.prompt_class, p.unit"
        );
        let rows: Vec<Row> = {
            let mut statement = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
            let rows = statement
                .query_map([key], group_from_row)
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?
        };
        let mut split_minute = false;
        for row in rows {
            match side(row.minute, since_ms) {
                Side::Carried => push_group(&mut spend.groups, row.group),
                Side::Early => push_group(&mut spend.before_tracking, row.group),
                Side::Split => split_minute = true,
            }
        }
        if let (true, Some(since)) = (split_minute, since_ms) {
            self.split_minute(worktree, settled, since, &mut spend)?;
        }
        if sessions {
            self.count_sessions(key, worktree, settled, since_ms, &mut spend)?;
        }
        Ok(spend)
    }

    /// Splits the pending charges of the tracking start's own minute, one by one.
    fn split_minute(
        &self,
        worktree: Option<i64>,
        settled: i64,
        since: i64,
        spend: &mut PendingSpend,
    ) -> Result<(), StoreError> {
        let minute = since.div_euclid(60_000);
        let mut statement = self
            .tx
            .prepare_cached(&format!(
                "SELECT a.name, m.name, COALESCE(e.speed, ''), {PROMPT_CLASS_SQL},
                     SUM(c.input), SUM(c.output), SUM(c.cache_write_5m), SUM(c.cache_write_1h),
                     SUM(c.cache_read), SUM(c.requests), COALESCE(e.unit, ''),
                     COALESCE(SUM(c.quantity), 0), COALESCE(SUM(c.source_cost), 0), COUNT(*),
                     COUNT(c.source_cost), e.agent, e.ts_ms >= ?4
                 FROM charges c JOIN events e ON e.id = c.event
                 JOIN agents a ON a.id = e.agent JOIN models m ON m.id = e.model
                 WHERE c.worktree IS ?1 AND c.id > ?2
                   AND e.ts_ms >= ?3 * 60000 AND e.ts_ms < (?3 + 1) * 60000
                 GROUP BY 1, 2, 3, 4, 11, 17"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = statement
            .query(params![worktree, settled, minute, since])
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let group = group_from_row(row).map_err(|e| self.err(e))?.group;
            let carried: bool = row.get(16).map_err(|e| self.err(e))?;
            if carried {
                push_group(&mut spend.groups, group);
            } else {
                push_group(&mut spend.before_tracking, group);
            }
        }
        Ok(())
    }

    /// Distinct sessions per agent among the carried charges.
    fn count_sessions(
        &self,
        key: i64,
        worktree: Option<i64>,
        settled: i64,
        since_ms: Option<i64>,
        spend: &mut PendingSpend,
    ) -> Result<(), StoreError> {
        let mut sessions: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
        let mut split = false;
        {
            let mut statement = self
                .tx
                .prepare_cached(
                    "SELECT a.name, p.session, p.minute FROM pending_sessions p
                     JOIN sessions s ON s.id = p.session JOIN agents a ON a.id = s.agent
                     WHERE p.worktree = ?1",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = statement.query([key]).map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let (agent, session, minute): (String, i64, i64) = (
                    row.get(0).map_err(|e| self.err(e))?,
                    row.get(1).map_err(|e| self.err(e))?,
                    row.get(2).map_err(|e| self.err(e))?,
                );
                match side(minute, since_ms) {
                    Side::Carried => {
                        sessions.entry(agent).or_default().insert(session);
                    }
                    Side::Early => {}
                    Side::Split => split = true,
                }
            }
        }
        if let (true, Some(since)) = (split, since_ms) {
            let mut statement = self
                .tx
                .prepare_cached(
                    "SELECT DISTINCT a.name, e.session
                     FROM charges c JOIN events e ON e.id = c.event
                     JOIN agents a ON a.id = e.agent
                     WHERE c.worktree IS ?1 AND c.id > ?2 AND e.ts_ms >= ?3
                       AND e.ts_ms < (?3 / 60000 + 1) * 60000",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = statement
                .query(params![worktree, settled, since])
                .map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let agent: String = row.get(0).map_err(|e| self.err(e))?;
                let session: i64 = row.get(1).map_err(|e| self.err(e))?;
                sessions.entry(agent).or_default().insert(session);
            }
        }
        spend.sessions = sessions
            .into_iter()
            .map(|(agent, set)| (agent, set.len() as u64))
            .collect();
        Ok(())
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

    /// The worktrees with drains proposed and not yet settled: id, workdir, git dir.
    pub fn worktrees_with_outstanding(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT id, workdir, git_dir FROM worktrees w WHERE EXISTS
                 (SELECT 1 FROM drains d WHERE d.worktree = w.id AND d.state = 'proposed')
                 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
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

    /// Settles an outstanding drain: it is in commit `commit`. The worktree's charges up to
    /// its `upto` leave the tally (those of events from before its tracking start were not in
    /// the commit: they are spend before tracking), and proposals it covers are superseded.
    /// Returns false when `drain` was not outstanding.
    pub fn settle(&self, worktree: i64, drain: &str, commit: &str) -> Result<bool, StoreError> {
        let found: Option<(i64, i64)> = self
            .tx
            .query_row(
                "SELECT id, upto FROM drains
                 WHERE drain = ?1 AND worktree = ?2 AND state = 'proposed'",
                params![drain, worktree],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((id, upto)) = found else {
            return Ok(false);
        };
        let settled = self.settled_upto(Some(worktree))?;
        self.tx
            .execute(
                "UPDATE drains SET state = 'settled', settled_at = ?2, commit_id = ?3,
                     first_charge = ?4
                 WHERE id = ?1",
                params![id, now_rfc3339(), commit, settled + 1],
            )
            .map_err(|e| self.err(e))?;
        self.advance(worktree, settled, upto)?;
        Ok(true)
    }

    /// Settles every pending charge up to `upto` when all of them are from before tracking
    /// began and a commit has nothing to carry (so they do not wait in the tally forever).
    pub fn settle_before_tracking(
        &self,
        worktree: i64,
        upto: i64,
        since_ms: i64,
    ) -> Result<(), StoreError> {
        let settled = self.settled_upto(Some(worktree))?;
        if upto <= settled {
            return Ok(());
        }
        self.tx
            .execute(
                "INSERT INTO drains (drain, worktree, first_charge, upto, state, since_ms,
                     settled_at)
                 VALUES (?1, ?2, ?3, ?4, 'settled', ?5, ?6)",
                params![
                    format!("pre-tracking:{worktree}:{upto}"),
                    worktree,
                    settled + 1,
                    upto,
                    since_ms,
                    now_rfc3339()
                ],
            )
            .map_err(|e| self.err(e))?;
        self.advance(worktree, settled, upto)
    }

    /// Moves a worktree's settlement point from `settled` to `upto`.
    fn advance(&self, worktree: i64, settled: i64, upto: i64) -> Result<(), StoreError> {
        let upto = upto.max(settled);
        self.tx
            .execute(
                "UPDATE worktrees SET settled_upto = ?2 WHERE id = ?1",
                params![worktree, upto],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute(
                "UPDATE drains SET state = 'superseded'
                 WHERE worktree = ?1 AND state = 'proposed' AND upto <= ?2",
                params![worktree, upto],
            )
            .map_err(|e| self.err(e))?;
        let later: bool = self
            .tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM charges WHERE worktree = ?1 AND id > ?2)",
                params![worktree, upto],
                |row| row.get(0),
            )
            .map_err(|e| self.err(e))?;
        if later {
            self.rebuild_pending(worktree, upto)
        } else {
            self.flush_pending()?;
            self.tx
                .execute("DELETE FROM pending_groups WHERE worktree = ?1", [worktree])
                .map_err(|e| self.err(e))?;
            self.tx
                .execute(
                    "DELETE FROM pending_sessions WHERE worktree = ?1",
                    [worktree],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        }
    }

    /// Pending spend of the worktrees of repository `common_dir` whose git dir is gone
    /// (`git worktree remove` with spend pending): it stays visible, never silently lost.
    pub fn orphaned(&self, common_dir: &str) -> Result<Vec<Orphaned>, StoreError> {
        self.flush_pending()?;
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT id, workdir, git_dir FROM worktrees w WHERE common_dir = ?1
                 AND EXISTS (SELECT 1 FROM pending_groups p WHERE p.worktree = w.id)",
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
