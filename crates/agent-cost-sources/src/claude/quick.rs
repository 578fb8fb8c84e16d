//! A quick reading of a transcript line into the same [`Line`] serde_json would make of it.
//!
//! serde_json spends most of a usage line's time in the parts that are skipped (the message's
//! content) and in building strings for keys. This walk goes through the line once, as JSON,
//! checking it as strictly as serde_json does (string escapes, numbers, literals, commas,
//! nothing after the top-level object), skipping strings with `memchr`, and fills in only the
//! fields [`Line`] has.
//!
//! It answers only when it is sure to agree with serde_json: anything unusual (a control byte
//! anywhere, an escape in a key of a known object, a repeated known key, a value of another
//! type than expected, a number that is not a plain `u64`, deep nesting, invalid JSON) makes it
//! return `None`, and the line is then read by serde_json, which decides what it means
//! (including that it is malformed). A test compares both on many damaged lines.

use std::borrow::Cow;

use super::{CacheCreation, EmbeddedLine, Line, Message, Progress, Usage};

/// Deeper lines are left to serde_json (its own limit is 128).
const MAX_DEPTH: usize = 64;

/// Reads `line` as serde_json would read it into a [`Line`], or `None` when not sure.
pub(super) fn parse(line: &str) -> Option<Line> {
    let bytes = line.as_bytes();
    if has_control_byte(bytes) {
        return None;
    }
    let mut walk = Walk {
        s: bytes,
        text: line,
        i: 0,
    };
    walk.ws();
    let parsed = walk.line()?;
    walk.ws();
    (walk.i == bytes.len()).then_some(parsed)
}

/// True when a byte below 0x20 occurs (tabs and carriage returns included): such lines are
/// rare and left to serde_json, so strings need no check of their own.
fn has_control_byte(bytes: &[u8]) -> bool {
    // A byte below 0x20 (and below 0x80) borrows through its high bit when 0x20 is taken
    // from it; the fold has no early exit, so it compiles to vector code.
    let mut words = bytes.chunks_exact(8);
    let below = (&mut words).fold(0u64, |found, word| {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        found | (word.wrapping_sub(LOW_BITS * 0x20) & !word & HIGH_BITS)
    });
    below != 0 || words.remainder().iter().any(|&b| b < 0x20)
}

struct Walk<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

