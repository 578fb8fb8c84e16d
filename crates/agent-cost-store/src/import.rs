//! Importing the first ledger's files (see [`crate::legacy`]) into the store, once, so that an
//! upgrade loses no pending spend and counts nothing twice.
//!
//! What each old fact becomes:
//! - an event the old tally charged: an `events` row under its new key (Claude Code ids lose
//!   their `claude:` prefix) with no `variant` (0), so any copy read later merges with it as
//!   the largest copy (a re-read of what was already charged adds nothing); an event only the
//!   `seen` shards remember has an empty model and session and no time until a copy read
//!   again describes it;
//! - its settled charges: one charge row per event, all together in the settled drain
//!   `imported-v1:<worktree id>` (which no commit names): the drain covers exactly their ids
//!   (`first_charge..=upto`) and the worktree's `settled_upto` moves to its `upto`. The
//!   unattributed tally never settles: a settled part there (the first ledger never drained
//!   that tally) is kept in the event's counts only;
//! - each pending charge: a pending charge row of the same worktree, in the old order, above
//!   the settlement point, so the new charge ids increase with the old positions (an event
//!   with settled and pending parts, a top-up after a drain, keeps both rows);
//! - an outstanding proposal: a `proposed` drain with the same id, covering up to the largest
//!   new charge id among the imported pending charges at or before its old `upto`, so it
//!   settles when its commit is found, like any other;
//! - `tracking.json`: the repository's tracking row, unless the store already has one;
//! - `cursors.json`: the Claude Code source's cursors, unless the store already has one for
//!   the file.
//!
//! A worktree's import runs inside the caller's transaction (in a savepoint: a failure undoes
//! all of it and leaves the caller's transaction usable) together with a `meta` key
//! `legacy-imported:<git dir>`; the state directory's (unattributed tally and cursors) with
//! `legacy-imported:state`. Only after the transaction commits is the old directory renamed to
//! `agent-cost.imported-v1` (kept for safety): a kill between the two leaves the key, so the
//! files are never imported twice, and the rename is retried by the next run.
//!
//! An event the store already knows when a worktree is imported (read from a transcript before
//! the import, or charged by two old tallies) keeps every old fact of that worktree; the
//! pending charges the store made for it there (or as unattributed) shrink to whatever the old
//! facts and other worktrees' charges leave uncovered, and the worktree's earlier pending
//! charges move after the imported ones (new ids above every imported charge), so neither the
//! imported settlement nor an old proposal covers them. The unattributed tally adds nothing to
//! an event a worktree already has.
//!
//! The running sums of pending charges (see [`crate::pending`]) of every tally whose charges
//! the import changed are rebuilt from the charges at its end.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use agent_cost_events::{Agent, TokenCounts};
use agent_cost_git::Worktree;
use rusqlite::params;

use crate::error::StoreError;
use crate::legacy::{self, ChargeDetail, LegacyTally};
use crate::record::{clamp_i64, tokens_at};
use crate::store::{Store, Tx};
use crate::time::{millis_of, now_rfc3339};
use crate::tracking::Tracking;

/// What callers print before an import error (the old files stay where they are).
pub const IMPORT_FAILED: &str =
    "spend recorded by an earlier agent-cost was not imported yet (it stays pending there)";

/// The `meta` key that marks the state directory's import as done.
pub const STATE_KEY: &str = "legacy-imported:state";

/// The `meta` key that marks a worktree's import as done.
pub fn worktree_key(git_dir: &Path) -> String {
    format!("legacy-imported:{}", git_dir.to_string_lossy())
}

/// The settled drain that holds a tally's imported settled charges (never in a commit). The
/// unattributed tally (`None`) never settles, so no drain of that name holds charges.
pub fn imported_drain(worktree: Option<i64>) -> String {
    match worktree {
        Some(id) => format!("imported-v1:{id}"),
        None => "imported-v1:unattributed".to_string(),
    }
}

