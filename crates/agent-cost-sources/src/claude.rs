//! Claude Code transcripts: where they are and what one line means.
//!
//! Files live under each `projects/` directory as `<encoded-cwd>/<session>.jsonl`, with subagent
//! transcripts in `<encoded-cwd>/<session>/subagents/agent-*.jsonl`. Each assistant line carries
//! the usage of one API request; a response streamed as several lines repeats it with growing
//! output counts, and sidechains replay main-chain messages. This module only interprets lines;
//! deduplication across lines and files belongs to the store, keyed by [`UsageEvent::event_id`]
//! (`message.id`), with the `requestId` as the copy's [`UsageEvent::variant`].

use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_cost_events::{Agent, RepeatRule, TokenCounts, UsageEvent};
use serde::Deserialize;

use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope, Source};
use crate::tail::{self, Cursor, LineBytes, ReadOptions};

mod oversize;
mod quick;

/// The model name Claude Code gives to client-side errors; they cost nothing.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Finds every transcript under the given `projects/` directories (following links), in no
/// particular order (a catch-up sorts those it reads). A `projects/` directory that does not exist is simply not there. Each file costs one
/// `stat` (directory entries say what they are; only links are followed with a `stat`).
pub fn find_transcripts(projects_dirs: &[PathBuf]) -> Discovery {
    let mut walk = Walk {
        // From one directory a walk reaches each path once; two can name the same one.
        dedup_files: projects_dirs.len() > 1,
        ..Walk::default()
    };
    for dir in projects_dirs {
        if dir.is_dir() {
            walk.directory(dir);
        }
    }
    walk.discovery
}

#[derive(Default)]
struct Walk {
    discovery: Discovery,
    /// Files and linked directories already visited (two config dirs, or links, can lead to the
    /// same place), by their paths' bytes (hashed as bytes, not component by component).
    seen: rustc_hash::FxHashSet<std::ffi::OsString>,
    /// Whether files are looked up in `seen` (linked directories always are).
    dedup_files: bool,
}

impl Walk {
    fn directory(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.unreadable(dir, &error);
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    self.unreadable(dir, &error);
                    continue;
                }
            };
            let path = entry.path();
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(error) => {
                    self.unreadable(&path, &error);
                    continue;
                }
            };
            if kind.is_dir() {
                self.directory(&path);
            } else if kind.is_file() {
                if is_transcript(&path) {
                    match entry.metadata() {
                        Ok(meta) => self.file(path, &meta),
                        Err(error) => self.unreadable(&path, &error),
                    }
                }
            } else if kind.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_dir() => {
                        let target = path.canonicalize().unwrap_or_else(|_| path.clone());
                        if self.seen.insert(target.into_os_string()) {
                            self.directory(&path);
                        }
                    }
                    Ok(meta) if meta.is_file() && is_transcript(&path) => self.file(path, &meta),
                    Ok(_) => {}
                    Err(error) if is_transcript(&path) => self.unreadable(&path, &error),
                    Err(_) => {}
                }
            }
        }
    }

    fn file(&mut self, path: PathBuf, meta: &std::fs::Metadata) {
        if self.dedup_files && !self.seen.insert(path.clone().into_os_string()) {
            return;
        }
        self.discovery.files.push(DataFile {
            subagent: in_subagents_dir(&path),
            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            stamp: Some(FileStamp::of(meta)),
            path,
        });
    }

    fn unreadable(&mut self, path: &Path, error: &std::io::Error) {
        self.discovery
            .unreadable
            .push(format!("{}: {error}", path.display()));
    }
}

/// True when one of the path's components is `subagents`.
fn in_subagents_dir(path: &Path) -> bool {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())
            .split(|&b| b == b'/')
            .any(|part| part == b"subagents")
    }
    #[cfg(not(unix))]
    {
        path.components().any(|c| c.as_os_str() == "subagents")
    }
}

fn is_transcript(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

/// Claude Code's transcripts under one or more `projects/` directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeSource {
    projects_dirs: Vec<PathBuf>,
}

