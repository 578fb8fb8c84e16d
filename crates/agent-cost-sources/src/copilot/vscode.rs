//! VS Code Copilot Chat sessions: finding them, mapping them to their workspace folder, and
//! turning their finished requests into events.
//!
//! A `.json` session is a snapshot VS Code rewrites whole on every save; a `.jsonl` session is
//! a mutation log whose first line (`kind` 0) holds the initial state and whose later lines
//! set (`kind` 1) or append to (`kind` 2) the value at key path `k`. Either way the session's
//! `requests` are read whole each time the file changes, and every finished request is handed
//! out again under the same id (`vscode:<sessionId>:<requestId>`, [`RepeatRule::Replace`]),
//! so a rewrite never counts a request twice.

use std::collections::BTreeSet;
use std::io::{self, BufReader};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use agent_cost_events::{RepeatRule, TokenCounts};
use agent_cost_prices::CopilotBilling;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Draft, Hashing, UNKNOWN_MODEL, WholeCursor, model_name, multiplier_of_details,
    rfc3339_of_millis, traces, up_to_date,
};
use crate::lenient::Lenient;
use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope};

/// A mutation log larger than this is skipped (counted as oversize): replaying it holds its
/// whole state in memory. Snapshots are streamed and have no such bound.
pub const MAX_MUTATION_LOG: u64 = 64 << 20;

/// Adds the chat sessions (and the span database) of one VS Code `User` directory in `scope`.
pub fn discover(user: &Path, scope: &Scope, discovery: &mut Discovery) {
    let mut any_workspace = false;
    for (hash_dir, folder) in workspaces(user, &mut discovery.unreadable) {
        if let Scope::Worktree(worktree) = scope {
            // At, below or above the worktree: a session there may have run in it.
            let relevant = folder
                .as_deref()
                .is_some_and(|f| f.starts_with(worktree) || worktree.starts_with(f));
            if !relevant {
                continue;
            }
        }
        any_workspace = true;
        sessions_in(&hash_dir.join("chatSessions"), discovery);
    }
    let global = user.join("globalStorage");
    if *scope == Scope::All {
        // No folder was open: unattributed, never part of a worktree's catch-up.
        sessions_in(&global.join("emptyWindowChatSessions"), discovery);
    }
    if *scope == Scope::All || any_workspace {
        let db = global.join("github.copilot-chat").join(traces::DB_NAME);
        if let Ok(meta) = std::fs::metadata(&db) {
            push(discovery, db, &meta);
        }
    }
}

/// The `workspaceStorage/<hash>` directories of a `User` directory that hold chat sessions,
/// each with the folder its `workspace.json` names (`None`: no file, or not a local folder).
pub fn workspaces(user: &Path, unreadable: &mut Vec<String>) -> Vec<(PathBuf, Option<PathBuf>)> {
    let storage = user.join("workspaceStorage");
    let entries = match std::fs::read_dir(&storage) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            unreadable.push(format!("{}: {e}", storage.display()));
            return Vec::new();
        }
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        // Most workspaces hold no chat: one `stat` each, and only the others' workspace.json
        // is read.
        .filter(|path| path.join("chatSessions").is_dir())
        .map(|path| {
            let folder = workspace_folder(&path);
            (path, folder)
        })
        .collect()
}

/// The folder a `workspaceStorage/<hash>/workspace.json` names: `{"folder": "file:///…"}`, or
/// for a multi-root workspace `{"workspace": "file:///…/x.code-workspace"}` the directory of
/// that file. Other schemes (`vscode-remote://`) name no local folder.
pub fn workspace_folder(hash_dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(hash_dir.join("workspace.json")).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    if let Some(folder) = json.get("folder").and_then(Value::as_str) {
        return file_uri_path(folder);
    }
    let workspace = file_uri_path(json.get("workspace").and_then(Value::as_str)?)?;
    workspace.parent().map(Path::to_path_buf)
}

