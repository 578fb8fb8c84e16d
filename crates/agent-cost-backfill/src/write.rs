//! Writing notes, exactly once: each backfill drain is recorded in the ledger (proposed, with
//! its note's text) before `git notes append` writes it and settled after, and a drain left
//! proposed by a killed run is finished first on the next: its note is written if the notes
//! do not hold its id yet, and a note the notes ref has lost since is written again from the
//! ledger. A note holding a block already is never appended twice.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use agent_cost_git::{AI_COST_NOTES, History};
use agent_cost_store::Store;

use crate::BackfillError;
use crate::plan::Plan;

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Notes written (appended to a commit's note, or a new note).
    pub written: u64,
    /// Blocks whose note was there already (a run killed after writing it).
    pub already_there: u64,
    /// Drains a killed run left proposed, finished now.
    pub recovered: u64,
    /// Notes the ledger knows were written but the notes ref had lost, written again.
    pub restored: u64,
}

/// Writes the notes of `plan` in the repository at `workdir` (common dir `common_dir`),
/// finishing first what a killed run left, and records each in `store`.
pub fn apply(
    store: &mut Store,
    common_dir: &str,
    workdir: &Path,
    plan: &Plan,
) -> Result<Applied, BackfillError> {
    let mut applied = Applied::default();
    // The notes as they were before this run, read once: every block it writes has an id of
    // its own.
    let notes = History::discover(workdir)?.notes(AI_COST_NOTES)?;
    let held_by =
        |commit: &str, drain: &str| notes.get_hex(commit).is_some_and(|note| holds(note, drain));
    // What the ledger says the notes hold: a drain a killed run left unsettled is finished,
    // and a note lost since (a notes ref replaced by a forced fetch, deleted) is written again.
    let known = store.read()?.backfill_notes(common_dir)?;
    for backfill in known {
        let held = held_by(&backfill.commit, &backfill.drain);
        if !held {
            append_note(workdir, &backfill.commit, &backfill.note)?;
        }
        if !backfill.settled {
            let tx = store.write()?;
            tx.settle_backfill(&backfill.drain)?;
            tx.commit()?;
            applied.recovered += 1;
        } else if !held {
            applied.restored += 1;
        }
    }
    for note in &plan.notes {
        let text = note.text();
        let tx = store.write()?;
        let new = tx.propose_backfill(
            note.worktree.0,
            &note.block.id,
            &note.commit,
            &text,
            &note.charges,
        )?;
        tx.commit()?;
        if !new {
            continue;
        }
        agent_cost_fault::point("backfill.proposed");
        if held_by(&note.commit, &note.block.id) {
            applied.already_there += 1;
        } else {
            append_note(workdir, &note.commit, &text)?;
            applied.written += 1;
        }
        agent_cost_fault::point("backfill.written");
        let tx = store.write()?;
        tx.settle_backfill(&note.block.id)?;
        tx.commit()?;
    }
    if applied.written + applied.recovered + applied.restored > 0 {
        follow_rewrites(workdir)?;
    }
    Ok(applied)
}

/// Whether `note` holds a block with id `drain`.
fn holds(note: &str, drain: &str) -> bool {
    note.lines()
        .any(|line| line.strip_prefix("AI-Cost-Id:").map(str::trim) == Some(drain))
}

/// `git notes --ref=refs/notes/ai-cost append -F - COMMIT` with `text` on stdin: a new note,
/// or a paragraph added to the note the commit has.
pub fn append_note(workdir: &Path, commit: &str, text: &str) -> Result<(), BackfillError> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["notes", "--ref", AI_COST_NOTES, "append", "-F", "-", commit])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| BackfillError::Git {
            what: "start git".to_string(),
            message: source.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|source| BackfillError::Git {
                what: format!("write the note of {commit}"),
                message: source.to_string(),
            })?;
    }
    let output = child
        .wait_with_output()
        .map_err(|source| BackfillError::Git {
            what: format!("write the note of {commit}"),
            message: source.to_string(),
        })?;
    if !output.status.success() {
        return Err(BackfillError::Git {
            what: format!("write the note of {commit}"),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Makes `git commit --amend` and `git rebase` copy the notes to the rewritten commits
/// (`notes.rewriteRef`), unless the repository already says which notes to copy.
fn follow_rewrites(workdir: &Path) -> Result<(), BackfillError> {
    let current = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["config", "--get-all", "notes.rewriteRef"])
        .output()
        .map_err(|source| BackfillError::Git {
            what: "read notes.rewriteRef".to_string(),
            message: source.to_string(),
        })?;
    if !String::from_utf8_lossy(&current.stdout).trim().is_empty() {
        return Ok(());
    }
    let set = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["config", "notes.rewriteRef", AI_COST_NOTES])
        .output()
        .map_err(|source| BackfillError::Git {
            what: "set notes.rewriteRef".to_string(),
            message: source.to_string(),
        })?;
    if !set.status.success() {
        return Err(BackfillError::Git {
            what: "set notes.rewriteRef".to_string(),
            message: String::from_utf8_lossy(&set.stderr).trim().to_string(),
        });
    }
    Ok(())
}
