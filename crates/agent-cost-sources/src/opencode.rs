//! The OpenCode source: the SQLite database `opencode.db` (read only, while OpenCode writes
//! it) and the JSON storage of older versions (`storage/message/…`, `storage/part/…`).
//!
//! This module owns finding OpenCode's data and turning one `step-finish` part (OpenCode writes
//! one when a step of an assistant message ends, with that step's `tokens` and `cost`) and its
//! message (model, working directory) into a usage event. [`db`] reads the database, [`legacy`]
//! the JSON files. Both name an event by the part's id and combine copies by their largest
//! counts, so a part read from both places, a message file rewritten whole, or a row read again
//! after an update is counted once. Message-level `tokens` are never used: they hold only the
//! last step. See `docs/reading.md` ("OpenCode") for the rules and why.

pub mod db;
pub mod legacy;

use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_cost_events::{Agent, Money, RepeatRule, TokenCounts, UsageEvent};
use serde_json::Value;

use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, Scope, Source};

/// The agent name OpenCode events carry in the ledger and in trailers.
pub const AGENT: &str = "opencode";

/// The model recorded when a part's message names none (unpriced unless OpenCode recorded a
/// cost).
pub const UNKNOWN_MODEL: &str = "unknown";

/// Reads OpenCode's data directory (and the database `OPENCODE_DB` names, if any).
#[derive(Debug, Clone)]
pub struct OpenCodeSource {
    data_dir: Option<PathBuf>,
    extra_db: Option<PathBuf>,
}

impl OpenCodeSource {
    /// The source for this data directory and, if `OPENCODE_DB` names one, that database.
    pub fn new(data_dir: Option<PathBuf>, extra_db: Option<PathBuf>) -> OpenCodeSource {
        OpenCodeSource { data_dir, extra_db }
    }

    /// The databases: `OPENCODE_DB`'s file, `opencode.db` and the channel databases
    /// `opencode-<channel>.db` of the data directory, those that exist.
    fn databases(&self, discovery: &mut Discovery) {
        let mut paths = Vec::new();
        if let Some(path) = &self.extra_db {
            paths.push(path.clone());
        }
        if let Some(dir) = &self.data_dir {
            match std::fs::read_dir(dir) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        if is_database_name(&path) && !paths.contains(&path) {
                            paths.push(path);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => discovery.unreadable.push(format!("{}: {e}", dir.display())),
            }
        }
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => discovery.files.push(DataFile {
                    modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                    // The database with its write-ahead log, so that a hook's "nothing changed"
                    // fingerprint sees OpenCode's writes.
                    stamp: db::stamp(&path).or(Some(FileStamp::of(&meta))),
                    subagent: false,
                    path,
                }),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => discovery
                    .unreadable
                    .push(format!("{}: {e}", path.display())),
            }
        }
    }
}

/// `opencode.db` or `opencode-<channel>.db`.
fn is_database_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "opencode.db" || (n.starts_with("opencode-") && n.ends_with(".db")))
}

/// True for a data file that is a database rather than a legacy message file (`OPENCODE_DB`
/// may name a database by any name; message files end in `.json`).
fn is_database(file: &DataFile) -> bool {
    file.path.extension().is_none_or(|e| e != "json")
}

impl Source for OpenCodeSource {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(dir) = &self.data_dir {
            // The databases, then the legacy messages.
            roots.push(dir.clone());
            roots.push(dir.join("storage").join("message"));
        }
        roots.extend(self.extra_db.iter().cloned());
        roots
    }

    fn discover(&self, scope: &Scope) -> Discovery {
        let mut discovery = Discovery::default();
        self.databases(&mut discovery);
        // OpenCode versions that write the database no longer write the JSON files (they are
        // migrated into it once): a hook's catch-up reads only the database when there is
        // one. A full ingest reads both; a part found in both is one event.
        let legacy = match scope {
            Scope::All => true,
            Scope::Worktree(_) => discovery.files.is_empty(),
        };
        if legacy && let Some(dir) = &self.data_dir {
            legacy::find_messages(&dir.join("storage"), &mut discovery);
        }
        discovery
    }

    fn unchanged(&self, file: &DataFile, cursor: &str) -> bool {
        if is_database(file) {
            db::unchanged(file, cursor)
        } else {
            legacy::unchanged(file, cursor)
        }
    }

    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd> {
        if is_database(file) {
            db::read(file, cursor, deadline, sink)
        } else {
            legacy::read(file, cursor, sink)
        }
    }
}

/// The stamp of whatever is at `path` now (`None`: nothing there).
fn stamp_of(path: &Path) -> Option<FileStamp> {
    std::fs::metadata(path).ok().map(|m| FileStamp::of(&m))
}

/// The usage of one step, read from a `step-finish` part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUsage {
    /// The ledger's counts (output includes reasoning).
    pub tokens: TokenCounts,
    /// The cost OpenCode computed for the step, if it recorded one.
    pub cost: Option<Money>,
}

