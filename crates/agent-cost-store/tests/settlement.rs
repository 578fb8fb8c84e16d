//! A drain settles exactly the charges that were pending when it was proposed: a charge
//! recorded after the proposal stays pending, even when a rewrite replaced charges at the top of
//! the id space in between; and what a proposed block carries is never rewritten.

mod common;

use agent_cost_events::UsageEvent;
use agent_cost_store::Store;
use common::{request, scratch_store};

fn copy(key: &str, variant: &str, sidechain: bool, output: u64) -> UsageEvent {
    let mut copy = request(key, output);
    copy.variant = variant.to_string();
    copy.sidechain = sidechain;
    copy.tokens.input = 100;
    copy.model = "claude-sonnet-4-5".to_string();
    copy
}

fn pending_output(store: &mut Store, worktree: i64) -> (u64, u64) {
    let tx = store.write().unwrap();
    let pending = tx.pending(Some(worktree), None).unwrap();
    (
        pending.groups.iter().map(|g| g.requests).sum(),
        pending.groups.iter().map(|g| g.tokens.output).sum(),
    )
}

#[test]
fn a_charge_recorded_after_a_proposal_is_not_settled_by_it() {
    let (_dir, mut store, worktree) = scratch_store();
    // A sidechain replay of msg_r is streamed (two copies: a charge and its growth).
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&worktree).unwrap();
    tx.record(&copy("msg_r", "req_side", true, 100), Some(id))
        .unwrap();
    tx.record(&copy("msg_r", "req_side", true, 150), Some(id))
        .unwrap();
    // prepare-commit-msg proposes a drain covering both charges (output 150 in the block).
    let pending = tx.pending(Some(id), None).unwrap();
    tx.propose(id, "00000000000000d1", pending.last_charge, None)
        .unwrap();
    tx.commit().unwrap();

    // Before post-commit, an ingest reads the main-chain copy of msg_r (which would replace
    // the replay's charges), then a new request msg_new.
    let tx = store.write().unwrap();
    tx.record(&copy("msg_r", "req_main", false, 120), Some(id))
        .unwrap();
    tx.record(&copy("msg_new", "req_new", false, 1000), Some(id))
        .unwrap();
    tx.commit().unwrap();

    // post-commit settles the drain the commit carried: msg_r as the block wrote it (150).
    let tx = store.write().unwrap();
    assert!(tx.settle(id, "00000000000000d1", "c0ffee").unwrap());
    tx.commit().unwrap();
    // msg_new was not in the commit: still pending, and nothing of msg_r is pending again.
    assert_eq!(pending_output(&mut store, id), (1, 1000));
}

#[test]
fn an_aborted_proposal_leaves_the_rewritten_request_pending_once() {
    let (_dir, mut store, worktree) = scratch_store();
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&worktree).unwrap();
    tx.record(&copy("msg_r", "req_side", true, 100), Some(id))
        .unwrap();
    let pending = tx.pending(Some(id), None).unwrap();
    // A proposal that is never committed (the commit was aborted).
    tx.propose(id, "00000000000000d2", pending.last_charge, None)
        .unwrap();
    // The main-chain copy is larger: only the difference is added, the proposed part stays.
    tx.record(&copy("msg_r", "req_main", false, 400), Some(id))
        .unwrap();
    tx.commit().unwrap();
    // One request, carried whole by the next drain.
    assert_eq!(pending_output(&mut store, id), (1, 400));
}
