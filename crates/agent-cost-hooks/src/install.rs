//! Installing and removing the hooks.
//!
//! Two hooks are installed: `prepare-commit-msg` and `commit-msg` (see `docs/hooks.md` for why
//! no `post-commit`). On Unix each is a symbolic link to the `agent-cost` binary, which knows
//! from the name it was started under which hook it is, and runs the hook that was there
//! before (kept as `<hook>.pre-agent-cost`) itself: no shell starts on a commit. Elsewhere
//! each is a POSIX shell shim, a file of the repository's `hooks/` directory embedded at build
//! time with the binary's path filled in. The path stands between single quotes there, where
//! the shell takes every byte literally but `'` itself; so it goes in byte for byte with each
//! `'` written `'\''`. `--uninstall` removes ours and puts back what was there before; the
//! `post-commit` and `post-merge` shims of earlier versions are removed the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_cost_git::Worktree;

use crate::error::{HookError, IoResultExt};

/// The hooks agent-cost installs, with the shim text each gets where links are not used.
pub const SHIMS: [(&str, &str); 2] = [
    (
        "prepare-commit-msg",
        include_str!("../../../hooks/prepare-commit-msg"),
    ),
    ("commit-msg", include_str!("../../../hooks/commit-msg")),
];

/// Hooks that earlier versions installed and this one removes: settling a commit's drain waits
/// for the next `prepare-commit-msg` (or `status`), which finds it in history.
pub const RETIRED: [&str; 2] = ["post-commit", "post-merge"];

/// Every hook name the binary answers to when started under it (or as `agent-cost hook NAME`).
pub const HOOK_NAMES: [&str; 4] = [
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-merge",
];

/// The text that marks a hook file as an agent-cost shim.
pub const SHIM_MARKER: &str = "# agent-cost hook shim";
/// The suffix under which a hook that was there before is kept (a second one, which replaced
/// ours later, gets `.2` after it, and so on).
pub const SAVED_SUFFIX: &str = ".pre-agent-cost";
const BINARY_PLACEHOLDER: &str = "@AGENT_COST_BIN@";

/// What installation did to one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookChange {
    /// A new hook was written.
    Installed,
    /// An earlier hook of ours was rewritten (e.g. with a new binary path).
    Updated,
    /// Ours was written and the hook that was there is kept and still run.
    Chained,
    /// pre-commit owns the hook: ours was written as `<hook>.legacy`, which pre-commit runs
    /// before its own hooks.
    UnderPreCommit,
    /// Ours was removed.
    Removed,
    /// Ours was removed and the previous hook put back.
    Restored,
    /// Ours was removed and the first hook kept put back; these others, which replaced ours
    /// after installation, stay beside it for the user to merge.
    RestoredWithOthers(Vec<PathBuf>),
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

/// Whether the hook at `path` is ours: a link to a binary named `agent-cost…`, or a shim
/// (read as bytes: a shim holds the binary's path, which need not be UTF-8).
pub fn is_ours(path: &Path) -> bool {
    if let Ok(target) = std::fs::read_link(path) {
        let named_ours = target
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("agent-cost"));
        // A binary under another name: this one, or one that carries the shim templates.
        return named_ours || is_this_binary(path) || contains_marker(path);
    }
    contains_marker(path)
}

fn contains_marker(path: &Path) -> bool {
    std::fs::read(path)
        .is_ok_and(|bytes| memchr::memmem::find(&bytes, SHIM_MARKER.as_bytes()).is_some())
}

fn is_this_binary(path: &Path) -> bool {
    match (std::env::current_exe(), path.canonicalize()) {
        (Ok(current), Ok(target)) => current.canonicalize().is_ok_and(|c| c == target),
        _ => false,
    }
}

