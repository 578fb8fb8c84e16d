//! The command-line interface: one `Args` struct per subcommand (its doc comment is the
//! `--help` text) and one `match` to dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::output::{self, CommandError, CommandResult};

/// Git history as the cost ledger of AI coding agents.
///
/// agent-cost reads the session logs your coding agents write (Claude Code, Codex CLI, Gemini
/// CLI, OpenCode, GitHub Copilot; Cursor by import, anything else by `log`), tallies each
/// request's tokens and cost against the git worktree it ran in, and writes the pending
/// spend into your next commit as trailers (AI-Model:, AI-Cost-Estimate:, AI-Cost-Id:). From
/// then on `git log` shows what each commit cost, and `agent-cost trailers sum main..HEAD`
/// adds up a branch.
///
/// Start with `agent-cost demo` to see it work on a throwaway repository, then run
/// `agent-cost install-hooks` in a repository of yours.
#[derive(Debug, Parser)]
#[command(name = "agent-cost", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    InstallHooks(commands::install_hooks::InstallHooksArgs),
    Ingest(commands::ingest::IngestArgs),
    Log(commands::log::LogArgs),
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    Status(commands::status::StatusArgs),
    Doctor(commands::doctor::DoctorArgs),
    Sources(commands::sources::SourcesArgs),
    Watch(commands::watch::WatchArgs),
    InstallAgentHook(commands::agent_hook::InstallAgentHookArgs),
    Statusline(commands::statusline::StatuslineArgs),
    Sessions(commands::sessions::SessionsArgs),
    #[command(subcommand)]
    Trailers(commands::trailers::TrailersCommand),
    Report(commands::report::ReportArgs),
    Tail(commands::report::TailArgs),
    Export(commands::report::ExportArgs),
    Verify(commands::verify::VerifyArgs),
    Check(commands::budget::CheckArgs),
    PrComment(commands::budget::PrCommentArgs),
    Digest(commands::digest::DigestArgs),
    Backfill(commands::backfill::BackfillArgs),
    SquashNote(commands::backfill::SquashNoteArgs),
    Demo(commands::demo::DemoArgs),
    Hook(commands::hook::HookArgs),
}

/// Parses arguments, runs the command, and turns the outcome into an exit code. A reader that
/// closes our stdout early (`agent-cost trailers sum | head -1`) is not an error; a stdout that
/// cannot be written (a full disk) is, and says so. Nothing printed can panic: all output goes
/// through [`crate::output`].
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_exit(&error),
    };
    let result = match cli.command {
        Command::InstallHooks(args) => commands::install_hooks::run(args),
        Command::Ingest(args) => commands::ingest::run(args),
        Command::Log(args) => commands::log::run(args),
        Command::Import(command) => commands::import::run(command),
        Command::Status(args) => commands::status::run(args),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Sources(args) => commands::sources::run(args),
        Command::Watch(args) => commands::watch::run(args),
        Command::InstallAgentHook(args) => commands::agent_hook::run(args),
        Command::Statusline(args) => commands::statusline::run(args),
        Command::Sessions(args) => commands::sessions::run(args),
        Command::Trailers(command) => commands::trailers::run(command),
        Command::Report(args) => commands::report::report(args),
        Command::Tail(args) => commands::report::tail(args),
        Command::Export(args) => commands::report::export(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Check(args) => commands::budget::run_check(args),
        Command::PrComment(args) => commands::budget::run_pr_comment(args),
        Command::Digest(args) => commands::digest::run(args),
        Command::Backfill(args) => commands::backfill::run(args),
        Command::SquashNote(args) => commands::backfill::run_squash_note(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Hook(args) => return commands::hook::run(args),
    };
    finish(result.and_then(|()| output::flush_stdout()))
}

/// What clap would print and exit with (help and version on stdout, usage errors on stderr),
/// with a failure to write the help reported like any other output error.
fn clap_exit(error: &clap::Error) -> ExitCode {
    let printed = error.print();
    if error.use_stderr() {
        // `check` exits 2 for a hard budget exceeded: a usage error must not look like one.
        if std::env::args().nth(1).as_deref() == Some("check") {
            return ExitCode::from(commands::budget::CHECK_FAILED);
        }
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    finish(
        printed
            .map_err(CommandError::output)
            .and_then(|()| output::flush_stdout()),
    )
}

fn finish(result: CommandResult) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.print();
            ExitCode::from(error.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The `--help` of every visible command, as Markdown.
    fn reference() -> String {
        let mut out = String::from(
            "# Command-line reference\n\nGenerated from `--help` by a test \
             (`UPDATE_CLI_REFERENCE=1 cargo test -p agent-cost cli_reference`); do not edit.\n",
        );
        let mut pending = vec![(String::from("agent-cost"), super::Cli::command())];
        while let Some((name, command)) = pending.pop() {
            // A fixed width, so that the text does not depend on the terminal running the test.
            let mut command = command.term_width(100);
            let help = command.render_long_help().to_string();
            out.push_str(&format!(
                "\n## `{name}`\n\n```text\n{}\n```\n",
                help.trim_end()
            ));
            let mut children: Vec<_> = command
                .get_subcommands()
                .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                .map(|c| (format!("{name} {}", c.get_name()), c.clone()))
                .collect();
            children.reverse();
            pending.extend(children);
        }
        out
    }

    #[test]
    fn cli_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
        let expected = reference();
        if std::env::var_os(agent_cost_paths::env_vars::UPDATE_CLI_REFERENCE).is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/cli.md is out of date: run UPDATE_CLI_REFERENCE=1 cargo test -p agent-cost cli_reference"
        );
    }
}
