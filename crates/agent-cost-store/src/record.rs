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
use crate::names::variant_hash;
use crate::pending::{GroupKey, Sums, minute_of, prompt_class, sums_at};
use crate::store::Tx;
use crate::time::millis_of;

/// A charge not yet written (see [`Tx::defer_charges`]).
pub(crate) struct ChargeRow {
    event: i64,
    worktree: Option<i64>,
    tokens: [i64; 5],
    requests: i64,
    quantity: Option<i64>,
    source_cost: Option<i64>,
}

/// The values of a new event's row besides the event's own.
struct NewRow {
    agent: i64,
    session: i64,
    model: i64,
    place: i64,
    ts_ms: Option<i64>,
    worktree: Option<i64>,
}

const EVENT_COLUMNS: &str = "INSERT INTO events (id, agent, key, variant, sidechain, session,
    model, speed, ts_ms, place, worktree, input, output, cache_write_5m, cache_write_1h,
    cache_read, requests, unit, quantity, source_cost) VALUES ";
const EVENT_VALUES: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// One event, its id chosen by SQLite (a NULL id).
const EVENT_INSERT_ONE: &str = "INSERT INTO events (id, agent, key, variant, sidechain, session,
    model, speed, ts_ms, place, worktree, input, output, cache_write_5m, cache_write_1h,
    cache_read, requests, unit, quantity, source_cost)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (agent, key) DO NOTHING";

/// New events written by one statement in [`Tx::record_all`].
const EVENTS_PER_STATEMENT: usize = 32;

static EVENTS_INSERT_MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut sql = EVENT_COLUMNS.to_string();
    for i in 0..EVENTS_PER_STATEMENT {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(EVENT_VALUES);
    }
    sql.push_str(" ON CONFLICT (agent, key) DO NOTHING");
    sql
});

/// Binds one event's 20 values after parameter `at`; returns the last parameter bound.
fn bind_event(
    statement: &mut rusqlite::Statement<'_>,
    at: usize,
    id: Option<i64>,
    event: &UsageEvent,
    row: &NewRow,
) -> rusqlite::Result<usize> {
    let t = event.tokens;
    let quantity = event.quantity.as_ref();
    let values: [&dyn rusqlite::ToSql; 20] = [
        &id,
        &row.agent,
        &event.event_id,
        &variant_hash(&event.variant),
        &event.sidechain,
        &row.session,
        &row.model,
        &event.speed,
        &row.ts_ms,
        &row.place,
        &row.worktree,
        &(t.input as i64),
        &(t.output as i64),
        &(t.cache_write_5m as i64),
        &(t.cache_write_1h as i64),
        &(t.cache_read as i64),
        &(event.requests as i64),
        &quantity.map(|q| q.unit.as_str()),
        &quantity.map(|q| clamp_i64(u128::from(q.micros))),
        &event.source_cost.map(|m| clamp_i64(m.picos())),
    ];
    for (i, value) in values.iter().enumerate() {
        statement.raw_bind_parameter(at + i + 1, value)?;
    }
    Ok(at + values.len())
}

/// Deferred charges are written once this many wait.
const DEFERRED_ROWS: usize = 256;

/// Rows per multi-row insert.
const CHARGES_PER_STATEMENT: usize = 64;

const CHARGE_INSERT_ONE: &str = "INSERT INTO charges (event, worktree, input, output,
    cache_write_5m, cache_write_1h, cache_read, requests, quantity, source_cost)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// [`CHARGE_INSERT_ONE`] for [`CHARGES_PER_STATEMENT`] rows (SQLite inserts them in order).
static CHARGES_INSERT_MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let row = ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let mut sql = CHARGE_INSERT_ONE.to_string();
    for _ in 1..CHARGES_PER_STATEMENT {
        sql.push_str(row);
    }
    sql
});

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
    variant: i64,
    sidechain: bool,
    tokens: TokenCounts,
    quantity: Option<u64>,
    worktree: Option<i64>,
    /// Known only by its id and counts (imported from the first ledger's `seen` shards): no
    /// model, session or time until a copy read again describes it. (A copy that merely lacks
    /// a model still has a session and a time, and is not taken for one.)
    undescribed: bool,
    attrs: Attrs,
}

