//! Installing and removing the hook shims.
//!
//! The shims are the files in the repository's `hooks/` directory, embedded at build time;
//! only the binary path placeholder is filled in. A hook that was already installed is renamed
//! to `<hook>.pre-agent-cost` and run by the shim first; `--uninstall` puts it back.

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_cost_git::Worktree;

use crate::error::{HookError, IoResultExt};

/// The hooks agent-cost installs, with the shim text for each.
pub const SHIMS: [(&str, &str); 4] = [
    (
        "prepare-commit-msg",
        include_str!("../../../hooks/prepare-commit-msg"),
    ),
    ("commit-msg", include_str!("../../../hooks/commit-msg")),
    ("post-commit", include_str!("../../../hooks/post-commit")),
    ("post-merge", include_str!("../../../hooks/post-merge")),
];

/// The text that marks a hook file as an agent-cost shim.
pub const SHIM_MARKER: &str = "# agent-cost hook shim";
/// The suffix under which a hook that was there before is kept.
pub const SAVED_SUFFIX: &str = ".pre-agent-cost";
const BINARY_PLACEHOLDER: &str = "@AGENT_COST_BIN@";

/// What installation did to one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookChange {
    /// A new shim was written.
    Installed,
    /// An earlier shim was rewritten (e.g. with a new binary path).
    Updated,
    /// A shim was written and the hook that was there is kept and still run.
    Chained,
    /// The shim was removed.
    Removed,
    /// The shim was removed and the previous hook put back.
    Restored,
    /// Nothing of agent-cost's was there.
    Absent,
}

/// The hooks directory git uses for this worktree (`core.hooksPath` honoured).
pub fn hooks_dir(worktree: &Worktree) -> Result<PathBuf, HookError> {
    let args = ["rev-parse", "--git-path", "hooks"];
    let output = Command::new("git")
        .args(args)
        .current_dir(&worktree.workdir)
        .output()
        .map_err(|e| HookError::Git {
            args: args.join(" "),
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(HookError::Git {
            args: args.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Ok(if path.is_absolute() {
        path
    } else {
        worktree.workdir.join(path)
    })
}

/// The shim text for `hook`, running `binary`.
pub fn shim_text(template: &str, binary: &Path) -> String {
    let escaped: String = binary
        .display()
        .to_string()
        .chars()
        .flat_map(|c| match c {
            '\\' | '"' | '$' | '`' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    template.replace(BINARY_PLACEHOLDER, &escaped)
}

fn is_shim(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(SHIM_MARKER))
}

/// Installs every shim into `dir`, running `binary`. Idempotent.
pub fn install(dir: &Path, binary: &Path) -> Result<Vec<(String, HookChange)>, HookError> {
    std::fs::create_dir_all(dir).at(dir)?;
    let mut changes = Vec::new();
    for (name, template) in SHIMS {
        let path = dir.join(name);
        let saved = dir.join(format!("{name}{SAVED_SUFFIX}"));
        let change = if is_shim(&path) {
            HookChange::Updated
        } else if path.exists() || path.is_symlink() {
            if saved.exists() {
                return Err(HookError::Conflict { path, saved });
            }
            std::fs::rename(&path, &saved).at(&path)?;
            HookChange::Chained
        } else {
            HookChange::Installed
        };
        let text = shim_text(template, binary);
        let aside = dir.join(format!(".{name}.agent-cost-tmp"));
        std::fs::write(&aside, text).at(&aside)?;
        make_executable(&aside)?;
        std::fs::rename(&aside, &path).at(&path)?;
        changes.push((name.to_string(), change));
    }
    Ok(changes)
}

/// Removes every shim from `dir` and restores the hooks that were there before.
pub fn uninstall(dir: &Path) -> Result<Vec<(String, HookChange)>, HookError> {
    let mut changes = Vec::new();
    for (name, _) in SHIMS {
        let path = dir.join(name);
        let saved = dir.join(format!("{name}{SAVED_SUFFIX}"));
        let change = if is_shim(&path) {
            std::fs::remove_file(&path).at(&path)?;
            if saved.exists() || saved.is_symlink() {
                std::fs::rename(&saved, &path).at(&saved)?;
                HookChange::Restored
            } else {
                HookChange::Removed
            }
        } else {
            HookChange::Absent
        };
        changes.push((name.to_string(), change));
    }
    Ok(changes)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), HookError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).at(path)
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), HookError> {
    Ok(())
}
