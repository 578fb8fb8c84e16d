//! The GitHub Copilot CLI's session logs: `~/.copilot/session-state/<id>/events.jsonl`,
//! `~/.copilot/session-state/*.jsonl` and the legacy `~/.copilot/history-session-state/*.jsonl`.
//!
//! Lines are `{"type", "timestamp", "id", "data"}`. A *stretch* is what one CLI process wrote:
//! from `session.start` (or `session.resume`) to `session.shutdown`. What is taken:
//!
//! - `assistant.message` with `outputTokens`: one event per model call, its output tokens
//!   (id `cli:<session>:msg:<messageId>`).
//! - `session.usage_checkpoint` and `session.shutdown`: `totalPremiumRequests`, the stretch's
//!   running count of premium requests: each count that grew is one event of the growth, named
//!   by the count (`cli:<session>:<stretch>:premium:<count>`), so a re-read names the same
//!   events and no event ever changes after it was recorded.
//! - `session.shutdown`: the stretch's tokens per model (`modelMetrics.<model>.usage`, else
//!   `tokenDetails` for the current model) as one event per stretch and model, whose output is
//!   the shutdown's output *minus* what that stretch's `assistant.message` lines already
//!   counted, so the two never count an output token twice.
//!
//! Ids carry the session id and the stretch's start time, never the file: a session found in
//! two places (a legacy file and its newer copy) and a resumed session (more stretches in the
//! same file) count each request once.

use std::collections::BTreeMap;
use std::io;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use agent_cost_events::{RepeatRule, TokenCounts, UsageEvent};
use agent_cost_prices::CopilotBilling;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Draft, UNKNOWN_MODEL, json_micros, model_name};
use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats};
use crate::tail::{self, Cursor, LineBytes, ReadOptions, Start};

/// Adds the CLI's session logs under `home`.
pub fn discover(home: &Path, discovery: &mut Discovery) {
    let state = home.join("session-state");
    for dir in [state.clone(), home.join("history-session-state")] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                discovery.unreadable.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let is_log = path.extension().is_some_and(|e| e == "jsonl");
            let Some(meta) = stat(&path, is_log, &mut discovery.unreadable) else {
                continue;
            };
            let found = if meta.is_dir() && dir == state {
                let events = path.join("events.jsonl");
                stat(&events, true, &mut discovery.unreadable).map(|m| (events, m))
            } else if meta.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
                Some((path, meta))
            } else {
                None
            };
            if let Some((path, meta)) = found.filter(|(_, m)| m.is_file()) {
                discovery.files.push(DataFile {
                    modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                    stamp: Some(FileStamp::of(&meta)),
                    subagent: false,
                    path,
                });
            }
        }
    }
}

/// The metadata of `path`, following links. A log that is there but cannot be looked at (a
/// dangling link, no permission) is listed among the unreadable entries.
fn stat(path: &Path, is_log: bool, unreadable: &mut Vec<String>) -> Option<std::fs::Metadata> {
    match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) => {
            if is_log && std::fs::symlink_metadata(path).is_ok() {
                unreadable.push(format!("{}: {e}", path.display()));
            }
            None
        }
    }
}

/// A CLI cursor: where the tail reader stopped, and what the lines before it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliCursor {
    /// The byte offset and content check of the tail reader.
    pub tail: Cursor,
    /// The state of the log up to `tail.offset`.
    pub state: CliState,
}

/// What the lines of a CLI log read so far say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliState {
    /// The session (`session.start`'s `sessionId`, else the file's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The working directory (`context.cwd`, else `context.gitRoot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The git branch of the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The current model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The start time of the current stretch (its `session.start` or `session.resume` line).
    #[serde(default)]
    pub stretch: String,
    /// Output tokens of this stretch's `assistant.message` lines, per model.
    #[serde(default)]
    pub outputs: BTreeMap<String, u64>,
    /// The stretch's latest count of premium requests, in millionths.
    #[serde(default)]
    pub premium: u64,
}

impl CliState {
    fn session(&self) -> &str {
        self.session.as_deref().unwrap_or_default()
    }

    fn draft(&self, id: String, model: String, timestamp: &str) -> Draft {
        Draft {
            event_id: id,
            repeat: RepeatRule::LargestCopy,
            session_id: self.session().to_string(),
            model,
            timestamp: timestamp.to_string(),
            tokens: TokenCounts::default(),
            requests: 0,
            premium_micros: 0,
            cwd: self.cwd.clone().unwrap_or_default(),
            git_branch: self.branch.clone(),
        }
    }

    fn current_model(&self) -> String {
        self.model
            .clone()
            .unwrap_or_else(|| UNKNOWN_MODEL.to_string())
    }

    fn new_stretch(&mut self, at: &str) {
        self.stretch = at.to_string();
        self.outputs.clear();
        self.premium = 0;
    }
}

