//! Where agent-cost looks and writes: every environment variable it reads is a constant in
//! [`env_vars`], and [`Locations::from_env`] resolves them once (override → XDG → home), so
//! tests can point the whole program at a fake home by setting variables.

use std::path::{Path, PathBuf};

/// Names of the environment variables agent-cost reads.
pub mod env_vars {
    /// agent-cost's own state directory (the ledger database `ledger.db`, `config.toml`).
    pub const AGENT_COST_HOME: &str = "AGENT_COST_HOME";
    /// Claude Code config dirs, comma separated, each holding `projects/` (or being it).
    pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
    /// Codex CLI home (`sessions/`, `archived_sessions/`, `config.toml`); default `~/.codex`.
    pub const CODEX_HOME: &str = "CODEX_HOME";
    /// GitHub Copilot CLI home (`session-state/`, `history-session-state/`); default
    /// `~/.copilot`.
    pub const COPILOT_HOME: &str = "COPILOT_HOME";
    /// XDG config directory (Linux): VS Code's user data lies in `$XDG_CONFIG_HOME/Code/User`
    /// (default `~/.config`).
    pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
    /// Gemini CLI's home: the directory holding `.gemini/` (Gemini CLI's own override of the
    /// user's home); default the user's home.
    pub const GEMINI_CLI_HOME: &str = "GEMINI_CLI_HOME";
    /// OpenCode's database file (OpenCode's own variable): an absolute path, or a name relative
    /// to OpenCode's data directory; `:memory:` means no file.
    pub const OPENCODE_DB: &str = "OPENCODE_DB";
    /// OpenCode's data directory (`opencode.db`, `storage/`) when it is not the default
    /// `$XDG_DATA_HOME/opencode` (OpenCode itself has no variable for it).
    pub const AGENT_COST_OPENCODE_DIR: &str = "AGENT_COST_OPENCODE_DIR";
    /// XDG data directory, used for the default state directory.
    pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
    /// The user's home directory.
    pub const HOME: &str = "HOME";
    /// Time budget of one hook run in milliseconds (default 100).
    pub const AGENT_COST_HOOK_BUDGET_MS: &str = "AGENT_COST_HOOK_BUDGET_MS";
    /// Set to `1` to make hooks do nothing (an escape hatch, like `--no-verify`).
    pub const AGENT_COST_DISABLE: &str = "AGENT_COST_DISABLE";
    /// The git dir git runs a hook for, when it set one (read to find the worktree).
    pub const GIT_DIR: &str = "GIT_DIR";
    /// Another `agent-cost` binary for the installed hooks to run instead of the one installed.
    pub const AGENT_COST_BIN: &str = "AGENT_COST_BIN";
    /// Another `agent-cost-otlp` sender for `agent-cost export --otlp` to run instead of the
    /// one beside the `agent-cost` binary.
    pub const AGENT_COST_OTLP_BIN: &str = "AGENT_COST_OTLP_BIN";
    /// The working tree git runs a hook for, when it set one apart from the git dir.
    pub const GIT_WORK_TREE: &str = "GIT_WORK_TREE";
    /// Makes `agent-cost watch` also look every this many milliseconds, for file systems that
    /// do not notify changes (it does so on its own, every 5 s, for network mounts it knows).
    pub const AGENT_COST_WATCH_POLL_MS: &str = "AGENT_COST_WATCH_POLL_MS";
    /// Fault tests only: `POINT:N` aborts the process at the Nth pass of the crash point
    /// `POINT` (see the `agent-cost-fault` crate).
    pub const AGENT_COST_FAULT: &str = "AGENT_COST_FAULT";
    /// Set (to anything) when running the CLI reference test to rewrite `docs/cli.md`.
    pub const UPDATE_CLI_REFERENCE: &str = "UPDATE_CLI_REFERENCE";
    /// The author git will record for the next commit, as git reads it (budgets per author
    /// and day).
    pub const GIT_AUTHOR_NAME: &str = "GIT_AUTHOR_NAME";
    /// The author's email git will record for the next commit.
    pub const GIT_AUTHOR_EMAIL: &str = "GIT_AUTHOR_EMAIL";
    /// The time zone "today" is in (budgets per day, week and month); without it,
    /// `/etc/localtime`.
    pub const TZ: &str = "TZ";
}

/// A settings file's text, `None` when there is no such file (any other error is returned).
pub fn read_if_exists(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The directory a user must set when no default can be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a directory for agent-cost's state: set AGENT_COST_HOME (or HOME / XDG_DATA_HOME)"
)]
pub struct NoStateDir;