/// Installs every hook into `dir`, running `binary`, and removes the retired ones. Idempotent.
pub fn install(dir: &Path, binary: &Path) -> Result<Vec<(String, HookChange)>, HookError> {
    std::fs::create_dir_all(dir).at(dir)?;
    let mut changes = Vec::new();
    for (name, template) in SHIMS {
        let path = dir.join(name);
        // A link to agent-cost kept as a previous hook (from an install that did not know it).
        drop_saved(dir, name, is_ours)?;
        if is_pre_commits(&path) {
            changes.push((
                name.to_string(),
                install_under_pre_commit(dir, name, template, binary)?,
            ));
            continue;
        }
        let change = if is_ours(&path) {
            HookChange::Updated
        } else if path.exists() || path.is_symlink() {
            // A hook that replaced ours after installation (Gerrit's `curl -Lo`, a manager) is
            // kept behind the ones already saved, unless it is a copy of one of them.
            let kept = saved_hooks(dir, name);
            if kept.iter().any(|other| same_bytes(other, &path)) {
                std::fs::remove_file(&path).at(&path)?;
            } else {
                let slot = saved_slot(dir, name, kept.len());
                std::fs::rename(&path, &slot).at(&path)?;
            }
            HookChange::Chained
        } else {
            HookChange::Installed
        };
        place_hook(dir, name, &path, template, binary)?;
        changes.push((name.to_string(), change));
    }
    for name in RETIRED {
        let change = remove(dir, name)?;
        if change != HookChange::Absent {
            changes.push((name.to_string(), change));
        }
    }
    Ok(changes)
}

/// pre-commit's own hook script (`pre-commit install -t <hook>`).
fn is_pre_commits(path: &Path) -> bool {
    !is_ours(path)
        && std::fs::read(path).is_ok_and(|text| {
            text.windows(PRE_COMMIT_MARKER.len())
                .any(|window| window == PRE_COMMIT_MARKER.as_bytes())
        })
}

/// The line pre-commit writes into its hook scripts.
const PRE_COMMIT_MARKER: &str = "File generated by pre-commit";

/// Where pre-commit owns the hook, ours becomes `<hook>.legacy`, which pre-commit runs first
/// ("migration mode") with git's arguments. Chaining pre-commit's script behind ours instead
/// breaks every commit once `pre-commit install` runs again (it moves ours to `.legacy`, which
/// then runs pre-commit's script inside itself). A `.legacy` hook of the user's is kept and run
/// by ours first.
fn install_under_pre_commit(
    dir: &Path,
    name: &str,
    template: &str,
    binary: &Path,
) -> Result<HookChange, HookError> {
    // pre-commit's script chained behind ours by an earlier install would now run twice, the
    // second time in migration mode, which fails the commit.
    drop_saved(dir, name, is_pre_commits)?;
    let legacy = dir.join(format!("{name}.legacy"));
    let change = if is_ours(&legacy) {
        HookChange::Updated
    } else if legacy.exists() || legacy.is_symlink() {
        let kept = saved_hooks(dir, name);
        std::fs::rename(&legacy, saved_slot(dir, name, kept.len())).at(&legacy)?;
        HookChange::UnderPreCommit
    } else {
        HookChange::UnderPreCommit
    };
    place_hook(dir, name, &legacy, template, binary)?;
    Ok(change)
}

/// Writes our hook for `name` at `path`, all at once (written aside, then renamed over).
fn place_hook(
    dir: &Path,
    name: &str,
    path: &Path,
    template: &str,
    binary: &Path,
) -> Result<(), HookError> {
    let aside = dir.join(format!(".{name}.agent-cost-tmp"));
    let _ = std::fs::remove_file(&aside);
    write_hook(&aside, template, binary)?;
    std::fs::rename(&aside, path).at(path)
}

/// A link to the binary (Unix).
#[cfg(unix)]
fn write_hook(path: &Path, _template: &str, binary: &Path) -> Result<(), HookError> {
    std::os::unix::fs::symlink(binary, path).at(path)
}

