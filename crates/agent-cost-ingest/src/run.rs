//! One catch-up run over every source.
//!
//! Two reader threads take files newest first (a run with a deadline reaches the sessions that
//! are running now before old history) and send what they read; this thread routes each event
//! and records it. A single file with little new in it (a hook's usual catch-up) is read on
//! this thread, with no thread to start. Every few thousand events, and at the end, one transaction writes the
//! buffered events together with the cursors of the files they came from, so a cursor never
//! moves past an event that is not in the store, and an event already in the store is never
//! charged again (a replay after a kill adds nothing).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use agent_cost_events::{RepeatRule, UsageEvent};
use agent_cost_paths::Locations;
use agent_cost_sources::claude::ClaudeSource;
use agent_cost_sources::codex::CodexSource;
use agent_cost_sources::copilot::CopilotSource;
use agent_cost_sources::gemini::GeminiSource;
use agent_cost_sources::opencode::OpenCodeSource;
use agent_cost_sources::{DataFile, Item, ReadEnd, Scope, Source};
use agent_cost_store::{FileRead, Recorded, Store, StoreError};
use serde::Serialize;

use crate::route::Router;

/// Up to this many files of a source, a run that forgets no cursors looks up each file's cursor
/// instead of reading all of the source's.
const POINT_LOOKUPS: usize = 64;
/// How many events are buffered before they are written.
const FLUSH_EVERY: usize = 4096;
/// How many events travel between the threads at a time.
const SEND_EVERY: usize = 512;

/// Every source agent-cost reads, configured from `locations`.
pub fn sources(locations: &Locations) -> Vec<Box<dyn Source>> {
    let mut sources: Vec<Box<dyn Source>> = vec![Box::new(ClaudeSource::new(
        locations.claude_projects.clone(),
    ))];
    if let Some(home) = &locations.codex_home {
        sources.push(Box::new(CodexSource::new(home.clone())));
    }
    if let Some(dir) = &locations.gemini_dir {
        sources.push(Box::new(GeminiSource::new(dir.clone())));
    }
    if locations.opencode_dir.is_some() || locations.opencode_db.is_some() {
        sources.push(Box::new(OpenCodeSource::new(
            locations.opencode_dir.clone(),
            locations.opencode_db.clone(),
        )));
    }
    sources.push(Box::new(CopilotSource::new(
        locations.vscode_user_dirs.clone(),
        locations.copilot_home.clone(),
        copilot_billing(&locations.config_file()),
    )));
    sources
}

/// Copilot's premium-request multipliers and list price: the built-in table, then the
/// `[copilot]` table of `$AGENT_COST_HOME/config.toml`. A file that cannot be read or a table
/// that is not valid leaves the built-in values (a hook must not fail over it; the price
/// book's loader warns about it in `status` and the hook).
pub fn copilot_billing(config_file: &std::path::Path) -> agent_cost_prices::CopilotBilling {
    let billing = agent_cost_prices::CopilotBilling::default();
    match std::fs::read_to_string(config_file) {
        Ok(text) => billing
            .clone()
            .with_toml_str(&text, config_file)
            .unwrap_or(billing),
        Err(_) => billing,
    }
}

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Stop reading at this instant (hooks have a time budget); `None` reads everything.
    pub deadline: Option<Instant>,
    /// Which data to look at.
    pub scope: Scope,
    /// Only these files (an agent's hook names the transcript it wrote), instead of
    /// discovering any; files no source knows are ignored.
    pub files: Option<Vec<std::path::PathBuf>>,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            deadline: None,
            scope: Scope::All,
            files: None,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Data files found.
    pub files_found: u64,
    /// Files with new data that were read.
    pub files_read: u64,
    /// Files read again from the start (rewritten, replaced, or their cursor lost).
    pub files_reread: u64,
    /// New bytes consumed.
    pub bytes_read: u64,
    /// Complete lines read.
    pub lines_read: u64,
    /// Requests recorded for the first time.
    pub events_charged: u64,
    /// Repeats that changed a known request (a longer streamed copy, a main-chain copy
    /// replacing a sidechain replay).
    pub events_topped_up: u64,
    /// Repeats that added nothing (streamed copies, replays, re-reads).
    pub duplicates: u64,
    /// `<synthetic>` lines skipped.
    pub synthetic_skipped: u64,
    /// Lines that were not valid JSON (or not the expected shape), skipped.
    pub malformed_skipped: u64,
    /// Lines whose counts no request can have, skipped.
    pub implausible_skipped: u64,
    /// Files that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// False when the time budget ran out before every file was caught up.
    pub complete: bool,
    /// Requests recorded per destination (worktree path or `unattributed`).
    pub charged_to: BTreeMap<String, u64>,
}

