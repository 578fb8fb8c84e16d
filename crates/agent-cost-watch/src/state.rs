//! What a running watcher tells others: `watch.json` in the state directory, rewritten whole
//! (write then rename) when a burst of changes starts and when its catch-up ends, so `status`,
//! `doctor` and hooks can tell whether the watcher is current without asking it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lock::{Holder, holder};

/// The state file in the state directory.
pub const STATE_FILE: &str = "watch.json";

/// A watcher's state, as written by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    /// The watcher's process id.
    pub pid: u32,
    /// When it started, RFC 3339.
    pub started: String,
    /// True from the first change of a burst until the catch-up after it is written.
    pub busy: bool,
    /// When the oldest change not yet caught up was seen (ms since the epoch), while busy.
    pub behind_since_ms: Option<i64>,
    /// When the last catch-up ended (ms since the epoch).
    pub caught_up_ms: Option<i64>,
    /// Catch-ups run.
    pub catch_ups: u64,
    /// Catch-ups of everything because notifications were lost (queue overflow, errors).
    pub rescans: u64,
    /// Requests charged since the watcher started.
    pub requests_charged: u64,
    /// The roots watched (`true`) or waited for (`false`: not there yet; their nearest
    /// existing parent is watched for them to appear).
    pub roots: Vec<(PathBuf, bool)>,
    /// The last catch-up's failure, if it failed.
    pub last_error: Option<String>,
}

impl WatchState {
    /// Writes the state for others to read.
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        let path = state_dir.join(STATE_FILE);
        let temporary = state_dir.join(format!("{STATE_FILE}.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, &path)
    }
}

/// A running watcher, as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Running {
    /// Who holds the lock.
    pub pid: u32,
    /// When it started.
    pub started: String,
    /// Its state, when it has written one (`None` right after it started).
    pub state: Option<WatchState>,
}

impl Running {
    /// True when the watcher has caught up with every change it saw: a hook may then skip its
    /// own catch-up.
    pub fn is_current(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.pid == self.pid && !s.busy && s.last_error.is_none())
    }

    /// How long the oldest change not yet caught up has waited, in milliseconds (0 when
    /// current).
    pub fn behind_ms(&self, now_ms: i64) -> i64 {
        match &self.state {
            Some(state) if state.busy => state
                .behind_since_ms
                .map_or(0, |since| (now_ms - since).max(0)),
            _ => 0,
        }
    }
}

/// The watcher running for `state_dir`, if one is.
pub fn running(state_dir: &Path) -> Option<Running> {
    let Holder { pid, started } = holder(state_dir)?;
    let state = std::fs::read(state_dir.join(STATE_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<WatchState>(&bytes).ok())
        .filter(|state| state.pid == pid);
    Some(Running {
        pid,
        started,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::WatchLock;

    #[test]
    fn a_watcher_is_current_only_when_its_own_state_says_it_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None);
        let _lock = WatchLock::acquire(dir.path(), "2026-12-01T10:00:00Z").unwrap();
        let seen = running(dir.path()).unwrap();
        assert_eq!(seen.state, None);
        assert!(!seen.is_current());

        let mut state = WatchState {
            pid: std::process::id(),
            started: "2026-12-01T10:00:00Z".into(),
            busy: true,
            behind_since_ms: Some(1_000),
            ..WatchState::default()
        };
        state.write(dir.path()).unwrap();
        let seen = running(dir.path()).unwrap();
        assert!(!seen.is_current());
        assert_eq!(seen.behind_ms(1_250), 250);

        state.busy = false;
        state.behind_since_ms = None;
        state.write(dir.path()).unwrap();
        let seen = running(dir.path()).unwrap();
        assert!(seen.is_current());
        assert_eq!(seen.behind_ms(5_000), 0);

        // A state left by another (dead) watcher is not this one's.
        state.pid += 1;
        state.write(dir.path()).unwrap();
        assert!(!running(dir.path()).unwrap().is_current());
    }
}
