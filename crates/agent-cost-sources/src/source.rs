//! The one interface every agent's log reader implements.
//!
//! A [`Source`] finds its data files, reads only what is new in one of them from a cursor of
//! its own kind (a byte offset with a content check for append-only logs; a row id for
//! databases; a content hash for files rewritten whole), and yields per-request
//! [`UsageEvent`]s that carry a stable id and the rule by which their repeats combine. The
//! cursor is opaque text to everyone else: the store saves it in the same transaction as the
//! events read up to it.

use std::io;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use agent_cost_events::UsageEvent;
use serde::{Deserialize, Serialize};

/// One file (or database) a source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Where it is.
    pub path: PathBuf,
    /// Modification time when found (newest are read first).
    pub modified: SystemTime,
    /// True for logs of subagents (sidechains) rather than of the main conversation.
    pub subagent: bool,
    /// The file's identity and times when found, if known: lets a source tell from its cursor
    /// alone that nothing changed, without opening the file.
    pub stamp: Option<FileStamp>,
}

impl DataFile {
    /// The order a catch-up reads files in: newest first (a run with a deadline reaches the
    /// sessions that are running now before old history), those modified at the same time by
    /// path, compared as bytes.
    pub fn reading_order(a: &DataFile, b: &DataFile) -> std::cmp::Ordering {
        b.modified.cmp(&a.modified).then_with(|| {
            a.path
                .as_os_str()
                .as_encoded_bytes()
                .cmp(b.path.as_os_str().as_encoded_bytes())
        })
    }
}

/// What `stat` said of a file. Cursors save it as JSON (`len`, `mtime_ns`, `ctime_ns`,
/// `inode`), enough to tell the file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Size in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch (0 where unknown).
    pub ctime_ns: i128,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (ctime_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            (
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, inode) = (0, 0);
        FileStamp {
            len: meta.len(),
            mtime_ns,
            ctime_ns,
            inode,
        }
    }
}

/// What a source found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Data files, in no particular order (see [`Discovery::sort_newest_first`]).
    pub files: Vec<DataFile>,
    /// Entries that could not be looked at (a dangling link, a permission problem), with why.
    pub unreadable: Vec<String>,
}

impl Discovery {
    /// Puts the files in reading order (see [`DataFile::reading_order`]).
    pub fn sort_newest_first(&mut self) {
        self.files.sort_unstable_by(DataFile::reading_order);
    }
}

/// Which data a reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (`agent-cost ingest`, `status`).
    All,
    /// What was started in the worktree at this path or below it (a hook's catch-up with a
    /// time budget); events are still routed by their own working directory.
    Worktree(PathBuf),
}

/// Counts of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Complete records (lines) read.
    pub lines: u64,
    /// Bytes consumed.
    pub bytes: u64,
    /// Client-side error records skipped (they cost nothing).
    pub synthetic: u64,
    /// Records that were not what the source expects, skipped.
    pub malformed: u64,
    /// Records with impossible counts, skipped.
    pub implausible: u64,
    /// Records too long to hold in memory (over 8 MiB), streamed through: those that cannot
    /// carry usage are skipped, the others are read from their first and last bytes (when
    /// that fails they also count as malformed).
    pub oversize: u64,
    /// True when the file was read again from its start (rewritten, replaced, cursor lost).
    pub restarted: bool,
    /// True when there was nothing new (the file need not have been opened).
    pub up_to_date: bool,
    /// True when reading stopped early (deadline, or the caller asked); the cursor covers
    /// only what was handed out.
    pub stopped: bool,
}

/// How a read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEnd {
    /// The cursor after everything handed out; `None` when it did not change.
    pub cursor: Option<String>,
    /// What was read.
    pub stats: ReadStats,
}

/// What a reader hands to its caller while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// One copy of a usage event.
    Event(Box<UsageEvent>),
    /// Everything handed out so far is covered by this cursor (sources emit one now and then
    /// while reading a large file, so a long read commits in steps).
    Checkpoint(String),
}

/// An agent's logs.
pub trait Source: Send + Sync {
    /// A stable name, e.g. `claude-code`: the namespace of this source's cursors.
    fn name(&self) -> &'static str;

    /// The agent whose logs these are, as events name it (several sources may read one
    /// agent's surfaces). The default is the source's own name.
    fn agent(&self) -> &'static str {
        self.name()
    }

    /// The directories (or files) this source looks in, existing or not, for people asking
    /// where their data is expected (`agent-cost sources`).
    fn roots(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    /// The data file at `path` when it is one of this source's (an agent's own hook names the
    /// transcript it just wrote), without looking for any other. The default knows none.
    fn file(&self, _path: &std::path::Path) -> Option<DataFile> {
        None
    }

    /// Finds the data files in `scope`, in no particular order: a catch-up sorts the few it
    /// reads ([`DataFile::reading_order`]), and sorting every file it skips cost more than
    /// looking at them.
    fn discover(&self, scope: &Scope) -> Discovery;

    /// True when `cursor` shows, from the file's stamp alone, that nothing changed since it
    /// was saved (the run then skips the file without opening it). The default is to read.
    fn unchanged(&self, _file: &DataFile, _cursor: &str) -> bool {
        false
    }

    /// How many bytes of `file` are not read yet at `cursor`, when the source can tell from
    /// the cursor alone (a run reads one small catch-up on its own thread, and a large one on a
    /// reader thread beside the writes). The default does not know.
    fn unread_bytes(&self, _file: &DataFile, _cursor: Option<&str>) -> Option<u64> {
        None
    }

    /// Reads what is new in `file` after `cursor` (`None`: from the start), handing each item
    /// to `sink` until it breaks, the data ends, or `deadline` passes.
    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd>;
}
