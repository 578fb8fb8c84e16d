//! The running sums of pending charges always equal the pending charges summed one by one,
//! whatever sequence of copies, replays, shrinking copies, proposals and settlements led there.

mod common;

use agent_cost_events::{RepeatRule, TokenCounts, UsageEvent};
use agent_cost_store::{PendingSpend, Tx};
use common::{request, scratch_store};

/// A small deterministic generator (no dependency needed for a seeded walk).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn event(rng: &mut Rng) -> UsageEvent {
    let id = rng.next(12);
    let sidechain = rng.next(4) == 0;
    let big = rng.next(5) == 0;
    let mut event = request(&format!("msg_{id}"), 0);
    event.variant = format!("req_{}", if sidechain { 100 + id } else { id });
    event.sidechain = sidechain;
    if rng.next(6) == 0 {
        event.repeat = RepeatRule::Replace;
    }
    event.session_id = format!("s{}", rng.next(3));
    event.model = ["claude-sonnet-4-5", "claude-haiku-4-5"][rng.next(2) as usize].to_string();
    // Minutes 0..4 of one hour, so tracking starts split some minutes.
    event.timestamp = format!("2026-06-01T12:0{}:{:02}Z", rng.next(4), rng.next(60));
    event.tokens = TokenCounts {
        input: rng.next(50) + if big { 199_990 } else { 0 },
        output: rng.next(500),
        cache_write_5m: rng.next(20),
        cache_write_1h: 0,
        cache_read: rng.next(900),
    };
    event
}

/// Pending charges summed one by one, the slow way.
fn brute_force(tx: &Tx<'_>, worktree: i64, since_ms: Option<i64>) -> (TokenCounts, u64, u64) {
    let since = since_ms.unwrap_or(i64::MIN);
    tx.connection()
        .query_row(
            "SELECT COALESCE(SUM(c.input), 0), COALESCE(SUM(c.output), 0),
                    COALESCE(SUM(c.cache_write_5m), 0), COALESCE(SUM(c.cache_write_1h), 0),
                    COALESCE(SUM(c.cache_read), 0), COALESCE(SUM(c.requests), 0),
                    COUNT(DISTINCT e.session)
             FROM charges c JOIN events e ON e.id = c.event
             JOIN worktrees w ON w.id = c.worktree
             WHERE c.worktree = ?1 AND c.id > w.settled_upto
               AND (e.ts_ms IS NULL OR e.ts_ms >= ?2)",
            rusqlite::params![worktree, since],
            |row| {
                let mut fields = [0u64; 5];
                for (i, field) in fields.iter_mut().enumerate() {
                    *field = row.get::<_, i64>(i)? as u64;
                }
                Ok((
                    TokenCounts::from_fields(fields),
                    row.get::<_, i64>(5)? as u64,
                    row.get::<_, i64>(6)? as u64,
                ))
            },
        )
        .unwrap()
}

fn summed(spend: &PendingSpend) -> (TokenCounts, u64, u64) {
    let mut tokens = TokenCounts::default();
    let mut requests = 0;
    for group in &spend.groups {
        tokens += group.tokens;
        requests += group.requests;
    }
    (tokens, requests, spend.sessions.values().sum())
}

#[test]
fn running_sums_match_the_charges_after_every_step() {
    for seed in [1u64, 7, 42, 1234, 99_999] {
        let (_dir, mut store, worktree) = scratch_store();
        let mut rng = Rng(seed);
        let mut drains = 0;
        for step in 0..400 {
            let tx = store.write().unwrap();
            let id = tx.worktree_id(&worktree).unwrap();
            match rng.next(10) {
                0 => {
                    let pending = tx.pending(Some(id), None).unwrap();
                    if !pending.is_empty() {
                        drains += 1;
                        let name = format!("{drains:016x}");
                        tx.propose(id, &name, pending.last_charge, None).unwrap();
                        if rng.next(3) > 0 {
                            assert!(tx.settle(id, &name, "c0ffee").unwrap());
                        }
                    }
                }
                _ => {
                    for _ in 0..rng.next(4) + 1 {
                        tx.record(&event(&mut rng), Some(id)).unwrap();
                    }
                }
            }
            let since = match rng.next(3) {
                0 => None,
                _ => Some(1_780_315_200_000 + rng.next(240_000) as i64),
            };
            let fast = summed(&tx.pending(Some(id), since).unwrap());
            assert_eq!(
                fast,
                brute_force(&tx, id, since),
                "seed {seed}, step {step}, since {since:?}"
            );
            tx.commit().unwrap();
        }
    }
}
