//! The tables of the ledger, their version, and the migrations between versions.
//!
//! `meta.schema_version` says which version wrote the database. Opening applies every
//! migration above it in one transaction; a database newer than this binary is left alone and
//! reported ([`crate::StoreError::NewerSchema`]), so an old hook never damages a new ledger.
//! The tables are documented for users in `docs/ledger.md`.

use rusqlite::{Connection, OptionalExtension};

/// The newest schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 3;

/// Migration `n` takes a database from version `n` to `n + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE worktrees (
    id           INTEGER PRIMARY KEY,
    git_dir      TEXT NOT NULL UNIQUE,
    common_dir   TEXT NOT NULL,
    workdir      TEXT NOT NULL,
    settled_upto INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX worktrees_by_common_dir ON worktrees (common_dir);
CREATE INDEX worktrees_by_workdir ON worktrees (workdir);

CREATE TABLE tracking (
    common_dir TEXT PRIMARY KEY,
    since      TEXT NOT NULL,
    since_ms   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE cursors (
    source TEXT NOT NULL,
    path   BLOB NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;

-- Names that repeat on every event are stored once.
CREATE TABLE agents (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE models (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE sessions (
    id    INTEGER PRIMARY KEY,
    agent INTEGER NOT NULL REFERENCES agents (id),
    name  TEXT NOT NULL,
    UNIQUE (agent, name)
);
CREATE TABLE places (
    id     INTEGER PRIMARY KEY,
    cwd    TEXT NOT NULL,
    branch TEXT NOT NULL,
    UNIQUE (cwd, branch)
);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    agent          INTEGER NOT NULL REFERENCES agents (id),
    key            TEXT NOT NULL,
    variant        INTEGER NOT NULL,
    sidechain      INTEGER NOT NULL,
    session        INTEGER NOT NULL REFERENCES sessions (id),
    model          INTEGER NOT NULL REFERENCES models (id),
    speed          TEXT,
    ts_ms          INTEGER,
    place          INTEGER NOT NULL REFERENCES places (id),
    worktree       INTEGER REFERENCES worktrees (id),
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    unit           TEXT,
    quantity       INTEGER,
    source_cost    INTEGER,
    UNIQUE (agent, key)
);

CREATE TABLE drains (
    id           INTEGER PRIMARY KEY,
    drain        TEXT NOT NULL UNIQUE,
    worktree     INTEGER REFERENCES worktrees (id),
    first_charge INTEGER,
    upto         INTEGER NOT NULL,
    state       TEXT NOT NULL,
    since_ms    INTEGER,
    proposed_at TEXT,
    settled_at  TEXT,
    commit_id   TEXT
);
CREATE INDEX drains_open ON drains (worktree) WHERE state = 'proposed';

-- AUTOINCREMENT: a charge id is never handed out twice, even after the highest charges were
-- rewritten, so a drain's range never takes in a charge recorded after it was proposed.
CREATE TABLE charges (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event          INTEGER NOT NULL REFERENCES events (id),
    worktree       INTEGER REFERENCES worktrees (id),
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    quantity       INTEGER,
    source_cost    INTEGER
);
CREATE INDEX charges_by_worktree ON charges (worktree, id);
CREATE INDEX charges_by_event ON charges (event);

-- Running sums of pending charges (see crates/agent-cost-store/src/pending.rs).
CREATE TABLE pending_groups (
    worktree         INTEGER NOT NULL,
    agent            INTEGER NOT NULL,
    model            INTEGER NOT NULL,
    speed            TEXT NOT NULL,
    prompt_class     INTEGER NOT NULL,
    unit             TEXT NOT NULL,
    minute           INTEGER NOT NULL,
    input            INTEGER NOT NULL,
    output           INTEGER NOT NULL,
    cache_write_5m   INTEGER NOT NULL,
    cache_write_1h   INTEGER NOT NULL,
    cache_read       INTEGER NOT NULL,
    requests         INTEGER NOT NULL,
    quantity         INTEGER NOT NULL,
    source_cost      INTEGER NOT NULL,
    charges          INTEGER NOT NULL,
    with_source_cost INTEGER NOT NULL,
    PRIMARY KEY (worktree, agent, model, speed, prompt_class, unit, minute)
) WITHOUT ROWID;
CREATE TABLE pending_sessions (
    worktree INTEGER NOT NULL,
    session  INTEGER NOT NULL,
    minute   INTEGER NOT NULL,
    charges  INTEGER NOT NULL,
    PRIMARY KEY (worktree, session, minute)
) WITHOUT ROWID;

-- Events with their names, as people and other tools want to read them.
CREATE VIEW usage_events AS
SELECT e.id, a.name AS agent, e.key, s.name AS session, m.name AS model, e.speed,
       e.ts_ms, strftime('%Y-%m-%dT%H:%M:%fZ', e.ts_ms / 1000.0, 'unixepoch') AS ts,
       p.cwd, NULLIF(p.branch, '') AS branch, w.workdir AS worktree, e.sidechain,
       e.input, e.output, e.cache_write_5m, e.cache_write_1h, e.cache_read, e.requests,
       e.unit, e.quantity, e.source_cost
FROM events e
JOIN agents a ON a.id = e.agent
JOIN sessions s ON s.id = e.session
JOIN models m ON m.id = e.model
JOIN places p ON p.id = e.place
LEFT JOIN worktrees w ON w.id = e.worktree;

-- Charges with their event's names and the drain that settled them (NULL: pending). A drain
-- settles a worktree's charges from first_charge to upto; those of events logged before its
-- since_ms were not written into the commit (spend from before tracking began).
CREATE VIEW usage_charges AS
SELECT c.id, c.event, u.agent, u.model, u.session, u.ts, u.worktree, c.input, c.output,
       c.cache_write_5m, c.cache_write_1h, c.cache_read, c.requests, c.quantity, u.unit,
       c.source_cost, d.drain, d.commit_id,
       (d.id IS NOT NULL AND d.since_ms IS NOT NULL AND u.ts_ms < d.since_ms) AS before_tracking
FROM charges c
JOIN usage_events u ON u.id = c.event
LEFT JOIN drains d ON d.worktree = c.worktree AND d.state = 'settled'
    AND c.id BETWEEN d.first_charge AND d.upto;
"#,
    r#"
-- What the reads of each file found, for `agent-cost sources`: counts since the file was
-- last read from its start, and when it last had something new.
CREATE TABLE source_files (
    source       TEXT NOT NULL,
    path         BLOB NOT NULL,
    lines        INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    synthetic    INTEGER NOT NULL,
    malformed    INTEGER NOT NULL,
    implausible  INTEGER NOT NULL,
    oversize     INTEGER NOT NULL,
    restarts     INTEGER NOT NULL,
    error        TEXT,
    last_read_ms INTEGER NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;

-- A session's events (the status line's "this session").
CREATE INDEX events_by_session ON events (session);

-- What a person said of a manual entry (`agent-cost log`).
CREATE TABLE entry_details (
    event        INTEGER PRIMARY KEY REFERENCES events (id),
    work_type    TEXT NOT NULL,
    elapsed_secs INTEGER,
    note         TEXT
);
"#,
    r#"
-- Charges from before tracking that `agent-cost backfill` wrote into git notes
-- (refs/notes/ai-cost), each under one drain: a row of `drains` without a charge range
-- (first_charge NULL), 'proposed' until its note is written, then 'settled'.
CREATE TABLE backfills (
    charge INTEGER PRIMARY KEY REFERENCES charges (id),
    drain  INTEGER NOT NULL REFERENCES drains (id)
);
CREATE INDEX backfills_by_drain ON backfills (drain);
-- The note text of each backfill drain, so that a run killed before writing it writes the
-- same block again.
CREATE TABLE backfill_notes (
    drain INTEGER PRIMARY KEY REFERENCES drains (id),
    note  TEXT NOT NULL
);

DROP VIEW usage_charges;
-- Charges with their event's names and the drain that settled them (NULL: pending). A drain
-- settles a worktree's charges from first_charge to upto; those of events logged before its
-- since_ms were not written into the commit (spend from before tracking began), unless
-- `agent-cost backfill` wrote them into a note (`backfilled`: the drain and commit are the
-- note's).
CREATE VIEW usage_charges AS
SELECT c.id, c.event, u.agent, u.model, u.session, u.ts, u.worktree, c.input, c.output,
       c.cache_write_5m, c.cache_write_1h, c.cache_read, c.requests, c.quantity, u.unit,
       c.source_cost,
       COALESCE(bd.drain, d.drain) AS drain,
       COALESCE(bd.commit_id, d.commit_id) AS commit_id,
       (bd.id IS NULL AND d.id IS NOT NULL AND d.since_ms IS NOT NULL AND u.ts_ms < d.since_ms)
           AS before_tracking,
       (bd.id IS NOT NULL) AS backfilled
FROM charges c
JOIN usage_events u ON u.id = c.event
LEFT JOIN backfills b ON b.charge = c.id
LEFT JOIN drains bd ON bd.id = b.drain AND bd.state = 'settled'
LEFT JOIN drains d ON bd.id IS NULL AND d.worktree = c.worktree AND d.state = 'settled'
    AND c.id BETWEEN d.first_charge AND d.upto;
"#,
];

/// The version a database is at (0 for a new, empty one).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_meta: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if !has_meta {
        return Ok(0);
    }
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Applies the migrations from `from` up to [`SCHEMA_VERSION`] (inside the caller's
/// transaction).
pub fn migrate(conn: &Connection, from: i64) -> rusqlite::Result<()> {
    for migration in MIGRATIONS.iter().skip(from.max(0) as usize) {
        conn.execute_batch(migration)?;
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SCHEMA_VERSION.to_string()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_version_database_gains_the_read_counts_and_keeps_its_rows() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "INSERT INTO meta (key, value) VALUES ('schema_version', '1');
             INSERT INTO cursors (source, path, state) VALUES ('claude-code', x'2f61', 'c');",
        )
        .unwrap();
        assert_eq!(version(&conn).unwrap(), 1);
        migrate(&conn, 1).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let cursors: i64 = conn
            .query_row("SELECT COUNT(*) FROM cursors", [], |row| row.get(0))
            .unwrap();
        assert_eq!(cursors, 1);
        let files: i64 = conn
            .query_row("SELECT COUNT(*) FROM source_files", [], |row| row.get(0))
            .unwrap();
        assert_eq!(files, 0);
    }
}
