//! The index of tokens already charged per event, so that a copy read again is charged only for
//! what it adds.
//!
//! Charges are written to the journal first; the index is a cache of them, kept in 256 shard
//! files (`seen/00` … `seen/ff`, by a hash of the event id) plus `seen/watermark`, which says up
//! to which charge position the shards are complete and where in the journal that position
//! ends. Opening the index reads only the journal after that point, and looking an event up
//! reads only its shard: the cost of a catch-up follows the new events, not the history.
//!
//! Every step can be interrupted: shard lines beyond the watermark are ignored (the journal
//! still has them), and repeated lines (same position) count once.

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use agent_cost_events::TokenCounts;
use agent_cost_sources::tail::fnv1a;
use serde::{Deserialize, Serialize};

use crate::error::{IoResultExt, LedgerError};
use crate::journal::{self, Charge, Record};

/// What the shards hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Watermark {
    /// Every charge with a position up to here is in the shards.
    upto: u64,
    /// The journal file (inode) the offset belongs to.
    journal_inode: u64,
    /// Where, in that journal, the charges after `upto` start.
    journal_offset: u64,
}

/// Tokens charged per event in one tally, loaded shard by shard as events are looked up.
#[derive(Debug)]
pub struct SeenIndex {
    dir: PathBuf,
    watermark: Watermark,
    tail: HashMap<u8, Vec<(String, TokenCounts)>>,
    loaded_shards: HashSet<u8>,
    charged: HashMap<String, TokenCounts>,
    next_seq: u64,
    /// Journal charges beyond the watermark (a run killed before writing its shards): written
    /// with the next [`SeenIndex::persist`], so the watermark never passes a charge the shards
    /// do not hold.
    unpersisted: Vec<Charge>,
}

fn shard_of(event: &str) -> u8 {
    (fnv1a(event.as_bytes()) & 0xff) as u8
}

fn inode(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    return 0;
}

impl SeenIndex {
    /// Opens the index of the tally whose journal is `journal_path` (the caller holds the
    /// tally's lock).
    pub fn open(tally_dir: &Path, journal_path: &Path) -> Result<SeenIndex, LedgerError> {
        let dir = tally_dir.join("seen");
        let watermark = read_watermark(&dir)?;
        let mut index = SeenIndex {
            dir,
            watermark,
            tail: HashMap::new(),
            loaded_shards: HashSet::new(),
            charged: HashMap::new(),
            next_seq: watermark.upto + 1,
            unpersisted: Vec::new(),
        };
        let Some(meta) = std::fs::metadata(journal_path).ok() else {
            return Ok(index);
        };
        let same_file = inode(&meta) == watermark.journal_inode && inode(&meta) != 0;
        let from = if same_file && meta.len() >= watermark.journal_offset {
            watermark.journal_offset
        } else {
            0
        };
        let (contents, _) = journal::read_from(journal_path, from)?;
        for record in contents.records {
            match record {
                Record::Charge(charge) => {
                    index.next_seq = index.next_seq.max(charge.seq + 1);
                    if charge.seq > watermark.upto {
                        index
                            .tail
                            .entry(shard_of(&charge.event))
                            .or_default()
                            .push((charge.event.clone(), charge.tokens));
                        index.unpersisted.push(charge);
                    }
                }
                Record::Base { next_seq, .. } => index.next_seq = index.next_seq.max(next_seq),
                _ => {}
            }
        }
        Ok(index)
    }

    /// The position the next charge gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Tokens charged so far for `event`, if it was ever charged.
    pub fn charged(&mut self, event: &str) -> Result<Option<TokenCounts>, LedgerError> {
        let shard = shard_of(event);
        if self.loaded_shards.insert(shard) {
            self.load_shard(shard)?;
        }
        Ok(self.charged.get(event).copied())
    }

    /// Records a charge made in memory (after it was appended to the journal).
    pub fn record(&mut self, charge: &Charge) {
        *self.charged.entry(charge.event.clone()).or_default() += charge.tokens;
        self.next_seq = self.next_seq.max(charge.seq + 1);
    }

    /// Writes `charges` (just appended to the journal), and any earlier charges the shards
    /// miss, to the shards, and moves the watermark past them.
    pub fn persist(
        &mut self,
        tally_dir: &Path,
        journal_path: &Path,
        charges: &[Charge],
    ) -> Result<(), LedgerError> {
        persist(
            tally_dir,
            journal_path,
            self.unpersisted.iter().chain(charges),
        )?;
        self.unpersisted.clear();
        Ok(())
    }

