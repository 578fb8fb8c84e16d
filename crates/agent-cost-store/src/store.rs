//! Opening the ledger database and handing out transactions.
//!
//! The database lives in the state directory (`$AGENT_COST_HOME`), created `0700`, the file
//! `0600` (SQLite gives its `-wal` and `-shm` files the same mode). WAL mode lets readers
//! (`status`, reports) run beside a writer; writers take the database with `BEGIN IMMEDIATE`
//! and wait for each other at most the caller's time budget.
//!
//! A caller that makes several transactions in a row (a hook settles, catches up and proposes)
//! may [`Store::hold`] the database: its transactions then become savepoints of one write
//! transaction, which [`Store::release`] commits. One commit writes each changed page once,
//! where three wrote the pages they share three times, and the next process has that much less
//! log to read when it opens the database.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::StoreError;
use crate::schema::{self, SCHEMA_VERSION};

/// The database file's name inside the state directory.
pub const DATABASE_FILE: &str = "ledger.db";

/// `<git-dir>/agent-cost-changes`: grows by a byte after every transaction that changed the
/// worktree's pending spend or its repository's tracking, so that a hook can tell that nothing
/// changed for its worktree without opening the ledger (see `agent-cost-hooks`' `quiet`).
pub const CHANGES_FILE: &str = "agent-cost-changes";

/// SQLite checkpoints the WAL once it holds this many pages (1 MB).
const AUTO_CHECKPOINT_PAGES: i64 = 256;

/// An open ledger database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Set while the database is held (see [`Store::hold`]): what committed savepoints leave
    /// to do once the transaction that holds them commits.
    held: Option<RefCell<AfterCommit>>,
}

/// What is done once a transaction is durable: files of the first ledger it imported are
/// renamed, and the worktrees whose pending spend it changed are told.
#[derive(Default)]
struct AfterCommit {
    retire: Vec<PathBuf>,
    changed: Vec<PathBuf>,
}

impl AfterCommit {
    fn run(self) {
        for imported in self.retire {
            crate::legacy::retire(&imported);
        }
        for git_dir in self.changed {
            note_change(&git_dir);
        }
    }
}

/// A transaction of its own, or a savepoint of the transaction that holds the database.
pub(crate) enum Scope<'a> {
    Transaction(rusqlite::Transaction<'a>),
    Savepoint(rusqlite::Savepoint<'a>),
}

impl std::ops::Deref for Scope<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Scope::Transaction(tx) => tx,
            Scope::Savepoint(savepoint) => savepoint,
        }
    }
}

impl Scope<'_> {
    fn commit(self) -> rusqlite::Result<()> {
        match self {
            Scope::Transaction(tx) => tx.commit(),
            Scope::Savepoint(savepoint) => savepoint.commit(),
        }
    }
}

/// A write transaction; nothing is kept unless [`Tx::commit`] is called.
pub struct Tx<'a> {
    pub(crate) tx: Scope<'a>,
    pub(crate) path: &'a Path,
    /// The held transaction's list of what to do after it commits, when this is a savepoint.
    held: Option<&'a RefCell<AfterCommit>>,
    pub(crate) names: RefCell<crate::names::NameCache>,
    pub(crate) deltas: RefCell<crate::pending::PendingDeltas>,
    /// Files of the first ledger this transaction imported, renamed once it commits.
    pub(crate) retire: RefCell<Vec<PathBuf>>,
    /// Charges not yet written, while they are deferred (see [`Tx::defer_charges`]).
    pub(crate) deferred: RefCell<Option<Vec<crate::record::ChargeRow>>>,
    /// Worktrees whose pending spend or tracking this transaction changed.
    pub(crate) touched: RefCell<std::collections::BTreeSet<i64>>,
}

impl Store {
    /// Opens (creating and migrating if needed) the ledger in `state_dir`, waiting at most
    /// `wait` for another process that holds it. The first ledger's files in `state_dir` are
    /// imported on the way (see [`Store::import_legacy_state`]); an import that fails leaves
    /// them in place for the next open (they only hold the unattributed figure and read
    /// cursors: the transcripts still hold every event).
    pub fn open(state_dir: &Path, wait: Duration) -> Result<Store, StoreError> {
        create_private_dir(state_dir)?;
        let path = state_dir.join(DATABASE_FILE);
        create_private_file(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sqlite(&path, e))?;
        let mut store = Store {
            conn,
            path,
            held: None,
        };
        store.configure(wait)?;
        store.migrate()?;
        let _ = store.import_legacy_state();
        Ok(store)
    }

