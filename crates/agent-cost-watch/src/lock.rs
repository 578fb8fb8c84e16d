//! One watcher per state directory: an exclusive lock on `watch.lock`, held for the watcher's
//! life and released by the kernel when it dies (even by `kill -9`), with the holder's process
//! id and start time written inside for the second watcher's message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::WatchError;

/// The lock file in the state directory.
pub const LOCK_FILE: &str = "watch.lock";

/// How often, and how far apart, a watcher retries a lock that is busy: readers that only
/// check whether a watcher runs hold it for microseconds.
const RETRIES: u32 = 10;
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// Who holds the lock, as written in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The watcher's process id.
    pub pid: u32,
    /// When it started, RFC 3339.
    pub started: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} (started {})", self.pid, self.started)
    }
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct WatchLock {
    _file: File,
    path: PathBuf,
}

impl WatchLock {
    /// Takes the lock of `state_dir` for this process, or says who holds it.
    pub fn acquire(state_dir: &Path, started: &str) -> Result<WatchLock, WatchError> {
        let path = state_dir.join(LOCK_FILE);
        let io = |source| WatchError::Io {
            path: path.clone(),
            source,
        };
        let mut file = open(&path).map_err(io)?;
        let mut attempts = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if attempts < RETRIES => {
                    attempts += 1;
                    std::thread::sleep(RETRY_EVERY);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(WatchError::AlreadyRunning {
                        holder: read_holder(&mut file),
                        lock: path,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}\n{started}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(WatchLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a watcher holds the lock of `state_dir` now, and who.
pub fn holder(state_dir: &Path) -> Option<Holder> {
    let path = state_dir.join(LOCK_FILE);
    let mut file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => Some(read_holder(&mut file).unwrap_or(Holder {
            pid: 0,
            started: String::from("unknown"),
        })),
        Err(TryLockError::Error(_)) => None,
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let started = lines.next().unwrap_or("unknown").trim().to_string();
    Some(Holder { pid, started })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_says_who_holds_the_first_and_a_released_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None);
        let first = WatchLock::acquire(dir.path(), "2026-12-01T10:00:00Z").unwrap();
        let held = holder(dir.path()).unwrap();
        assert_eq!(held.pid, std::process::id());
        assert_eq!(held.started, "2026-12-01T10:00:00Z");
        match WatchLock::acquire(dir.path(), "later") {
            Err(WatchError::AlreadyRunning { holder, .. }) => {
                assert_eq!(holder.unwrap().pid, std::process::id())
            }
            other => panic!("expected the lock to be held, got {other:?}"),
        }
        drop(first);
        assert_eq!(holder(dir.path()), None);
        WatchLock::acquire(dir.path(), "again").unwrap();
    }
}
