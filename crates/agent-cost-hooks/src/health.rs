//! What git will actually run for agent-cost's hooks in a repository, and what stands in the
//! way: the hook files in the directory git uses, whether each runs agent-cost (as a link to
//! the binary, an earlier shim, a script of the user's, or through a hook manager's
//! configuration), hooks left in a directory git no longer reads, and commits made since the
//! hooks last ran. `doctor` prints all of it; `status` sums it up in one line.

use std::path::{Path, PathBuf};

use agent_cost_git::Worktree;

use crate::HookError;
use crate::install::{SHIM_MARKER, SHIMS, hooks_dir, is_ours};
use crate::managers::{LEFTHOOK_CONFIGS, is_husky_hooks_dir, written_by};

/// How a hook file runs agent-cost, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookState {
    /// A link to the binary.
    Linked {
        /// Where the link points.
        binary: PathBuf,
    },
    /// A shell shim of an earlier version (still works; `install-hooks` replaces it).
    Shim,
    /// A script that calls `agent-cost hook <name>` itself.
    Script,
    /// A hook manager's hook, whose configuration calls `agent-cost hook <name>`.
    Manager {
        /// The manager: husky, lefthook or pre-commit.
        manager: &'static str,
        /// The configuration file that holds the call.
        config: PathBuf,
    },
    /// A link to an agent-cost binary that is gone: git skips the hook.
    BinaryMissing {
        /// Where the link points.
        binary: PathBuf,
    },
    /// A hook manager's hook whose configuration does not call agent-cost.
    ManagerWithoutUs {
        /// The manager.
        manager: &'static str,
        /// Where agent-cost's call belongs.
        config: PathBuf,
    },
    /// Some other hook, which does not run agent-cost.
    Foreign,
    /// Present but not executable: git skips it.
    NotExecutable,
    /// No such hook.
    Missing,
}

impl HookState {
    /// True when git running this hook runs agent-cost.
    pub fn runs_agent_cost(&self) -> bool {
        matches!(
            self,
            HookState::Linked { .. }
                | HookState::Shim
                | HookState::Script
                | HookState::Manager { .. }
        )
    }

    /// One line saying what the hook does.
    pub fn describe(&self) -> String {
        match self {
            HookState::Linked { binary } => format!("runs agent-cost ({})", binary.display()),
            HookState::Shim => "runs agent-cost through an earlier version's shell shim".into(),
            HookState::Script => "a script of yours that calls `agent-cost hook`".into(),
            HookState::Manager { manager, config } => {
                format!("{manager} runs agent-cost ({})", config.display())
            }
            HookState::BinaryMissing { binary } => format!(
                "links to {}, which is gone: git skips the hook",
                binary.display()
            ),
            HookState::ManagerWithoutUs { manager, config } => format!(
                "{manager}'s hook, and {} does not call agent-cost",
                config.display()
            ),
            HookState::Foreign => "another hook, which does not run agent-cost".into(),
            HookState::NotExecutable => "not executable: git skips it".into(),
            HookState::Missing => "not installed".into(),
        }
    }
}

/// One hook as git will run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCheck {
    /// `prepare-commit-msg` or `commit-msg`.
    pub name: &'static str,
    /// The file git runs.
    pub path: PathBuf,
    /// What it does.
    pub state: HookState,
}

/// Everything `doctor` and `status` say about the hooks of one worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksHealth {
    /// The directory git reads hooks from.
    pub hooks_dir: PathBuf,
    /// True when `core.hooksPath` moves it away from the repository's `hooks` directory.
    pub hooks_path_set: bool,
    /// Each of the hooks agent-cost needs.
    pub hooks: Vec<HookCheck>,
    /// Hooks of agent-cost in the repository's own `hooks` directory that git does not read
    /// (because of `core.hooksPath`).
    pub bypassed: Vec<PathBuf>,
    /// When a hook of agent-cost last ran in this worktree (seconds since the epoch).
    pub last_run: Option<i64>,
    /// Commits made in this worktree after that (from `HEAD`'s reflog), newest first: their
    /// messages were written without agent-cost.
    pub commits_without_hooks: Vec<ReflogCommit>,
}

impl HooksHealth {
    /// True when every hook runs agent-cost.
    pub fn all_run(&self) -> bool {
        self.hooks.iter().all(|h| h.state.runs_agent_cost())
    }

