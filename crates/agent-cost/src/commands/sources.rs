//! `agent-cost sources`: every agent agent-cost reads, where it looked, what it found, and what
//! the ledger holds of it — so a user can see why a number is what it is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use agent_cost_ingest::{IngestReport, sources};
use agent_cost_sources::{Scope, Source};
use agent_cost_store::time::rfc3339_from_seconds;
use agent_cost_store::{AgentEvents, FileReads, Store};
use serde::Serialize;

use crate::output::{CommandResult, errln, outln, print_json, thousands};

/// Show every agent's logs: where agent-cost looks, what it found and what it skipped.
///
/// For each source: the directories it looks in (and whether they exist), the files found,
/// the lines and usage records read from them, the lines skipped and why (malformed, client
/// errors, impossible counts, oversize), files that could not be read, and when new data was
/// last read; then what the ledger holds per agent: requests recorded, how many belong to a
/// tracked repository, and their time span. Agents without logs (`agent-cost log`, imports)
/// are listed from the ledger.
///
/// Reads new log lines first (unless --no-ingest), so the counts are current. Counts of a
/// file cover what was read since it was last read from its start.
///
/// Examples:
///   agent-cost sources
///   agent-cost sources --files          # one line per file, with its counts
///   agent-cost sources --json
#[derive(Debug, clap::Args)]
pub struct SourcesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also list every file read, with its counts.
    #[arg(long)]
    files: bool,
    /// Do not read new agent log lines first.
    #[arg(long)]
    no_ingest: bool,
}

/// A directory a source looks in.
#[derive(Debug, Serialize)]
struct Root {
    path: PathBuf,
    exists: bool,
}

/// Counts summed over a source's files.
#[derive(Debug, Default, Serialize)]
struct ReadCounts {
    lines: u64,
    usage_records: u64,
    skipped_malformed: u64,
    skipped_synthetic: u64,
    skipped_implausible: u64,
    oversize: u64,
    restarts: u64,
}

impl ReadCounts {
    fn add(&mut self, file: &FileReads) {
        let c = &file.counts;
        self.lines += c.lines;
        self.usage_records += c.events;
        self.skipped_malformed += c.malformed;
        self.skipped_synthetic += c.synthetic;
        self.skipped_implausible += c.implausible;
        self.oversize += c.oversize;
        self.restarts += file.restarts;
    }

    fn skipped(&self) -> u64 {
        self.skipped_malformed + self.skipped_synthetic + self.skipped_implausible
    }
}

/// One file's counts, for `--files`.
#[derive(Debug, Serialize)]
struct FileRow {
    path: String,
    #[serde(flatten)]
    counts: ReadCounts,
    error: Option<String>,
    last_read: String,
}

/// What the ledger holds of one agent.
#[derive(Debug, Serialize)]
struct Recorded {
    agent: String,
    requests: u64,
    in_tracked_repositories: u64,
    unattributed: u64,
    first: Option<String>,
    last: Option<String>,
}

/// One source.
#[derive(Debug, Serialize)]
struct SourceReport {
    name: &'static str,
    agent: &'static str,
    roots: Vec<Root>,
    files_found: u64,
    files_read: u64,
    unreadable: Vec<String>,
    read: ReadCounts,
    last_read: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<FileRow>>,
}

#[derive(Debug, Serialize)]
struct Report {
    sources: Vec<SourceReport>,
    /// Requests in the ledger per agent, log sources and others alike.
    recorded: Vec<Recorded>,
    /// The catch-up run before the report (`null` with --no-ingest).
    ingest: Option<IngestReport>,
}

/// Runs the command.
pub fn run(args: SourcesArgs) -> CommandResult {
    let locations = super::locations()?;
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    let all = sources(&locations);
    let ingested = if args.no_ingest {
        None
    } else {
        Some(super::catch_up(&mut store, &locations)?)
    };

    let tx = store.read()?;
    let mut reports = Vec::new();
    for source in &all {
        reports.push(source_report(
            source.as_ref(),
            &tx.file_reads(source.name())?,
            &args,
        ));
    }
    let recorded = tx.agent_events()?.into_iter().map(recorded).collect();
    drop(tx);
    let report = Report {
        sources: reports,
        recorded,
        ingest: ingested,
    };
    if args.json {
        return print_json(&report);
    }
    print_text(&report)
}

