//! One tally: the pending spend of a worktree (in `<git-dir>/agent-cost/`) or of everything
//! that ran outside any repository (`$AGENT_COST_HOME/unattributed/`).
//!
//! Files in a tally directory:
//! - `journal`: charges, drain proposals and settlements since the last compaction;
//! - `seen/`: the tokens already charged per event (see [`crate::seen`]), so that an event
//!   re-read after its drain is recognised (only growth is charged again);
//! - `lock`: taken with an OS file lock by every reader that writes.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{IoResultExt, LedgerError};
use crate::journal::{self, Charge, Record};
use crate::seen;

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
#[derive(Debug, Default, Clone)]
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
    /// Settled charges still in the journal (compaction drops them).
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

    /// Applies a settlement to the replayed state, as replaying its record would.
    fn apply_settle(&mut self, drain: &str, upto: u64) {
        self.settled_upto = self.settled_upto.max(upto);
        let settled_upto = self.settled_upto;
        let (done, open): (Vec<Charge>, Vec<Charge>) = std::mem::take(&mut self.charges)
            .into_iter()
            .partition(|c| c.seq <= settled_upto);
        self.charges = open;
        self.settled_in_journal.extend(done);
        self.proposals
            .retain(|p| p.upto > settled_upto && p.drain != drain);
    }

    /// The last charge position now in the tally (what a drain proposed now would cover).
    pub fn last_seq(&self) -> u64 {
        self.charges.last().map_or(self.settled_upto, |c| c.seq)
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

    /// The drains proposed and not settled, read without parsing the charges (cheap even
    /// when much is pending).
    pub fn outstanding(&self) -> Result<Vec<Proposal>, LedgerError> {
        Ok(Pending::replay(journal::read_drains(&self.journal_path())?).proposals)
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

    /// Records that the drain `drain` (covering charges up to `upto`) is in commit `commit`,
    /// then compacts the journal. `before` is the state read under this lock; the state after
    /// settlement is returned, so callers need not read the journal again.
    pub fn settle(
        &self,
        drain: &str,
        upto: u64,
        commit: Option<String>,
        before: Pending,
    ) -> Result<Pending, LedgerError> {
        self.append(&[Record::Settle {
            drain: drain.to_string(),
            upto,
            commit,
        }])?;
        let mut state = before;
        state.apply_settle(drain, upto);
        self.compact(&mut state)?;
        Ok(state)
    }

    /// Drops settled charges and proposals from the journal, keeping it small. The charges are
    /// first made sure to be in the `seen` index. Safe to interrupt at any point.
    fn compact(&self, state: &mut Pending) -> Result<(), LedgerError> {
        if state.settled_in_journal.is_empty() {
            return Ok(());
        }
        let journal_path = self.tally.journal_path();
        let all_charges: Vec<&Charge> = state
            .settled_in_journal
            .iter()
            .chain(&state.charges)
            .collect();
        seen::persist(&self.tally.dir, &journal_path, all_charges)?;
        let mut records = vec![Record::Base {
            settled_upto: state.settled_upto,
            next_seq: state.next_seq,
        }];
        records.extend(state.charges.iter().cloned().map(Record::Charge));
        records.extend(state.proposals.iter().map(|p| Record::Propose {
            drain: p.drain.clone(),
            upto: p.upto,
            at: String::new(),
        }));
        journal::rewrite(&journal_path, &records)?;
        state.settled_in_journal.clear();
        Ok(())
    }
}
