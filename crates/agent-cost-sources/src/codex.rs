//! The OpenAI Codex CLI source: `$CODEX_HOME/sessions/**/rollout-*.jsonl` and
//! `$CODEX_HOME/archived_sessions/rollout-*.jsonl`.
//!
//! A rollout is a JSON line file of `{timestamp, type, payload}` records. `session_meta` names
//! the session (and, for a fork, the session it was forked from), `turn_context` the model and
//! working directory, and `event_msg` records of type `token_count` carry the session's
//! *cumulative* token usage (`info.total_token_usage`). One request's usage is the growth of
//! that total since the previous `token_count`; re-emissions with an unchanged total (rate-limit
//! refreshes) and `info: null` add nothing. `last_token_usage` is used only where the total is
//! missing or went down. Codex 0.51/0.52 wrote per-turn usage in `turn.completed` records
//! instead.
//!
//! The running totals of every session seen in a file are saved in the file's cursor (with the
//! tail reader's byte offset and content check), so a read after an append continues the
//! deltas where the previous one stopped. Event ids are the session id with the cumulative
//! total at that point: the same rollout read twice (from `sessions/` and `archived_sessions/`,
//! after a rewrite, or with its cursor lost), and a fork replaying its parent's history under the
//! parent's `session_meta`, give the same ids, which the ledger records once. See
//! `docs/reading.md` ("OpenAI Codex CLI") for the rules and why.

use std::collections::BTreeMap;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_cost_events::{Agent, RepeatRule, TokenCounts, UsageEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope, Source};
use crate::tail::{self, Cursor, LineBytes, ReadOptions, Start};

/// The agent name Codex events carry in the ledger and in trailers.
pub const AGENT: &str = "codex";

/// The model recorded when neither the rollout nor `config.toml` names one (unpriced, still
/// counted).
pub const UNKNOWN_MODEL: &str = "unknown";

/// Reads Codex CLI rollouts under one `CODEX_HOME`.
#[derive(Debug, Clone)]
pub struct CodexSource {
    home: PathBuf,
}

impl CodexSource {
    /// The source for this `CODEX_HOME` (existing or not).
    pub fn new(home: PathBuf) -> CodexSource {
        CodexSource { home }
    }

    /// The model `$CODEX_HOME/config.toml` names, if the file exists and names one: the
    /// `model` of the profile chosen by `profile`, else the top-level `model`.
    fn configured_model(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.home.join("config.toml")).ok()?;
        let table: toml::Table = text.parse().ok()?;
        let model_of = |table: &toml::Table| match table.get("model") {
            Some(toml::Value::String(model)) if !model.trim().is_empty() => {
                Some(model.trim().to_owned())
            }
            _ => None,
        };
        let profile = table
            .get("profile")
            .and_then(toml::Value::as_str)
            .and_then(|name| table.get("profiles")?.get(name)?.as_table())
            .and_then(model_of);
        profile.or_else(|| model_of(&table))
    }
}

/// True for a rollout file name: `rollout-*.jsonl`.
fn is_rollout(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
}

/// Collects rollouts under `dir` (recursively, following links), keyed by file name. A
/// directory reached again (a link to itself or to a parent) is not walked again.
fn walk(dir: &Path, found: &mut Vec<(PathBuf, std::fs::Metadata)>, unreadable: &mut Vec<String>) {
    walk_once(
        dir,
        &mut std::collections::HashSet::new(),
        found,
        unreadable,
    );
}

fn walk_once(
    dir: &Path,
    walked: &mut std::collections::HashSet<PathBuf>,
    found: &mut Vec<(PathBuf, std::fs::Metadata)>,
    unreadable: &mut Vec<String>,
) {
    if !walked.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            unreadable.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else {
            unreadable.push(format!("{}: unreadable entry", dir.display()));
            continue;
        };
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_once(&path, walked, found, unreadable),
            Ok(meta) if meta.is_file() && is_rollout(&path) => found.push((path, meta)),
            Ok(_) => {}
            Err(e) if is_rollout(&path) => unreadable.push(format!("{}: {e}", path.display())),
            Err(_) => {}
        }
    }
}

