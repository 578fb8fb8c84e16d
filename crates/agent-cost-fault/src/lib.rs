//! Crash points for the fault tests. Code that writes state calls [`point`] at the places where
//! a crash matters (right before and after a database commit, between proposing a drain and
//! writing it into the commit message). When `AGENT_COST_FAULT` is `NAME:N`, the Nth pass of
//! the point `NAME` aborts the process on the spot, as `kill -9` would: no destructor runs,
//! nothing is flushed. Unset (always, outside the tests), a point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_cost_paths::env_vars::AGENT_COST_FAULT;

/// The point to crash at, and after how many passes.
struct Fault {
    name: String,
    at: u64,
    passes: AtomicU64,
}

fn armed() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let text = std::env::var(AGENT_COST_FAULT).ok()?;
            let (name, at) = text.rsplit_once(':')?;
            Some(Fault {
                name: name.to_string(),
                at: at.parse().ok().filter(|n| *n > 0)?,
                passes: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Passes the crash point `name`: aborts the process if this is the pass `AGENT_COST_FAULT`
/// names.
pub fn point(name: &str) {
    let Some(fault) = armed() else {
        return;
    };
    if fault.name == name && fault.passes.fetch_add(1, Ordering::SeqCst) + 1 == fault.at {
        std::process::abort();
    }
}
