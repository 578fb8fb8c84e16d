//! Reading a range into commits and charges: each counted drain's model lines, charged to the
//! one commit whose copy of the drain counts.

use std::collections::{BTreeMap, HashMap};

use agent_cost_events::Money;
use agent_cost_git::{History, HistoryError, LineStats};
use agent_cost_trailers::{Block, BlockFate, block_fates, parse_blocks};

use crate::classify;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// History could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Which commits of the walked range a report keeps, by author date (seconds since the
/// epoch, both ends inclusive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep commits authored at or after this time.
    pub since: Option<i64>,
    /// Keep commits authored at or before this time.
    pub until: Option<i64>,
}

impl Filter {
    fn keeps(&self, time: i64) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time <= u)
    }
}

/// One commit of the range, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full hex id.
    pub id: String,
    /// Number of parents (2 or more: a merge).
    pub parent_count: usize,
    /// Author name after `.mailmap`.
    pub author_name: String,
    /// Author email after `.mailmap`.
    pub author_email: String,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    /// The author's UTC offset in seconds.
    pub author_offset: i32,
    /// Committer time, seconds since the epoch (what "recent" means for `tail`).
    pub commit_time: i64,
    /// First line of the message.
    pub subject: String,
    /// [`classify::commit_type`] of the subject.
    pub kind: &'static str,
    /// The pull request: from the subject, or from the `Merge pull request #N` merge that
    /// brought the commit in.
    pub pr: Option<u64>,
    /// [`classify::tickets`] of the whole message.
    pub tickets: Vec<String>,
    /// Lines changed, once [`Ledger::count_lines`] has counted them (merges: none, as
    /// `git log --numstat` shows them).
    pub lines: Option<LineStats>,
}

impl CommitInfo {
    /// `Name <email>`, after `.mailmap`.
    pub fn author(&self) -> String {
        format!("{} <{}>", self.author_name, self.author_email)
    }

    /// The author's local date.
    pub fn date(&self) -> jiff::civil::Date {
        classify::local_date(self.author_time, self.author_offset)
    }

    /// The author time in RFC 3339 with the author's offset: `2026-12-01T14:00:00+01:00`.
    pub fn rfc3339(&self) -> String {
        let offset =
            jiff::tz::Offset::from_seconds(self.author_offset).unwrap_or(jiff::tz::Offset::UTC);
        let timestamp =
            jiff::Timestamp::from_second(self.author_time).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        timestamp.display_with_offset(offset).to_string()
    }
}

/// What one (agent, model) of one counted drain cost, charged to one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Index of the commit in [`Ledger::commits`].
    pub commit: usize,
    /// Agent name (`unknown` for a drain without model lines).
    pub agent: String,
    /// Model name (`unknown` for a drain without model lines).
    pub model: String,
    /// API requests.
    pub requests: u64,
    /// Input, output, cache-write and cache-read tokens.
    pub tokens: [u64; 4],
    /// USD cost of the line; `None` when unpriced.
    pub cost: Option<Money>,
    /// Amounts in units other than USD, by unit (never added to `cost`).
    pub units: BTreeMap<String, Money>,
}

/// The commits of a range (walk order: newest first from the tips) and every counted drain's
/// charges.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Commits kept by the filter, in walk order.
    pub commits: Vec<CommitInfo>,
    /// Charges of counted drains, in walk order of their commits.
    pub charges: Vec<Charge>,
    /// Commits walked before the filter.
    pub walked: u64,
    /// Blocks not counted because an earlier commit of the walk carries the same drain.
    pub duplicate_blocks: u64,
    /// Blocks not counted because another block of the range replaces them.
    pub replaced_blocks: u64,
}

struct Walked {
    info: CommitInfo,
    parents: Vec<String>,
    blocks: Vec<Block>,
}

impl Ledger {
    /// Walks `spec` (default `HEAD`) and charges each drain once, to the first commit of the
    /// walk that carries a counted copy of it (newest first: a squash merge in the range takes
    /// the drains of the commits it squashed). Drains are de-duplicated over the whole walked
    /// range, then commits outside `filter` are dropped with their charges.
    pub fn read(
        history: &History,
        spec: Option<&str>,
        filter: Filter,
    ) -> Result<Ledger, ReportError> {
        Ledger::read_with_progress(history, spec, filter, |_| {})
    }

    /// [`Ledger::read`], calling `progress(commits read)` after each commit of the walk.
    pub fn read_with_progress(
        history: &History,
        spec: Option<&str>,
        filter: Filter,
        mut progress: impl FnMut(u64),
    ) -> Result<Ledger, ReportError> {
        let mut walked: Vec<Walked> = Vec::new();
        let count = history.walk_details(spec, |details| {
            progress(walked.len() as u64 + 1);
            let subject = details
                .message
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let info = CommitInfo {
                parent_count: details.parents.len(),
                author_name: details.author_name,
                author_email: details.author_email,
                author_time: details.author_time,
                author_offset: details.author_offset,
                commit_time: details.commit_time,
                kind: classify::commit_type(&subject),
                pr: classify::pr_number(&subject),
                tickets: classify::tickets(&details.message),
                lines: None,
                subject,
                id: details.id,
            };
            walked.push(Walked {
                blocks: parse_blocks(&details.message),
                parents: details.parents,
                info,
            });
        })?;
        assign_merged_prs(&mut walked);

        let fates = block_fates(walked.iter().flat_map(|w| &w.blocks));
        let mut fates = fates.into_iter();
        let mut ledger = Ledger {
            walked: count,
            ..Ledger::default()
        };
        for w in walked {
            let keep = filter.keeps(w.info.author_time);
            let index = ledger.commits.len();
            for block in &w.blocks {
                let fate = fates.next().unwrap_or(BlockFate::Counted);
                if !keep {
                    continue;
                }
                match fate {
                    BlockFate::Duplicate => ledger.duplicate_blocks += 1,
                    BlockFate::Replaced => ledger.replaced_blocks += 1,
                    BlockFate::Counted => ledger.charges.extend(charges_of(index, block)),
                }
            }
            if keep {
                ledger.commits.push(w.info);
            }
        }
        Ok(ledger)
    }

