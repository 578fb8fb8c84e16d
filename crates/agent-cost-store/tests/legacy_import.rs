//! Importing the first ledger's files: what each old fact becomes in the store, and that the
//! import happens once, whole or not at all.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_cost_events::{TokenCounts, UsageEvent};
use agent_cost_git::Worktree;
use agent_cost_store::import::imported_drain;
use agent_cost_store::legacy::event_key;
use agent_cost_store::{PendingSpend, Recorded, Store, StoreError, Tx};
use common::request;
use serde_json::json;

struct Env {
    _tmp: tempfile::TempDir,
    state: PathBuf,
    worktree: Worktree,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let workdir = root.join("repo");
        let git_dir = workdir.join(".git");
        std::fs::create_dir_all(&git_dir).unwrap();
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        Env {
            state: root.join("state"),
            worktree: Worktree {
                workdir,
                common_dir: git_dir.clone(),
                git_dir,
            },
            _tmp: tmp,
        }
    }

    fn store(&self) -> Store {
        Store::open(&self.state, Duration::from_secs(5)).unwrap()
    }

    /// The old tally directory of the worktree.
    fn tally(&self) -> PathBuf {
        self.worktree.git_dir.join("agent-cost")
    }

    fn retired(&self) -> PathBuf {
        self.worktree.git_dir.join("agent-cost.imported-v1")
    }

    /// Imports the worktree's old tally in one transaction; returns its row id.
    fn import(&self, store: &mut Store) -> i64 {
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&self.worktree).unwrap();
        tx.import_legacy_worktree(&self.worktree, id).unwrap();
        tx.commit().unwrap();
        id
    }
}

fn charge(seq: u64, event: &str, out: u64, requests: u64) -> serde_json::Value {
    json!({"charge": {"seq": seq, "event": event, "agent": "claude-code", "session": "s1",
        "model": "claude-sonnet-4-5-20250929", "ts": "2026-06-01T12:00:00Z",
        "tokens": {"input": 0, "output": out, "cache_write_5m": 0, "cache_write_1h": 0,
            "cache_read": 0},
        "requests": requests, "branch": "main"}})
}

fn write_journal(dir: &Path, records: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).unwrap();
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("journal"), text).unwrap();
}

/// Writes `seen/<shard>` lines `seq event output`; the shard a line is in does not matter.
fn write_shard(dir: &Path, shard: &str, lines: &[(u64, &str, u64)]) {
    let seen = dir.join("seen");
    std::fs::create_dir_all(&seen).unwrap();
    let text: String = lines
        .iter()
        .map(|(seq, event, out)| format!("{seq}\t{event}\t0\t{out}\t0\t0\t0\n"))
        .collect();
    std::fs::write(seen.join(shard), text).unwrap();
    std::fs::write(
        seen.join("watermark"),
        r#"{"upto":1,"journal_inode":0,"journal_offset":0}"#,
    )
    .unwrap();
}

/// A copy of a Claude Code request as the source reads it now.
fn copy(key: &str, out: u64) -> UsageEvent {
    let mut copy = request(key, out);
    copy.cwd = "/somewhere".into();
    copy
}

/// Pending output tokens and requests of a worktree (`None`: unattributed), after checking
/// that the running sums the store reads them from equal its pending charges summed one by one.
fn pending(store: &mut Store, worktree: Option<i64>) -> (u64, u64) {
    let tx = store.read().unwrap();
    let spend = tx.pending(worktree, None).unwrap();
    assert_eq!(
        summed(&spend),
        brute_force(&tx, worktree),
        "running sums of {worktree:?}"
    );
    (
        spend.groups.iter().map(|g| g.tokens.output).sum(),
        spend.groups.iter().map(|g| g.requests).sum(),
    )
}

/// What a tally has pending, per (agent, model, prompt class): tokens, requests, charges.
type Groups = Vec<(String, String, u64, TokenCounts, u64, u64)>;

/// The pending spend as the running sums give it: its groups, distinct sessions, last charge.
fn summed(spend: &PendingSpend) -> (Groups, u64, i64) {
    let mut groups: Groups = spend
        .groups
        .iter()
        .filter(|g| g.charges > 0)
        .map(|g| {
            (
                g.agent.clone(),
                g.model.clone(),
                g.min_prompt_tokens,
                g.tokens,
                g.requests,
                g.charges,
            )
        })
        .collect();
    groups.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    (groups, spend.sessions.values().sum(), spend.last_charge)
}

