//! Commit messages from git history, read with gix (no git process).

use std::path::Path;
use std::sync::mpsc;

use crate::packed::PackedCommits;
use agent_cost_paths::env_vars;

/// A commit and its full message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessage {
    /// The commit id in hex.
    pub id: String,
    /// The whole raw message (subject, body, trailers).
    pub message: String,
}

/// A commit with what reports need besides its message: parents, author (after `.mailmap`)
/// and dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDetails {
    /// The commit id in hex.
    pub id: String,
    /// Parent ids in hex, in the order the commit lists them.
    pub parents: Vec<String>,
    /// Author name, mapped through the repository's mailmap (`%aN`).
    pub author_name: String,
    /// Author email, mapped through the repository's mailmap (`%aE`).
    pub author_email: String,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    /// The author's UTC offset in seconds (east positive).
    pub author_offset: i32,
    /// Committer time, seconds since the epoch.
    pub commit_time: i64,
    /// The whole raw message, invalid UTF-8 replaced.
    pub message: String,
}

/// Lines a commit changed, against its first parent (a root commit: against the empty tree),
/// as `git diff --numstat` counts them; binary files count no lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Lines added.
    pub added: u64,
    /// Lines removed.
    pub removed: u64,
    /// Files whose lines changed.
    pub files: u64,
}

/// Why history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No repository at or above the path.
    #[error("not in a git repository: {path}")]
    NotARepository {
        /// Where the search started.
        path: String,
        /// What gix reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The range or revision does not name commits in this repository.
    #[error(
        "cannot resolve `{spec}`: use a revision or range such as HEAD, main..HEAD or v1.0..v2.0"
    )]
    BadRange {
        /// The spec as given.
        spec: String,
        /// What gix reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading objects failed (a corrupt or shallow repository).
    #[error("cannot read commits")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A walk with a deadline stopped at it.
    #[error("stopped after reading {read} commits: out of time")]
    OutOfTime {
        /// How many commits were read by then.
        read: u64,
    },
}