/// What a part turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartOutcome {
    /// A finished step with usage.
    Usage(StepUsage),
    /// Nothing to count: another kind of part, or a step without tokens.
    NoUsage,
    /// Not the JSON we expect: skipped and counted.
    Malformed,
    /// A count no request can have: skipped and counted.
    Implausible,
}

/// Reads a part's usage. OpenCode's `tokens.input` excludes cache reads and writes (it
/// subtracts them where the provider includes them) and `tokens.output` excludes `reasoning`,
/// which OpenCode bills at the output price: the ledger's output is their sum.
pub fn part_usage(part: &Value) -> PartOutcome {
    if part.get("type").and_then(Value::as_str) != Some("step-finish") {
        return PartOutcome::NoUsage;
    }
    let tokens = match part.get("tokens") {
        None | Some(Value::Null) => return PartOutcome::NoUsage,
        Some(tokens) if !tokens.is_object() => return PartOutcome::Malformed,
        Some(tokens) => tokens,
    };
    let count = |v: Option<&Value>| -> Result<u64, PartOutcome> {
        match v {
            None | Some(Value::Null) => Ok(0),
            Some(v) => match (v.as_u64(), v.as_f64()) {
                (Some(n), _) => Ok(n),
                // JavaScript writes integers; a float that is one is accepted.
                (None, Some(f)) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 => {
                    if f > 1e15 {
                        Err(PartOutcome::Implausible)
                    } else {
                        Ok(f as u64)
                    }
                }
                (None, Some(f)) if f.is_finite() && f.fract() == 0.0 => {
                    Err(PartOutcome::Implausible)
                }
                _ => Err(PartOutcome::Malformed),
            },
        }
    };
    let cache = tokens.get("cache");
    let fields = (|| {
        Ok::<_, PartOutcome>([
            count(tokens.get("input"))?,
            count(tokens.get("output"))?,
            count(tokens.get("reasoning"))?,
            count(cache.and_then(|c| c.get("read")))?,
            count(cache.and_then(|c| c.get("write")))?,
        ])
    })();
    let [input, output, reasoning, cache_read, cache_write] = match fields {
        Ok(fields) => fields,
        Err(outcome) => return outcome,
    };
    let counts = TokenCounts {
        input,
        output: output.saturating_add(reasoning),
        cache_write_5m: cache_write,
        cache_write_1h: 0,
        cache_read,
    };
    if !counts.is_plausible_request() {
        return PartOutcome::Implausible;
    }
    let cost = cost_of(part.get("cost"));
    if counts.is_zero() && cost.is_none_or(|c| c == Money::ZERO) {
        return PartOutcome::NoUsage;
    }
    PartOutcome::Usage(StepUsage {
        tokens: counts,
        cost,
    })
}

/// OpenCode's cost: a number of dollars (`{"usd": n}` is accepted too). Negative, infinite or
/// absurd amounts are ignored.
fn cost_of(value: Option<&Value>) -> Option<Money> {
    let value = match value? {
        Value::Object(object) => object.get("usd")?,
        value => value,
    };
    let dollars = value.as_f64()?;
    if !dollars.is_finite() || !(0.0..=1e9).contains(&dollars) {
        return None;
    }
    // Pico-dollars; an f64 holds about 16 significant digits, far below a micro-dollar here.
    Some(Money((dollars * 1e12).round() as u128))
}

/// What an assistant message says about the requests of its steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageInfo {
    /// `role`.
    pub role: Option<String>,
    /// `modelID` (or `model.modelID`, `model.id`).
    pub model: Option<String>,
    /// `sessionID`.
    pub session: Option<String>,
    /// `path.cwd` (else `path.root`; a plain string `path` is taken as the directory).
    pub cwd: Option<String>,
    /// `time.completed`, else `time.created` (milliseconds).
    pub time_ms: Option<i64>,
}

impl MessageInfo {
    /// Reads a message's JSON.
    pub fn from_json(message: &Value) -> MessageInfo {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let model = text(message.get("modelID")).or_else(|| {
            let model = message.get("model")?;
            text(model.get("modelID")).or_else(|| text(model.get("id")))
        });
        let cwd = match message.get("path") {
            Some(Value::String(s)) => text(Some(&Value::String(s.clone()))),
            Some(path) => text(path.get("cwd")).or_else(|| text(path.get("root"))),
            None => None,
        };
        let time = message.get("time");
        let millis = |name: &str| time.and_then(|t| t.get(name)).and_then(Value::as_i64);
        MessageInfo {
            role: text(message.get("role")),
            model,
            session: text(message.get("sessionID")),
            cwd,
            time_ms: millis("completed").or_else(|| millis("created")),
        }
    }
}

/// RFC 3339 text of milliseconds since the epoch (empty when out of range).
pub fn rfc3339_of_millis(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The event of one finished step.
pub(crate) struct StepEvent<'a> {
    pub part_id: &'a str,
    pub session: &'a str,
    pub message: &'a MessageInfo,
    /// The working directory when the message names none (the session's directory).
    pub fallback_cwd: Option<&'a str>,
    /// When the step finished, if known better than the message's times (milliseconds).
    pub time_ms: Option<i64>,
    pub usage: StepUsage,
}

