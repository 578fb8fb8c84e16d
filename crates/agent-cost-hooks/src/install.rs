//! Installing and removing the hook shims.
//!
//! The shims are the files in the repository's `hooks/` directory, embedded at build time;
//! only the binary path placeholder is filled in. It stands between single quotes in the
//! templates, where the shell takes every byte literally but `'` itself; so the path goes in
//! byte for byte (not as UTF-8: any path the OS allows works) with each `'` written `'\''`. A hook that was already installed is renamed
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

/// The shim text for `template`, running `binary`: the placeholder, which the templates put
/// between single quotes, replaced by the path's bytes with each `'` written `'\''` (close the
/// quote, an escaped quote, reopen).
pub fn shim_text(template: &str, binary: &Path) -> Vec<u8> {
    let mut escaped = Vec::new();
    for &byte in path_bytes(binary).iter() {
        if byte == b'\'' {
            escaped.extend_from_slice(b"'\\''");
        } else {
            escaped.push(byte);
        }
    }
    let parts: Vec<&[u8]> = template
        .split(BINARY_PLACEHOLDER)
        .map(str::as_bytes)
        .collect();
    parts.join(escaped.as_slice())
}

/// The bytes of a path, exactly as the OS has them.
#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

/// The bytes of a path: on Windows, its UTF-8 form (Git for Windows' shell reads UTF-8).
#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    match path.to_string_lossy() {
        std::borrow::Cow::Borrowed(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
        std::borrow::Cow::Owned(text) => std::borrow::Cow::Owned(text.into_bytes()),
    }
}

/// Whether the file at `path` is one of our shims (read as bytes: a shim holds the binary's
/// path, which need not be UTF-8).
fn is_shim(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|text| {
        text.windows(SHIM_MARKER.len())
            .any(|window| window == SHIM_MARKER.as_bytes())
    })
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

#[cfg(all(test, unix))]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// The shell reads back exactly the bytes of the path, whatever they are.
    #[test]
    fn any_path_survives_the_shell_byte_for_byte() {
        let paths: [&[u8]; 6] = [
            b"/usr/local/bin/agent-cost",
            b"/opt/we}ird $dir \"q\" 'x' `false` back\\slash ${HOME:-}/agent-cost",
            b"/tmp/''/'''/agent-cost'",
            b"/tmp/bad \xff\xfe\x80 name/agent-cost",
            b"/tmp/new\nline\ttab/*?[a]/agent-cost",
            b"/tmp/-n/%s%d/\\n/agent-cost",
        ];
        for bytes in paths {
            let path = Path::new(OsStr::from_bytes(bytes));
            let script = super::shim_text(
                "#!/bin/sh\nx='@AGENT_COST_BIN@'\nprintf '%s' \"$x\"\n",
                path,
            );
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(OsStr::from_bytes(&script))
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", path.display());
            assert_eq!(output.stdout, bytes, "{}", path.display());
        }
    }

    /// Every template holds the placeholder once, between single quotes.
    #[test]
    fn templates_quote_the_placeholder() {
        for (name, template) in super::SHIMS {
            assert_eq!(
                template.matches(super::BINARY_PLACEHOLDER).count(),
                1,
                "{name}"
            );
            assert!(
                template.contains(&format!("'{}'", super::BINARY_PLACEHOLDER)),
                "{name}"
            );
        }
    }
}
