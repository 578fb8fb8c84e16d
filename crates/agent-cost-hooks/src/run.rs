//! What each git hook does.
//!
//! - `prepare-commit-msg`: catch up on new transcript bytes, then write the pending spend into
//!   the message as a trailer block and record the drain as *proposed*. For a message that
//!   is still empty (the editor has not run yet, or a template), it waits for `commit-msg`,
//!   so that a commit git would abort as empty is still aborted.
//! - `commit-msg`: writes the block if `prepare-commit-msg` did not.
//! - `post-commit` / `post-merge`: the drain in `HEAD` is *settled*; its charges leave the tally.
//!
//! Every step is bounded by a time budget and never fails the commit: errors come back as
//! warnings for one line on stderr, and whatever was not done stays pending for a later commit.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use agent_cost_git::{History, Worktree};
use agent_cost_ledger::ingest::{IngestOptions, ingest};
use agent_cost_ledger::journal::Record;
use agent_cost_ledger::tally::{LockedTally, Pending, Tally};
use agent_cost_ledger::tracking::{Tracking, now_rfc3339, split_by_tracking};
use agent_cost_paths::Locations;
use agent_cost_trailers::{
    Block, has_content, insert_block, new_block_id, parse_blocks, remove_final_blocks,
    remove_our_lines,
};

use crate::drain::summarize;
use crate::error::{HookError, IoResultExt};
use crate::pricing::price_book;

/// The default time budget of one hook run.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(100);
/// How many recent commits are searched for a drain whose `post-commit` never ran.
const RECONCILE_DEPTH: usize = 20;
/// Drain id used to settle spend from before tracking started (never written to a commit).
pub const PRE_TRACKING_DRAIN: &str = "pre-tracking";

/// The context of one hook run.
#[derive(Debug, Clone)]
pub struct HookRun {
    /// Where agent-cost's state and the agents' logs are.
    pub locations: Locations,
    /// When the hook started.
    pub started: Instant,
    /// How long it may take.
    pub budget: Duration,
}

impl HookRun {
    fn deadline(&self, share_percent: u32) -> Instant {
        self.started + self.budget * share_percent / 100
    }

    fn remaining(&self) -> Duration {
        (self.started + self.budget).saturating_duration_since(Instant::now())
    }
}

/// Which hook is writing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer<'a> {
    /// `prepare-commit-msg` with git's message source (`message`, `template`, `merge`,
    /// `squash`, `commit`, or none).
    Prepare(Option<&'a str>),
    /// `commit-msg`, after the editor.
    CommitMsg,
}

/// Writes the pending spend into the message file, if there is any. Returns warnings.
pub fn write_drain(
    run: &HookRun,
    message_file: &Path,
    writer: Writer,
) -> Result<Vec<String>, HookError> {
    let worktree = Worktree::current().ok_or(HookError::NotInRepository)?;
    let mut warnings = Vec::new();
    if let Writer::Prepare(Some("template") | None) = writer {
        // The message is written in the editor: commit-msg adds the trailers afterwards.
        return Ok(warnings);
    }
    let history = History::discover(&worktree.workdir).ok();
    let comment = history
        .as_ref()
        .map_or_else(|| "#".to_string(), History::comment_prefix);
    let tally = Tally::in_git_dir(&worktree.git_dir);
    if writer == Writer::CommitMsg && commit_msg_has_nothing_to_do(message_file, &comment, &tally)?
    {
        return Ok(warnings);
    }

    let options = IngestOptions {
        deadline: Some(run.deadline(60)),
    };
    match ingest(&run.locations, options) {
        Ok(report) => {
            if !report.complete {
                warnings.push(
                    "reading new agent logs took longer than the hook's time budget; the rest \
                     will be charged to a later commit (run `agent-cost ingest` to catch up now)"
                        .to_string(),
                );
            }
            warnings.extend(
                report
                    .unreadable
                    .iter()
                    .map(|e| format!("skipped unreadable log {e}")),
            );
        }
        Err(e) => warnings.push(format!(
            "could not read new agent logs ({e}); they stay pending"
        )),
    }
    let locked = tally.lock(run.remaining().max(Duration::from_millis(20)))?;
    let mut pending = locked.pending()?;
    if let Some(history) = &history {
        pending = reconcile(&locked, pending, history, RECONCILE_DEPTH)?;
    }
    let mut message = std::fs::read_to_string(message_file).at(message_file)?;
    let carried = history
        .as_ref()
        .map(|h| folded_blocks(&worktree.git_dir, h, &message))
        .unwrap_or_default();
    if !carried.is_empty() {
        message = reinsert(message, &carried, &comment);
    }
    let outstanding: HashSet<&str> = pending.proposals.iter().map(|p| p.drain.as_str()).collect();

    let tracking = Tracking::read(&worktree.common_dir)?;
    let last = pending.last_seq();
    let (eligible, early) = split_by_tracking(tracking.as_ref(), &pending.charges);
    let (without_ours, old_blocks) = remove_final_blocks(&message, &comment);
    let (stale, kept): (Vec<Block>, Vec<Block>) = old_blocks
        .into_iter()
        .partition(|b| outstanding.contains(b.id.as_str()));
    let merging = writer == Writer::Prepare(Some("commit")) && !kept.is_empty();

    if eligible.is_empty() {
        if !early.is_empty() && pending.proposals.is_empty() {
            locked.settle(PRE_TRACKING_DRAIN, last, None, pending.clone())?;
        }
        if !stale.is_empty() {
            let text = reinsert(without_ours, &kept, &comment);
            std::fs::write(message_file, text).at(message_file)?;
        } else if !carried.is_empty() {
            std::fs::write(message_file, &message).at(message_file)?;
        }
        return Ok(warnings);
    }
    let base = match (merging, stale.is_empty()) {
        (true, _) => without_ours,
        (false, false) => reinsert(without_ours, &kept, &comment),
        (false, true) => message,
    };
    if !has_content(&base, &comment) {
        return Ok(warnings);
    }
    let (book, price_warnings) = price_book(&run.locations.config_file(), Some(&worktree.workdir));
    warnings.extend(price_warnings);
    let summary = summarize(eligible, &book);
    let id = new_block_id();
    let block = if merging {
        Block::merge(id, &kept, summary.models, &summary.sessions)
    } else {
        Block::build(id, summary.models, &summary.sessions, Vec::new())
    };
    let text = insert_block(&base, &block.to_trailer_lines(), &comment);
    locked.append(&[Record::Propose {
        drain: block.id.clone(),
        upto: last,
        at: now_rfc3339(),
    }])?;
    std::fs::write(message_file, text).at(message_file)?;
    Ok(warnings)
}