/// What the readers send.
enum Message {
    /// Events read from file `index`, and how many more copies were folded into them.
    Events(usize, Vec<UsageEvent>, u64),
    /// File `index` is read up to this cursor (events before it were sent).
    Cursor(usize, String),
    /// File `index` is done.
    Done(usize, std::io::Result<ReadEnd>),
}

/// A file of one source, as the run sees it.
struct Target<'a> {
    source: &'a dyn Source,
    file: DataFile,
    cursor: Option<String>,
}

/// Below this many unread bytes a lone file is read on the writing thread: parsing it takes
/// less than starting a reader thread beside the writes.
const SMALL_CATCH_UP: u64 = 64 * 1024;

impl Target<'_> {
    /// True when the source can tell that little of the file is unread.
    fn is_small(&self) -> bool {
        self.source
            .unread_bytes(&self.file, self.cursor.as_deref())
            .is_some_and(|unread| unread <= SMALL_CATCH_UP)
    }
}

/// Reads every source's new data and records it, calling `progress(report, files done)`
/// after each file.
pub fn ingest(
    store: &mut Store,
    sources: &[Box<dyn Source>],
    options: &IngestOptions,
    progress: &mut dyn FnMut(&IngestReport, u64),
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport {
        complete: true,
        ..IngestReport::default()
    };
    let mut targets = Vec::new();
    // Cursors of files that are no longer there (a full catch-up forgets them).
    let mut gone: Vec<(&'static str, Vec<u8>)> = Vec::new();
    {
        let tx = store.read()?;
        for source in sources {
            let discovery = match &options.files {
                Some(paths) => agent_cost_sources::Discovery {
                    files: paths.iter().filter_map(|p| source.file(p)).collect(),
                    unreadable: Vec::new(),
                },
                None => source.discover(&options.scope),
            };
            report.unreadable.extend(discovery.unreadable);
            let first_of_source = targets.len();
            let full = options.scope == Scope::All && options.files.is_none();
            let (changed, forgotten) = changed_files(&tx, source.as_ref(), discovery.files, full)?;
            report.files_found += changed.unchanged;
            targets.extend(changed.files.into_iter().map(|(file, cursor)| Target {
                source: source.as_ref(),
                file,
                cursor,
            }));
            gone.extend(forgotten.into_iter().map(|file| (source.name(), file)));
            targets[first_of_source..]
                .sort_unstable_by(|a, b| DataFile::reading_order(&a.file, &b.file));
        }
    }
    report.files_found += targets.len() as u64;

    let mut writer = Writer {
        router: Router::default(),
        events: Vec::new(),
        folded: 0,
        cursors: Vec::new(),
        copies_read: FxHashMap::default(),
        reads: Vec::new(),
    };
    let mut failure = None;
    let mut bulk = false;
    let mut files_done = 0u64;
    let next = AtomicUsize::new(0);
    // One file (a hook's usual catch-up) needs one reader: no look at the machine's cores
    // (its cgroup files) for that.
    let readers = match targets.as_slice() {
        [] => 0,
        [one] if one.is_small() => 0,
        [_] => 1,
        many => std::thread::available_parallelism().map_or(1, |n| n.get().min(2).min(many.len())),
    };
    // Takes what a reader sends; false stops the readers (a write failed).
    let mut take = |batch: Vec<Message>| -> bool {
        for message in batch {
            match message {
                Message::Events(index, events, folded) => {
                    *writer.copies_read.entry(index).or_default() += events.len() as u64 + folded;
                    writer.events.extend(events.into_iter().map(|e| (index, e)));
                    writer.folded += folded;
                }
                Message::Cursor(index, cursor) => writer.cursors.push((index, cursor)),
                Message::Done(index, end) => {
                    files_done += 1;
                    let copies = writer.copies_read.remove(&index).unwrap_or(0);
                    match end {
                        Ok(end) => {
                            account(&mut report, &end);
                            if !end.stats.up_to_date || copies > 0 {
                                writer.reads.push((index, file_read(&end, copies, None)));
                            }
                            if let Some(cursor) = end.cursor {
                                writer.cursors.push((index, cursor));
                            }
                        }
                        Err(error) => {
                            let error = error.to_string();
                            report
                                .unreadable
                                .push(format!("{}: {error}", targets[index].file.path.display()));
                            let end = ReadEnd {
                                cursor: None,
                                stats: Default::default(),
                            };
                            writer
                                .reads
                                .push((index, file_read(&end, copies, Some(error))));
                        }
                    }
                    progress(&report, files_done);
                }
            }
            if writer.events.len() >= FLUSH_EVERY {
                if !bulk {
                    // A large catch-up: one checkpoint at the end instead of one every few
                    // transactions.
                    store.set_auto_checkpoint(false);
                    bulk = true;
                }
                if let Err(error) = writer.flush(store, &targets, &mut report) {
                    failure = Some(error);
                    return false;
                }
            }
        }
        true
    };
    if readers == 0 {
        // A hook's usual catch-up: read here, without a thread to start and wake.
        read_files(&targets, &next, options.deadline, &mut take);
    } else {
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel::<Vec<Message>>(4 * readers);
            for _ in 0..readers {
                let sender = sender.clone();
                let (targets, next) = (&targets, &next);
                let deadline = options.deadline;
                scope.spawn(move || {
                    read_files(targets, next, deadline, &mut |batch| {
                        sender.send(batch).is_ok()
                    })
                });
            }
            drop(sender);
            for batch in receiver.iter() {
                if !take(batch) {
                    break;
                }
            }
        });
    }
    if files_done < targets.len() as u64 {
        report.complete = false;
    }
    let result = match failure {
        Some(error) => Err(error),
        None => finish(store, &mut writer, &targets, &gone, &mut report),
    };
    if bulk {
        store.set_auto_checkpoint(true);
    }
    if bulk || report.events_charged + report.events_topped_up > FLUSH_EVERY as u64 {
        store.checkpoint();
    }
    result.map(|()| report)
}

