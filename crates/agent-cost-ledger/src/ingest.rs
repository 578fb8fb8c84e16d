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
    let mut cursors = read_cursors(&cursor_path);
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
    };
    for (done, file) in files.iter().enumerate() {
        if options.deadline.is_some_and(|d| Instant::now() >= d) {
            run.report.complete = false;
            break;
        }
        let previous = cursors.files.get(&file.path);
        match run.read_file(file, previous, options.deadline) {
            Ok(Some(cursor)) => {
                cursors.files.insert(file.path.clone(), cursor);
            }
            Ok(None) => {}
            Err(message) => run.report.unreadable.push(message),
        }
        progress(&run.report, done as u64 + 1);
        if !run.report.complete {
            break;
        }
    }
    cursors.files.retain(|path, _| path.exists());
    cursors.version = 1;
    write_cursors(&cursor_path, &cursors)?;
    Ok(run.report)
}

struct Run {
    state_dir: PathBuf,
    router: Router,
    targets: HashMap<Destination, Target>,
    report: IngestReport,
}

impl Run {
    /// Reads one file's new lines. Returns the cursor to save, or `None` to keep the old one
    /// (nothing read, or its events could not all be charged).
    fn read_file(
        &mut self,
        file: &claude::TranscriptFile,
        previous: Option<&Cursor>,
        deadline: Option<Instant>,
    ) -> Result<Option<Cursor>, String> {
        let mut pending_events = 0usize;
        let mut flush_error: Option<LedgerError> = None;
        let mut budget_hit = false;
        let result = tail::read_new_lines(&file.path, previous, |line, _| {
            match claude::parse_line(line, file.subagent) {
                LineOutcome::Usage(event) => {
                    let destination = self.router.route(&event.cwd).clone();
                    self.target(&destination).batch.push(*event);
                    pending_events += 1;
                }
                LineOutcome::NoUsage => {}
                LineOutcome::Synthetic => self.report.synthetic_skipped += 1,
                LineOutcome::Malformed => self.report.malformed_skipped += 1,
            }
            if pending_events >= FLUSH_EVERY {
                pending_events = 0;
                if let Err(e) = self.flush(deadline) {
                    flush_error = Some(e);
                    return ControlFlow::Break(());
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                budget_hit = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        let (cursor, outcome, start) = match result {
            Ok(read) => read,
            Err(e) => {
                self.drop_batches();
                return Err(format!("{}: {e}", file.path.display()));
            }
        };
        if let Err(e) = flush_error.map_or_else(|| self.flush(deadline), Err) {
            self.drop_batches();
            self.report.complete = false;
            return Err(format!("{}: {e}", file.path.display()));
        }
        if budget_hit {
            self.report.complete = false;
        }
        if start == Start::UpToDate {
            return Ok(None);
        }
        self.report.files_read += 1;
        if start == Start::Restart || (start == Start::Fresh && previous.is_some()) {
            self.report.files_reread += 1;
        }
        self.report.bytes_read += outcome.bytes;
        self.report.lines_read += outcome.lines;
        Ok(Some(cursor))
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

    fn drop_batches(&mut self) {
        for target in self.targets.values_mut() {
            target.batch.clear();
        }
    }

    /// Charges every buffered event to its tally.
    fn flush(&mut self, deadline: Option<Instant>) -> Result<(), LedgerError> {
        for target in self.targets.values_mut() {
            if target.batch.is_empty() {
                continue;
            }
            if let Err(error) = charge_batch(target, &mut self.report, deadline) {
                // What is in memory may be ahead of the disk: start from the disk next time.
                target.seen = None;
                target.batch.clear();
                return Err(error);
            }
        }
        Ok(())
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
