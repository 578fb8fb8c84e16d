//! Catching up: read new transcript bytes, deduplicate, charge each event's tally.
//!
//! Deduplication is per tally: each tally knows the tokens already charged per event id, so a
//! repeated line (a streamed response, a sidechain replay, a file re-read after its cursor was
//! lost) charges only what it adds beyond the field-wise maximum seen so far — usually nothing.
//! Cursors live in `$AGENT_COST_HOME/cursors.json`; losing them costs a re-read, never money.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_cost_events::UsageEvent;
use agent_cost_paths::Locations;
use agent_cost_sources::claude::{self, LineOutcome};
use agent_cost_sources::tail::{self, Cursor, Start};
use serde::{Deserialize, Serialize};

use crate::error::{IoResultExt, LedgerError};
use crate::journal::{Charge, Record};
use crate::route::{Destination, Router};
use crate::seen::SeenIndex;
use crate::tally::{Tally, lock_within};

/// How many events are buffered before they are written to their tallies.
const FLUSH_EVERY: usize = 4096;

/// Limits of one ingest run.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// Stop reading at this instant (hooks have a time budget); `None` reads everything.
    pub deadline: Option<Instant>,
}

/// What one ingest run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Transcript files found.
    pub files_found: u64,
    /// Files with new bytes that were read.
    pub files_read: u64,
    /// Files read again from the top because they were rewritten or their cursor was lost.
    pub files_reread: u64,
    /// New bytes consumed.
    pub bytes_read: u64,
    /// Complete lines read.
    pub lines_read: u64,
    /// Requests charged for the first time.
    pub events_charged: u64,
    /// Repeats that added tokens to an event already charged (a longer streamed copy).
    pub events_topped_up: u64,
    /// Repeats that added nothing (streamed copies, replays, re-reads).
    pub duplicates: u64,
    /// `<synthetic>` lines skipped.
    pub synthetic_skipped: u64,
    /// Lines that were not valid JSON (or not the expected shape), skipped.
    pub malformed_skipped: u64,
    /// Files that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// False when the time budget ran out before every file was caught up.
    pub complete: bool,
    /// Events charged per destination (worktree path or `unattributed`).
    pub charged_to: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CursorFile {
    version: u32,
    files: BTreeMap<PathBuf, Cursor>,
}

/// Per-destination state kept for one run.
struct Target {
    tally: Tally,
    label: String,
    seen: Option<SeenIndex>,
    batch: Vec<UsageEvent>,
}

/// Reads every transcript's new bytes and charges the events to their tallies.
pub fn ingest(locations: &Locations, options: IngestOptions) -> Result<IngestReport, LedgerError> {
    ingest_with_progress(locations, options, &mut |_, _| {})
}

/// [`ingest`], calling `progress(report so far, files done)` after each file.
pub fn ingest_with_progress(
    locations: &Locations,
    options: IngestOptions,
    progress: &mut dyn FnMut(&IngestReport, u64),
) -> Result<IngestReport, LedgerError> {
    let state_dir = &locations.state_dir;
    std::fs::create_dir_all(state_dir).at(state_dir)?;
    let lock_path = state_dir.join("ingest.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .at(&lock_path)?;
    let wait = match options.deadline {
        Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        None => Duration::from_secs(30),
    };
    lock_within(&lock, &lock_path, wait)?;

    let cursor_path = state_dir.join("cursors.json");
    let discovery = claude::find_transcripts(&locations.claude_projects);
    let files = discovery.files;
    let mut run = Run {
        state_dir: state_dir.clone(),
        router: Router::default(),
        targets: HashMap::new(),
        report: IngestReport {
            files_found: files.len() as u64,
            complete: true,
            unreadable: discovery.unreadable,
            ..IngestReport::default()
        },
        cursors: read_cursors(&cursor_path),
        cursors_changed: false,
        buffered: 0,
        awaiting_flush: Vec::new(),
        deadline: options.deadline,
    };
    let previous: Vec<Option<Cursor>> = files
        .iter()
        .map(|file| run.cursors.files.get(&file.path).cloned())
        .collect();

    // Reader threads parse files (newest first, each taking the next one); this thread routes
    // and charges what they send. A file's events always arrive before its FileDone.
    let mut failure = None;
    let mut files_done = 0;
    let next_file = std::sync::atomic::AtomicUsize::new(0);
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(4 * readers);
        for _ in 0..readers {
            let sender = sender.clone();
            let (files, previous, next_file) = (&files, &previous, &next_file);
            scope.spawn(move || read_files(files, previous, next_file, options.deadline, sender));
        }
        drop(sender);
        while let Ok(message) = receiver.recv() {
            match message {
                Parsed::Events(events) => {
                    if let Err(error) = run.take(events) {
                        failure = Some(error);
                        break;
                    }
                }
                Parsed::FileDone(done) => {
                    files_done += 1;
                    let index = done.index;
                    run.finish_file(&files[index], done);
                    progress(&run.report, files_done as u64);
                }
            }
        }
        // Dropping the receiver stops reader threads that are still sending.
        drop(receiver);
    });
    if files_done < files.len() {
        run.report.complete = false;
    }
    if failure.is_none()
        && let Err(error) = run.flush()
    {
        failure = Some(error);
    }
    let mut cursors = run.cursors;
    let found: std::collections::HashSet<&PathBuf> = files.iter().map(|f| &f.path).collect();
    let before = cursors.files.len();
    cursors.files.retain(|path, _| found.contains(path));
    if run.cursors_changed || cursors.files.len() != before || cursors.version != 1 {
        cursors.version = 1;
        write_cursors(&cursor_path, &cursors)?;
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(run.report),
    }
}