/// Finds the rollouts of one `CODEX_HOME`, newest first. A rollout whose file name is both in
/// `sessions/` and in `archived_sessions/` is listed once (the copy in `sessions/`).
pub fn find_rollouts(home: &Path) -> Discovery {
    let mut discovery = Discovery::default();
    let mut live = Vec::new();
    walk(&home.join("sessions"), &mut live, &mut discovery.unreadable);
    let mut archived = Vec::new();
    walk(
        &home.join("archived_sessions"),
        &mut archived,
        &mut discovery.unreadable,
    );
    let names: std::collections::HashSet<_> = live
        .iter()
        .filter_map(|(p, _)| p.file_name().map(|n| n.to_os_string()))
        .collect();
    archived.retain(|(p, _)| p.file_name().is_none_or(|n| !names.contains(n)));
    for (path, meta) in live.into_iter().chain(archived) {
        discovery.files.push(DataFile {
            modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            stamp: Some(FileStamp::of(&meta)),
            subagent: false,
            path,
        });
    }
    discovery
}

impl Source for CodexSource {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn roots(&self) -> Vec<std::path::PathBuf> {
        vec![
            self.home.join("sessions"),
            self.home.join("archived_sessions"),
        ]
    }

    fn discover(&self, scope: &Scope) -> Discovery {
        // Rollouts are stored by date, not by directory: a worktree's catch-up cannot narrow
        // the search, so it looks at every rollout (unchanged ones cost one `stat`).
        let _ = scope;
        find_rollouts(&self.home)
    }

    fn unchanged(&self, file: &DataFile, cursor: &str) -> bool {
        file.stamp.is_some_and(|stamp| {
            tail::cursor_unchanged(&stamp, cursor, tail::wrapped_tail_text, |text| {
                serde_json::from_str::<CodexCursor>(text)
                    .ok()
                    .map(|c| c.tail)
            })
        })
    }

    fn unread_bytes(&self, file: &DataFile, cursor: Option<&str>) -> Option<u64> {
        tail::unread_bytes(file, cursor, tail::wrapped_tail_text)
    }

    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd> {
        // config.toml is read at most once per file, and only when a line names no model.
        let configured = std::cell::OnceCell::new();
        let fallback = || configured.get_or_init(|| self.configured_model()).clone();
        read_rollout(file, cursor, deadline, &fallback, sink)
    }
}

/// A Codex cursor: where the tail reader stopped, and what the lines before it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodexCursor {
    /// The byte offset and content check of the tail reader.
    pub tail: Cursor,
    /// The state of the rollout up to `tail.offset`.
    pub state: RolloutState,
}

/// What the lines of a rollout read so far say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    /// The session whose lines follow (the latest `session_meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The session of the file's first `session_meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_session: Option<String>,
    /// The first `session_meta` of the file named a session it was forked from.
    #[serde(default)]
    pub forked: bool,
    /// The model of the latest `turn_context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The working directory of the latest `session_meta` or `turn_context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The branch of the latest `session_meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The last cumulative total of each session seen.
    #[serde(default)]
    pub totals: BTreeMap<String, Total>,
    /// The sum of each session's per-turn usage (`turn.completed` of Codex 0.51/0.52).
    #[serde(default)]
    pub turn_sums: BTreeMap<String, Total>,
}

/// Codex's token usage: `input` includes `cached`, `output` includes `reasoning`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    /// `input_tokens` (cached input included).
    #[serde(default)]
    pub input: u64,
    /// `cached_input_tokens`.
    #[serde(default)]
    pub cached: u64,
    /// `cache_write_input_tokens` (newer versions; 0 before).
    #[serde(default)]
    pub cache_write: u64,
    /// `output_tokens` (reasoning included).
    #[serde(default)]
    pub output: u64,
    /// `reasoning_output_tokens`.
    #[serde(default)]
    pub reasoning: u64,
}

