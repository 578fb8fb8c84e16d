//! The git hooks: the binary started under a hook's name (the links `install-hooks` makes),
//! or `agent-cost hook <name>` (shims, hook managers). Never fails a commit of its own accord:
//! any problem is one warning line on stderr and exit status 0, and a stderr that cannot be
//! written (a full disk, a closed pipe) loses the warning, never the commit. Only a hook of the
//! user's that ran first and failed makes it fail, with that hook's status.
//!
//! A commit waits on this, so a hook run skips the command-line parser.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use agent_cost_hooks::health::is_executable;
use agent_cost_hooks::install::{HOOK_NAMES, SAVED_SUFFIX, is_ours, saved_hooks};
use agent_cost_hooks::run::{DEFAULT_BUDGET, HookRun, Writer, settle_head, write_drain};
use agent_cost_paths::{Locations, env_vars};

use crate::output::errln;

/// Run agent-cost's part of a git hook: the entry point for hook managers and scripts.
///
/// `install-hooks` links the hooks to the binary, which needs no call. Where a hook manager
/// owns the hooks (husky, lefthook, pre-commit) or a script of yours does, call this with the
/// arguments git passed to the hook, from the repository's working tree:
///
///   agent-cost hook prepare-commit-msg "$1" "$2" "$3"    (writes the pending spend as trailers)
///   agent-cost hook commit-msg "$1"                      (after the editor; needed too)
///
/// It never fails a commit: problems are one warning line on stderr and exit status 0. Set
/// AGENT_COST_DISABLE=1 to skip it for one command. See docs/hooks.md for each manager.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct HookArgs {
    /// The hook: prepare-commit-msg or commit-msg (post-commit and post-merge settle at once,
    /// for older setups that still call them).
    name: String,
    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Runs a hook if that is what the binary was started as: under a hook's name, or as
/// `agent-cost hook <name> …` with a name git uses. `None` leaves the command line to the
/// parser (`hook --help`, a misspelt name).
pub fn run_if_hook() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let started_as = PathBuf::from(args.next()?);
    if is_saved_copy_of_ours(started_as.file_name()?) {
        // A link to us kept as a "previous hook": we already run as the hook itself.
        return Some(ExitCode::SUCCESS);
    }
    if let Some(name) = hook_name(started_as.file_name()?) {
        return Some(run_linked(name, &started_as, args.collect()));
    }
    if args.next()? != "hook" {
        return None;
    }
    let name = hook_name(&args.next()?)?;
    Some(run(HookArgs {
        name: name.to_string(),
        args: args.collect(),
    }))
}

/// `commit-msg.pre-agent-cost` or `commit-msg.pre-agent-cost.2`: a name under which only a
/// kept hook of the user's runs.
fn is_saved_copy_of_ours(name: &OsStr) -> bool {
    name.to_str().is_some_and(|name| {
        HOOK_NAMES.iter().any(|hook| {
            name.strip_prefix(hook)
                .and_then(|rest| rest.strip_prefix(SAVED_SUFFIX))
                .is_some_and(|rest| {
                    rest.is_empty()
                        || rest
                            .strip_prefix('.')
                            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    })
}

/// The hook a file name stands for: `commit-msg`, or `commit-msg.legacy`, the name pre-commit
/// gives a hook it moved aside and runs first.
fn hook_name(name: &OsStr) -> Option<&'static str> {
    let name = name.to_str()?;
    let name = name.strip_suffix(".legacy").unwrap_or(name);
    HOOK_NAMES.into_iter().find(|hook| name == *hook)
}

/// The binary started by git as the hook `name` at `hook_path`: runs the hooks of the user's
/// that agent-cost keeps (`<hook>.pre-agent-cost`, then `.2`, … in order) first, as the shell
/// shims did, then ours. If `AGENT_COST_BIN` names another binary, that one does our part.
fn run_linked(name: &str, hook_path: &Path, args: Vec<OsString>) -> ExitCode {
    let dir = hook_path.parent().unwrap_or(Path::new("."));
    let fails_the_commit = matches!(name, "prepare-commit-msg" | "commit-msg");
    for saved in saved_hooks(dir, name) {
        if !is_executable(&saved) || is_ours(&saved) {
            continue;
        }
        match run_saved_hook(&saved, &args) {
            Ok(status) if !status.success() && fails_the_commit => {
                return ExitCode::from(exit_code(status));
            }
            Err(e) => {
                errln!("agent-cost: warning: cannot run {}: {e}", saved.display());
                if fails_the_commit {
                    return ExitCode::from(1);
                }
            }
            Ok(_) => {}
        }
    }
    if let Some(other) = std::env::var_os(env_vars::AGENT_COST_BIN).filter(|b| !b.is_empty())
        && !is_this_executable(Path::new(&other))
    {
        return run_other_binary(Path::new(&other), name, &args);
    }
    run(HookArgs {
        name: name.to_string(),
        args,
    })
}

/// Runs the user's previous hook with git's arguments; a script without a `#!` line is run by
/// `/bin/sh`, as git does.
fn run_saved_hook(path: &Path, args: &[OsString]) -> std::io::Result<ExitStatus> {
    match Command::new(path).args(args).status() {
        Err(e) if is_exec_format_error(&e) => Command::new("/bin/sh").arg(path).args(args).status(),
        result => result,
    }
}

fn is_exec_format_error(error: &std::io::Error) -> bool {
    // ENOEXEC is 8 on Linux and on macOS.
    cfg!(unix) && error.raw_os_error() == Some(8)
}

/// The status a shell would give for `status`: its code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(u8::MAX);
        }
    }
    status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .filter(|&code| code != 0)
        .unwrap_or(1)
}

