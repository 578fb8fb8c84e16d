//! Recording one copy of a usage event: the first copy is charged to the worktree it was routed
//! to; later copies are merged by the source's [`RepeatRule`] and charge only what changed, to
//! the same worktree (an event is charged to one worktree only).
//!
//! Copies that carry a different `variant` of the same event (Claude Code: the same
//! `message.id` under another `requestId`) are replays: a sidechain replay of a main-chain
//! event adds nothing, and a main-chain copy read after a sidechain replay takes its place, so
//! the result does not depend on which file was read first.

use agent_cost_events::{RepeatRule, TokenCounts, UsageEvent};
use agent_cost_git::Worktree;
use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::store::Tx;
use crate::time::millis_of;

/// What recording one copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new event, charged in full.
    New,
    /// A known event grew; the growth was charged.
    Grew,
    /// A known event was replaced by a different copy; pending charges were adjusted.
    Replaced,
    /// Nothing new.
    Duplicate,
}

/// The stored state of an event.
struct Known {
    id: i64,
    variant: String,
    sidechain: bool,
    tokens: TokenCounts,
    quantity: Option<u64>,
    worktree: Option<i64>,
    /// Known only by its id and counts (imported from the first ledger's `seen` shards).
    undescribed: bool,
}

impl Tx<'_> {
    /// The id of a worktree's row, created on first use.
    pub fn worktree_id(&self, worktree: &Worktree) -> Result<i64, StoreError> {
        let git_dir = worktree.git_dir.to_string_lossy();
        let found: Option<i64> = self
            .tx
            .prepare_cached("SELECT id FROM worktrees WHERE git_dir = ?1")
            .and_then(|mut s| s.query_row([git_dir.as_ref()], |row| row.get(0)).optional())
            .map_err(|e| self.err(e))?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.tx
            .execute(
                "INSERT INTO worktrees (git_dir, common_dir, workdir) VALUES (?1, ?2, ?3)",
                params![
                    git_dir.as_ref(),
                    worktree.common_dir.to_string_lossy().as_ref(),
                    worktree.workdir.to_string_lossy().as_ref()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The id of a worktree's row, if the store knows it.
    pub fn find_worktree_id(&self, worktree: &Worktree) -> Result<Option<i64>, StoreError> {
        self.tx
            .prepare_cached("SELECT id FROM worktrees WHERE git_dir = ?1")
            .and_then(|mut s| {
                s.query_row([worktree.git_dir.to_string_lossy().as_ref()], |row| {
                    row.get(0)
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Every worktree the store knows.
    pub fn registered_worktrees(&self) -> Result<Vec<Worktree>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached("SELECT workdir, git_dir, common_dir FROM worktrees")
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(Worktree {
                    workdir: row.get::<_, String>(0)?.into(),
                    git_dir: row.get::<_, String>(1)?.into(),
                    common_dir: row.get::<_, String>(2)?.into(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Records one copy of an event, charging `worktree` (`None`: unattributed) if it is new.
    pub fn record(
        &self,
        event: &UsageEvent,
        worktree: Option<i64>,
    ) -> Result<Recorded, StoreError> {
        match self.known(event)? {
            None => {
                self.insert_event(event, worktree)?;
                Ok(Recorded::New)
            }
            Some(known) => {
                if known.undescribed {
                    self.describe(known.id, event)?;
                }
                self.merge(event, known)
            }
        }
    }

    fn known(&self, event: &UsageEvent) -> Result<Option<Known>, StoreError> {
        self.tx
            .prepare_cached(
                "SELECT id, variant, sidechain, input, output, cache_write_5m, cache_write_1h,
                        cache_read, quantity, worktree, (model = '' AND session = '' AND ts = '')
                 FROM events WHERE agent = ?1 AND key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![event.agent.as_str(), event.event_id], |row| {
                    Ok(Known {
                        id: row.get(0)?,
                        variant: row.get(1)?,
                        sidechain: row.get(2)?,
                        tokens: tokens_at(row, 3)?,
                        quantity: row.get::<_, Option<i64>>(8)?.map(|q| q as u64),
                        worktree: row.get(9)?,
                        undescribed: row.get(10)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    fn insert_event(&self, event: &UsageEvent, worktree: Option<i64>) -> Result<(), StoreError> {
        let t = event.tokens;
        let quantity = event.quantity.as_ref();
        let source_cost = event.source_cost.map(|m| clamp_i64(m.picos()));
        self.tx
            .prepare_cached(
                "INSERT INTO events (agent, key, variant, sidechain, session, model, speed, ts,
                     ts_ms, cwd, branch, worktree, input, output, cache_write_5m, cache_write_1h,
                     cache_read, requests, unit, quantity, source_cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    event.agent.as_str(),
                    event.event_id,
                    event.variant,
                    event.sidechain,
                    event.session_id,
                    event.model,
                    event.speed,
                    event.timestamp,
                    millis_of(&event.timestamp),
                    event.cwd,
                    event.git_branch,
                    worktree,
                    t.input as i64,
                    t.output as i64,
                    t.cache_write_5m as i64,
                    t.cache_write_1h as i64,
                    t.cache_read as i64,
                    event.requests as i64,
                    quantity.map(|q| q.unit.as_str()),
                    quantity.map(|q| clamp_i64(u128::from(q.micros))),
                    source_cost,
                ])
            })
            .map_err(|e| self.err(e))?;
        let id = self.tx.last_insert_rowid();
        self.insert_charge(
            id,
            worktree,
            &t,
            event.requests,
            quantity.map(|q| q.micros),
            source_cost,
        )
    }

    fn insert_charge(
        &self,
        event: i64,
        worktree: Option<i64>,
        tokens: &TokenCounts,
        requests: u64,
        quantity: Option<u64>,
        source_cost: Option<i64>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO charges (event, worktree, input, output, cache_write_5m,
                     cache_write_1h, cache_read, requests, quantity, source_cost)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    event,
                    worktree,
                    tokens.input as i64,
                    tokens.output as i64,
                    tokens.cache_write_5m as i64,
                    tokens.cache_write_1h as i64,
                    tokens.cache_read as i64,
                    requests as i64,
                    quantity.map(|q| clamp_i64(u128::from(q))),
                    source_cost,
                ])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn merge(&self, event: &UsageEvent, known: Known) -> Result<Recorded, StoreError> {
        let replay = !known.variant.is_empty()
            && !event.variant.is_empty()
            && known.variant != event.variant
            && known.sidechain != event.sidechain;
        let quantity = event.quantity.as_ref().map(|q| q.micros);
        let (target, target_quantity, replaces) = if replay {
            if event.sidechain {
                return Ok(Recorded::Duplicate);
            }
            (event.tokens, quantity, true)
        } else {
            match event.repeat {
                RepeatRule::LargestCopy | RepeatRule::CumulativeDelta => (
                    known.tokens.max_fieldwise(&event.tokens),
                    max_option(known.quantity, quantity),
                    false,
                ),
                RepeatRule::Replace => (event.tokens, quantity, true),
            }
        };
        if target == known.tokens && target_quantity == known.quantity {
            return Ok(Recorded::Duplicate);
        }
        let grows_only = target.max_fieldwise(&known.tokens) == target
            && target_quantity.unwrap_or(0) >= known.quantity.unwrap_or(0);
        self.update_event(known.id, event, &target, target_quantity, replaces)?;
        if grows_only {
            let growth = target.saturating_sub(&known.tokens);
            let quantity_growth = target_quantity.map(|q| q - known.quantity.unwrap_or(0));
            self.insert_charge(known.id, known.worktree, &growth, 0, quantity_growth, None)?;
            return Ok(Recorded::Grew);
        }
        self.rewrite_pending(known.id, known.worktree, &target, target_quantity)?;
        Ok(Recorded::Replaced)
    }

    /// Gives an event known only by its id and counts the description a copy carries.
    fn describe(&self, id: i64, event: &UsageEvent) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE events SET session = ?2, model = ?3, speed = ?4, ts = ?5, ts_ms = ?6,
                     cwd = ?7, branch = ?8
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id,
                    event.session_id,
                    event.model,
                    event.speed,
                    event.timestamp,
                    millis_of(&event.timestamp),
                    event.cwd,
                    event.git_branch,
                ])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn update_event(
        &self,
        id: i64,
        event: &UsageEvent,
        tokens: &TokenCounts,
        quantity: Option<u64>,
        take_identity: bool,
    ) -> Result<(), StoreError> {
        let identity = take_identity.then_some((&event.variant, event.sidechain));
        self.tx
            .prepare_cached(
                "UPDATE events SET input = ?2, output = ?3, cache_write_5m = ?4,
                     cache_write_1h = ?5, cache_read = ?6, quantity = ?7,
                     variant = COALESCE(?8, variant), sidechain = COALESCE(?9, sidechain)
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id,
                    tokens.input as i64,
                    tokens.output as i64,
                    tokens.cache_write_5m as i64,
                    tokens.cache_write_1h as i64,
                    tokens.cache_read as i64,
                    quantity.map(|q| clamp_i64(u128::from(q))),
                    identity.map(|(v, _)| v.as_str()),
                    identity.map(|(_, s)| s),
                ])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Replaces an event's pending charges by one charge that brings it to `target`, given
    /// what its settled drains already carried (which stays in history, and is never taken
    /// back: a smaller copy read after a drain can only lower what is still pending).
    fn rewrite_pending(
        &self,
        id: i64,
        worktree: Option<i64>,
        target: &TokenCounts,
        quantity: Option<u64>,
    ) -> Result<(), StoreError> {
        let (settled, settled_quantity, pending_requests) = self
            .tx
            .query_row(
                "SELECT COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN input END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN output END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN cache_write_5m END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN cache_write_1h END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN cache_read END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NOT NULL THEN quantity END), 0),
                        COALESCE(SUM(CASE WHEN drain IS NULL THEN requests END), 0)
                 FROM charges WHERE event = ?1",
                [id],
                |row| {
                    Ok((
                        tokens_at(row, 0)?,
                        row.get::<_, i64>(5)? as u64,
                        row.get::<_, i64>(6)? as u64,
                    ))
                },
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute(
                "DELETE FROM charges WHERE event = ?1 AND drain IS NULL",
                [id],
            )
            .map_err(|e| self.err(e))?;
        let remaining = target.saturating_sub(&settled);
        let remaining_quantity = quantity.map(|q| q.saturating_sub(settled_quantity));
        if !remaining.is_zero() || pending_requests > 0 || remaining_quantity.unwrap_or(0) > 0 {
            self.insert_charge(
                id,
                worktree,
                &remaining,
                pending_requests,
                remaining_quantity,
                None,
            )?;
        }
        Ok(())
    }
}

fn max_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Five token columns starting at `first`.
pub(crate) fn tokens_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<TokenCounts> {
    let mut fields = [0u64; 5];
    for (i, field) in fields.iter_mut().enumerate() {
        *field = row.get::<_, i64>(first + i)?.max(0) as u64;
    }
    Ok(TokenCounts::from_fields(fields))
}

/// Amounts the store keeps as SQLite integers (63 bits); larger values are clamped, which
/// plausible usage never reaches (see `MAX_TOKENS_PER_REQUEST`).
pub(crate) fn clamp_i64(value: u128) -> i64 {
    value.min(i64::MAX as u128) as i64
}