/// What one line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// Events (possibly none: most lines carry no usage).
    Usage(Vec<Draft>),
    /// Not the JSON we expect: skipped and counted.
    Malformed,
    /// A count no request can have: skipped and counted.
    Implausible,
}

fn text(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Applies one line to `state`, returning the events it yields.
pub fn parse_line(bytes: &[u8], state: &mut CliState) -> LineOutcome {
    let Ok(line) = serde_json::from_slice::<Value>(bytes) else {
        return LineOutcome::Malformed;
    };
    let Some(kind) = line.get("type").and_then(Value::as_str) else {
        return LineOutcome::Malformed;
    };
    let data = line.get("data").unwrap_or(&Value::Null);
    let timestamp = text(&line, "timestamp").unwrap_or_default();
    let mut out = Vec::new();
    match kind {
        "session.start" | "session.resume" => {
            if let Some(session) = text(data, "sessionId") {
                state.session = Some(session);
            }
            if let Some(context) = data.get("context") {
                if let Some(cwd) = text(context, "cwd").or_else(|| text(context, "gitRoot")) {
                    state.cwd = Some(cwd);
                }
                if let Some(branch) = text(context, "branch") {
                    state.branch = Some(branch);
                }
            }
            let model = text(data, "selectedModel")
                .or_else(|| data.get("context").and_then(|c| text(c, "model")));
            if let Some(model) = model.as_deref().and_then(model_name) {
                state.model = Some(model);
            }
            state.new_stretch(&timestamp);
        }
        "session.model_change" => {
            if let Some(model) = text(data, "newModel").as_deref().and_then(model_name) {
                state.model = Some(model);
            }
        }
        "assistant.turn_start" => {
            if let Some(model) = text(data, "model").as_deref().and_then(model_name) {
                state.model = Some(model);
            }
        }
        "assistant.message" => {
            let Some(tokens) = data.get("outputTokens") else {
                return LineOutcome::Usage(out);
            };
            let Some(output) = tokens.as_u64() else {
                return LineOutcome::Malformed;
            };
            let model = text(data, "model")
                .as_deref()
                .and_then(model_name)
                .unwrap_or_else(|| state.current_model());
            let Some(key) = text(data, "messageId")
                .or_else(|| text(&line, "id").map(|id| format!("{}:{id}", state.stretch)))
            else {
                return LineOutcome::Malformed;
            };
            let mut draft = state.draft(
                format!("cli:{}:msg:{key}", state.session()),
                model,
                &timestamp,
            );
            draft.tokens.output = output;
            draft.requests = 1;
            if !draft.tokens.is_plausible_request() {
                return LineOutcome::Implausible;
            }
            let sum = state.outputs.entry(draft.model.clone()).or_default();
            *sum = sum.saturating_add(output);
            out.push(draft);
        }
        "session.usage_checkpoint" | "session.shutdown" => {
            let model = text(data, "currentModel")
                .as_deref()
                .and_then(model_name)
                .unwrap_or_else(|| state.current_model());
            if let Some(total) = data.get("totalPremiumRequests") {
                let Some(micros) = json_micros(total) else {
                    return LineOutcome::Malformed;
                };
                // A running count: what grew since the stretch's previous count is new (a
                // count that went down started again from zero).
                let delta = if micros >= state.premium {
                    micros - state.premium
                } else {
                    micros
                };
                state.premium = micros;
                if delta > 0 {
                    let id = format!("cli:{}:{}:premium:{micros}", state.session(), state.stretch);
                    let mut draft = state.draft(id, model.clone(), &timestamp);
                    draft.premium_micros = delta;
                    out.push(draft);
                }
            }
            if kind == "session.shutdown" {
                match shutdown_tokens(data, &model, state, &timestamp) {
                    Ok(drafts) => out.extend(drafts),
                    Err(outcome) => return outcome,
                }
            }
        }
        _ => {}
    }
    LineOutcome::Usage(out)
}

/// The token events of a shutdown: per model, what the stretch's messages did not count.
fn shutdown_tokens(
    data: &Value,
    current_model: &str,
    state: &mut CliState,
    timestamp: &str,
) -> Result<Vec<Draft>, LineOutcome> {
    let field = |v: &Value, path: &[&str]| -> Result<u64, LineOutcome> {
        let mut at = v;
        for key in path {
            match at.get(key) {
                Some(next) => at = next,
                None => return Ok(0),
            }
        }
        match at {
            Value::Null => Ok(0),
            v => v.as_u64().ok_or(LineOutcome::Malformed),
        }
    };
    // (model, input incl. cache, output, cache read, cache write)
    let mut usages = Vec::new();
    if let Some(metrics) = data.get("modelMetrics").and_then(Value::as_object) {
        for (model, metric) in metrics {
            let Some(usage) = metric.get("usage") else {
                continue;
            };
            usages.push((
                model_name(model).unwrap_or_else(|| UNKNOWN_MODEL.to_string()),
                field(usage, &["inputTokens"])?,
                field(usage, &["outputTokens"])?,
                field(usage, &["cacheReadTokens"])?,
                field(usage, &["cacheWriteTokens"])?,
            ));
        }
    }
    let whole_session = usages.is_empty();
    if whole_session && let Some(details) = data.get("tokenDetails") {
        usages.push((
            current_model.to_string(),
            field(details, &["input", "tokenCount"])?,
            field(details, &["output", "tokenCount"])?,
            field(details, &["cache_read", "tokenCount"])?,
            field(details, &["cache_write", "tokenCount"])?,
        ));
    }
    let mut out = Vec::new();
    for (model, input, output, cache_read, cache_write) in usages {
        // `tokenDetails` covers every model of the stretch; `modelMetrics` one each.
        let counted = if whole_session {
            state
                .outputs
                .values()
                .fold(0u64, |sum, n| sum.saturating_add(*n))
        } else {
            state.outputs.get(&model).copied().unwrap_or(0)
        };
        let tokens = TokenCounts {
            // Input includes cache reads and writes (as the API's prompt tokens do).
            input: input.saturating_sub(cache_read).saturating_sub(cache_write),
            output: output.saturating_sub(counted),
            cache_write_5m: cache_write,
            cache_write_1h: 0,
            cache_read,
        };
        if !tokens.is_plausible_request() {
            return Err(LineOutcome::Implausible);
        }
        if tokens.is_zero() {
            continue;
        }
        let id = format!("cli:{}:{}:tokens:{model}", state.session(), state.stretch);
        let mut draft = state.draft(id, model, timestamp);
        draft.tokens = tokens;
        out.push(draft);
    }
    // The stretch is over: a resume starts the next one.
    state.outputs.clear();
    state.premium = 0;
    Ok(out)
}

/// The session a log's name gives (`session-state/<id>/events.jsonl`, `<id>.jsonl`).
fn session_of_path(path: &Path) -> Option<String> {
    let name = if path.file_name().is_some_and(|n| n == "events.jsonl") {
        path.parent()?.file_name()?
    } else {
        path.file_stem()?
    };
    name.to_str().map(str::to_owned)
}

/// True when the log is as its cursor saw it.
pub fn unchanged(stamp: &FileStamp, cursor: &str) -> bool {
    tail::cursor_unchanged(stamp, cursor, tail::wrapped_tail_text, |text| {
        serde_json::from_str::<CliCursor>(text).ok().map(|c| c.tail)
    })
}

/// Lines longer than the tail reader holds are skipped unless they contain this.
const USAGE_MARKER: &[u8] = b"Tokens";

/// Reads one CLI log after its cursor.
pub fn read(
    file: &DataFile,
    cursor: Option<&str>,
    deadline: Option<Instant>,
    billing: &CopilotBilling,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let previous: Option<CliCursor> = cursor.and_then(|text| serde_json::from_str(text).ok());
    let options = ReadOptions {
        deadline,
        marker: Some(USAGE_MARKER),
        ..ReadOptions::default()
    };
    let fresh = || CliState {
        session: session_of_path(&file.path),
        ..CliState::default()
    };
    let mut state = previous.as_ref().map_or_else(fresh, |c| c.state.clone());
    let mut stats = ReadStats::default();
    let resume_at = previous.as_ref().map_or(0, |c| c.tail.offset);
    let mut reset = false;
    let (new_tail, outcome, start) = tail::read_lines(
        &file.path,
        previous.as_ref().map(|c| &c.tail),
        &options,
        |line| {
            if !reset && (line.start == 0 || line.start < resume_at) {
                state = fresh();
                reset = true;
            }
            let parsed = match line.bytes {
                LineBytes::Whole(bytes) => parse_line(bytes, &mut state),
                LineBytes::Oversize { .. } => LineOutcome::Malformed,
            };
            match parsed {
                LineOutcome::Usage(drafts) => {
                    // Every event of a line is handed out before a stop takes effect: the
                    // cursor moves past whole lines only.
                    let mut flow = ControlFlow::Continue(());
                    for draft in drafts {
                        let event: UsageEvent = draft.into_event(billing);
                        if sink(Item::Event(Box::new(event))).is_break() {
                            flow = ControlFlow::Break(());
                        }
                    }
                    flow
                }
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
        state = fresh();
    }
    stats.record_tail(&outcome, start);
    let new_cursor = CliCursor {
        tail: new_tail,
        state,
    };
    let cursor = tail::changed_cursor(start, previous.as_ref(), &new_cursor);
    Ok(ReadEnd { cursor, stats })
}
