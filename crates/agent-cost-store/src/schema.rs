//! The tables of the ledger, their version, and the migrations between versions.
//!
//! `meta.schema_version` says which version wrote the database. Opening applies every
//! migration above it in one transaction; a database newer than this binary is left alone and
//! reported ([`crate::StoreError::NewerSchema`]), so an old hook never damages a new ledger.
//! The tables are documented for users in `docs/ledger.md`.

use rusqlite::{Connection, OptionalExtension};

/// The newest schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Migration `n` takes a database from version `n` to `n + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE worktrees (
    id         INTEGER PRIMARY KEY,
    git_dir    TEXT NOT NULL UNIQUE,
    common_dir TEXT NOT NULL,
    workdir    TEXT NOT NULL
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

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    agent          TEXT NOT NULL,
    key            TEXT NOT NULL,
    variant        TEXT NOT NULL,
    sidechain      INTEGER NOT NULL,
    session        TEXT NOT NULL,
    model          TEXT NOT NULL,
    speed          TEXT,
    ts             TEXT NOT NULL,
    ts_ms          INTEGER,
    cwd            TEXT NOT NULL,
    branch         TEXT,
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
    id          INTEGER PRIMARY KEY,
    drain       TEXT NOT NULL UNIQUE,
    worktree    INTEGER REFERENCES worktrees (id),
    upto        INTEGER NOT NULL,
    state       TEXT NOT NULL,
    since_ms    INTEGER,
    proposed_at TEXT,
    settled_at  TEXT,
    commit_id   TEXT
);
CREATE INDEX drains_open ON drains (worktree) WHERE state = 'proposed';

CREATE TABLE charges (
    id             INTEGER PRIMARY KEY,
    event          INTEGER NOT NULL REFERENCES events (id),
    worktree       INTEGER REFERENCES worktrees (id),
    input          INTEGER NOT NULL,
    output         INTEGER NOT NULL,
    cache_write_5m INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    quantity       INTEGER,
    source_cost    INTEGER,
    drain          INTEGER REFERENCES drains (id)
);
CREATE INDEX charges_pending ON charges (worktree, id) WHERE drain IS NULL;
CREATE INDEX charges_by_event ON charges (event);
CREATE INDEX charges_by_drain ON charges (drain);
"#];

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
