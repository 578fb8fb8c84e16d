//! Reading a range into commits and charges: each counted drain's model lines, charged to the
//! one commit whose copy of the drain counts.

use std::collections::{BTreeMap, HashMap};

use agent_cost_events::Money;
use agent_cost_git::{AI_COST_NOTES, History, HistoryError, LineStats, Notes};
use agent_cost_trailers::{Block, BlockFate, block_fates, commit_blocks};

use crate::branches::{self, Node};
use crate::classify;
use crate::config::ReportConfig;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// History could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The `[report]` settings are wrong.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
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
    pub(crate) fn keeps(&self, time: i64) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time <= u)
    }
}

/// One commit of the range, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The repository's name ([`History::name`], or the label a multi-repository report
    /// gives it).
    pub repo: String,
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
    /// The pull request: from the message ([`ReportConfig::pr_number`]), or from the merge
    /// that brought the commit in ([`ReportConfig::merged_pr`]).
    pub pr: Option<u64>,
    /// [`ReportConfig::tickets`] of the whole message, then of the branch name.
    pub tickets: Vec<String>,
    /// The branch the commit was made on, from history ([`crate::branches`]); `None` when no
    /// rule names one.
    pub branch: Option<String>,
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

#[cfg(test)]
impl CommitInfo {
    /// A commit of Dana's on 2026-12-01 with `subject`, classified, for unit tests.
    pub(crate) fn example(subject: &str) -> CommitInfo {
        CommitInfo {
            repo: "shop".to_string(),
            id: "0".repeat(40),
            parent_count: 1,
            author_name: "Dana".to_string(),
            author_email: "dana@example.com".to_string(),
            author_time: 1_796_167_800,
            author_offset: 0,
            commit_time: 1_796_167_800,
            subject: subject.to_string(),
            kind: classify::commit_type(subject),
            pr: classify::pr_number(subject),
            tickets: Vec::new(),
            branch: None,
            lines: None,
        }
    }
}

#[cfg(test)]
impl Charge {
    /// A request of claude-code's `model` charged to `commit`, costing `micros` (`None`:
    /// unpriced), with amounts in other units, for unit tests.
    pub(crate) fn example(
        commit: usize,
        model: &str,
        micros: Option<u64>,
        units: &[(&str, u64)],
    ) -> Charge {
        Charge {
            commit,
            agent: "claude-code".to_string(),
            model: model.to_string(),
            requests: 1,
            tokens: [1, 2, 3, 4],
            cost: micros.map(Money::from_micros),
            units: units
                .iter()
                .map(|(u, m)| (u.to_string(), Money::from_micros(*m)))
                .collect(),
            work_type: None,
        }
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
    /// The kind of work given to `agent-cost log` for this spend (the model line's `type=`),
    /// as [`classify::work_type`] reads it.
    pub work_type: Option<&'static str>,
}

impl Charge {
    /// The charge's type: the kind of work logged with it, else its commit's.
    pub fn kind(&self, commit: &CommitInfo) -> &'static str {
        self.work_type.unwrap_or(commit.kind)
    }
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
    /// Blocks not counted because they are not well formed (typed by hand, or edited).
    pub malformed_blocks: u64,
}

struct Walked {
    info: CommitInfo,
    parents: Vec<String>,
    blocks: Vec<Block>,
    /// For a merge: the pull request whose commits it brings in.
    merged_pr: Option<u64>,
    /// For a merge: the branch its subject names.
    merged_branch: Option<String>,
}

impl Walked {
    /// A commit as read, classified, with the blocks of its message and then of its note;
    /// its repository name is set when the walk is charged.
    fn new(details: agent_cost_git::CommitDetails, notes: &Notes, config: &ReportConfig) -> Walked {
        let subject = details
            .message
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let merge = details.parents.len() > 1;
        let blocks = commit_blocks(&details.message, notes.get_hex(&details.id));
        let info = CommitInfo {
            repo: String::new(),
            parent_count: details.parents.len(),
            author_name: details.author_name,
            author_email: details.author_email,
            author_time: details.author_time,
            author_offset: details.author_offset,
            commit_time: details.commit_time,
            kind: classify::commit_type(&subject),
            pr: config.pr_number(&details.message),
            tickets: config.tickets(&details.message, None),
            branch: None,
            lines: None,
            subject,
            id: details.id,
        };
        Walked {
            blocks,
            merged_pr: merge.then(|| config.merged_pr(&details.message)).flatten(),
            merged_branch: merge
                .then(|| classify::merged_branch(&info.subject))
                .flatten(),
            parents: details.parents,
            info,
        }
    }
}

