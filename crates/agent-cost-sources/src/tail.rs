//! Incremental reading of append-only line files, in bounded memory and time.
//!
//! # The cursor
//!
//! A [`Cursor`] remembers how far a file was consumed and what the file looked like then:
//!
//! - `offset`: bytes consumed, always just after a newline (or 0). Every complete line before
//!   it has been handed out.
//! - `size`: how far the file has been examined. Between `offset` and `size` lies the
//!   beginning of one unfinished line: no newline occurs there. After a read that reached the
//!   end of the file this is the file's size; after a read that stopped between lines it is
//!   `offset`.
//! - `mtime_ns`, `ctime_ns`, `inode`: the file's modification time, status-change time (0
//!   when not recorded, as in cursors saved by older versions) and inode when it was read. A
//!   user can set the modification time back, but not the status-change time.
//! - `window_hash`: FNV-1a hash of the (up to) 64 bytes before `offset`.
//! - `pending`: what is known of the unfinished line between `offset` and `size`, so that a
//!   later read scans only the bytes appended since: whether the marker (see
//!   [`ReadOptions::marker`]) occurs in it, and the hash of the 64 bytes before `size`.
//!
//! # Where a read starts
//!
//! Decided from metadata alone where possible ([`Start`]):
//!
//! - another inode, a file shorter than `offset` or than `size`: rewritten, replaced or
//!   truncated, read again from the top ([`Start::Restart`]);
//! - the same size as `size` (not grown): unchanged when the modification and status-change
//!   times are the ones recorded ([`Start::UpToDate`], the file is not even opened); otherwise
//!   it was rewritten in place ([`Start::Restart`]);
//! - grown: an append when the 64 bytes before `offset` still hash to `window_hash`
//!   ([`Start::Continue`]), otherwise a rewrite ([`Start::Restart`]). When the bytes before
//!   `size` also still match `pending`, scanning resumes at `size` instead of at `offset`.
//!
//! Callers deduplicate what they read, so a restart never counts anything twice; it only costs
//! a re-read. A read looks at the file as it was when opened: bytes appended during a read are
//! left for the next one.
//!
//! # Bounded memory and time
//!
//! Lines are handed out as slices of one buffer that grows up to [`ReadOptions::max_line`]
//! (8 MiB by default). A line that does not fit is *oversize*: the reader streams through it
//! without holding it, looking only for its end and for the marker. An oversize line without
//! the marker is skipped (it is counted in [`ReadOutcome::lines`] and
//! [`ReadOutcome::oversize`]); one with the marker is handed out as its first and last
//! [`ReadOptions::window`] bytes (1 MiB each by default), read again from the file once the
//! line's end is known ([`LineBytes::Oversize`]).
//!
//! The deadline is checked after every line and before every read of the file (at most 1 MiB
//! at a time), so a read stays within its budget even inside one huge line. When it passes in the middle of a line
//! the cursor stays at the start of that line, and `size`/`pending` remember how far it was
//! scanned: the next read continues the scan rather than starting the line again, and a line
//! that is still being written costs only its new bytes on each read.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::source::{FileStamp, ReadStats};

/// How many bytes before the offset are hashed to detect a rewritten file.
const WINDOW: u64 = 64;

/// The default cap on a line held in memory.
pub const DEFAULT_MAX_LINE: usize = 8 << 20;

/// The default size of the head and tail windows of an oversize line.
pub const DEFAULT_WINDOW: usize = 1 << 20;

/// The most read at a time: small enough for the deadline to be checked often, and for the
/// bytes to stay in the CPU cache between the read and the scans.
const READ_CHUNK: usize = 1 << 20;

/// How far a file has been consumed (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Bytes consumed: always just after a newline.
    pub offset: u64,
    /// How far the file has been examined: what lies between `offset` and `size` is the start
    /// of one unfinished line (no newline in it).
    pub size: u64,
    /// Modification time (nanoseconds since the epoch) when it was last read.
    pub mtime_ns: i128,
    /// Status-change time (nanoseconds since the epoch) when it was last read; 0 when unknown.
    #[serde(default)]
    pub ctime_ns: i128,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
    /// FNV-1a hash of the bytes `offset-64..offset`.
    pub window_hash: u64,
    /// What is known of the unfinished line `offset..size`, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// What a read learnt about an unfinished line (the bytes `offset..size` of its cursor).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// True when the marker occurs in those bytes.
    pub marker: bool,
    /// FNV-1a hash of the bytes `size-64..size`: the scan is resumed only if they are unchanged.
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