/// What the running sums of pending charges key an event's charges by.
struct Attrs {
    agent: i64,
    model: i64,
    session: i64,
    speed: String,
    unit: String,
    minute: i64,
}

impl Attrs {
    fn key(&self, worktree: Option<i64>, prompt_class: i64) -> GroupKey {
        GroupKey {
            worktree: worktree.unwrap_or(0),
            agent: self.agent,
            model: self.model,
            speed: self.speed.clone(),
            prompt_class,
            unit: self.unit.clone(),
            minute: self.minute,
        }
    }
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

    /// True when the store already has the event `key` of `agent`, pending or settled, in any
    /// worktree: what an importer asks before recording a row it may have read before.
    pub fn has_event(&self, agent: &str, key: &str) -> Result<bool, StoreError> {
        self.tx
            .prepare_cached(
                "SELECT 1 FROM events e JOIN agents a ON a.id = e.agent
                 WHERE a.name = ?1 AND e.key = ?2",
            )
            .and_then(|mut s| s.exists(params![agent, key]))
            .map_err(|e| self.err(e))
    }

    /// Records one copy of an event, charging `worktree` (`None`: unattributed) if it is new.
    pub fn record(
        &self,
        event: &UsageEvent,
        worktree: Option<i64>,
    ) -> Result<Recorded, StoreError> {
        if self.insert_event(event, worktree)? {
            return Ok(Recorded::New);
        }
        self.record_repeat(event)
    }

    /// Records a copy of an event the store already has.
    fn record_repeat(&self, event: &UsageEvent) -> Result<Recorded, StoreError> {
        // What follows reads the event's charges.
        self.flush_charges()?;
        let mut known = self
            .known(event)?
            .ok_or_else(|| self.err(rusqlite::Error::QueryReturnedNoRows))?;
        if known.undescribed {
            self.describe(&mut known, event)?;
        }
        self.merge(event, known)
    }