fn git_dir_matches(history: &History, git_dir: &Path) -> bool {
    match (
        history.repo.git_dir().canonicalize(),
        git_dir.canonicalize(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The last `max` bytes of a file, starting at a line boundary.
fn read_tail(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let from = len.saturating_sub(max);
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(match (from > 0, text.find('\n')) {
        (true, Some(first)) => text[first + 1..].to_string(),
        _ => text,
    })
}

/// Bytes of resolved pack entries (trees and blobs, mostly delta bases) [`LineCounter`] keeps,
/// as git's `core.deltaBaseCacheLimit` (96 MiB by default) does for `git log --numstat`.
const LINE_COUNTER_PACK_CACHE: usize = 64 * 1024 * 1024;

/// Bytes of decoded objects [`LineCounter`] keeps: a commit's trees and blobs are read again
/// as its child's parent side, right before or after it in the walk.
const LINE_COUNTER_OBJECT_CACHE: usize = 16 * 1024 * 1024;

/// Threads [`History::line_stats_of`] counts on at most.
pub const LINE_THREADS: usize = 4;

/// Commits [`History::line_stats_of`] hands a thread at a time.
const LINE_CHUNK: usize = 64;

/// How many commits' messages go to the visiting thread at once.
const BATCH_COMMITS: usize = 256;

/// Batches queued for the visiting thread before the walk waits for it.
const BATCHES_IN_FLIGHT: usize = 8;

/// Commit messages on their way from the walking thread to the visiting one, in walk order.
#[derive(Default)]
struct Batch {
    ids: Vec<gix::ObjectId>,
    /// The raw messages, one after the other.
    text: Vec<u8>,
    /// Where each message ends in `text`.
    ends: Vec<usize>,
}

impl Batch {
    fn push(&mut self, id: &gix::oid, message: &[u8]) {
        self.ids.push(id.to_owned());
        self.text.extend_from_slice(message);
        self.ends.push(self.text.len());
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.text.clear();
        self.ends.clear();
    }
}

/// A commit the walk reached that the object database does not have.
#[derive(Debug, thiserror::Error)]
#[error("commit {0} is missing")]
struct MissingCommit(gix::ObjectId);

/// The message of a commit object's data: everything after the first blank line, as gix's
/// `Commit::message_raw_sloppy` takes it.
fn message_raw_sloppy(data: &[u8]) -> &[u8] {
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'\n', &data[from..]) {
        let next = from + at + 1;
        if data.get(next) == Some(&b'\n') {
            return &data[next + 1..];
        }
        from = next;
    }
    &[]
}

/// gix's breadth-first walk (`Sorting::BreadthFirst`) for the case it handles without a
/// commit-graph and without hidden commits, reading only the parent lines of each commit:
/// commits in the order they were first reached, tips first, parents in the order the commit
/// lists them.
fn walk_breadth_first(
    objects: &PackedCommits<'_>,
    tips: Vec<gix::ObjectId>,
    mut visit: impl FnMut(&gix::oid, &[u8]),
) -> Result<u64, HistoryError> {
    use gix::objs::Find;
    let mut seen = gix::hashtable::HashSet::default();
    let mut next: std::collections::VecDeque<gix::ObjectId> =
        tips.into_iter().filter(|tip| seen.insert(*tip)).collect();
    let mut buffer = Vec::new();
    let mut count = 0;
    while let Some(id) = next.pop_front() {
        let data = objects
            .try_find(&id, &mut buffer)
            .map_err(read_error)?
            .filter(|found| found.kind == gix::objs::Kind::Commit)
            .ok_or_else(|| read_error(MissingCommit(id)))?
            .data;
        let mut lines = data.split(|&b| b == b'\n');
        if !lines.next().is_some_and(|line| line.starts_with(b"tree ")) {
            return Err(read_error(CorruptCommit(id)));
        }
        for line in lines {
            let Some(hex) = line.strip_prefix(b"parent ") else {
                break;
            };
            let parent = gix::ObjectId::from_hex(hex).map_err(|_| read_error(CorruptCommit(id)))?;
            if seen.insert(parent) {
                next.push_back(parent);
            }
        }
        visit(&id, message_raw_sloppy(data));
        count += 1;
    }
    Ok(count)
}

/// A commit whose header does not parse.
#[derive(Debug, thiserror::Error)]
#[error("commit {0} could not be decoded")]
struct CorruptCommit(gix::ObjectId);

pub(crate) fn read_error(e: impl std::error::Error + Send + Sync + 'static) -> HistoryError {
    HistoryError::Read(Box::new(e))
}

/// The range spec that means every reference, as `git log --all`.
pub const ALL_REFS: &str = "--all";

/// An open repository for reading history.
pub struct History {
    pub(crate) repo: gix::Repository,
}

impl History {
    /// Opens the repository containing `path`.
    pub fn discover(path: &Path) -> Result<History, HistoryError> {
        let mut repo = gix::discover(path).map_err(|source| HistoryError::NotARepository {
            path: path.display().to_string(),
            source: Box::new(source),
        })?;
        // A walk decodes each commit to find its parents, then reads its message: the cache
        // makes the second lookup free instead of inflating the object again.
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        Ok(History { repo })
    }

    /// Opens the repository of a worktree: discovered from its working tree, or opened from
    /// its git dir when the two are apart (`GIT_DIR` / `GIT_WORK_TREE`).
    pub fn of_worktree(workdir: &Path, git_dir: &Path) -> Result<History, HistoryError> {
        match History::discover(workdir) {
            Ok(history)
                if history.repo.git_dir() == git_dir || git_dir_matches(&history, git_dir) =>
            {
                Ok(history)
            }
            _ => {
                let mut repo =
                    gix::open(git_dir).map_err(|source| HistoryError::NotARepository {
                        path: git_dir.display().to_string(),
                        source: Box::new(source),
                    })?;
                repo.object_cache_size_if_unset(4 * 1024 * 1024);
                Ok(History { repo })
            }
        }
    }

    /// Messages of the commits HEAD's reflog says were made or checked out in this worktree,
    /// newest first, at most `limit` distinct ones: every commit made here, whatever branch it
    /// is on now (a commit whose `post-commit` never ran is found here even after a branch
    /// switch). Reads only the end of the reflog; a missing reflog gives none.
    pub fn reflog_messages(&self, git_dir: &Path, limit: usize) -> Vec<CommitMessage> {
        let Ok(text) = read_tail(&git_dir.join("logs").join("HEAD"), 256 * 1024) else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        let mut messages = Vec::new();
        for line in text.lines().rev() {
            let Some(new) = line.split(' ').nth(1) else {
                continue;
            };
            if new.len() < 40 || new.bytes().all(|b| b == b'0') || !seen.insert(new.to_string()) {
                continue;
            }
            if let Some(message) = self.message_of(new) {
                messages.push(CommitMessage {
                    id: new.to_string(),
                    message,
                });
            }
            if messages.len() >= limit {
                break;
            }
        }
        messages
    }

    /// The character that starts comment lines in commit messages (`core.commentChar`).
    /// `auto` and unset both mean `#`, which is what git uses for hooks' message files
    /// unless it picked another character; callers treat both as comments.
    pub fn comment_prefix(&self) -> String {
        let config = self.repo.config_snapshot();
        match config.string("core.commentChar").map(|v| v.to_string()) {
            Some(value) if !value.is_empty() && value != "auto" => value,
            _ => "#".to_string(),
        }
    }

    /// The URL of the remote `name` (`remote.<name>.url`), as configured.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        let config = self.repo.config_snapshot();
        config
            .string(format!("remote.{name}.url").as_str())
            .map(|v| v.to_string())
    }

    /// The repository's name: its working tree's directory name, or for a bare repository its
    /// directory name without `.git` (`shop.git` → `shop`).
    pub fn name(&self) -> String {
        let dir = match self.repo.workdir() {
            Some(workdir) => workdir.to_path_buf(),
            None => self.repo.git_dir().to_path_buf(),
        };
        let dir = dir.canonicalize().unwrap_or(dir);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.strip_suffix(".git") {
            Some(stem) if !stem.is_empty() => stem.to_string(),
            _ => name,
        }
    }

    /// When `HEAD` was committed (seconds since the epoch), or `None` for an unborn branch.
    pub fn head_time(&self) -> Option<i64> {
        let commit = self.repo.head_commit().ok()?;
        Some(commit.time().ok()?.seconds)
    }

    /// The message of the commit `id` (full hex), if it exists.
    pub fn message_of(&self, id: &str) -> Option<String> {
        let id = gix::ObjectId::from_hex(id.as_bytes()).ok()?;
        let commit = self.repo.find_commit(id).ok()?;
        Some(String::from_utf8_lossy(commit.message_raw_sloppy()).into_owned())
    }

    /// Messages of `HEAD` and up to `limit - 1` of its first-parent ancestors, newest first.
    /// An unborn `HEAD` has none.
    pub fn recent_messages(&self, limit: usize) -> Result<Vec<CommitMessage>, HistoryError> {
        let Ok(mut commit) = self.repo.head_commit() else {
            return Ok(Vec::new());
        };
        let mut messages = Vec::new();
        while messages.len() < limit {
            messages.push(CommitMessage {
                id: commit.id.to_string(),
                message: commit.message_raw_sloppy().to_string(),
            });
            let Some(parent) = commit.parent_ids().next() else {
                break;
            };
            commit = parent.object().map_err(read_error)?.into_commit();
        }
        Ok(messages)
    }

    /// Walks the commits of `spec` (`HEAD`, `main..HEAD`, `A...B`, a single revision meaning
    /// its whole history), calling `visit(commit id, message)` for each, in walk order; default
    /// is `HEAD`. Messages that are not UTF-8 are passed with invalid bytes replaced.
    ///
    /// `visit` runs on a second thread while this one walks and inflates the commits, which is
    /// most of the work; messages go across in batches.
    pub fn walk(
        &self,
        spec: Option<&str>,
        mut visit: impl FnMut(&gix::oid, &str) + Send,
    ) -> Result<u64, HistoryError> {
        let (tips, hidden) = self.resolve(spec)?;
        std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
            let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
            let visitor = scope.spawn(move || {
                for mut batch in full_rx {
                    let mut start = 0;
                    for (id, &end) in batch.ids.iter().zip(&batch.ends) {
                        visit(id, &String::from_utf8_lossy(&batch.text[start..end]));
                        start = end;
                    }
                    batch.clear();
                    // The walk may have finished and stopped taking batches back.
                    let _ = empty_tx.send(batch);
                }
            });
            let mut batch = Batch::default();
            let mut sent = true;
            let walked = self.walk_raw(tips, hidden, |id, message| {
                batch.push(id, message);
                if batch.ids.len() >= BATCH_COMMITS {
                    let next = empty_rx.try_recv().unwrap_or_default();
                    // Only fails if the visitor panicked; joining it below reports that.
                    sent &= full_tx.send(std::mem::replace(&mut batch, next)).is_ok();
                }
            });
            if sent && !batch.ids.is_empty() {
                let _ = full_tx.send(batch);
            }
            drop(full_tx);
            if let Err(panic) = visitor.join() {
                std::panic::resume_unwind(panic);
            }
            walked
        })
    }

    /// Walks the commits of `spec` like [`History::walk`], in the same order, but with each
    /// commit's parents, author (mapped through `.mailmap`, as `git log --format=%aN %aE`
    /// shows it) and dates. Slower than `walk` (every commit is fully decoded on this
    /// thread); meant for reports, not for the hooks' hot path.
    pub fn walk_details(
        &self,
        spec: Option<&str>,
        mut visit: impl FnMut(CommitDetails),
    ) -> Result<u64, HistoryError> {
        let (tips, hidden) = self.resolve(spec)?;
        let mailmap = self.repo.open_mailmap();
        let mut buffer = Vec::new();
        let mut failure = None;
        let walked = self.walk_raw(tips, hidden, |id, _| {
            if failure.is_some() {
                return;
            }
            match self.details_of(id, &mailmap, &mut buffer) {
                Ok(details) => visit(details),
                Err(e) => failure = Some(e),
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(walked),
        }
    }

    /// Walks the commits of `spec` committed at or after `since` (seconds since the epoch),
    /// newest first by committer date, with the details [`History::walk_details`] gives:
    /// the walk stops at older commits instead of reading all of history, which makes it
    /// cheap enough for a hook. A commit older than `since` hides its ancestors, even newer
    /// ones (a clock set back), as `git log --since` does. With a `deadline`, a walk still
    /// going at it stops with [`HistoryError::OutOfTime`].
    pub fn walk_details_since(
        &self,
        spec: Option<&str>,
        since: i64,
        deadline: Option<std::time::Instant>,
        mut visit: impl FnMut(CommitDetails),
    ) -> Result<u64, HistoryError> {
        use gix::revision::walk::Sorting;
        use gix::traverse::commit::simple::CommitTimeOrder;
        let (tips, hidden) = self.resolve(spec)?;
        let mailmap = self.repo.open_mailmap();
        let mut buffer = Vec::new();
        let walk = self
            .repo
            .rev_walk(tips)
            .with_hidden(hidden)
            .sorting(Sorting::ByCommitTimeCutoff {
                order: CommitTimeOrder::NewestFirst,
                seconds: since,
            })
            .all()
            .map_err(read_error)?;
        let mut count = 0;
        for info in walk {
            if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return Err(HistoryError::OutOfTime { read: count });
            }
            let info = info.map_err(read_error)?;
            visit(self.details_of(&info.id, &mailmap, &mut buffer)?);
            count += 1;
        }
        Ok(count)
    }

    /// Who the next commit of this repository will be authored by: `GIT_AUTHOR_EMAIL` /
    /// `user.email` (and the name), mapped through `.mailmap` as reports show authors.
    /// `None` when no email is configured.
    pub fn author_identity(&self) -> Option<(String, String)> {
        let name = std::env::var(env_vars::GIT_AUTHOR_NAME).ok();
        let email = std::env::var(env_vars::GIT_AUTHOR_EMAIL).ok();
        let config = self.repo.config_snapshot();
        let name = name
            .or_else(|| config.string("user.name").map(|v| v.to_string()))
            .unwrap_or_default();
        let email = email.or_else(|| config.string("user.email").map(|v| v.to_string()))?;
        let mailmap = self.repo.open_mailmap();
        let signature = gix::actor::SignatureRef {
            name: name.as_str().into(),
            email: email.as_str().into(),
            time: "0 +0000",
        };
        let mapped = mailmap.resolve_cow(signature);
        Some((mapped.name.to_string(), mapped.email.to_string()))
    }

    fn details_of(
        &self,
        id: &gix::oid,
        mailmap: &gix::mailmap::Snapshot,
        buffer: &mut Vec<u8>,
    ) -> Result<CommitDetails, HistoryError> {
        use gix::objs::Find;
        let data = self
            .repo
            .objects
            .try_find(id, buffer)
            .map_err(read_error)?
            .filter(|found| found.kind == gix::objs::Kind::Commit)
            .ok_or_else(|| read_error(MissingCommit(id.to_owned())))?
            .data;
        let commit = gix::objs::CommitRef::from_bytes(data, self.repo.object_hash())
            .map_err(|_| read_error(CorruptCommit(id.to_owned())))?;
        let author_ref = commit
            .author()
            .map_err(|_| read_error(CorruptCommit(id.to_owned())))?;
        let author_time = author_ref.time().unwrap_or_default();
        let author = mailmap.resolve_cow(author_ref);
        let commit_time = commit
            .committer()
            .ok()
            .and_then(|c| c.time().ok())
            .map_or(author_time.seconds, |t| t.seconds);
        Ok(CommitDetails {
            id: id.to_string(),
            parents: commit.parents().map(|p| p.to_string()).collect(),
            author_name: author.name.to_string(),
            author_email: author.email.to_string(),
            author_time: author_time.seconds,
            author_offset: author_time.offset,
            commit_time,
            message: String::from_utf8_lossy(message_raw_sloppy(data)).into_owned(),
        })
    }

    /// A counter of the lines commits changed, reusing one diff cache (the attributes it
    /// needs are read once, not per commit).
    pub fn line_counter(&self) -> Result<LineCounter<'_>, HistoryError> {
        let mut repo = self.repo.clone();
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                LINE_COUNTER_PACK_CACHE,
            ))
        });
        repo.object_cache_size(LINE_COUNTER_OBJECT_CACHE);
        let cache = || repo.diff_resource_cache_for_tree_diff().map_err(read_error);
        Ok(LineCounter {
            cache: cache()?,
            tree_cache: cache()?,
            repo,
            history: std::marker::PhantomData,
        })
    }

    /// [`LineCounter::line_stats`] of each of `ids` (full hex), in the same order, counted on up
    /// to [`LINE_THREADS`] threads (each with a repository handle of its own) in chunks of
    /// consecutive ids, which share most of their trees and blobs; `progress(done)` is called
    /// on this thread as chunks finish. A thread whose repository does not open leaves its
    /// share to the others.
    pub fn line_stats_of(
        &self,
        ids: &[&str],
        progress: impl FnMut(u64),
    ) -> Result<Vec<LineStats>, HistoryError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.line_stats_in_chunks(ids, threads.min(LINE_THREADS), LINE_CHUNK, progress)
    }

    fn line_stats_in_chunks(
        &self,
        ids: &[&str],
        threads: usize,
        chunk: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<LineStats>, HistoryError> {
        use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
        let chunks: Vec<&[&str]> = ids.chunks(chunk.max(1)).collect();
        let next = AtomicUsize::new(0);
        let done = AtomicU64::new(0);
        let failed = AtomicBool::new(false);
        let work = |counter: &mut LineCounter<'_>, report: &mut dyn FnMut(u64)| {
            let mut counted: Vec<(usize, Vec<LineStats>)> = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(ids) = chunks.get(at) else {
                    break;
                };
                let stats = ids
                    .iter()
                    .map(|id| counter.line_stats(id))
                    .collect::<Result<Vec<_>, _>>()
                    .inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
                let total = done.fetch_add(stats.len() as u64, Ordering::Relaxed);
                report(total + stats.len() as u64);
                counted.push((at, stats));
            }
            Ok::<_, HistoryError>(counted)
        };
        let git_dir = self.repo.git_dir();
        let options = self.repo.open_options();
        let (mine, theirs) = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads.min(chunks.len()))
                .map(|_| {
                    let work = &work;
                    scope.spawn(move || {
                        let Ok(repo) = gix::open_opts(git_dir, options.clone()) else {
                            return Ok(Vec::new());
                        };
                        let history = History { repo };
                        work(&mut history.line_counter()?, &mut |_| {})
                    })
                })
                .collect();
            let mine = self
                .line_counter()
                .and_then(|mut counter| work(&mut counter, &mut progress));
            let theirs: Vec<_> = helpers
                .into_iter()
                .map(|helper| {
                    helper
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect();
            (mine, theirs)
        });
        let mut counted = mine?;
        for helper in theirs {
            counted.extend(helper?);
        }
        counted.sort_unstable_by_key(|(at, _)| *at);
        Ok(counted.into_iter().flat_map(|(_, stats)| stats).collect())
    }

    /// Walks the commits from `tips`, not reachable from `hidden`, calling `visit` with each
    /// commit's raw message, in the order of gix's breadth-first walk.
    fn walk_raw(
        &self,
        tips: Vec<gix::ObjectId>,
        hidden: Vec<gix::ObjectId>,
        mut visit: impl FnMut(&gix::oid, &[u8]),
    ) -> Result<u64, HistoryError> {
        use gix::objs::Find;
        if self.repo.is_shallow().unwrap_or(true) || self.has_object_replacements() {
            return self.walk_with_gix(tips, hidden, visit);
        }
        let objects = PackedCommits::new(&self.repo);
        // As gix's own walk: a commit-graph that cannot be read is not used.
        let graph = self.repo.commit_graph_if_enabled().unwrap_or(None);
        if hidden.is_empty() && graph.is_none() {
            return walk_breadth_first(&objects, tips, visit);
        }
        // Without a commit-graph the walk reads each commit into its own buffer right before
        // yielding it. With one it reads none, and the last commit found may be one that
        // working out the excluded commits read into another buffer.
        let walk_buffer_holds_commit = graph.is_none();
        let mut walk = gix::traverse::commit::Simple::new(tips, &objects)
            .sorting(gix::traverse::commit::simple::Sorting::BreadthFirst)
            .map_err(read_error)?
            .commit_graph(graph)
            .hide(hidden)
            .map_err(read_error)?;
        let mut count = 0;
        let mut data = Vec::new();
        while let Some(info) = walk.next() {
            let info = info.map_err(read_error)?;
            let data: &[u8] = if walk_buffer_holds_commit && objects.last_commit() == Some(info.id)
            {
                walk.commit_data()
            } else {
                objects
                    .try_find(&info.id, &mut data)
                    .map_err(read_error)?
                    .filter(|found| found.kind == gix::objs::Kind::Commit)
                    .ok_or_else(|| read_error(MissingCommit(info.id)))?
                    .data
            };
            visit(&info.id, message_raw_sloppy(data));
            count += 1;
        }
        Ok(count)
    }

    /// The commits of every reference (branches, remote-tracking branches, tags peeled) and of
    /// `HEAD`, as `git log --all` starts from; notes and the stash are left out (their commits
    /// are not history). References that do not lead to a commit are passed over.
    fn all_ref_tips(&self) -> Result<Vec<gix::ObjectId>, Box<dyn std::error::Error + Send + Sync>> {
        let platform = self.repo.references()?;
        let mut tips: Vec<gix::ObjectId> = Vec::new();
        for reference in platform.all()?.flatten() {
            let name = reference.name().as_bstr().to_string();
            if name.starts_with("refs/notes/") || name == "refs/stash" {
                continue;
            }
            let mut reference = reference;
            if let Ok(commit) = reference.peel_to_commit() {
                tips.push(commit.id);
            }
        }
        if let Ok(head) = self.repo.head_commit() {
            tips.push(head.id);
        }
        tips.sort();
        tips.dedup();
        Ok(tips)
    }

    /// The commits a spec includes and excludes, peeled to commits.
    #[allow(clippy::type_complexity)]
    fn resolve(
        &self,
        spec: Option<&str>,
    ) -> Result<(Vec<gix::ObjectId>, Vec<gix::ObjectId>), HistoryError> {
        use gix::revision::plumbing::Spec;
        let spec_text = spec.unwrap_or("HEAD");
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| HistoryError::BadRange {
            spec: spec_text.to_string(),
            source,
        };
        if spec_text == ALL_REFS {
            return Ok((self.all_ref_tips().map_err(bad)?, Vec::new()));
        }
        let parsed = self
            .repo
            .rev_parse(spec_text)
            .map_err(|e| bad(Box::new(e)))?
            .detach();
        let (tips, hidden): (Vec<gix::ObjectId>, Vec<gix::ObjectId>) = match parsed {
            Spec::Include(id) => (vec![id], vec![]),
            Spec::Range { from, to } => (vec![to], vec![from]),
            Spec::Merge { theirs, ours } => {
                let base = self
                    .repo
                    .merge_base(theirs, ours)
                    .map_err(|e| bad(Box::new(e)))?;
                (
                    vec![theirs, ours],
                    base.into_iter().map(|b| b.detach()).collect(),
                )
            }
            Spec::Exclude(id) => (vec![], vec![id]),
            Spec::IncludeOnlyParents(id) => {
                let commit = self.repo.find_commit(id).map_err(|e| bad(Box::new(e)))?;
                (commit.parent_ids().map(|p| p.detach()).collect(), vec![])
            }
            Spec::ExcludeParents(id) => {
                let commit = self.repo.find_commit(id).map_err(|e| bad(Box::new(e)))?;
                (vec![id], commit.parent_ids().map(|p| p.detach()).collect())
            }
        };
        let tips: Vec<gix::ObjectId> = tips
            .into_iter()
            .map(|id| self.peel_to_commit(id))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        let hidden: Vec<gix::ObjectId> = hidden
            .into_iter()
            .map(|id| self.peel_to_commit(id))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        Ok((tips, hidden))
    }

    /// [`History::walk_raw`] through gix's own walk, which knows shallow boundaries and
    /// replaced objects.
    fn walk_with_gix(
        &self,
        tips: Vec<gix::ObjectId>,
        hidden: Vec<gix::ObjectId>,
        mut visit: impl FnMut(&gix::oid, &[u8]),
    ) -> Result<u64, HistoryError> {
        let walk = self
            .repo
            .rev_walk(tips)
            .with_hidden(hidden)
            .all()
            .map_err(read_error)?;
        let mut count = 0;
        for info in walk {
            let info = info.map_err(read_error)?;
            let commit = info.object().map_err(read_error)?;
            visit(&info.id, commit.message_raw_sloppy());
            count += 1;
        }
        Ok(count)
    }

    /// Whether `refs/replace/` (or its configured equivalent) swaps objects in this repository.
    fn has_object_replacements(&self) -> bool {
        !self.repo.objects.ignore_replacements
            && self
                .repo
                .objects
                .store_ref()
                .replacements()
                .next()
                .is_some()
    }

    fn peel_to_commit(
        &self,
        id: gix::ObjectId,
    ) -> Result<gix::ObjectId, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.repo.find_object(id)?.peel_to_commit()?.id)
    }
}

