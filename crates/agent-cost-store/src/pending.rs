//! Running sums of every tally's pending charges, so that reading what a commit will carry costs
//! the same with ten pending requests or two hundred thousand.
//!
//! `pending_groups` holds, per worktree (0: unattributed), agent, model, speed, prompt class,
//! unit and minute of the event, the sums of the pending charges; `pending_sessions` the number
//! of pending charges per worktree, session and minute. Recording a charge adds to them (the
//! additions of one transaction are summed in memory and written before anything reads them);
//! settling a drain drops the worktree's rows, or recomputes them from the few charges that
//! arrived after the drain was proposed. The minute lets a tracking start split the sums
//! exactly: only the charges of the start's own minute are read one by one.

use agent_cost_events::TokenCounts;
use rusqlite::params;
use rustc_hash::FxHashMap as HashMap;

use crate::error::StoreError;
use crate::store::Tx;

/// What one group of pending charges is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub worktree: i64,
    pub agent: i64,
    pub model: i64,
    pub speed: String,
    pub prompt_class: i64,
    pub unit: String,
    pub minute: i64,
}

/// Signed sums of charges (negative when charges leave the tally).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub tokens: [i64; 5],
    pub requests: i64,
    pub quantity: i64,
    pub source_cost: i64,
    pub charges: i64,
    pub with_source_cost: i64,
}

impl Sums {
    /// The sums of one charge.
    pub fn of_charge(
        tokens: &TokenCounts,
        requests: u64,
        quantity: Option<u64>,
        source_cost: Option<i64>,
    ) -> Sums {
        Sums {
            tokens: tokens.fields().map(|n| n.min(i64::MAX as u64) as i64),
            requests: requests as i64,
            quantity: quantity.map_or(0, |q| q.min(i64::MAX as u64) as i64),
            source_cost: source_cost.unwrap_or(0),
            charges: 1,
            with_source_cost: i64::from(source_cost.is_some()),
        }
    }

    fn add(&mut self, other: &Sums, sign: i64) {
        for (mine, theirs) in self.tokens.iter_mut().zip(other.tokens) {
            *mine += sign * theirs;
        }
        self.requests += sign * other.requests;
        self.quantity += sign * other.quantity;
        self.source_cost += sign * other.source_cost;
        self.charges += sign * other.charges;
        self.with_source_cost += sign * other.with_source_cost;
    }
}

