//! The watch loop: arm, wait for a burst of changes to settle, catch up, repeat.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use agent_cost_ingest::{IngestOptions, IngestReport, ingest};
use agent_cost_sources::Source;
use agent_cost_store::Store;
use agent_cost_store::time::{now_millis, now_rfc3339};
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::WatchError;
use crate::lock::WatchLock;
use crate::state::WatchState;

/// How the watcher waits.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// A burst of changes is over after this long without another.
    pub quiet: Duration,
    /// A catch-up starts at most this long after the first change of a burst, however busy
    /// the agents are.
    pub max_delay: Duration,
    /// Also catch up this often when nothing was notified: for roots whose file system does
    /// not notify (network file systems, some FUSE mounts). `None`: never wake up unasked.
    pub poll: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            quiet: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            poll: None,
        }
    }
}

/// One catch-up, as the watcher reports it.
#[derive(Debug)]
pub struct CatchUp<'a> {
    /// What the ingest did.
    pub report: &'a IngestReport,
    /// True when notifications were lost and everything was looked at again.
    pub rescan: bool,
    /// Roots that appeared since the last catch-up.
    pub new_roots: &'a [PathBuf],
}

/// Watches the roots of `sources` and keeps the ledger in `state_dir` current until an error
/// stops it. `on_catch_up` hears of every catch-up (the first, at start, included).
pub fn watch(
    state_dir: &Path,
    sources: &[Box<dyn Source>],
    options: &WatchOptions,
    on_catch_up: &mut dyn FnMut(&CatchUp<'_>),
) -> Result<(), WatchError> {
    let started = now_rfc3339();
    let _lock = WatchLock::acquire(state_dir, &started)?;
    let mut store = Store::open(state_dir, Duration::from_secs(30))?;
    let (sender, receiver) = channel();
    let mut watcher = notify::recommended_watcher(sender)?;
    let wanted: BTreeSet<PathBuf> = sources.iter().flat_map(|s| s.roots()).collect();
    let mut roots = Roots::new(wanted, state_dir);
    let mut state = WatchState {
        pid: std::process::id(),
        started,
        ..WatchState::default()
    };
    let mut new_roots = roots.arm(&mut watcher);
    let mut rescan = false;
    loop {
        state.roots = roots.describe();
        catch_up(
            state_dir,
            &mut store,
            sources,
            &mut state,
            rescan,
            &new_roots,
            on_catch_up,
        );
        let burst = wait_for_burst(&receiver, &roots, options);
        let Some(burst) = burst else {
            // The notification channel closed: the watcher is gone.
            return Ok(());
        };
        state.busy = true;
        state.behind_since_ms = Some(burst.first_seen_ms);
        let _ = state.write(state_dir);
        rescan = burst.rescan;
        new_roots = if burst.rearm || burst.rescan {
            roots.arm(&mut watcher)
        } else {
            Vec::new()
        };
    }
}

fn catch_up(
    state_dir: &Path,
    store: &mut Store,
    sources: &[Box<dyn Source>],
    state: &mut WatchState,
    rescan: bool,
    new_roots: &[PathBuf],
    on_catch_up: &mut dyn FnMut(&CatchUp<'_>),
) {
    match ingest(store, sources, &IngestOptions::default(), &mut |_, _| {}) {
        Ok(report) => {
            state.catch_ups += 1;
            state.rescans += u64::from(rescan);
            state.requests_charged += report.events_charged;
            state.last_error = None;
            on_catch_up(&CatchUp {
                report: &report,
                rescan,
                new_roots,
            });
        }
        Err(error) => state.last_error = Some(error.to_string()),
    }
    state.busy = false;
    state.behind_since_ms = None;
    state.caught_up_ms = Some(now_millis());
    let _ = state.write(state_dir);
}

/// What a burst of notifications asks for.
struct Burst {
    first_seen_ms: i64,
    /// A root (or a directory on the way to one) appeared or went away.
    rearm: bool,
    /// Notifications were lost: look at everything.
    rescan: bool,
}

/// Blocks until a change that matters arrives, then until the burst is over; `None` when the
/// channel is closed.
fn wait_for_burst(
    receiver: &Receiver<notify::Result<Event>>,
    roots: &Roots,
    options: &WatchOptions,
) -> Option<Burst> {
    let mut burst = loop {
        let message = match options.poll {
            None => receiver.recv().ok()?,
            Some(every) => match receiver.recv_timeout(every) {
                Ok(message) => message,
                // Nothing notified: look anyway (a file system that does not notify).
                Err(RecvTimeoutError::Timeout) => {
                    return Some(Burst {
                        first_seen_ms: now_millis(),
                        rearm: true,
                        rescan: false,
                    });
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            },
        };
        if let Some(burst) = roots.classify(&message) {
            break burst;
        }
    };
    let deadline = Instant::now() + options.max_delay;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Some(burst);
        }
        match receiver.recv_timeout(options.quiet.min(deadline - now)) {
            Ok(message) => {
                if let Some(more) = roots.classify(&message) {
                    burst.rearm |= more.rearm;
                    burst.rescan |= more.rescan;
                }
            }
            Err(RecvTimeoutError::Timeout) => return Some(burst),
            Err(RecvTimeoutError::Disconnected) => return Some(burst),
        }
    }
}

/// The roots to watch, and how each is watched now.
struct Roots {
    wanted: BTreeSet<PathBuf>,
    /// Roots watched recursively.
    watched: BTreeSet<PathBuf>,
    /// Existing parents watched (not recursively) for a missing root to appear.
    parents: BTreeSet<PathBuf>,
    /// agent-cost's own directory: changes there are our own writes.
    state_dir: PathBuf,
}

impl Roots {
    fn new(wanted: BTreeSet<PathBuf>, state_dir: &Path) -> Roots {
        Roots {
            wanted,
            watched: BTreeSet::new(),
            parents: BTreeSet::new(),
            state_dir: state_dir.to_path_buf(),
        }
    }

    /// Watches every root that exists and is not watched yet, and the nearest existing parent
    /// of every root that does not exist; returns the roots newly watched.
    fn arm(&mut self, watcher: &mut RecommendedWatcher) -> Vec<PathBuf> {
        let mut armed = Vec::new();
        // A root that went away: its watch is gone with it.
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|root| !root.is_dir())
            .cloned()
            .collect();
        for root in gone {
            let _ = watcher.unwatch(&root);
            self.watched.remove(&root);
        }
        for root in &self.wanted {
            if self.watched.contains(root) {
                continue;
            }
            if root.is_dir() && watcher.watch(root, RecursiveMode::Recursive).is_ok() {
                self.watched.insert(root.clone());
                armed.push(root.clone());
                continue;
            }
            if let Some(parent) = root.ancestors().skip(1).find(|p| p.is_dir())
                && !self.parents.contains(parent)
                && watcher.watch(parent, RecursiveMode::NonRecursive).is_ok()
            {
                self.parents.insert(parent.to_path_buf());
            }
        }
        // Parents no longer needed (their roots, or a nearer parent, exist now).
        let needed: BTreeSet<PathBuf> = self
            .wanted
            .iter()
            .filter(|root| !self.watched.contains(*root))
            .filter_map(|root| root.ancestors().skip(1).find(|p| p.is_dir()))
            .map(Path::to_path_buf)
            .collect();
        let unneeded: Vec<PathBuf> = self.parents.difference(&needed).cloned().collect();
        for parent in unneeded {
            let _ = watcher.unwatch(&parent);
            self.parents.remove(&parent);
        }
        armed
    }

    /// What a notification means: `None` for changes that do not matter (reads, our own
    /// writes, other files beside a missing root's parent).
    fn classify(&self, message: &notify::Result<Event>) -> Option<Burst> {
        let first_seen_ms = now_millis();
        let event = match message {
            Ok(event) => event,
            Err(_) => {
                return Some(Burst {
                    first_seen_ms,
                    rearm: true,
                    rescan: true,
                });
            }
        };
        if event.need_rescan() {
            return Some(Burst {
                first_seen_ms,
                rearm: true,
                rescan: true,
            });
        }
        if let EventKind::Access(access) = event.kind
            && access != AccessKind::Close(AccessMode::Write)
        {
            return None;
        }
        let mut matters = false;
        let mut rearm = false;
        for path in &event.paths {
            if path.starts_with(&self.state_dir) {
                continue;
            }
            if self.watched.iter().any(|root| path.starts_with(root)) {
                matters = true;
                rearm |= self.watched.contains(path) && !path.is_dir();
            }
            if self
                .wanted
                .iter()
                .any(|root| !self.watched.contains(root) && root.starts_with(path))
            {
                matters = true;
                rearm = true;
            }
        }
        matters.then_some(Burst {
            first_seen_ms,
            rearm,
            rescan: false,
        })
    }

    /// Each root and whether it is watched (else waited for).
    fn describe(&self) -> Vec<(PathBuf, bool)> {
        self.wanted
            .iter()
            .map(|root| (root.clone(), self.watched.contains(root)))
            .collect()
    }
}