/// A shell shim running the binary (elsewhere).
#[cfg(not(unix))]
fn write_hook(path: &Path, template: &str, binary: &Path) -> Result<(), HookError> {
    std::fs::write(path, shim_text(template, binary)).at(path)
}

/// Removes ours from `dir` (also the retired hooks) and restores the hooks that were there
/// before.
pub fn uninstall(dir: &Path) -> Result<Vec<(String, HookChange)>, HookError> {
    let mut changes = Vec::new();
    // Ours moved aside by lefthook (`<hook>.old`), which `lefthook uninstall` would put back.
    for name in SHIMS.iter().map(|(name, _)| *name).chain(RETIRED) {
        let old = dir.join(format!("{name}.old"));
        if is_ours(&old) {
            std::fs::remove_file(&old).at(&old)?;
        }
    }
    for (name, _) in SHIMS {
        changes.push((name.to_string(), remove(dir, name)?));
    }
    for name in RETIRED {
        let change = remove(dir, name)?;
        if change != HookChange::Absent {
            changes.push((name.to_string(), change));
        }
    }
    Ok(changes)
}

fn remove(dir: &Path, name: &str) -> Result<HookChange, HookError> {
    // Ours is the hook itself, or its `.legacy` under pre-commit.
    let slot = [dir.join(name), dir.join(format!("{name}.legacy"))]
        .into_iter()
        .find(|path| is_ours(path));
    let Some(slot) = slot else {
        return Ok(HookChange::Absent);
    };
    std::fs::remove_file(&slot).at(&slot)?;
    let mut kept = saved_hooks(dir, name).into_iter();
    match kept.next() {
        Some(first) => {
            std::fs::rename(&first, &slot).at(&first)?;
            let later: Vec<PathBuf> = kept.collect();
            Ok(if later.is_empty() {
                HookChange::Restored
            } else {
                HookChange::RestoredWithOthers(later)
            })
        }
        None => Ok(HookChange::Removed),
    }
}

/// The hooks of the user's kept for `name`, in the order they run: `<name>.pre-agent-cost`,
/// then `<name>.pre-agent-cost.2`, `.3`, … (hooks that replaced ours after installation).
pub fn saved_hooks(dir: &Path, name: &str) -> Vec<PathBuf> {
    (1..)
        .map(|number| saved_slot(dir, name, number - 1))
        .take_while(|path| path.exists() || path.is_symlink())
        .collect()
}

/// Removes the kept hooks of `name` that `unwanted` picks, and numbers the rest again.
fn drop_saved(dir: &Path, name: &str, unwanted: fn(&Path) -> bool) -> Result<(), HookError> {
    let kept = saved_hooks(dir, name);
    for saved in kept.iter().filter(|saved| unwanted(saved)) {
        std::fs::remove_file(saved).at(saved)?;
    }
    let left = kept
        .iter()
        .filter(|saved| saved.exists() || saved.is_symlink());
    for (index, saved) in left.enumerate() {
        let slot = saved_slot(dir, name, index);
        if *saved != slot {
            std::fs::rename(saved, &slot).at(saved)?;
        }
    }
    Ok(())
}

/// The path of the saved hook number `index` (0-based) of `name`.
fn saved_slot(dir: &Path, name: &str, index: usize) -> PathBuf {
    match index {
        0 => dir.join(format!("{name}{SAVED_SUFFIX}")),
        _ => dir.join(format!("{name}{SAVED_SUFFIX}.{}", index + 1)),
    }
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The binary a hook link should point to: the `agent-cost` that `PATH` finds when it is this
/// very file (a package manager's stable link survives upgrades that move the real file),
/// else this executable.
pub fn binary_to_link(current: &Path) -> PathBuf {
    let same_file = |candidate: &Path| match (candidate.canonicalize(), current.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("agent-cost"))
        .find(|candidate| candidate.is_file())
        .filter(|candidate| same_file(candidate))
        .unwrap_or_else(|| current.to_path_buf())
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