/// The same, from the pending charges summed one by one, the slow way.
fn brute_force(tx: &Tx<'_>, worktree: Option<i64>) -> (Groups, u64, i64) {
    let pending = "FROM charges c JOIN events e ON e.id = c.event
         JOIN agents a ON a.id = e.agent JOIN models m ON m.id = e.model
         LEFT JOIN worktrees w ON w.id = c.worktree
         WHERE c.worktree IS ?1 AND c.id > COALESCE(w.settled_upto, 0)";
    let mut statement = tx
        .connection()
        .prepare(&format!(
            "SELECT a.name, m.name,
                 CASE WHEN e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read > 200000
                      THEN 200001
                      WHEN e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read > 128000
                      THEN 128001 ELSE 0 END,
                 SUM(c.input), SUM(c.output), SUM(c.cache_write_5m), SUM(c.cache_write_1h),
                 SUM(c.cache_read), SUM(c.requests), COUNT(*)
             {pending} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ))
        .unwrap();
    let groups: Groups = statement
        .query_map([worktree], |row| {
            let mut fields = [0u64; 5];
            for (i, field) in fields.iter_mut().enumerate() {
                *field = row.get::<_, i64>(3 + i)? as u64;
            }
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, i64>(2)? as u64,
                TokenCounts::from_fields(fields),
                row.get::<_, i64>(8)? as u64,
                row.get::<_, i64>(9)? as u64,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (sessions, last): (i64, i64) = tx
        .connection()
        .query_row(
            &format!("SELECT COUNT(DISTINCT e.session), COALESCE(MAX(c.id), 0) {pending}"),
            [worktree],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    (groups, sessions as u64, last)
}

fn record(store: &mut Store, event: &UsageEvent, worktree: i64) -> Recorded {
    let tx = store.write().unwrap();
    let recorded = tx.record(event, Some(worktree)).unwrap();
    tx.commit().unwrap();
    recorded
}

/// A tally as the first ledger left it after one settled drain: `msg_s` settled (compacted
/// away from the journal, known from the shards), `msg_a` and `msg_b` pending, and a
/// proposal covering `msg_a` whose commit had no post-commit yet.
fn one_settled_two_pending_one_proposal(env: &Env) {
    write_shard(&env.tally(), "3f", &[(1, "claude:msg_s", 100)]);
    write_journal(
        &env.tally(),
        &[
            json!({"base": {"settled_upto": 1, "next_seq": 2}}),
            charge(2, "claude:msg_a", 10, 1),
            charge(3, "claude:msg_b", 20, 1),
            json!({"propose": {"drain": "d-old", "upto": 2, "at": "2026-06-01T13:00:00Z"}}),
        ],
    );
    // The shards hold pending charges too.
    write_shard(
        &env.tally(),
        "a0",
        &[(2, "claude:msg_a", 10), (3, "claude:msg_b", 20)],
    );
}

#[test]
fn pending_charges_settled_events_and_proposals_are_imported() {
    let env = Env::new();
    one_settled_two_pending_one_proposal(&env);
    let mut store = env.store();
    let worktree = env.import(&mut store);

    assert_eq!(pending(&mut store, Some(worktree)), (30, 2));
    let tx = store.read().unwrap();
    let proposals = tx.outstanding(worktree).unwrap();
    assert_eq!(proposals.len(), 1);
    assert_eq!(proposals[0].drain, "d-old");
    let msg_a_charge: i64 = tx
        .connection()
        .query_row(
            "SELECT c.id FROM charges c JOIN events e ON e.id = c.event WHERE e.key = 'msg_a'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(proposals[0].upto, msg_a_charge);
    let settled: (String, i64) = tx
        .connection()
        .query_row(
            "SELECT d.drain, c.output FROM charges c JOIN drains d
                 ON d.worktree = c.worktree AND d.state = 'settled'
                 AND c.id BETWEEN d.first_charge AND d.upto
             JOIN events e ON e.id = c.event WHERE e.key = 'msg_s'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(settled, (imported_drain(Some(worktree)), 100));
    drop(tx);
    assert!(!env.tally().exists(), "the old directory is renamed");
    assert!(env.retired().join("journal").exists(), "and kept");

    // The proposal settles when its commit is found; what it did not cover stays pending.
    let tx = store.write().unwrap();
    assert!(tx.settle(worktree, "d-old", "c0ffee").unwrap());
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(worktree)), (20, 1));

    // Reading the transcripts again charges nothing that was already charged...
    for (key, out) in [("msg_s", 100), ("msg_a", 10), ("msg_b", 20)] {
        assert_eq!(
            record(&mut store, &copy(key, out), worktree),
            Recorded::Duplicate
        );
    }
    assert_eq!(pending(&mut store, Some(worktree)), (20, 1));
    // ...and an event known only from the shards takes the description of its copy.
    let model: String = store
        .read()
        .unwrap()
        .connection()
        .query_row(
            "SELECT m.name FROM events e JOIN models m ON m.id = e.model WHERE e.key = 'msg_s'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(model, "claude-sonnet-4-5-20250929");
    // A longer copy than the old ledger saw charges only the growth.
    assert_eq!(
        record(&mut store, &copy("msg_s", 130), worktree),
        Recorded::Grew
    );
    assert_eq!(pending(&mut store, Some(worktree)), (50, 1));
}

#[test]
fn a_proposal_covers_exactly_the_old_positions_up_to_its_upto() {
    let env = Env::new();
    // msg_a, then msg_b, then a top-up of msg_a; the proposal covers the first two only.
    write_journal(
        &env.tally(),
        &[
            charge(1, "claude:msg_a", 10, 1),
            charge(2, "claude:req:r_b", 20, 1),
            json!({"propose": {"drain": "d1", "upto": 2, "at": ""}}),
            charge(3, "claude:msg_a", 5, 0),
        ],
    );
    let mut store = env.store();
    let worktree = env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (35, 2));
    let tx = store.write().unwrap();
    assert!(tx.settle(worktree, "d1", "c1").unwrap());
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(worktree)), (5, 0), "the top-up");
    let keys: Vec<String> = {
        let tx = store.read().unwrap();
        let mut statement = tx
            .connection()
            .prepare("SELECT key FROM events ORDER BY key")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(keys, ["msg_a", "req:r_b"]);
}

#[test]
fn an_event_drained_before_and_topped_up_after_keeps_both_parts() {
    let env = Env::new();
    write_journal(
        &env.tally(),
        &[
            charge(1, "claude:msg_t", 100, 1),
            json!({"propose": {"drain": "d1", "upto": 1, "at": ""}}),
            json!({"settle": {"drain": "d1", "upto": 1, "commit": "c1"}}),
            charge(2, "claude:msg_t", 5, 0),
        ],
    );
    let mut store = env.store();
    let worktree = env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (5, 0));
    let tx = store.read().unwrap();
    assert!(tx.outstanding(worktree).unwrap().is_empty());
    let parts: Vec<(i64, bool)> = {
        let mut statement = tx
            .connection()
            .prepare(
                "SELECT c.output, EXISTS (SELECT 1 FROM drains d
                     WHERE d.worktree = c.worktree AND d.state = 'settled'
                       AND c.id BETWEEN d.first_charge AND d.upto)
                 FROM charges c ORDER BY c.id",
            )
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(parts, [(100, true), (5, false)]);
    drop(tx);
    assert_eq!(
        record(&mut store, &copy("msg_t", 105), worktree),
        Recorded::Duplicate
    );
}

#[test]
fn events_read_before_the_import_are_not_charged_twice() {
    let env = Env::new();
    one_settled_two_pending_one_proposal(&env);
    let mut store = env.store();
    // The transcripts were read before the worktree's old tally was imported.
    let worktree = {
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&env.worktree).unwrap();
        for (key, out) in [("msg_s", 100), ("msg_a", 10), ("msg_b", 20), ("msg_new", 1)] {
            assert_eq!(tx.record(&copy(key, out), Some(id)).unwrap(), Recorded::New);
        }
        tx.commit().unwrap();
        id
    };
    assert_eq!(pending(&mut store, Some(worktree)), (131, 4));
    env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (31, 3));
    let tx = store.write().unwrap();
    assert!(tx.settle(worktree, "d-old", "c1").unwrap());
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(worktree)), (21, 2));
}

