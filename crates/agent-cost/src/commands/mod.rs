//! One module per subcommand.

pub mod agent_hook;
pub mod demo;
pub mod doctor;
pub mod hook;
pub mod import;
pub mod ingest;
pub mod install_hooks;
pub mod log;
pub mod report;
pub mod sessions;
pub mod sources;
pub mod status;
pub mod statusline;
pub mod trailers;
pub mod watch;

use agent_cost_paths::Locations;

use crate::output::CommandError;

/// Resolves agent-cost's locations from the environment.
pub fn locations() -> Result<Locations, CommandError> {
    Locations::from_env().map_err(|e| CommandError::from_error(&e))
}