/// How to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The largest buffer a line is held in (bytes, newline included); longer lines are
    /// streamed through as oversize lines.
    pub max_line: usize,
    /// Size of the head and tail windows an oversize line is handed out as (at most half of
    /// `max_line`).
    pub window: usize,
    /// Oversize lines in which these bytes do not occur are skipped rather than handed out
    /// (`None`: every oversize line is handed out).
    pub marker: Option<&'static [u8]>,
    /// Stop when this instant passes (checked after each line and before each read).
    pub deadline: Option<Instant>,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            max_line: DEFAULT_MAX_LINE,
            window: DEFAULT_WINDOW,
            marker: None,
            deadline: None,
        }
    }
}

/// What one read of a file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Complete lines consumed (handed out or, when oversize without the marker, skipped).
    pub lines: u64,
    /// Bytes consumed by those lines.
    pub bytes: u64,
    /// True when the file ended in a partial line that was left for the next read.
    pub partial_tail: bool,
    /// True when reading stopped early (deadline, or the caller asked); the cursor covers
    /// what was handed out.
    pub stopped: bool,
    /// Lines longer than the buffer cap (handed out as windows, or skipped).
    pub oversize: u64,
    /// Bytes actually read from the file (lines, windows and hash checks).
    pub read_bytes: u64,
    /// The largest the line buffer became, in bytes.
    pub max_buffer: usize,
}

/// The bytes of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineBytes<'a> {
    /// The whole line, without its newline (or a final `\r`).
    Whole(&'a [u8]),
    /// A line too long to hold, which contains the marker: only its ends.
    Oversize {
        /// Its first bytes (up to the window size).
        head: &'a [u8],
        /// Its last bytes before the newline (up to the window size, without a final `\r`).
        tail: &'a [u8],
        /// Its full length in bytes, without the newline.
        len: u64,
    },
}

/// One line handed to the caller.
pub struct Line<'a> {
    /// What the line holds.
    pub bytes: LineBytes<'a>,
    /// The offset of its first byte.
    pub start: u64,
    /// The offset just after its newline.
    pub end: u64,
    snapshot: &'a Snapshot,
}

impl Line<'_> {
    /// A cursor covering exactly the lines up to and including this one, to commit a long
    /// read in steps.
    pub fn cursor_after(&self) -> io::Result<Cursor> {
        Ok(Cursor {
            offset: self.end,
            size: self.end,
            mtime_ns: self.snapshot.mtime_ns,
            ctime_ns: self.snapshot.ctime_ns,
            inode: self.snapshot.inode,
            window_hash: self.snapshot.window_hash(self.end)?,
            pending: None,
        })
    }
}

/// An open file and its metadata when opened: a read never goes past that size.
struct Snapshot {
    file: File,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
    read_bytes: Cell<u64>,
}

impl Snapshot {
    fn open(path: &Path) -> io::Result<Snapshot> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let (mtime_ns, ctime_ns, inode) = identity(&meta);
        Ok(Snapshot {
            file,
            len: meta.len(),
            mtime_ns,
            ctime_ns,
            inode,
            read_bytes: Cell::new(0),
        })
    }

    /// Reads at `offset` (never past the snapshot's length); 0 at its end.
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        let room = self.len.saturating_sub(offset);
        let want = buffer
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        loop {
            match read_at(&self.file, &mut buffer[..want], offset) {
                Ok(read) => {
                    self.read_bytes.set(self.read_bytes.get() + read as u64);
                    return Ok(read);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_exact_at(&self, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buffer.is_empty() {
            let read = self.read_at(buffer, offset)?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                ));
            }
            buffer = &mut buffer[read..];
            offset += read as u64;
        }
        Ok(())
    }

    /// FNV-1a over the (up to) 64 bytes before `offset`.
    fn window_hash(&self, offset: u64) -> io::Result<u64> {
        let from = offset.saturating_sub(WINDOW);
        let mut window = [0u8; WINDOW as usize];
        let window = &mut window[..(offset - from) as usize];
        self.read_exact_at(window, from)?;
        Ok(fnv1a(window))
    }
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(mut file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buffer)
}

/// Modification time, status-change time and identity of a file, as a [`Cursor`] records them.
fn identity(meta: &std::fs::Metadata) -> (i128, i128, u64) {
    let stamp = FileStamp::of(meta);
    (stamp.mtime_ns, stamp.ctime_ns, stamp.inode)
}

/// True when a file with this size, times and inode is exactly as `cursor` last saw it.
pub fn unchanged(len: u64, mtime_ns: i128, ctime_ns: i128, inode: u64, cursor: &Cursor) -> bool {
    inode == cursor.inode
        && len == cursor.size
        && mtime_ns == cursor.mtime_ns
        && (cursor.ctime_ns == 0 || ctime_ns == cursor.ctime_ns)
}

