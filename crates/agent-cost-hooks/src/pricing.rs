//! The price book a worktree uses: built-in prices, then `$AGENT_COST_HOME/config.toml`, then
//! the repository's `agent-cost.toml` (later files win); and the USD rate of credits, read
//! from the same files. A broken `[copilot]` table of the user's file (premium-request
//! multipliers, read by the catch-up) is reported with the price warnings.

use std::path::{Path, PathBuf};

use agent_cost_prices::{CopilotBilling, CreditRate, PriceBook, PriceOverrides};

/// Loads the price book for a worktree. Problems with override files are returned as
/// warnings (the file is then ignored), never as failures: pricing must not stop a commit.
pub fn price_book(config_file: &Path, workdir: Option<&Path>) -> (PriceBook, Vec<String>) {
    let mut book = PriceBook::builtin();
    let mut warnings = Vec::new();
    let files: Vec<PathBuf> = std::iter::once(config_file.to_path_buf())
        .chain(workdir.map(|w| w.join("agent-cost.toml")))
        .collect();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                warnings.push(format!(
                    "cannot read {}: {e}; its prices are ignored",
                    file.display()
                ));
                continue;
            }
        };
        match PriceOverrides::from_toml_str(&text, &file) {
            Ok(overrides) => book = book.with_overrides(&overrides),
            Err(e) => warnings.push(format!("{e}; the file's prices are ignored")),
        }
        // Copilot's `[copilot]` settings are read by the catch-up from the user's file only.
        if file == config_file
            && let Err(e) = CopilotBilling::default().with_toml_str(&text, &file)
        {
            warnings.push(format!("{e}; Copilot's built-in multipliers are used"));
        }
    }
    (book, warnings)
}

/// The USD rate of credits for a worktree: the default (0.04 USD per credit), then
/// `usd_per_credit` in the `[credits]` table of `$AGENT_COST_HOME/config.toml`, then of the
/// repository's `agent-cost.toml` (later files win). Unlike prices, a broken `[credits]` table
/// is an error: the rate is read by `agent-cost log`, which a person runs, never by a hook.
pub fn credit_rate(
    config_file: &Path,
    workdir: Option<&Path>,
) -> Result<CreditRate, agent_cost_prices::PriceError> {
    let mut rate = CreditRate::default();
    let files: Vec<PathBuf> = std::iter::once(config_file.to_path_buf())
        .chain(workdir.map(|w| w.join("agent-cost.toml")))
        .collect();
    for file in files {
        // An unreadable file is ignored here as it is for prices (which warn about it).
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Some(found) = CreditRate::from_toml_str(&text, &file)? {
            rate = found;
        }
    }
    Ok(rate)
}
