//! Agent sessions' spend, grouped the way pending spend is so it prices the same way.
//!
//! - [`Tx::session_groups`]: one session's spend, whatever worktree it was charged to (the
//!   statusline's "this session").
//! - [`Tx::session_spend`]: every session's spend within a filter (a repository, an agent, a
//!   time window), split by where it stands: committed (and by which commits), pending,
//!   orphaned (its worktree removed), unattributed (outside any repository), or before its
//!   repository's tracking start (`agent-cost sessions`).

use agent_cost_events::{Money, TokenCounts};
use rusqlite::params;
use rustc_hash::FxHashMap;

use crate::error::StoreError;
use crate::pending::PROMPT_CLASS_SQL;
use crate::store::Tx;
use crate::tally::PendingGroup;

impl Tx<'_> {
    /// Every event of `agent`'s session `session`, summed per model, speed and unit.
    pub fn session_groups(
        &self,
        agent: &str,
        session: &str,
    ) -> Result<Vec<PendingGroup>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT m.name, e.speed, e.unit,
                        MIN(e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read),
                        SUM(e.input), SUM(e.output), SUM(e.cache_write_5m),
                        SUM(e.cache_write_1h), SUM(e.cache_read), SUM(e.requests),
                        SUM(COALESCE(e.quantity, 0)), SUM(COALESCE(e.source_cost, 0)),
                        COUNT(*), COUNT(e.source_cost)
                 FROM sessions s
                 JOIN agents a ON a.id = s.agent
                 JOIN events e ON e.session = s.id
                 JOIN models m ON m.id = e.model
                 WHERE a.name = ?1 AND s.name = ?2
                 GROUP BY m.name, e.speed, e.unit",
            )
            .map_err(|e| self.err(e))?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = statement
            .query_map(params![agent, session], |row| {
                Ok(PendingGroup {
                    agent: agent.to_string(),
                    model: row.get(0)?,
                    speed: row.get(1)?,
                    unit: row.get(2)?,
                    min_prompt_tokens: n(row.get(3)?),
                    tokens: TokenCounts {
                        input: n(row.get(4)?),
                        output: n(row.get(5)?),
                        cache_write_5m: n(row.get(6)?),
                        cache_write_1h: n(row.get(7)?),
                        cache_read: n(row.get(8)?),
                    },
                    requests: n(row.get(9)?),
                    quantity: n(row.get(10)?),
                    source_cost: Money(u128::from(n(row.get(11)?))),
                    charges: n(row.get(12)?),
                    charges_with_source_cost: n(row.get(13)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// Where a charge's spend stands: in a commit, waiting for one, or never going to reach one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpendState {
    /// Settled by a drain written into a commit (or imported as settled from the first
    /// ledger).
    Committed,
    /// In a worktree's tally, waiting for its next commit.
    Pending,
    /// Pending in a worktree whose git dir is gone (`git worktree remove`, a deleted clone).
    Orphaned,
    /// Charged to no worktree: the agent ran outside any git repository.
    Unattributed,
    /// Logged before its repository's tracking start: never written into a commit.
    BeforeTracking,
}

impl SpendState {
    /// Every state, in the order reports list them.
    pub const ALL: [SpendState; 5] = [
        SpendState::Committed,
        SpendState::Pending,
        SpendState::Orphaned,
        SpendState::Unattributed,
        SpendState::BeforeTracking,
    ];

    /// The state's name in reports: `committed`, `pending`, `orphaned`, `unattributed`,
    /// `before-tracking`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendState::Committed => "committed",
            SpendState::Pending => "pending",
            SpendState::Orphaned => "orphaned",
            SpendState::Unattributed => "unattributed",
            SpendState::BeforeTracking => "before-tracking",
        }
    }
}

/// Which charges [`Tx::session_spend`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only charges to worktrees of the repository with this git common dir (`None`: every
    /// charge, unattributed ones included).
    pub common_dir: Option<String>,
    /// Only this agent's sessions.
    pub agent: Option<String>,
    /// Only events logged at or after this instant (milliseconds since the epoch).
    pub since_ms: Option<i64>,
    /// Only events logged before this instant.
    pub until_ms: Option<i64>,
}

/// One part of a session's spend: its charges of one state, worktree, commit, UTC day and
/// pricing group, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPart {
    /// Where these charges stand.
    pub state: SpendState,
    /// The working tree they were charged to (`None`: unattributed).
    pub worktree: Option<String>,
    /// The commit whose drain carried them (committed charges only; `None` for those the
    /// first ledger settled, whose commit it did not record).
    pub commit: Option<String>,
    /// The UTC day their events were logged (`YYYY-MM-DD`; `None`: time unknown).
    pub day: Option<String>,
    /// The charges, summed the way pending spend is (priced the same way).
    pub group: PendingGroup,
}