/// Reads the sums a query selects as `SUM(input)`, `SUM(output)`, `SUM(cache_write_5m)`,
/// `SUM(cache_write_1h)`, `SUM(cache_read)`, `SUM(requests)`, `SUM(quantity)`,
/// `SUM(source_cost)`, `COUNT(*)`, `COUNT(source_cost)` from column `first` on.
pub(crate) fn sums_at(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<(Sums, TokenCounts)> {
    let tokens = crate::record::tokens_at(row, first)?;
    let sums = Sums {
        tokens: tokens.fields().map(|n| n.min(i64::MAX as u64) as i64),
        requests: row.get::<_, Option<i64>>(first + 5)?.unwrap_or(0),
        quantity: row.get::<_, Option<i64>>(first + 6)?.unwrap_or(0),
        source_cost: row.get::<_, Option<i64>>(first + 7)?.unwrap_or(0),
        charges: row.get(first + 8)?,
        with_source_cost: row.get(first + 9)?,
    };
    Ok((sums, tokens))
}

/// SQL for the prompt class of the event aliased `e` (see [`prompt_class`]).
pub(crate) const PROMPT_CLASS_SQL: &str = "CASE
    WHEN e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read > 200000 THEN 200001
    WHEN e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read > 128000 THEN 128001
    ELSE 0 END";

/// Prompt sizes at which price lists switch to a long-context tier: pending charges are grouped
/// by which of them their whole request exceeded, so each group is priced at one tier.
/// ([`PROMPT_CLASS_SQL`] spells the same bounds out for queries.)
pub const PROMPT_CLASS_BOUNDS: [u64; 2] = [128_000, 200_000];

/// The prompt-size class of a request: the lowest prompt size every request of its class has
/// (0, or one more than a bound of [`PROMPT_CLASS_BOUNDS`]).
pub fn prompt_class(tokens: &TokenCounts) -> i64 {
    let prompt = tokens.prompt_tokens();
    PROMPT_CLASS_BOUNDS
        .iter()
        .rev()
        .find(|bound| prompt > **bound)
        .map_or(0, |bound| *bound as i64 + 1)
}

/// The minute of an event's time (`-1` when its time is unknown: such events are always
/// carried into commits).
pub fn minute_of(ts_ms: Option<i64>) -> i64 {
    ts_ms.map_or(-1, |ms| ms.div_euclid(60_000))
}

/// Additions of one transaction not yet written.
#[derive(Debug, Default)]
pub(crate) struct PendingDeltas {
    groups: HashMap<GroupKey, Sums>,
    sessions: HashMap<(i64, i64, i64), i64>,
}

impl Tx<'_> {
    /// Adds (`sign` 1) or removes (`sign` -1) one charge's amounts to the running sums.
    pub(crate) fn adjust_pending(&self, key: GroupKey, session: i64, sums: &Sums, sign: i64) {
        self.touched.borrow_mut().insert(key.worktree);
        let mut deltas = self.deltas.borrow_mut();
        let session_key = (key.worktree, session, key.minute);
        deltas.groups.entry(key).or_default().add(sums, sign);
        *deltas.sessions.entry(session_key).or_default() += sign * sums.charges;
    }

    /// Writes the running sums' pending additions.
    pub(crate) fn flush_pending(&self) -> Result<(), StoreError> {
        let deltas = std::mem::take(&mut *self.deltas.borrow_mut());
        // Only a subtraction can leave a row at zero: without one, nothing is to be deleted
        // (and the tables need no scan).
        let emptied = deltas.groups.values().any(|sums| sums.charges < 0)
            || deltas.sessions.values().any(|charges| *charges < 0);
        for (key, sums) in deltas.groups {
            if sums == Sums::default() {
                continue;
            }
            let [input, output, write_5m, write_1h, read] = sums.tokens;
            self.tx
                .prepare_cached(
                    "INSERT INTO pending_groups (worktree, agent, model, speed, prompt_class, unit,
                         minute, input, output, cache_write_5m, cache_write_1h, cache_read,
                         requests, quantity, source_cost, charges, with_source_cost)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                         ?16, ?17)
                     ON CONFLICT (worktree, agent, model, speed, prompt_class, unit, minute)
                     DO UPDATE SET input = input + excluded.input,
                         output = output + excluded.output,
                         cache_write_5m = cache_write_5m + excluded.cache_write_5m,
                         cache_write_1h = cache_write_1h + excluded.cache_write_1h,
                         cache_read = cache_read + excluded.cache_read,
                         requests = requests + excluded.requests,
                         quantity = quantity + excluded.quantity,
                         source_cost = source_cost + excluded.source_cost,
                         charges = charges + excluded.charges,
                         with_source_cost = with_source_cost + excluded.with_source_cost",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        key.worktree,
                        key.agent,
                        key.model,
                        key.speed,
                        key.prompt_class,
                        key.unit,
                        key.minute,
                        input,
                        output,
                        write_5m,
                        write_1h,
                        read,
                        sums.requests,
                        sums.quantity,
                        sums.source_cost,
                        sums.charges,
                        sums.with_source_cost,
                    ])
                })
                .map_err(|e| self.err(e))?;
        }
        for ((worktree, session, minute), charges) in deltas.sessions {
            if charges == 0 {
                continue;
            }
            self.tx
                .prepare_cached(
                    "INSERT INTO pending_sessions (worktree, session, minute, charges)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (worktree, session, minute)
                     DO UPDATE SET charges = charges + excluded.charges",
                )
                .and_then(|mut s| s.execute(params![worktree, session, minute, charges]))
                .map_err(|e| self.err(e))?;
        }
        if !emptied {
            return Ok(());
        }
        self.tx
            .execute_batch(
                "DELETE FROM pending_groups WHERE charges <= 0;
                 DELETE FROM pending_sessions WHERE charges <= 0;",
            )
            .map_err(|e| self.err(e))
    }

    /// Rebuilds a worktree's running sums from its pending charges (after a settlement that
    /// left some charges pending).
    pub(crate) fn rebuild_pending(&self, worktree: i64, after: i64) -> Result<(), StoreError> {
        self.rebuild_sums(Some(worktree), after)
    }

    /// Rebuilds the running sums of the unattributed tally (charges without a worktree, which
    /// never settle) from its charges.
    pub(crate) fn rebuild_unattributed_pending(&self) -> Result<(), StoreError> {
        self.rebuild_sums(None, 0)
    }

    /// Rebuilds the running sums of a tally (`None`: unattributed) from its charges above
    /// `after`.
    fn rebuild_sums(&self, worktree: Option<i64>, after: i64) -> Result<(), StoreError> {
        self.flush_pending()?;
        let key = worktree.unwrap_or(0);
        self.tx
            .execute("DELETE FROM pending_groups WHERE worktree = ?1", [key])
            .map_err(|e| self.err(e))?;
        self.tx
            .execute("DELETE FROM pending_sessions WHERE worktree = ?1", [key])
            .map_err(|e| self.err(e))?;
        self.tx
            .execute(
                &format!(
                    "INSERT INTO pending_groups (worktree, agent, model, speed, prompt_class, unit,
                         minute, input, output, cache_write_5m, cache_write_1h, cache_read,
                         requests, quantity, source_cost, charges, with_source_cost)
                     SELECT ?1, e.agent, e.model, COALESCE(e.speed, ''), {PROMPT_CLASS_SQL},
                         COALESCE(e.unit, ''), COALESCE(e.ts_ms / 60000, -1),
                         SUM(c.input), SUM(c.output), SUM(c.cache_write_5m),
                         SUM(c.cache_write_1h), SUM(c.cache_read), SUM(c.requests),
                         COALESCE(SUM(c.quantity), 0), COALESCE(SUM(c.source_cost), 0), COUNT(*),
                         COUNT(c.source_cost)
                     FROM charges c JOIN events e ON e.id = c.event
                     WHERE c.worktree IS ?2 AND c.id > ?3
                       AND NOT EXISTS (SELECT 1 FROM backfills b WHERE b.charge = c.id)
                     GROUP BY 2, 3, 4, 5, 6, 7"
                ),
                params![key, worktree, after],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute(
                "INSERT INTO pending_sessions (worktree, session, minute, charges)
                 SELECT ?1, e.session, COALESCE(e.ts_ms / 60000, -1), COUNT(*)
                 FROM charges c JOIN events e ON e.id = c.event
                 WHERE c.worktree IS ?2 AND c.id > ?3
                       AND NOT EXISTS (SELECT 1 FROM backfills b WHERE b.charge = c.id)
                 GROUP BY 2, 3",
                params![key, worktree, after],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
