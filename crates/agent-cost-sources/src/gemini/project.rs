//! Which directory a Gemini CLI project folder (`~/.gemini/tmp/<folder>/`) stands for.
//!
//! Gemini CLI keeps no working directory on its chat records; the folder is all there is.
//! Older versions name it `sha256(project root)`; newer ones a short name (`my-app`,
//! `my-app-1`) with the root written in the folder's `.project_root` file and in the registry
//! `~/.gemini/projects.json` (`{"projects": {"<root>": "<name>"}}`). Every chat also records
//! the root's hash (`projectHash`). A root is recovered from, in order: the folder's
//! `.project_root`, the registry, and a known root whose hash is the folder's name (roots
//! named by the registry and the markers, and the candidates a caller supplies: the worktree a
//! hook runs in).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::sha256;

/// The registry file in the Gemini directory.
pub const REGISTRY_FILE: &str = "projects.json";
/// The marker file in a project folder naming its root.
pub const ROOT_MARKER: &str = ".project_root";

/// One folder under `tmp/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// The project root it stands for, when known.
    pub root: Option<String>,
}

/// The project folders of one Gemini directory and the roots known for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projects {
    /// Folders under `tmp/`, by name.
    pub folders: Vec<Folder>,
    /// Every known root, by its SHA-256.
    by_hash: HashMap<String, String>,
    /// Entries that could not be looked at.
    pub unreadable: Vec<String>,
}

impl Projects {
    /// Reads the registry and the folders' markers under `gemini_dir`; `candidates` are more
    /// roots that a hash-named folder may stand for.
    pub fn load(gemini_dir: &Path, candidates: &[PathBuf]) -> Projects {
        let mut projects = Projects::default();
        let mut by_name: HashMap<String, String> = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(gemini_dir.join(REGISTRY_FILE)) {
            // A registry that cannot be parsed is ignored, as Gemini CLI itself does.
            if let Ok(registry) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(entries) = registry.get("projects").and_then(|p| p.as_object())
            {
                for (root, name) in entries {
                    if let Some(name) = name.as_str() {
                        by_name.insert(name.to_owned(), root.clone());
                        projects.remember(root);
                    }
                }
            }
        }
        for candidate in candidates {
            projects.remember(&candidate.to_string_lossy());
        }
        let tmp = gemini_dir.join("tmp");
        let entries = match std::fs::read_dir(&tmp) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return projects,
            Err(e) => {
                projects.unreadable.push(format!("{}: {e}", tmp.display()));
                return projects;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let marker = std::fs::read_to_string(path.join(ROOT_MARKER))
                .ok()
                .map(|text| text.trim().to_owned())
                .filter(|root| !root.is_empty());
            if let Some(root) = &marker {
                projects.remember(root);
            }
            let root = marker.or_else(|| by_name.get(&name).cloned());
            projects.folders.push(Folder { name, path, root });
        }
        // Hash-named folders of older versions: a known root whose hash is the name.
        for folder in &mut projects.folders {
            if folder.root.is_none() {
                folder.root = projects.by_hash.get(&folder.name).cloned();
            }
        }
        projects.folders.sort_by(|a, b| a.name.cmp(&b.name));
        projects
    }

    fn remember(&mut self, root: &str) {
        self.by_hash
            .entry(sha256::hex_digest(root.as_bytes()))
            .or_insert_with(|| root.to_owned());
    }

    /// The root of the folder named `name`, if known.
    pub fn root_of_folder(&self, name: &str) -> Option<&str> {
        self.folders
            .binary_search_by(|f| f.name.as_str().cmp(name))
            .ok()
            .and_then(|at| self.folders[at].root.as_deref())
            .or_else(|| self.root_of_hash(name))
    }

    /// The known root whose SHA-256 is `hash`, if any.
    pub fn root_of_hash(&self, hash: &str) -> Option<&str> {
        self.by_hash.get(hash).map(String::as_str)
    }
}

/// True when `root` is `workdir` or a directory below it.
pub fn is_within(root: &str, workdir: &Path) -> bool {
    Path::new(root).starts_with(workdir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_come_from_markers_the_registry_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let gemini = dir.path();
        let tmp = gemini.join("tmp");
        let hashed = sha256::hex_digest(b"/home/dev/old");
        for name in ["shop", "shop-1", "lost", hashed.as_str(), "bin"] {
            std::fs::create_dir_all(tmp.join(name)).unwrap();
        }
        std::fs::write(tmp.join("shop/.project_root"), "/home/dev/shop\n").unwrap();
        std::fs::write(
            gemini.join("projects.json"),
            r#"{"projects": {"/home/dev/shop": "shop", "/home/dev/other/shop": "shop-1"}}"#,
        )
        .unwrap();
        let projects = Projects::load(gemini, &[]);
        assert_eq!(projects.root_of_folder("shop"), Some("/home/dev/shop"));
        assert_eq!(
            projects.root_of_folder("shop-1"),
            Some("/home/dev/other/shop")
        );
        assert_eq!(projects.root_of_folder("lost"), None);
        // An old hash-named folder is known only with its root as a candidate.
        assert_eq!(projects.root_of_folder(&hashed), None);
        let projects = Projects::load(gemini, &[PathBuf::from("/home/dev/old")]);
        assert_eq!(projects.root_of_folder(&hashed), Some("/home/dev/old"));
        assert_eq!(
            projects.root_of_hash(&sha256::hex_digest(b"/home/dev/shop")),
            Some("/home/dev/shop")
        );
    }

    #[test]
    fn a_broken_registry_or_a_missing_directory_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("projects.json"), "{not json").unwrap();
        let projects = Projects::load(dir.path(), &[]);
        assert!(projects.folders.is_empty());
        assert!(projects.unreadable.is_empty());
        assert!(is_within("/w/a/b", Path::new("/w/a")));
        assert!(!is_within("/w/ab", Path::new("/w/a")));
    }
}