/// Directories agent-cost uses, resolved from the environment.
#[derive(Debug, Clone)]
pub struct Locations {
    /// agent-cost's own state: cursors, the unattributed tally, `config.toml`.
    pub state_dir: PathBuf,
    /// Claude Code `projects/` directories to scan, in order, existing or not.
    pub claude_projects: Vec<PathBuf>,
    /// Claude Code's user settings (`settings.json` in the first `CLAUDE_CONFIG_DIR` entry,
    /// else `~/.claude`), existing or not.
    pub claude_settings: Option<PathBuf>,
    /// The Codex CLI home (`$CODEX_HOME`, else `~/.codex`), existing or not.
    pub codex_home: Option<PathBuf>,
    /// Gemini CLI's `.gemini` directory (`$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`),
    /// existing or not.
    pub gemini_dir: Option<PathBuf>,
    /// OpenCode's data directory (`$AGENT_COST_OPENCODE_DIR`, else `$XDG_DATA_HOME/opencode`,
    /// else `~/.local/share/opencode`), existing or not.
    pub opencode_dir: Option<PathBuf>,
    /// The database `OPENCODE_DB` names, if it names a file.
    pub opencode_db: Option<PathBuf>,
    /// The GitHub Copilot CLI home (`$COPILOT_HOME`, else `~/.copilot`), existing or not.
    pub copilot_home: Option<PathBuf>,
    /// VS Code `User` directories that may hold Copilot Chat sessions (stable, Insiders,
    /// VSCodium, and a remote server's), existing or not.
    pub vscode_user_dirs: Vec<PathBuf>,
}

impl Locations {
    /// Resolves every location from the process environment.
    pub fn from_env() -> Result<Locations, NoStateDir> {
        Locations::from_lookup(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
    }

    /// Resolves every location from `lookup` (the environment, or a test's map).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Locations, NoStateDir> {
        let home = lookup(env_vars::HOME)
            .map(PathBuf::from)
            .or_else(dirs::home_dir);
        let state_dir = match lookup(env_vars::AGENT_COST_HOME) {
            Some(dir) => PathBuf::from(dir),
            None => lookup(env_vars::XDG_DATA_HOME)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".local").join("share")))
                .or_else(dirs::data_dir)
                .ok_or(NoStateDir)?
                .join("agent-cost"),
        };
        let claude_projects = match lookup(env_vars::CLAUDE_CONFIG_DIR) {
            Some(list) => list
                .to_string_lossy()
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| claude_projects_dir(Path::new(entry)))
                .collect(),
            None => home
                .iter()
                .flat_map(|h| {
                    [
                        h.join(".config").join("claude").join("projects"),
                        h.join(".claude").join("projects"),
                    ]
                })
                .collect(),
        };
        let claude_settings = match lookup(env_vars::CLAUDE_CONFIG_DIR) {
            Some(list) => list
                .to_string_lossy()
                .split(',')
                .map(str::trim)
                .find(|entry| !entry.is_empty())
                .map(|entry| {
                    let dir = Path::new(entry);
                    match dir.file_name() {
                        Some(name) if name == "projects" && !dir.join("projects").is_dir() => {
                            dir.parent().unwrap_or(dir).join("settings.json")
                        }
                        _ => dir.join("settings.json"),
                    }
                }),
            None => home
                .as_ref()
                .map(|h| h.join(".claude").join("settings.json")),
        };
        let codex_home = lookup(env_vars::CODEX_HOME)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".codex")));
        let gemini_dir = lookup(env_vars::GEMINI_CLI_HOME)
            .map(PathBuf::from)
            .or_else(|| home.clone())
            .map(|h| h.join(".gemini"));
        let xdg_data = lookup(env_vars::XDG_DATA_HOME)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".local").join("share")));
        let opencode_dir = lookup(env_vars::AGENT_COST_OPENCODE_DIR)
            .map(PathBuf::from)
            .or_else(|| xdg_data.map(|d| d.join("opencode")));
        let opencode_db = lookup(env_vars::OPENCODE_DB).and_then(|name| {
            let name = PathBuf::from(name);
            if name.as_os_str() == ":memory:" {
                None
            } else if name.is_absolute() {
                Some(name)
            } else {
                opencode_dir.as_ref().map(|dir| dir.join(name))
            }
        });
        let copilot_home = lookup(env_vars::COPILOT_HOME)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".copilot")));
        let config_home = lookup(env_vars::XDG_CONFIG_HOME).map(PathBuf::from);
        let vscode_user_dirs = vscode_user_dirs(home.as_deref(), config_home.as_deref());
        Ok(Locations {
            state_dir,
            claude_projects,
            claude_settings,
            codex_home,
            gemini_dir,
            opencode_dir,
            opencode_db,
            copilot_home,
            vscode_user_dirs,
        })
    }

    /// The user-wide configuration file (`$AGENT_COST_HOME/config.toml`).
    pub fn config_file(&self) -> PathBuf {
        self.state_dir.join("config.toml")
    }
}

/// VS Code's editions whose `User` directories hold Copilot Chat sessions.
const VSCODE_EDITIONS: [&str; 3] = ["Code", "Code - Insiders", "VSCodium"];