/// Counts the lines commits changed; made by [`History::line_counter`].
pub struct LineCounter<'h> {
    /// The history's repository with caches of its own: consecutive commits share most trees
    /// and blob versions, and `git gc` stores each as a delta against the next one.
    repo: gix::Repository,
    history: std::marker::PhantomData<&'h History>,
    /// Diffs each changed file's blobs.
    cache: gix::diff::blob::Platform,
    /// Handed to the tree diff, which otherwise builds one per call (reading attributes,
    /// the index and `HEAD` again for every commit); unused without rename tracking.
    tree_cache: gix::diff::blob::Platform,
}

impl LineCounter<'_> {
    /// Lines the commit `id` (full hex) changed against its first parent (a root commit:
    /// against the empty tree), without rename detection. A merge is diffed against its first
    /// parent too; callers that follow `git log --numstat` (which shows no lines for merges)
    /// skip merges themselves.
    pub fn line_stats(&mut self, id: &str) -> Result<LineStats, HistoryError> {
        let repo = &self.repo;
        let id = gix::ObjectId::from_hex(id.as_bytes()).map_err(read_error)?;
        let commit = repo.find_commit(id).map_err(read_error)?;
        let tree = commit.tree().map_err(read_error)?;
        let parent_tree = match commit.parent_ids().next() {
            Some(parent) => parent
                .object()
                .map_err(read_error)?
                .into_commit()
                .tree()
                .map_err(read_error)?,
            None => repo.empty_tree(),
        };
        let mut stats = LineStats::default();
        let LineCounter {
            cache, tree_cache, ..
        } = self;
        parent_tree
            .changes()
            .map_err(read_error)?
            .options(|options| {
                options.track_rewrites(None);
            })
            .for_each_to_obtain_tree_with_cache(&tree, tree_cache, |change| {
                if let Some(counts) = change
                    .diff(cache)
                    .ok()
                    .and_then(|mut platform| platform.line_counts().ok())
                    .flatten()
                {
                    stats.files += 1;
                    stats.added += u64::from(counts.insertions);
                    stats.removed += u64::from(counts.removals);
                }
                cache.clear_resource_cache_keep_allocation();
                Ok(std::ops::ControlFlow::Continue(()))
            })
            .map_err(read_error)?;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::git;

    /// `git diff --numstat` of a commit against its first parent (a root commit: its whole
    /// tree), binary files counting no lines.
    fn numstat(dir: &Path, id: &str) -> LineStats {
        let out = git(
            dir,
            &[
                "diff-tree",
                "--root",
                "--no-commit-id",
                "--no-renames",
                "--numstat",
                "-r",
                id,
            ],
        );
        let mut stats = LineStats::default();
        for line in out.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            if let (Ok(added), Ok(removed)) = (fields[0].parse::<u64>(), fields[1].parse::<u64>()) {
                stats.added += added;
                stats.removed += removed;
                stats.files += 1;
            }
        }
        stats
    }

    #[test]
    fn lines_counted_in_parallel_chunks_equal_numstat_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for n in 0..23u32 {
            for f in 0..=(n % 3) {
                let path = dir.join(format!("f{f}.txt"));
                let mut text = std::fs::read_to_string(&path).unwrap_or_default();
                if n % 4 == 1 && text.len() > 12 {
                    text = text[..text.len() / 2].to_string();
                }
                for line in 0..(n % 5 + 1) {
                    text.push_str(&format!("line {n} {line}\n"));
                }
                std::fs::write(&path, text).unwrap();
            }
            if n == 6 {
                std::fs::write(dir.join("blob.bin"), [0u8, 1, 2, 0, 3]).unwrap();
            }
            if n == 15 {
                std::fs::remove_file(dir.join("f2.txt")).unwrap();
            }
            git(dir, &["add", "-A"]);
            git(
                dir,
                &["commit", "-q", "--allow-empty", "-m", &format!("c{n}")],
            );
        }
        git(dir, &["repack", "-adq"]);
        let log = git(dir, &["rev-list", "HEAD"]);
        let ids: Vec<&str> = log.lines().collect();
        let expected: Vec<LineStats> = ids.iter().map(|id| numstat(dir, id)).collect();
        assert!(expected.iter().any(|s| s.removed > 0));

        let history = History::discover(dir).unwrap();
        let mut counter = history.line_counter().unwrap();
        let one_by_one: Vec<LineStats> = ids
            .iter()
            .map(|id| counter.line_stats(id).unwrap())
            .collect();
        assert_eq!(one_by_one, expected);
        for (threads, chunk) in [(1, 64), (2, 1), (3, 4), (4, 5)] {
            let mut reported = Vec::new();
            let counted = history
                .line_stats_in_chunks(&ids, threads, chunk, |done| reported.push(done))
                .unwrap();
            assert_eq!(counted, expected, "{threads} threads, chunks of {chunk}");
            assert!(reported.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(history.line_stats_of(&ids, |_| {}).unwrap(), expected);
        assert!(
            history
                .line_stats_of(&["0".repeat(40).as_str()], |_| {})
                .is_err()
        );
    }
}