impl ClaudeSource {
    /// The source reading these `projects/` directories (existing or not).
    pub fn new(projects_dirs: Vec<PathBuf>) -> ClaudeSource {
        ClaudeSource { projects_dirs }
    }
}

/// Claude Code's directory name for a working directory: every character other than an ASCII
/// letter or digit becomes `-`. Lossy, so only good for narrowing a search.
pub fn encode_project_dir(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

impl Source for ClaudeSource {
    fn name(&self) -> &'static str {
        Agent::CLAUDE_CODE
    }

    fn roots(&self) -> Vec<PathBuf> {
        self.projects_dirs.clone()
    }

    fn file(&self, path: &Path) -> Option<DataFile> {
        if !is_transcript(path) {
            return None;
        }
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        Some(DataFile {
            subagent: in_subagents_dir(path),
            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            stamp: Some(FileStamp::of(&meta)),
            path: path.to_path_buf(),
        })
    }

    fn discover(&self, scope: &Scope) -> Discovery {
        match scope {
            Scope::All => find_transcripts(&self.projects_dirs),
            Scope::Worktree(workdir) => {
                // Only sessions started in the worktree or below it (their directory names
                // start with the worktree's encoded path): a hook must not walk every
                // project. A session started elsewhere that worked here is read by the next
                // full catch-up (`ingest`, `status`, `install-hooks`).
                let prefix = encode_project_dir(workdir);
                let mut dirs = Vec::new();
                let mut unreadable = Vec::new();
                for projects in &self.projects_dirs {
                    let Ok(entries) = std::fs::read_dir(projects) else {
                        continue;
                    };
                    for entry in entries {
                        match entry {
                            Ok(entry)
                                if entry.file_name().to_string_lossy().starts_with(&prefix) =>
                            {
                                dirs.push(entry.path())
                            }
                            Ok(_) => {}
                            Err(e) => unreadable.push(format!("{}: {e}", projects.display())),
                        }
                    }
                }
                let mut discovery = find_transcripts(&dirs);
                discovery.unreadable.extend(unreadable);
                discovery
            }
        }
    }

    fn unchanged(&self, file: &DataFile, cursor: &str) -> bool {
        file.stamp.is_some_and(|stamp| {
            tail::cursor_unchanged(
                &stamp,
                cursor,
                |text| Some(text),
                |text| serde_json::from_str::<Cursor>(text).ok(),
            )
        })
    }

    fn unread_bytes(&self, file: &DataFile, cursor: Option<&str>) -> Option<u64> {
        tail::unread_bytes(file, cursor, |text| Some(text))
    }

    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd> {
        let options = ReadOptions {
            deadline,
            ..read_options()
        };
        read_transcript(file, cursor, &options, sink).map(|(end, _)| end)
    }
}

/// A checkpoint is handed out after this many events...
const CHECKPOINT_EVENTS: u64 = 4096;
/// ...or this many bytes read since the last one.
const CHECKPOINT_BYTES: u64 = 16 << 20;

/// How transcripts are read: lines up to 8 MiB are held; longer ones are read only when they
/// contain `"usage"`, from their first and last MiB.
fn read_options() -> ReadOptions {
    ReadOptions {
        marker: Some(USAGE_MARKER),
        ..ReadOptions::default()
    }
}

/// Only lines with these bytes can carry usage.
const USAGE_MARKER: &[u8] = b"\"usage\"";

/// Looks for [`USAGE_MARKER`] (built once: building a searcher costs more than a short search).
static USAGE_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(USAGE_MARKER));