impl Total {
    /// Reads a usage object (`total_token_usage`, `last_token_usage` or `usage`).
    fn from_json(value: &Value) -> Option<Total> {
        let object = value.as_object()?;
        let field = |name: &str| -> Option<u64> {
            match object.get(name) {
                None | Some(Value::Null) => Some(0),
                Some(v) => v.as_u64(),
            }
        };
        if !object.contains_key("input_tokens") && !object.contains_key("output_tokens") {
            return None;
        }
        Some(Total {
            input: field("input_tokens")?,
            cached: field("cached_input_tokens")?,
            cache_write: field("cache_write_input_tokens")?,
            output: field("output_tokens")?,
            reasoning: field("reasoning_output_tokens")?,
        })
    }

    fn fields(&self) -> [u64; 5] {
        [
            self.input,
            self.cached,
            self.cache_write,
            self.output,
            self.reasoning,
        ]
    }

    /// True when no field is below `other`'s.
    fn covers(&self, other: &Total) -> bool {
        self.fields()
            .iter()
            .zip(other.fields())
            .all(|(a, b)| *a >= b)
    }

    fn minus(&self, other: &Total) -> Total {
        self.combine(other, u64::saturating_sub)
    }

    fn plus(&self, other: &Total) -> Total {
        self.combine(other, u64::saturating_add)
    }

    /// `op` applied field by field.
    fn combine(&self, other: &Total, op: fn(u64, u64) -> u64) -> Total {
        let (a, b) = (self.fields(), other.fields());
        let [input, cached, cache_write, output, reasoning] =
            std::array::from_fn(|i| op(a[i], b[i]));
        Total {
            input,
            cached,
            cache_write,
            output,
            reasoning,
        }
    }

    fn is_zero(&self) -> bool {
        self.fields().iter().all(|n| *n == 0)
    }

    /// The ledger's counts: uncached input, cache reads, cache writes (five-minute), output.
    pub fn tokens(&self) -> TokenCounts {
        // Cached (and cache-written) tokens are part of `input_tokens`.
        let input = self
            .input
            .saturating_sub(self.cached)
            .saturating_sub(self.cache_write);
        TokenCounts {
            input,
            output: self.output,
            cache_write_5m: self.cache_write,
            cache_write_1h: 0,
            cache_read: self.cached,
        }
    }

    /// A key naming this total in event ids.
    fn key(&self) -> String {
        let [a, b, c, d, e] = self.fields();
        format!("{a}.{b}.{c}.{d}.{e}")
    }
}

/// What one rollout line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// The usage of one request (or turn).
    Usage(Box<UsageEvent>),
    /// Nothing to count (metadata, messages, re-emitted totals, `info: null`).
    NoUsage,
    /// Not the JSON we expect: skipped and counted.
    Malformed,
    /// A count no request can have: skipped and counted.
    Implausible,
}

/// Applies one rollout line to `state`, returning what it yields. `line_start` is the line's
/// byte offset (it names events only where no total exists to name them by).
pub fn parse_line(
    bytes: &[u8],
    line_start: u64,
    state: &mut RolloutState,
    fallback_model: &dyn Fn() -> Option<String>,
) -> LineOutcome {
    let Ok(line) = serde_json::from_slice::<Value>(bytes) else {
        return LineOutcome::Malformed;
    };
    let Some(kind) = line.get("type").and_then(Value::as_str) else {
        return LineOutcome::Malformed;
    };
    let payload = line.get("payload").unwrap_or(&Value::Null);
    let timestamp = line
        .get("timestamp")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    match kind {
        "session_meta" => {
            let Some(id) = text(payload, "id") else {
                return LineOutcome::Malformed;
            };
            if state.file_session.is_none() {
                state.forked = payload.get("forked_from_id").is_some_and(|v| !v.is_null());
                state.file_session = Some(id.clone());
            }
            state.session = Some(id);
            if let Some(cwd) = text(payload, "cwd") {
                state.cwd = Some(cwd);
            }
            state.branch = payload.get("git").and_then(|g| text(g, "branch"));
            LineOutcome::NoUsage
        }
        "turn_context" => {
            if let Some(model) = text(payload, "model").filter(|m| !m.is_empty()) {
                state.model = Some(model);
            }
            if let Some(cwd) = text(payload, "cwd") {
                state.cwd = Some(cwd);
            }
            LineOutcome::NoUsage
        }
        "event_msg" => match payload.get("type").and_then(Value::as_str) {
            Some("token_count") => {
                token_count(payload, &timestamp, line_start, state, fallback_model)
            }
            Some("turn.completed") => match payload.get("usage") {
                None => LineOutcome::NoUsage,
                Some(usage) => match Total::from_json(usage) {
                    None => LineOutcome::Malformed,
                    Some(turn) => {
                        let session = state.session.clone().unwrap_or_default();
                        let sum = state.turn_sums.get(&session).copied().unwrap_or_default();
                        let sum = sum.plus(&turn);
                        state.turn_sums.insert(session.clone(), sum);
                        let id = format!("{session}:turn:{}", sum.key());
                        event(id, &turn, &timestamp, state, fallback_model)
                    }
                },
            },
            _ => LineOutcome::NoUsage,
        },
        _ => LineOutcome::NoUsage,
    }
}

