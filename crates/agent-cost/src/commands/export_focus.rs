//! `agent-cost export --focus`: the rows of `agent-cost-focus` (FinOps FOCUS 1.2) printed as
//! CSV, or written as CSV or Parquet to a file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use agent_cost_report::Ledger;

use crate::output::{CommandError, CommandResult};

/// The file format of `export --focus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FocusFormat {
    /// CSV: decimals with six fractional digits, datetimes as 2026-12-01T00:00:00Z.
    Csv,
    /// Parquet: DECIMAL(18,6), TIMESTAMP (UTC) and STRING columns.
    Parquet,
}

/// The format asked for, else the one `output`'s extension names (`.parquet`), else CSV.
fn format_of(format: Option<FocusFormat>, output: Option<&Path>) -> FocusFormat {
    format.unwrap_or_else(|| {
        let parquet = output
            .and_then(Path::extension)
            .is_some_and(|ext| ext.eq_ignore_ascii_case("parquet"));
        if parquet {
            FocusFormat::Parquet
        } else {
            FocusFormat::Csv
        }
    })
}

/// Writes the FOCUS rows of `ledger` in `format` to `output`, or to stdout (never Parquet to a
/// terminal).
pub fn write(
    ledger: &Ledger,
    format: Option<FocusFormat>,
    output: Option<&PathBuf>,
) -> CommandResult {
    let format = format_of(format, output.map(PathBuf::as_path));
    if format == FocusFormat::Parquet && output.is_none() && std::io::stdout().is_terminal() {
        return Err(
            CommandError::msg("Parquet is binary: not writing it to a terminal").hint(
                "add --output FILE.parquet, or redirect: agent-cost export --focus --format parquet > focus.parquet",
            ),
        );
    }
    let rows = agent_cost_focus::rows(ledger);
    let bytes = match format {
        FocusFormat::Csv => {
            let mut bytes = Vec::new();
            agent_cost_focus::write_csv(&rows, &mut bytes)
                .map_err(|e| CommandError::from_error(&e))?;
            bytes
        }
        FocusFormat::Parquet => {
            agent_cost_focus::to_parquet(&rows).map_err(|e| CommandError::from_error(&e))?
        }
    };
    match output {
        Some(path) => std::fs::write(path, &bytes).map_err(|e| {
            CommandError::msg(format!("cannot write {}: {e}", path.display()))
                .hint("check that the folder exists and is writable")
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .map_err(CommandError::output)
        }
    }
}
