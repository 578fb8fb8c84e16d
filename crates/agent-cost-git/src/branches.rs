//! The branches of a repository, for reports that name commits after branches: local branches
//! and `origin`'s with their tips, the branch `HEAD` is on and the one `origin/HEAD` names,
//! and a commit's parents and date for following first-parent lines outside a walk.

use crate::history::{History, HistoryError, read_error};

/// A branch and the commit it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Short name: `feature/cart` for `refs/heads/feature/cart`, `main` for
    /// `refs/remotes/origin/main`.
    pub name: String,
    /// The commit id in hex.
    pub tip: String,
}

/// What the refs of a repository say about its branches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branches {
    /// Local branches (`refs/heads/…`) that point to a commit, sorted by name.
    pub local: Vec<Branch>,
    /// `origin`'s branches (`refs/remotes/origin/…` but `HEAD`), sorted by name.
    pub origin: Vec<Branch>,
    /// The local branch `HEAD` is on (`None` when detached).
    pub head: Option<String>,
    /// The branch `refs/remotes/origin/HEAD` points to, without `origin/`.
    pub origin_head: Option<String>,
}

/// A commit's parents and committer time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLinks {
    /// Parent ids in hex, in the order the commit lists them.
    pub parents: Vec<String>,
    /// Committer time, seconds since the epoch.
    pub commit_time: i64,
}

impl History {
    /// The repository's branches. References that cannot be read or do not point to a
    /// commit are left out.
    pub fn branches(&self) -> Result<Branches, HistoryError> {
        let repo = &self.repo;
        let platform = repo.references().map_err(read_error)?;
        let mut branches = Branches {
            local: tips(
                platform.local_branches().map_err(read_error)?,
                "refs/heads/",
            ),
            origin: tips(
                platform.remote_branches().map_err(read_error)?,
                "refs/remotes/origin/",
            ),
            ..Branches::default()
        };
        branches.origin.retain(|b| b.name != "HEAD");
        branches.head = repo.head_name().ok().flatten().and_then(|name| {
            name.as_bstr()
                .to_string()
                .strip_prefix("refs/heads/")
                .map(str::to_string)
        });
        branches.origin_head = repo
            .try_find_reference("refs/remotes/origin/HEAD")
            .ok()
            .flatten()
            .and_then(|reference| match reference.target() {
                gix::refs::TargetRef::Symbolic(name) => name
                    .as_bstr()
                    .to_string()
                    .strip_prefix("refs/remotes/origin/")
                    .map(str::to_string),
                gix::refs::TargetRef::Object(_) => None,
            });
        Ok(branches)
    }

    /// `HEAD`'s first-parent line, oldest first: each commit's hex id and committer time.
    /// Empty for an unborn `HEAD`.
    pub fn first_parent_line(&self) -> Result<Vec<(String, i64)>, HistoryError> {
        let Ok(head) = self.repo.head_commit() else {
            return Ok(Vec::new());
        };
        let mut line = Vec::new();
        let mut at = Some(head.id.to_string());
        while let Some(id) = at {
            let links = self.commit_links(&id)?;
            at = links.parents.first().cloned();
            line.push((id, links.commit_time));
        }
        line.reverse();
        Ok(line)
    }

    /// The parents and committer time of the commit `id` (full hex).
    pub fn commit_links(&self, id: &str) -> Result<CommitLinks, HistoryError> {
        let object_id = gix::ObjectId::from_hex(id.as_bytes()).map_err(read_error)?;
        let commit = self.repo.find_commit(object_id).map_err(read_error)?;
        let commit_time = commit.time().map_err(read_error)?.seconds;
        Ok(CommitLinks {
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
            commit_time,
        })
    }
}

fn tips(references: gix::reference::iter::Iter<'_, '_>, prefix: &str) -> Vec<Branch> {
    let mut found: Vec<Branch> = references
        .flatten()
        .filter_map(|mut reference| {
            let name = reference
                .name()
                .as_bstr()
                .to_string()
                .strip_prefix(prefix)?
                .to_string();
            let id = reference.peel_to_commit().ok()?.id;
            Some(Branch {
                name,
                tip: id.to_string(),
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn git(dir: &Path, args: &[&str]) -> String {
        crate::testing::git(dir, args).trim().to_string()
    }

    #[test]
    fn local_and_origin_branches_head_and_origin_head() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        git(repo, &["init", "-q", "-b", "main"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let one = git(repo, &["rev-parse", "HEAD"]);
        git(repo, &["checkout", "-q", "-b", "feature/SHOP-1"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
        let two = git(repo, &["rev-parse", "HEAD"]);
        git(repo, &["update-ref", "refs/remotes/origin/trunk", &one]);
        git(repo, &["update-ref", "refs/remotes/upstream/other", &one]);
        git(repo, &["tag", "-a", "-m", "v1", "v1", &one]);
        git(repo, &["pack-refs", "--all"]);
        git(
            repo,
            &[
                "symbolic-ref",
                "refs/remotes/origin/HEAD",
                "refs/remotes/origin/trunk",
            ],
        );

        let history = History::discover(repo).unwrap();
        let branches = history.branches().unwrap();
        let branch = |name: &str, tip: &str| Branch {
            name: name.to_string(),
            tip: tip.to_string(),
        };
        assert_eq!(
            branches.local,
            vec![branch("feature/SHOP-1", &two), branch("main", &one)]
        );
        assert_eq!(branches.origin, vec![branch("trunk", &one)]);
        assert_eq!(branches.head.as_deref(), Some("feature/SHOP-1"));
        assert_eq!(branches.origin_head.as_deref(), Some("trunk"));
        let links = history.commit_links(&two).unwrap();
        assert_eq!(links.parents, vec![one]);
        assert!(links.commit_time > 0);

        git(repo, &["checkout", "-q", "--detach"]);
        let branches = History::discover(repo).unwrap().branches().unwrap();
        assert_eq!(branches.head, None);
    }
}