impl Ledger {
    /// Walks `spec` (default `HEAD`) and charges each drain once, to the first commit of the
    /// walk that carries a counted copy of it (newest first: a squash merge in the range takes
    /// the drains of the commits it squashed). Drains are de-duplicated over the whole walked
    /// range, then commits outside `filter` are dropped with their charges. Tickets, pull
    /// requests and the default branch are found as `config` says.
    pub fn read(
        history: &History,
        spec: Option<&str>,
        filter: Filter,
        config: &ReportConfig,
    ) -> Result<Ledger, ReportError> {
        Ledger::read_with_progress(history, spec, filter, config, |_| {})
    }

    /// [`Ledger::read`], calling `progress(commits read)` after each commit of the walk.
    pub fn read_with_progress(
        history: &History,
        spec: Option<&str>,
        filter: Filter,
        config: &ReportConfig,
        mut progress: impl FnMut(u64),
    ) -> Result<Ledger, ReportError> {
        let notes = history.notes(AI_COST_NOTES)?;
        let mut walked: Vec<Walked> = Vec::new();
        let count = history.walk_details(spec, |details| {
            progress(walked.len() as u64 + 1);
            walked.push(Walked::new(details, &notes, config));
        })?;
        assign_branches(&mut walked, history, config)?;
        Ok(Ledger::charge(walked, count, filter, history.name()))
    }

    /// The commits of `spec` committed at or after `since` (seconds since the epoch) and
    /// authored within `filter`, read with [`History::walk_details_since`]: only the recent
    /// end of history is read, so this is cheap enough for a hook. Each drain is charged as
    /// [`Ledger::read`] charges it among the commits read. Branches are not named (that
    /// needs all of history). With a `deadline`, fails with the walk's
    /// [`agent_cost_git::HistoryError::OutOfTime`] if still reading at it.
    pub fn read_recent(
        history: &History,
        spec: Option<&str>,
        since: i64,
        deadline: Option<std::time::Instant>,
        filter: Filter,
        config: &ReportConfig,
    ) -> Result<Ledger, ReportError> {
        let notes = history.notes(AI_COST_NOTES)?;
        let mut walked: Vec<Walked> = Vec::new();
        let count = history.walk_details_since(spec, since, deadline, |details| {
            walked.push(Walked::new(details, &notes, config));
        })?;
        Ok(Ledger::charge(walked, count, filter, history.name()))
    }

    fn charge(mut walked: Vec<Walked>, count: u64, filter: Filter, repo: String) -> Ledger {
        for w in &mut walked {
            w.info.repo.clone_from(&repo);
        }
        assign_merged_prs(&mut walked);
        let fates = fates_newest_first(&walked);
        let mut ledger = Ledger {
            walked: count,
            ..Ledger::default()
        };
        for (w, fates) in walked.into_iter().zip(fates) {
            let keep = filter.keeps(w.info.author_time);
            let index = ledger.commits.len();
            for (block, fate) in w.blocks.iter().zip(fates) {
                if !keep {
                    continue;
                }
                match fate {
                    BlockFate::Duplicate => ledger.duplicate_blocks += 1,
                    BlockFate::Replaced => ledger.replaced_blocks += 1,
                    BlockFate::Malformed => ledger.malformed_blocks += 1,
                    BlockFate::Counted => ledger.charges.extend(charges_of(index, block)),
                }
            }
            if keep {
                ledger.commits.push(w.info);
            }
        }
        ledger
    }