/// How many parsed events travel between the threads at a time.
const SEND_EVERY: usize = 1024;

/// What the reading thread sends.
enum Parsed {
    /// Usage events from the file being read.
    Events(Vec<UsageEvent>),
    /// A file has been read up to its new cursor, or could not be read.
    FileDone(FileDone),
}

struct FileDone {
    index: usize,
    synthetic: u64,
    malformed: u64,
    budget_hit: bool,
    read: std::io::Result<(Cursor, tail::ReadOutcome, Start)>,
}

/// Takes the next unread file, reads and parses its new lines, and sends them; stops when
/// every file is taken, at the deadline, or when the receiving side hangs up.
fn read_files(
    files: &[claude::TranscriptFile],
    previous: &[Option<Cursor>],
    next_file: &std::sync::atomic::AtomicUsize,
    deadline: Option<Instant>,
    sender: std::sync::mpsc::SyncSender<Parsed>,
) {
    loop {
        let index = next_file.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(file) = files.get(index) else {
            return;
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        let mut events = Vec::new();
        let (mut synthetic, mut malformed) = (0, 0);
        let (mut budget_hit, mut hung_up) = (false, false);
        let read = tail::read_new_lines(&file.path, previous[index].as_ref(), |line, _| {
            match claude::parse_line(line, file.subagent) {
                LineOutcome::Usage(event) => events.push(*event),
                LineOutcome::NoUsage => {}
                LineOutcome::Synthetic => synthetic += 1,
                LineOutcome::Malformed => malformed += 1,
            }
            if events.len() >= SEND_EVERY
                && sender
                    .send(Parsed::Events(std::mem::take(&mut events)))
                    .is_err()
            {
                hung_up = true;
                return ControlFlow::Break(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                budget_hit = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        let done = FileDone {
            index,
            synthetic,
            malformed,
            budget_hit,
            read,
        };
        if hung_up
            || (!events.is_empty() && sender.send(Parsed::Events(events)).is_err())
            || sender.send(Parsed::FileDone(done)).is_err()
            || budget_hit
        {
            return;
        }
    }
}

struct Run {
    state_dir: PathBuf,
    router: Router,
    targets: HashMap<Destination, Target>,
    report: IngestReport,
    cursors: CursorFile,
    /// True once a cursor moved (the cursor file is rewritten only then).
    cursors_changed: bool,
    /// Events read but not yet charged.
    buffered: usize,
    /// Files read to their cursor whose events are not all charged yet: their cursors are
    /// saved by the flush that charges them, never before.
    awaiting_flush: Vec<(PathBuf, Cursor)>,
    deadline: Option<Instant>,
}

impl Run {
    /// Routes parsed events into the batches, flushing when they are full.
    fn take(&mut self, events: Vec<UsageEvent>) -> Result<(), LedgerError> {
        for event in events {
            let destination = self.router.route(&event.cwd).clone();
            self.target(&destination).batch.push(event);
            self.buffered += 1;
        }
        if self.buffered >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Accounts for a file read to its end (or its deadline). Lines taken before a read error
    /// stay in the batches: charging them is safe, and without a new cursor the file is read
    /// again (and deduplicated) next time.
    fn finish_file(&mut self, file: &claude::TranscriptFile, done: FileDone) {
        self.report.synthetic_skipped += done.synthetic;
        self.report.malformed_skipped += done.malformed;
        if done.budget_hit {
            self.report.complete = false;
        }
        let (cursor, outcome, start) = match done.read {
            Ok(read) => read,
            Err(e) => {
                self.report
                    .unreadable
                    .push(format!("{}: {e}", file.path.display()));
                return;
            }
        };
        if start == Start::UpToDate {
            return;
        }
        self.report.files_read += 1;
        if start == Start::Restart {
            self.report.files_reread += 1;
        }
        self.report.bytes_read += outcome.bytes;
        self.report.lines_read += outcome.lines;
        self.awaiting_flush.push((file.path.clone(), cursor));
    }

    fn target(&mut self, destination: &Destination) -> &mut Target {
        let state_dir = &self.state_dir;
        self.targets
            .entry(destination.clone())
            .or_insert_with(|| Target {
                tally: destination.tally(state_dir),
                label: destination.label(),
                seen: None,
                batch: Vec::new(),
            })
    }

    /// Charges every buffered event to its tally, then saves the cursors of the files whose
    /// events are now all charged. On failure nothing buffered is kept, and those files will
    /// be read again.
    fn flush(&mut self) -> Result<(), LedgerError> {
        let mut failure = None;
        for target in self.targets.values_mut() {
            if target.batch.is_empty() || failure.is_some() {
                continue;
            }
            if let Err(error) = charge_batch(target, &mut self.report, self.deadline) {
                // What is in memory may be ahead of the disk: start from the disk next time.
                target.seen = None;
                failure = Some(error);
            }
        }
        self.buffered = 0;
        match failure {
            Some(error) => {
                for target in self.targets.values_mut() {
                    target.batch.clear();
                }
                self.awaiting_flush.clear();
                Err(error)
            }
            None => {
                for (path, cursor) in self.awaiting_flush.drain(..) {
                    self.cursors.files.insert(path, cursor);
                    self.cursors_changed = true;
                }
                Ok(())
            }
        }
    }
}

/// Charges one destination's buffered events, under its tally's lock.
fn charge_batch(
    target: &mut Target,
    report: &mut IngestReport,
    deadline: Option<Instant>,
) -> Result<(), LedgerError> {
    let wait = deadline.map_or(Duration::from_secs(30), |d| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(20))
    });
    let locked = target.tally.lock(wait)?;
    if target.seen.is_none() {
        target.seen = Some(SeenIndex::open(
            target.tally.dir(),
            &target.tally.journal_path(),
        )?);
    }
    let seen = target.seen.as_mut().expect("opened above");
    let mut charges = Vec::new();
    for event in target.batch.drain(..) {
        let before = seen.charged(&event.event_id)?;
        let prior = before.unwrap_or_default();
        let grown = prior.max_fieldwise(&event.tokens).saturating_sub(&prior);
        if before.is_some() && grown.is_zero() {
            report.duplicates += 1;
            continue;
        }
        if before.is_some() {
            report.events_topped_up += 1;
        } else {
            report.events_charged += 1;
            *report.charged_to.entry(target.label.clone()).or_default() += 1;
        }
        let charge = Charge {
            seq: seen.next_seq(),
            event: event.event_id,
            agent: event.agent,
            session: event.session_id,
            model: event.model,
            ts: event.timestamp,
            tokens: grown,
            requests: u64::from(before.is_none()),
            branch: event.git_branch,
            speed: event.speed,
        };
        seen.record(&charge);
        charges.push(charge);
    }
    let records: Vec<Record> = charges.iter().cloned().map(Record::Charge).collect();
    locked.append(&records)?;
    seen.persist(target.tally.dir(), &target.tally.journal_path(), &charges)
}

fn read_cursors(path: &Path) -> CursorFile {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn write_cursors(path: &Path, cursors: &CursorFile) -> Result<(), LedgerError> {
    let aside = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(cursors).map_err(|e| LedgerError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    std::fs::write(&aside, bytes).at(&aside)?;
    std::fs::rename(&aside, path).at(path)
}
