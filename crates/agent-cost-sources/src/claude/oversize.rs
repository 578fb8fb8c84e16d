//! Usage from a transcript line too long to hold, read from its first and last bytes.
//!
//! Claude Code writes an assistant line's keys in a fixed order: `type`, `cwd`, `sessionId`,
//! `gitBranch`, `isSidechain` and `message.id`, `message.model` come before
//! `message.content`, and `message.usage`, `requestId`, `uuid`, `timestamp` after it. A line
//! is huge because its content is, so its head window holds the first group and its tail
//! window the second. Both windows are walked as JSON, tracking nesting exactly: the head from
//! the line's start; the tail from a state found by walking it backwards from the line's end
//! (a line ends its top-level object, and quotes can be told apart from escaped ones going
//! backwards too). A container opened before the tail window has no known key; where the head
//! and the tail are both inside the same chain of objects (`message` for an assistant line),
//! the head's key is assumed for it.
//!
//! The fields found are put back together as a small line and handed to [`parse_line`], so an
//! oversize line means exactly what the same line would mean whole. Only `assistant` lines
//! and `progress` lines (a subagent's request embedded as `data.message`) carry usage; a line
//! of another type is a line without usage. When the usage, the message id or the model
//! cannot be found, the line is malformed: reported, never silently dropped.

use serde_json::{Map, Value};

use super::{LineOutcome, parse_line};

/// The fields a usage line is rebuilt from, as paths of keys from the top level.
const FIELDS: &[&[&str]] = &[
    &["type"],
    &["cwd"],
    &["sessionId"],
    &["gitBranch"],
    &["isSidechain"],
    &["requestId"],
    &["uuid"],
    &["timestamp"],
    &["message", "id"],
    &["message", "model"],
    &["message", "usage"],
    &["data", "type"],
    &["data", "message", "requestId"],
    &["data", "message", "uuid"],
    &["data", "message", "timestamp"],
    &["data", "message", "message", "id"],
    &["data", "message", "message", "model"],
    &["data", "message", "message", "usage"],
];

/// The deepest path in [`FIELDS`].
const MAX_DEPTH: usize = 4;

/// Interprets an oversize transcript line from its first and last bytes.
pub(super) fn parse(head: &[u8], tail: &[u8], subagent_file: bool) -> LineOutcome {
    let mut found = Found::default();
    let head_stack = walk(head, Vec::new(), false, &mut found);
    let Some((in_string, kinds, from)) = open_at_start(tail) else {
        return LineOutcome::Malformed;
    };
    let frames = kinds
        .iter()
        .enumerate()
        .map(|(depth, &kind)| {
            // The head's key for a container opened before the tail window, when both
            // windows lie in the same chain of objects down to it.
            let same_chain = depth > 0
                && head_stack.len() > depth
                && (0..=depth)
                    .all(|d| kinds[d] == Kind::Object && head_stack[d].kind == Kind::Object);
            Frame {
                kind,
                key: same_chain.then(|| head_stack[depth].key.clone()).flatten(),
                start: None,
                member: None,
                expect_key: false,
            }
        })
        .collect();
    walk(&tail[from..], frames, in_string, &mut found);

    let text = |path: &[&str]| found.get(path).and_then(Value::as_str).map(str::to_owned);
    let base: &[&str] = match text(&["type"]).as_deref() {
        None => return LineOutcome::Malformed,
        Some("assistant") => &["message"],
        Some("progress") => {
            if text(&["data", "type"]).is_some_and(|kind| kind != "agent_progress") {
                return LineOutcome::NoUsage;
            }
            &["data", "message", "message"]
        }
        Some(_) => return LineOutcome::NoUsage,
    };
    let complete = ["usage", "id", "model"].iter().all(|key| {
        let mut path = base.to_vec();
        path.push(key);
        found.get(&path).is_some()
    });
    if !complete {
        return LineOutcome::Malformed;
    }
    let line = serde_json::to_vec(&found.rebuild()).expect("a JSON value serializes");
    parse_line(&line, subagent_file)
}

/// The values of [`FIELDS`] found so far (the first found of each).
#[derive(Default)]
struct Found {
    values: Vec<Option<Value>>,
}

impl Found {
    fn index(path: &[&str]) -> Option<usize> {
        FIELDS.iter().position(|field| *field == path)
    }

    fn get(&self, path: &[&str]) -> Option<&Value> {
        self.values.get(Self::index(path)?)?.as_ref()
    }

    /// Records `value` for the member `member` of the innermost container of `stack`.
    fn record(&mut self, stack: &[Frame], member: &str, value: &[u8]) {
        if stack.is_empty() || stack.len() > MAX_DEPTH {
            return;
        }
        let mut path = Vec::with_capacity(stack.len());
        for frame in &stack[1..] {
            match &frame.key {
                Some(key) => path.push(key.as_str()),
                None => return,
            }
        }
        path.push(member);
        let Some(index) = Self::index(&path) else {
            return;
        };
        self.values.resize(FIELDS.len(), None);
        if self.values[index].is_none() {
            self.values[index] = serde_json::from_slice(value).ok();
        }
    }