/// Reads one transcript after its cursor (see [`Source::read`]), also returning what the tail
/// reader did.
fn read_transcript(
    file: &DataFile,
    cursor: Option<&str>,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<(ReadEnd, tail::ReadOutcome)> {
    // A cursor this version cannot read costs a re-read, never money.
    let previous: Option<Cursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    let mut stats = ReadStats::default();
    let (mut events, mut checkpoint_at) = (0u64, None::<u64>);
    let (new_cursor, outcome, start) =
        tail::read_lines(&file.path, previous.as_ref(), options, |line| {
            let parsed = match line.bytes {
                LineBytes::Whole(bytes) => parse_line(bytes, file.subagent),
                LineBytes::Oversize { head, tail, .. } => {
                    oversize::parse(head, tail, file.subagent)
                }
            };
            match parsed {
                LineOutcome::Usage(event) => {
                    events += 1;
                    if sink(Item::Event(event)).is_break() {
                        return ControlFlow::Break(());
                    }
                }
                LineOutcome::NoUsage => {}
                LineOutcome::Synthetic => stats.synthetic += 1,
                LineOutcome::Malformed => stats.malformed += 1,
                LineOutcome::Implausible => stats.implausible += 1,
            }
            let since = *checkpoint_at.get_or_insert(line.start);
            if events >= CHECKPOINT_EVENTS || line.end - since >= CHECKPOINT_BYTES {
                // A checkpoint that cannot be made is only a missed step.
                if let Ok(cursor) = line.cursor_after() {
                    let text = serde_json::to_string(&cursor).expect("a cursor serializes");
                    if sink(Item::Checkpoint(text)).is_break() {
                        return ControlFlow::Break(());
                    }
                    (events, checkpoint_at) = (0, Some(line.end));
                }
            }
            ControlFlow::Continue(())
        })?;
    stats.record_tail(&outcome, start);
    let cursor = tail::changed_cursor(start, previous.as_ref(), &new_cursor);
    Ok((ReadEnd { cursor, stats }, outcome))
}

/// What one transcript line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// The usage of one API request (possibly a repeat the ledger will deduplicate).
    Usage(Box<UsageEvent>),
    /// A line without usage (user turns, tool results, summaries): nothing to count.
    NoUsage,
    /// A `<synthetic>` client-side error line: skipped, costs nothing.
    Synthetic,
    /// A line that is not the JSON we expect: skipped and counted.
    Malformed,
    /// Usage with a count no request can have (above `MAX_TOKENS_PER_REQUEST`): a corrupt
    /// or hostile line, skipped and counted rather than allowed to overflow sums.
    Implausible,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
#[serde(rename_all = "camelCase")]
struct Line {
    cwd: Option<String>,
    session_id: Option<String>,
    git_branch: Option<String>,
    #[serde(default)]
    is_sidechain: bool,
    request_id: Option<String>,
    uuid: Option<String>,
    timestamp: Option<String>,
    message: Option<Message>,
    data: Option<Progress>,
}

/// `{"type":"progress","data":{"type":"agent_progress","message":{…}}}`: a subagent's line
/// embedded in the main transcript while the subagent runs.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Progress {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<EmbeddedLine>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
#[serde(rename_all = "camelCase")]
struct EmbeddedLine {
    request_id: Option<String>,
    uuid: Option<String>,
    timestamp: Option<String>,
    message: Option<Message>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Message {
    id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    cache_creation: Option<CacheCreation>,
    speed: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    ephemeral_1h_input_tokens: u64,
}

impl Usage {
    fn tokens(&self) -> TokenCounts {
        let (mut write_5m, write_1h) = match &self.cache_creation {
            Some(c) => (c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens),
            None => (self.cache_creation_input_tokens, 0),
        };
        let split = write_5m.saturating_add(write_1h);
        if split < self.cache_creation_input_tokens {
            write_5m += self.cache_creation_input_tokens - split;
        }
        TokenCounts {
            input: self.input_tokens,
            output: self.output_tokens,
            cache_write_5m: write_5m,
            cache_write_1h: write_1h,
            cache_read: self.cache_read_input_tokens,
        }
    }
}

/// Interprets one transcript line. `subagent_file` marks lines read from a subagent transcript.
pub fn parse_line(line: &[u8], subagent_file: bool) -> LineOutcome {
    if USAGE_FINDER.find(line).is_none() {
        return LineOutcome::NoUsage;
    }
    // Checking the whole line as UTF-8 once is much cheaper than serde_json checking each
    // string in it.
    let Ok(text) = std::str::from_utf8(line) else {
        return LineOutcome::Malformed;
    };
    let parsed = match quick::parse(text) {
        Some(parsed) => parsed,
        None => match serde_json::from_str::<Line>(text) {
            Ok(parsed) => parsed,
            Err(_) => return LineOutcome::Malformed,
        },
    };
    let mut sidechain = parsed.is_sidechain || subagent_file;
    let (message, request_id, uuid, timestamp) = match parsed.message {
        Some(message) => (message, parsed.request_id, parsed.uuid, parsed.timestamp),
        None => match parsed.data {
            // A subagent's request seen through the main transcript: the same request (same
            // message id and request id) as the subagent file's line, so a sidechain copy.
            Some(Progress {
                kind: Some(kind),
                message:
                    Some(EmbeddedLine {
                        message: Some(message),
                        request_id,
                        uuid,
                        timestamp,
                    }),
            }) if kind == "agent_progress" => {
                sidechain = true;
                (message, request_id, uuid, timestamp.or(parsed.timestamp))
            }
            _ => return LineOutcome::NoUsage,
        },
    };
    let Some(usage) = message.usage else {
        return LineOutcome::NoUsage;
    };
    let model = message.model.unwrap_or_default();
    if model == SYNTHETIC_MODEL {
        return LineOutcome::Synthetic;
    }
    let tokens = usage.tokens();
    if !tokens.is_plausible_request() {
        return LineOutcome::Implausible;
    }
    let session_id = parsed.session_id.unwrap_or_default();
    let timestamp = timestamp.unwrap_or_default();
    let request_id = request_id.filter(|r| !r.is_empty());
    let event_id = match (message.id, request_id.as_deref(), uuid) {
        (Some(id), _, _) if !id.is_empty() => sanitize(id),
        (_, Some(request), _) => format!("req:{}", sanitize_str(request)),
        (_, _, Some(uuid)) if !uuid.is_empty() => format!("line:{}", sanitize(uuid)),
        _ => format!(
            "hash:{:016x}",
            crate::tail::fnv1a(
                format!("{session_id}\n{timestamp}\n{model}\n{tokens:?}").as_bytes()
            )
        ),
    };
    LineOutcome::Usage(Box::new(UsageEvent {
        agent: Agent::claude_code(),
        event_id,
        variant: request_id.map(sanitize).unwrap_or_default(),
        repeat: RepeatRule::LargestCopy,
        session_id,
        model,
        timestamp,
        tokens,
        requests: 1,
        quantity: None,
        source_cost: None,
        cwd: parsed.cwd.unwrap_or_default(),
        git_branch: parsed.git_branch.filter(|b| !b.is_empty()),
        sidechain,
        speed: usage.speed.filter(|s| s != "standard"),
    }))
}

/// Ids are kept printable: control characters become `_`.
fn sanitize(id: String) -> String {
    if id.chars().any(char::is_control) {
        sanitize_str(&id)
    } else {
        id
    }
}

/// [`sanitize`] of a borrowed id.
fn sanitize_str(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"parentUuid":"p","isSidechain":false,"cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"\"usage\" in text"}],"usage":{"input_tokens":5,"cache_creation_input_tokens":1500,"cache_read_input_tokens":12000,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":1000},"output_tokens":400,"service_tier":"standard"}},"requestId":"req_1","uuid":"u1","timestamp":"2025-10-10T09:01:00.000Z"}"#;

    #[test]
    fn a_projects_directory_named_twice_finds_each_transcript_once() {
        let dir = tempfile::tempdir().unwrap();
        let projects = dir.path().join("projects");
        for (project, session) in [("a", "s1"), ("a", "s2"), ("b", "s3")] {
            std::fs::create_dir_all(projects.join(project)).unwrap();
            std::fs::write(
                projects.join(project).join(format!("{session}.jsonl")),
                LINE,
            )
            .unwrap();
        }
        let once = find_transcripts(std::slice::from_ref(&projects));
        let twice = find_transcripts(&[projects.clone(), projects]);
        assert_eq!(once.files.len(), 3);
        let mut found: Vec<_> = twice.files.iter().map(|f| f.path.clone()).collect();
        found.sort();
        found.dedup();
        assert_eq!((twice.files.len(), found.len()), (3, 3));
    }

    #[test]
    fn reads_usage_with_cache_split() {
        let LineOutcome::Usage(event) = parse_line(LINE.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "msg_1");
        assert_eq!(event.variant, "req_1");
        assert_eq!(event.cwd, "/home/dev/alpha");
        assert_eq!(
            event.tokens,
            TokenCounts {
                input: 5,
                output: 400,
                cache_write_5m: 500,
                cache_write_1h: 1000,
                cache_read: 12000
            }
        );
        assert!(!event.sidechain);
        let LineOutcome::Usage(event) = parse_line(LINE.as_bytes(), true) else {
            panic!("no usage");
        };
        assert!(event.sidechain);
    }

    #[test]
    fn skips_what_it_cannot_count() {
        assert_eq!(
            parse_line(br#"{"type":"user","message":{"role":"user"}}"#, false),
            LineOutcome::NoUsage
        );
        assert_eq!(
            parse_line(
                br#"{"type":"assistant","message":{"usage":{"input_tok"#,
                false
            ),
            LineOutcome::Malformed
        );
        let synthetic = LINE.replace("claude-sonnet-4-5-20250929", "<synthetic>");
        assert_eq!(
            parse_line(synthetic.as_bytes(), false),
            LineOutcome::Synthetic
        );
        assert_eq!(
            parse_line(b"\xff\xfe\"usage\"", false),
            LineOutcome::Malformed
        );
    }

    #[test]
    fn cache_total_without_split_counts_as_five_minute_writes() {
        let line = LINE.replace(r#""cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":1000},"#, "");
        let LineOutcome::Usage(event) = parse_line(line.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.tokens.cache_write_5m, 1500);
        assert_eq!(event.tokens.cache_write_1h, 0);
    }

    #[test]
    fn missing_message_id_falls_back_to_request_id() {
        let line = LINE.replace(r#""id":"msg_1","#, "");
        let LineOutcome::Usage(event) = parse_line(line.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "req:req_1");
    }

    #[test]
    fn agent_progress_lines_are_sidechain_copies_of_the_subagent_request() {
        let line = r#"{"isSidechain":false,"type":"progress","cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","timestamp":"2025-10-10T09:02:00.000Z","data":{"type":"agent_progress","agentId":"a1","message":{"type":"assistant","timestamp":"2025-10-10T09:01:59.000Z","requestId":"req_9","uuid":"u9","message":{"id":"msg_9","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":3,"cache_creation_input_tokens":13311,"cache_read_input_tokens":0,"output_tokens":3}}}}}"#;
        let LineOutcome::Usage(event) = parse_line(line.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "msg_9");
        assert_eq!(event.variant, "req_9");
        assert!(event.sidechain);
        assert_eq!(event.cwd, "/home/dev/alpha");
        assert_eq!(event.timestamp, "2025-10-10T09:01:59.000Z");
        assert_eq!(event.tokens.cache_write_5m, 13311);
        let user = line.replace(r#""type":"agent_progress""#, r#""type":"bash_progress""#);
        assert_eq!(parse_line(user.as_bytes(), false), LineOutcome::NoUsage);
    }

    /// The quick reading agrees with serde_json on every line it answers for: many lines
    /// made by damaging real-looking ones (bytes cut, doubled, replaced by JSON's own
    /// punctuation, escapes, digits).
    #[test]
    fn the_quick_reading_agrees_with_serde_json() {
        let progress = r#"{"isSidechain":false,"type":"progress","cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","timestamp":"2025-10-10T09:02:00.000Z","data":{"type":"agent_progress","agentId":"a1","message":{"type":"assistant","timestamp":"2025-10-10T09:01:59.000Z","requestId":"req_9","uuid":"u9","message":{"id":"msg_9","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"a\u00e9\n\"b"}],"usage":{"input_tokens":3,"cache_creation_input_tokens":13311,"cache_read_input_tokens":0,"output_tokens":3,"speed":null}}}}}"#;
        let escaped = r#" { "cwd" : "C:\\Users\u00e9" , "sessionId":null, "message" : { "id" : "m\"1", "model":"x", "usage" : { "input_tokens" : 0 , "cache_creation" : null , "x" : [ 1.5e3 , -0 , true , false , null , { } , [ ] ] } } } "#;
        let templates = [LINE, progress, escaped];
        let pieces: &[&str] = &[
            "",
            "\"",
            "\\",
            "\\u12",
            "\\uZZZZ",
            "\\ud800",
            ",",
            ":",
            "{",
            "}",
            "[",
            "]",
            "0",
            "01",
            "-",
            "1.",
            "1e",
            "9",
            "99999999999999999999",
            "null",
            "true",
            " ",
            "\t",
            "\u{1}",
            "é",
            "\"usage\"",
            "\"id\":\"dup\",",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut answered, mut total) = (0, 0);
        for template in templates {
            for _ in 0..4000 {
                let mut line = template.to_string();
                for _ in 0..1 + next(3) {
                    let mut at = next(line.len() + 1);
                    while !line.is_char_boundary(at) {
                        at -= 1;
                    }
                    let mut end = (at + next(4)).min(line.len());
                    while !line.is_char_boundary(end) {
                        end -= 1;
                    }
                    line.replace_range(at..end, pieces[next(pieces.len())]);
                }
                total += 1;
                let serde = serde_json::from_str::<Line>(&line).ok();
                if let Some(quick) = quick::parse(&line) {
                    answered += 1;
                    assert_eq!(Some(quick), serde, "{line}");
                }
            }
            let serde = serde_json::from_str::<Line>(template).unwrap();
            assert_eq!(quick::parse(template), Some(serde), "{template}");
        }
        // Most damaged lines are still answered for (and agree), so the comparison means
        // something.
        assert!(answered * 5 > total, "{answered} of {total}");
    }

    #[test]
    fn counts_no_request_can_have_are_skipped() {
        let line = LINE.replace(
            r#""output_tokens":400"#,
            r#""output_tokens":18446744073709551615"#,
        );
        assert_eq!(parse_line(line.as_bytes(), false), LineOutcome::Implausible);
        let line = LINE.replace(
            r#""output_tokens":400"#,
            r#""output_tokens":18446744073709551616"#,
        );
        assert_eq!(parse_line(line.as_bytes(), false), LineOutcome::Malformed);
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    const LINE: &str = r#"{"parentUuid":"p","isSidechain":false,"cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":5,"cache_creation_input_tokens":1500,"cache_read_input_tokens":12000,"output_tokens":400}},"requestId":"req_1","uuid":"u1","timestamp":"2025-10-10T09:01:00.000Z"}"#;

    fn data_file(path: &Path) -> DataFile {
        DataFile {
            path: path.to_owned(),
            modified: std::time::UNIX_EPOCH,
            subagent: false,
            stamp: None,
        }
    }

    fn line(id: u64) -> String {
        LINE.replace("msg_1", &format!("msg_{id}"))
    }

    /// Reads with the options transcripts are read with, keeping every item.
    fn read(path: &Path, cursor: Option<&str>) -> (Vec<Item>, ReadEnd, tail::ReadOutcome) {
        let mut items = Vec::new();
        let (end, outcome) =
            read_transcript(&data_file(path), cursor, &read_options(), &mut |item| {
                items.push(item);
                ControlFlow::Continue(())
            })
            .unwrap();
        (items, end, outcome)
    }

    fn events(items: &[Item]) -> Vec<&UsageEvent> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Event(event) => Some(&**event),
                Item::Checkpoint(_) => None,
            })
            .collect()
    }

    /// A file with a hole of `len` zero bytes (a line without a newline, costing no disk).
    fn append_hole(path: &Path, len: u64) {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let at = file.metadata().unwrap().len();
        file.set_len(at + len).unwrap();
    }

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_huge_line_without_usage_is_skipped_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, "").unwrap();
        append_hole(&path, 100 << 20);
        append(&path, &format!("\n{LINE}\n"));
        let (items, end, outcome) = read(&path, None);
        let events = events(&items);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "msg_1");
        assert_eq!(events[0].tokens.output, 400);
        assert_eq!((end.stats.lines, end.stats.oversize), (2, 1));
        assert_eq!(end.stats.malformed, 0);
        assert!(outcome.max_buffer <= tail::DEFAULT_MAX_LINE);
    }

    #[test]
    fn a_huge_assistant_line_is_counted_from_its_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let content = "x".repeat(12 << 20);
        let huge = line(2).replace(r#""text":"hi""#, &format!(r#""text":"{content}""#));
        std::fs::write(&path, format!("{}\n{huge}\n{}\n", line(1), line(3))).unwrap();
        let (items, end, outcome) = read(&path, None);
        let events = events(&items);
        let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["msg_1", "msg_2", "msg_3"]);
        let big = events[1];
        assert_eq!(big.variant, "req_1");
        assert_eq!(big.session_id, "s1");
        assert_eq!(big.cwd, "/home/dev/alpha");
        assert_eq!(big.timestamp, "2025-10-10T09:01:00.000Z");
        assert_eq!(big.tokens, events[0].tokens);
        assert_eq!((end.stats.oversize, end.stats.malformed), (1, 0));
        assert!(outcome.max_buffer <= tail::DEFAULT_MAX_LINE);
    }

    #[test]
    fn a_deadline_is_kept_inside_a_two_gigabyte_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, format!("{LINE}\n")).unwrap();
        append_hole(&path, 2 << 30);
        let began = Instant::now();
        let mut events = 0;
        let end = ClaudeSource::new(Vec::new())
            .read(
                &data_file(&path),
                None,
                Some(began + Duration::from_millis(50)),
                &mut |item| {
                    events += u64::from(matches!(item, Item::Event(_)));
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        assert!(end.stats.stopped);
        assert_eq!(events, 1);
        let cursor: Cursor = serde_json::from_str(&end.cursor.unwrap()).unwrap();
        assert_eq!(cursor.offset, LINE.len() as u64 + 1);
    }

    #[test]
    fn long_reads_hand_out_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut text = String::new();
        for id in 0..10_000 {
            text.push_str(&line(id));
            text.push('\n');
        }
        // 20 MiB without usage: a checkpoint for the bytes, not the events.
        let filler = format!("{{\"type\":\"user\",\"text\":\"{}\"}}\n", "f".repeat(1000));
        for _ in 0..20 * 1024 {
            text.push_str(&filler);
        }
        std::fs::write(&path, &text).unwrap();
        let (items, end, _) = read(&path, None);
        let mut handed = 0;
        let mut checkpoints = Vec::new();
        for item in &items {
            match item {
                Item::Event(_) => handed += 1,
                Item::Checkpoint(cursor) => checkpoints.push((handed, cursor.clone())),
            }
        }
        assert_eq!(handed, 10_000);
        let at: Vec<_> = checkpoints.iter().map(|(n, _)| *n).collect();
        assert!(at.len() >= 3, "checkpoints after {at:?} events");
        assert_eq!(at[..2], [4096, 8192]);
        // Each checkpoint covers exactly the lines before it: resuming from it hands out the
        // rest and nothing twice.
        for (handed, cursor) in &checkpoints {
            let (items, _, _) = read(&path, Some(cursor));
            assert_eq!(events(&items).len(), 10_000 - handed);
            let parsed: Cursor = serde_json::from_str(cursor).unwrap();
            assert_eq!(text.as_bytes()[parsed.offset as usize - 1], b'\n');
        }
        let last: Cursor = serde_json::from_str(&end.cursor.unwrap()).unwrap();
        assert_eq!(last.offset, text.len() as u64);
    }
}
