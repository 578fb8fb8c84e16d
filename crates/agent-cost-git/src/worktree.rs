//! Which git worktree a path belongs to, from `.git` entries alone.
//!
//! A main worktree has a `.git` directory; a linked worktree (or a submodule) has a `.git` file
//! saying `gitdir: <path>`, and its git dir may name the shared one in a `commondir` file.
//! agent-cost keeps a worktree's tally in its own git dir, so each linked worktree has its own.

use std::path::{Path, PathBuf};

use agent_cost_paths::env_vars;

/// A worktree and the git directories that serve it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Worktree {
    /// The top of the working tree.
    pub workdir: PathBuf,
    /// The worktree's own git dir (`.git`, or `.git/worktrees/<name>` for a linked worktree).
    pub git_dir: PathBuf,
    /// The repository's shared git dir (hooks, config, objects).
    pub common_dir: PathBuf,
}

impl Worktree {
    /// The worktree containing `path` (a file or directory, existing or not), if any.
    ///
    /// A path that no longer exists is looked up through its nearest existing ancestor, so
    /// spend from a deleted subdirectory still lands in its repository.
    pub fn containing(path: &Path) -> Option<Worktree> {
        if !path.is_absolute() {
            return None;
        }
        let mut existing = path;
        let canonical = loop {
            match existing.canonicalize() {
                Ok(canonical) => break canonical,
                Err(_) => existing = existing.parent()?,
            }
        };
        canonical.ancestors().find_map(Worktree::at_top)
    }

    /// The worktree whose top is exactly `dir`, if `dir` holds a `.git` entry.
    pub fn at_top(dir: &Path) -> Option<Worktree> {
        let dot_git = dir.join(".git");
        let meta = std::fs::symlink_metadata(&dot_git).ok()?;
        let git_dir = if meta.is_dir() {
            dot_git
        } else {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
            let target = Path::new(target);
            let joined = if target.is_absolute() {
                target.to_path_buf()
            } else {
                dir.join(target)
            };
            joined.canonicalize().ok()?
        };
        if !git_dir.join("HEAD").exists() {
            return None;
        }
        Some(Worktree::from_git_dir(dir.to_path_buf(), git_dir))
    }

    /// A worktree from a known git dir (as `GIT_DIR` gives hooks), resolving its common dir.
    pub fn from_git_dir(workdir: PathBuf, git_dir: PathBuf) -> Worktree {
        let common_dir = std::fs::read_to_string(git_dir.join("commondir"))
            .ok()
            .map(|text| {
                let rel = Path::new(text.trim());
                let joined = if rel.is_absolute() {
                    rel.to_path_buf()
                } else {
                    git_dir.join(rel)
                };
                joined.canonicalize().unwrap_or(joined)
            })
            .unwrap_or_else(|| git_dir.clone());
        Worktree {
            workdir,
            git_dir,
            common_dir,
        }
    }

    /// The worktree git is running a hook or command in: `GIT_DIR` if git set it, else the
    /// worktree containing the current directory.
    pub fn current() -> Option<Worktree> {
        let cwd = std::env::current_dir().ok()?;
        match std::env::var_os(env_vars::GIT_DIR).filter(|d| !d.is_empty()) {
            Some(git_dir) => {
                let git_dir = cwd.join(git_dir).canonicalize().ok()?;
                let workdir = std::env::var_os(env_vars::GIT_WORK_TREE)
                    .map(|w| cwd.join(w))
                    .unwrap_or(cwd)
                    .canonicalize()
                    .ok()?;
                Some(Worktree::from_git_dir(workdir, git_dir))
            }
            None => Worktree::containing(&cwd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn finds_main_and_linked_worktrees() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let repo = root.join("repo");
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(
            &repo,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "x",
            ],
        );
        git(&repo, &["worktree", "add", "-q", "../wt"]);

        let main = Worktree::containing(&repo.join("src/deep")).unwrap();
        assert_eq!(main.workdir, repo);
        assert_eq!(main.git_dir, repo.join(".git"));
        assert_eq!(main.common_dir, repo.join(".git"));

        let linked = Worktree::containing(&root.join("wt")).unwrap();
        assert_eq!(linked.workdir, root.join("wt"));
        assert_eq!(linked.git_dir, repo.join(".git/worktrees/wt"));
        assert_eq!(linked.common_dir, repo.join(".git"));

        let gone = Worktree::containing(&repo.join("deleted/sub")).unwrap();
        assert_eq!(gone.workdir, repo);
        assert!(Worktree::containing(&root).is_none());
        assert!(Worktree::containing(Path::new("relative")).is_none());
    }
}