/// One agent session's spend within a [`SessionFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpend {
    /// Agent name.
    pub agent: String,
    /// The session id as the agent logged it.
    pub session: String,
    /// When its first and last charged requests were logged (milliseconds since the epoch).
    pub first_ms: Option<i64>,
    /// See `first_ms`.
    pub last_ms: Option<i64>,
    /// The working trees it was charged to, in the order it was first charged to each.
    pub worktrees: Vec<String>,
    /// The commits whose drains carried some of its charges, in the order they were settled.
    pub commits: Vec<String>,
    /// Its spend, split by state, worktree, commit, day and pricing group.
    pub parts: Vec<SessionPart>,
}

/// A worktree as classification needs it.
struct WorktreeRow {
    workdir: String,
    settled_upto: i64,
    tracking_since_ms: Option<i64>,
    gone: bool,
    /// Its settled drains, by first charge.
    drains: Vec<SettledDrain>,
    /// Its charges that `agent-cost backfill` put into a settled note: the drain's row id and
    /// the commit the note is on.
    backfilled: FxHashMap<i64, (i64, String)>,
}

/// A settled drain: the charges it took from its worktree's tally.
struct SettledDrain {
    first_charge: i64,
    upto: i64,
    /// Its tracking start: its charges of events logged before were not in the commit.
    since_ms: Option<i64>,
    /// Its row id (the order drains were settled in).
    id: i64,
    commit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PartKey {
    state: SpendState,
    worktree: Option<i64>,
    commit: Option<(i64, String)>,
    day: Option<String>,
    model: String,
    speed: String,
    prompt_class: i64,
    unit: String,
}

#[derive(Default)]
struct SessionAcc {
    agent: String,
    session: String,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    worktrees: Vec<i64>,
    parts: FxHashMap<PartKey, PendingGroup>,
}

impl Tx<'_> {
    /// Every session with charges inside `filter`, with its spend split by where it stands
    /// (committed, pending, orphaned, unattributed, before tracking). Reads each charge once:
    /// the cost grows with the number of charges in the filter.
    ///
    /// A charge is committed when its worktree's settlement covers it and its drain carried it
    /// (a drain's charges of events logged before the drain's tracking start are before
    /// tracking); a pending charge is before tracking when its event was logged before its
    /// repository's tracking start, orphaned when its worktree's git dir is gone.
    pub fn session_spend(&self, filter: &SessionFilter) -> Result<Vec<SessionSpend>, StoreError> {
        let worktrees = self.worktrees_for_sessions()?;
        let mut statement = self
            .tx
            .prepare(&format!(
                "SELECT c.id, c.worktree, e.session, a.name, s.name, m.name,
                        COALESCE(e.speed, ''), {PROMPT_CLASS_SQL}, COALESCE(e.unit, ''), e.ts_ms,
                        strftime('%Y-%m-%d', e.ts_ms / 1000, 'unixepoch'),
                        c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read,
                        c.requests, c.quantity, c.source_cost
                 FROM charges c JOIN events e ON e.id = c.event
                 JOIN agents a ON a.id = e.agent
                 JOIN sessions s ON s.id = e.session
                 JOIN models m ON m.id = e.model
                 WHERE (?1 IS NULL
                        OR c.worktree IN (SELECT id FROM worktrees WHERE common_dir = ?1))
                   AND (?2 IS NULL OR a.name = ?2)
                   AND (?3 IS NULL OR e.ts_ms >= ?3)
                   AND (?4 IS NULL OR e.ts_ms < ?4)
                 ORDER BY c.id"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = statement
            .query(params![
                filter.common_dir,
                filter.agent,
                filter.since_ms,
                filter.until_ms
            ])
            .map_err(|e| self.err(e))?;
        let mut sessions: FxHashMap<i64, SessionAcc> = FxHashMap::default();
        let mut order: Vec<i64> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            self.add_charge(row, &worktrees, &mut sessions, &mut order)
                .map_err(|e| self.err(e))?;
        }
        Ok(order
            .into_iter()
            .filter_map(|id| sessions.remove(&id))
            .map(|acc| finish_session(acc, &worktrees))
            .collect())
    }

    fn add_charge(
        &self,
        row: &rusqlite::Row<'_>,
        worktrees: &FxHashMap<i64, WorktreeRow>,
        sessions: &mut FxHashMap<i64, SessionAcc>,
        order: &mut Vec<i64>,
    ) -> rusqlite::Result<()> {
        let charge: i64 = row.get(0)?;
        let worktree: Option<i64> = row.get(1)?;
        let session: i64 = row.get(2)?;
        let ts_ms: Option<i64> = row.get(9)?;
        let (state, commit) = classify(charge, worktree, ts_ms, worktrees);
        let tokens = crate::record::tokens_at(row, 11)?;
        let source_cost: Option<i64> = row.get(18)?;
        let quantity: Option<i64> = row.get(17)?;
        let key = PartKey {
            state,
            worktree,
            commit,
            day: row.get(10)?,
            model: row.get(5)?,
            speed: row.get(6)?,
            prompt_class: row.get(7)?,
            unit: row.get(8)?,
        };
        let acc = sessions.entry(session).or_insert_with(|| {
            order.push(session);
            SessionAcc::default()
        });
        if acc.agent.is_empty() {
            acc.agent = row.get(3)?;
            acc.session = row.get(4)?;
        }
        if let Some(ts) = ts_ms {
            acc.first_ms = Some(acc.first_ms.map_or(ts, |t| t.min(ts)));
            acc.last_ms = Some(acc.last_ms.map_or(ts, |t| t.max(ts)));
        }
        if let Some(id) = worktree
            && !acc.worktrees.contains(&id)
        {
            acc.worktrees.push(id);
        }
        let group = acc
            .parts
            .entry(key.clone())
            .or_insert_with(|| PendingGroup {
                agent: acc.agent.clone(),
                model: key.model.clone(),
                speed: (!key.speed.is_empty()).then(|| key.speed.clone()),
                min_prompt_tokens: key.prompt_class.max(0) as u64,
                unit: (!key.unit.is_empty()).then(|| key.unit.clone()),
                ..PendingGroup::default()
            });
        group.tokens += tokens;
        group.requests += row.get::<_, i64>(16)?.max(0) as u64;
        group.quantity += quantity.unwrap_or(0).max(0) as u64;
        group.source_cost += Money(source_cost.unwrap_or(0).max(0) as u128);
        group.charges += 1;
        group.charges_with_source_cost += u64::from(source_cost.is_some());
        Ok(())
    }

    /// Every worktree with its settlement point, tracking start, settled drains, and whether
    /// its git dir is gone.
    fn worktrees_for_sessions(&self) -> Result<FxHashMap<i64, WorktreeRow>, StoreError> {
        let mut worktrees: FxHashMap<i64, WorktreeRow> = FxHashMap::default();
        {
            let mut statement = self
                .tx
                .prepare(
                    "SELECT w.id, w.workdir, w.git_dir, w.settled_upto, t.since_ms
                     FROM worktrees w LEFT JOIN tracking t ON t.common_dir = w.common_dir",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = statement.query([]).map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let read = || -> rusqlite::Result<(i64, WorktreeRow)> {
                    let git_dir: String = row.get(2)?;
                    Ok((
                        row.get(0)?,
                        WorktreeRow {
                            workdir: row.get(1)?,
                            settled_upto: row.get(3)?,
                            tracking_since_ms: row.get(4)?,
                            gone: !std::path::Path::new(&git_dir).join("HEAD").exists(),
                            drains: Vec::new(),
                            backfilled: FxHashMap::default(),
                        },
                    ))
                };
                let (id, worktree) = read().map_err(|e| self.err(e))?;
                worktrees.insert(id, worktree);
            }
        }
        let mut statement = self
            .tx
            .prepare(
                "SELECT worktree, first_charge, upto, since_ms, id, commit_id FROM drains
                 WHERE state = 'settled' AND first_charge IS NOT NULL
                 ORDER BY worktree, first_charge",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = statement.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let read = || -> rusqlite::Result<_> {
                Ok((
                    row.get::<_, Option<i64>>(0)?,
                    SettledDrain {
                        first_charge: row.get(1)?,
                        upto: row.get(2)?,
                        since_ms: row.get(3)?,
                        id: row.get(4)?,
                        commit: row.get(5)?,
                    },
                ))
            };
            let (worktree, drain) = read().map_err(|e| self.err(e))?;
            if let Some(w) = worktree.and_then(|id| worktrees.get_mut(&id)) {
                w.drains.push(drain);
            }
        }
        let mut statement = self
            .tx
            .prepare(
                "SELECT b.charge, c.worktree, d.id, d.commit_id FROM backfills b
                 JOIN charges c ON c.id = b.charge
                 JOIN drains d ON d.id = b.drain
                 WHERE d.state = 'settled'",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = statement.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let read = || -> rusqlite::Result<(i64, Option<i64>, i64, String)> {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            };
            let (charge, worktree, drain, commit) = read().map_err(|e| self.err(e))?;
            if let Some(w) = worktree.and_then(|id| worktrees.get_mut(&id)) {
                w.backfilled.insert(charge, (drain, commit));
            }
        }
        Ok(worktrees)
    }
}

