//! A held database: the transactions made while it is held are savepoints of one, kept only
//! when it is released, each still rolled back alone when it is not committed.

mod common;

use std::time::Duration;

use agent_cost_store::Store;
use common::{request, scratch_store};

fn events_in(store: &mut Store) -> i64 {
    let tx = store.read().unwrap();
    tx.connection()
        .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
        .unwrap()
}

/// A held store in a temp dir whose first savepoint recorded one event (`msg_1`), with the
/// worktree's id.
fn held_with_one_event() -> (tempfile::TempDir, Store, i64) {
    let (dir, mut store, worktree) = scratch_store();
    store.hold().unwrap();
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&worktree).unwrap();
    tx.record(&request("msg_1", 10), Some(id)).unwrap();
    tx.commit().unwrap();
    (dir, store, id)
}

#[test]
fn what_is_written_while_held_is_kept_only_when_released() {
    let (dir, mut store, id) = held_with_one_event();
    // A savepoint that is not committed takes back its own writes only.
    let tx = store.write().unwrap();
    tx.record(&request("msg_2", 10), Some(id)).unwrap();
    drop(tx);
    assert_eq!(events_in(&mut store), 1);
    // Another connection sees nothing until the release.
    let mut other = Store::open(dir.path(), Duration::from_secs(5)).unwrap();
    assert_eq!(events_in(&mut other), 0);
    store.release().unwrap();
    assert_eq!(events_in(&mut other), 1);
    // Released, transactions are transactions again.
    let tx = store.write().unwrap();
    tx.record(&request("msg_3", 10), Some(id)).unwrap();
    tx.commit().unwrap();
    assert_eq!(events_in(&mut other), 2);
}

#[test]
fn a_held_store_dropped_without_release_keeps_nothing() {
    let (dir, store, _) = held_with_one_event();
    drop(store);
    let mut reopened = Store::open(dir.path(), Duration::from_secs(5)).unwrap();
    assert_eq!(events_in(&mut reopened), 0);
}

#[test]
fn a_held_store_keeps_other_writers_out_until_released() {
    let (dir, mut store, _worktree) = scratch_store();
    store.hold().unwrap();
    let mut other = Store::open(dir.path(), Duration::from_millis(50)).unwrap();
    assert!(
        other.write().is_err(),
        "a second writer waits, then gives up"
    );
    store.release().unwrap();
    other.write().unwrap().commit().unwrap();
}
