//! Which commit each charge from before tracking belongs to, and the block each commit's note
//! gets: a charge goes to the first commit of its worktree's first-parent line committed at
//! or after its request (the spend between a commit's parent and the commit), grouped and
//! priced as a hook would, under a drain id derived from the charges so that planning again
//! gives the same id.

use std::collections::{BTreeMap, BTreeSet};

use agent_cost_git::{History, Worktree};
use agent_cost_hooks::drain::summarize;
use agent_cost_prices::PriceBook;
use agent_cost_store::pending::prompt_class;
use agent_cost_store::{BackfillCharge, PendingGroup, Tx};
use agent_cost_trailers::Block;
use sha2::{Digest, Sha256};

use crate::BackfillError;

/// One note to write: a block on a commit, carrying charges of one worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNote {
    /// The commit (full hex).
    pub commit: String,
    /// Its committer time, seconds since the epoch.
    pub commit_time: i64,
    /// Its subject.
    pub subject: String,
    /// The worktree the charges belong to (row id) and where it is.
    pub worktree: (i64, Worktree),
    /// The block, whose id is the drain id.
    pub block: Block,
    /// The charges it carries.
    pub charges: Vec<i64>,
    /// Requests it carries.
    pub requests: u64,
}

impl PlannedNote {
    /// The note's text: the block's trailer lines.
    pub fn text(&self) -> String {
        let mut text = self.block.to_trailer_lines().join("\n");
        text.push('\n');
        text
    }
}

/// What backfill would write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Notes to write, oldest commit first.
    pub notes: Vec<PlannedNote>,
    /// Charges of requests made after their worktree's last commit: left as spend before
    /// tracking (a later commit of theirs would have to carry them, and a hook does not carry
    /// spend from before tracking).
    pub after_last_commit: Vec<BackfillCharge>,
    /// Charges of worktrees whose git dir is gone (`git worktree remove`): their commits
    /// cannot be told.
    pub worktree_gone: Vec<BackfillCharge>,
    /// Charges before `--since`, left alone.
    pub before_since: u64,
}

/// Plans the notes for the charges from before tracking of repository `common_dir` (requests
/// at or after `since_ms` only, when given), priced with `book`.
pub fn plan(
    tx: &Tx<'_>,
    common_dir: &str,
    since_ms: Option<i64>,
    book: &PriceBook,
) -> Result<Plan, BackfillError> {
    let mut plan = Plan::default();
    let worktrees: BTreeMap<i64, Worktree> = tx.worktrees_of(common_dir)?.into_iter().collect();
    let mut by_worktree: BTreeMap<i64, Vec<BackfillCharge>> = BTreeMap::new();
    for charge in tx.backfill_candidates(common_dir)? {
        if since_ms.is_some_and(|since| charge.ts_ms < since) {
            plan.before_since += 1;
            continue;
        }
        by_worktree.entry(charge.worktree).or_default().push(charge);
    }
    for (worktree_id, charges) in by_worktree {
        let worktree = worktrees.get(&worktree_id);
        let history = worktree
            .filter(|w| w.git_dir.join("HEAD").exists())
            .and_then(|w| History::of_worktree(&w.workdir, &w.git_dir).ok());
        let (Some(worktree), Some(history)) = (worktree, history) else {
            plan.worktree_gone.extend(charges);
            continue;
        };
        let line = history.first_parent_line()?;
        // Committer times may go back (a skewed clock): each commit stands for the latest
        // time of the line up to it.
        let mut latest = i64::MIN;
        let times: Vec<i64> = line
            .iter()
            .map(|(_, time)| {
                latest = latest.max(*time);
                latest
            })
            .collect();
        let mut per_commit: BTreeMap<usize, Vec<BackfillCharge>> = BTreeMap::new();
        for charge in charges {
            let at = times.partition_point(|&time| time * 1000 < charge.ts_ms);
            if at == line.len() {
                plan.after_last_commit.push(charge);
            } else {
                per_commit.entry(at).or_default().push(charge);
            }
        }
        for (at, charges) in per_commit {
            let (commit, commit_time) = line[at].clone();
            let subject = history
                .message_of(&commit)
                .and_then(|m| m.lines().next().map(str::to_string))
                .unwrap_or_default();
            plan.notes.push(note_for(
                commit,
                commit_time,
                subject,
                (worktree_id, worktree.clone()),
                &charges,
                book,
            ));
        }
    }
    plan.notes
        .sort_by(|a, b| (a.commit_time, &a.commit).cmp(&(b.commit_time, &b.commit)));
    Ok(plan)
}

fn note_for(
    commit: String,
    commit_time: i64,
    subject: String,
    worktree: (i64, Worktree),
    charges: &[BackfillCharge],
    book: &PriceBook,
) -> PlannedNote {
    let mut groups: Vec<PendingGroup> = Vec::new();
    let mut sessions: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for charge in charges {
        sessions
            .entry(charge.agent.clone())
            .or_default()
            .insert(&charge.session);
        let class = prompt_class(&charge.tokens).max(0) as u64;
        let same = |g: &PendingGroup| {
            g.agent == charge.agent
                && g.model == charge.model
                && g.speed == charge.speed
                && g.min_prompt_tokens == class
                && g.unit == charge.unit
        };
        let at = match groups.iter().position(same) {
            Some(at) => at,
            None => {
                groups.push(PendingGroup {
                    agent: charge.agent.clone(),
                    model: charge.model.clone(),
                    speed: charge.speed.clone(),
                    min_prompt_tokens: class,
                    unit: charge.unit.clone(),
                    ..PendingGroup::default()
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[at];
        group.tokens += charge.tokens;
        group.requests += charge.requests;
        group.quantity += charge.quantity;
        group.charges += 1;
        if let Some(cost) = charge.source_cost {
            group.source_cost += cost;
            group.charges_with_source_cost += 1;
        }
    }
    let sessions: BTreeMap<String, u64> = sessions
        .into_iter()
        .map(|(agent, ids)| (agent, ids.len() as u64))
        .collect();
    let summary = summarize(&groups, book);
    let block = Block::build(
        drain_id(&commit, charges),
        summary.models,
        &sessions,
        Vec::new(),
    );
    PlannedNote {
        commit,
        commit_time,
        subject,
        worktree,
        block,
        charges: charges.iter().map(|c| c.id).collect(),
        requests: charges.iter().map(|c| c.requests).sum(),
    }
}

/// The drain id of a backfill note: 16 hex digits of a SHA-256 of the commit and the charged
/// events' identities, so that the same charges on the same commit always get the same id
/// (a run killed and run again cannot write a second block for them, nor a ledger rebuilt
/// from the logs, whose row ids differ).
pub fn drain_id(commit: &str, charges: &[BackfillCharge]) -> String {
    let mut keys: Vec<(&str, &str)> = charges
        .iter()
        .map(|c| (c.agent.as_str(), c.key.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut hasher = Sha256::new();
    hasher.update(b"agent-cost backfill\n");
    hasher.update(commit.as_bytes());
    for (agent, key) in keys {
        hasher.update(format!("\n{agent}\t{key}").as_bytes());
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
