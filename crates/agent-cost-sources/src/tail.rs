//! Incremental reading of append-only line files.
//!
//! A [`Cursor`] remembers how far a file was consumed, plus a hash of the bytes just before
//! that offset and the file's identity. When the file shrank, was replaced, or changed under the
//! offset (Claude Code rewrites a transcript in place on resume and compaction), reading starts
//! again from the top; callers deduplicate, so a re-read never counts an event twice.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How many bytes before the offset are hashed to detect a rewritten file.
const WINDOW: u64 = 64;

/// How far a file has been consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Bytes consumed: always just after a newline.
    pub offset: u64,
    /// The file's size when every complete line in it had been read (what follows the
    /// offset is then an unfinished line). After a read that stopped early, the offset.
    pub size: u64,
    /// Modification time (nanoseconds since the epoch) when it was last read.
    pub mtime_ns: i128,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
    /// FNV-1a hash of the bytes `offset-64..offset`.
    pub window_hash: u64,
}

/// Where the next read of a file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Nothing new since the cursor: the file need not be opened.
    UpToDate,
    /// New bytes follow the cursor.
    Continue(u64),
    /// The file was rewritten, replaced or truncated: read it again from the top.
    Restart,
    /// No cursor yet.
    Fresh,
}

/// What one read of a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Complete lines handed to the caller.
    pub lines: u64,
    /// Bytes consumed by those lines.
    pub bytes: u64,
    /// True when the file ended in a partial line that was left for the next read.
    pub partial_tail: bool,
    /// True when the caller stopped early (time budget); the cursor covers what was read.
    pub stopped: bool,
}

/// Modification time and identity of a file, as a [`Cursor`] records them.
fn identity(meta: &std::fs::Metadata) -> (i128, u64) {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    (mtime_ns, inode)
}

/// Decides, from metadata alone where possible, where reading `file` should start.
pub fn start_for(
    file: &mut File,
    meta: &std::fs::Metadata,
    cursor: Option<&Cursor>,
) -> io::Result<Start> {
    let Some(cursor) = cursor else {
        return Ok(Start::Fresh);
    };
    let (mtime_ns, inode) = identity(meta);
    if inode != cursor.inode || meta.len() < cursor.offset {
        return Ok(Start::Restart);
    }
    if meta.len() == cursor.size && mtime_ns == cursor.mtime_ns {
        return Ok(Start::UpToDate);
    }
    if window_hash(file, cursor.offset)? != cursor.window_hash {
        return Ok(Start::Restart);
    }
    if meta.len() == cursor.offset {
        return Ok(Start::UpToDate);
    }
    Ok(Start::Continue(cursor.offset))
}

/// Reads the complete lines of `path` after its cursor, calling `on_line(line, end_offset)` for
/// each (without the newline). A final line without a newline is left for the next read.
/// Returns the new cursor, or `None` for the cursor when nothing needed reading.
pub fn read_new_lines(
    path: &Path,
    cursor: Option<&Cursor>,
    mut on_line: impl FnMut(&[u8], u64) -> ControlFlow<()>,
) -> io::Result<(Cursor, ReadOutcome, Start)> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let start = start_for(&mut file, &meta, cursor)?;
    let offset = match start {
        Start::UpToDate => {
            let cursor = cursor.cloned().unwrap_or_default();
            return Ok((cursor, ReadOutcome::default(), start));
        }
        Start::Continue(offset) => offset,
        Start::Restart | Start::Fresh => 0,
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut outcome = ReadOutcome::default();
    let mut position = offset;
    // Lines are handed out as slices of one buffer; only an unfinished line at the end of the
    // buffer is moved, and the buffer grows only for a line longer than itself.
    let remaining = meta.len().saturating_sub(offset) as usize;
    let mut buffer = vec![0u8; (remaining + 1).clamp(4 * 1024, 256 * 1024)];
    let (mut head, mut end) = (0usize, 0usize);
    loop {
        if let Some(newline) = memchr::memchr(b'\n', &buffer[head..end]) {
            let line = &buffer[head..head + newline];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            head += newline + 1;
            position += newline as u64 + 1;
            outcome.lines += 1;
            if on_line(line, position).is_break() {
                outcome.stopped = true;
                break;
            }
            continue;
        }
        if head > 0 {
            buffer.copy_within(head..end, 0);
            end -= head;
            head = 0;
        }
        if end == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = file.read(&mut buffer[end..])?;
        if read == 0 {
            outcome.partial_tail = end > head;
            break;
        }
        end += read;
    }
    outcome.bytes = position - offset;
    let (mtime_ns, inode) = identity(&meta);
    let new_cursor = Cursor {
        offset: position,
        size: if outcome.stopped {
            position
        } else {
            meta.len()
        },
        mtime_ns,
        inode,
        window_hash: window_hash(&mut file, position)?,
    };
    Ok((new_cursor, outcome, start))
}

/// FNV-1a over the (up to) 64 bytes before `offset`.
fn window_hash(file: &mut File, offset: u64) -> io::Result<u64> {
    let from = offset.saturating_sub(WINDOW);
    file.seek(SeekFrom::Start(from))?;
    let mut window = Vec::with_capacity(WINDOW as usize);
    file.take(offset - from).read_to_end(&mut window)?;
    Ok(fnv1a(&window))
}

/// The 64-bit FNV-1a hash: stable across runs and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(path: &Path, cursor: Option<&Cursor>) -> (Vec<String>, Cursor, Start) {
        let mut lines = Vec::new();
        let (cursor, _, start) = read_new_lines(path, cursor, |line, _| {
            lines.push(String::from_utf8_lossy(line).into_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
        (lines, cursor, start)
    }

    #[test]
    fn reads_only_complete_lines_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "one\ntwo\nthr").unwrap();
        let (lines, cursor, start) = collect(&path, None);
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(start, Start::Fresh);
        assert_eq!(cursor.offset, 8);

        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"ee\nfour\n").unwrap();
        let (lines, cursor, start) = collect(&path, Some(&cursor));
        assert_eq!(lines, ["three", "four"]);
        assert_eq!(start, Start::Continue(8));

        let (lines, _, start) = collect(&path, Some(&cursor));
        assert!(lines.is_empty());
        assert_eq!(start, Start::UpToDate);
    }

    #[test]
    fn rewritten_file_restarts_from_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "aaaa\nbbbb\n").unwrap();
        let (_, cursor, _) = collect(&path, None);
        // Same length, different bytes before the offset, then growth.
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(b"AAAA\nBBBB\ncccc\n").unwrap();
        let (lines, _, start) = collect(&path, Some(&cursor));
        assert_eq!(start, Start::Restart);
        assert_eq!(lines, ["AAAA", "BBBB", "cccc"]);
        // A shrunken file restarts too.
        std::fs::write(&path, "x\n").unwrap();
        let (_, cursor2, _) = collect(&path, None);
        std::fs::write(&path, "").unwrap();
        let (lines, _, start) = collect(
            &path,
            Some(&Cursor {
                offset: 100,
                ..cursor2
            }),
        );
        assert_eq!(start, Start::Restart);
        assert!(lines.is_empty());
    }

    #[test]
    fn stopping_early_keeps_the_cursor_after_the_last_line_handled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "1\n2\n3\n").unwrap();
        let (cursor, outcome, _) = read_new_lines(&path, None, |line, _| {
            if line == b"2" {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert!(outcome.stopped);
        assert_eq!(cursor.offset, 4);
        let (lines, _, _) = collect(&path, Some(&cursor));
        assert_eq!(lines, ["3"]);
    }
}