#[test]
fn the_import_runs_once_and_only_with_its_transaction() {
    let env = Env::new();
    one_settled_two_pending_one_proposal(&env);
    let mut store = env.store();
    {
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&env.worktree).unwrap();
        assert!(
            tx.import_legacy_worktree(&env.worktree, id)
                .unwrap()
                .is_some()
        );
        // Dropped without commit: nothing kept, nothing renamed.
    }
    assert!(env.tally().exists());
    let worktree = env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (30, 2));
    // Killed between the commit and the rename: the old directory is still there.
    std::fs::rename(env.retired(), env.tally()).unwrap();
    let tx = store.write().unwrap();
    assert_eq!(
        tx.import_legacy_worktree(&env.worktree, worktree).unwrap(),
        None
    );
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(worktree)), (30, 2));
    assert!(!env.tally().exists(), "the rename is retried");
    assert!(env.retired().exists());
}

#[test]
fn a_failed_import_keeps_nothing_and_the_transaction_goes_on() {
    let env = Env::new();
    // tracking.json is readable, the journal is not a file.
    std::fs::create_dir_all(env.tally().join("journal")).unwrap();
    std::fs::write(
        env.tally().join("tracking.json"),
        r#"{"since": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let mut store = env.store();
    let tx = store.write().unwrap();
    let id = tx.worktree_id(&env.worktree).unwrap();
    let error = tx.import_legacy_worktree(&env.worktree, id).unwrap_err();
    assert!(matches!(error, StoreError::Legacy { .. }), "{error}");
    let common = env.worktree.common_dir.to_string_lossy();
    assert_eq!(tx.tracking(&common).unwrap(), None);
    assert!(tx.record(&copy("msg_new", 1), Some(id)).is_ok());
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(id)), (1, 1));
    assert!(env.tally().exists(), "left in place, for the next run");
    assert!(!env.retired().exists());

    // Once readable, the next run imports it.
    std::fs::remove_dir(env.tally().join("journal")).unwrap();
    write_journal(&env.tally(), &[charge(1, "claude:msg_a", 10, 1)]);
    env.import(&mut store);
    assert_eq!(pending(&mut store, Some(id)), (11, 2));
    assert_eq!(
        store
            .read()
            .unwrap()
            .tracking(&common)
            .unwrap()
            .unwrap()
            .since,
        "2026-01-01T00:00:00Z"
    );
}