fn token_count(
    payload: &Value,
    timestamp: &str,
    line_start: u64,
    state: &mut RolloutState,
    fallback_model: &dyn Fn() -> Option<String>,
) -> LineOutcome {
    let info = match payload.get("info") {
        None | Some(Value::Null) => return LineOutcome::NoUsage,
        Some(info) => info,
    };
    let read = |name: &str| match info.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Total::from_json(v).map(Some).ok_or(()),
    };
    let (Ok(total), Ok(last)) = (read("total_token_usage"), read("last_token_usage")) else {
        return LineOutcome::Malformed;
    };
    let session = state.session.clone().unwrap_or_default();
    let Some(total) = total else {
        // No running total: the last request's usage is all there is.
        return match last {
            Some(last) if !last.is_zero() => {
                let id = format!("{session}:line:{line_start}");
                event(id, &last, timestamp, state, fallback_model)
            }
            Some(_) => LineOutcome::NoUsage,
            None => LineOutcome::Malformed,
        };
    };
    let previous = state.totals.get(&session).copied();
    state.totals.insert(session.clone(), total);
    let delta = match previous {
        Some(previous) if previous == total => return LineOutcome::NoUsage,
        Some(previous) if total.covers(&previous) => total.minus(&previous),
        // The total went down (a reset): the last request's usage, then deltas from here.
        Some(_) => match last {
            Some(last) => last,
            None => return LineOutcome::NoUsage,
        },
        // A fork starts from its parent's total: that much is the parent's spend.
        None if state.forked && state.file_session.as_ref() == Some(&session) => {
            return LineOutcome::NoUsage;
        }
        None => total,
    };
    if delta.is_zero() {
        return LineOutcome::NoUsage;
    }
    let id = format!("{session}:{}", total.key());
    event(id, &delta, timestamp, state, fallback_model)
}

fn event(
    id: String,
    usage: &Total,
    timestamp: &str,
    state: &RolloutState,
    fallback_model: &dyn Fn() -> Option<String>,
) -> LineOutcome {
    let tokens = usage.tokens();
    if !tokens.is_plausible_request() {
        return LineOutcome::Implausible;
    }
    let model = state
        .model
        .clone()
        .or_else(fallback_model)
        .unwrap_or_else(|| UNKNOWN_MODEL.to_owned());
    LineOutcome::Usage(Box::new(UsageEvent {
        agent: Agent::new(AGENT),
        event_id: id,
        variant: String::new(),
        repeat: RepeatRule::LargestCopy,
        session_id: state.session.clone().unwrap_or_default(),
        model,
        timestamp: timestamp.to_owned(),
        tokens,
        requests: 1,
        quantity: None,
        source_cost: None,
        cwd: state.cwd.clone().unwrap_or_default(),
        git_branch: state.branch.clone(),
        sidechain: false,
        speed: None,
    }))
}

/// Lines longer than the tail reader holds are skipped unless they contain this (a usage line
/// is never that long; one that might be is counted as malformed).
const USAGE_MARKER: &[u8] = b"token_count";

