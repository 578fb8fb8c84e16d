//! Shared harness of the fuzz targets: a scratch directory per fuzzing process, and a read of
//! a data file through its [`Source`] in two steps (a prefix, then the whole with the first
//! read's cursor) so that the tail reader's resumption is fuzzed as well as the parsers.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agent_cost_sources::{DataFile, FileStamp, Item, Source};

/// A directory that lives as long as the fuzzing process (removed on a clean exit).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a scratch directory"))
        .path()
}

/// Writes `bytes` to `path`, creating its parent directories.
pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch directories");
    }
    std::fs::write(path, bytes).expect("a scratch file");
}

/// The data file at `path` as discovery would describe it.
pub fn data_file(path: &Path, subagent: bool) -> DataFile {
    let meta = std::fs::metadata(path).expect("the file just written");
    DataFile {
        path: path.to_path_buf(),
        modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        subagent,
        stamp: Some(FileStamp::of(&meta)),
    }
}

/// Reads `path` whole from `cursor`, returning the events handed out and the new cursor.
pub fn read(
    source: &dyn Source,
    path: &Path,
    subagent: bool,
    cursor: Option<&str>,
) -> (usize, Option<String>) {
    let file = data_file(path, subagent);
    let mut events = 0;
    let mut last_checkpoint = None;
    let end = source.read(&file, cursor, None, &mut |item| {
        match item {
            Item::Event(_) => events += 1,
            Item::Checkpoint(c) => last_checkpoint = Some(c),
        }
        ControlFlow::Continue(())
    });
    match end {
        Ok(end) => (events, end.cursor.or(last_checkpoint)),
        Err(_) => (events, None),
    }
}

/// Splits fuzz input into a selector byte and the data (an empty input selects 0).
pub fn selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}

/// Writes `data` to `path` in two steps, reading after each: first the prefix the selector
/// picks (from the start), then the whole (from the first read's cursor), as a log that grew
/// between two runs.
pub fn read_in_two_steps(source: &dyn Source, path: &Path, subagent: bool, split: u8, data: &[u8]) {
    let at = data.len() * usize::from(split) / 255;
    write(path, &data[..at]);
    let (_, cursor) = read(source, path, subagent, None);
    write(path, data);
    let (_, cursor) = read(source, path, subagent, cursor.as_deref());
    // And once more with nothing new.
    read(source, path, subagent, cursor.as_deref());
}

/// Splits `data` at NUL bytes into at most `max` parts (the last keeps any further NULs).
pub fn parts(data: &[u8], max: usize) -> Vec<&[u8]> {
    data.splitn(max, |b| *b == 0).collect()
}

/// A path below the scratch directory.
pub fn under_scratch(relative: &str) -> PathBuf {
    scratch().join(relative)
}