impl StepEvent<'_> {
    pub fn event(&self) -> UsageEvent {
        let time = self.time_ms.or(self.message.time_ms);
        UsageEvent {
            agent: Agent::new(AGENT),
            event_id: self.part_id.to_owned(),
            variant: String::new(),
            repeat: RepeatRule::LargestCopy,
            session_id: self.session.to_owned(),
            model: self
                .message
                .model
                .clone()
                .unwrap_or_else(|| UNKNOWN_MODEL.to_owned()),
            timestamp: time.map(rfc3339_of_millis).unwrap_or_default(),
            tokens: self.usage.tokens,
            requests: 1,
            quantity: None,
            source_cost: self.usage.cost,
            cwd: self
                .message
                .cwd
                .as_deref()
                .or(self.fallback_cwd)
                .unwrap_or_default()
                .to_owned(),
            git_branch: None,
            sidechain: false,
            speed: None,
        }
    }
}

/// FNV-1a of some bytes (notices a row whose data changed).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn step_finish_tokens_become_ledger_counts() {
        let part = json!({"type": "step-finish", "cost": 0.0123,
            "tokens": {"input": 100, "output": 40, "reasoning": 10,
                       "cache": {"read": 2000, "write": 300}}});
        let PartOutcome::Usage(usage) = part_usage(&part) else {
            panic!()
        };
        assert_eq!(
            usage.tokens,
            TokenCounts {
                input: 100,
                output: 50,
                cache_write_5m: 300,
                cache_write_1h: 0,
                cache_read: 2000
            }
        );
        assert_eq!(usage.cost, Some(Money::from_micros(12_300)));
    }

    #[test]
    fn parts_without_usage_and_bad_parts() {
        for part in [
            json!({"type": "text", "text": "hi"}),
            json!({"type": "step-finish"}),
            json!({"type": "step-finish", "tokens": null}),
            json!({"type": "step-finish", "tokens": {"input": 0, "output": 0}, "cost": 0}),
        ] {
            assert_eq!(part_usage(&part), PartOutcome::NoUsage, "{part}");
        }
        for part in [
            json!({"type": "step-finish", "tokens": "many"}),
            json!({"type": "step-finish", "tokens": {"input": "12"}}),
            json!({"type": "step-finish", "tokens": {"input": 1.5}}),
        ] {
            assert_eq!(part_usage(&part), PartOutcome::Malformed, "{part}");
        }
        for part in [
            json!({"type": "step-finish", "tokens": {"input": -3}}),
            json!({"type": "step-finish", "tokens": {"output": 1e13}}),
        ] {
            assert_eq!(part_usage(&part), PartOutcome::Implausible, "{part}");
        }
        // The shape of a tool author's fixture: a cost object, no cache.
        let part = json!({"type": "step-finish", "tokens": {"input": 120, "output": 16},
                          "cost": {"usd": 0.0011}});
        let PartOutcome::Usage(usage) = part_usage(&part) else {
            panic!()
        };
        assert_eq!(usage.cost, Some(Money::from_micros(1_100)));
        assert_eq!(usage.tokens.input, 120);
        // A negative cost is no cost.
        let part = json!({"type": "step-finish", "tokens": {"input": 1}, "cost": -1.0});
        let PartOutcome::Usage(usage) = part_usage(&part) else {
            panic!()
        };
        assert_eq!(usage.cost, None);
    }

    #[test]
    fn opencode_db_names_a_database_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let custom = dir.path().join("custom.sqlite");
        std::fs::write(&custom, b"").unwrap();
        let source = OpenCodeSource::new(Some(dir.path().join("absent")), Some(custom.clone()));
        let found = source.discover(&Scope::All);
        assert_eq!(found.files.len(), 1);
        assert_eq!(found.files[0].path, custom);
        assert!(is_database(&found.files[0]));
        assert!(found.unreadable.is_empty());
    }

    #[test]
    fn message_fields() {
        let m = MessageInfo::from_json(&json!({"role": "assistant", "modelID": "gpt-5",
            "providerID": "openai", "sessionID": "ses_1",
            "path": {"cwd": "/w/a", "root": "/w"}, "time": {"created": 1000, "completed": 2000}}));
        assert_eq!(m.model.as_deref(), Some("gpt-5"));
        assert_eq!(m.cwd.as_deref(), Some("/w/a"));
        assert_eq!(m.time_ms, Some(2000));
        let m = MessageInfo::from_json(&json!({"role": "assistant",
            "model": {"providerID": "openai", "modelID": "gpt-4o-mini"}, "path": "/tmp/large",
            "time": {"created": 1000}}));
        assert_eq!(m.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(m.cwd.as_deref(), Some("/tmp/large"));
        assert_eq!(m.time_ms, Some(1000));
        assert_eq!(
            rfc3339_of_millis(1_780_000_000_123),
            "2026-05-28T20:26:40.123Z"
        );
    }
}
