//! Hook managers that own a repository's hooks, and how agent-cost joins each (see
//! `docs/hooks.md`, one section per manager):
//!
//! - **husky** (`core.hooksPath` = `.husky/_`): its stubs run `.husky/<hook>` with `sh -e`, so
//!   our call goes first into `.husky/prepare-commit-msg` and `.husky/commit-msg`, guarded so
//!   that a teammate without agent-cost commits as before. Those files are the team's, tracked.
//! - **lefthook** (a `lefthook.yml` or its variants): it renames any hook it did not write to
//!   `<hook>.old` and never runs it, so our commands go into `lefthook-local.yml`, the
//!   developer's own file, and `lefthook install` writes its hooks for them.
//! - **pre-commit** is handled per hook by [`crate::install`]: ours becomes the `.legacy` hook
//!   pre-commit runs first.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{HookError, IoResultExt};
use crate::install::SHIMS;

/// Who owns the hooks of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// git runs the hooks in the hooks directory; agent-cost links its own there.
    Git,
    /// husky: the user's hook scripts are in this directory (`.husky`).
    Husky(PathBuf),
    /// lefthook: configured in this working tree.
    Lefthook,
}

/// Who owns the hooks, from the hooks directory git reads and the working tree.
pub fn owner(hooks_dir: &Path, workdir: &Path) -> Owner {
    if is_husky_hooks_dir(hooks_dir)
        && let Some(parent) = hooks_dir.parent()
    {
        return Owner::Husky(parent.to_path_buf());
    }
    let lefthook_configured = LEFTHOOK_CONFIGS
        .iter()
        .take(4)
        .any(|config| workdir.join(config).is_file());
    let lefthook_hooks = SHIMS.iter().any(|(name, _)| {
        std::fs::read_to_string(hooks_dir.join(name))
            .is_ok_and(|text| written_by(&text) == Some("lefthook"))
    });
    if lefthook_configured || lefthook_hooks {
        return Owner::Lefthook;
    }
    Owner::Git
}

/// The configuration files lefthook reads, in the order it merges them.
pub const LEFTHOOK_CONFIGS: [&str; 8] = [
    "lefthook.yml",
    ".lefthook.yml",
    "lefthook.yaml",
    ".lefthook.yaml",
    "lefthook-local.yml",
    ".lefthook-local.yml",
    "lefthook-local.yaml",
    ".lefthook-local.yaml",
];

/// husky 9's hooks directory: `.husky/_`, holding its runner `h`.
pub fn is_husky_hooks_dir(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "_")
        && (dir.join("h").is_file()
            || dir
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == ".husky"))
}

/// The manager whose hook script this is, from its text: `husky`, `lefthook` or `pre-commit`.
pub fn written_by(text: &str) -> Option<&'static str> {
    ["husky", "lefthook", "pre-commit"]
        .into_iter()
        .find(|manager| text.contains(manager))
}

const HUSKY_COMMENT: &str =
    "# agent-cost: writes AI spend into the message as trailers (nothing without agent-cost)";

fn husky_line(hook: &str) -> String {
    format!("if command -v agent-cost >/dev/null 2>&1; then agent-cost hook {hook} \"$@\"; fi")
}

/// What was done to one file of a manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerChange {
    /// The file.
    pub path: PathBuf,
    /// What happened, in words.
    pub what: String,
}

/// Puts our call first into husky's `.husky/prepare-commit-msg` and `.husky/commit-msg`
/// (first, so that commitlint in `commit-msg` sees the trailers). Idempotent.
pub fn install_husky(husky_dir: &Path) -> Result<Vec<ManagerChange>, HookError> {
    let mut changes = Vec::new();
    for (hook, _) in SHIMS {
        let path = husky_dir.join(hook);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let line = husky_line(hook);
        if text.lines().any(|l| l.trim() == line) {
            changes.push(ManagerChange {
                path,
                what: "already runs agent-cost first".into(),
            });
            continue;
        }
        let (shebang, rest) = match text.split_once('\n') {
            Some((first, rest)) if first.starts_with("#!") => (format!("{first}\n"), rest),
            _ => (String::new(), text.as_str()),
        };
        let new_text = format!("{shebang}{HUSKY_COMMENT}\n{line}\n{rest}");
        std::fs::write(&path, new_text).at(&path)?;
        changes.push(ManagerChange {
            what: if text.is_empty() {
                "created; runs agent-cost (commit it: teammates without agent-cost are unaffected)"
                    .into()
            } else {
                "runs agent-cost first, then what was there (commit the change)".into()
            },
            path,
        });
    }
    Ok(changes)
}