    /// The fields found, as one JSON object.
    fn rebuild(&self) -> Value {
        let mut root = Map::new();
        for (field, value) in FIELDS.iter().zip(&self.values) {
            let Some(value) = value else {
                continue;
            };
            let (last, parents) = field.split_last().expect("no empty path");
            let mut object = &mut root;
            for key in parents {
                let entry = object
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                object = entry.as_object_mut().expect("parents are objects");
            }
            object.insert(last.to_string(), value.clone());
        }
        Value::Object(root)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
}

/// An open container.
#[derive(Debug)]
struct Frame {
    kind: Kind,
    /// The key it is the value of in its parent object (`None`: unknown, or in an array).
    key: Option<String>,
    /// Where it opened in the window (`None`: before the window).
    start: Option<usize>,
    /// The key of the member being read, in an object (`None`: unknown).
    member: Option<String>,
    /// True in an object where the next string is a key.
    expect_key: bool,
}

/// The index of the quote ending the string whose contents start at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &bytes[from.min(bytes.len())..])?;
        if bytes[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

/// Walks `bytes` as JSON from the given state (open containers, and whether it starts inside
/// a string), recording the members of [`FIELDS`] complete in it. Stops at the end, or where
/// the window cuts a string or the structure makes no sense. Returns the containers open there.
fn walk(bytes: &[u8], mut stack: Vec<Frame>, in_string: bool, found: &mut Found) -> Vec<Frame> {
    let mut at = 0;
    if in_string {
        match string_end(bytes, 0) {
            Some(end) => at = end + 1,
            None => return stack,
        }
    }
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\n' | b'\r' | b':' => at += 1,
            b'"' => {
                let Some(end) = string_end(bytes, at + 1) else {
                    return stack;
                };
                let depth = stack.len();
                match stack.last_mut() {
                    Some(frame) if frame.kind == Kind::Object && frame.expect_key => {
                        frame.member = (depth <= MAX_DEPTH)
                            .then(|| serde_json::from_slice::<String>(&bytes[at..=end]).ok())
                            .flatten();
                        frame.expect_key = false;
                    }
                    _ => record(&stack, &bytes[at..=end], found),
                }
                at = end + 1;
            }
            b',' => {
                if let Some(frame) = stack.last_mut()
                    && frame.kind == Kind::Object
                {
                    frame.expect_key = true;
                    frame.member = None;
                }
                at += 1;
            }
            open @ (b'{' | b'[') => {
                let kind = if open == b'{' {
                    Kind::Object
                } else {
                    Kind::Array
                };
                let key = stack
                    .last()
                    .filter(|parent| parent.kind == Kind::Object)
                    .and_then(|parent| parent.member.clone());
                stack.push(Frame {
                    kind,
                    key,
                    start: Some(at),
                    member: None,
                    expect_key: kind == Kind::Object,
                });
                at += 1;
            }
            close @ (b'}' | b']') => {
                let kind = if close == b'}' {
                    Kind::Object
                } else {
                    Kind::Array
                };
                match stack.pop() {
                    Some(frame) if frame.kind == kind => {
                        if let Some(start) = frame.start {
                            record(&stack, &bytes[start..=at], found);
                        }
                    }
                    _ => return Vec::new(),
                }
                at += 1;
            }
            _ => {
                // A number or a literal.
                let end = bytes[at..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .map_or(bytes.len(), |n| at + n);
                if end == bytes.len() {
                    return stack;
                }
                record(&stack, &bytes[at..end], found);
                at = end;
            }
        }
    }
    stack
}

/// Records a value found in the innermost container of `stack`, if it is a member there.
fn record(stack: &[Frame], value: &[u8], found: &mut Found) {
    if let Some(Frame {
        kind: Kind::Object,
        member: Some(member),
        ..
    }) = stack.last()
    {
        found.record(stack, member, value);
    }
}

/// Walks a tail window backwards from the line's end: whether its first byte is inside a
/// string, and the containers open there (outermost first), or where the line's top-level
/// object starts when the window holds all of it. `None` when the window does not end a JSON
/// object.
fn open_at_start(tail: &[u8]) -> Option<(bool, Vec<Kind>, usize)> {
    let trimmed = tail.trim_ascii_end();
    if trimmed.last() != Some(&b'}') {
        return None;
    }
    // Containers are met closing, outermost first.
    let mut stack = Vec::new();
    let mut in_string = false;
    for at in (0..trimmed.len()).rev() {
        let byte = trimmed[at];
        if in_string {
            if byte == b'"' {
                match escaped(trimmed, at) {
                    Some(true) => {}
                    Some(false) => in_string = false,
                    // Its backslashes run to the window's start: whether it ends the string
                    // is unknown, so the window is taken to start just after it.
                    None => {
                        return Some((true, stack, at + 1));
                    }
                }
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'}' => stack.push(Kind::Object),
            b']' => stack.push(Kind::Array),
            open @ (b'{' | b'[') => {
                let kind = if open == b'{' {
                    Kind::Object
                } else {
                    Kind::Array
                };
                let closed = stack.pop();
                if closed != Some(kind) {
                    return None;
                }
            }
            _ => {}
        }
        if stack.is_empty() {
            return Some((false, Vec::new(), at));
        }
    }
    Some((in_string, stack, 0))
}

/// Whether the quote at `at` is escaped (preceded by an odd number of backslashes); `None`
/// when the backslashes before it run to the start of `bytes`.
fn escaped(bytes: &[u8], at: usize) -> Option<bool> {
    let run = bytes[..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    (run < at).then_some(run % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_cost_events::TokenCounts;

    const HEAD: &str = r#"{"parentUuid":"p","isSidechain":false,"userType":"external","cwd":"/home/dev/alpha","sessionId":"s1","version":"2.0.14","gitBranch":"main","type":"assistant","message":{"id":"msg_big","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","id":"t1","name":"Write","input":{"usage":{"input_tokens":999999},"content":""#;
    const TAIL: &str = r#"\" end"}}],"stop_reason":"tool_use","usage":{"input_tokens":7,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":5000}},"requestId":"req_big","uuid":"u-big","timestamp":"2025-10-10T09:05:00.000Z"}"#;

    /// The windows of a line whose middle is `filler`.
    fn windows(filler: &str, window: usize) -> (String, String) {
        let line = format!("{HEAD}{filler}{TAIL}");
        let head = line[..window].to_owned();
        let tail = line[line.len() - window..].to_owned();
        (head, tail)
    }

    #[test]
    fn usage_comes_from_the_tail_and_ids_from_the_head() {
        let (head, tail) = windows(&"x\\\"y".repeat(1000), 1000);
        let LineOutcome::Usage(event) = parse(head.as_bytes(), tail.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "msg_big");
        assert_eq!(event.variant, "req_big");
        assert_eq!(event.cwd, "/home/dev/alpha");
        assert_eq!(event.git_branch.as_deref(), Some("main"));
        assert_eq!(event.session_id, "s1");
        assert_eq!(event.model, "claude-sonnet-4-5-20250929");
        assert_eq!(event.timestamp, "2025-10-10T09:05:00.000Z");
        assert_eq!(
            event.tokens,
            TokenCounts {
                input: 7,
                output: 5000,
                cache_write_5m: 100,
                cache_write_1h: 0,
                cache_read: 2000
            }
        );
    }

    #[test]
    fn a_tail_window_starting_inside_a_string_is_followed_exactly() {
        // Whatever byte the tail window starts at, the same usage is found.
        let line = format!("{HEAD}{}{TAIL}", "ab\\\\\\\"c{[".repeat(50));
        for window in TAIL.len()..TAIL.len() + 100 {
            let head = HEAD.as_bytes();
            let tail = &line.as_bytes()[line.len() - window..];
            let LineOutcome::Usage(event) = parse(head, tail, false) else {
                panic!("no usage with a {window}-byte window");
            };
            assert_eq!(event.tokens.output, 5000, "window {window}");
        }
    }

    #[test]
    fn other_lines_and_missing_fields() {
        // A user line whose tool result reports a subagent's usage costs nothing itself.
        let user = HEAD.replace(r#""type":"assistant""#, r#""type":"user""#);
        let tail =
            r#"x"}]},"uuid":"u2","toolUseResult":{"usage":{"input_tokens":5,"output_tokens":6}}}"#;
        assert_eq!(
            parse(user.as_bytes(), tail.as_bytes(), false),
            LineOutcome::NoUsage
        );
        // Without the message id (cut off by the head window) the line is malformed.
        let head = &HEAD[..HEAD.find(r#""id":"msg_big""#).unwrap()];
        assert_eq!(
            parse(head.as_bytes(), TAIL.as_bytes(), false),
            LineOutcome::Malformed
        );
        // A tail that does not end an object is malformed.
        assert_eq!(
            parse(HEAD.as_bytes(), b"\"usage\": [", false),
            LineOutcome::Malformed
        );
        assert_eq!(parse(&[0; 100], &[0; 100], false), LineOutcome::Malformed);
    }

    #[test]
    fn embedded_subagent_requests_are_sidechain_copies() {
        let head = r#"{"isSidechain":false,"cwd":"/home/dev/alpha","sessionId":"s1","gitBranch":"main","type":"progress","data":{"type":"agent_progress","message":{"type":"assistant","message":{"id":"msg_9","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"aaaa"#;
        let tail = r#"aaaa"}],"usage":{"input_tokens":3,"output_tokens":30}},"requestId":"req_9","uuid":"u9","timestamp":"2025-10-10T09:01:59.000Z"}},"uuid":"u10","timestamp":"2025-10-10T09:02:00.000Z"}"#;
        let LineOutcome::Usage(event) = parse(head.as_bytes(), tail.as_bytes(), false) else {
            panic!("no usage");
        };
        assert_eq!(event.event_id, "msg_9");
        assert_eq!(event.variant, "req_9");
        assert!(event.sidechain);
        assert_eq!(event.timestamp, "2025-10-10T09:01:59.000Z");
        assert_eq!(event.tokens.output, 30);
    }
}
