//! Reading the first ledger's files, only so that [`crate::import`] can bring them into the
//! store once. Nothing here writes, locks or repairs them.
//!
//! The first ledger (before this store) kept:
//! - per worktree, a tally directory `<git-dir>/agent-cost/` holding `journal` (JSON lines:
//!   `charge`, `propose`, `settle` and `base` records) and `seen/` (256 shard files of
//!   `seq<TAB>event<TAB>in<TAB>out<TAB>write5m<TAB>write1h<TAB>read` lines: every charge ever
//!   made, settled ones included, so that a re-read event was recognised);
//! - per repository, `<common-git-dir>/agent-cost/tracking.json` (`{"since": "<RFC 3339>"}`);
//! - in the state directory, `unattributed/` (a tally directory like the others, never
//!   drained) and `cursors.json` (`{"version": 1, "files": {"<path>": <cursor>}}`).
//!
//! The readers are trimmed copies of that ledger's own: a torn last journal line is ignored and
//! a corrupt line is skipped and counted. A charge is identified by its position (`seq`), which
//! the journal and the shards share, so reading both and keeping one charge per position counts
//! each charge once: shard lines beyond `seen/watermark` were written after the journal lines
//! they copy (which compaction never drops before the watermark passes them), so the watermark
//! itself is not needed.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use agent_cost_events::{Agent, TokenCounts};
use serde::Deserialize;

/// A worktree's tally directory, inside its git dir (and, for the main worktree, also where
/// its repository's `tracking.json` was).
pub const TALLY_DIR: &str = "agent-cost";
/// The unattributed tally directory, in the state directory.
pub const UNATTRIBUTED_DIR: &str = "unattributed";
/// The read cursors, in the state directory.
pub const CURSORS_FILE: &str = "cursors.json";
/// What an imported file or directory's name gets appended once its contents are in the store.
pub const IMPORTED_SUFFIX: &str = ".imported-v1";
/// The prefix the first ledger put before Claude Code event ids (`claude:msg_…`).
const CLAUDE_PREFIX: &str = "claude:";

/// A file that could not be read, and why.
pub type Unreadable = (PathBuf, io::Error);

/// Token counts as the journal and the shards wrote them.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
struct Tokens {
    input: u64,
    output: u64,
    cache_write_5m: u64,
    cache_write_1h: u64,
    cache_read: u64,
}

impl From<Tokens> for TokenCounts {
    fn from(t: Tokens) -> TokenCounts {
        TokenCounts::from_fields([
            t.input,
            t.output,
            t.cache_write_5m,
            t.cache_write_1h,
            t.cache_read,
        ])
    }
}

#[derive(Debug, Deserialize)]
struct ChargeRecord {
    seq: u64,
    event: String,
    agent: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    ts: String,
    tokens: Tokens,
    #[serde(default)]
    requests: u64,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    speed: Option<String>,
}

/// One journal line.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Record {
    Base {
        settled_upto: u64,
    },
    Charge(ChargeRecord),
    Propose {
        drain: String,
        upto: u64,
        #[serde(default)]
        at: String,
    },
    Settle {
        drain: String,
        upto: u64,
    },
}

/// What the journal said about a charge, beyond its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeDetail {
    /// The agent's name.
    pub agent: String,
    /// The agent session.
    pub session: String,
    /// The model as logged.
    pub model: String,
    /// When the request happened (RFC 3339 text from the log).
    pub ts: String,
    /// 1 for the first charge of an event, 0 for a top-up.
    pub requests: u64,
    /// The git branch the agent saw.
    pub branch: Option<String>,
    /// A premium speed mode.
    pub speed: Option<String>,
}

/// One charge of the first ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCharge {
    /// The event id as the first ledger wrote it (e.g. `claude:msg_…`).
    pub event: String,
    /// The tokens this charge added.
    pub tokens: TokenCounts,
    /// The journal's record of it; `None` when only the `seen` shards still hold it (the
    /// journal was compacted after its drain settled).
    pub detail: Option<ChargeDetail>,
}

/// A drain written into a commit message whose settlement the first ledger had not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyProposal {
    /// The drain's `AI-Cost-Id`.
    pub drain: String,
    /// The last charge position it covers.
    pub upto: u64,
    /// When it was proposed (empty when a compaction rewrote it).
    pub at: String,
}

/// Everything a tally directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyTally {
    /// Every charge by position: the settled ones (`seq <= settled_upto`) and the pending ones.
    pub charges: BTreeMap<u64, LegacyCharge>,
    /// Every charge up to this position is settled.
    pub settled_upto: u64,
    /// Outstanding proposals, oldest first.
    pub proposals: Vec<LegacyProposal>,
    /// Journal and shard lines that could not be read (skipped).
    pub unreadable_lines: u64,
}