/// The `User` directories of every VS Code edition: under `$XDG_CONFIG_HOME` (else
/// `~/.config`) on Linux and other Unixes, `~/Library/Application Support` on macOS, and a
/// remote server's `~/.vscode-server/data/User`.
fn vscode_user_dirs(home: Option<&Path>, config_home: Option<&Path>) -> Vec<PathBuf> {
    let Some(home) = home else {
        return Vec::new();
    };
    let config = if cfg!(target_os = "macos") {
        home.join("Library").join("Application Support")
    } else {
        config_home.map_or_else(|| home.join(".config"), Path::to_path_buf)
    };
    VSCODE_EDITIONS
        .iter()
        .map(|edition| config.join(edition).join("User"))
        .chain([home.join(".vscode-server").join("data").join("User")])
        .collect()
}

/// A `CLAUDE_CONFIG_DIR` entry names a config dir holding `projects/`, or `projects/` itself.
fn claude_projects_dir(entry: &Path) -> PathBuf {
    let nested = entry.join("projects");
    if nested.is_dir() || entry.file_name() != Some("projects".as_ref()) {
        nested
    } else {
        entry.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn locate(vars: &[(&str, &str)]) -> Locations {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Locations::from_lookup(|name| map.get(name).map(Into::into)).unwrap()
    }

    #[test]
    fn agent_cost_home_wins_over_xdg_and_home() {
        let l = locate(&[
            ("HOME", "/h"),
            ("XDG_DATA_HOME", "/x"),
            ("AGENT_COST_HOME", "/a"),
        ]);
        assert_eq!(l.state_dir, PathBuf::from("/a"));
        let l = locate(&[("HOME", "/h"), ("XDG_DATA_HOME", "/x")]);
        assert_eq!(l.state_dir, PathBuf::from("/x/agent-cost"));
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(l.state_dir, PathBuf::from("/h/.local/share/agent-cost"));
    }

    #[test]
    fn claude_dirs_follow_claude_code() {
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(
            l.claude_projects,
            vec![
                PathBuf::from("/h/.config/claude/projects"),
                PathBuf::from("/h/.claude/projects")
            ]
        );
        let l = locate(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/c1, /c2/projects,")]);
        assert_eq!(
            l.claude_projects,
            vec![PathBuf::from("/c1/projects"), PathBuf::from("/c2/projects")]
        );
    }

    #[test]
    fn codex_home_is_the_variable_else_dot_codex() {
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(l.codex_home, Some(PathBuf::from("/h/.codex")));
        let l = locate(&[("HOME", "/h"), ("CODEX_HOME", "/c")]);
        assert_eq!(l.codex_home, Some(PathBuf::from("/c")));
    }

    #[test]
    fn gemini_dir_is_under_gemini_cli_home_else_home() {
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(l.gemini_dir, Some(PathBuf::from("/h/.gemini")));
        let l = locate(&[("HOME", "/h"), ("GEMINI_CLI_HOME", "/g")]);
        assert_eq!(l.gemini_dir, Some(PathBuf::from("/g/.gemini")));
    }

    #[test]
    fn opencode_follows_xdg_and_its_own_variables() {
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(
            l.opencode_dir,
            Some(PathBuf::from("/h/.local/share/opencode"))
        );
        assert_eq!(l.opencode_db, None);
        let l = locate(&[("HOME", "/h"), ("XDG_DATA_HOME", "/x")]);
        assert_eq!(l.opencode_dir, Some(PathBuf::from("/x/opencode")));
        let l = locate(&[
            ("HOME", "/h"),
            ("AGENT_COST_OPENCODE_DIR", "/o"),
            ("OPENCODE_DB", "other.db"),
        ]);
        assert_eq!(l.opencode_dir, Some(PathBuf::from("/o")));
        assert_eq!(l.opencode_db, Some(PathBuf::from("/o/other.db")));
        let l = locate(&[("HOME", "/h"), ("OPENCODE_DB", "/d/oc.db")]);
        assert_eq!(l.opencode_db, Some(PathBuf::from("/d/oc.db")));
        let l = locate(&[("HOME", "/h"), ("OPENCODE_DB", ":memory:")]);
        assert_eq!(l.opencode_db, None);
    }

    #[test]
    fn copilot_homes_follow_the_variables_else_the_home() {
        let l = locate(&[("HOME", "/h")]);
        assert_eq!(l.copilot_home, Some(PathBuf::from("/h/.copilot")));
        let l = locate(&[("HOME", "/h"), ("COPILOT_HOME", "/c")]);
        assert_eq!(l.copilot_home, Some(PathBuf::from("/c")));
        assert_eq!(l.vscode_user_dirs.len(), 4);
        assert_eq!(
            l.vscode_user_dirs[3],
            PathBuf::from("/h/.vscode-server/data/User")
        );
        if !cfg!(target_os = "macos") {
            assert_eq!(l.vscode_user_dirs[0], PathBuf::from("/h/.config/Code/User"));
            let l = locate(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")]);
            assert_eq!(
                l.vscode_user_dirs[1],
                PathBuf::from("/x/Code - Insiders/User")
            );
        }
    }
}