/// True when `stamp` (what `stat` says of a file now) matches the tail cursor that `cursor`
/// holds: read from the text without parsing when it is in the canonical form
/// ([`stamp_of_cursor`] of `quick`'s part), else through `parse`. A source's cursor may wrap
/// the tail cursor in more state; `quick` finds the tail's text in it.
pub fn cursor_unchanged(
    stamp: &crate::FileStamp,
    cursor: &str,
    quick: impl FnOnce(&str) -> Option<&str>,
    parse: impl FnOnce(&str) -> Option<Cursor>,
) -> bool {
    let tail = match quick(cursor).and_then(stamp_of_cursor) {
        Some((size, mtime_ns, ctime_ns, inode)) => Cursor {
            size,
            mtime_ns,
            ctime_ns,
            inode,
            ..Cursor::default()
        },
        None => match parse(cursor) {
            Some(cursor) => cursor,
            None => return false,
        },
    };
    unchanged(
        stamp.len,
        stamp.mtime_ns,
        stamp.ctime_ns,
        stamp.inode,
        &tail,
    )
}

/// The text of the `tail` of a source's cursor that wraps the tail cursor with more state
/// (`{"tail":…,"state":…}`), found without parsing the state after it, for
/// [`cursor_unchanged`]'s `quick`: the stamp is then read from it when the cursor is exactly as
/// this version writes it (`tail` first, without `pending`), and the cursor is parsed whole
/// otherwise.
pub fn wrapped_tail_text(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("{\"tail\":")?;
    let end = rest.find('}')?;
    Some(&rest[..=end])
}

/// The fields [`unchanged`] compares (`size`, `mtime_ns`, `ctime_ns`, `inode`), read straight
/// from a cursor's text when it is exactly in the form this version writes without `pending`
/// (every cursor of a file read to a line's end); `None` for any other text, which then has to
/// be parsed whole. Checking 2,000 unchanged files this way costs a fraction of parsing their
/// cursors.
pub fn stamp_of_cursor(text: &str) -> Option<(u64, i128, i128, u64)> {
    let mut rest = text.as_bytes();
    let _offset = canonical_field(&mut rest, b"{\"offset\":", false)?;
    let size = canonical_field(&mut rest, b",\"size\":", false)?;
    let mtime_ns = canonical_field(&mut rest, b",\"mtime_ns\":", true)?;
    let ctime_ns = canonical_field(&mut rest, b",\"ctime_ns\":", true)?;
    let inode = canonical_field(&mut rest, b",\"inode\":", false)?;
    let _window_hash = canonical_field(&mut rest, b",\"window_hash\":", false)?;
    (rest == b"}").then_some((size as u64, mtime_ns, ctime_ns, inode as u64))
}

/// How much of `file` lies after its tail cursor's offset (all of it without a cursor), when the
/// cursor is in the form this version writes; `quick` finds the tail's text in a source's
/// cursor, as for [`cursor_unchanged`].
pub fn unread_bytes(
    file: &crate::DataFile,
    cursor: Option<&str>,
    quick: impl FnOnce(&str) -> Option<&str>,
) -> Option<u64> {
    let read = match cursor {
        Some(cursor) => offset_of_cursor(quick(cursor)?)?,
        None => 0,
    };
    Some(file.stamp?.len.saturating_sub(read))
}

/// The offset a cursor's text starts with (`{"offset":N,…`, as this version writes it), without
/// parsing the rest.
pub fn offset_of_cursor(text: &str) -> Option<u64> {
    let mut rest = text.as_bytes();
    canonical_field(&mut rest, b"{\"offset\":", false).and_then(|offset| u64::try_from(offset).ok())
}

/// Reads `name` then an integer as serde_json writes it (no leading zeros; a sign only when
/// `signed`), within `u64`'s range, advancing `rest` past them.
fn canonical_field(rest: &mut &[u8], name: &[u8], signed: bool) -> Option<i128> {
    let mut bytes = rest.strip_prefix(name)?;
    let negative = signed && bytes.first() == Some(&b'-');
    if negative {
        bytes = &bytes[1..];
    }
    let digits = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    if digits == 0 || digits > 20 || (digits > 1 && bytes[0] == b'0') {
        return None;
    }
    // Nineteen digits always fit in a u64; only a twentieth can overflow it.
    let (head, last) = bytes[..digits].split_at(digits.min(19));
    let mut value = head
        .iter()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    if let Some(digit) = last.first() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    *rest = &bytes[digits..];
    Some(if negative {
        -i128::from(value)
    } else {
        i128::from(value)
    })
}

/// Where a scan resumes inside the unfinished line at the cursor's offset.
#[derive(Debug, Clone, Copy)]
struct Resume {
    at: u64,
    marker: bool,
}

