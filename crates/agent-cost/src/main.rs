//! The `agent-cost` command: argument parsing, dispatch and printing. All logic lives in the
//! library crates.

mod cli;
mod commands;
mod output;

fn main() -> std::process::ExitCode {
    cli::run()
}