/// `commit-msg` after `prepare-commit-msg` already wrote the block, or on a message that is
/// empty but for our lines (which it then removes, so that git aborts as it would without us).
fn commit_msg_has_nothing_to_do(
    message_file: &Path,
    comment: &str,
    tally: &Tally,
) -> Result<bool, HookError> {
    let message = std::fs::read_to_string(message_file).at(message_file)?;
    if !has_content(&message, comment) {
        let emptied = remove_our_lines(&message);
        if emptied != message {
            std::fs::write(message_file, emptied).at(message_file)?;
        }
        return Ok(true);
    }
    let ids: HashSet<String> = parse_blocks(&message).into_iter().map(|b| b.id).collect();
    Ok(!ids.is_empty() && tally.outstanding()?.iter().any(|p| ids.contains(&p.drain)))
}

/// Blocks of the commits an interactive rebase is folding into the one being made (the picked
/// commit and its `fixup`/`squash` commits) that the message no longer holds. `fixup` drops the
/// folded commit's message, and `fixup -C` the target's: without this their spend would leave
/// history. Block ids are kept, so a range that still holds the old commits counts them once.
fn folded_blocks(git_dir: &Path, history: &History, message: &str) -> Vec<Block> {
    let rebase = git_dir.join("rebase-merge");
    let Ok(fixups) = std::fs::read_to_string(rebase.join("current-fixups")) else {
        return Vec::new();
    };
    let done = std::fs::read_to_string(rebase.join("done")).unwrap_or_default();
    let picked = done
        .lines()
        .rev()
        .find(|line| {
            let command = line.split_whitespace().next().unwrap_or_default();
            matches!(command, "pick" | "p" | "reword" | "r" | "edit" | "e")
        })
        .and_then(commit_id_of_todo_line);
    let folded = fixups.lines().filter_map(commit_id_of_todo_line);
    let present: HashSet<String> = parse_blocks(message).into_iter().map(|b| b.id).collect();
    let mut carried: Vec<Block> = Vec::new();
    for id in picked.into_iter().chain(folded) {
        for block in parse_blocks(&history.message_of(id).unwrap_or_default()) {
            if !block.id.is_empty()
                && !present.contains(&block.id)
                && !carried.iter().any(|b| b.id == block.id)
            {
                carried.push(block);
            }
        }
    }
    carried
}

/// The commit id on a rebase todo line (`fixup -C 1a2b… subject`).
fn commit_id_of_todo_line(line: &str) -> Option<&str> {
    line.split_whitespace()
        .skip(1)
        .find(|word| word.len() >= 40 && word.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn reinsert(mut text: String, blocks: &[Block], comment: &str) -> String {
    for block in blocks {
        text = insert_block(&text, &block.to_trailer_lines(), comment);
    }
    text
}

/// Settles the drain that `HEAD` carries, if one is outstanding (`post-commit`, `post-merge`).
pub fn settle_head(run: &HookRun) -> Result<Vec<String>, HookError> {
    let worktree = Worktree::current().ok_or(HookError::NotInRepository)?;
    let tally = Tally::in_git_dir(&worktree.git_dir);
    if !tally.exists() || tally.outstanding()?.is_empty() {
        return Ok(Vec::new());
    }
    let locked = tally.lock(run.remaining().max(Duration::from_millis(20)))?;
    let pending = locked.pending()?;
    let history = History::discover(&worktree.workdir)?;
    reconcile(&locked, pending, &history, 1)?;
    Ok(Vec::new())
}

/// Settles the newest outstanding drain found in the last `depth` first-parent commits, and
/// returns the state after it (unchanged if none was found).
pub fn reconcile(
    locked: &LockedTally,
    pending: Pending,
    history: &History,
    depth: usize,
) -> Result<Pending, HookError> {
    if pending.proposals.is_empty() {
        return Ok(pending);
    }
    for commit in history.recent_messages(depth)? {
        let ids: HashSet<String> = parse_blocks(&commit.message)
            .into_iter()
            .map(|b| b.id)
            .collect();
        if let Some(proposal) = pending
            .proposals
            .iter()
            .rev()
            .find(|p| ids.contains(&p.drain))
            .cloned()
        {
            return Ok(locked.settle(&proposal.drain, proposal.upto, Some(commit.id), pending)?);
        }
    }
    Ok(pending)
}
