//! One tally: the pending spend of a worktree (in `<git-dir>/agent-cost/`) or of everything
//! that ran outside any repository (`$AGENT_COST_HOME/unattributed/`).
//!
//! Files in a tally directory:
//! - `journal`: charges, drain proposals and settlements since the last compaction;
//! - `seen`: segments of settled charges moved out of the journal, so that an event re-read
//!   after its drain is recognised (only growth is charged again);
//! - `lock`: taken with an OS file lock by every reader that writes.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_cost_events::TokenCounts;

use crate::error::{IoResultExt, LedgerError};
use crate::journal::{self, Charge, Record};

/// A tally directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tally {
    dir: PathBuf,
}

/// A drain written into a commit message but not yet known to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The drain's `AI-Cost-Id`.
    pub drain: String,
    /// The last charge position it covers.
    pub upto: u64,
}

/// The replayed state of a journal.
#[derive(Debug, Default)]
pub struct Pending {
    /// Every charge up to here is settled.
    pub settled_upto: u64,
    /// The next charge position.
    pub next_seq: u64,
    /// Charges not yet settled, in order.
    pub charges: Vec<Charge>,
    /// Drains proposed after the last settlement, oldest first.
    pub proposals: Vec<Proposal>,
    /// Journal lines that could not be read.
    pub corrupt_lines: u64,
    /// Settled charges still in the journal (compaction moves them to `seen`).
    settled_in_journal: Vec<Charge>,
}

impl Pending {
    /// Replays journal records.
    pub fn replay(contents: journal::JournalContents) -> Pending {
        let mut pending = Pending {
            corrupt_lines: contents.corrupt_lines,
            ..Pending::default()
        };
        let mut charges = Vec::new();
        let mut settled: Vec<String> = Vec::new();
        for record in contents.records {
            match record {
                Record::Base {
                    settled_upto,
                    next_seq,
                } => {
                    pending.settled_upto = pending.settled_upto.max(settled_upto);
                    pending.next_seq = pending.next_seq.max(next_seq);
                }
                Record::Charge(charge) => {
                    pending.next_seq = pending.next_seq.max(charge.seq + 1);
                    charges.push(charge);
                }
                Record::Propose { drain, upto, .. } => {
                    pending.proposals.push(Proposal { drain, upto })
                }
                Record::Settle { drain, upto, .. } => {
                    pending.settled_upto = pending.settled_upto.max(upto);
                    settled.push(drain);
                }
            }
        }
        let settled_upto = pending.settled_upto;
        let (done, open): (Vec<Charge>, Vec<Charge>) =
            charges.into_iter().partition(|c| c.seq <= settled_upto);
        pending.charges = open;
        pending.settled_in_journal = done;
        pending
            .proposals
            .retain(|p| p.upto > settled_upto && !settled.contains(&p.drain));
        pending
    }

    /// The last charge position now in the tally (what a drain proposed now would cover).
    pub fn last_seq(&self) -> u64 {
        self.charges.last().map_or(self.settled_upto, |c| c.seq)
    }
}

/// Events already charged to a tally, with the tokens charged for each so far.
#[derive(Debug, Default)]
pub struct Seen {
    charged: HashMap<String, TokenCounts>,
}

impl Seen {
    /// What has been charged for `event` so far.
    pub fn charged(&self, event: &str) -> Option<&TokenCounts> {
        self.charged.get(event)
    }

    /// Records that `tokens` more were charged for `event`.
    pub fn add(&mut self, event: &str, tokens: TokenCounts) {
        *self.charged.entry(event.to_string()).or_default() += tokens;
    }

    /// How many distinct events have been charged.
    pub fn len(&self) -> usize {
        self.charged.len()
    }

    /// True when nothing has been charged.
    pub fn is_empty(&self) -> bool {
        self.charged.is_empty()
    }
}

/// A tally whose lock is held; released on drop.
pub struct LockedTally {
    tally: Tally,
    _lock: File,
}

impl Tally {
    /// The tally of the worktree whose git dir is `git_dir`.
    pub fn in_git_dir(git_dir: &Path) -> Tally {
        Tally {
            dir: git_dir.join("agent-cost"),
        }
    }

    /// A tally in an arbitrary directory (the unattributed tally).
    pub fn at(dir: PathBuf) -> Tally {
        Tally { dir }
    }

    /// The tally directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal")
    }

    fn seen_path(&self) -> PathBuf {
        self.dir.join("seen")
    }

    /// True if anything was ever charged here.
    pub fn exists(&self) -> bool {
        self.journal_path().exists()
    }

    /// Takes the tally's lock, waiting at most `wait`.
    pub fn lock(&self, wait: Duration) -> Result<LockedTally, LedgerError> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        lock_within(&file, &path, wait)?;
        Ok(LockedTally {
            tally: self.clone(),
            _lock: file,
        })
    }

    /// Reads the pending state without taking the lock (for display only: a concurrent
    /// writer can only add whole lines, and torn lines are ignored).
    pub fn peek(&self) -> Result<Pending, LedgerError> {
        Ok(Pending::replay(journal::read(&self.journal_path())?))
    }
}