/// Writes what is left and forgets the cursors of files that are gone.
fn finish(
    store: &mut Store,
    writer: &mut Writer,
    targets: &[Target<'_>],
    gone: &[(&'static str, Vec<u8>)],
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    writer.flush(store, targets, report)?;
    if !gone.is_empty() {
        let tx = store.write()?;
        for (source, file) in gone {
            tx.remove_cursor(source, file)?;
            tx.remove_file_reads(source, file)?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// The files of one source that have something new, with their cursors.
struct Changed {
    files: Vec<(DataFile, Option<String>)>,
    /// How many files the cursors show unchanged.
    unchanged: u64,
}

/// Sorts `files` into the changed (with their cursors) and the unchanged, and, for a `full`
/// catch-up, returns the cursors of files that are gone. A full catch-up streams every cursor
/// of the source and keeps only those of changed files (an unchanged file's cursor is compared
/// where SQLite holds it); a few files (a hook's worktree) look theirs up one by one, however
/// many other transcripts the machine holds.
fn changed_files(
    tx: &agent_cost_store::Tx<'_>,
    source: &dyn Source,
    files: Vec<DataFile>,
    full: bool,
) -> Result<(Changed, Vec<Vec<u8>>), StoreError> {
    let mut changed = Changed {
        files: Vec::new(),
        unchanged: 0,
    };
    let mut gone = Vec::new();
    if !full && files.len() <= POINT_LOOKUPS {
        for file in files {
            let cursor = tx.cursor(source.name(), &path_bytes(&file.path))?;
            if cursor
                .as_deref()
                .is_some_and(|cursor| source.unchanged(&file, cursor))
            {
                changed.unchanged += 1;
            } else {
                changed.files.push((file, cursor));
            }
        }
        return Ok((changed, gone));
    }
    // What the cursors say of each file; a file without one is new.
    let mut unchanged = vec![false; files.len()];
    let mut cursors: Vec<Option<String>> = vec![None; files.len()];
    {
        let keys: Vec<_> = files.iter().map(|file| path_bytes(&file.path)).collect();
        let mut by_path: FxHashMap<&[u8], usize> = keys
            .iter()
            .enumerate()
            .map(|(index, key)| (key.as_ref(), index))
            .collect();
        tx.each_cursor(
            source.name(),
            &mut |path, cursor| match by_path.remove(path) {
                Some(index) if source.unchanged(&files[index], cursor) => unchanged[index] = true,
                Some(index) => cursors[index] = Some(cursor.to_string()),
                None if full => gone.push(path.to_vec()),
                None => {}
            },
        )?;
    }
    for ((file, cursor), unchanged) in files.into_iter().zip(cursors).zip(unchanged) {
        if unchanged {
            changed.unchanged += 1;
        } else {
            changed.files.push((file, cursor));
        }
    }
    Ok((changed, gone))
}

fn account(report: &mut IngestReport, end: &ReadEnd) {
    let stats = &end.stats;
    if stats.stopped {
        report.complete = false;
    }
    report.synthetic_skipped += stats.synthetic;
    report.malformed_skipped += stats.malformed;
    report.implausible_skipped += stats.implausible;
    if stats.up_to_date {
        return;
    }
    report.files_read += 1;
    if stats.restarted {
        report.files_reread += 1;
    }
    report.bytes_read += stats.bytes;
    report.lines_read += stats.lines;
}

/// What a finished read of a file found, as the store keeps it.
fn file_read(end: &ReadEnd, copies: u64, error: Option<String>) -> FileRead {
    let stats = &end.stats;
    FileRead {
        lines: stats.lines,
        events: copies,
        synthetic: stats.synthetic,
        malformed: stats.malformed,
        implausible: stats.implausible,
        oversize: stats.oversize,
        restarted: stats.restarted,
        error,
    }
}

/// Events, cursors and read counts waiting for the next transaction.
struct Writer {
    router: Router,
    events: Vec<(usize, UsageEvent)>,
    /// Copies the readers folded into `events` (counted as repeats).
    folded: u64,
    cursors: Vec<(usize, String)>,
    /// Event copies read per file whose read has not finished yet.
    copies_read: FxHashMap<usize, u64>,
    /// What finished reads found, written with the cursors.
    reads: Vec<(usize, FileRead)>,
}

impl Writer {
    /// Writes the buffered events and cursors in one transaction. On failure nothing is kept
    /// and the files are read again next time.
    fn flush(
        &mut self,
        store: &mut Store,
        targets: &[Target<'_>],
        report: &mut IngestReport,
    ) -> Result<(), StoreError> {
        if self.events.is_empty() && self.cursors.is_empty() && self.reads.is_empty() {
            return Ok(());
        }
        let mut counts = IngestReport {
            duplicates: std::mem::take(&mut self.folded),
            ..IngestReport::default()
        };
        let events = merge_repeats(std::mem::take(&mut self.events), &mut counts);
        let cursors = std::mem::take(&mut self.cursors);
        let reads = std::mem::take(&mut self.reads);
        let now_ms = agent_cost_store::time::now_millis();
        let result = (|| {
            let tx = store.write()?;
            tx.defer_charges();
            // Events go to the store in runs whose routes are known without it; a route that
            // needs the store (it may import a first-ledger tally) is taken between runs, in
            // the events' order.
            let mut run: Vec<(&UsageEvent, Option<i64>)> = Vec::new();
            for (_, event) in &events {
                let worktree = match self.router.cached(&event.cwd) {
                    Some(worktree) => worktree,
                    None => {
                        self.record_run(&tx, &mut run, &mut counts)?;
                        self.router.route(&tx, &event.cwd)?
                    }
                };
                run.push((event, worktree));
            }
            self.record_run(&tx, &mut run, &mut counts)?;
            for (index, cursor) in &cursors {
                let target = &targets[*index];
                tx.set_cursor(target.source.name(), &path_key(&target.file.path), cursor)?;
            }
            for (index, read) in &reads {
                let target = &targets[*index];
                tx.record_file_read(
                    target.source.name(),
                    &path_key(&target.file.path),
                    read,
                    now_ms,
                )?;
            }
            tx.commit()
        })();
        match result {
            Ok(()) => {
                report.events_charged += counts.events_charged;
                report.events_topped_up += counts.events_topped_up;
                report.duplicates += counts.duplicates;
                for (label, n) in counts.charged_to {
                    *report.charged_to.entry(label).or_default() += n;
                }
                Ok(())
            }
            Err(error) => {
                self.router.forget_ids();
                report.complete = false;
                Err(error)
            }
        }
    }
}

impl Writer {
    /// Records a run of routed events and counts what happened.
    fn record_run(
        &self,
        tx: &agent_cost_store::Tx<'_>,
        run: &mut Vec<(&UsageEvent, Option<i64>)>,
        counts: &mut IngestReport,
    ) -> Result<(), StoreError> {
        let recorded = tx.record_all(run)?;
        for ((event, worktree), recorded) in run.drain(..).zip(recorded) {
            match recorded {
                Recorded::New => {
                    counts.events_charged += 1;
                    let label = match worktree {
                        Some(_) => self.router.label(&event.cwd),
                        None => "unattributed".to_string(),
                    };
                    *counts.charged_to.entry(label).or_default() += 1;
                }
                Recorded::Grew | Recorded::Replaced => counts.events_topped_up += 1,
                Recorded::Duplicate => counts.duplicates += 1,
            }
        }
        Ok(())
    }
}

/// Combines copies of one request within a batch before they reach the store, by the rule the
/// store would apply to them one after the other (the field-wise largest copy), so each request
/// costs one write. Copies under another variant or chain are left for the store to judge.
fn merge_repeats(
    events: Vec<(usize, UsageEvent)>,
    counts: &mut IngestReport,
) -> Vec<(usize, UsageEvent)> {
    // First pass: where each copy goes (its own slot, or the first copy it merges into).
    let mut first: FxHashMap<(&str, &str, &str, bool), usize> = FxHashMap::default();
    let mut target = Vec::with_capacity(events.len());
    for (index, (_, event)) in events.iter().enumerate() {
        if !mergeable(event) {
            target.push(index);
            continue;
        }
        let key = (
            event.agent.as_str(),
            event.event_id.as_str(),
            event.variant.as_str(),
            event.sidechain,
        );
        let at = *first.entry(key).or_insert(index);
        target.push(if events[at].1.repeat == event.repeat {
            at
        } else {
            index
        });
    }
    drop(first);
    // Second pass: fold each repeat into its first copy, keeping the order of first copies.
    let mut slots: Vec<Option<(usize, UsageEvent)>> = events.into_iter().map(Some).collect();
    for (index, at) in target.into_iter().enumerate() {
        if at == index {
            continue;
        }
        let Some((_, event)) = slots[index].take() else {
            continue;
        };
        let Some((_, kept)) = slots[at].as_mut() else {
            continue;
        };
        fold(kept, &event);
        // Counted as a repeat; what the merged copy adds is counted when it is recorded.
        counts.duplicates += 1;
    }
    slots.into_iter().flatten().collect()
}

/// True for copies that [`merge_repeats`] combines with others of the same request.
fn mergeable(event: &UsageEvent) -> bool {
    matches!(
        event.repeat,
        RepeatRule::LargestCopy | RepeatRule::CumulativeDelta
    )
}

/// True when [`merge_repeats`] would fold `copy` into `kept`: copies of one request, under the
/// same variant and chain, by the same rule.
fn same_request(kept: &UsageEvent, copy: &UsageEvent) -> bool {
    mergeable(kept)
        && kept.repeat == copy.repeat
        && kept.sidechain == copy.sidechain
        && kept.event_id == copy.event_id
        && kept.variant == copy.variant
        && kept.agent == copy.agent
}

/// Folds a later copy of a request into the first: the field-wise largest counts.
fn fold(kept: &mut UsageEvent, copy: &UsageEvent) {
    kept.tokens = kept.tokens.max_fieldwise(&copy.tokens);
    kept.quantity = match (kept.quantity.take(), copy.quantity.clone()) {
        (Some(a), Some(b)) if b.micros > a.micros && a.unit == b.unit => Some(b),
        (None, b) => b,
        (a, _) => a,
    };
}

/// A path as the store keys it (bytes, so any file name round-trips).
fn path_key(path: &std::path::Path) -> Vec<u8> {
    path_bytes(path).into_owned()
}

/// The bytes of [`path_key`], borrowed where the platform allows.
fn path_bytes(path: &std::path::Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        std::borrow::Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(path.to_string_lossy().as_bytes().to_vec())
    }
}

/// Takes the next unread file and sends what it holds; stops when every file is taken, at the
/// deadline, or when the receiving side hangs up. What it reads travels in batches of about
/// [`SEND_EVERY`] events, however many files they come from (a message per file woke the
/// writer thousands of times in a catch-up of many small files).
fn read_files(
    targets: &[Target<'_>],
    next: &AtomicUsize,
    deadline: Option<Instant>,
    send: &mut dyn FnMut(Vec<Message>) -> bool,
) {
    let mut outbox = Outbox {
        messages: Vec::new(),
        events: Vec::with_capacity(SEND_EVERY),
        folded: 0,
        held: 0,
        send,
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(target) = targets.get(index) else {
            break;
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut hung_up = false;
        let end = target.source.read(
            &target.file,
            target.cursor.as_deref(),
            deadline,
            &mut |item| {
                let sent = match item {
                    Item::Event(event) => {
                        // A streamed response's copies follow each other: the reader folds
                        // them as the writer would (see `merge_repeats`).
                        match outbox.events.last_mut() {
                            Some(last) if same_request(last, &event) => {
                                fold(last, &event);
                                outbox.folded += 1;
                                true
                            }
                            _ => {
                                outbox.events.push(*event);
                                outbox.held + outbox.events.len() < SEND_EVERY || outbox.send(index)
                            }
                        }
                    }
                    Item::Checkpoint(cursor) => {
                        outbox.close_events(index);
                        outbox.messages.push(Message::Cursor(index, cursor));
                        true
                    }
                };
                if sent {
                    ControlFlow::Continue(())
                } else {
                    hung_up = true;
                    ControlFlow::Break(())
                }
            },
        );
        if hung_up {
            return;
        }
        outbox.close_events(index);
        outbox.messages.push(Message::Done(index, end));
        if outbox.held >= SEND_EVERY && !outbox.send(index) {
            return;
        }
    }
    outbox.send(usize::MAX);
}

/// What a reader has read and not sent yet, in order.
struct Outbox<'a> {
    messages: Vec<Message>,
    /// Events of the file being read, not yet in `messages`.
    events: Vec<UsageEvent>,
    /// Copies folded into `events`.
    folded: u64,
    /// Events in `messages`.
    held: usize,
    /// Hands a batch to the writer (over a channel, or directly); false when it has stopped.
    send: &'a mut dyn FnMut(Vec<Message>) -> bool,
}

impl Outbox<'_> {
    /// Moves the events gathered from file `index` into the messages.
    fn close_events(&mut self, index: usize) {
        if !self.events.is_empty() {
            self.held += self.events.len();
            let events = std::mem::replace(&mut self.events, Vec::with_capacity(SEND_EVERY));
            let folded = std::mem::take(&mut self.folded);
            self.messages.push(Message::Events(index, events, folded));
        }
    }

    /// Sends everything so far (the events of file `index` included); false when the writer
    /// has hung up.
    fn send(&mut self, index: usize) -> bool {
        self.close_events(index);
        self.held = 0;
        let messages = std::mem::take(&mut self.messages);
        messages.is_empty() || (self.send)(messages)
    }
}
