//! Gathering what verification compares: the repository's spend read again from the agents'
//! logs into a throwaway ledger, the ledger's own spend and drains, and the blocks of history.

use std::time::Duration;

use agent_cost_git::History;
use agent_cost_ingest::{IngestOptions, ingest, sources};
use agent_cost_paths::Locations;
use agent_cost_store::{Store, StoreError};
use agent_cost_trailers::commit_blocks;

use crate::compare::Inputs;

/// Why verification could not gather its inputs.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The ledger could not be read, or the fresh one written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// History could not be read.
    #[error(transparent)]
    History(#[from] agent_cost_git::HistoryError),
    /// No place for the throwaway ledger.
    #[error("cannot make a temporary directory for the recomputed ledger: {0}")]
    Temp(#[source] std::io::Error),
}

/// Reads every agent log again into a ledger of its own in a temporary directory (the real
/// one is not touched) and returns its spend for the repository with git common dir
/// `common_dir`.
pub fn recompute(
    locations: &Locations,
    common_dir: &str,
) -> Result<Vec<agent_cost_store::SpendTotal>, VerifyError> {
    let dir = tempfile::tempdir().map_err(VerifyError::Temp)?;
    let mut fresh = Store::open(dir.path(), Duration::from_secs(5))?;
    ingest(
        &mut fresh,
        &sources(locations),
        &IngestOptions::default(),
        &mut |_, _| {},
    )?;
    let totals = fresh.read()?.spend_totals(common_dir)?;
    Ok(totals)
}

/// The inputs for the repository with git common dir `common_dir`: the ledger's spend and
/// drains from `store`, `recomputed` from [`recompute`], and every block of `spec` (default:
/// every reference, as `git log --all`) in `history`.
pub fn gather(
    store: &mut Store,
    common_dir: &str,
    recomputed: Vec<agent_cost_store::SpendTotal>,
    history: &History,
    spec: Option<&str>,
) -> Result<Inputs, VerifyError> {
    let (ledger, drains) = {
        let tx = store.read()?;
        (tx.spend_totals(common_dir)?, tx.drains_of(common_dir)?)
    };
    let notes = history.notes(agent_cost_git::AI_COST_NOTES)?;
    let mut blocks = Vec::new();
    history.walk(
        Some(spec.unwrap_or(agent_cost_git::ALL_REFS)),
        |id, message| {
            for block in commit_blocks(message, notes.get(id)) {
                blocks.push((id.to_string(), block));
            }
        },
    )?;
    Ok(Inputs {
        recomputed,
        ledger,
        drains,
        history: blocks,
    })
}