fn source_report(source: &dyn Source, reads: &[FileReads], args: &SourcesArgs) -> SourceReport {
    let discovery = source.discover(&Scope::All);
    let found: std::collections::HashSet<Vec<u8>> = discovery
        .files
        .iter()
        .map(|f| path_bytes(&f.path))
        .collect();
    let mut read = ReadCounts::default();
    let mut files = Vec::new();
    let mut last_read_ms = None;
    let mut unreadable = discovery.unreadable;
    let mut files_read = 0;
    for file in reads {
        read.add(file);
        if found.contains(&file.path) {
            files_read += 1;
        }
        last_read_ms = last_read_ms.max(Some(file.last_read_ms));
        let path = String::from_utf8_lossy(&file.path).into_owned();
        if let Some(error) = &file.counts.error {
            unreadable.push(format!("{path}: {error}"));
        }
        if args.files {
            let mut counts = ReadCounts::default();
            counts.add(file);
            files.push(FileRow {
                path,
                counts,
                error: file.counts.error.clone(),
                last_read: instant(file.last_read_ms),
            });
        }
    }
    SourceReport {
        name: source.name(),
        agent: source.agent(),
        roots: source
            .roots()
            .into_iter()
            .map(|path| Root {
                exists: path.exists(),
                path,
            })
            .collect(),
        files_found: discovery.files.len() as u64,
        files_read,
        unreadable,
        read,
        last_read: last_read_ms.map(instant),
        files: args.files.then_some(files),
    }
}

fn recorded(events: AgentEvents) -> Recorded {
    Recorded {
        agent: events.agent,
        requests: events.events,
        in_tracked_repositories: events.attributed,
        unattributed: events.events - events.attributed.min(events.events),
        first: events.first_ms.map(instant),
        last: events.last_ms.map(instant),
    }
}

fn print_text(report: &Report) -> CommandResult {
    let recorded: BTreeMap<&str, &Recorded> = report
        .recorded
        .iter()
        .map(|r| (r.agent.as_str(), r))
        .collect();
    for (i, source) in report.sources.iter().enumerate() {
        if i > 0 {
            outln!()?;
        }
        if source.name == source.agent {
            outln!("{}", source.name)?;
        } else {
            outln!("{} ({})", source.name, source.agent)?;
        }
        for root in &source.roots {
            let state = if root.exists { "" } else { "  (not there)" };
            outln!("  looks in    {}{state}", root.path.display())?;
        }
        outln!(
            "  found       {} files, {} of them read",
            thousands(source.files_found),
            thousands(source.files_read)
        )?;
        let read = &source.read;
        outln!(
            "  read        {} lines, {} usage records",
            thousands(read.lines),
            thousands(read.usage_records)
        )?;
        if read.skipped() + read.oversize > 0 {
            outln!(
                "  skipped     {} malformed, {} client errors (<synthetic>), {} impossible counts; \
                 {} oversize lines streamed",
                read.skipped_malformed,
                read.skipped_synthetic,
                read.skipped_implausible,
                read.oversize
            )?;
        }
        for problem in &source.unreadable {
            outln!("  unreadable  {problem}")?;
        }
        if let Some(last) = &source.last_read {
            outln!("  last read   {last}")?;
        }
        if let Some(files) = &source.files {
            for file in files {
                let c = &file.counts;
                outln!(
                    "    {}: {} lines, {} records, {} skipped{}",
                    file.path,
                    thousands(c.lines),
                    thousands(c.usage_records),
                    c.skipped(),
                    file.error
                        .as_deref()
                        .map(|e| format!(", error: {e}"))
                        .unwrap_or_default()
                )?;
            }
        }
    }
    let from_logs: std::collections::HashSet<&str> =
        report.sources.iter().map(|s| s.agent).collect();
    outln!()?;
    if recorded.is_empty() {
        outln!("The ledger holds no requests yet.")?;
        return Ok(());
    }
    outln!("In the ledger")?;
    for (agent, r) in &recorded {
        let origin = if from_logs.contains(agent) {
            ""
        } else {
            "  (entered with `log` or imported)"
        };
        let span = match (&r.first, &r.last) {
            (Some(first), Some(last)) => format!(", {first} to {last}"),
            _ => String::new(),
        };
        outln!(
            "  {agent}: {} requests, {} in tracked repositories, {} unattributed{span}{origin}",
            thousands(r.requests),
            thousands(r.in_tracked_repositories),
            thousands(r.unattributed)
        )?;
    }
    if report.ingest.as_ref().is_some_and(|i| !i.complete) {
        errln!("warning: the catch-up did not finish; run `agent-cost ingest`");
    }
    Ok(())
}

fn instant(ms: i64) -> String {
    rfc3339_from_seconds(ms.div_euclid(1000))
}

fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}