/// What one import brought into the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyImport {
    /// Events the store had not known.
    pub events: u64,
    /// Events whose settled part was recorded as drained.
    pub settled_events: u64,
    /// Pending charges added to the tally.
    pub pending_charges: u64,
    /// Outstanding proposals.
    pub proposals: u64,
    /// True when the repository's tracking start was imported.
    pub tracking: bool,
    /// Read cursors imported.
    pub cursors: u64,
    /// Old lines that could not be read (skipped).
    pub unreadable_lines: u64,
}

impl LegacyImport {
    fn describe(&self) -> String {
        format!(
            "{} events={} settled={} pending={} proposals={} cursors={} unreadable={}",
            now_rfc3339(),
            self.events,
            self.settled_events,
            self.pending_charges,
            self.proposals,
            self.cursors,
            self.unreadable_lines
        )
    }
}

/// One old event, summed over its charges in a tally.
struct Plan<'a> {
    agent: String,
    key: String,
    detail: Option<&'a ChargeDetail>,
    total: TokenCounts,
    requests: u64,
    settled: Option<(TokenCounts, u64)>,
}

/// An event the store knew before a worktree's import, to be brought to agree with the old
/// facts.
struct Known {
    id: i64,
    target: TokenCounts,
    owner: Option<i64>,
    plan: usize,
    /// What its settled drains and other worktrees' pending charges already cover.
    covered: TokenCounts,
    /// Its pending charges in this worktree or unattributed (read before the import).
    replaced: Vec<i64>,
    replaced_requests: u64,
}

fn legacy_error((path, source): legacy::Unreadable) -> StoreError {
    StoreError::Legacy { path, source }
}

impl Store {
    /// Imports the state directory's old files (the unattributed tally and the read cursors)
    /// in one transaction, once; then renames them. Called by [`Store::open`].
    pub fn import_legacy_state(&mut self) -> Result<Option<LegacyImport>, StoreError> {
        let Some(state_dir) = self.path().parent().map(Path::to_path_buf) else {
            return Ok(None);
        };
        let unattributed = state_dir.join(legacy::UNATTRIBUTED_DIR);
        let cursors = state_dir.join(legacy::CURSORS_FILE);
        let present: Vec<PathBuf> = [unattributed.clone(), cursors]
            .into_iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect();
        if present.is_empty() {
            return Ok(None);
        }
        let tx = self.write()?;
        let done = tx.meta(STATE_KEY)?.is_some();
        let mut summary = LegacyImport::default();
        if !done {
            let tally = LegacyTally::read(&unattributed).map_err(legacy_error)?;
            tx.import_tally(&tally, None, "", None, &mut summary)?;
            for (file, cursor) in legacy::read_cursors(&state_dir).map_err(legacy_error)? {
                if tx.cursor(Agent::CLAUDE_CODE, &file)?.is_none() {
                    tx.set_cursor(Agent::CLAUDE_CODE, &file, &cursor)?;
                    summary.cursors += 1;
                }
            }
            tx.set_meta(STATE_KEY, &summary.describe())?;
        }
        for path in present {
            tx.retire_after_commit(path);
        }
        tx.commit()?;
        Ok((!done).then_some(summary))
    }

    /// Registers `worktree` and imports its old tally, in a transaction of its own (for
    /// commands that touch a worktree before they write anything else).
    pub fn import_legacy_worktree(
        &mut self,
        worktree: &Worktree,
    ) -> Result<Option<LegacyImport>, StoreError> {
        if std::fs::symlink_metadata(worktree.git_dir.join(legacy::TALLY_DIR)).is_err() {
            return Ok(None);
        }
        let tx = self.write()?;
        let id = tx.worktree_id(worktree)?;
        let imported = tx.import_legacy_worktree(worktree, id)?;
        tx.commit()?;
        Ok(imported)
    }
}

