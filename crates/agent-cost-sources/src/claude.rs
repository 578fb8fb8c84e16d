//! Claude Code transcripts: where they are and what one line means.
//!
//! Files live under each `projects/` directory as `<encoded-cwd>/<session>.jsonl`, with subagent
//! transcripts in `<encoded-cwd>/<session>/subagents/agent-*.jsonl`. Each assistant line carries
//! the usage of one API request; a response streamed as several lines repeats it with growing
//! output counts, and sidechains replay main-chain messages. This module only interprets lines;
//! deduplication across lines and files belongs to the ledger, keyed by [`UsageEvent::event_id`].

use std::path::PathBuf;

use agent_cost_events::{Agent, TokenCounts, UsageEvent};
use serde::Deserialize;

/// The model name Claude Code gives to client-side errors; they cost nothing.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// One transcript file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptFile {
    /// Path of the `.jsonl` file.
    pub path: PathBuf,
    /// True for subagent transcripts (under a `subagents/` directory).
    pub subagent: bool,
    /// Size in bytes when found.
    pub size: u64,
    /// Modification time when found, for newest-first ordering.
    pub modified: std::time::SystemTime,
}

/// Transcripts found on disk, and paths that could not be looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Transcript files, newest first.
    pub files: Vec<TranscriptFile>,
    /// Entries under a `projects/` directory that could not be read (a dangling link, a
    /// permission problem), with the reason.
    pub unreadable: Vec<String>,
}

/// Finds every transcript under the given `projects/` directories (following links), newest
/// first, so a reader with a time budget reaches the sessions that are running now before old
/// history. A `projects/` directory that does not exist is simply not there.
pub fn find_transcripts(projects_dirs: &[PathBuf]) -> Discovery {
    let mut seen = std::collections::HashSet::new();
    let mut discovery = Discovery::default();
    for dir in projects_dirs {
        if !dir.is_dir() {
            continue;
        }
        for entry in walkdir::WalkDir::new(dir).follow_links(true) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    let path = error
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    discovery.unreadable.push(format!("{path}: {error}"));
                    continue;
                }
            };
            if !entry.file_type().is_file()
                || entry.path().extension().is_none_or(|ext| ext != "jsonl")
            {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(error) => {
                    discovery
                        .unreadable
                        .push(format!("{}: {error}", entry.path().display()));
                    continue;
                }
            };
            let path = entry.into_path();
            if !seen.insert(path.clone()) {
                continue;
            }
            discovery.files.push(TranscriptFile {
                subagent: path.components().any(|c| c.as_os_str() == "subagents"),
                size: meta.len(),
                modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                path,
            });
        }
    }
    discovery.files.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| a.path.cmp(&b.path))
    });
    discovery
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
}

#[derive(Deserialize)]
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
}

#[derive(Deserialize)]
struct Message {
    id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
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
        let split = write_5m + write_1h;
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
    if memchr::memmem::find(line, b"\"usage\"").is_none() {
        return LineOutcome::NoUsage;
    }
    // Checking the whole line as UTF-8 once is much cheaper than serde_json checking each
    // string in it.
    let Ok(text) = std::str::from_utf8(line) else {
        return LineOutcome::Malformed;
    };
    let Ok(parsed) = serde_json::from_str::<Line>(text) else {
        return LineOutcome::Malformed;
    };
    let Some(message) = parsed.message else {
        return LineOutcome::NoUsage;
    };
    let Some(usage) = message.usage else {
        return LineOutcome::NoUsage;
    };
    let model = message.model.unwrap_or_default();
    if model == SYNTHETIC_MODEL {
        return LineOutcome::Synthetic;
    }
    let tokens = usage.tokens();
    let session_id = parsed.session_id.unwrap_or_default();
    let timestamp = parsed.timestamp.unwrap_or_default();
    let event_id = match (message.id, parsed.request_id.as_deref(), parsed.uuid) {
        (Some(id), _, _) if !id.is_empty() => format!("claude:{}", sanitize(&id)),
        (_, Some(request), _) if !request.is_empty() => format!("claude:req:{}", sanitize(request)),
        (_, _, Some(uuid)) if !uuid.is_empty() => format!("claude:line:{}", sanitize(&uuid)),
        _ => format!(
            "claude:hash:{:016x}",
            crate::tail::fnv1a(
                format!("{session_id}\n{timestamp}\n{model}\n{tokens:?}").as_bytes()
            )
        ),
    };
    LineOutcome::Usage(Box::new(UsageEvent {
        agent: Agent::ClaudeCode,
        event_id,
        session_id,
        model,
        timestamp,
        tokens,
        cwd: parsed.cwd.unwrap_or_default(),
        git_branch: parsed.git_branch.filter(|b| !b.is_empty()),
        sidechain: parsed.is_sidechain || subagent_file,
        speed: usage.speed.filter(|s| s != "standard"),
    }))
}

/// Ids end up in tab-separated index files: control characters become `_`.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"parentUuid":"p","isSidechain":false,"cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"\"usage\" in text"}],"usage":{"input_tokens":5,"cache_creation_input_tokens":1500,"cache_read_input_tokens":12000,"cache_creation":{"ephemeral_5m_input_tokens":500,"ephemeral_1h_input_tokens":1000},"output_tokens":400,"service_tier":"standard"}},"requestId":"req_1","uuid":"u1","timestamp":"2025-10-10T09:01:00.000Z"}"#;

    #[test]
    fn reads_usage_with_cache_split() {
        let LineOutcome::Usage(event) = parse_line(LINE.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "claude:msg_1");
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
        assert_eq!(event.event_id, "claude:req:req_1");
    }
}