    /// One line for `status`.
    pub fn summary(&self) -> String {
        if self.all_run() {
            let how: Vec<String> = self
                .hooks
                .iter()
                .map(|h| match &h.state {
                    HookState::Manager { manager, .. } => format!("{} via {manager}", h.name),
                    _ => h.name.to_string(),
                })
                .collect();
            return format!("hooks run ({})", how.join(", "));
        }
        let broken: Vec<String> = self
            .hooks
            .iter()
            .filter(|h| !h.state.runs_agent_cost())
            .map(|h| format!("{}: {}", h.name, h.state.describe()))
            .collect();
        format!("hooks NOT running: {}", broken.join("; "))
    }
}

/// A commit of `HEAD`'s reflog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflogCommit {
    /// The commit id.
    pub id: String,
    /// When it was made (seconds since the epoch).
    pub time: i64,
    /// The reflog message (`commit: subject`).
    pub message: String,
}

/// The file whose modification time says when `prepare-commit-msg` last ran (it rewrites it on
/// every run).
pub const LAST_RUN_FILE: &str = "agent-cost-prepared";

/// Looks at what git will run for `worktree`'s commits.
pub fn inspect(worktree: &Worktree) -> Result<HooksHealth, HookError> {
    let dir = hooks_dir(worktree)?;
    let default_dir = worktree.common_dir.join("hooks");
    let hooks_path_set = !same_dir(&dir, &default_dir);
    let hooks = SHIMS
        .iter()
        .map(|(name, _)| {
            let path = dir.join(name);
            let state = hook_state(&path, name, &worktree.workdir);
            HookCheck { name, path, state }
        })
        .collect();
    let bypassed = if hooks_path_set {
        SHIMS
            .iter()
            .map(|(name, _)| default_dir.join(name))
            .filter(|path| is_ours(path))
            .collect()
    } else {
        Vec::new()
    };
    let last_run = modified_seconds(&worktree.git_dir.join(LAST_RUN_FILE));
    let commits_without_hooks = commits_without_hooks(&worktree.git_dir);
    Ok(HooksHealth {
        hooks_dir: dir,
        hooks_path_set,
        hooks,
        bypassed,
        last_run,
        commits_without_hooks,
    })
}

/// True when two paths name the same directory.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn modified_seconds(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs()).ok()
}

/// What the hook file at `path` does about agent-cost.
pub fn hook_state(path: &Path, name: &str, workdir: &Path) -> HookState {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return HookState::Missing;
    };
    if meta.file_type().is_symlink()
        && let Ok(target) = std::fs::read_link(path)
        && is_ours(path)
    {
        let binary = if target.is_absolute() {
            target
        } else {
            path.parent().unwrap_or(Path::new(".")).join(target)
        };
        return if is_executable(&binary) {
            HookState::Linked { binary }
        } else {
            HookState::BinaryMissing { binary }
        };
    }
    if !is_executable(path) {
        return if path.exists() {
            HookState::NotExecutable
        } else {
            HookState::Missing
        };
    }
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    if text.contains(SHIM_MARKER) {
        return HookState::Shim;
    }
    if calls_agent_cost(&text, name) {
        return HookState::Script;
    }
    if let Some(state) = manager_state(&text, path, name, workdir) {
        return state;
    }
    HookState::Foreign
}

/// True when a script's text runs `agent-cost hook <name>`.
pub fn calls_agent_cost(text: &str, name: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .filter(|line| !line.starts_with('#'))
        .any(|line| line.contains("agent-cost") && line.contains(&format!("hook {name}")))
}

/// The state of a hook a manager wrote, from the manager's configuration.
fn manager_state(text: &str, path: &Path, name: &str, workdir: &Path) -> Option<HookState> {
    let in_husky_dir = path.parent().is_some_and(is_husky_hooks_dir);
    let manager = if in_husky_dir {
        Some("husky")
    } else {
        written_by(text)
    };
    let (manager, configs): (&'static str, Vec<PathBuf>) = if manager == Some("husky") {
        ("husky", vec![husky_user_hook(path, name, workdir)])
    } else if manager == Some("lefthook") {
        (
            "lefthook",
            LEFTHOOK_CONFIGS.iter().map(|c| workdir.join(c)).collect(),
        )
    } else if manager == Some("pre-commit") {
        // pre-commit runs a hook it moved aside (`<hook>.legacy`) before its own.
        let legacy = PathBuf::from(format!("{}.legacy", path.display()));
        if is_ours(&legacy) {
            return Some(HookState::Manager {
                manager: "pre-commit",
                config: legacy,
            });
        }
        ("pre-commit", vec![workdir.join(".pre-commit-config.yaml")])
    } else {
        return None;
    };
    let calling = configs.iter().find(|config| {
        std::fs::read_to_string(config).is_ok_and(|text| calls_agent_cost(&text, name))
    });
    Some(match calling {
        Some(config) => HookState::Manager {
            manager,
            config: config.clone(),
        },
        None => HookState::ManagerWithoutUs {
            manager,
            config: configs.into_iter().next().unwrap_or_default(),
        },
    })
}

