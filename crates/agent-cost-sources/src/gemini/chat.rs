//! What Gemini CLI chat records mean: message records and their token counts, `$set` and
//! `$rewindTo` records, and the whole-file JSON of older versions.
//!
//! Only the few fields that matter are deserialized; message content, thoughts and tool
//! results are skipped without being held.

use std::collections::BTreeMap;

use agent_cost_events::{Agent, RepeatRule, TokenCounts, UsageEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient::Lenient;

use super::project::Projects;
use super::sha256;

/// The agent name Gemini CLI events carry in the ledger and in trailers.
pub const AGENT: &str = "gemini-cli";

/// The model recorded when a message with tokens names none (unpriced, still counted).
pub const UNKNOWN_MODEL: &str = "unknown";

/// One message as Gemini CLI records it (user, gemini, info, ...); only `gemini` messages
/// carry `tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessageRecord {
    /// The message id (a UUID in real chats), the same on every copy of the message.
    #[serde(default)]
    pub id: Option<Value>,
    /// When the message was made.
    #[serde(default)]
    pub timestamp: Option<Value>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<Value>,
    /// `{input, output, cached, thoughts, tool, total}`, or null before the usage arrived.
    #[serde(default)]
    pub tokens: Option<Value>,
}

/// A `$set` record: metadata updates, sometimes the whole message list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SetRecord {
    /// A new session id (written when a session is resumed).
    #[serde(
        default,
        rename = "sessionId",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub session_id: Option<String>,
    /// The project hash.
    #[serde(
        default,
        rename = "projectHash",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub project_hash: Option<String>,
    /// The workspace directories.
    #[serde(default, deserialize_with = "crate::lenient::or_none")]
    pub directories: Option<Vec<String>>,
    /// Every message, as the history now holds them (after compression or masking).
    #[serde(default)]
    pub messages: Option<Vec<Lenient<MessageRecord>>>,
}

/// One line of a `.jsonl` chat, or the whole of a legacy `.json` chat: a metadata record, a
/// message record, a `$set` or a `$rewindTo`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Record {
    /// The session (metadata records and legacy files).
    #[serde(
        default,
        rename = "sessionId",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub session_id: Option<String>,
    /// `sha256(project root)` (metadata records and legacy files).
    #[serde(
        default,
        rename = "projectHash",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub project_hash: Option<String>,
    /// The workspace directories, when recorded.
    #[serde(default, deserialize_with = "crate::lenient::or_none")]
    pub directories: Option<Vec<String>>,
    /// The message list of a legacy file.
    #[serde(default)]
    pub messages: Option<Vec<Lenient<MessageRecord>>>,
    /// A metadata update.
    #[serde(default, rename = "$set")]
    pub set: Option<SetRecord>,
    /// The message the history was rewound to (it and every later message were dropped).
    #[serde(default, rename = "$rewindTo")]
    pub rewind_to: Option<Value>,
    /// The message id of a message record.
    #[serde(default)]
    pub id: Option<Value>,
    /// When the message was made.
    #[serde(default)]
    pub timestamp: Option<Value>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<Value>,
    /// The usage of a `gemini` message.
    #[serde(default)]
    pub tokens: Option<Value>,
}

impl Record {
    /// The message-record fields of this record (not flattened into it with serde, which
    /// would buffer every other field, content included).
    fn message(self) -> MessageRecord {
        MessageRecord {
            id: self.id,
            timestamp: self.timestamp,
            model: self.model,
            tokens: self.tokens,
        }
    }
}

/// What a chat said so far about where its messages belong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatState {
    /// The session of the latest metadata record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The project hash of the latest metadata record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_hash: Option<String>,
    /// The workspace directories of the latest metadata record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<String>,
    /// The project root, once recovered: kept, so that a later read without the clue that
    /// gave it (a hook's worktree) still knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

impl ChatState {
    /// Takes what a metadata record (or a legacy file) says.
    pub fn learn(
        &mut self,
        session: Option<&String>,
        hash: Option<&String>,
        directories: Option<&Vec<String>>,
    ) {
        if let Some(session) = session.filter(|s| !s.is_empty()) {
            self.session = Some(session.clone());
        }
        if let Some(hash) = hash.filter(|h| !h.is_empty()) {
            self.project_hash = Some(hash.clone());
        }
        if let Some(directories) = directories {
            self.directories = directories.clone();
        }
    }
}

