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