    fn known(&self, event: &UsageEvent) -> Result<Option<Known>, StoreError> {
        let agent = self.agent_id(event.agent.as_str())?;
        self.tx
            .prepare_cached(
                "SELECT e.id, e.variant, e.sidechain, e.input, e.output, e.cache_write_5m,
                        e.cache_write_1h, e.cache_read, e.quantity, e.worktree, e.model, e.session,
                        e.speed, e.unit, e.ts_ms,
                        m.name = '' AND s.name = '' AND e.ts_ms IS NULL
                 FROM events e JOIN models m ON m.id = e.model
                 JOIN sessions s ON s.id = e.session
                 WHERE e.agent = ?1 AND e.key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![agent, event.event_id], |row| {
                    Ok(Known {
                        id: row.get(0)?,
                        variant: row.get(1)?,
                        sidechain: row.get(2)?,
                        tokens: tokens_at(row, 3)?,
                        quantity: row.get::<_, Option<i64>>(8)?.map(|q| q as u64),
                        worktree: row.get(9)?,
                        attrs: Attrs {
                            agent,
                            model: row.get(10)?,
                            session: row.get(11)?,
                            speed: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
                            unit: row.get::<_, Option<String>>(13)?.unwrap_or_default(),
                            minute: minute_of(row.get(14)?),
                        },
                        undescribed: row.get(15)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Inserts a new event and its first charge; false (and nothing written) when the
    /// event is already known.
    fn insert_event(&self, event: &UsageEvent, worktree: Option<i64>) -> Result<bool, StoreError> {
        let row = self.new_row(event, worktree)?;
        let inserted = self
            .tx
            .prepare_cached(EVENT_INSERT_ONE)
            .and_then(|mut s| {
                bind_event(&mut s, 0, None, event, &row)?;
                s.raw_execute()
            })
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            return Ok(false);
        }
        self.charge_new(self.tx.last_insert_rowid(), event, &row)?;
        Ok(true)
    }

    /// Records copies in order, with the same outcome as [`Tx::record`] one after the other,
    /// but inserting new events [`EVENTS_PER_STATEMENT`] to a statement. When the statement
    /// inserts every row, their ids follow the largest id before it; otherwise the rows above
    /// it say which copies went in. A copy whose event already existed (or came earlier in the
    /// same statement) is then merged in its turn.
    pub fn record_all(
        &self,
        events: &[(&UsageEvent, Option<i64>)],
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut results = Vec::with_capacity(events.len());
        let mut groups = events.chunks_exact(EVENTS_PER_STATEMENT);
        for group in &mut groups {
            let rows = group
                .iter()
                .map(|(event, worktree)| self.new_row(event, *worktree))
                .collect::<Result<Vec<_>, _>>()?;
            // SQLite numbers the rows it inserts from one above the largest id, in order.
            let base: i64 = self
                .tx
                .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM events")
                .and_then(|mut s| s.query_row([], |row| row.get(0)))
                .map_err(|e| self.err(e))?;
            let written = {
                let mut statement = self
                    .tx
                    .prepare_cached(&EVENTS_INSERT_MANY)
                    .map_err(|e| self.err(e))?;
                let mut at = 0;
                for ((event, _), row) in group.iter().zip(&rows) {
                    at = bind_event(&mut statement, at, None, event, row)
                        .map_err(|e| self.err(e))?;
                }
                statement.raw_execute().map_err(|e| self.err(e))?
            };
            let last = base + EVENTS_PER_STATEMENT as i64 - 1;
            let ids: Vec<Option<i64>> =
                if written == EVENTS_PER_STATEMENT && self.tx.last_insert_rowid() == last {
                    (base..=last).map(Some).collect()
                } else {
                    self.inserted_since(base, group, &rows)?
                };
            for (((event, _), row), id) in group.iter().zip(&rows).zip(ids) {
                if let Some(id) = id {
                    self.charge_new(id, event, row)?;
                    results.push(Recorded::New);
                } else {
                    results.push(self.record_repeat(event)?);
                }
            }
        }
        for (event, worktree) in groups.remainder() {
            results.push(self.record(event, *worktree)?);
        }
        Ok(results)
    }

    /// Which copies of `group` a statement that did not insert all of them inserted (the
    /// first copy of each event the store did not have), and their ids: the rows with ids from
    /// `base` on.
    fn inserted_since(
        &self,
        base: i64,
        group: &[(&UsageEvent, Option<i64>)],
        rows: &[NewRow],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached("SELECT id, agent, key FROM events WHERE id >= ?1")
            .map_err(|e| self.err(e))?;
        let mut new: rustc_hash::FxHashMap<(i64, String), i64> = statement
            .query_map([base], |row| Ok(((row.get(1)?, row.get(2)?), row.get(0)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        Ok(group
            .iter()
            .zip(rows)
            .map(|((event, _), row)| new.remove(&(row.agent, event.event_id.clone())))
            .collect())
    }

    /// The values of a new event's row (the names it uses are interned on the way).
    fn new_row(&self, event: &UsageEvent, worktree: Option<i64>) -> Result<NewRow, StoreError> {
        let agent = self.agent_id(event.agent.as_str())?;
        Ok(NewRow {
            agent,
            session: self.session_id(agent, &event.session_id)?,
            model: self.model_id(&event.model)?,
            place: self.place_id(&event.cwd, event.git_branch.as_deref().unwrap_or(""))?,
            ts_ms: millis_of(&event.timestamp),
            worktree,
        })
    }

    /// The first charge of an event just inserted with id `id`.
    fn charge_new(&self, id: i64, event: &UsageEvent, row: &NewRow) -> Result<(), StoreError> {
        let t = event.tokens;
        let quantity = event.quantity.as_ref();
        let source_cost = event.source_cost.map(|m| clamp_i64(m.picos()));
        let attrs = Attrs {
            agent: row.agent,
            model: row.model,
            session: row.session,
            speed: event.speed.clone().unwrap_or_default(),
            unit: quantity
                .map(|q| q.unit.as_str().to_string())
                .unwrap_or_default(),
            minute: minute_of(row.ts_ms),
        };
        let charge = Sums::of_charge(&t, event.requests, quantity.map(|q| q.micros), source_cost);
        self.insert_charge(id, row.worktree, &attrs, prompt_class(&t), &t, &charge)
    }

    fn insert_charge(
        &self,
        event: i64,
        worktree: Option<i64>,
        attrs: &Attrs,
        prompt_class: i64,
        tokens: &TokenCounts,
        charge: &Sums,
    ) -> Result<(), StoreError> {
        let row = ChargeRow {
            event,
            worktree,
            tokens: tokens.fields().map(|n| n as i64),
            requests: charge.requests,
            quantity: (charge.quantity != 0).then_some(charge.quantity),
            source_cost: (charge.with_source_cost != 0).then_some(charge.source_cost),
        };
        let full = match self.deferred.borrow_mut().as_mut() {
            Some(rows) => {
                rows.push(row);
                rows.len() >= DEFERRED_ROWS
            }
            None => {
                self.write_charges(std::slice::from_ref(&row))?;
                false
            }
        };
        if full {
            self.flush_charges()?;
        }
        self.adjust_pending(attrs.key(worktree, prompt_class), attrs.session, charge, 1);
        Ok(())
    }

    /// From now on in this transaction, new charges are written in groups (one statement for
    /// many rows: the statement's own work, and `AUTOINCREMENT`'s bookkeeping, once per group),
    /// in the order they were recorded. They are written before anything reads charges: before
    /// a repeat is merged, before a first-ledger import, and at commit. Only for callers that do
    /// nothing else with charges in the transaction (the catch-up run).
    pub fn defer_charges(&self) {
        self.deferred.borrow_mut().get_or_insert_with(Vec::new);
    }

    /// Writes the charges [`Tx::defer_charges`] holds back.
    pub(crate) fn flush_charges(&self) -> Result<(), StoreError> {
        let rows = match self.deferred.borrow_mut().as_mut() {
            Some(rows) if !rows.is_empty() => std::mem::take(rows),
            _ => return Ok(()),
        };
        let result = self.write_charges(&rows);
        if let Some(kept) = self.deferred.borrow_mut().as_mut() {
            // Keep the allocation for the next group.
            *kept = rows;
            kept.clear();
        }
        result
    }

    fn write_charges(&self, rows: &[ChargeRow]) -> Result<(), StoreError> {
        let mut groups = rows.chunks_exact(CHARGES_PER_STATEMENT);
        for group in &mut groups {
            self.write_charge_rows(&CHARGES_INSERT_MANY, group)?;
        }
        for row in groups.remainder() {
            self.write_charge_rows(CHARGE_INSERT_ONE, std::slice::from_ref(row))?;
        }
        Ok(())
    }

    fn write_charge_rows(&self, sql: &str, rows: &[ChargeRow]) -> Result<(), StoreError> {
        let mut statement = self.tx.prepare_cached(sql).map_err(|e| self.err(e))?;
        let mut at = 0;
        let mut bind = |value: &dyn rusqlite::ToSql| {
            at += 1;
            statement.raw_bind_parameter(at, value)
        };
        for row in rows {
            bind(&row.event).map_err(|e| self.err(e))?;
            bind(&row.worktree).map_err(|e| self.err(e))?;
            for field in &row.tokens {
                bind(field).map_err(|e| self.err(e))?;
            }
            bind(&row.requests).map_err(|e| self.err(e))?;
            bind(&row.quantity).map_err(|e| self.err(e))?;
            bind(&row.source_cost).map_err(|e| self.err(e))?;
        }
        statement.raw_execute().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Everything charged up to here in a worktree is settled (0 for the unattributed tally,
    /// which never settles).
    pub(crate) fn settled_upto(&self, worktree: Option<i64>) -> Result<i64, StoreError> {
        let Some(worktree) = worktree else {
            return Ok(0);
        };
        self.tx
            .prepare_cached("SELECT settled_upto FROM worktrees WHERE id = ?1")
            .and_then(|mut s| s.query_row([worktree], |row| row.get(0)).optional())
            .map(|found| found.unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Charge ids up to here may be in a commit: settled ones, and pending ones that an
    /// outstanding proposal has written into a commit message. A rewrite never touches them.
    fn frozen_upto(&self, worktree: Option<i64>) -> Result<i64, StoreError> {
        let settled = self.settled_upto(worktree)?;
        let proposed: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT MAX(upto) FROM drains WHERE worktree IS ?1 AND state = 'proposed'",
            )
            .and_then(|mut s| s.query_row([worktree], |row| row.get(0)))
            .map_err(|e| self.err(e))?;
        Ok(settled.max(proposed.unwrap_or(0)))
    }

    /// The summed charges of one event with ids in `after + 1 ..= upto`.
    fn charges_between(
        &self,
        known: &Known,
        after: i64,
        upto: i64,
    ) -> Result<(Sums, TokenCounts), StoreError> {
        let sql = "SELECT COALESCE(SUM(input), 0), COALESCE(SUM(output), 0),
                    COALESCE(SUM(cache_write_5m), 0), COALESCE(SUM(cache_write_1h), 0),
                    COALESCE(SUM(cache_read), 0), COALESCE(SUM(requests), 0),
                    COALESCE(SUM(quantity), 0), COALESCE(SUM(source_cost), 0), COUNT(*),
                    COUNT(source_cost)
             FROM charges WHERE event = ?1 AND id > ?2 AND id <= ?3";
        self.tx
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params![known.id, after, upto], |row| sums_at(row, 0)))
            .map_err(|e| self.err(e))
    }

    fn merge(&self, event: &UsageEvent, known: Known) -> Result<Recorded, StoreError> {
        let variant = variant_hash(&event.variant);
        let replay = known.variant != 0
            && variant != 0
            && known.variant != variant
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
        let (old_class, new_class) = (prompt_class(&known.tokens), prompt_class(&target));
        if grows_only {
            if old_class != new_class {
                // The whole request is priced at its new tier: move what is pending.
                let settled = self.settled_upto(known.worktree)?;
                let (pending, _) = self.charges_between(&known, settled, i64::MAX)?;
                let attrs = &known.attrs;
                self.adjust_pending(
                    attrs.key(known.worktree, old_class),
                    attrs.session,
                    &pending,
                    -1,
                );
                self.adjust_pending(
                    attrs.key(known.worktree, new_class),
                    attrs.session,
                    &pending,
                    1,
                );
            }
            let growth = target.saturating_sub(&known.tokens);
            let quantity_growth = target_quantity.map(|q| q - known.quantity.unwrap_or(0));
            let charge = Sums::of_charge(&growth, 0, quantity_growth, None);
            self.insert_charge(
                known.id,
                known.worktree,
                &known.attrs,
                new_class,
                &growth,
                &charge,
            )?;
            return Ok(Recorded::Grew);
        }
        self.rewrite_pending(&known, &target, target_quantity)?;
        Ok(Recorded::Replaced)
    }

    /// Gives an event known only by its id and counts the description a copy carries (its
    /// session, model, speed, time and place), and moves the running sums of its pending
    /// charges to the groups the description puts them in.
    fn describe(&self, known: &mut Known, event: &UsageEvent) -> Result<(), StoreError> {
        let agent = known.attrs.agent;
        let attrs = Attrs {
            agent,
            model: self.model_id(&event.model)?,
            session: self.session_id(agent, &event.session_id)?,
            speed: event.speed.clone().unwrap_or_default(),
            unit: known.attrs.unit.clone(),
            minute: minute_of(millis_of(&event.timestamp)),
        };
        let place = self.place_id(&event.cwd, event.git_branch.as_deref().unwrap_or(""))?;
        let class = prompt_class(&known.tokens);
        for (worktree, pending) in self.pending_of_event(known.id)? {
            self.adjust_pending(
                known.attrs.key(worktree, class),
                known.attrs.session,
                &pending,
                -1,
            );
            self.adjust_pending(attrs.key(worktree, class), attrs.session, &pending, 1);
        }
        self.tx
            .prepare_cached(
                "UPDATE events SET session = ?2, model = ?3, speed = ?4, ts_ms = ?5, place = ?6
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    known.id,
                    attrs.session,
                    attrs.model,
                    event.speed,
                    millis_of(&event.timestamp),
                    place,
                ])
            })
            .map_err(|e| self.err(e))?;
        known.attrs = attrs;
        known.undescribed = false;
        Ok(())
    }

    /// The pending charges of one event, summed per tally they are in (an imported event may
    /// have charges in more than one).
    fn pending_of_event(&self, event: i64) -> Result<Vec<(Option<i64>, Sums)>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT c.worktree, SUM(c.input), SUM(c.output), SUM(c.cache_write_5m),
                        SUM(c.cache_write_1h), SUM(c.cache_read), SUM(c.requests),
                        COALESCE(SUM(c.quantity), 0), COALESCE(SUM(c.source_cost), 0), COUNT(*),
                        COUNT(c.source_cost)
                 FROM charges c LEFT JOIN worktrees w ON w.id = c.worktree
                 WHERE c.event = ?1 AND c.id > COALESCE(w.settled_upto, 0)
                 GROUP BY c.worktree",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([event], |row| Ok((row.get(0)?, sums_at(row, 1)?.0)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn update_event(
        &self,
        id: i64,
        event: &UsageEvent,
        tokens: &TokenCounts,
        quantity: Option<u64>,
        take_identity: bool,
    ) -> Result<(), StoreError> {
        let identity = take_identity.then_some((variant_hash(&event.variant), event.sidechain));
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
                    identity.map(|(v, _)| v),
                    identity.map(|(_, s)| s),
                ])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Replaces an event's pending charges by one charge that brings it to `target`, given
    /// what may already be in commits: its settled charges, and its pending charges that an
    /// outstanding proposal covers (that block may be committed any moment). Those stay as they
    /// are; a smaller copy read later can only lower what is still free to change.
    fn rewrite_pending(
        &self,
        known: &Known,
        target: &TokenCounts,
        quantity: Option<u64>,
    ) -> Result<(), StoreError> {
        let settled_upto = self.settled_upto(known.worktree)?;
        let frozen = self.frozen_upto(known.worktree)?;
        let (free, _) = self.charges_between(known, frozen, i64::MAX)?;
        let (kept_sums, kept) = self.charges_between(known, i64::MIN, frozen)?;
        let (in_flight, _) = self.charges_between(known, settled_upto, frozen)?;
        let attrs = &known.attrs;
        let (old_class, new_class) = (prompt_class(&known.tokens), prompt_class(target));
        let old_key = attrs.key(known.worktree, old_class);
        self.adjust_pending(old_key.clone(), attrs.session, &free, -1);
        if old_class != new_class {
            self.adjust_pending(old_key, attrs.session, &in_flight, -1);
            let new_key = attrs.key(known.worktree, new_class);
            self.adjust_pending(new_key, attrs.session, &in_flight, 1);
        }
        self.tx
            .execute(
                "DELETE FROM charges WHERE event = ?1 AND id > ?2",
                params![known.id, frozen],
            )
            .map_err(|e| self.err(e))?;
        let remaining = target.saturating_sub(&kept);
        let kept_quantity = kept_sums.quantity.max(0) as u64;
        let remaining_quantity = quantity.map(|q| q.saturating_sub(kept_quantity));
        let requests = free.requests.max(0) as u64;
        if !remaining.is_zero() || requests > 0 || remaining_quantity.unwrap_or(0) > 0 {
            let charge = Sums::of_charge(&remaining, requests, remaining_quantity, None);
            self.insert_charge(
                known.id,
                known.worktree,
                attrs,
                new_class,
                &remaining,
                &charge,
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