/// Where a chat file lies and what is known of its project.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The project folders and their roots.
    pub projects: &'a Projects,
    /// The name of the project folder the file is in.
    pub folder: String,
    /// The session to use when the file names none (its file name without extension).
    pub fallback_session: String,
    /// True for a subagent's chat (`chats/<parent session>/<session>.jsonl`).
    pub subagent: bool,
}

impl Context<'_> {
    /// The project root of the chat, recovered from the folder, the recorded hash, the
    /// recorded directories or what an earlier read learnt; remembered in `state`.
    pub fn root(&self, state: &mut ChatState) -> Option<String> {
        if let Some(root) = self.projects.root_of_folder(&self.folder) {
            state.root = Some(root.to_owned());
            return state.root.clone();
        }
        if state.root.is_some() {
            return state.root.clone();
        }
        let hash = state.project_hash.clone();
        if let Some(root) = hash.as_deref().and_then(|h| self.projects.root_of_hash(h)) {
            state.root = Some(root.to_owned());
            return state.root.clone();
        }
        let found = state.directories.iter().find(|dir| {
            let digest = sha256::hex_digest(dir.as_bytes());
            hash.as_deref() == Some(digest.as_str()) || digest == self.folder
        });
        state.root = found.cloned();
        state.root.clone()
    }
}

/// What one record turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The usage of one response.
    Usage(Box<UsageEvent>),
    /// Not the JSON expected: skipped and counted.
    Malformed,
    /// A count no request can have: skipped and counted.
    Implausible,
}

/// Gemini's counts of one response (`promptTokenCount` and friends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeminiTokens {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    /// Response tokens, thoughts excluded.
    pub output: u64,
    /// Prompt tokens served from the cache.
    pub cached: u64,
    /// Thinking tokens.
    pub thoughts: u64,
    /// Tokens of tool-use prompts.
    pub tool: u64,
    /// The total Gemini reported, if any.
    pub total: Option<u64>,
}

impl GeminiTokens {
    /// Reads a `tokens` object; `None` when it is not one or a count is not a whole number.
    pub fn from_json(value: &Value) -> Option<GeminiTokens> {
        let object = value.as_object()?;
        let field = |name: &str| -> Option<Option<u64>> {
            match object.get(name) {
                None | Some(Value::Null) => Some(None),
                Some(v) => v.as_u64().map(Some),
            }
        };
        Some(GeminiTokens {
            input: field("input")?.unwrap_or(0),
            output: field("output")?.unwrap_or(0),
            cached: field("cached")?.unwrap_or(0),
            thoughts: field("thoughts")?.unwrap_or(0),
            tool: field("tool")?.unwrap_or(0),
            total: field("total")?,
        })
    }