impl LegacyTally {
    /// Reads a tally directory; a missing journal or `seen/` reads as empty.
    pub fn read(dir: &Path) -> Result<LegacyTally, Unreadable> {
        let mut tally = LegacyTally::default();
        let mut proposals = Vec::new();
        let mut settled = HashSet::new();
        let journal = dir.join("journal");
        for_each_line(&journal, |line| match parse_record(line) {
            Some(Record::Base { settled_upto }) => {
                tally.settled_upto = tally.settled_upto.max(settled_upto);
            }
            Some(Record::Charge(charge)) => {
                tally.charges.insert(
                    charge.seq,
                    LegacyCharge {
                        event: charge.event,
                        tokens: charge.tokens.into(),
                        detail: Some(ChargeDetail {
                            agent: charge.agent,
                            session: charge.session,
                            model: charge.model,
                            ts: charge.ts,
                            requests: charge.requests,
                            branch: charge.branch,
                            speed: charge.speed,
                        }),
                    },
                );
            }
            Some(Record::Propose { drain, upto, at }) => {
                proposals.push(LegacyProposal { drain, upto, at });
            }
            Some(Record::Settle { drain, upto }) => {
                tally.settled_upto = tally.settled_upto.max(upto);
                settled.insert(drain);
            }
            None => tally.unreadable_lines += 1,
        })?;
        let seen = dir.join("seen");
        let entries = match std::fs::read_dir(&seen) {
            Ok(entries) => entries.collect::<Result<Vec<_>, _>>().map_err(at(&seen))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err((seen, e)),
        };
        let mut shards: Vec<PathBuf> = entries
            .into_iter()
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|entry| entry.path())
            .collect();
        shards.sort();
        for shard in shards {
            for_each_line(&shard, |line| {
                match std::str::from_utf8(line).ok().and_then(parse_shard_line) {
                    Some((seq, event, tokens)) => {
                        tally.charges.entry(seq).or_insert_with(|| LegacyCharge {
                            event: event.to_string(),
                            tokens,
                            detail: None,
                        });
                    }
                    None => tally.unreadable_lines += 1,
                }
            })?;
        }
        let settled_upto = tally.settled_upto;
        let mut listed = HashSet::new();
        tally.proposals = proposals
            .into_iter()
            .filter(|p| p.upto > settled_upto && !settled.contains(&p.drain))
            .filter(|p| listed.insert(p.drain.clone()))
            .collect();
        Ok(tally)
    }

    /// True when the charge at `seq` had not left the tally.
    pub fn is_pending(&self, seq: u64) -> bool {
        seq > self.settled_upto
    }

    /// True when the directory held nothing at all.
    pub fn is_empty(&self) -> bool {
        self.charges.is_empty() && self.proposals.is_empty()
    }
}

/// The store's event key for an id the first ledger wrote: Claude Code ids lose their
/// `claude:` prefix (`claude:msg_1` is `msg_1`, `claude:req:r1` is `req:r1`).
pub fn event_key(agent: &str, event: &str) -> String {
    if agent == Agent::CLAUDE_CODE {
        event
            .strip_prefix(CLAUDE_PREFIX)
            .unwrap_or(event)
            .to_string()
    } else {
        event.to_string()
    }
}

/// The tracking start of a repository (`<common-git-dir>/agent-cost/tracking.json`), if the
/// file is there and readable.
pub fn read_tracking(common_dir: &Path) -> Result<Option<String>, Unreadable> {
    #[derive(Deserialize)]
    struct TrackingFile {
        since: String,
    }
    let path = common_dir.join(TALLY_DIR).join("tracking.json");
    match std::fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice::<TrackingFile>(&bytes)
            .ok()
            .map(|t| t.since)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err((path, e)),
    }
}

/// The cursors of `cursors.json` in `state_dir`, as (path bytes, cursor JSON text). The cursor
/// format is the one the Claude Code source still reads; an unreadable file reads as none (a
/// lost cursor only costs a re-read).
pub fn read_cursors(state_dir: &Path) -> Result<Vec<(Vec<u8>, String)>, Unreadable> {
    #[derive(Deserialize)]
    struct CursorFile {
        #[serde(default)]
        files: BTreeMap<PathBuf, serde_json::Value>,
    }
    let path = state_dir.join(CURSORS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err((path, e)),
    };
    let Ok(file) = serde_json::from_slice::<CursorFile>(&bytes) else {
        return Ok(Vec::new());
    };
    Ok(file
        .files
        .into_iter()
        .filter(|(_, cursor)| cursor.is_object())
        .map(|(path, cursor)| (path_bytes(&path), cursor.to_string()))
        .collect())
}

/// Renames an imported file or directory to `<name>.imported-v1` (kept for safety). A failure
/// is left for the next run to retry: the store already records the import as done.
pub fn retire(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let mut retired = name.to_os_string();
    retired.push(IMPORTED_SUFFIX);
    let target = path.with_file_name(retired);
    if std::fs::symlink_metadata(&target).is_err() {
        let _ = std::fs::rename(path, target);
    }
}

fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}

fn at(path: &Path) -> impl Fn(io::Error) -> Unreadable + '_ {
    move |e| (path.to_path_buf(), e)
}

/// Calls `on_line` for each complete, non-blank line of a file (a torn last line is ignored);
/// a missing file has none.
fn for_each_line(path: &Path, mut on_line: impl FnMut(&[u8])) -> Result<(), Unreadable> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err((path.to_path_buf(), e)),
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(at(path))? == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') {
            return Ok(());
        }
        let text = &line[..line.len() - 1];
        if !text.iter().all(u8::is_ascii_whitespace) {
            on_line(text);
        }
    }
}

fn parse_record(line: &[u8]) -> Option<Record> {
    serde_json::from_str(std::str::from_utf8(line).ok()?).ok()
}

fn parse_shard_line(line: &str) -> Option<(u64, &str, TokenCounts)> {
    let mut fields = line.split('\t');
    let seq = fields.next()?.parse().ok()?;
    let event = fields.next()?;
    let mut number = || fields.next()?.trim().parse::<u64>().ok();
    let tokens = TokenCounts::from_fields([number()?, number()?, number()?, number()?, number()?]);
    Some((seq, event, tokens))
}