/// A repository's charges of one agent, model, unit and state, summed; `entered` tells spend
/// entered by hand (`agent-cost log`, a billing import) from spend read from agents' logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendTotal {
    /// Where these charges stand.
    pub state: SpendState,
    /// Whether their events were entered by hand or imported (event ids `manual-…`,
    /// `cursor-…`) rather than read from an agent's logs.
    pub entered: bool,
    /// The drain (`AI-Cost-Id`) that carried committed charges; `None` for other states and
    /// for the first ledger's imported settlements.
    pub drain: Option<String>,
    /// The charges, summed (agent, model, unit set; speed and prompt class not split).
    pub group: PendingGroup,
}

/// A drain the ledger proposed or settled for a repository's worktrees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainRecord {
    /// The `AI-Cost-Id`.
    pub drain: String,
    /// `proposed` or `settled`.
    pub state: String,
    /// The commit that carried it, once settled (the first ledger's imports have none).
    pub commit: Option<String>,
    /// The working tree it drained.
    pub worktree: Option<String>,
}

impl Tx<'_> {
    /// Every charge to the worktrees of the repository with git common dir `common_dir`,
    /// classified as [`Tx::session_spend`] does and summed per agent, model, unit, state and
    /// whether it was entered by hand.
    pub fn spend_totals(&self, common_dir: &str) -> Result<Vec<SpendTotal>, StoreError> {
        let worktrees = self.worktrees_for_sessions()?;
        let mut statement = self
            .tx
            .prepare(
                "SELECT c.id, c.worktree, e.ts_ms, a.name, m.name, COALESCE(e.unit, ''),
                        e.key LIKE 'manual-%' OR e.key LIKE 'cursor-%',
                        c.input, c.output, c.cache_write_5m, c.cache_write_1h, c.cache_read,
                        c.requests, c.quantity, c.source_cost
                 FROM charges c JOIN events e ON e.id = c.event
                 JOIN agents a ON a.id = e.agent
                 JOIN models m ON m.id = e.model
                 WHERE c.worktree IN (SELECT id FROM worktrees WHERE common_dir = ?1)
                 ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = statement.query([common_dir]).map_err(|e| self.err(e))?;
        let drain_names: FxHashMap<i64, String> = {
            let mut statement = self
                .tx
                .prepare("SELECT id, drain FROM drains")
                .map_err(|e| self.err(e))?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?
        };
        let mut totals: Vec<SpendTotal> = Vec::new();
        type TotalKey = (SpendState, bool, Option<i64>, String, String, String);
        let mut index: FxHashMap<TotalKey, usize> = FxHashMap::default();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let mut read = || -> rusqlite::Result<()> {
                let (state, carried) = classify(row.get(0)?, row.get(1)?, row.get(2)?, &worktrees);
                let drain = carried.map(|(id, _)| id);
                let agent: String = row.get(3)?;
                let model: String = row.get(4)?;
                let unit: String = row.get(5)?;
                let entered: bool = row.get(6)?;
                let key = (
                    state,
                    entered,
                    drain,
                    agent.clone(),
                    model.clone(),
                    unit.clone(),
                );
                let at = *index.entry(key).or_insert_with(|| {
                    totals.push(SpendTotal {
                        state,
                        entered,
                        drain: drain.and_then(|id| drain_names.get(&id).cloned()),
                        group: PendingGroup {
                            agent,
                            model,
                            unit: (!unit.is_empty()).then_some(unit),
                            ..PendingGroup::default()
                        },
                    });
                    totals.len() - 1
                });
                let group = &mut totals[at].group;
                group.tokens += crate::record::tokens_at(row, 7)?;
                group.requests += row.get::<_, i64>(12)?.max(0) as u64;
                group.quantity += row.get::<_, Option<i64>>(13)?.unwrap_or(0).max(0) as u64;
                let source_cost: Option<i64> = row.get(14)?;
                group.source_cost += Money(source_cost.unwrap_or(0).max(0) as u128);
                group.charges += 1;
                group.charges_with_source_cost += u64::from(source_cost.is_some());
                Ok(())
            };
            read().map_err(|e| self.err(e))?;
        }
        Ok(totals)
    }

    /// The drains proposed or settled for the worktrees of the repository with git common dir
    /// `common_dir`, oldest first.
    pub fn drains_of(&self, common_dir: &str) -> Result<Vec<DrainRecord>, StoreError> {
        let mut statement = self
            .tx
            .prepare(
                "SELECT d.drain, d.state, d.commit_id, w.workdir FROM drains d
                 JOIN worktrees w ON w.id = d.worktree
                 WHERE w.common_dir = ?1 ORDER BY d.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([common_dir], |row| {
                Ok(DrainRecord {
                    drain: row.get(0)?,
                    state: row.get(1)?,
                    commit: row.get(2)?,
                    worktree: row.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// Where one charge stands, and the commit (drain row id, commit id) that carried it.
fn classify(
    charge: i64,
    worktree: Option<i64>,
    ts_ms: Option<i64>,
    worktrees: &FxHashMap<i64, WorktreeRow>,
) -> (SpendState, Option<(i64, String)>) {
    let Some(w) = worktree.and_then(|id| worktrees.get(&id)) else {
        return (SpendState::Unattributed, None);
    };
    if let Some((drain, commit)) = w.backfilled.get(&charge) {
        return (SpendState::Committed, Some((*drain, commit.clone())));
    }
    let before = |since: Option<i64>| matches!((ts_ms, since), (Some(ts), Some(s)) if ts < s);
    if charge <= w.settled_upto {
        // The drain whose range holds the charge: the last one starting at or before it.
        let at = w.drains.partition_point(|d| d.first_charge <= charge);
        let drain = at
            .checked_sub(1)
            .map(|i| &w.drains[i])
            .filter(|d| charge <= d.upto);
        return match drain {
            Some(d) if before(d.since_ms) => (SpendState::BeforeTracking, None),
            Some(d) => (
                SpendState::Committed,
                d.commit.as_ref().map(|commit| (d.id, commit.clone())),
            ),
            None => (SpendState::Committed, None),
        };
    }
    if before(w.tracking_since_ms) {
        (SpendState::BeforeTracking, None)
    } else if w.gone {
        (SpendState::Orphaned, None)
    } else {
        (SpendState::Pending, None)
    }
}

fn finish_session(acc: SessionAcc, worktrees: &FxHashMap<i64, WorktreeRow>) -> SessionSpend {
    let workdir = |id: i64| worktrees.get(&id).map(|w| w.workdir.clone());
    let mut commits: Vec<(i64, String)> =
        acc.parts.keys().filter_map(|k| k.commit.clone()).collect();
    commits.sort();
    let mut seen = std::collections::HashSet::new();
    commits.retain(|(_, commit)| seen.insert(commit.clone()));
    let mut parts: Vec<SessionPart> = acc
        .parts
        .into_iter()
        .map(|(key, group)| SessionPart {
            state: key.state,
            worktree: key.worktree.and_then(workdir),
            commit: key.commit.map(|(_, commit)| commit),
            day: key.day,
            group,
        })
        .collect();
    parts.sort_by(|a, b| {
        (a.state, &a.day, &a.worktree, &a.commit, &a.group.model)
            .cmp(&(b.state, &b.day, &b.worktree, &b.commit, &b.group.model))
            .then(a.group.min_prompt_tokens.cmp(&b.group.min_prompt_tokens))
            .then(a.group.speed.cmp(&b.group.speed))
            .then(a.group.unit.cmp(&b.group.unit))
    });
    SessionSpend {
        agent: acc.agent,
        session: acc.session,
        first_ms: acc.first_ms,
        last_ms: acc.last_ms,
        worktrees: acc.worktrees.into_iter().filter_map(workdir).collect(),
        commits: commits.into_iter().map(|(_, commit)| commit).collect(),
        parts,
    }
}