    /// Opens an existing ledger for reading only, or `None` when there is none yet.
    pub fn open_existing(state_dir: &Path, wait: Duration) -> Result<Option<Store>, StoreError> {
        let path = state_dir.join(DATABASE_FILE);
        if !path.exists() {
            return Ok(None);
        }
        Store::open(state_dir, wait).map(Some)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets how long a statement waits for a writer in another process.
    pub fn set_wait(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(wait)
            .map_err(|e| StoreError::sqlite(&self.path, e))
    }

    fn configure(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.set_wait(wait)?;
        // Every hook is a short process: checkpointing (two fsyncs) and deleting the WAL on
        // each close, then creating it again (a directory fsync), cost more than the hook's
        // work. The WAL stays, and SQLite checkpoints it when it grows past 256 pages (1 MB);
        // the database file itself is read through a memory map rather than a read per page.
        self.conn
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .map_err(|e| StoreError::sqlite(&self.path, e))?;
        // A statement whose WHERE clause is compared with a partial index's (`drains_open`)
        // is otherwise compiled twice: again on its first step after each binding. Every query
        // names the index's `state` as a literal, so the plans stay the same.
        self.conn
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                true,
            )
            .map_err(|e| StoreError::sqlite(&self.path, e))?;
        self.conn
            .execute_batch(
                "PRAGMA synchronous = NORMAL;
                 PRAGMA journal_mode = WAL;
                 PRAGMA foreign_keys = OFF;
                 PRAGMA journal_size_limit = 4194304;

                 PRAGMA mmap_size = 268435456;
                 PRAGMA cache_size = -8000;",
            )
            .map_err(|e| StoreError::sqlite(&self.path, e))?;
        self.conn
            .pragma_update(None, "wal_autocheckpoint", AUTO_CHECKPOINT_PAGES)
            .map_err(|e| StoreError::sqlite(&self.path, e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let found = schema::version(&self.conn).map_err(|e| StoreError::sqlite(&path, e))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(&path, e))?;
        // Another process may have migrated while this one waited for the lock.
        let found = schema::version(&tx).map_err(|e| StoreError::sqlite(&path, e))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            schema::migrate(&tx, found).map_err(|e| StoreError::sqlite(&path, e))?;
        }
        tx.commit().map_err(|e| StoreError::sqlite(&path, e))
    }

    /// Copies the WAL into the database and empties it (after a large ingest, so the state on
    /// disk is the database alone). Best effort: a reader in another process may delay it, and
    /// nothing is done while the database is held.
    pub fn checkpoint(&mut self) {
        if self.held.is_some() {
            return;
        }
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    /// Switches SQLite's automatic checkpoints (every 256 pages of WAL) off for a large
    /// catch-up, which then ends with one [`Store::checkpoint`]: each automatic checkpoint
    /// copies pages that the next transactions change again, and costs three `fsync`s.
    /// Switched on again with `true`.
    pub fn set_auto_checkpoint(&mut self, automatic: bool) {
        let pages = if automatic { AUTO_CHECKPOINT_PAGES } else { 0 };
        let _ = self.conn.pragma_update(None, "wal_autocheckpoint", pages);
    }

    /// Takes the database for writing, waiting for other writers within the configured wait,
    /// until [`Store::release`]: the transactions started meanwhile are savepoints of this one
    /// (each commits or rolls back on its own, and all become durable together). Nothing is
    /// kept if the store is dropped without being released.
    pub fn hold(&mut self) -> Result<(), StoreError> {
        if self.held.is_some() {
            return Ok(());
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::sqlite(&self.path, e))?;
        self.held = Some(RefCell::default());
        Ok(())
    }

    /// Commits what was written since [`Store::hold`]. Nothing happens if it is not held.
    pub fn release(&mut self) -> Result<(), StoreError> {
        let Some(after) = self.held.take() else {
            return Ok(());
        };
        agent_cost_fault::point("store.commit.before");
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| StoreError::sqlite(&self.path, e))?;
        agent_cost_fault::point("store.commit.after");
        after.into_inner().run();
        Ok(())
    }

    /// Starts a write transaction, waiting for other writers within the configured wait.
    pub fn write(&mut self) -> Result<Tx<'_>, StoreError> {
        self.begin(TransactionBehavior::Immediate)
    }

    /// Starts a read transaction: a consistent snapshot that never blocks writers.
    pub fn read(&mut self) -> Result<Tx<'_>, StoreError> {
        self.begin(TransactionBehavior::Deferred)
    }

    fn begin(&mut self, behavior: TransactionBehavior) -> Result<Tx<'_>, StoreError> {
        let tx = match &self.held {
            Some(_) => rusqlite::Savepoint::new(&mut self.conn).map(Scope::Savepoint),
            None => self
                .conn
                .transaction_with_behavior(behavior)
                .map(Scope::Transaction),
        }
        .map_err(|e| StoreError::sqlite(&self.path, e))?;
        Ok(Tx {
            tx,
            path: &self.path,
            held: self.held.as_ref(),
            names: Default::default(),
            deltas: Default::default(),
            retire: Default::default(),
            deferred: Default::default(),
            touched: Default::default(),
        })
    }
}