    /// Counts the lines changed by every commit with a charge (a diff against its first
    /// parent; merges count none, their lines are their branch's commits'), on several
    /// threads ([`History::line_stats_of`]), calling `progress(done, total)` as they go.
    pub fn count_lines(
        &mut self,
        history: &History,
        progress: impl FnMut(u64, u64),
    ) -> Result<(), ReportError> {
        let mut charged: Vec<usize> = self.charges.iter().map(|c| c.commit).collect();
        charged.sort_unstable();
        charged.dedup();
        self.count_lines_of(history, &charged, progress)
    }

    /// [`Ledger::count_lines`] for the commits at `indices` of [`Ledger::commits`] only.
    pub fn count_lines_of(
        &mut self,
        history: &History,
        indices: &[usize],
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), ReportError> {
        let total = indices.len() as u64;
        let (merges, diffed): (Vec<usize>, Vec<usize>) = indices
            .iter()
            .copied()
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

    /// Adds another repository's ledger after this one's commits and charges (their
    /// repository names should differ).
    pub fn append(&mut self, other: Ledger) {
        let offset = self.commits.len();
        self.commits.extend(other.commits);
        self.charges
            .extend(other.charges.into_iter().map(|charge| Charge {
                commit: charge.commit + offset,
                ..charge
            }));
        self.walked += other.walked;
        self.duplicate_blocks += other.duplicate_blocks;
        self.replaced_blocks += other.replaced_blocks;
        self.malformed_blocks += other.malformed_blocks;
    }

    /// Sets the repository name of every commit.
    pub fn set_repo(&mut self, name: &str) {
        for commit in &mut self.commits {
            commit.repo = name.to_string();
        }
    }

    /// Whether the commits come from more than one repository.
    pub fn is_multi_repo(&self) -> bool {
        self.commits.windows(2).any(|w| w[0].repo != w[1].repo)
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

/// Each walked commit's block fates, deciding which copy of a drain counts by committer date,
/// newest first (equal dates: walk order), so that a squash commit, made after the commits it
/// squashed, takes their drains even when a merge brings those commits in later in the walk.
fn fates_newest_first(walked: &[Walked]) -> Vec<Vec<BlockFate>> {
    let mut order: Vec<usize> = (0..walked.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(walked[i].info.commit_time));
    let mut fates = block_fates(order.iter().flat_map(|&i| &walked[i].blocks)).into_iter();
    let mut by_commit: Vec<Vec<BlockFate>> = vec![Vec::new(); walked.len()];
    for i in order {
        by_commit[i] = fates.by_ref().take(walked[i].blocks.len()).collect();
    }
    by_commit
}

/// The charges of one counted block: one per model line.
fn charges_of(commit: usize, block: &Block) -> Vec<Charge> {
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
            work_type: line.work_type.as_deref().map(classify::work_type),
        })
        .collect()
}

/// Gives the commits a merge of pull request N ([`ReportConfig::merged_pr`]: `Merge pull
/// request #N`, or the configured pattern) brought in the number N: those reachable
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
        .filter_map(|(i, w)| w.merged_pr.map(|n| (i, n)))
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

/// Names each walked commit's branch ([`crate::branches`]) and adds the tickets of that name
/// to the commit's.
fn assign_branches(
    walked: &mut [Walked],
    history: &History,
    config: &ReportConfig,
) -> Result<(), ReportError> {
    if walked.is_empty() {
        return Ok(());
    }
    let refs = history.branches()?;
    let default = branches::default_branch(&refs, config.default_branch.as_deref());
    let nodes: Vec<Node<'_>> = walked
        .iter()
        .map(|w| Node {
            id: &w.info.id,
            parents: &w.parents,
            commit_time: w.info.commit_time,
            merged_branch: w.merged_branch.as_deref(),
        })
        .collect();
    let named = branches::assign(&nodes, &refs, default.as_deref(), |id| {
        history.commit_links(id)
    })?;
    for (w, branch) in walked.iter_mut().zip(named) {
        if let Some(name) = &branch {
            for ticket in config.tickets("", Some(name)) {
                if !w.info.tickets.contains(&ticket) {
                    w.info.tickets.push(ticket);
                }
            }
        }
        w.info.branch = branch;
    }
    Ok(())
}
