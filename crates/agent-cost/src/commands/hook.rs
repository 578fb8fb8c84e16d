//! `agent-cost hook <name>`: what the installed shims run. Never fails a commit: any problem
//! is one warning line on stderr and exit status 0, and a stderr that cannot be written (a full
//! disk, a closed pipe) loses the warning, never the commit.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use agent_cost_hooks::run::{DEFAULT_BUDGET, HookRun, Writer, settle_head, write_drain};
use agent_cost_paths::{Locations, env_vars};

use crate::output::errln;

/// Run one git hook step (called by the shims `install-hooks` installs).
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// The hook: prepare-commit-msg, commit-msg, post-commit or post-merge.
    name: String,
    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
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
    let message_file = || {
        args.args.first().map(PathBuf::from).ok_or_else(|| {
            agent_cost_hooks::HookError::Usage(format!("{} needs the message file", args.name))
        })
    };
    match args.name.as_str() {
        "prepare-commit-msg" => {
            let source = args.args.get(1).and_then(|s| s.to_str());
            write_drain(&run, &message_file()?, Writer::Prepare(source))
        }
        "commit-msg" => write_drain(&run, &message_file()?, Writer::CommitMsg),
        "post-commit" | "post-merge" => settle_head(&run),
        other => Err(agent_cost_hooks::HookError::Usage(format!(
            "no hook named {other}"
        ))),
    }
}
