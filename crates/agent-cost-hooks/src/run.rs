//! What each git hook does. Every function here is called with a time budget; errors come back
//! as warnings for one line on stderr, and whatever was not done stays pending for a later
//! commit.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_cost_git::{History, Worktree};
use agent_cost_ingest::{IngestOptions, ingest, sources};
use agent_cost_paths::Locations;
use agent_cost_sources::{Scope, Source};
use agent_cost_store::import::IMPORT_FAILED;
use agent_cost_store::{Store, Tx};
use agent_cost_trailers::{
    Block, has_content, insert_block, new_block_id, parse_blocks, remove_final_blocks,
    remove_our_lines,
};

use crate::drain::{apply_work_types, summarize};
use crate::error::{HookError, IoResultExt};
use crate::pricing::price_book_of;
use crate::settings::Settings;
use crate::{invocation, marker, quiet};

/// The default time budget of one hook run.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(100);
/// Until which share of the time budget the budgets may read history (the rest is for
/// proposing the drain and writing the message).
const BUDGETS_SHARE_PERCENT: u32 = 90;
/// How many distinct commits of HEAD's reflog are searched for a drain whose `post-commit`
/// never ran.
const RECONCILE_DEPTH: usize = 20;

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
        (self.started + self.budget)
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(20))
    }

    fn open_store(&self) -> Result<Store, HookError> {
        Ok(Store::open(&self.locations.state_dir, self.remaining())?)
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
    if let Writer::Prepare(_) = writer {
        marker::forget_prepared(&worktree.git_dir);
    }
    if let Writer::Prepare(Some("template") | None) = writer {
        // The message is written in the editor: commit-msg adds the trailers afterwards.
        marker::remember_editor(&worktree.git_dir);
        return Ok(Vec::new());
    }
    let message = std::fs::read_to_string(message_file).at(message_file)?;
    if writer == Writer::CommitMsg && marker::is_prepared(&worktree.git_dir, &message) {
        // prepare-commit-msg did everything and nobody changed the message since.
        return Ok(Vec::new());
    }
    // `--amend -m` / `-F`: git says `message`, but HEAD's block is being replaced with it.
    let amending = writer == Writer::Prepare(Some("message")) && invocation::is_amend();
    // Configured once (Copilot's reads the user's settings file) for the fingerprint and the
    // catch-up.
    let sources = sources(&run.locations);
    let fingerprint = (!amending && is_plain(writer, &message, &worktree))
        .then(|| quiet::fingerprint(&sources, &run.locations.state_dir, &worktree))
        .flatten();
    if let Some(fingerprint) = &fingerprint
        && quiet::holds(&worktree.git_dir, fingerprint)
    {
        marker::remember_prepared(&worktree.git_dir, &message);
        return Ok(Vec::new());
    }
    let outcome = write_drain_in(
        run,
        &sources,
        message_file,
        message,
        writer,
        amending,
        &worktree,
    )?;
    if let Writer::Prepare(_) = writer {
        marker::remember_prepared(&worktree.git_dir, &outcome.message);
    }
    // The fingerprint taken before the run: anything that changed since, during the run
    // included, makes the next run's fingerprint differ.
    match fingerprint {
        Some(before) if outcome.quiet && outcome.warnings.is_empty() => {
            quiet::remember(&worktree.git_dir, &before);
        }
        _ => quiet::forget(&worktree.git_dir),
    }
    Ok(outcome.warnings)
}

/// A `-m` / `-F` commit (not an amend: the caller checks) that carries nothing from elsewhere:
/// not after `merge --squash`, not inside a rebase, and no block of ours in the message yet.
/// Only such a commit may take the short way of [`quiet`].
fn is_plain(writer: Writer, message: &str, worktree: &Worktree) -> bool {
    writer == Writer::Prepare(Some("message"))
        && !message.to_ascii_lowercase().contains("ai-cost-id")
        && !worktree.git_dir.join("SQUASH_MSG").exists()
        && !worktree.git_dir.join("rebase-merge").exists()
}

/// What [`write_drain_in`] did.
struct Outcome {
    warnings: Vec<String>,
    /// The message as it left it in the file.
    message: String,
    /// Nothing pending, nothing outstanding, nothing written into the message.
    quiet: bool,
}

