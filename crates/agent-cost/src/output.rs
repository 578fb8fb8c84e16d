//! Printing helpers shared by commands: JSON, aligned tables, errors with hints.
//!
//! Every byte the binary prints goes through [`stdout`] or [`stderr`] (the `outln!` and
//! `errln!` macros), never through `println!`/`eprintln!`, which panic when a write fails:
//! - stdout: a reader that has gone away (`agent-cost trailers sum | head -1`) ends the command
//!   quietly with success; any other failure (a full disk) is an error saying so.
//! - stderr: write errors are ignored. Warnings are advice, and a hook must never fail a commit
//!   because its warning could not be shown.

use std::fmt::Display;
use std::io::Write;

/// Writes a line to stdout; the result says whether it could be written (see [`stdout`]).
macro_rules! outln {
    () => {
        $crate::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes a line to stderr, ignoring write errors (see [`stderr`]).
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};

/// Writes to stdout. A closed pipe becomes [`CommandError::output_closed`] (a quiet success);
/// any other write error becomes an error that names it.
pub fn stdout(text: std::fmt::Arguments<'_>) -> CommandResult {
    std::io::stdout()
        .lock()
        .write_fmt(text)
        .map_err(CommandError::output)
}

/// Flushes stdout, reporting a failure as [`stdout`] does.
pub fn flush_stdout() -> CommandResult {
    std::io::stdout().flush().map_err(CommandError::output)
}

/// Writes to stderr, ignoring any error: there is nowhere left to report it.
pub fn stderr(text: std::fmt::Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(text);
    let _ = stderr.flush();
}

/// An error for the user: what went wrong, why, and what to do.
pub struct CommandError {
    /// The message.
    pub message: String,
    /// The chain of causes.
    pub causes: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The exit code.
    pub code: u8,
    /// Nothing to print: the command ends with `code` and no message.
    pub quiet: bool,
}

impl CommandError {
    /// An error from any error type, with its source chain.
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> CommandError {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        CommandError {
            message: error.to_string(),
            causes,
            hint: None,
            code: 1,
            quiet: false,
        }
    }

    /// A plain message.
    pub fn msg(message: impl Display) -> CommandError {
        CommandError {
            message: message.to_string(),
            causes: Vec::new(),
            hint: None,
            code: 1,
            quiet: false,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Display) -> CommandError {
        self.hint = Some(hint.to_string());
        self
    }

    /// A failed write to stdout: a reader that closed the pipe early is no error (the command
    /// ends quietly with success, as `git log | head` does); anything else is.
    pub fn output(error: std::io::Error) -> CommandError {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return CommandError::output_closed();
        }
        CommandError::msg(format!("cannot write output: {error}"))
    }

    /// The reader of stdout has gone away: stop quietly, with success.
    pub fn output_closed() -> CommandError {
        CommandError {
            message: String::new(),
            causes: Vec::new(),
            hint: None,
            code: 0,
            quiet: true,
        }
    }

    /// Prints the error to stderr (unless it is quiet).
    pub fn print(&self) {
        if self.quiet {
            return;
        }
        errln!("error: {}", self.message);
        for cause in &self.causes {
            errln!("  caused by: {cause}");
        }
        if let Some(hint) = &self.hint {
            errln!("hint: {hint}");
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for CommandError {
    fn from(error: E) -> CommandError {
        CommandError::from_error(&error)
    }
}

/// The result of a command.
pub type CommandResult = Result<(), CommandError>;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> CommandResult {
    let text = serde_json::to_string_pretty(value).map_err(CommandError::msg)?;
    outln!("{text}")
}

/// Renders rows as a table: the first `text_columns` columns left-aligned, numbers right-aligned.
pub fn table(header: &[&str], text_columns: usize, rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i < text_columns {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        line.trim_end().to_string()
    };
    let mut out = render(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&render(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A token count with thousands separators: `120,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One row of a per-model spend table.
pub struct ModelRow {
    /// Model name.
    pub model: String,
    /// Agent name.
    pub agent: String,
    /// Requests.
    pub requests: u64,
    /// Token counts: input, output, cache write, cache read.
    pub tokens: [u64; 4],
    /// The cost as text (`0.412345`, or `unpriced`).
    pub cost: String,
}

/// Renders per-model spend as a table, each line starting with `indent`.
pub fn model_table(rows: &[ModelRow], indent: &str) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![
                format!("{indent}{}", row.model),
                row.agent.clone(),
                thousands(row.requests),
            ];
            cells.extend(row.tokens.iter().map(|t| thousands(*t)));
            cells.push(row.cost.clone());
            cells
        })
        .collect();
    let model = format!("{indent}model");
    let header = [
        model.as_str(),
        "agent",
        "requests",
        "input",
        "output",
        "cache-write",
        "cache-read",
        "cost (USD)",
    ];
    table(&header, 2, &cells)
}

/// A one-line progress display on stderr for long reads, shown only on a terminal and at most
/// ten times a second; [`Progress::finish`] clears it.
pub struct Progress {
    enabled: bool,
    last: std::time::Instant,
    shown: bool,
}

impl Progress {
    /// A progress line, shown if stderr is a terminal.
    pub fn new() -> Progress {
        use std::io::IsTerminal;
        Progress {
            enabled: std::io::stderr().is_terminal(),
            last: std::time::Instant::now(),
            shown: false,
        }
    }

    /// Updates the line for an ingest.
    pub fn ingest(&mut self, report: &agent_cost_ingest::IngestReport, files_done: u64) {
        if !self.enabled || self.last.elapsed() < std::time::Duration::from_millis(100) {
            return;
        }
        self.last = std::time::Instant::now();
        self.shown = true;
        stderr(format_args!(
            "\rreading agent logs: {files_done}/{} files, {} MB, {} requests",
            report.files_found,
            report.bytes_read / 1_000_000,
            thousands(report.events_charged)
        ));
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.shown {
            stderr(format_args!("\r\x1b[2K"));
            self.shown = false;
        }
    }
}