/// File system types whose changes made elsewhere are not notified (network and FUSE mounts).
fn does_not_notify(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "9p"
            | "afs"
            | "ceph"
            | "glusterfs"
            | "virtiofs"
            | "fuse"
    ) || fs_type.starts_with("fuse.")
}

/// The file system type of the mount holding `path`, from a `/proc/self/mounts` text.
fn fs_type_in<'a>(mounts: &'a str, path: &Path) -> Option<&'a str> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let fs_type = fields.next()?;
            path.starts_with(&point).then_some((point.len(), fs_type))
        })
        .max_by_key(|(length, _)| *length)
        .map(|(_, fs_type)| fs_type)
}

/// The roots among `roots` (those that exist) on a file system that does not notify changes
/// made by other machines (Linux; elsewhere none are known).
pub fn roots_without_notifications(roots: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    roots
        .iter()
        .filter(|root| root.exists())
        .filter(|root| {
            let real = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            fs_type_in(&mounts, &real).is_some_and(does_not_notify)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_polling_a_quiet_channel_still_brings_a_catch_up_and_without_it_waits() {
        let (sender, receiver) = channel::<notify::Result<Event>>();
        let roots = Roots::new(BTreeSet::new(), Path::new("/state"));
        let polling = WatchOptions {
            poll: Some(Duration::from_millis(30)),
            ..WatchOptions::default()
        };
        let burst = wait_for_burst(&receiver, &roots, &polling).expect("a periodic catch-up");
        assert!(burst.rearm && !burst.rescan);
        // Without polling, nothing but a notification (or the end of the channel) wakes it.
        let waiter = std::thread::spawn(move || {
            wait_for_burst(&receiver, &roots, &WatchOptions::default()).is_none()
        });
        std::thread::sleep(Duration::from_millis(60));
        assert!(!waiter.is_finished());
        drop(sender);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn the_deepest_mount_names_the_file_system_and_network_ones_do_not_notify() {
        let mounts = "/dev/vda / ext4 rw 0 0\n\
                      server:/export /home/u/net nfs4 rw 0 0\n\
                      sshfs#h: /home/u/My\\040Drive fuse.sshfs rw 0 0\n";
        assert_eq!(
            fs_type_in(mounts, Path::new("/home/u/.claude")),
            Some("ext4")
        );
        assert_eq!(
            fs_type_in(mounts, Path::new("/home/u/net/.claude/projects")),
            Some("nfs4")
        );
        assert_eq!(
            fs_type_in(mounts, Path::new("/home/u/My Drive/x")),
            Some("fuse.sshfs")
        );
        assert!(does_not_notify("nfs4"));
        assert!(does_not_notify("fuse.sshfs"));
        assert!(!does_not_notify("ext4"));
        assert!(!does_not_notify("tmpfs"));
    }
}