/// Decides where reading `snapshot` starts (see the module documentation).
fn plan(
    snapshot: &Snapshot,
    cursor: Option<&Cursor>,
    marker_len: usize,
) -> io::Result<(Start, Option<Resume>)> {
    let Some(cursor) = cursor else {
        return Ok((Start::Fresh, None));
    };
    let len = snapshot.len;
    if snapshot.inode != cursor.inode || len < cursor.offset || len < cursor.size {
        return Ok((Start::Restart, None));
    }
    if len == cursor.size {
        // Not grown: either untouched, or rewritten in place.
        let start = if unchanged(
            len,
            snapshot.mtime_ns,
            snapshot.ctime_ns,
            snapshot.inode,
            cursor,
        ) {
            Start::UpToDate
        } else {
            Start::Restart
        };
        return Ok((start, None));
    }
    if snapshot.window_hash(cursor.offset)? != cursor.window_hash {
        return Ok((Start::Restart, None));
    }
    let resume = match cursor.pending {
        Some(pending)
            if cursor.size > cursor.offset
                && snapshot.window_hash(cursor.size)? == pending.window_hash =>
        {
            // Scan again the few bytes a marker cut at `size` could start in.
            let back = if pending.marker {
                0
            } else {
                marker_len.saturating_sub(1) as u64
            };
            Some(Resume {
                at: cursor.size.saturating_sub(back).max(cursor.offset),
                marker: pending.marker,
            })
        }
        _ => None,
    };
    Ok((Start::Continue(cursor.offset), resume))
}

/// Looks for the marker in a stream of chunks, including across chunk boundaries.
struct MarkerScan<'m> {
    finder: Option<memchr::memmem::Finder<'m>>,
    seen: bool,
    carry: Vec<u8>,
}

