//! What the `git` process running a hook was asked to do, where git does not tell its hooks.
//!
//! `git commit --amend -m …` (or `-F`) gives `prepare-commit-msg` the source `message`, exactly
//! as a new commit would: nothing says that `HEAD` is being replaced, and its trailer block with
//! it. On Linux the hook's ancestors are visible in `/proc`: the nearest `git` process among the
//! first few is the one running the hook, and its arguments say whether it amends. Elsewhere
//! the answer is "no" (see `docs/hooks.md`).

/// True when the `git` process running this hook is a `git commit --amend`.
pub fn is_amend() -> bool {
    git_arguments().is_some_and(|args| {
        let mut seen_commit = false;
        for arg in &args {
            if arg == "--" {
                break;
            }
            if arg == "commit" {
                seen_commit = true;
            } else if seen_commit
                && arg.len() >= 4
                && "--amend".starts_with(arg.as_str())
                && arg.starts_with("--am")
            {
                return true;
            }
        }
        false
    })
}

/// The arguments of the nearest `git` ancestor (shims and hook managers can stand between).
#[cfg(target_os = "linux")]
fn git_arguments() -> Option<Vec<String>> {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..6 {
        if pid <= 1 {
            return None;
        }
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let program = args.first().map(|a| a.rsplit('/').next().unwrap_or(a));
        if program == Some("git") {
            return Some(args);
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        pid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse().ok())?;
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn git_arguments() -> Option<Vec<String>> {
    None
}