fn is_this_executable(path: &Path) -> bool {
    match (std::env::current_exe(), path.canonicalize()) {
        (Ok(current), Ok(other)) => current.canonicalize().is_ok_and(|c| c == other),
        _ => false,
    }
}

/// `AGENT_COST_BIN hook <name> <args>`, whose status is ours; if it cannot start, this binary
/// does the work instead.
fn run_other_binary(binary: &Path, name: &str, args: &[OsString]) -> ExitCode {
    let mut command = Command::new(binary);
    command.arg("hook").arg(name).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        errln!(
            "agent-cost: warning: cannot run AGENT_COST_BIN {}: {error}",
            binary.display()
        );
    }
    #[cfg(not(unix))]
    if let Ok(status) = command.status() {
        return ExitCode::from(if status.success() {
            0
        } else {
            exit_code(status)
        });
    }
    run(HookArgs {
        name: name.to_string(),
        args: args.to_vec(),
    })
}

/// Runs the hook and always exits 0.
pub fn run(args: HookArgs) -> ExitCode {
    let started = Instant::now();
    if std::env::var_os(env_vars::AGENT_COST_DISABLE).is_some_and(|v| v == "1") {
        return ExitCode::SUCCESS;
    }
    std::panic::set_hook(Box::new(|info| {
        errln!(
            "agent-cost: warning: internal error ({info}); the commit goes ahead and its AI spend stays pending"
        );
    }));
    let outcome = std::panic::catch_unwind(|| run_step(&args, started));
    match outcome {
        Ok(Ok(warnings)) => {
            for warning in warnings {
                errln!("agent-cost: warning: {warning}");
            }
        }
        Ok(Err(error)) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            errln!(
                "agent-cost: warning: {text}; the commit goes ahead and its AI spend stays pending"
            );
        }
        Err(_) => {}
    }
    ExitCode::SUCCESS
}

/// True for `{1}`-style text: lefthook leaves a placeholder literal when git passed no such
/// argument.
fn is_placeholder(arg: &OsString) -> bool {
    arg.to_str().is_some_and(|text| {
        text.len() > 2
            && text.starts_with('{')
            && text.ends_with('}')
            && text[1..text.len() - 1].bytes().all(|b| b.is_ascii_digit())
    })
}

fn run_step(args: &HookArgs, started: Instant) -> Result<Vec<String>, agent_cost_hooks::HookError> {
    let budget = std::env::var(env_vars::AGENT_COST_HOOK_BUDGET_MS)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(DEFAULT_BUDGET, Duration::from_millis);
    let locations = Locations::from_env()?;
    let run = HookRun {
        locations,
        started,
        budget,
    };
    let hook_args: Vec<&OsString> = args.args.iter().filter(|a| !is_placeholder(a)).collect();
    let message_file = || {
        hook_args.first().map(|a| PathBuf::from(*a)).ok_or_else(|| {
            agent_cost_hooks::HookError::Usage(format!("{} needs the message file", args.name))
        })
    };
    match args.name.as_str() {
        "prepare-commit-msg" => {
            // pre-commit passes a local hook only the file, and git's source in its environment.
            let from_pre_commit = std::env::var("PRE_COMMIT_COMMIT_MSG_SOURCE").ok();
            let source = hook_args
                .get(1)
                .and_then(|s| s.to_str())
                .or(from_pre_commit.as_deref().filter(|s| !s.is_empty()));
            write_drain(&run, &message_file()?, Writer::Prepare(source))
        }
        "commit-msg" => write_drain(&run, &message_file()?, Writer::CommitMsg),
        "post-commit" | "post-merge" => settle_head(&run),
        other => Err(agent_cost_hooks::HookError::Usage(format!(
            "no hook named {other}"
        ))),
    }
}