/// The path of a `file://` URI, percent-decoded (`file:///home/dev/my%20repo` is
/// `/home/dev/my repo`).
pub fn file_uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path`: only the local host's paths are ours.
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(at) if &rest[..at] == "localhost" => &rest[at..],
        _ => return None,
    };
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                decoded.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    #[cfg(unix)]
    let path =
        PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(decoded));
    #[cfg(not(unix))]
    let path = PathBuf::from(String::from_utf8_lossy(&decoded).into_owned());
    Some(path)
}

fn sessions_in(dir: &Path, discovery: &mut Discovery) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            discovery.unreadable.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let session = path
            .extension()
            .is_some_and(|e| e == "json" || e == "jsonl");
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && session => push(discovery, path, &meta),
            Ok(_) => {}
            Err(e) if session => discovery
                .unreadable
                .push(format!("{}: {e}", path.display())),
            Err(_) => {}
        }
    }
}

fn push(discovery: &mut Discovery, path: PathBuf, meta: &std::fs::Metadata) {
    discovery.files.push(DataFile {
        modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        stamp: Some(FileStamp::of(meta)),
        subagent: false,
        path,
    });
}

/// A chat session, as much of it as is read (everything else is skipped while parsing).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSession {
    /// The session's id (a string; anything else is ignored).
    #[serde(default)]
    pub session_id: Option<Value>,
    /// Its requests, in order.
    #[serde(default)]
    pub requests: Vec<Lenient<ChatRequest>>,
}

/// One request of a chat session.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRequest {
    /// `request_…` (a string; anything else is ignored).
    #[serde(default)]
    pub request_id: Option<Value>,
    /// When it was sent, in milliseconds since the epoch.
    #[serde(default)]
    pub timestamp: Option<Value>,
    /// `copilot/<model>`.
    #[serde(default)]
    pub model_id: Option<Value>,
    /// `{"identifier": "copilot/<model>", …}` in other versions.
    #[serde(default)]
    pub selected_model: Option<Value>,
    /// True when the user stopped it.
    #[serde(default)]
    pub is_canceled: Option<Value>,
    /// Present once the request finished.
    #[serde(default)]
    pub result: Option<Lenient<ChatResult>>,
}

/// A finished request's result.
#[derive(Debug, Default, Deserialize)]
pub struct ChatResult {
    /// `"Claude Opus 4.5 • 3x"`: the model as shown, and its premium multiplier.
    #[serde(default)]
    pub details: Option<Value>,
    /// Token counts, in some versions.
    #[serde(default)]
    pub metadata: Option<Lenient<ChatMetadata>>,
}

/// The part of a result's metadata that counts tokens.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: Option<Value>,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: Option<Value>,
}

/// Reads one chat session file whole, when its content changed since `cursor`.
pub fn read(
    path: &Path,
    cursor: Option<&str>,
    billing: &CopilotBilling,
    sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<ReadEnd> {
    let previous = cursor.and_then(WholeCursor::parse);
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let stamp = FileStamp::of(&meta);
    if previous.is_some_and(|c| c.stamp == stamp) {
        return Ok(ReadEnd {
            cursor: None,
            stats: up_to_date(),
        });
    }
    let mut stats = ReadStats {
        restarted: previous.is_some(),
        ..ReadStats::default()
    };
    let jsonl = path.extension().is_some_and(|e| e == "jsonl");
    let mut reader = BufReader::new(Hashing::new(file));
    let parsed = if jsonl && meta.len() > MAX_MUTATION_LOG {
        stats.oversize += 1;
        None
    } else if jsonl {
        replay(&mut reader, &mut stats)
    } else {
        serde_json::from_reader::<_, ChatSession>(&mut reader).ok()
    };
    let (hash, bytes) = reader.into_inner().finish()?;
    let new_cursor = WholeCursor { stamp, hash };
    if previous.is_some_and(|c| c.hash == hash) {
        // Touched, not changed.
        return Ok(ReadEnd {
            cursor: Some(new_cursor.to_text()),
            stats: up_to_date(),
        });
    }
    stats.bytes = bytes;
    let Some(session) = parsed else {
        if !jsonl || stats.oversize == 0 {
            stats.malformed += 1;
        }
        return Ok(ReadEnd {
            cursor: Some(new_cursor.to_text()),
            stats,
        });
    };
    let context = Context::of(path);
    let session_id = session
        .session_id
        .as_ref()
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let Some(session_id) = session_id.or_else(|| stem(path)) else {
        stats.malformed += 1;
        return Ok(ReadEnd {
            cursor: Some(new_cursor.to_text()),
            stats,
        });
    };
    let covered = context.covered_times(&session_id);
    let requests = &session.requests;
    stats.lines = requests.len() as u64;
    for (index, request) in requests.iter().enumerate() {
        let Some(request) = request.object() else {
            stats.malformed += 1;
            continue;
        };
        let next_ts = requests[index + 1..]
            .iter()
            .filter_map(Lenient::object)
            .find_map(|r| millis(&r.timestamp));
        let Some(draft) = draft(
            &session_id,
            index,
            request,
            next_ts,
            &covered,
            &context,
            billing,
            &mut stats,
        ) else {
            continue;
        };
        if sink(Item::Event(Box::new(draft.into_event(billing)))).is_break() {
            // Nothing is lost by not moving the cursor: the next read hands out every
            // request again.
            stats.stopped = true;
            return Ok(ReadEnd {
                cursor: None,
                stats,
            });
        }
    }
    Ok(ReadEnd {
        cursor: Some(new_cursor.to_text()),
        stats,
    })
}

/// The event of one request, or `None` (counted where it is not simply unfinished).
#[allow(clippy::too_many_arguments)]
fn draft(
    session_id: &str,
    index: usize,
    request: &ChatRequest,
    next_ts: Option<i64>,
    covered: &[i64],
    context: &Context,
    billing: &CopilotBilling,
    stats: &mut ReadStats,
) -> Option<Draft> {
    if request.is_canceled.as_ref().and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let Some(result) = request.result.as_ref()?.object() else {
        stats.malformed += 1;
        return None;
    };
    let model = request
        .model_id
        .as_ref()
        .and_then(Value::as_str)
        .or_else(|| {
            request
                .selected_model
                .as_ref()
                .and_then(|m| m.get("identifier"))
                .and_then(Value::as_str)
        })
        .and_then(model_name)
        .unwrap_or_else(|| UNKNOWN_MODEL.to_string());
    let premium = result
        .details
        .as_ref()
        .and_then(Value::as_str)
        .and_then(multiplier_of_details)
        .unwrap_or_else(|| billing.multiplier_micros(&model));
    let ts = millis(&request.timestamp);
    // Exact tokens from spans take the place of the session's own counts: a request is
    // covered when a `chat` span of its session ended between it and the next request.
    let spans_cover = ts.is_some_and(|start| {
        let at = covered.partition_point(|t| *t < start);
        covered
            .get(at)
            .is_some_and(|t| next_ts.is_none_or(|next| *t < next))
    });
    // A count that is there but not a count makes the request malformed.
    let count = |v: &Option<Value>| match v {
        None | Some(Value::Null) => Some(0),
        Some(v) => v.as_u64(),
    };
    let tokens = match (&result.metadata, spans_cover) {
        (Some(Lenient::Other), false) => {
            stats.malformed += 1;
            return None;
        }
        (Some(Lenient::Object(meta)), false) => {
            let (Some(input), Some(output)) =
                (count(&meta.prompt_tokens), count(&meta.output_tokens))
            else {
                stats.malformed += 1;
                return None;
            };
            TokenCounts {
                input,
                output,
                ..TokenCounts::default()
            }
        }
        _ => TokenCounts::default(),
    };
    if !tokens.is_plausible_request() {
        stats.implausible += 1;
        return None;
    }
    let request_id = request
        .request_id
        .as_ref()
        .and_then(Value::as_str)
        .map_or_else(|| format!("#{index}"), str::to_owned);
    Some(Draft {
        event_id: format!("vscode:{session_id}:{request_id}"),
        repeat: RepeatRule::Replace,
        session_id: session_id.to_string(),
        model,
        timestamp: ts.map(rfc3339_of_millis).unwrap_or_default(),
        tokens,
        requests: 1,
        premium_micros: premium,
        cwd: context.cwd.clone(),
        git_branch: None,
    })
}

fn millis(value: &Option<Value>) -> Option<i64> {
    let value = value.as_ref()?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn stem(path: &Path) -> Option<String> {
    Some(path.file_stem()?.to_str()?.to_string())
}

/// Where a session file lies: its workspace folder (the events' cwd) and its `User` directory.
struct Context {
    cwd: String,
    user: Option<PathBuf>,
}

impl Context {
    fn of(path: &Path) -> Context {
        let dir = path.parent();
        let in_workspace = dir.is_some_and(|d| d.ends_with("chatSessions"));
        // …/User/workspaceStorage/<hash>/chatSessions/x.json or
        // …/User/globalStorage/emptyWindowChatSessions/x.json
        let hash_dir = dir.and_then(Path::parent);
        let user = if in_workspace {
            hash_dir.and_then(Path::parent).and_then(Path::parent)
        } else {
            hash_dir.and_then(Path::parent)
        };
        let cwd = match hash_dir.filter(|_| in_workspace).and_then(workspace_folder) {
            Some(folder) => folder.to_string_lossy().into_owned(),
            // No folder open (or a remote one): unattributed.
            None => String::new(),
        };
        Context {
            cwd,
            user: user.map(Path::to_path_buf),
        }
    }

    /// The end times of the session's `chat` spans, sorted (empty without a span database).
    fn covered_times(&self, session_id: &str) -> Vec<i64> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let db = user
            .join("globalStorage")
            .join("github.copilot-chat")
            .join(traces::DB_NAME);
        if !db.exists() {
            return Vec::new();
        }
        traces::session_span_ends(&db, session_id).unwrap_or_default()
    }
}

/// Replays a mutation log into the session it describes. Lines that are not JSON objects
/// with a known `kind` are counted as malformed and skipped; a final line without a newline
/// is still being written and is left out.
fn replay(reader: &mut impl io::BufRead, stats: &mut ReadStats) -> Option<ChatSession> {
    let mut state = Value::Null;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).ok()?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Ok(mut record) = serde_json::from_slice::<Value>(&line) else {
            stats.malformed += 1;
            continue;
        };
        let path: Vec<Value> = match record.get("k") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(keys)) => keys.clone(),
            Some(_) => {
                stats.malformed += 1;
                continue;
            }
        };
        let kind = record.get("kind").and_then(Value::as_u64);
        if matches!(kind, Some(1 | 2)) && !read_at(&path) {
            // Content the session is not read for (responses, rendering state): not kept.
            continue;
        }
        let mut value = record.get_mut("v").map(Value::take).unwrap_or(Value::Null);
        keep_read_fields(&mut value, if kind == Some(0) { &[] } else { &path });
        let applied = match kind {
            Some(0) => {
                state = value;
                true
            }
            Some(1) => set_at(&mut state, &path, value, false),
            Some(2) => set_at(&mut state, &path, value, true),
            _ => false,
        };
        if !applied {
            stats.malformed += 1;
        }
    }
    serde_json::from_value(state).ok()
}

/// The fields of a request the session is read for.
const REQUEST_FIELDS: [&str; 6] = [
    "requestId",
    "timestamp",
    "modelId",
    "selectedModel",
    "isCanceled",
    "result",
];

/// True when a mutation at `path` can change what a session is read for: its id, and the
/// read fields of its requests.
fn read_at(path: &[Value]) -> bool {
    match path {
        [] => true,
        [Value::String(key), rest @ ..] if key == "sessionId" => rest.is_empty(),
        [Value::String(key), ..] if key != "requests" => false,
        [_, _, Value::String(field), ..] => REQUEST_FIELDS.contains(&field.as_str()),
        _ => true,
    }
}

/// Drops from a mutation's value what the session is not read for, so that a replayed log
/// holds only request metadata, not every response.
fn keep_read_fields(value: &mut Value, path: &[Value]) {
    fn metadata(value: &mut Value) {
        if let Value::Object(map) = value {
            map.retain(|key, _| key == "promptTokens" || key == "outputTokens");
        }
    }
    fn result(value: &mut Value) {
        if let Value::Object(map) = value {
            map.retain(|key, _| key == "details" || key == "metadata");
            map.get_mut("metadata").map(metadata);
        }
    }
    fn request(value: &mut Value) {
        if let Value::Object(map) = value {
            map.retain(|key, _| REQUEST_FIELDS.contains(&key.as_str()));
            map.get_mut("result").map(result);
        }
    }
    let field = |i: usize| path.get(i).and_then(Value::as_str);
    match path.len() {
        0 => {
            if let Value::Object(map) = value {
                map.retain(|key, _| key == "sessionId" || key == "requests");
                if let Some(Value::Array(requests)) = map.get_mut("requests") {
                    requests.iter_mut().for_each(request);
                }
            }
        }
        1 => match value {
            Value::Array(requests) => requests.iter_mut().for_each(request),
            one => request(one),
        },
        2 => request(value),
        3 if field(2) == Some("result") => result(value),
        4 if field(2) == Some("result") && field(3) == Some("metadata") => metadata(value),
        _ => {}
    }
}

/// Sets (or, with `append`, appends to the array at) the value at `path`, creating objects
/// on the way. False when the path cannot be followed (an index past an array's end, a key
/// into a scalar).
fn set_at(state: &mut Value, path: &[Value], value: Value, append: bool) -> bool {
    let mut at = state;
    for key in path {
        at = match (at, key) {
            (Value::Object(map), Value::String(k)) => map.entry(k.clone()).or_insert(Value::Null),
            (Value::Array(items), Value::Number(n)) => {
                let Some(i) = n.as_u64().map(|i| i as usize) else {
                    return false;
                };
                if i == items.len() {
                    items.push(Value::Null);
                }
                match items.get_mut(i) {
                    Some(item) => item,
                    None => return false,
                }
            }
            (slot @ Value::Null, Value::String(k)) => {
                *slot = Value::Object(serde_json::Map::new());
                let Value::Object(map) = slot else {
                    unreachable!("just made an object")
                };
                map.entry(k.clone()).or_insert(Value::Null)
            }
            _ => return false,
        };
    }
    if !append {
        *at = value;
        return true;
    }
    if at.is_null() {
        *at = Value::Array(Vec::new());
    }
    let Value::Array(items) = at else {
        return false;
    };
    match value {
        Value::Array(more) => items.extend(more),
        one => items.push(one),
    }
    true
}

/// The session ids with a session file in each workspace of a `User` directory, with the
/// workspace's folder (spans name only their session).
pub fn session_folders(user: &Path) -> Vec<(String, Option<PathBuf>)> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for (hash_dir, folder) in workspaces(user, &mut Vec::new()) {
        let Ok(entries) = std::fs::read_dir(hash_dir.join("chatSessions")) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            if let Some(id) = stem(&entry.path())
                && seen.insert(id.clone())
            {
                found.push((id, folder.clone()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_are_percent_decoded() {
        assert_eq!(
            file_uri_path("file:///home/dev/my%20repo/caf%C3%A9"),
            Some(PathBuf::from("/home/dev/my repo/café"))
        );
        assert_eq!(
            file_uri_path("file://localhost/srv/x"),
            Some(PathBuf::from("/srv/x"))
        );
        assert_eq!(file_uri_path("vscode-remote://ssh-remote+box/home/x"), None);
        assert_eq!(file_uri_path("file://otherhost/x"), None);
        assert_eq!(
            file_uri_path("file:///bad%zz"),
            Some(PathBuf::from("/bad%zz"))
        );
    }

    #[test]
    fn a_mutation_log_is_replayed_set_and_append() {
        let log = concat!(
            r#"{"kind":0,"k":[],"v":{"sessionId":"s1","requests":[]}}"#,
            "\n",
            r#"{"kind":2,"k":["requests"],"v":[{"requestId":"r1","timestamp":1}]}"#,
            "\n",
            r#"{"kind":1,"k":["requests",0,"result"],"v":{"details":"GPT-5 • 1x"}}"#,
            "\n",
            r#"{"kind":2,"k":["requests"],"v":{"requestId":"r2"}}"#,
            "\n",
            r#"{"kind":9,"k":[],"v":1}"#,
            "\n",
            r#"{"kind":1,"k":["requests",7],"v":1}"#,
            "\n",
            "not json\n",
            r#"{"kind":1,"k":["requests",1,"result"],"v":{}"#,
        );
        let mut stats = ReadStats::default();
        let session = replay(&mut log.as_bytes(), &mut stats).unwrap();
        assert_eq!(
            session.session_id.as_ref().and_then(Value::as_str),
            Some("s1")
        );
        assert_eq!(session.requests.len(), 2);
        assert!(session.requests[0].object().unwrap().result.is_some());
        // The unfinished last line is left out.
        assert!(session.requests[1].object().unwrap().result.is_none());
        assert_eq!(stats.malformed, 3);
    }
}