/// Takes our lines out of husky's hook files (deleting a file that held nothing else).
pub fn uninstall_husky(husky_dir: &Path) -> Result<Vec<ManagerChange>, HookError> {
    let mut changes = Vec::new();
    for (hook, _) in SHIMS {
        let path = husky_dir.join(hook);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let line = husky_line(hook);
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| l.trim() != line && l.trim() != HUSKY_COMMENT)
            .collect();
        if kept.len() == text.lines().count() {
            continue;
        }
        let only_shebang = kept
            .iter()
            .all(|l| l.starts_with("#!") || l.trim().is_empty());
        if only_shebang {
            std::fs::remove_file(&path).at(&path)?;
            changes.push(ManagerChange {
                path,
                what: "removed (it held only agent-cost's call)".into(),
            });
        } else {
            std::fs::write(&path, format!("{}\n", kept.join("\n"))).at(&path)?;
            changes.push(ManagerChange {
                path,
                what: "agent-cost's call removed".into(),
            });
        }
    }
    Ok(changes)
}

const LEFTHOOK_BEGIN: &str = "# agent-cost: begin (added by `agent-cost install-hooks`)";
const LEFTHOOK_END: &str = "# agent-cost: end";

/// Our commands for lefthook. Arguments are quoted (lefthook pastes them in as they are); a
/// placeholder git had no argument for stays literal, and the hook ignores it.
fn lefthook_block() -> String {
    format!(
        "{LEFTHOOK_BEGIN}\nprepare-commit-msg:\n  commands:\n    agent-cost:\n      \
         run: agent-cost hook prepare-commit-msg \"{{1}}\" \"{{2}}\" \"{{3}}\"\ncommit-msg:\n  \
         commands:\n    agent-cost:\n      run: agent-cost hook commit-msg \"{{1}}\"\n{LEFTHOOK_END}\n"
    )
}

/// The outcome of joining lefthook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LefthookSetup {
    /// Our commands were written into this file (or were there already).
    Written(ManagerChange),
    /// The file already configures these hooks: the user adds our commands (these lines).
    AddByHand {
        /// The file to edit.
        path: PathBuf,
        /// What to add under the hooks it configures.
        lines: String,
    },
}

/// Adds our commands to `lefthook-local.yml` (created if missing), unless that file already
/// configures `prepare-commit-msg` or `commit-msg` itself.
pub fn install_lefthook(workdir: &Path) -> Result<LefthookSetup, HookError> {
    let path = workdir.join("lefthook-local.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.contains(LEFTHOOK_BEGIN) {
        return Ok(LefthookSetup::Written(ManagerChange {
            path,
            what: "already runs agent-cost".into(),
        }));
    }
    let configures_ours = text.lines().any(|line| {
        SHIMS
            .iter()
            .any(|(hook, _)| line.trim_end() == format!("{hook}:"))
    });
    if configures_ours {
        return Ok(LefthookSetup::AddByHand {
            path,
            lines: lefthook_block(),
        });
    }
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::write(&path, format!("{text}{separator}{}", lefthook_block())).at(&path)?;
    Ok(LefthookSetup::Written(ManagerChange {
        path,
        what: if text.is_empty() {
            "created with agent-cost's commands (your own lefthook file; keep it out of git)".into()
        } else {
            "agent-cost's commands added".into()
        },
    }))
}

/// Takes our commands out of `lefthook-local.yml` (deleting the file if nothing else is left).
pub fn uninstall_lefthook(workdir: &Path) -> Result<Option<ManagerChange>, HookError> {
    let path = workdir.join("lefthook-local.yml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Some(start) = text.find(LEFTHOOK_BEGIN) else {
        return Ok(None);
    };
    let end = text[start..]
        .find(LEFTHOOK_END)
        .map_or(text.len(), |at| start + at + LEFTHOOK_END.len());
    let rest = format!("{}{}", &text[..start], text[end..].trim_start_matches('\n'));
    if rest.trim().is_empty() {
        std::fs::remove_file(&path).at(&path)?;
        return Ok(Some(ManagerChange {
            path,
            what: "removed (it held only agent-cost's commands)".into(),
        }));
    }
    std::fs::write(&path, rest).at(&path)?;
    Ok(Some(ManagerChange {
        path,
        what: "agent-cost's commands removed".into(),
    }))
}

/// Runs `lefthook install` (from `PATH` or the repository's `node_modules/.bin`) so that it
/// writes its hooks for the commands just added. `Err` carries why it could not.
pub fn run_lefthook_install(workdir: &Path) -> Result<(), String> {
    let local = workdir.join("node_modules/.bin/lefthook");
    let program = if local.is_file() {
        local
    } else {
        PathBuf::from("lefthook")
    };
    let output = Command::new(&program)
        .arg("install")
        .current_dir(workdir)
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", program.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`lefthook install` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