    /// Counts the lines changed by every commit with a charge (a diff against its first
    /// parent; merges count none, their lines are their branch's commits'), on several
    /// threads ([`History::line_stats_of`]), calling `progress(done, total)` as they go.
    pub fn count_lines(
        &mut self,
        history: &History,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), ReportError> {
        let mut charged: Vec<usize> = self.charges.iter().map(|c| c.commit).collect();
        charged.sort_unstable();
        charged.dedup();
        let total = charged.len() as u64;
        let (merges, diffed): (Vec<usize>, Vec<usize>) = charged
            .into_iter()
            .partition(|&i| self.commits[i].parent_count > 1);
        let ids: Vec<&str> = diffed
            .iter()
            .map(|&i| self.commits[i].id.as_str())
            .collect();
        let merged = merges.len() as u64;
        let stats = history.line_stats_of(&ids, |done| progress(merged + done, total))?;
        for i in merges {
            self.commits[i].lines = Some(LineStats::default());
        }
        for (i, stats) in diffed.into_iter().zip(stats) {
            self.commits[i].lines = Some(stats);
        }
        Ok(())
    }

    /// USD charged to each commit (index into [`Ledger::commits`]); commits without counted
    /// spend are absent.
    pub fn cost_by_commit(&self) -> HashMap<usize, Money> {
        let mut costs: HashMap<usize, Money> = HashMap::new();
        for charge in &self.charges {
            let entry = costs.entry(charge.commit).or_default();
            *entry = Money(entry.0.saturating_add(charge.cost.unwrap_or_default().0));
        }
        costs
    }
}

/// The charges of one counted block: one per model line; a block without model lines is one
/// charge of its USD estimate under agent and model `unknown`.
fn charges_of(commit: usize, block: &Block) -> Vec<Charge> {
    if block.models.is_empty() {
        return vec![Charge {
            commit,
            agent: "unknown".to_string(),
            model: "unknown".to_string(),
            requests: 0,
            tokens: [0; 4],
            cost: Some(block.usd()),
            units: block.unit_amounts(),
        }];
    }
    block
        .models
        .iter()
        .map(|line| Charge {
            commit,
            agent: line.agent.clone(),
            model: line.model.clone(),
            requests: line.requests,
            tokens: [line.input, line.output, line.cache_write, line.cache_read],
            cost: line.cost,
            units: line
                .quantities
                .iter()
                .map(|q| (q.unit.clone(), q.amount))
                .collect(),
        })
        .collect()
}

/// Gives the commits a `Merge pull request #N` merge brought in the number N: those reachable
/// from its second (and later) parents, stopping at the first-parent line of the first walked
/// commit (the mainline), at commits outside the range and at commits that already have a PR.
/// Merges are handled oldest first, so a commit belongs to the first PR that merged it.
fn assign_merged_prs(walked: &mut [Walked]) {
    let index: HashMap<&str, usize> = walked
        .iter()
        .enumerate()
        .map(|(i, w)| (w.info.id.as_str(), i))
        .collect();
    let mut mainline = vec![false; walked.len()];
    let mut at = if walked.is_empty() { None } else { Some(0) };
    while let Some(i) = at {
        if mainline[i] {
            break;
        }
        mainline[i] = true;
        at = walked[i]
            .parents
            .first()
            .and_then(|p| index.get(p.as_str()).copied());
    }
    let mut merges: Vec<(usize, u64)> = walked
        .iter()
        .enumerate()
        .filter(|(_, w)| w.parents.len() > 1 && classify::is_pr_merge_subject(&w.info.subject))
        .filter_map(|(i, w)| w.info.pr.map(|n| (i, n)))
        .collect();
    // The walk lists newer commits first.
    merges.reverse();
    let mut assigned: Vec<Option<u64>> = walked.iter().map(|w| w.info.pr).collect();
    for (merge, number) in merges {
        let mut stack: Vec<usize> = walked[merge].parents[1..]
            .iter()
            .filter_map(|p| index.get(p.as_str()).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if mainline[i] || assigned[i].is_some() {
                continue;
            }
            assigned[i] = Some(number);
            stack.extend(
                walked[i]
                    .parents
                    .iter()
                    .filter_map(|p| index.get(p.as_str()).copied()),
            );
        }
    }
    for (w, pr) in walked.iter_mut().zip(assigned) {
        w.info.pr = pr;
    }
}