    fn load_shard(&mut self, shard: u8) -> Result<(), LedgerError> {
        let path = self.dir.join(format!("{shard:02x}"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut positions = HashSet::new();
                for line in text.lines() {
                    let Some((seq, event, tokens)) = parse_shard_line(line) else {
                        continue;
                    };
                    if seq <= self.watermark.upto && positions.insert(seq) {
                        *self.charged.entry(event.to_string()).or_default() += tokens;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(path),
        }
        for (event, tokens) in self.tail.remove(&shard).unwrap_or_default() {
            *self.charged.entry(event).or_default() += tokens;
        }
        Ok(())
    }
}

/// Writes `charges` (already in the journal at `journal_path`) to the shards and moves the
/// watermark past them. The caller holds the tally's lock.
pub fn persist<'a>(
    tally_dir: &Path,
    journal_path: &Path,
    charges: impl IntoIterator<Item = &'a Charge>,
) -> Result<(), LedgerError> {
    let dir = tally_dir.join("seen");
    let current = read_watermark(&dir)?;
    let fresh: Vec<&Charge> = charges
        .into_iter()
        .filter(|c| c.seq > current.upto)
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).at(&dir)?;
    if !dir.join("watermark").exists() {
        // Before any shard line exists, so that a run killed while writing its first shards
        // leaves a watermark of 0 (ignore the shards), not none (trust them).
        write_watermark(&dir, &Watermark::default())?;
    }
    let mut by_shard: HashMap<u8, String> = HashMap::new();
    for charge in &fresh {
        let t = charge.tokens;
        let line = by_shard.entry(shard_of(&charge.event)).or_default();
        line.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            charge.seq,
            charge.event,
            t.input,
            t.output,
            t.cache_write_5m,
            t.cache_write_1h,
            t.cache_read
        ));
    }
    for (shard, text) in by_shard {
        let path = dir.join(format!("{shard:02x}"));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .at(&path)?;
        file.write_all(text.as_bytes()).at(&path)?;
    }
    let meta = std::fs::metadata(journal_path).at(journal_path)?;
    let watermark = Watermark {
        upto: fresh
            .iter()
            .map(|c| c.seq)
            .max()
            .unwrap_or(0)
            .max(current.upto),
        journal_inode: inode(&meta),
        journal_offset: meta.len(),
    };
    write_watermark(&dir, &watermark)
}

fn write_watermark(dir: &Path, watermark: &Watermark) -> Result<(), LedgerError> {
    let path = dir.join("watermark");
    let aside = dir.join("watermark.tmp");
    let text = serde_json::to_string(watermark).map_err(|e| LedgerError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    std::fs::write(&aside, text).at(&aside)?;
    std::fs::rename(&aside, &path).at(&path)
}

fn read_watermark(dir: &Path) -> Result<Watermark, LedgerError> {
    let path = dir.join("watermark");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LedgerError::Corrupt {
            path,
            detail: e.to_string(),
        }),
        // Shards without a watermark: it was deleted (persist writes one before any shard).
        // Trust the shards up to the highest position they mention; read the journal from
        // the top.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Watermark {
            upto: highest_shard_position(dir),
            ..Watermark::default()
        }),
        Err(e) => Err(e).at(path),
    }
}

fn highest_shard_position(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| parse_shard_line(line).map(|(seq, _, _)| seq))
                .max()
        })
        .max()
        .unwrap_or(0)
}