#[test]
fn tracking_is_imported_unless_the_store_has_its_own() {
    let env = Env::new();
    std::fs::create_dir_all(env.tally()).unwrap();
    std::fs::write(
        env.tally().join("tracking.json"),
        r#"{"since": "2025-03-01T00:00:00Z"}"#,
    )
    .unwrap();
    let common = env.worktree.common_dir.to_string_lossy().into_owned();
    let mut store = env.store();
    {
        let tx = store.write().unwrap();
        let ours = agent_cost_store::Tracking::starting("2026-05-01").unwrap();
        tx.set_tracking(&common, &ours).unwrap();
        tx.commit().unwrap();
    }
    env.import(&mut store);
    let since = store.read().unwrap().tracking(&common).unwrap().unwrap();
    assert_eq!(since.since, "2026-05-01T00:00:00Z");

    let other = Env::new();
    std::fs::create_dir_all(other.tally()).unwrap();
    std::fs::write(
        other.tally().join("tracking.json"),
        r#"{"since": "2025-03-01T00:00:00Z"}"#,
    )
    .unwrap();
    let mut store = other.store();
    other.import(&mut store);
    let common = other.worktree.common_dir.to_string_lossy();
    let since = store.read().unwrap().tracking(&common).unwrap().unwrap();
    assert_eq!(since.since, "2025-03-01T00:00:00Z");
    assert_eq!(
        since.since_ms,
        "2025-03-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    );
}

#[test]
fn the_state_directory_brings_the_unattributed_tally_and_cursors_once() {
    let env = Env::new();
    let unattributed = env.state.join("unattributed");
    write_journal(&unattributed, &[charge(1, "claude:msg_u", 7, 1)]);
    let cursor = json!({"offset": 120, "size": 120, "mtime_ns": 5, "inode": 9,
        "window_hash": 77});
    std::fs::write(
        env.state.join("cursors.json"),
        json!({"version": 1, "files": {"/logs/a.jsonl": cursor}}).to_string(),
    )
    .unwrap();
    let mut store = env.store();
    assert_eq!(pending(&mut store, None), (7, 1));
    let saved = store
        .read()
        .unwrap()
        .cursor("claude-code", b"/logs/a.jsonl")
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&saved).unwrap(),
        cursor
    );
    assert!(env.state.join("unattributed.imported-v1/journal").exists());
    assert!(env.state.join("cursors.json.imported-v1").exists());
    assert!(!unattributed.exists());
    drop(store);

    // Killed before the renames: opening again imports nothing twice.
    std::fs::rename(env.state.join("unattributed.imported-v1"), &unattributed).unwrap();
    let mut store = env.store();
    assert_eq!(pending(&mut store, None), (7, 1));
    assert!(!unattributed.exists());
    // The copy read from the transcript is the one already counted.
    let tx = store.write().unwrap();
    assert_eq!(
        tx.record(&copy("msg_u", 7), None).unwrap(),
        Recorded::Duplicate
    );
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, None), (7, 1));
}