/// The first `"` or `\\` at or after `from`: the first bytes (all of a key or an id) eight at a
/// time in a word, longer strings with `memchr`.
fn quote_or_backslash(s: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for _ in 0..4 {
        let Some(word) = s.get(at..at + 8) else {
            break;
        };
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let found = zero_bytes(word ^ (LOW_BITS * u64::from(b'"')))
            | zero_bytes(word ^ (LOW_BITS * u64::from(b'\\')));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', &s[at..]).map(|found| at + found)
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `word` set (and possibly of bytes above the first zero
/// one, which is why only the lowest set bit is used).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
}

impl<'a> Walk<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.peek()? == byte).then(|| self.i += 1)
    }

    fn literal(&mut self, text: &[u8]) -> Option<()> {
        let end = self.i.checked_add(text.len())?;
        (self.s.get(self.i..end)? == text).then(|| self.i = end)
    }

    /// A string starting at the current `"`: its raw bytes between the quotes, and whether
    /// they hold an escape. Escapes are checked as serde_json checks them in skipped strings.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let start = self.i + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            at = quote_or_backslash(self.s, at)?;
            if self.s[at] == b'"' {
                self.i = at + 1;
                return Some((&self.s[start..at], escaped));
            }
            escaped = true;
            match *self.s.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                b'u' => {
                    let hex = self.s.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// Any value, checked and skipped.
    fn skip(&mut self, depth: usize) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    self.string()?;
                    self.eat(b':')?;
                    self.skip(depth + 1)?;
                    if !self.next_member(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.next_member(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// After a member: true when a `,` says another follows, false at the closing bracket.
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            b if b == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// The members of an object at the current `{` known as a struct: `field(walk, key,
    /// depth)` reads the value of each key it knows and returns that key's bit (0 for a key
    /// it does not know, whose value is then skipped). A known key seen twice is left to
    /// serde_json, which rejects it.
    fn object(
        &mut self,
        depth: usize,
        mut field: impl FnMut(&mut Self, &[u8], usize) -> Option<u32>,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.peek()? != b'{' {
            return None;
        }
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        let mut seen = 0u32;
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            match field(self, key, depth + 1)? {
                0 => self.skip(depth + 1)?,
                bit if seen & bit != 0 => return None,
                bit => seen |= bit,
            }
            if !self.next_member(b'}')? {
                return Some(());
            }
        }
    }

    /// `Option<String>`: a string or `null`.
    fn text(&mut self) -> Option<Option<String>> {
        self.ws();
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => {
                let start = self.i;
                let (raw, escaped) = self.string()?;
                // The line is UTF-8, and quotes are characters of their own.
                let text = match escaped {
                    false => Cow::Borrowed(self.text.get(start + 1..start + 1 + raw.len())?),
                    true => {
                        Cow::Owned(serde_json::from_slice::<String>(&self.s[start..self.i]).ok()?)
                    }
                };
                Some(Some(text.into_owned()))
            }
            _ => None,
        }
    }

    fn boolean(&mut self) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    /// A `u64` written as plain digits.
    fn count(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        self.digits();
        let digits = &self.s[start..self.i];
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        digits.iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    /// `Option<T>` of a struct: `null` or an object read by `read`.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.ws();
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'{' => read(self).map(Some),
            _ => None,
        }
    }

    fn line(&mut self) -> Option<Line> {
        let mut line = Line {
            cwd: None,
            session_id: None,
            git_branch: None,
            is_sidechain: false,
            request_id: None,
            uuid: None,
            timestamp: None,
            message: None,
            data: None,
        };
        self.object(0, |w, key, depth| {
            let bit = match key {
                b"cwd" => {
                    line.cwd = w.text()?;
                    1 << 0
                }
                b"sessionId" => {
                    line.session_id = w.text()?;
                    1 << 1
                }
                b"gitBranch" => {
                    line.git_branch = w.text()?;
                    1 << 2
                }
                b"isSidechain" => {
                    line.is_sidechain = w.boolean()?;
                    1 << 3
                }
                b"requestId" => {
                    line.request_id = w.text()?;
                    1 << 4
                }
                b"uuid" => {
                    line.uuid = w.text()?;
                    1 << 5
                }
                b"timestamp" => {
                    line.timestamp = w.text()?;
                    1 << 6
                }
                b"message" => {
                    line.message = w.nullable(|w| w.message(depth))?;
                    1 << 7
                }
                b"data" => {
                    line.data = w.nullable(|w| w.progress(depth))?;
                    1 << 8
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(line)
    }

    fn message(&mut self, depth: usize) -> Option<Message> {
        let mut message = Message {
            id: None,
            model: None,
            usage: None,
        };
        self.object(depth, |w, key, depth| {
            let bit = match key {
                b"id" => {
                    message.id = w.text()?;
                    1 << 0
                }
                b"model" => {
                    message.model = w.text()?;
                    1 << 1
                }
                b"usage" => {
                    message.usage = w.nullable(|w| w.usage(depth))?;
                    1 << 2
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(message)
    }

    fn usage(&mut self, depth: usize) -> Option<Usage> {
        let mut usage = Usage {
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            cache_creation: None,
            speed: None,
        };
        self.object(depth, |w, key, depth| {
            let bit = match key {
                b"input_tokens" => {
                    usage.input_tokens = w.count()?;
                    1 << 0
                }
                b"output_tokens" => {
                    usage.output_tokens = w.count()?;
                    1 << 1
                }
                b"cache_creation_input_tokens" => {
                    usage.cache_creation_input_tokens = w.count()?;
                    1 << 2
                }
                b"cache_read_input_tokens" => {
                    usage.cache_read_input_tokens = w.count()?;
                    1 << 3
                }
                b"cache_creation" => {
                    usage.cache_creation = w.nullable(|w| w.cache_creation(depth))?;
                    1 << 4
                }
                b"speed" => {
                    usage.speed = w.text()?;
                    1 << 5
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(usage)
    }

    fn cache_creation(&mut self, depth: usize) -> Option<CacheCreation> {
        let mut cache = CacheCreation {
            ephemeral_5m_input_tokens: 0,
            ephemeral_1h_input_tokens: 0,
        };
        self.object(depth, |w, key, _| {
            let bit = match key {
                b"ephemeral_5m_input_tokens" => {
                    cache.ephemeral_5m_input_tokens = w.count()?;
                    1 << 0
                }
                b"ephemeral_1h_input_tokens" => {
                    cache.ephemeral_1h_input_tokens = w.count()?;
                    1 << 1
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(cache)
    }

    fn progress(&mut self, depth: usize) -> Option<Progress> {
        let mut progress = Progress {
            kind: None,
            message: None,
        };
        self.object(depth, |w, key, depth| {
            let bit = match key {
                b"type" => {
                    progress.kind = w.text()?;
                    1 << 0
                }
                b"message" => {
                    progress.message = w.nullable(|w| w.embedded(depth))?;
                    1 << 1
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(progress)
    }

    fn embedded(&mut self, depth: usize) -> Option<EmbeddedLine> {
        let mut line = EmbeddedLine {
            request_id: None,
            uuid: None,
            timestamp: None,
            message: None,
        };
        self.object(depth, |w, key, depth| {
            let bit = match key {
                b"requestId" => {
                    line.request_id = w.text()?;
                    1 << 0
                }
                b"uuid" => {
                    line.uuid = w.text()?;
                    1 << 1
                }
                b"timestamp" => {
                    line.timestamp = w.text()?;
                    1 << 2
                }
                b"message" => {
                    line.message = w.nullable(|w| w.message(depth))?;
                    1 << 3
                }
                _ => return Some(0),
            };
            Some(bit)
        })?;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quotes_backslashes_and_control_bytes_anywhere() {
        for len in 0..90 {
            for at in 0..len {
                for (byte, quote) in [(b'"', true), (b'\\', true), (0x1f, false), (b'\t', false)] {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    if at + 1 < len {
                        text[at + 1] = b'"';
                    }
                    if quote {
                        assert_eq!(quote_or_backslash(&text, 0), Some(at), "{len} {at}");
                        assert!(!has_control_byte(&text));
                    } else {
                        assert!(has_control_byte(&text), "{len} {at}");
                    }
                }
            }
            let mut text = vec![b'x'; len];
            text.extend_from_slice("é\u{7f}".as_bytes());
            assert!(!has_control_byte(&text));
            assert_eq!(quote_or_backslash(&text, 0), None);
        }
    }
}