fn parse_shard_line(line: &str) -> Option<(u64, &str, TokenCounts)> {
    let mut fields = line.split('\t');
    let seq = fields.next()?.parse().ok()?;
    let event = fields.next()?;
    let mut number = || fields.next()?.parse::<u64>().ok();
    let tokens = TokenCounts {
        input: number()?,
        output: number()?,
        cache_write_5m: number()?,
        cache_write_1h: number()?,
        cache_read: number()?,
    };
    Some((seq, event, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::Tally;
    use agent_cost_events::Agent;
    use std::time::Duration;

    fn charge(seq: u64, event: &str, output: u64) -> Charge {
        Charge {
            seq,
            event: event.to_string(),
            agent: Agent::ClaudeCode,
            session: "s".into(),
            model: "m".into(),
            ts: "2026-01-01T00:00:00Z".into(),
            tokens: TokenCounts {
                output,
                ..TokenCounts::default()
            },
            requests: 1,
            branch: None,
            speed: None,
        }
    }

    fn output_of(tally: &Tally, event: &str) -> Option<u64> {
        let mut index = SeenIndex::open(tally.dir(), &tally.journal_path()).unwrap();
        index.charged(event).unwrap().map(|t| t.output)
    }

    fn write(tally: &Tally, charges: &[Charge], persisted: bool) {
        let locked = tally.lock(Duration::from_secs(1)).unwrap();
        let records: Vec<Record> = charges.iter().cloned().map(Record::Charge).collect();
        locked.append(&records).unwrap();
        if persisted {
            persist(tally.dir(), &tally.journal_path(), charges).unwrap();
        }
    }

    #[test]
    fn charges_are_found_with_or_without_their_shards_written() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10), charge(2, "b", 20)], true);
        // Killed after the journal append, before the shards: the journal tail covers it.
        write(&tally, &[charge(3, "a", 5)], false);
        assert_eq!(output_of(&tally, "a"), Some(15));
        assert_eq!(output_of(&tally, "b"), Some(20));
        assert_eq!(output_of(&tally, "c"), None);
        let index = SeenIndex::open(tally.dir(), &tally.journal_path()).unwrap();
        assert_eq!(index.next_seq(), 4);
    }

    #[test]
    fn charges_of_a_killed_run_reach_the_shards_with_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10)], true);
        // A run killed after appending to the journal, before writing its shards.
        write(&tally, &[charge(2, "orphan", 7)], false);
        // The next run charges something else and persists through the index.
        let locked = tally.lock(Duration::from_secs(1)).unwrap();
        let mut index = SeenIndex::open(tally.dir(), &tally.journal_path()).unwrap();
        let next = charge(index.next_seq(), "b", 3);
        locked.append(&[Record::Charge(next.clone())]).unwrap();
        index
            .persist(tally.dir(), &tally.journal_path(), &[next])
            .unwrap();
        // Everything is drained and compacted away from the journal.
        let before = locked.pending().unwrap();
        locked.settle("d1", 3, None, before).unwrap();
        drop(locked);
        assert!(tally.peek().unwrap().charges.is_empty());
        assert_eq!(output_of(&tally, "orphan"), Some(7));
        assert_eq!(output_of(&tally, "b"), Some(3));
    }

    #[test]
    fn a_run_killed_during_its_first_shard_writes_leaves_nothing_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10), charge(2, "b", 20)], false);
        // Killed after the initial watermark and one of the two shard lines.
        std::fs::create_dir_all(tally.dir().join("seen")).unwrap();
        write_watermark(&tally.dir().join("seen"), &Watermark::default()).unwrap();
        let shard = tally
            .dir()
            .join("seen")
            .join(format!("{:02x}", shard_of("b")));
        std::fs::write(&shard, "2\tb\t0\t20\t0\t0\t0\n").unwrap();
        assert_eq!(output_of(&tally, "a"), Some(10));
        assert_eq!(output_of(&tally, "b"), Some(20));
        let locked = tally.lock(Duration::from_secs(1)).unwrap();
        let mut index = SeenIndex::open(tally.dir(), &tally.journal_path()).unwrap();
        index
            .persist(tally.dir(), &tally.journal_path(), &[])
            .unwrap();
        let before = locked.pending().unwrap();
        locked.settle("d1", 2, None, before).unwrap();
        drop(locked);
        assert_eq!(output_of(&tally, "a"), Some(10));
        assert_eq!(output_of(&tally, "b"), Some(20));
    }

    #[test]
    fn shard_lines_beyond_the_watermark_are_not_counted_twice() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10)], true);
        write(&tally, &[charge(2, "a", 5)], false);
        // Killed after writing the shard line, before moving the watermark.
        let shard = tally
            .dir()
            .join("seen")
            .join(format!("{:02x}", shard_of("a")));
        let mut text = std::fs::read_to_string(&shard).unwrap();
        text.push_str("2\ta\t0\t5\t0\t0\t0\n");
        std::fs::write(&shard, text).unwrap();
        assert_eq!(output_of(&tally, "a"), Some(15));
        // Writing it properly afterwards (a repeated line) still counts once.
        persist(tally.dir(), &tally.journal_path(), &[charge(2, "a", 5)]).unwrap();
        assert_eq!(output_of(&tally, "a"), Some(15));
    }

    #[test]
    fn settled_charges_stay_known_after_compaction() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10), charge(2, "b", 20)], false);
        let locked = tally.lock(Duration::from_secs(1)).unwrap();
        let before = locked.pending().unwrap();
        locked.settle("d1", 1, None, before).unwrap();
        drop(locked);
        let pending = tally.peek().unwrap();
        assert_eq!(pending.charges.len(), 1, "only b is pending");
        assert_eq!(
            output_of(&tally, "a"),
            Some(10),
            "a left the journal but is still known"
        );
        assert_eq!(output_of(&tally, "b"), Some(20));
        write(&tally, &[charge(3, "c", 1)], true);
        let index = SeenIndex::open(tally.dir(), &tally.journal_path()).unwrap();
        assert_eq!(index.next_seq(), 4);
    }

    #[test]
    fn a_deleted_watermark_falls_back_to_what_the_shards_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let tally = Tally::at(tmp.path().join("t"));
        write(&tally, &[charge(1, "a", 10), charge(2, "b", 20)], true);
        let locked = tally.lock(Duration::from_secs(1)).unwrap();
        let before = locked.pending().unwrap();
        locked.settle("d1", 2, None, before).unwrap();
        drop(locked);
        std::fs::remove_file(tally.dir().join("seen/watermark")).unwrap();
        assert_eq!(output_of(&tally, "a"), Some(10));
        assert_eq!(output_of(&tally, "b"), Some(20));
    }
}