impl Tx<'_> {
    /// Imports the old tally of `worktree` (whose row is `worktree_id`) and its repository's
    /// old tracking start, unless that was done before; `None` when there was nothing to
    /// import. Costs one `stat` once the old directory has been renamed. On error nothing of
    /// it is kept and the transaction stays usable (the caller warns and goes on).
    pub fn import_legacy_worktree(
        &self,
        worktree: &Worktree,
        worktree_id: i64,
    ) -> Result<Option<LegacyImport>, StoreError> {
        let dir = worktree.git_dir.join(legacy::TALLY_DIR);
        if std::fs::symlink_metadata(&dir).is_err() {
            return Ok(None);
        }
        let key = worktree_key(&worktree.git_dir);
        if self.meta(&key)?.is_some() {
            self.retire_after_commit(dir);
            return Ok(None);
        }
        // The import reads and numbers charges: those recorded before it come first.
        self.flush_charges()?;
        let summary = self.in_savepoint(|| {
            let mut summary = LegacyImport {
                tracking: self.import_legacy_tracking(&worktree.common_dir)?,
                ..LegacyImport::default()
            };
            let since_ms = self
                .tracking(&worktree.common_dir.to_string_lossy())?
                .map(|t| t.since_ms);
            let tally = LegacyTally::read(&dir).map_err(legacy_error)?;
            self.import_tally(
                &tally,
                Some(worktree_id),
                &worktree.workdir.to_string_lossy(),
                since_ms,
                &mut summary,
            )?;
            self.set_meta(&key, &summary.describe())?;
            Ok(summary)
        })?;
        self.retire_after_commit(dir);
        Ok(Some(summary))
    }

    /// Runs `f` in a savepoint: on error everything it wrote is undone, and so are the
    /// transaction's in-memory state it may have touched (name ids, running-sum additions).
    fn in_savepoint<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        // Additions made before belong to the caller's transaction: write them outside.
        self.flush_pending()?;
        self.tx
            .execute_batch("SAVEPOINT legacy_import")
            .map_err(|e| self.err(e))?;
        match f() {
            Ok(value) => {
                self.tx
                    .execute_batch("RELEASE legacy_import")
                    .map_err(|e| self.err(e))?;
                Ok(value)
            }
            Err(error) => {
                let _ = self
                    .tx
                    .execute_batch("ROLLBACK TO legacy_import; RELEASE legacy_import");
                // Ids of names whose rows were rolled back, and additions for charges that
                // no longer exist, must not outlive them.
                self.names.take();
                self.deltas.take();
                Err(error)
            }
        }
    }

    /// Imports a repository's `tracking.json` once, unless the store already tracks it.
    fn import_legacy_tracking(&self, common_dir: &Path) -> Result<bool, StoreError> {
        let common = common_dir.to_string_lossy();
        let key = format!("legacy-tracking:{common}");
        if self.meta(&key)?.is_some() {
            return Ok(false);
        }
        let mut imported = false;
        if self.tracking(&common)?.is_none()
            && let Some(since) = legacy::read_tracking(common_dir).map_err(legacy_error)?
            && let Ok(tracking) = Tracking::starting(&since)
        {
            self.set_tracking(&common, &tracking)?;
            imported = true;
        }
        self.set_meta(&key, &now_rfc3339())?;
        Ok(imported)
    }

    /// Brings one old tally into the store, charged to `worktree` (`None`: unattributed).
    fn import_tally(
        &self,
        tally: &LegacyTally,
        worktree: Option<i64>,
        cwd: &str,
        since_ms: Option<i64>,
        summary: &mut LegacyImport,
    ) -> Result<(), StoreError> {
        summary.unreadable_lines += tally.unreadable_lines;
        let mut plans: Vec<Plan<'_>> = Vec::new();
        let mut by_key: HashMap<(String, String), usize> = HashMap::new();
        // (old position, plan, tokens, requests) of each pending charge, in old order.
        let mut pending: Vec<(u64, usize, TokenCounts, u64)> = Vec::new();
        for (&seq, charge) in &tally.charges {
            let agent = charge
                .detail
                .as_ref()
                .map_or(Agent::CLAUDE_CODE, |d| d.agent.as_str())
                .to_string();
            let key = legacy::event_key(&agent, &charge.event);
            let (index, first) = match by_key.get(&(agent.clone(), key.clone())) {
                Some(index) => (*index, false),
                None => {
                    by_key.insert((agent.clone(), key.clone()), plans.len());
                    plans.push(Plan {
                        agent,
                        key,
                        detail: None,
                        total: TokenCounts::default(),
                        requests: 0,
                        settled: None,
                    });
                    (plans.len() - 1, true)
                }
            };
            let plan = &mut plans[index];
            // Shards do not keep `requests`: an event's first charge was its request.
            let requests = charge
                .detail
                .as_ref()
                .map_or(u64::from(first), |d| d.requests);
            if plan.detail.is_none() {
                plan.detail = charge.detail.as_ref();
            }
            plan.total += charge.tokens;
            plan.requests += requests;
            if tally.is_pending(seq) {
                pending.push((seq, index, charge.tokens, requests));
            } else {
                let settled = plan.settled.get_or_insert_default();
                settled.0 += charge.tokens;
                settled.1 += requests;
            }
        }

        // Where the worktree's settled charges end before the import, and its pending charges
        // (its transcripts read before this import): they move after the imported ones, so
        // that neither the imported settlement nor an imported proposal covers them.
        let settled_before = self.settled_upto(worktree)?;
        let earlier = match worktree {
            Some(worktree) => self.pending_ids(worktree, settled_before)?,
            None => Vec::new(),
        };
        // The tallies whose running sums are rebuilt at the end.
        let mut tallies: BTreeSet<Option<i64>> = BTreeSet::new();

        // The event row of each plan; `None` for an event the unattributed tally shares with a
        // worktree already imported (the worktree's facts stand).
        let mut event_ids: Vec<Option<i64>> = Vec::with_capacity(plans.len());
        let mut known = Vec::new();
        let mut settled_parts: Vec<(i64, TokenCounts, u64)> = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let id = match (self.insert_imported_event(plan, worktree, cwd)?, worktree) {
                (Some(id), _) => {
                    summary.events += 1;
                    id
                }
                (None, None) => {
                    event_ids.push(None);
                    continue;
                }
                (None, Some(worktree)) => {
                    let found = self.known_for_import(plan, worktree, index, &mut tallies)?;
                    let id = found.id;
                    known.push(found);
                    id
                }
            };
            // The unattributed tally never settles (and the first ledger never drained its
            // own): a settled part there is kept only in the event's counts, so that a re-read
            // adds nothing.
            if let (Some((tokens, requests)), Some(_)) = (plan.settled, worktree) {
                settled_parts.push((id, tokens, requests));
                summary.settled_events += 1;
            }
            event_ids.push(Some(id));
        }

        // The settled charges, one per event, in the drain `imported-v1:<worktree>` that covers
        // exactly them; the worktree's settlement point moves to the last of them.
        if let Some(worktree) = worktree
            && !settled_parts.is_empty()
        {
            let mut range: Option<(i64, i64)> = None;
            for (event, tokens, requests) in &settled_parts {
                let id = self.insert_imported_charge(*event, Some(worktree), tokens, *requests)?;
                let (first, _) = *range.get_or_insert((id, id));
                range = Some((first, id));
            }
            if let Some((first, upto)) = range {
                self.insert_imported_drain(worktree, first, upto)?;
                self.tx
                    .execute(
                        "UPDATE worktrees SET settled_upto = MAX(settled_upto, ?2) WHERE id = ?1",
                        params![worktree, upto],
                    )
                    .map_err(|e| self.err(e))?;
            }
        }

        // The pending charges, in the old order, above the settlement point.
        let mut charge_ids: Vec<(u64, i64)> = Vec::with_capacity(pending.len());
        for (seq, plan, tokens, requests) in &pending {
            let Some(event) = event_ids[*plan] else {
                continue;
            };
            let id = self.insert_imported_charge(event, worktree, tokens, *requests)?;
            charge_ids.push((*seq, id));
            summary.pending_charges += 1;
        }
        if !charge_ids.is_empty() || !settled_parts.is_empty() {
            tallies.insert(worktree);
        }

        for event in known {
            self.settle_differences(&event, &plans[event.plan])?;
        }
        if !charge_ids.is_empty() || !settled_parts.is_empty() {
            for id in earlier {
                self.tx
                    .execute(
                        "UPDATE charges SET id = (SELECT MAX(id) + 1 FROM charges) WHERE id = ?1",
                        [id],
                    )
                    .map_err(|e| self.err(e))?;
            }
        }

        if let Some(worktree) = worktree {
            for proposal in &tally.proposals {
                let Some(upto) = charge_ids
                    .iter()
                    .filter(|(seq, _)| *seq <= proposal.upto)
                    .map(|(_, id)| *id)
                    .max()
                else {
                    continue;
                };
                let at = if proposal.at.is_empty() {
                    now_rfc3339()
                } else {
                    proposal.at.clone()
                };
                summary.proposals += self
                    .tx
                    .execute(
                        "INSERT INTO drains (drain, worktree, upto, state, since_ms, proposed_at)
                         VALUES (?1, ?2, ?3, 'proposed', ?4, ?5) ON CONFLICT (drain) DO NOTHING",
                        params![proposal.drain, worktree, upto, since_ms, at],
                    )
                    .map_err(|e| self.err(e))? as u64;
            }
        }

        // The running sums of every tally whose pending charges changed (or whose events'
        // totals, hence price tiers, did).
        for tally in tallies {
            match tally {
                Some(worktree) => {
                    let settled = self.settled_upto(Some(worktree))?;
                    self.rebuild_pending(worktree, settled)?;
                }
                None => self.rebuild_unattributed_pending()?,
            }
        }
        Ok(())
    }

    /// The ids of a worktree's pending charges (above `settled`), oldest first.
    fn pending_ids(&self, worktree: i64, settled: i64) -> Result<Vec<i64>, StoreError> {
        let mut statement = self
            .tx
            .prepare("SELECT id FROM charges WHERE worktree = ?1 AND id > ?2 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map(params![worktree, settled], |row| row.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The store's state of an event an old tally charged that it knew already, brought up
    /// to the largest copy either knew. Adds to `tallies` every tally holding charges of it.
    fn known_for_import(
        &self,
        plan: &Plan<'_>,
        worktree: i64,
        index: usize,
        tallies: &mut BTreeSet<Option<i64>>,
    ) -> Result<Known, StoreError> {
        let agent = self.agent_id(&plan.agent)?;
        let (id, tokens, owner): (i64, TokenCounts, Option<i64>) = self
            .tx
            .query_row(
                "SELECT id, input, output, cache_write_5m, cache_write_1h, cache_read, worktree
                 FROM events WHERE agent = ?1 AND key = ?2",
                params![agent, plan.key],
                |row| Ok((row.get(0)?, tokens_at(row, 1)?, row.get(6)?)),
            )
            .map_err(|e| self.err(e))?;
        // A charge is replaceable when it is pending in this worktree or unattributed.
        let mut statement = self
            .tx
            .prepare(
                "SELECT c.id, c.requests, c.worktree,
                        c.id > COALESCE(w.settled_upto, 0)
                            AND (c.worktree IS NULL OR c.worktree = ?2),
                        c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read
                 FROM charges c LEFT JOIN worktrees w ON w.id = c.worktree
                 WHERE c.event = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(i64, i64, Option<i64>, bool, TokenCounts)> = statement
            .query_map(params![id, worktree], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    tokens_at(row, 4)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut covered = TokenCounts::default();
        let (mut replaced, mut replaced_requests) = (Vec::new(), 0);
        for (charge, requests, tally, replaceable, tokens) in rows {
            tallies.insert(tally);
            if replaceable {
                replaced.push(charge);
                replaced_requests += requests.max(0) as u64;
            } else {
                covered += tokens;
            }
        }
        let target = tokens.max_fieldwise(&plan.total);
        // An event the store had as unattributed belongs to the worktree that charged it.
        let owner = owner.or(Some(worktree));
        tallies.insert(owner);
        self.tx
            .execute(
                "UPDATE events SET input = ?2, output = ?3, cache_write_5m = ?4,
                     cache_write_1h = ?5, cache_read = ?6, worktree = ?7
                 WHERE id = ?1",
                params![
                    id,
                    clamp_i64(u128::from(target.input)),
                    clamp_i64(u128::from(target.output)),
                    clamp_i64(u128::from(target.cache_write_5m)),
                    clamp_i64(u128::from(target.cache_write_1h)),
                    clamp_i64(u128::from(target.cache_read)),
                    owner
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(Known {
            id,
            target,
            owner,
            plan: index,
            covered,
            replaced,
            replaced_requests,
        })
    }

    /// Replaces the pending charges the store made for an event it knew before the import (in
    /// this worktree, or unattributed) by what the old facts, now imported, leave uncovered of
    /// its largest copy.
    fn settle_differences(&self, known: &Known, plan: &Plan<'_>) -> Result<(), StoreError> {
        for id in &known.replaced {
            self.tx
                .execute("DELETE FROM charges WHERE id = ?1", [id])
                .map_err(|e| self.err(e))?;
        }
        let remaining = known.target.saturating_sub(&(known.covered + plan.total));
        let requests = known.replaced_requests.saturating_sub(plan.requests);
        if !remaining.is_zero() || requests > 0 {
            self.insert_imported_charge(known.id, known.owner, &remaining, requests)?;
        }
        Ok(())
    }

    /// Inserts an event the store does not know yet; `None` when it knows it. An event only
    /// the `seen` shards remember (no journal record) gets an empty session and model and no
    /// time: the first copy read again describes it (see [`Tx::record`]).
    fn insert_imported_event(
        &self,
        plan: &Plan<'_>,
        worktree: Option<i64>,
        cwd: &str,
    ) -> Result<Option<i64>, StoreError> {
        let detail = plan.detail;
        let agent = self.agent_id(&plan.agent)?;
        let session = self.session_id(agent, detail.map_or("", |d| d.session.as_str()))?;
        let model = self.model_id(detail.map_or("", |d| d.model.as_str()))?;
        let place = self.place_id(cwd, detail.and_then(|d| d.branch.as_deref()).unwrap_or(""))?;
        let t = plan.total;
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO events (agent, key, variant, sidechain, session, model, speed, ts_ms,
                     place, worktree, input, output, cache_write_5m, cache_write_1h, cache_read,
                     requests)
                 VALUES (?1, ?2, 0, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (agent, key) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    agent,
                    plan.key,
                    session,
                    model,
                    detail.and_then(|d| d.speed.as_deref()),
                    detail.and_then(|d| millis_of(&d.ts)),
                    place,
                    worktree,
                    clamp_i64(u128::from(t.input)),
                    clamp_i64(u128::from(t.output)),
                    clamp_i64(u128::from(t.cache_write_5m)),
                    clamp_i64(u128::from(t.cache_write_1h)),
                    clamp_i64(u128::from(t.cache_read)),
                    clamp_i64(u128::from(plan.requests)),
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok((inserted == 1).then(|| self.tx.last_insert_rowid()))
    }

    /// Inserts a charge (pending unless a settlement point is moved over it); returns its id.
    fn insert_imported_charge(
        &self,
        event: i64,
        worktree: Option<i64>,
        tokens: &TokenCounts,
        requests: u64,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO charges (event, worktree, input, output, cache_write_5m,
                     cache_write_1h, cache_read, requests)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    event,
                    worktree,
                    clamp_i64(u128::from(tokens.input)),
                    clamp_i64(u128::from(tokens.output)),
                    clamp_i64(u128::from(tokens.cache_write_5m)),
                    clamp_i64(u128::from(tokens.cache_write_1h)),
                    clamp_i64(u128::from(tokens.cache_read)),
                    clamp_i64(u128::from(requests)),
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The settled drain `imported-v1:<worktree>` covering the worktree's charges `first..=upto`
    /// (never in a commit).
    fn insert_imported_drain(
        &self,
        worktree: i64,
        first: i64,
        upto: i64,
    ) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO drains (drain, worktree, first_charge, upto, state, settled_at)
                 VALUES (?1, ?2, ?3, ?4, 'settled', ?5)",
                params![
                    imported_drain(Some(worktree)),
                    worktree,
                    first,
                    upto,
                    now_rfc3339()
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
