//! The tally journal: one JSON object per line, only ever appended to (and compacted by
//! atomic rename). A torn last line from a killed process is ignored and fenced off by the
//! next append; a corrupt line in the middle is skipped and counted, never fatal.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use agent_cost_events::{Agent, TokenCounts};
use serde::{Deserialize, Serialize};

use crate::error::{IoResultExt, LedgerError};

/// Spend charged to a tally: one event, or the growth of an event already charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Position in the tally; drains settle every charge up to a position.
    pub seq: u64,
    /// The event's stable id.
    pub event: String,
    /// The agent that made the request.
    pub agent: Agent,
    /// The agent session.
    pub session: String,
    /// The model as logged.
    pub model: String,
    /// When the request happened (RFC 3339 text from the log).
    pub ts: String,
    /// The tokens this charge adds.
    pub tokens: TokenCounts,
    /// 1 for the first charge of an event, 0 for a top-up of one already charged.
    pub requests: u64,
    /// The git branch the agent saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A premium speed mode, if used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<String>,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// Written first by a compaction: what earlier, removed lines had established.
    Base {
        /// Every charge up to this position is settled.
        settled_upto: u64,
        /// The next position to allocate.
        next_seq: u64,
    },
    /// Spend added to the tally.
    Charge(Charge),
    /// A hook wrote a drain of every charge up to `upto` into a commit message.
    Propose {
        /// The drain's `AI-Cost-Id`.
        drain: String,
        /// The last charge position it covers.
        upto: u64,
        /// When it was proposed.
        at: String,
    },
    /// The commit carrying a drain exists: its charges are no longer pending.
    Settle {
        /// The drain's `AI-Cost-Id`.
        drain: String,
        /// The last charge position it covers.
        upto: u64,
        /// The commit, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
}

/// Every record of a journal that could be read, and how many lines could not.
#[derive(Debug, Default)]
pub struct JournalContents {
    /// Records in file order.
    pub records: Vec<Record>,
    /// Lines that were not valid records (skipped).
    pub corrupt_lines: u64,
}

/// Reads a journal; a missing file is an empty journal.
pub fn read(path: &Path) -> Result<JournalContents, LedgerError> {
    read_from(path, 0).map(|(contents, _)| contents)
}

/// Reads the complete lines of a journal from byte `offset` on; returns them and the offset
/// just after the last complete line.
pub fn read_from(path: &Path, offset: u64) -> Result<(JournalContents, u64), LedgerError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((JournalContents::default(), 0));
        }
        Err(e) => return Err(e).at(path),
    };
    if offset > 0 {
        file.seek(SeekFrom::Start(offset)).at(path)?;
    }
    let mut end = offset;
    let mut contents = JournalContents::default();
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).at(path)? == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            break;
        }
        end += line.len() as u64;
        let text = &line[..line.len() - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_record(text) {
            Ok(record) => contents.records.push(record),
            Err(_) => contents.corrupt_lines += 1,
        }
    }
    Ok((contents, end))
}

/// Reads only the records about drains (`base`, `propose`, `settle`), skipping charge lines
/// by their first bytes without parsing them.
pub fn read_drains(path: &Path) -> Result<JournalContents, LedgerError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalContents::default()),
        Err(e) => return Err(e).at(path),
    };
    let mut contents = JournalContents::default();
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for line in bytes[..complete].split(|b| *b == b'\n') {
        if line.starts_with(b"{\"charge\"") || line.is_empty() {
            continue;
        }
        match parse_record(line) {
            Ok(record) => contents.records.push(record),
            Err(_) => contents.corrupt_lines += 1,
        }
    }
    Ok(contents)
}

/// Parses one journal line. The line is checked as UTF-8 once, which is much cheaper than
/// serde_json checking each string in it.
fn parse_record(line: &[u8]) -> Result<Record, ()> {
    let text = std::str::from_utf8(line).map_err(|_| ())?;
    serde_json::from_str(text).map_err(|_| ())
}

/// Appends records in one write, first fencing off a torn last line if there is one.
pub fn append(path: &Path, records: &[Record]) -> Result<(), LedgerError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .at(path)?;
    let mut buffer = Vec::with_capacity(records.len() * 256);
    let len = file.metadata().at(path)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).at(path)?;
        file.read_exact(&mut last).at(path)?;
        if last[0] != b'\n' {
            buffer.push(b'\n');
        }
    }
    encode(path, records, &mut buffer)?;
    file.write_all(&buffer).at(path)
}

/// Writes `records` as JSON lines into `buffer`.
fn encode(path: &Path, records: &[Record], buffer: &mut Vec<u8>) -> Result<(), LedgerError> {
    for record in records {
        serde_json::to_writer(&mut *buffer, record).map_err(|e| LedgerError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        buffer.push(b'\n');
    }
    Ok(())
}

/// Replaces a journal with `records`, atomically (write aside, then rename).
pub fn rewrite(path: &Path, records: &[Record]) -> Result<(), LedgerError> {
    let aside = path.with_extension("rewrite");
    let mut buffer = Vec::with_capacity(records.len() * 256);
    encode(path, records, &mut buffer)?;
    std::fs::write(&aside, &buffer).at(&aside)?;
    std::fs::rename(&aside, path).at(path)
}