/// Takes an exclusive lock on `file`, retrying until `wait` has passed.
pub fn lock_within(file: &File, path: &Path, wait: Duration) -> Result<(), LedgerError> {
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Err(LedgerError::Busy {
                        path: path.to_path_buf(),
                    });
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e).at(path),
        }
    }
}

impl LockedTally {
    /// The tally.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Replays the journal.
    pub fn pending(&self) -> Result<Pending, LedgerError> {
        self.tally.peek()
    }

    /// Appends records to the journal.
    pub fn append(&self, records: &[Record]) -> Result<(), LedgerError> {
        journal::append(&self.tally.journal_path(), records)
    }

    /// Every event charged here so far, from `seen` and the journal.
    pub fn seen(&self) -> Result<Seen, LedgerError> {
        let (mut seen, seen_upto) = read_seen(&self.tally.seen_path())?;
        for record in journal::read(&self.tally.journal_path())?.records {
            if let Record::Charge(charge) = record
                && charge.seq > seen_upto
            {
                seen.add(&charge.event, charge.tokens);
            }
        }
        Ok(seen)
    }

    /// Records that the drain `drain` (covering charges up to `upto`) is in commit `commit`,
    /// then compacts the journal.
    pub fn settle(
        &self,
        drain: &str,
        upto: u64,
        commit: Option<String>,
    ) -> Result<(), LedgerError> {
        self.append(&[Record::Settle {
            drain: drain.to_string(),
            upto,
            commit,
        }])?;
        self.compact()
    }

    /// Moves settled charges from the journal to `seen`, keeping the journal small. Safe to
    /// interrupt at any point: `seen` segments say which positions they cover.
    pub fn compact(&self) -> Result<(), LedgerError> {
        let pending = self.pending()?;
        if pending.settled_in_journal.is_empty() {
            return Ok(());
        }
        let seen_path = self.tally.seen_path();
        let (_, seen_upto) = read_seen(&seen_path)?;
        let mut segment: HashMap<&str, TokenCounts> = HashMap::new();
        for charge in pending
            .settled_in_journal
            .iter()
            .filter(|c| c.seq > seen_upto)
        {
            *segment.entry(charge.event.as_str()).or_default() += charge.tokens;
        }
        if pending.settled_upto > seen_upto {
            let mut text = String::with_capacity(segment.len() * 64 + 32);
            text.push_str("#segment\n");
            for (event, t) in &segment {
                text.push_str(&format!(
                    "{event}\t{}\t{}\t{}\t{}\t{}\n",
                    t.input, t.output, t.cache_write_5m, t.cache_write_1h, t.cache_read
                ));
            }
            text.push_str(&format!("#upto {}\n", pending.settled_upto));
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&seen_path)
                .at(&seen_path)?;
            file.write_all(text.as_bytes()).at(&seen_path)?;
            file.sync_data().at(&seen_path)?;
        }
        let mut records = vec![Record::Base {
            settled_upto: pending.settled_upto,
            next_seq: pending.next_seq,
        }];
        records.extend(pending.charges.into_iter().map(Record::Charge));
        records.extend(pending.proposals.into_iter().map(|p| Record::Propose {
            drain: p.drain,
            upto: p.upto,
            at: String::new(),
        }));
        journal::rewrite(&self.tally.journal_path(), &records)
    }
}

/// Reads complete `seen` segments; returns the per-event totals and the position they cover.
fn read_seen(path: &Path) -> Result<(Seen, u64), LedgerError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Seen::default(), 0)),
        Err(e) => return Err(e).at(path),
    };
    let mut seen = Seen::default();
    let mut upto = 0;
    let mut segment: Vec<(String, TokenCounts)> = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.at(path)?;
        if line == "#segment" {
            segment.clear();
        } else if let Some(position) = line.strip_prefix("#upto ") {
            for (event, tokens) in segment.drain(..) {
                seen.add(&event, tokens);
            }
            upto = position.trim().parse().unwrap_or(upto);
        } else if let Some(entry) = parse_seen_line(&line) {
            segment.push(entry);
        }
    }
    Ok((seen, upto))
}

fn parse_seen_line(line: &str) -> Option<(String, TokenCounts)> {
    let mut fields = line.split('\t');
    let event = fields.next()?.to_string();
    let mut number = || fields.next()?.parse::<u64>().ok();
    let tokens = TokenCounts {
        input: number()?,
        output: number()?,
        cache_write_5m: number()?,
        cache_write_1h: number()?,
        cache_read: number()?,
    };
    Some((event, tokens))
}