/// Reads one rollout after its cursor (see [`Source::read`]).
pub fn read_rollout(
    file: &DataFile,
    cursor: Option<&str>,
    deadline: Option<Instant>,
    fallback_model: &dyn Fn() -> Option<String>,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    // A cursor this version cannot read costs a re-read, never money.
    let previous: Option<CodexCursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    let options = ReadOptions {
        deadline,
        marker: Some(USAGE_MARKER),
        ..ReadOptions::default()
    };
    let mut state = previous
        .as_ref()
        .map(|c| c.state.clone())
        .unwrap_or_default();
    let mut stats = ReadStats::default();
    // A read that continues starts at or after the saved offset; one that starts before it
    // (or at 0) is a read from the top.
    let resume_at = previous.as_ref().map_or(0, |c| c.tail.offset);
    let mut reset = false;
    let (new_tail, outcome, start) = tail::read_lines(
        &file.path,
        previous.as_ref().map(|c| &c.tail),
        &options,
        |line| {
            if !reset && (line.start == 0 || line.start < resume_at) {
                // Read from the top: a saved state described content read before.
                state = RolloutState::default();
                reset = true;
            }
            let parsed = match line.bytes {
                LineBytes::Whole(bytes) => {
                    parse_line(bytes, line.start, &mut state, fallback_model)
                }
                LineBytes::Oversize { .. } => LineOutcome::Malformed,
            };
            match parsed {
                LineOutcome::Usage(event) => sink(Item::Event(event)),
                LineOutcome::NoUsage => ControlFlow::Continue(()),
                LineOutcome::Malformed => {
                    stats.malformed += 1;
                    ControlFlow::Continue(())
                }
                LineOutcome::Implausible => {
                    stats.implausible += 1;
                    ControlFlow::Continue(())
                }
            }
        },
    )?;
    if start == Start::Restart && !reset {
        // Read from the top without a line handed out (all skipped): nothing of the old state
        // describes the new content.
        state = RolloutState::default();
    }
    stats.record_tail(&outcome, start);
    let new_cursor = CodexCursor {
        tail: new_tail,
        state,
    };
    let cursor = tail::changed_cursor(start, previous.as_ref(), &new_cursor);
    Ok(ReadEnd { cursor, stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> String {
        format!(
            r#"{{"input_tokens":{input},"cached_input_tokens":{cached},"output_tokens":{output},"reasoning_output_tokens":0,"total_tokens":{}}}"#,
            input + output
        )
    }

    fn token_count(total: (u64, u64, u64), last: (u64, u64, u64)) -> String {
        format!(
            r#"{{"timestamp":"2026-06-01T10:00:00Z","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"last_token_usage":{}}}}}}}"#,
            usage(total.0, total.1, total.2),
            usage(last.0, last.1, last.2)
        )
    }

    const META: &str = r#"{"timestamp":"t","type":"session_meta","payload":{"id":"s1","cwd":"/w","git":{"branch":"dev"}}}"#;

    fn no_model() -> Option<String> {
        None
    }

    /// Parses lines in order, returning the events.
    fn run(lines: &[&str], state: &mut RolloutState) -> Vec<LineOutcome> {
        lines
            .iter()
            .map(|l| parse_line(l.as_bytes(), 0, state, &no_model))
            .collect()
    }

    fn event(outcome: &LineOutcome) -> &UsageEvent {
        match outcome {
            LineOutcome::Usage(e) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn deltas_of_the_total_skip_repeats_and_null_info() {
        let mut state = RolloutState::default();
        let null =
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":null}}"#;
        let first = token_count((1000, 200, 50), (1000, 200, 50));
        let second = token_count((2500, 1200, 80), (1500, 1000, 30));
        let out = run(&[META, null, &first, &first, &second], &mut state);
        assert_eq!(out[1], LineOutcome::NoUsage);
        assert_eq!(out[3], LineOutcome::NoUsage);
        let a = event(&out[2]);
        assert_eq!(a.agent.as_str(), "codex");
        assert_eq!(a.model, UNKNOWN_MODEL);
        assert_eq!(a.session_id, "s1");
        assert_eq!(a.cwd, "/w");
        assert_eq!(a.git_branch.as_deref(), Some("dev"));
        assert_eq!(
            a.tokens,
            TokenCounts {
                input: 800,
                cache_read: 200,
                output: 50,
                ..TokenCounts::default()
            }
        );
        let b = event(&out[4]);
        assert_eq!(
            (b.tokens.input, b.tokens.cache_read, b.tokens.output),
            (500, 1000, 30)
        );
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(state.totals["s1"].input, 2500);
    }

    #[test]
    fn a_total_that_goes_down_counts_the_last_usage_then_restarts_deltas() {
        let mut state = RolloutState::default();
        let out = run(
            &[
                META,
                &token_count((1000, 0, 10), (1000, 0, 10)),
                &token_count((300, 100, 5), (300, 100, 5)),
                &token_count((400, 100, 9), (100, 0, 4)),
            ],
            &mut state,
        );
        let down = event(&out[2]);
        assert_eq!((down.tokens.input, down.tokens.cache_read), (200, 100));
        let after = event(&out[3]);
        assert_eq!((after.tokens.input, after.tokens.output), (100, 4));
    }

    #[test]
    fn without_a_total_the_last_usage_counts() {
        let mut state = RolloutState::default();
        let line = format!(
            r#"{{"timestamp":"t","type":"event_msg","payload":{{"type":"token_count","info":{{"last_token_usage":{}}}}}}}"#,
            usage(70, 20, 7)
        );
        let out = run(&[META, &line], &mut state);
        assert_eq!(event(&out[1]).tokens.input, 50);
        assert_eq!(event(&out[1]).event_id, "s1:line:0");
    }

    #[test]
    fn cache_writes_of_newer_versions_are_split_from_input() {
        let mut state = RolloutState::default();
        let line = r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":1000,"cached_input_tokens":300,"cache_write_input_tokens":200,"output_tokens":10}}}}"#;
        let out = run(&[META, line], &mut state);
        assert_eq!(
            event(&out[1]).tokens,
            TokenCounts {
                input: 500,
                cache_read: 300,
                cache_write_5m: 200,
                output: 10,
                ..TokenCounts::default()
            }
        );
    }

    #[test]
    fn the_model_comes_from_turn_context_else_the_fallback() {
        let mut state = RolloutState::default();
        let line = token_count((10, 0, 1), (10, 0, 1));
        let configured = || Some("gpt-5-codex".to_owned());
        parse_line(META.as_bytes(), 0, &mut state, &configured);
        let out = parse_line(line.as_bytes(), 0, &mut state, &configured);
        assert_eq!(event(&out).model, "gpt-5-codex");
        let context = r#"{"timestamp":"t","type":"turn_context","payload":{"model":"gpt-5.1-codex","cwd":"/w/sub"}}"#;
        parse_line(context.as_bytes(), 0, &mut state, &configured);
        let line = token_count((20, 0, 2), (10, 0, 1));
        let out = parse_line(line.as_bytes(), 0, &mut state, &configured);
        assert_eq!(event(&out).model, "gpt-5.1-codex");
        assert_eq!(event(&out).cwd, "/w/sub");
    }

    #[test]
    fn per_turn_usage_of_codex_0_51_is_summed() {
        let mut state = RolloutState::default();
        let turn = |i, c, o| {
            format!(
                r#"{{"timestamp":"t","type":"event_msg","payload":{{"type":"turn.completed","usage":{}}}}}"#,
                usage(i, c, o)
            )
        };
        let no_usage = r#"{"timestamp":"t","type":"event_msg","payload":{"type":"turn.completed","message":"ok"}}"#;
        let out = run(
            &[META, &turn(980, 0, 640), no_usage, &turn(1620, 980, 240)],
            &mut state,
        );
        assert_eq!(event(&out[1]).tokens.output, 640);
        assert_eq!(out[2], LineOutcome::NoUsage);
        assert_eq!(
            (event(&out[3]).tokens.input, event(&out[3]).tokens.output),
            (640, 240)
        );
    }

    #[test]
    fn forks_do_not_count_their_parents_tokens() {
        // A fork starting from its parent's total counts only what grew after it.
        let mut state = RolloutState::default();
        let fork = r#"{"timestamp":"t","type":"session_meta","payload":{"id":"f1","forked_from_id":"s1","cwd":"/w"}}"#;
        let out = run(
            &[
                fork,
                &token_count((5000, 4000, 100), (1000, 800, 10)),
                &token_count((5500, 4400, 110), (500, 400, 10)),
            ],
            &mut state,
        );
        assert_eq!(out[1], LineOutcome::NoUsage);
        assert_eq!(event(&out[2]).tokens.input, 100);
        // A fork replaying its parent's lines under the parent's session_meta gives the
        // parent's event ids.
        let mut parent = RolloutState::default();
        let first = token_count((1000, 200, 50), (1000, 200, 50));
        let parent_id = event(&run(&[META, &first], &mut parent)[1])
            .event_id
            .clone();
        let mut replay = RolloutState::default();
        let out = run(&[fork, META, &first], &mut replay);
        assert_eq!(event(&out[2]).event_id, parent_id);
    }

    #[test]
    fn what_cannot_be_read_is_counted_never_a_panic() {
        let mut state = RolloutState::default();
        for line in [
            "not json",
            "{}",
            r#"{"type":"session_meta","payload":{}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"prompt":1,"completion":2}}}"#,
            r#"{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":-1}}}}"#,
            r#"{"type":"event_msg","payload":{"type":"turn.completed","usage":{"input_tokens":"x"}}}"#,
        ] {
            assert_eq!(
                parse_line(line.as_bytes(), 0, &mut state, &no_model),
                LineOutcome::Malformed,
                "{line}"
            );
        }
        let huge = token_count((u64::MAX / 2, 0, 1), (1, 0, 1));
        assert_eq!(
            parse_line(huge.as_bytes(), 0, &mut state, &no_model),
            LineOutcome::Implausible
        );
    }

    fn read(path: &Path, cursor: Option<&str>) -> (Vec<UsageEvent>, ReadEnd) {
        let file = DataFile {
            path: path.to_path_buf(),
            modified: std::time::UNIX_EPOCH,
            subagent: false,
            stamp: None,
        };
        let mut events = Vec::new();
        let end = read_rollout(&file, cursor, None, &no_model, &mut |item| {
            if let Item::Event(e) = item {
                events.push(*e);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        (events, end)
    }

    #[test]
    fn the_cursor_keeps_the_totals_and_waits_for_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout-x.jsonl");
        let first = token_count((1000, 0, 10), (1000, 0, 10));
        let second = token_count((1500, 400, 30), (500, 400, 20));
        let (cut, rest) = second.split_at(40);
        std::fs::write(&path, format!("{META}\n{first}\n{cut}")).unwrap();
        let (events, end) = read(&path, None);
        assert_eq!(events.len(), 1);
        let cursor = end.cursor.unwrap();
        let saved: CodexCursor = serde_json::from_str(&cursor).unwrap();
        assert_eq!(saved.state.totals["s1"].input, 1000);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, format!("{rest}\n").as_bytes()).unwrap();
        let (events, end) = read(&path, Some(&cursor));
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].tokens.input, events[0].tokens.cache_read),
            (100, 400)
        );
        assert!(!end.stats.restarted);
        // Read from the top without a cursor, the same events come out with the same ids.
        let (all, _) = read(&path, None);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].event_id, events[0].event_id);
    }

    #[test]
    fn an_unchanged_file_is_told_from_its_cursor_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout-x.jsonl");
        let line = token_count((10, 0, 1), (10, 0, 1));
        std::fs::write(&path, format!("{META}\n{line}\n")).unwrap();
        let (_, end) = read(&path, None);
        let cursor = end.cursor.unwrap();
        let parsed: CodexCursor = serde_json::from_str(&cursor).unwrap();
        let quick = tail::wrapped_tail_text(&cursor)
            .and_then(tail::stamp_of_cursor)
            .expect("the written form is read quickly");
        assert_eq!(
            quick,
            (
                parsed.tail.size,
                parsed.tail.mtime_ns,
                parsed.tail.ctime_ns,
                parsed.tail.inode
            )
        );
        let meta = std::fs::metadata(&path).unwrap();
        let file = DataFile {
            path: path.clone(),
            modified: std::time::UNIX_EPOCH,
            subagent: false,
            stamp: Some(FileStamp::of(&meta)),
        };
        let source = CodexSource::new(dir.path().to_path_buf());
        assert!(source.unchanged(&file, &cursor));
        assert!(!source.unchanged(&file, "not a cursor"));
        std::fs::write(&path, format!("{META}\n{line}\n{line}\n")).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let file = DataFile {
            stamp: Some(FileStamp::of(&meta)),
            ..file
        };
        assert!(!source.unchanged(&file, &cursor));
    }

    #[test]
    fn a_rewritten_rollout_is_read_from_the_top_with_fresh_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout-x.jsonl");
        let big = token_count((9000, 0, 90), (9000, 0, 90));
        std::fs::write(&path, format!("{META}\n{big}\n")).unwrap();
        let (_, end) = read(&path, None);
        let cursor = end.cursor.unwrap();
        // Replaced by a shorter file with a smaller total: counted from zero, not as a total
        // that went down from the old one.
        let small = token_count((100, 0, 1), (60, 0, 1));
        std::fs::write(&path, format!("{META}\n{small}\n")).unwrap();
        let (events, end) = read(&path, Some(&cursor));
        assert!(end.stats.restarted);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].tokens.input, 100);
    }

    #[test]
    fn reads_stopped_after_every_event_add_up_to_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout-x.jsonl");
        let mut text = format!("{META}\n");
        for (i, total) in [
            (100, 0, 1),
            (100, 0, 1),
            (250, 50, 3),
            (40, 0, 1),
            (90, 10, 2),
        ]
        .into_iter()
        .enumerate()
        {
            text.push_str(&token_count(total, (40 + i as u64, 0, 1)));
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        let (whole, _) = read(&path, None);
        let file = DataFile {
            path: path.clone(),
            modified: std::time::UNIX_EPOCH,
            subagent: false,
            stamp: None,
        };
        let (mut pieces, mut cursor, mut reads) = (Vec::new(), None::<String>, 0);
        loop {
            let end = read_rollout(
                &file,
                cursor.as_deref(),
                None,
                &no_model,
                &mut |item| match item {
                    // The caller stops the read after each event.
                    Item::Event(e) => {
                        pieces.push(*e);
                        ControlFlow::Break(())
                    }
                    Item::Checkpoint(_) => ControlFlow::Continue(()),
                },
            )
            .unwrap();
            reads += 1;
            match end.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert!(reads > 3, "{reads}");
        assert_eq!(whole.len(), 4);
        assert_eq!(pieces, whole);
    }

    #[test]
    fn archived_copies_of_live_rollouts_are_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("sessions/2026/06/01");
        let archive = dir.path().join("archived_sessions");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::create_dir_all(&archive).unwrap();
        for place in [&day, &archive] {
            std::fs::write(place.join("rollout-a.jsonl"), META).unwrap();
        }
        std::fs::write(archive.join("rollout-b.jsonl"), META).unwrap();
        std::fs::write(day.join("notes.jsonl"), META).unwrap();
        let found = find_rollouts(dir.path());
        let mut paths: Vec<_> = found.files.iter().map(|f| f.path.clone()).collect();
        paths.sort();
        assert_eq!(
            paths,
            vec![archive.join("rollout-b.jsonl"), day.join("rollout-a.jsonl")]
        );
        assert!(find_rollouts(&dir.path().join("missing")).files.is_empty());
    }

    #[test]
    fn the_configured_model_is_read_from_config_toml() {
        let dir = tempfile::tempdir().unwrap();
        let source = CodexSource::new(dir.path().to_path_buf());
        assert_eq!(source.configured_model(), None);
        std::fs::write(
            dir.path().join("config.toml"),
            "model = \"gpt-5\"\n[x]\ny = 1\n",
        )
        .unwrap();
        assert_eq!(source.configured_model().as_deref(), Some("gpt-5"));
        std::fs::write(
            dir.path().join("config.toml"),
            "model = \"gpt-5\"\nprofile = \"fast\"\n[profiles.fast]\nmodel = \"gpt-5-mini\"\n",
        )
        .unwrap();
        assert_eq!(source.configured_model().as_deref(), Some("gpt-5-mini"));
        std::fs::write(
            dir.path().join("config.toml"),
            "model = \"gpt-5\"\nprofile = \"none\"\n",
        )
        .unwrap();
        assert_eq!(source.configured_model().as_deref(), Some("gpt-5"));
        std::fs::write(dir.path().join("config.toml"), "model = [").unwrap();
        assert_eq!(source.configured_model(), None);
    }
}
