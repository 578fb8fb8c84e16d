//! The `agent-cost` command: argument parsing, dispatch and printing. All logic lives in the
//! library crates.
//!
//! All output goes through [`output`]: `println!` and `eprintln!` panic when a write fails
//! (a full disk, a closed pipe), and a hook must never fail a commit over a warning.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod output;

fn main() -> std::process::ExitCode {
    if let Some(status) = commands::hook::run_if_hook() {
        return status;
    }
    cli::run()
}