/// husky 9 runs `<hooks dir>/../<name>` (`.husky/_/prepare-commit-msg` runs
/// `.husky/prepare-commit-msg`).
fn husky_user_hook(path: &Path, name: &str, workdir: &Path) -> PathBuf {
    path.parent()
        .and_then(Path::parent)
        .map_or_else(|| workdir.join(".husky").join(name), |dir| dir.join(name))
}

/// True when `path` is a file git would run (on Unix: with an execute bit).
#[cfg(unix)]
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when `path` is a file git would run.
#[cfg(not(unix))]
pub fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The newest `max` commits recorded in `HEAD`'s reflog of this worktree (`commit`,
/// `commit (amend)`, `commit (merge)`, `commit (initial)` entries), newest first.
pub fn reflog_commits(git_dir: &Path, max: usize) -> Vec<ReflogCommit> {
    let Ok(text) = std::fs::read_to_string(git_dir.join("logs/HEAD")) else {
        return Vec::new();
    };
    text.lines()
        .rev()
        .filter_map(parse_reflog_line)
        .filter(|c| c.message.starts_with("commit"))
        .take(max)
        .collect()
}

/// `<old> <new> <name> <<email>> <time> <zone>\t<message>`.
fn parse_reflog_line(line: &str) -> Option<ReflogCommit> {
    let (head, message) = line.split_once('\t')?;
    let mut words = head.split(' ');
    let _old = words.next()?;
    let new = words.next()?;
    let rest: Vec<&str> = words.collect();
    let time = rest.get(rest.len().checked_sub(2)?)?.parse().ok()?;
    Some(ReflogCommit {
        id: new.to_string(),
        time,
        message: message.to_string(),
    })
}

/// The warning `status` and `ingest` print about commits made without the hooks, once. Reads
/// two small files and the reflog; starts no process.
pub fn warn_once_about_commits_without_hooks(worktree: &Worktree) -> Option<String> {
    let commits = commits_without_hooks(&worktree.git_dir);
    let untold = untold_commits_without_hooks(worktree, &commits);
    (untold > 0).then(|| {
        format!(
            "{untold} commit(s) in this worktree were made without agent-cost's hooks (their \
             spend stays pending for the next commit); run `agent-cost doctor`"
        )
    })
}

/// Commits of this worktree's reflog made after the hooks last ran, newest first (none when
/// they never ran here).
fn commits_without_hooks(git_dir: &Path) -> Vec<ReflogCommit> {
    match modified_seconds(&git_dir.join(LAST_RUN_FILE)) {
        Some(last) => reflog_commits(git_dir, 50)
            .into_iter()
            // A commit's reflog time is taken when git starts making it, before its hooks.
            .filter(|c| c.time > last + 2)
            .collect(),
        None => Vec::new(),
    }
}

/// The file in which `status` remembers the newest commit it already warned about.
const WARNED_FILE: &str = "agent-cost-warned";

/// The commits made without the hooks that nobody was told about yet; marks them told.
fn untold_commits_without_hooks(worktree: &Worktree, commits: &[ReflogCommit]) -> usize {
    let Some(newest) = commits.first() else {
        return 0;
    };
    let path = worktree.git_dir.join(WARNED_FILE);
    let told = std::fs::read_to_string(&path).unwrap_or_default();
    if told.trim() == newest.id {
        return 0;
    }
    let _ = std::fs::write(&path, &newest.id);
    commits.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflog_lines_parse() {
        let line = "0000000000000000000000000000000000000000 \
                    1111111111111111111111111111111111111111 A U Thor <a@example.com> \
                    1796123579 +0000\tcommit (initial): First";
        let commit = parse_reflog_line(line).unwrap();
        assert_eq!(commit.id, "1".repeat(40));
        assert_eq!(commit.time, 1_796_123_579);
        assert_eq!(commit.message, "commit (initial): First");
        assert_eq!(parse_reflog_line("garbage"), None);
    }

    #[test]
    fn calls_are_found_outside_comments() {
        assert!(calls_agent_cost(
            "#!/bin/sh\nagent-cost hook commit-msg \"$1\"\n",
            "commit-msg"
        ));
        assert!(!calls_agent_cost(
            "#!/bin/sh\n# agent-cost hook commit-msg \"$1\"\n",
            "commit-msg"
        ));
        assert!(!calls_agent_cost(
            "agent-cost hook prepare-commit-msg \"$@\"\n",
            "commit-msg"
        ));
    }
}