/// Grows `<git_dir>/agent-cost-changes` by a byte (nothing when the git dir is gone).
fn note_change(git_dir: &Path) {
    use std::io::Write;
    if !git_dir.is_dir() {
        return;
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(git_dir.join(CHANGES_FILE))
    {
        let _ = file.write_all(b"+");
    }
}

impl Tx<'_> {
    /// Makes every change of this transaction durable and visible, all at once; then renames
    /// the first ledger's files it imported (see [`crate::import`]). A savepoint of a held
    /// transaction becomes durable with it (see [`Store::release`]).
    pub fn commit(self) -> Result<(), StoreError> {
        self.flush_charges()?;
        self.flush_pending()?;
        let after = AfterCommit {
            changed: self.git_dirs_touched()?,
            retire: self.retire.take(),
        };
        let path = self.path;
        if let Some(held) = self.held {
            self.tx.commit().map_err(|e| StoreError::sqlite(path, e))?;
            let mut held = held.borrow_mut();
            held.retire.extend(after.retire);
            held.changed.extend(after.changed);
            return Ok(());
        }
        agent_cost_fault::point("store.commit.before");
        self.tx.commit().map_err(|e| StoreError::sqlite(path, e))?;
        agent_cost_fault::point("store.commit.after");
        after.run();
        Ok(())
    }

    /// Marks the worktrees of repository `common_dir` as changed (tracking set or removed).
    pub(crate) fn touch_repository(&self, common_dir: &str) -> Result<(), StoreError> {
        let mut statement = self
            .tx
            .prepare_cached("SELECT id FROM worktrees WHERE common_dir = ?1")
            .map_err(|e| self.err(e))?;
        let ids = statement
            .query_map([common_dir], |row| row.get::<_, i64>(0))
            .map_err(|e| self.err(e))?;
        for id in ids {
            self.touched
                .borrow_mut()
                .insert(id.map_err(|e| self.err(e))?);
        }
        Ok(())
    }

    fn git_dirs_touched(&self) -> Result<Vec<PathBuf>, StoreError> {
        let touched = std::mem::take(&mut *self.touched.borrow_mut());
        let mut statement = self
            .tx
            .prepare_cached("SELECT git_dir FROM worktrees WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        let mut dirs = Vec::new();
        for id in touched {
            if let Some(dir) = statement
                .query_row([id], |row| row.get::<_, String>(0))
                .optional()
                .map_err(|e| self.err(e))?
            {
                dirs.push(PathBuf::from(dir));
            }
        }
        Ok(dirs)
    }

    /// Renames `path` (a file or directory of the first ledger, imported) once this
    /// transaction commits; nothing happens if it does not.
    pub(crate) fn retire_after_commit(&self, path: PathBuf) {
        self.retire.borrow_mut().push(path);
    }

    /// The underlying connection, for queries this crate does not wrap (tests, reports).
    pub fn connection(&self) -> &Connection {
        &self.tx
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::sqlite(self.path, source)
    }

    /// Reads a source's cursor for one file.
    pub fn cursor(&self, source: &str, file: &[u8]) -> Result<Option<String>, StoreError> {
        self.tx
            .prepare_cached("SELECT state FROM cursors WHERE source = ?1 AND path = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(rusqlite::params![source, file], |row| row.get(0))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Calls `visit` with every cursor of a source (file, cursor), without copying them.
    pub fn each_cursor(
        &self,
        source: &str,
        visit: &mut dyn FnMut(&[u8], &str),
    ) -> Result<(), StoreError> {
        let mut statement = self
            .tx
            .prepare_cached("SELECT path, state FROM cursors WHERE source = ?1")
            .map_err(|e| self.err(e))?;
        let mut rows = statement.query([source]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let path = row.get_ref(0).and_then(|v| Ok(v.as_blob()?));
            let state = row.get_ref(1).and_then(|v| Ok(v.as_str()?));
            visit(
                path.map_err(|e| self.err(e))?,
                state.map_err(|e| self.err(e))?,
            );
        }
        Ok(())
    }

    /// Saves a source's cursor for one file.
    pub fn set_cursor(&self, source: &str, file: &[u8], state: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO cursors (source, path, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source, path) DO UPDATE SET state = excluded.state",
            )
            .and_then(|mut s| s.execute(rusqlite::params![source, file, state]))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Forgets a source's cursor for one file (the file is gone).
    pub fn remove_cursor(&self, source: &str, file: &[u8]) -> Result<(), StoreError> {
        self.tx
            .execute(
                "DELETE FROM cursors WHERE source = ?1 AND path = ?2",
                rusqlite::params![source, file],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Reads a value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a value of the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
}
