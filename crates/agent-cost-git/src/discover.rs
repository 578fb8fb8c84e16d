//! Finding the git repositories under a folder (a team's clones), for reports across them.

use std::path::{Path, PathBuf};

/// How deep under the folder repositories are looked for (the folder itself is depth 0).
pub const MAX_DEPTH: usize = 4;

/// Directories never descended into: they hold dependencies or build output, not clones.
const SKIPPED: [&str; 3] = ["node_modules", "target", ".venv"];

/// Every git repository at or under `dir`, at most [`MAX_DEPTH`] levels down, sorted by path:
/// a directory with a `.git` entry (a clone, or a linked worktree's `.git` file is skipped:
/// its repository is found through its main worktree) or a bare repository (`HEAD`,
/// `objects/` and `refs/`). A repository's own subdirectories are not searched (submodules
/// are not separate clones of the team's); hidden directories and `node_modules`, `target`
/// and `.venv` are skipped; unreadable directories are passed over.
pub fn repositories_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    visit(dir, 0, &mut found);
    found.sort();
    found
}

fn visit(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let dot_git = dir.join(".git");
    if dot_git.is_dir() || is_bare(dir) {
        found.push(dir.to_path_buf());
        return;
    }
    if dot_git.is_file() || depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || SKIPPED.contains(&name.as_ref()) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            visit(&entry.path(), depth + 1, found);
        }
    }
}

fn is_bare(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_and_bare_repositories_but_not_inside_them_nor_hidden_or_deep() {
        let root = tempfile::tempdir().unwrap();
        let make = |path: &str| std::fs::create_dir_all(root.path().join(path)).unwrap();
        make("shop/.git");
        make("shop/vendor/lib/.git");
        make("team/api/.git");
        make("mirror.git/objects");
        make("mirror.git/refs");
        std::fs::write(
            root.path().join("mirror.git/HEAD"),
            "ref: refs/heads/main\n",
        )
        .unwrap();
        make("shop-linked");
        std::fs::write(root.path().join("shop-linked/.git"), "gitdir: x\n").unwrap();
        make(".cache/hidden/.git");
        make("web/node_modules/dep/.git");
        make("a/b/c/d/.git");
        make("a/b/c/d/e/.git");
        let found: Vec<String> = repositories_under(root.path())
            .iter()
            .map(|p| {
                p.strip_prefix(root.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(found, ["a/b/c/d", "mirror.git", "shop", "team/api"]);
    }
}
