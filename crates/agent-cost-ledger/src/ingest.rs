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
        buffered: 0,
        awaiting_flush: Vec::new(),
        deadline: options.deadline,
    };
    let mut failure = None;
    for (done, file) in files.iter().enumerate() {
        if options.deadline.is_some_and(|d| Instant::now() >= d) {
            run.report.complete = false;
            break;
        }
        match run.read_file(file) {
            Ok(()) => {}
            Err(ReadFailure::File(message)) => run.report.unreadable.push(message),
            Err(ReadFailure::Charge(error)) => {
                failure = Some(error);
                break;
            }
        }
        progress(&run.report, done as u64 + 1);
        if !run.report.complete {
            break;
        }
    }
    if failure.is_none()
        && let Err(error) = run.flush()
    {
        failure = Some(error);
    }
    let mut cursors = run.cursors;
    cursors.files.retain(|path, _| path.exists());
    cursors.version = 1;
    write_cursors(&cursor_path, &cursors)?;
    match failure {
        Some(error) => Err(error),
        None => Ok(run.report),
    }
}

/// Why a file's new lines could not be taken in.
enum ReadFailure {
    /// The file could not be read: reported, the run goes on.
    File(String),
    /// A tally could not be written: the run stops.
    Charge(LedgerError),
}

struct Run {
    state_dir: PathBuf,
    router: Router,
    targets: HashMap<Destination, Target>,
    report: IngestReport,
    cursors: CursorFile,
    /// Events read but not yet charged.
    buffered: usize,
    /// Files read to their cursor whose events are not all charged yet: their cursors are
    /// saved by the flush that charges them, never before.
    awaiting_flush: Vec<(PathBuf, Cursor)>,
    deadline: Option<Instant>,
}

impl Run {
    /// Reads one file's new lines into the batches, flushing when they are full.
    fn read_file(&mut self, file: &claude::TranscriptFile) -> Result<(), ReadFailure> {
        let previous = self.cursors.files.get(&file.path).cloned();
        let mut flush_error: Option<LedgerError> = None;
        let mut budget_hit = false;
        let deadline = self.deadline;
        let result = tail::read_new_lines(&file.path, previous.as_ref(), |line, _| {
            match claude::parse_line(line, file.subagent) {
                LineOutcome::Usage(event) => {
                    let destination = self.router.route(&event.cwd).clone();
                    self.target(&destination).batch.push(*event);
                    self.buffered += 1;
                }
                LineOutcome::NoUsage => {}
                LineOutcome::Synthetic => self.report.synthetic_skipped += 1,
                LineOutcome::Malformed => self.report.malformed_skipped += 1,
            }
            if self.buffered >= FLUSH_EVERY
                && let Err(e) = self.flush()
            {
                flush_error = Some(e);
                return ControlFlow::Break(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                budget_hit = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(error) = flush_error {
            return Err(ReadFailure::Charge(error));
        }
        // Lines read before a read error stay buffered: charging them is safe, and without a
        // new cursor the file is read again (and deduplicated) next time.
        let (cursor, outcome, start) =
            result.map_err(|e| ReadFailure::File(format!("{}: {e}", file.path.display())))?;
        if budget_hit {
            self.report.complete = false;
        }
        if start == Start::UpToDate {
            return Ok(());
        }
        self.report.files_read += 1;
        if start == Start::Restart {
            self.report.files_reread += 1;
        }
        self.report.bytes_read += outcome.bytes;
        self.report.lines_read += outcome.lines;
        self.awaiting_flush.push((file.path.clone(), cursor));
        Ok(())
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
