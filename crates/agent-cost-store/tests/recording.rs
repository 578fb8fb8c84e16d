//! Recording copies of a request: a copy without a model is an ordinary request, not one of the
//! first ledger's imported events waiting for a description.

mod common;

use agent_cost_events::UsageEvent;
use common::{request, scratch_store};

fn copy(session: &str, timestamp: &str, output: u64) -> UsageEvent {
    let mut copy = request("msg_1", output);
    copy.variant = "req_1".to_string();
    copy.session_id = session.to_string();
    copy.timestamp = timestamp.to_string();
    copy.model = String::new();
    copy.git_branch = None;
    copy
}

#[test]
fn a_request_without_a_model_keeps_the_session_and_time_of_its_first_copy() {
    let (_dir, mut store, worktree) = scratch_store();
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&worktree).unwrap();
    tx.record(&copy("first", "2026-06-01T12:00:00Z", 1), Some(id))
        .unwrap();
    // A resumed session repeats the request with a larger count.
    tx.record(&copy("resumed", "2026-06-02T08:00:00Z", 400), Some(id))
        .unwrap();
    let (session, ts, output): (String, String, i64) = tx
        .connection()
        .query_row(
            "SELECT session, ts, output FROM usage_events WHERE key = 'msg_1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (session.as_str(), ts.as_str(), output),
        ("first", "2026-06-01T12:00:00.000Z", 400)
    );
    let pending = tx.pending(Some(id), None).unwrap();
    assert_eq!(pending.sessions.values().sum::<u64>(), 1);
}

/// Recording a run of copies at once, new events many to a statement, ends exactly as
/// recording them one by one: the same outcomes, events and charges, whether a group of the
/// run is all new, holds repeats of known events, or repeats of its own earlier copies.
#[test]
fn recording_a_run_matches_recording_one_by_one() {
    let mut run = Vec::new();
    for n in 0..100u64 {
        // Keys 0..10 are known before the run; in the first two groups every seventh copy
        // repeats an earlier one with more output (the third group is all new); one in eleven
        // is a sidechain replay under another request id.
        let key = if n % 7 == 6 && n < 64 { n / 3 } else { n };
        let mut copy = request(&format!("msg_{key}"), 10 + n);
        if n % 11 == 5 {
            copy.variant = format!("other_{n}");
            copy.sidechain = true;
        }
        copy.tokens.cache_read = if n % 13 == 0 { 150_000 } else { n };
        run.push(copy);
    }
    let known: Vec<_> = (0..10u64)
        .map(|n| request(&format!("msg_{n}"), 5))
        .collect();
    let state = |batched: bool| {
        let (_dir, mut store, worktree) = scratch_store();
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&worktree).unwrap();
        for copy in &known {
            tx.record(copy, Some(id)).unwrap();
        }
        tx.defer_charges();
        let outcomes = if batched {
            let pairs: Vec<_> = run.iter().map(|copy| (copy, Some(id))).collect();
            tx.record_all(&pairs).unwrap()
        } else {
            run.iter()
                .map(|copy| tx.record(copy, Some(id)).unwrap())
                .collect()
        };
        tx.commit().unwrap();
        let tx = store.read().unwrap();
        let rows = |sql: &str| -> Vec<Vec<Option<i64>>> {
            let mut statement = tx.connection().prepare(sql).unwrap();
            let width = statement.column_count();
            statement
                .query_map([], |row| (0..width).map(|i| row.get(i)).collect())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        (
            format!("{outcomes:?}"),
            rows(
                "SELECT id, variant, sidechain, input, output, cache_read, requests FROM events ORDER BY id",
            ),
            rows(
                "SELECT id, event, worktree, output, cache_read, requests FROM charges ORDER BY id",
            ),
            rows(
                "SELECT worktree, model, prompt_class, minute, output, cache_read, requests, charges FROM pending_groups ORDER BY 1, 2, 3, 4",
            ),
        )
    };
    assert_eq!(state(true), state(false));
}

/// A source that reports each request's cost (OpenCode, manual entries) keeps it through a
/// repeat that grows or replaces the counts: the pending group stays wholly priced by the
/// source, at the latest copy's cost.
#[test]
fn a_repeat_with_a_cost_carries_the_cost_of_its_growth() {
    use agent_cost_events::{Money, RepeatRule};
    let (_dir, mut store, worktree) = scratch_store();
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&worktree).unwrap();
    let priced = |key: &str, output: u64, micros: u64, repeat: RepeatRule| {
        let mut copy = request(key, output);
        copy.source_cost = Some(Money::from_micros(micros));
        copy.repeat = repeat;
        copy
    };
    tx.record(
        &priced("grows", 100, 4_000, RepeatRule::LargestCopy),
        Some(id),
    )
    .unwrap();
    tx.record(
        &priced("grows", 300, 5_000, RepeatRule::LargestCopy),
        Some(id),
    )
    .unwrap();
    tx.record(
        &priced("shrinks", 300, 9_000, RepeatRule::Replace),
        Some(id),
    )
    .unwrap();
    tx.record(
        &priced("shrinks", 200, 6_000, RepeatRule::Replace),
        Some(id),
    )
    .unwrap();
    let pending = tx.pending(Some(id), None).unwrap();
    let charges: u64 = pending.groups.iter().map(|g| g.charges).sum();
    let with_cost: u64 = pending
        .groups
        .iter()
        .map(|g| g.charges_with_source_cost)
        .sum();
    let cost = pending
        .groups
        .iter()
        .fold(Money::ZERO, |sum, g| Money(sum.0 + g.source_cost.0));
    assert_eq!(with_cost, charges);
    assert_eq!(cost, Money::from_micros(11_000));
    let output: u64 = pending.groups.iter().map(|g| g.tokens.output).sum();
    assert_eq!(output, 500);
}