impl<'m> MarkerScan<'m> {
    fn new(marker: Option<&'m [u8]>, seen: bool) -> MarkerScan<'m> {
        MarkerScan {
            finder: marker
                .filter(|m| !m.is_empty())
                .map(memchr::memmem::Finder::new),
            seen,
            carry: Vec::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Some(finder) = &self.finder else {
            return;
        };
        if self.seen {
            return;
        }
        let keep = finder.needle().len() - 1;
        if !self.carry.is_empty() {
            // A marker across the boundary with the previous chunk.
            let mut joint = self.carry.clone();
            joint.extend_from_slice(&chunk[..chunk.len().min(keep)]);
            if finder.find(&joint).is_some() {
                self.seen = true;
                return;
            }
        }
        if finder.find(chunk).is_some() {
            self.seen = true;
            return;
        }
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
    }

    /// True when the marker occurs (or there is no marker to look for).
    fn hands_out(&self) -> bool {
        self.finder.is_none() || self.seen
    }
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Grows `buffer` to `len` bytes without letting its capacity overshoot.
fn grow(buffer: &mut Vec<u8>, len: usize, outcome: &mut ReadOutcome) {
    if buffer.len() < len {
        buffer.reserve_exact(len - buffer.len());
        buffer.resize(len, 0);
    }
    outcome.max_buffer = outcome.max_buffer.max(buffer.capacity());
}

/// Reads the complete lines of `path` after its cursor, calling `on_line` for each. A final
/// line without a newline is left for the next read. Returns the new cursor (the old one when
/// nothing needed reading), what was done, and where the read started.
pub fn read_lines(
    path: &Path,
    cursor: Option<&Cursor>,
    options: &ReadOptions,
    on_line: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<(Cursor, ReadOutcome, Start)> {
    // Stat-only check first: an unchanged file is not opened.
    if let Some(cursor) = cursor {
        let meta = std::fs::metadata(path)?;
        let (mtime_ns, ctime_ns, inode) = identity(&meta);
        if unchanged(meta.len(), mtime_ns, ctime_ns, inode, cursor) {
            return Ok((cursor.clone(), ReadOutcome::default(), Start::UpToDate));
        }
    }
    // The line buffer outlives one file: a reader thread zeroes (and faults in) its pages
    // once, not once per file.
    let mut buffer = BUFFER.take();
    if buffer.capacity() > options.max_line.max(2) {
        buffer = Vec::new();
    }
    let result = read_opened(path, cursor, options, &mut buffer, on_line);
    if buffer.capacity() <= KEEP_BUFFER {
        BUFFER.set(buffer);
    }
    result
}

thread_local! {
    /// This thread's line buffer, kept between reads.
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A line buffer up to this size is kept for the next read; a larger one (grown for a long
/// line) is given back.
const KEEP_BUFFER: usize = 2 * READ_CHUNK;

/// [`read_lines`] once the file needs opening, with the buffer to hold lines in.
fn read_opened(
    path: &Path,
    cursor: Option<&Cursor>,
    options: &ReadOptions,
    buffer: &mut Vec<u8>,
    mut on_line: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<(Cursor, ReadOutcome, Start)> {
    let snapshot = Snapshot::open(path)?;
    let marker_len = options.marker.map_or(0, <[u8]>::len);
    let (start, resume) = plan(&snapshot, cursor, marker_len)?;
    let mut outcome = ReadOutcome::default();
    let offset = match start {
        Start::UpToDate => {
            outcome.read_bytes = snapshot.read_bytes.get();
            let cursor = cursor.cloned().unwrap_or_default();
            return Ok((cursor, outcome, start));
        }
        Start::Continue(offset) => offset,
        Start::Restart | Start::Fresh => 0,
    };
    let cap = options.max_line.max(2);
    let window = options.window.clamp(1, cap / 2);
    let deadline = options.deadline;

    // `position` is the start of the current line (everything before it is consumed);
    // `next_read` is where the next read of the file starts. While a line is held, the buffer
    // holds the bytes `position..next_read` at `head..end`. While streaming through a line,
    // the buffer only holds the latest chunk.
    let mut position = offset;
    let mut next_read = resume.map_or(offset, |r| r.at);
    let remaining = snapshot.len.saturating_sub(next_read);
    let first = usize::try_from(remaining + 1).unwrap_or(usize::MAX);
    grow(
        buffer,
        first.clamp(4 * 1024, 256 * 1024).min(cap),
        &mut outcome,
    );
    let (mut head, mut end) = (0usize, 0usize);
    // `Some` while streaming through a line that is not held.
    let mut streaming = resume.map(|r| MarkerScan::new(options.marker, r.marker));
    // What the read learnt of the unfinished line it ended in.
    let mut pending: Option<(u64, bool)> = None;

    'read: loop {
        if let Some(scan) = streaming.as_mut() {
            if next_read >= snapshot.len || past(deadline) {
                outcome.partial_tail = next_read >= snapshot.len;
                outcome.stopped = !outcome.partial_tail;
                pending = Some((next_read, scan.seen));
                break 'read;
            }
            if buffer.len() < READ_CHUNK.min(cap) {
                let want = usize::try_from(snapshot.len - next_read).unwrap_or(usize::MAX);
                grow(
                    buffer,
                    want.clamp(64 * 1024, READ_CHUNK.min(cap)),
                    &mut outcome,
                );
            }
            let chunk = buffer.len().min(READ_CHUNK);
            let read = snapshot.read_at(&mut buffer[..chunk], next_read)?;
            if read == 0 {
                // The file shrank under the read: the next read will notice.
                pending = Some((next_read, scan.seen));
                outcome.partial_tail = true;
                break 'read;
            }
            let Some(newline) = memchr::memchr(b'\n', &buffer[..read]) else {
                scan.feed(&buffer[..read]);
                next_read += read as u64;
                continue;
            };
            scan.feed(&buffer[..newline]);
            let line_end = next_read + newline as u64;
            let len = line_end - position;
            outcome.lines += 1;
            let handed = if len < cap as u64 {
                // A line left unfinished by an earlier read, short enough to hold after all.
                let len = len as usize;
                grow(buffer, len, &mut outcome);
                snapshot.read_exact_at(&mut buffer[..len], position)?;
                Some(LineBytes::Whole(strip_cr(&buffer[..len])))
            } else {
                outcome.oversize += 1;
                if scan.hands_out() {
                    let part = window.min(usize::try_from(len).unwrap_or(usize::MAX));
                    grow(buffer, 2 * part, &mut outcome);
                    let (first, last) = buffer.split_at_mut(part);
                    snapshot.read_exact_at(first, position)?;
                    snapshot.read_exact_at(&mut last[..part], line_end - part as u64)?;
                    Some(LineBytes::Oversize {
                        head: &buffer[..part],
                        tail: strip_cr(&buffer[part..2 * part]),
                        len,
                    })
                } else {
                    None
                }
            };
            let line_start = position;
            position = line_end + 1;
            streaming = None;
            let flow = match handed {
                Some(bytes) => {
                    // The buffer was reused: what followed the line is read again.
                    next_read = position;
                    (head, end) = (0, 0);
                    on_line(Line {
                        bytes,
                        start: line_start,
                        end: position,
                        snapshot: &snapshot,
                    })
                }
                None => {
                    // Skipped: keep what follows it in the buffer.
                    buffer.copy_within(newline + 1..read, 0);
                    (head, end) = (0, read - newline - 1);
                    next_read += read as u64;
                    ControlFlow::Continue(())
                }
            };
            if flow.is_break() || (past(deadline) && (end > 0 || next_read < snapshot.len)) {
                outcome.stopped = true;
                break 'read;
            }
            continue;
        }

        while let Some(newline) = memchr::memchr(b'\n', &buffer[head..end]) {
            let line = strip_cr(&buffer[head..head + newline]);
            head += newline + 1;
            let line_start = position;
            position += newline as u64 + 1;
            outcome.lines += 1;
            let flow = on_line(Line {
                bytes: LineBytes::Whole(line),
                start: line_start,
                end: position,
                snapshot: &snapshot,
            });
            // Past the deadline only matters when something is left to read.
            let more = head < end || next_read < snapshot.len;
            if flow.is_break() || (more && past(deadline)) {
                outcome.stopped = true;
                break 'read;
            }
        }
        if head > 0 {
            buffer.copy_within(head..end, 0);
            end -= head;
            head = 0;
        }
        if end == buffer.len() {
            if buffer.len() < cap {
                let len = (buffer.len() * 2).min(cap);
                grow(buffer, len, &mut outcome);
            } else {
                // The line does not fit: stream through it from here on.
                let mut scan = MarkerScan::new(options.marker, false);
                scan.feed(&buffer[..end]);
                streaming = Some(scan);
                end = 0;
                continue;
            }
        }
        let at_end = next_read >= snapshot.len;
        if at_end || past(deadline) {
            outcome.partial_tail = at_end && end > 0;
            outcome.stopped = !at_end;
            if end > 0 {
                let mut scan = MarkerScan::new(options.marker, false);
                scan.feed(&buffer[..end]);
                pending = Some((next_read, scan.seen));
            }
            break 'read;
        }
        let room = (buffer.len() - end).min(READ_CHUNK);
        let read = snapshot.read_at(&mut buffer[end..end + room], next_read)?;
        if read == 0 {
            outcome.partial_tail = end > 0;
            break 'read;
        }
        end += read;
        next_read += read as u64;
    }

    outcome.bytes = position - offset;
    let (size, pending) = match pending {
        Some((scanned, marker)) if scanned > position => (
            scanned,
            Some(Pending {
                marker,
                window_hash: snapshot.window_hash(scanned)?,
            }),
        ),
        _ => (position, None),
    };
    let new_cursor = Cursor {
        offset: position,
        size,
        mtime_ns: snapshot.mtime_ns,
        ctime_ns: snapshot.ctime_ns,
        inode: snapshot.inode,
        window_hash: snapshot.window_hash(position)?,
        pending,
    };
    outcome.read_bytes = snapshot.read_bytes.get();
    Ok((new_cursor, outcome, start))
}

impl ReadStats {
    /// Records what [`read_lines`] did in a read that started at `start` and ended with
    /// `outcome`: lines, bytes and oversize lines consumed, whether it stopped early, read the
    /// file again from the top, or found nothing new.
    pub fn record_tail(&mut self, outcome: &ReadOutcome, start: Start) {
        self.lines = outcome.lines;
        self.bytes = outcome.bytes;
        self.oversize = outcome.oversize;
        self.stopped = outcome.stopped;
        self.restarted = start == Start::Restart;
        self.up_to_date = start == Start::UpToDate;
    }
}

/// The text of `new`, a source's cursor after a read that started at `start`, or `None` when
/// it did not change (nothing was new, or it is `previous` again).
pub fn changed_cursor<C: Serialize + PartialEq>(
    start: Start,
    previous: Option<&C>,
    new: &C,
) -> Option<String> {
    (start != Start::UpToDate && previous != Some(new))
        .then(|| serde_json::to_string(new).expect("a cursor serializes"))
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
    use std::io::{Seek, SeekFrom, Write};

    fn read(
        path: &Path,
        cursor: Option<&Cursor>,
        options: &ReadOptions,
    ) -> (Vec<String>, Cursor, ReadOutcome, Start) {
        let mut lines = Vec::new();
        let (cursor, outcome, start) = read_lines(path, cursor, options, |line| {
            lines.push(match line.bytes {
                LineBytes::Whole(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                LineBytes::Oversize { head, tail, len } => format!(
                    "oversize {len}: {} .. {}",
                    String::from_utf8_lossy(&head[..head.len().min(8)]),
                    String::from_utf8_lossy(&tail[tail.len().saturating_sub(8)..]),
                ),
            });
            ControlFlow::Continue(())
        })
        .unwrap();
        (lines, cursor, outcome, start)
    }

    fn collect(path: &Path, cursor: Option<&Cursor>) -> (Vec<String>, Cursor, Start) {
        let (lines, cursor, _, start) = read(path, cursor, &ReadOptions::default());
        (lines, cursor, start)
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
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

        append(&path, b"ee\r\nfour\n");
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

    /// Claude Code rewrites a transcript in place: same inode, same length, and here the same
    /// last 64 bytes. The change of modification time shows it, and when that time is set
    /// back, the change of status-change time (which no one can set) still does.
    #[test]
    fn rewritten_in_place_with_the_same_size_and_ending_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let ending = format!("{{\"last\":\"{}\"}}\n", "z".repeat(80));
        std::fs::write(&path, format!("{{\"id\":\"msg_1\"}}\n{ending}")).unwrap();
        let (lines, cursor, _) = collect(&path, None);
        assert_eq!(lines.len(), 2);
        let rewrite = |id: &str| {
            // Let the clocks the file system stamps times with move on.
            std::thread::sleep(std::time::Duration::from_millis(30));
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.seek(SeekFrom::Start(0)).unwrap();
            f.write_all(format!("{{\"id\":\"{id}\"}}\n").as_bytes())
                .unwrap();
            f
        };

        // The modification time changed.
        drop(rewrite("msg_2"));
        let (lines, cursor, start) = collect(&path, Some(&cursor));
        assert_eq!(start, Start::Restart);
        assert_eq!(lines, [r#"{"id":"msg_2"}"#, ending.trim_end()]);
        let (lines, cursor, start) = collect(&path, Some(&cursor));
        assert_eq!((lines.len(), start), (0, Start::UpToDate));

        // Rewritten again, with the modification time set back as it was.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let f = rewrite("msg_3");
        f.set_modified(modified).unwrap();
        drop(f);
        assert_eq!(
            identity(&std::fs::metadata(&path).unwrap()).0,
            cursor.mtime_ns
        );
        let (lines, _, start) = collect(&path, Some(&cursor));
        assert_eq!(start, Start::Restart);
        assert_eq!(lines, [r#"{"id":"msg_3"}"#, ending.trim_end()]);
    }

    #[test]
    fn a_cursors_stamp_is_read_without_parsing_it_whole() {
        let cursor = Cursor {
            offset: 10,
            size: 12,
            mtime_ns: 1_700_000_000_123_456_789,
            ctime_ns: -5,
            inode: u64::MAX,
            window_hash: u64::MAX - 1,
            pending: None,
        };
        let text = serde_json::to_string(&cursor).unwrap();
        assert_eq!(
            stamp_of_cursor(&text),
            Some((12, 1_700_000_000_123_456_789, -5, u64::MAX))
        );
        let pending = Cursor {
            pending: Some(Pending::default()),
            ..cursor
        };
        let text = serde_json::to_string(&pending).unwrap();
        assert_eq!(stamp_of_cursor(&text), None);
        assert_eq!(offset_of_cursor(&text), Some(10));
        assert_eq!(offset_of_cursor(r#"{"size":8,"offset":8}"#), None);
        for odd in [
            r#"{"offset":8,"size":8,"mtime_ns":5,"inode":7,"window_hash":9}"#,
            r#"{"offset":8,"size":08,"mtime_ns":5,"ctime_ns":5,"inode":7,"window_hash":9}"#,
            r#"{"offset":8,"size":8,"mtime_ns":5,"ctime_ns":5,"inode":7,"window_hash":9} "#,
            r#"{"offset":8,"size":99999999999999999999,"mtime_ns":5,"ctime_ns":5,"inode":7,"window_hash":9}"#,
            r#"{"offset":8,"size":8,"mtime_ns":5,"ctime_ns":5,"inode":7,"window_hash":9,"x":1}"#,
        ] {
            assert_eq!(stamp_of_cursor(odd), None, "{odd}");
        }
    }

    #[test]
    fn the_unread_part_of_a_file_is_told_from_its_cursor() {
        let file = crate::DataFile {
            path: "/p/s.jsonl".into(),
            modified: std::time::UNIX_EPOCH,
            stamp: Some(crate::FileStamp {
                len: 100,
                mtime_ns: 1,
                ctime_ns: 1,
                inode: 1,
            }),
            subagent: false,
        };
        let cursor =
            r#"{"offset":40,"size":40,"mtime_ns":1,"ctime_ns":1,"inode":1,"window_hash":2}"#;
        assert_eq!(unread_bytes(&file, Some(cursor), |t| Some(t)), Some(60));
        assert_eq!(unread_bytes(&file, None, |t| Some(t)), Some(100));
        let wrapped = format!(r#"{{"tail":{cursor},"state":{{}}}}"#);
        assert_eq!(
            unread_bytes(&file, Some(&wrapped), wrapped_tail_text),
            Some(60)
        );
        assert_eq!(unread_bytes(&file, Some("{}"), |t| Some(t)), None);
    }

    #[test]
    fn cursors_of_older_versions_still_read() {
        let old = r#"{"offset":8,"size":8,"mtime_ns":5,"inode":7,"window_hash":9}"#;
        let cursor: Cursor = serde_json::from_str(old).unwrap();
        assert_eq!((cursor.ctime_ns, cursor.pending), (0, None));
        assert_eq!(cursor.offset, 8);
    }

    #[test]
    fn stopping_early_keeps_the_cursor_after_the_last_line_handled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "1\n2\n3\n").unwrap();
        let (cursor, outcome, _) = read_lines(&path, None, &ReadOptions::default(), |line| {
            if line.bytes == LineBytes::Whole(b"2") {
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

    /// A line longer than the buffer cap is streamed through: without the marker it is
    /// skipped, with it only its ends are handed out; the buffer never grows past the cap.
    #[test]
    fn lines_over_the_cap_are_streamed_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let options = ReadOptions {
            max_line: 1024,
            window: 100,
            marker: Some(b"\"usage\""),
            deadline: None,
        };
        let plain = "p".repeat(5000);
        let marked = format!("HEAD{}\"usa{}ge\"TAIL", "m".repeat(3000), "");
        let short = "s".repeat(1023);
        std::fs::write(
            &path,
            format!(
                "first\n{plain}\n{marked}\r\n{short}\nlast\n{}",
                "t".repeat(2000)
            ),
        )
        .unwrap();
        let (lines, cursor, outcome, _) = read(&path, None, &options);
        assert_eq!(
            lines,
            [
                "first".to_owned(),
                format!("oversize {}: HEADmmmm .. age\"TAIL", marked.len() + 1),
                "s".repeat(1023),
                "last".to_owned(),
            ]
        );
        assert_eq!(outcome.lines, 5);
        assert_eq!(outcome.oversize, 2);
        assert!(outcome.max_buffer <= 1024, "{}", outcome.max_buffer);
        assert!(outcome.partial_tail);
        // The unfinished line was scanned to the end of the file.
        assert_eq!(cursor.size, std::fs::metadata(&path).unwrap().len());
        assert_eq!(cursor.pending.map(|p| p.marker), Some(false));
    }

    #[test]
    fn the_marker_is_found_across_chunks() {
        for chunk in 1..10 {
            let text = b"xx\"usage\"yy";
            let mut scan = MarkerScan::new(Some(b"\"usage\""), false);
            for part in text.chunks(chunk) {
                scan.feed(part);
            }
            assert!(scan.seen, "chunks of {chunk}");
            let mut scan = MarkerScan::new(Some(b"\"usage\""), false);
            for part in b"xx\"usag_\"yy\"usa".chunks(chunk) {
                scan.feed(part);
            }
            assert!(!scan.seen, "chunks of {chunk}");
        }
    }

    /// A 50 MB line still being written is scanned once: each later read costs only the bytes
    /// appended since, and when the line ends only its ends are read again.
    #[test]
    fn an_unfinished_huge_line_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "first\n").unwrap();
        let big = 50u64 << 20;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(6 + big)
            .unwrap();
        let options = ReadOptions {
            marker: Some(b"\"usage\""),
            ..ReadOptions::default()
        };
        let (lines, cursor, outcome, _) = read(&path, None, &options);
        assert_eq!(lines, ["first"]);
        assert!(outcome.partial_tail);
        assert_eq!((cursor.offset, cursor.size), (6, 6 + big));

        // Unchanged: not even opened.
        let (_, cursor, outcome, start) = read(&path, Some(&cursor), &options);
        assert_eq!((start, outcome.read_bytes), (Start::UpToDate, 0));

        // More of the line is written (with the marker cut across the writes).
        append(&path, b"more \"usa");
        let (lines, cursor, outcome, start) = read(&path, Some(&cursor), &options);
        assert!(lines.is_empty());
        assert_eq!(start, Start::Continue(6));
        assert!(
            outcome.read_bytes < 1024,
            "read {} bytes",
            outcome.read_bytes
        );
        assert_eq!(cursor.offset, 6);

        // The line ends and another follows: only the new bytes and the two windows are read.
        append(&path, b"ge\" end\nnext\n");
        let (lines, cursor, outcome, _) = read(&path, Some(&cursor), &options);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("age\" end"), "{}", lines[0]);
        assert_eq!(lines[1], "next");
        assert_eq!(outcome.oversize, 1);
        assert!(
            outcome.read_bytes < 2 * DEFAULT_WINDOW as u64 + 1024,
            "read {} bytes",
            outcome.read_bytes
        );
        assert_eq!(cursor.offset, std::fs::metadata(&path).unwrap().len());
    }

    /// A deadline is kept inside one huge line, and the cursor stays at that line's start.
    #[test]
    fn a_deadline_is_kept_inside_a_huge_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "first\n").unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(6 + (2 << 30))
            .unwrap();
        let began = Instant::now();
        let options = ReadOptions {
            deadline: Some(began + std::time::Duration::from_millis(50)),
            ..ReadOptions::default()
        };
        let (lines, cursor, outcome, _) = read(&path, None, &options);
        assert!(began.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(lines, ["first"]);
        assert!(outcome.stopped);
        assert_eq!(cursor.offset, 6);
        assert!(outcome.max_buffer <= DEFAULT_MAX_LINE);
        // The next read continues the scan where this one stopped.
        assert!(cursor.size > 6 && cursor.pending.is_some());
    }
}