#[test]
fn old_event_ids_map_to_the_new_keys() {
    assert_eq!(event_key("claude-code", "claude:msg_01"), "msg_01");
    assert_eq!(event_key("claude-code", "claude:req:req_1"), "req:req_1");
    assert_eq!(event_key("claude-code", "claude:line:u-1"), "line:u-1");
    assert_eq!(
        event_key("claude-code", "claude:hash:00ff00ff00ff00ff"),
        "hash:00ff00ff00ff00ff"
    );
    // Already in the new form (written by a build between the two ledgers).
    assert_eq!(event_key("claude-code", "msg_01"), "msg_01");
    assert_eq!(event_key("codex", "claude:x"), "claude:x");
}

#[test]
fn an_event_both_an_old_worktree_and_the_unattributed_tally_charged_stays_the_worktrees() {
    let env = Env::new();
    write_journal(&env.tally(), &[charge(1, "claude:msg_a", 10, 1)]);
    let mut store = env.store();
    let worktree = env.import(&mut store);
    // The state directory's import failed at the first open and succeeds now.
    write_journal(
        &env.state.join("unattributed"),
        &[
            charge(1, "claude:msg_a", 10, 1),
            charge(2, "claude:msg_u", 7, 1),
        ],
    );
    let imported = store.import_legacy_state().unwrap().unwrap();
    assert_eq!(imported.events, 1);
    assert_eq!(pending(&mut store, Some(worktree)), (10, 1));
    assert_eq!(pending(&mut store, None), (7, 1));
    assert_eq!(store.import_legacy_state().unwrap(), None);
}

/// The groups the pending spend of a tally falls in: (model, prompt class, output, requests).
fn groups(store: &mut Store, worktree: Option<i64>) -> Vec<(String, u64, u64, u64)> {
    let tx = store.read().unwrap();
    let spend = tx.pending(worktree, None).unwrap();
    let mut groups: Vec<_> = spend
        .groups
        .iter()
        .map(|g| {
            (
                g.model.clone(),
                g.min_prompt_tokens,
                g.tokens.output,
                g.requests,
            )
        })
        .collect();
    groups.sort();
    groups
}

#[test]
fn a_pending_charge_only_the_shards_hold_moves_to_its_model_once_described() {
    let env = Env::new();
    // The journal lost the pending charge of msg_p (a torn line); the shards kept it.
    write_journal(
        &env.tally(),
        &[json!({"base": {"settled_upto": 1, "next_seq": 2}})],
    );
    write_shard(
        &env.tally(),
        "3f",
        &[(1, "claude:msg_s", 100), (2, "claude:msg_p", 40)],
    );
    let mut store = env.store();
    let worktree = env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (40, 1));
    assert_eq!(
        groups(&mut store, Some(worktree)),
        [(String::new(), 0, 40, 1)]
    );

    assert_eq!(
        record(&mut store, &copy("msg_p", 40), worktree),
        Recorded::Duplicate
    );
    assert_eq!(pending(&mut store, Some(worktree)), (40, 1));
    let sonnet = "claude-sonnet-4-5-20250929".to_string();
    assert_eq!(
        groups(&mut store, Some(worktree)),
        [(sonnet.clone(), 0, 40, 1)]
    );
    assert_eq!(
        record(&mut store, &copy("msg_p", 50), worktree),
        Recorded::Grew
    );
    assert_eq!(groups(&mut store, Some(worktree)), [(sonnet, 0, 50, 1)]);
}