/// [`write_drain`] once the message is read.
fn write_drain_in(
    run: &HookRun,
    sources: &[Box<dyn Source>],
    message_file: &Path,
    message: String,
    writer: Writer,
    amending: bool,
    worktree: &Worktree,
) -> Result<Outcome, HookError> {
    let mut warnings = Vec::new();
    let history = History::of_worktree(&worktree.workdir, &worktree.git_dir).ok();
    let comment = history
        .as_ref()
        .map_or_else(|| "#".to_string(), History::comment_prefix);
    if writer == Writer::CommitMsg
        && commit_msg_has_nothing_to_do(run, message_file, &message, &comment, worktree)?
    {
        return Ok(Outcome {
            warnings,
            message,
            quiet: false,
        });
    }

    let mut store = run.open_store()?;
    // The catch-up, waits for a busy ledger included, gets 60 % of the budget.
    let catch_up = run.deadline(60);
    store.set_wait(
        catch_up
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(5)),
    )?;
    // Settling, the catch-up and the proposal are savepoints of one transaction, committed
    // before the block is written into the message (a block in a commit always has its drain
    // on disk).
    store.hold()?;
    // The previous commit's drain is settled before the catch-up records new charges: settling
    // with nothing charged after the drain empties the running sums, while settling below new
    // charges rebuilds them from the charges.
    if marker::exists(&worktree.git_dir)
        && let Some(history) = &history
    {
        let tx = store.write()?;
        if let Some(worktree_id) = tx.find_worktree_id(worktree)? {
            reconcile(&tx, worktree_id, worktree, history)?;
        }
        tx.commit()?;
    }
    let options = IngestOptions {
        deadline: Some(catch_up),
        scope: Scope::Worktree(worktree.workdir.clone()),
        files: None,
    };
    // A watcher that has caught up with every change it saw has read what this catch-up
    // would: the commit does not wait for a second read.
    let watched = agent_cost_watch::running(&run.locations.state_dir)
        .is_some_and(|watcher| watcher.is_current());
    let caught_up = if watched {
        Ok(None)
    } else {
        ingest(&mut store, sources, &options, &mut |_, _| {}).map(Some)
    };
    match caught_up {
        Ok(None) => {}
        Ok(Some(report)) => {
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
    agent_cost_fault::point("hook.caught-up");
    let tx = store.write()?;
    let worktree_id = tx.worktree_id(worktree)?;
    if let Err(e) = tx.import_legacy_worktree(worktree, worktree_id) {
        warnings.push(format!("{IMPORT_FAILED}: {e}"));
    }
    if let Some(history) = &history {
        reconcile(&tx, worktree_id, worktree, history)?;
    }
    let mut message = message;
    let mut sources = history
        .as_ref()
        .map(|h| folded_messages(&worktree.git_dir, h))
        .unwrap_or_default();
    if writer == Writer::Prepare(Some("message")) {
        // `merge --squash` then `-m` / `-F`: git leaves out SQUASH_MSG, and with it the
        // squashed commits' blocks.
        sources.extend(std::fs::read_to_string(worktree.git_dir.join("SQUASH_MSG")).ok());
    }
    if amending && let Some(history) = &history {
        sources.extend(history.recent_messages(1)?.into_iter().map(|c| c.message));
    }
    let carried = blocks_to_carry(&message, &sources);
    if !carried.is_empty() {
        message = reinsert(message, &carried, &comment);
    }
    let proposals = tx.outstanding(worktree_id)?;
    let outstanding: HashSet<&str> = proposals.iter().map(|p| p.drain.as_str()).collect();

    let common_dir = worktree.common_dir.to_string_lossy();
    let since_ms = tx.tracking(&common_dir)?.map(|t| t.since_ms);
    let spend = tx.pending(Some(worktree_id), since_ms)?;
    let (without_ours, old_blocks) = remove_final_blocks(&message, &comment);
    let (stale, kept): (Vec<Block>, Vec<Block>) = old_blocks
        .into_iter()
        .partition(|b| outstanding.contains(b.id.as_str()));
    let merging = (writer == Writer::Prepare(Some("commit")) || amending) && !kept.is_empty();

    if spend.groups.is_empty() {
        if let Some(since_ms) = since_ms
            && !spend.before_tracking.is_empty()
            && proposals.is_empty()
        {
            tx.settle_before_tracking(worktree_id, spend.last_charge, since_ms)?;
        }
        tx.commit()?;
        store.release()?;
        if proposals.is_empty() {
            marker::clear(&worktree.git_dir);
        }
        let quiet = proposals.is_empty() && stale.is_empty() && carried.is_empty();
        if !stale.is_empty() {
            let text = reinsert(without_ours, &kept, &comment);
            std::fs::write(message_file, &text).at(message_file)?;
            return Ok(Outcome {
                warnings,
                message: text,
                quiet,
            });
        } else if !carried.is_empty() {
            std::fs::write(message_file, &message).at(message_file)?;
        }
        return Ok(Outcome {
            warnings,
            message,
            quiet,
        });
    }
    let base = match (merging, stale.is_empty()) {
        (true, _) => without_ours,
        (false, false) => reinsert(without_ours, &kept, &comment),
        (false, true) => message,
    };
    if !has_content(&base, &comment) {
        // Nothing is proposed for an empty message (git aborts it); what was settled and
        // caught up is kept.
        drop(tx);
        store.release()?;
        return Ok(Outcome {
            warnings,
            message: base,
            quiet: false,
        });
    }
    let settings = Settings::read(&run.locations.config_file(), Some(&worktree.workdir));
    let (book, price_warnings) = price_book_of(&settings);
    warnings.extend(price_warnings);
    let mut summary = summarize(&spend.groups, &book);
    let work_types = tx.pending_work_types(worktree_id, spend.last_charge)?;
    apply_work_types(&mut summary.models, &spend.groups, &work_types, &book);
    let new_models = summary.models.clone();
    let id = new_block_id();
    let block = if merging {
        Block::merge(id, &kept, summary.models, &spend.sessions)
    } else {
        Block::build(id, summary.models, &spend.sessions, Vec::new())
    };
    warnings.extend(crate::budgets::warnings(
        &settings,
        history.as_ref(),
        run.deadline(BUDGETS_SHARE_PERCENT),
        &block.models,
        &new_models,
    ));
    let text = insert_block(&base, &block.to_trailer_lines(), &comment);
    tx.propose(worktree_id, &block.id, spend.last_charge, since_ms)?;
    tx.commit()?;
    store.release()?;
    agent_cost_fault::point("hook.proposed");
    if proposals.is_empty() {
        marker::clear(&worktree.git_dir);
    }
    marker::add(&worktree.git_dir, &block.id).at(worktree.git_dir.join("agent-cost-proposed"))?;
    std::fs::write(message_file, &text).at(message_file)?;
    agent_cost_fault::point("hook.written");
    Ok(Outcome {
        warnings,
        message: text,
        quiet: false,
    })
}

/// `commit-msg` after `prepare-commit-msg` already wrote the block, or on a message that is
/// empty but for our lines (which it then removes, so that git aborts as it would without us).
fn commit_msg_has_nothing_to_do(
    run: &HookRun,
    message_file: &Path,
    message: &str,
    comment: &str,
    worktree: &Worktree,
) -> Result<bool, HookError> {
    if !has_content(message, comment) {
        let emptied = remove_our_lines(message);
        if emptied != message {
            std::fs::write(message_file, emptied).at(message_file)?;
        }
        return Ok(true);
    }
    let ids: HashSet<String> = parse_blocks(message).into_iter().map(|b| b.id).collect();
    if ids.is_empty() {
        return Ok(false);
    }
    if marker::holds_any(&worktree.git_dir, ids.iter().map(String::as_str)) {
        return Ok(true);
    }
    let Some(mut store) = Store::open_existing(&run.locations.state_dir, run.remaining())? else {
        return Ok(false);
    };
    let tx = store.read()?;
    let Some(worktree_id) = tx.find_worktree_id(worktree)? else {
        return Ok(false);
    };
    Ok(tx
        .outstanding(worktree_id)?
        .iter()
        .any(|p| ids.contains(&p.drain)))
}

/// Messages of the commits an interactive rebase is folding into the one being made (the
/// picked commit and its `fixup`/`squash` commits). `fixup` drops the folded commit's message,
/// and `fixup -C` the target's: without carrying their blocks their spend would leave history.
fn folded_messages(git_dir: &Path, history: &History) -> Vec<String> {
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
    picked
        .into_iter()
        .chain(folded)
        .filter_map(|id| history.message_of(id))
        .collect()
}

/// The blocks of `sources` (messages of commits the one being made replaces or folds) that
/// `message` does not hold, each once. Ids are kept, so a range that still holds the original
/// commits counts each block once.
fn blocks_to_carry(message: &str, sources: &[String]) -> Vec<Block> {
    if sources.is_empty() {
        return Vec::new();
    }
    let present: HashSet<String> = parse_blocks(message).into_iter().map(|b| b.id).collect();
    let mut carried: Vec<Block> = Vec::new();
    for block in sources.iter().flat_map(|source| parse_blocks(source)) {
        if !block.id.is_empty()
            && !present.contains(&block.id)
            && !carried.iter().any(|b| b.id == block.id)
        {
            carried.push(block);
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

/// Settles the drain that `HEAD` carries, if one is outstanding: `hook post-commit` and
/// `hook post-merge`, which agent-cost no longer installs (the next `prepare-commit-msg`
/// settles) but which hook managers and older shims may still run.
pub fn settle_head(run: &HookRun) -> Result<Vec<String>, HookError> {
    let worktree = Worktree::current().ok_or(HookError::NotInRepository)?;
    if !marker::exists(&worktree.git_dir) {
        return Ok(Vec::new());
    }
    let Some(mut store) = Store::open_existing(&run.locations.state_dir, run.remaining())? else {
        return Ok(Vec::new());
    };
    let tx = store.write()?;
    let Some(worktree_id) = tx.find_worktree_id(&worktree)? else {
        return Ok(Vec::new());
    };
    let warnings = match tx.import_legacy_worktree(&worktree, worktree_id) {
        Err(e) => vec![format!("{IMPORT_FAILED}: {e}")],
        Ok(_) => Vec::new(),
    };
    if !tx.outstanding(worktree_id)?.is_empty() {
        let history = History::of_worktree(&worktree.workdir, &worktree.git_dir)?;
        reconcile(&tx, worktree_id, &worktree, &history)?;
    }
    let settled_all = tx.outstanding(worktree_id)?.is_empty();
    tx.commit()?;
    if settled_all {
        marker::clear(&worktree.git_dir);
    }
    Ok(warnings)
}

/// Settles, in every worktree that has outstanding drains, those its history shows committed
/// (see [`reconcile`]); worktrees whose git dir is gone are left as they are. Run by `ingest`,
/// so that the ledger read directly (SQL) shows committed spend as committed without waiting
/// for the worktree's next commit. Returns how many drains were settled.
pub fn settle_committed(store: &mut Store) -> Result<u64, HookError> {
    let tx = store.write()?;
    let mut settled = 0;
    for (id, workdir, git_dir) in tx.worktrees_with_outstanding()? {
        let (workdir, git_dir) = (PathBuf::from(workdir), PathBuf::from(git_dir));
        if !git_dir.join("HEAD").exists() {
            continue;
        }
        let worktree = Worktree::from_git_dir(workdir, git_dir);
        if let Ok(history) = History::of_worktree(&worktree.workdir, &worktree.git_dir) {
            settled += reconcile(&tx, id, &worktree, &history)?;
        }
    }
    tx.commit()?;
    Ok(settled)
}

/// Settles every outstanding drain of the worktree that a commit carries: `HEAD`, then the
/// commits HEAD's reflog says were made here (a commit whose `post-commit` never ran, even if
/// its branch is no longer checked out), then `HEAD`'s first-parent ancestors. Returns how many
/// drains were settled.
pub fn reconcile(
    tx: &Tx<'_>,
    worktree_id: i64,
    worktree: &Worktree,
    history: &History,
) -> Result<u64, HookError> {
    let mut open = tx.outstanding(worktree_id)?;
    let mut settled = 0;
    // Nearest first, and each source read only while something is still open: `HEAD` alone
    // usually settles everything.
    for source in 0..3 {
        if open.is_empty() {
            break;
        }
        let commits = match source {
            0 => history.recent_messages(1)?,
            1 => history.reflog_messages(&worktree.git_dir, RECONCILE_DEPTH),
            _ => history.recent_messages(RECONCILE_DEPTH)?,
        };
        for commit in commits {
            if open.is_empty() {
                break;
            }
            let ids: HashSet<String> = parse_blocks(&commit.message)
                .into_iter()
                .map(|b| b.id)
                .collect();
            // The newest proposal a commit carries covers the older ones it merged.
            if let Some(proposal) = open.iter().rev().find(|p| ids.contains(&p.drain)).cloned()
                && tx.settle(worktree_id, &proposal.drain, &commit.id)?
            {
                settled += 1;
                open = tx.outstanding(worktree_id)?;
            }
        }
    }
    Ok(settled)
}
