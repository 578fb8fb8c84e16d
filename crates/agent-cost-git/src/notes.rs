//! Git notes under `refs/notes/ai-cost`: AI-cost blocks attached to commits without rewriting
//! them (written by `agent-cost backfill` and by the CI recipe for squash merges that drop
//! trailers). Readers take a commit's note beside its message.

use std::collections::HashMap;

use crate::history::{History, HistoryError, read_error};

/// The notes reference agent-cost writes and reads.
pub const AI_COST_NOTES: &str = "refs/notes/ai-cost";

/// Every note of a notes reference, by the commit it annotates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    by_commit: HashMap<gix::ObjectId, String>,
}

impl Notes {
    /// The note on commit `id`, if any.
    pub fn get(&self, id: &gix::oid) -> Option<&str> {
        self.by_commit.get(id).map(String::as_str)
    }

    /// The note on the commit with hex id `id`, if any.
    pub fn get_hex(&self, id: &str) -> Option<&str> {
        let id = gix::ObjectId::from_hex(id.as_bytes()).ok()?;
        self.get(&id)
    }

    /// How many commits have a note.
    pub fn len(&self) -> usize {
        self.by_commit.len()
    }

    /// Whether there is no note at all.
    pub fn is_empty(&self) -> bool {
        self.by_commit.is_empty()
    }
}

impl History {
    /// The full hex id of the commit `spec` names (a hex id, a branch, `HEAD~2`), if any.
    pub fn commit_id(&self, spec: &str) -> Option<String> {
        let object = self.repo.rev_parse_single(spec).ok()?.object().ok()?;
        Some(object.peel_to_commit().ok()?.id.to_string())
    }

    /// The notes of `reference` (e.g. [`AI_COST_NOTES`]); none when the reference does not
    /// exist. Notes that are not text are read with invalid bytes replaced; entries whose
    /// path is not a commit id (fan-out directories are followed) are ignored.
    pub fn notes(&self, reference: &str) -> Result<Notes, HistoryError> {
        let mut notes = Notes::default();
        let Some(mut found) = self
            .repo
            .try_find_reference(reference)
            .map_err(read_error)?
        else {
            return Ok(notes);
        };
        let commit = found.peel_to_commit().map_err(read_error)?;
        let tree = commit.tree().map_err(read_error)?;
        self.collect_notes(tree, String::new(), &mut notes)?;
        Ok(notes)
    }

    fn collect_notes(
        &self,
        tree: gix::Tree<'_>,
        prefix: String,
        notes: &mut Notes,
    ) -> Result<(), HistoryError> {
        let entries: Vec<(String, gix::ObjectId, bool)> = tree
            .iter()
            .filter_map(Result::ok)
            .map(|entry| {
                (
                    entry.filename().to_string(),
                    entry.object_id(),
                    entry.mode().is_tree(),
                )
            })
            .collect();
        for (name, id, is_tree) in entries {
            let path = format!("{prefix}{name}");
            if is_tree {
                if path.len() < 40 && path.bytes().all(|b| b.is_ascii_hexdigit()) {
                    let subtree = self
                        .repo
                        .find_object(id)
                        .map_err(read_error)?
                        .try_into_tree()
                        .map_err(read_error)?;
                    self.collect_notes(subtree, path, notes)?;
                }
                continue;
            }
            let Ok(commit) = gix::ObjectId::from_hex(path.as_bytes()) else {
                continue;
            };
            let blob = self.repo.find_object(id).map_err(read_error)?;
            notes
                .by_commit
                .insert(commit, String::from_utf8_lossy(&blob.data).into_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

    #[test]
    fn notes_are_read_by_commit_with_fan_out_and_without_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
        let history = History::discover(repo).unwrap();
        assert!(history.notes(AI_COST_NOTES).unwrap().is_empty());

        let head = git(repo, &["rev-parse", "HEAD"]).trim().to_string();
        let first = git(repo, &["rev-parse", "HEAD~1"]).trim().to_string();
        git(
            repo,
            &[
                "notes",
                "--ref=ai-cost",
                "add",
                "-m",
                "AI-Cost-Id: 1",
                &head,
            ],
        );
        git(
            repo,
            &["notes", "--ref=ai-cost", "add", "-m", "first", &first],
        );
        git(repo, &["notes", "add", "-m", "a default note", &first]);
        let history = History::discover(repo).unwrap();
        let notes = history.notes(AI_COST_NOTES).unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes.get_hex(&head), Some("AI-Cost-Id: 1\n"));
        assert_eq!(notes.get_hex(&first), Some("first\n"));

        // Many notes: git fans the tree out into directories (ab/cdef…).
        for index in 0..300 {
            git(
                repo,
                &["commit", "-q", "--allow-empty", "-m", &format!("c{index}")],
            );
            let id = git(repo, &["rev-parse", "HEAD"]).trim().to_string();
            git(
                repo,
                &[
                    "notes",
                    "--ref=ai-cost",
                    "add",
                    "-m",
                    &format!("n{index}"),
                    &id,
                ],
            );
        }
        let tree = git(repo, &["ls-tree", "refs/notes/ai-cost"]);
        assert!(
            tree.lines().any(|l| l.contains(" tree ")),
            "fanned out: {tree}"
        );
        let history = History::discover(repo).unwrap();
        let notes = history.notes(AI_COST_NOTES).unwrap();
        assert_eq!(notes.len(), 302);
        let last = git(repo, &["rev-parse", "HEAD"]).trim().to_string();
        assert_eq!(notes.get_hex(&last), Some("n299\n"));
    }
}