#[test]
fn an_event_read_before_the_import_takes_the_price_tier_of_the_larger_old_copy() {
    let env = Env::new();
    let mut big = charge(1, "claude:msg_big", 10, 1);
    big["charge"]["tokens"]["input"] = json!(250_000);
    write_journal(&env.tally(), &[big]);
    let mut store = env.store();
    let worktree = {
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&env.worktree).unwrap();
        let mut small = copy("msg_big", 10);
        small.tokens.input = 100;
        assert_eq!(tx.record(&small, Some(id)).unwrap(), Recorded::New);
        tx.commit().unwrap();
        id
    };
    let sonnet = "claude-sonnet-4-5-20250929".to_string();
    assert_eq!(
        groups(&mut store, Some(worktree)),
        [(sonnet.clone(), 0, 10, 1)]
    );
    env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (10, 1));
    assert_eq!(
        groups(&mut store, Some(worktree)),
        [(sonnet, 200_001, 10, 1)]
    );
}

#[test]
fn unattributed_spend_read_before_the_import_becomes_the_worktrees() {
    let env = Env::new();
    write_journal(&env.tally(), &[charge(1, "claude:msg_a", 10, 1)]);
    let mut store = env.store();
    {
        let tx = store.write().unwrap();
        tx.record(&copy("msg_a", 10), None).unwrap();
        tx.record(&copy("msg_u", 3), None).unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(pending(&mut store, None), (13, 2));
    let worktree = env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (10, 1));
    assert_eq!(pending(&mut store, None), (3, 1));
}

#[test]
fn an_import_into_a_worktree_that_already_settled_keeps_every_range_apart() {
    let env = Env::new();
    one_settled_two_pending_one_proposal(&env);
    let mut store = env.store();
    // Before the import: msg_x committed by the store itself, msg_y pending.
    let worktree = {
        let tx = store.write().unwrap();
        let id = tx.worktree_id(&env.worktree).unwrap();
        tx.record(&copy("msg_x", 1000), Some(id)).unwrap();
        let upto = tx.pending(Some(id), None).unwrap().last_charge;
        tx.propose(id, "d-new", upto, None).unwrap();
        assert!(tx.settle(id, "d-new", "beef").unwrap());
        tx.record(&copy("msg_y", 2), Some(id)).unwrap();
        tx.commit().unwrap();
        id
    };
    assert_eq!(pending(&mut store, Some(worktree)), (2, 1));
    env.import(&mut store);
    assert_eq!(pending(&mut store, Some(worktree)), (32, 3));

    // Each settled drain covers exactly its own charges.
    let drains: Vec<(String, String)> = {
        let tx = store.read().unwrap();
        let mut statement = tx
            .connection()
            .prepare(
                "SELECT d.drain, e.key FROM drains d
                 JOIN charges c ON c.worktree = d.worktree
                     AND c.id BETWEEN d.first_charge AND d.upto
                 JOIN events e ON e.id = c.event
                 WHERE d.state = 'settled' ORDER BY c.id",
            )
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let imported = imported_drain(Some(worktree));
    assert_eq!(
        drains,
        [
            ("d-new".to_string(), "msg_x".to_string()),
            (imported, "msg_s".to_string()),
        ]
    );

    // The old proposal covers msg_a only: msg_b and msg_y stay pending.
    let tx = store.write().unwrap();
    assert!(tx.settle(worktree, "d-old", "c0ffee").unwrap());
    tx.commit().unwrap();
    assert_eq!(pending(&mut store, Some(worktree)), (22, 2));
    for (key, out) in [("msg_x", 1000), ("msg_s", 100), ("msg_a", 10), ("msg_y", 2)] {
        assert_eq!(
            record(&mut store, &copy(key, out), worktree),
            Recorded::Duplicate
        );
    }
    assert_eq!(pending(&mut store, Some(worktree)), (22, 2));
}