    /// The ledger's counts. `input` includes `cached`: uncached input is the difference and
    /// cache reads are `cached`. Thoughts are billed as output. Tool-use prompt tokens are
    /// billed as input and are not part of `input` (Gemini's total is input + output +
    /// thoughts + tool), so they are added to the uncached input, unless the reported total
    /// shows they were already inside `input`.
    pub fn tokens(&self) -> TokenCounts {
        let cache_read = self.cached.min(self.input);
        let separate = self
            .input
            .saturating_add(self.output)
            .saturating_add(self.thoughts);
        let tool_apart = self
            .total
            .is_none_or(|total| total >= separate.saturating_add(self.tool));
        let tool = if tool_apart { self.tool } else { 0 };
        TokenCounts {
            input: (self.input - cache_read).saturating_add(tool),
            output: self.output.saturating_add(self.thoughts),
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read,
        }
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The event of one message, if it carries usage.
pub fn message_event(
    message: &MessageRecord,
    state: &mut ChatState,
    context: &Context<'_>,
) -> Option<Outcome> {
    let tokens = match message.tokens.as_ref() {
        None | Some(Value::Null) => return None,
        Some(tokens) => tokens,
    };
    let Some(counts) = GeminiTokens::from_json(tokens) else {
        return Some(Outcome::Malformed);
    };
    let tokens = counts.tokens();
    if tokens.is_zero() {
        return None;
    }
    if !tokens.is_plausible_request() {
        return Some(Outcome::Implausible);
    }
    let Some(id) = text(message.id.as_ref()) else {
        return Some(Outcome::Malformed);
    };
    let session = state
        .session
        .clone()
        .unwrap_or_else(|| context.fallback_session.clone());
    let cwd = context.root(state).unwrap_or_default();
    Some(Outcome::Usage(Box::new(UsageEvent {
        agent: Agent::new(AGENT),
        event_id: format!("{session}:{id}"),
        variant: String::new(),
        repeat: RepeatRule::Replace,
        session_id: session,
        model: text(message.model.as_ref())
            .unwrap_or(UNKNOWN_MODEL)
            .to_owned(),
        timestamp: text(message.timestamp.as_ref())
            .unwrap_or_default()
            .to_owned(),
        tokens,
        requests: 1,
        quantity: None,
        source_cost: None,
        cwd,
        git_branch: None,
        sidechain: context.subagent,
        speed: None,
    })))
}

/// Applies one `.jsonl` line to `state`, returning what it yields (a `$set` with the message
/// list can yield many events).
pub fn parse_line(bytes: &[u8], state: &mut ChatState, context: &Context<'_>) -> Vec<Outcome> {
    // Only objects are records (serde would read an array into the record's fields in order).
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return vec![Outcome::Malformed];
    }
    let Ok(record) = serde_json::from_slice::<Record>(bytes) else {
        return vec![Outcome::Malformed];
    };
    // `$rewindTo` drops the named message and every later one from the conversation, but
    // their requests were made and paid for: what was read of them stays charged.
    if record.rewind_to.is_some() {
        return Vec::new();
    }
    if let Some(set) = &record.set {
        state.learn(
            set.session_id.as_ref(),
            set.project_hash.as_ref(),
            set.directories.as_ref(),
        );
        return set
            .messages
            .iter()
            .flatten()
            .filter_map(|message| match message.object() {
                Some(message) => message_event(message, state, context),
                None => Some(Outcome::Malformed),
            })
            .collect();
    }
    if record.session_id.is_some() || record.project_hash.is_some() {
        state.learn(
            record.session_id.as_ref(),
            record.project_hash.as_ref(),
            record.directories.as_ref(),
        );
    }
    if record.id.is_none() && record.tokens.is_none() {
        return Vec::new();
    }
    message_event(&record.message(), state, context)
        .into_iter()
        .collect()
}

/// A fingerprint of what makes a message's event: a legacy file rewritten whole hands out
/// again only the messages whose fingerprint changed.
pub fn fingerprint(message: &MessageRecord) -> u64 {
    let mut text = String::new();
    for part in [&message.tokens, &message.model, &message.timestamp] {
        text.push_str(&part.as_ref().map(Value::to_string).unwrap_or_default());
        text.push('\u{1f}');
    }
    crate::tail::fnv1a(text.as_bytes())
}

/// What the reads of a legacy `.json` chat have handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyState {
    /// The session, directories and root, as for a `.jsonl` chat.
    #[serde(default)]
    pub chat: ChatState,
    /// The fingerprint of every message handed out, by message id.
    #[serde(default)]
    pub seen: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, cached: u64, thoughts: u64, tool: u64) -> GeminiTokens {
        GeminiTokens {
            input,
            output,
            cached,
            thoughts,
            tool,
            total: Some(input + output + thoughts + tool),
        }
    }

    #[test]
    fn cached_input_is_split_off_and_thoughts_are_output() {
        let counts = tokens(12_069, 147, 11_502, 40, 0).tokens();
        assert_eq!(
            counts,
            TokenCounts {
                input: 567,
                output: 187,
                cache_read: 11_502,
                ..TokenCounts::default()
            }
        );
    }

    #[test]
    fn tool_prompt_tokens_are_input_unless_the_total_holds_them_in_input() {
        assert_eq!(tokens(1000, 10, 0, 0, 50).tokens().input, 1050);
        let inside = GeminiTokens {
            total: Some(1010),
            ..tokens(1000, 10, 0, 0, 50)
        };
        assert_eq!(inside.tokens().input, 1000);
        let no_total = GeminiTokens {
            total: None,
            ..tokens(1000, 10, 0, 0, 50)
        };
        assert_eq!(no_total.tokens().input, 1050);
        // More cached than input (never seen; no underflow).
        assert_eq!(tokens(10, 1, 20, 0, 0).tokens().cache_read, 10);
    }

    #[test]
    fn odd_token_objects_are_refused() {
        for bad in [
            r#"5"#,
            r#"{"input":-1}"#,
            r#"{"input":"7"}"#,
            r#"{"output":1.5}"#,
        ] {
            let value: Value = serde_json::from_str(bad).unwrap();
            assert_eq!(GeminiTokens::from_json(&value), None, "{bad}");
        }
        let value: Value = serde_json::from_str(r#"{"input":3,"total":null}"#).unwrap();
        assert_eq!(GeminiTokens::from_json(&value).unwrap().input, 3);
    }
}
