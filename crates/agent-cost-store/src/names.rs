//! Names that repeat on every event (agents, models, sessions, working directories) are kept
//! once, in their own tables, and events refer to them by id. Ids are cached per transaction.

use rusqlite::{OptionalExtension, params};
use rustc_hash::FxHashMap as HashMap;

use crate::error::StoreError;
use crate::store::Tx;

/// Ids already looked up in this transaction.
#[derive(Debug, Default)]
pub(crate) struct NameCache {
    agents: HashMap<String, i64>,
    models: HashMap<String, i64>,
    sessions: HashMap<i64, HashMap<String, i64>>,
    places: HashMap<String, HashMap<String, i64>>,
}

impl Tx<'_> {
    pub(crate) fn agent_id(&self, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.names.borrow().agents.get(name) {
            return Ok(*id);
        }
        let id = self.intern(
            "SELECT id FROM agents WHERE name = ?1",
            "INSERT INTO agents (name) VALUES (?1)",
            params![name],
        )?;
        self.names.borrow_mut().agents.insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn model_id(&self, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.names.borrow().models.get(name) {
            return Ok(*id);
        }
        let id = self.intern(
            "SELECT id FROM models WHERE name = ?1",
            "INSERT INTO models (name) VALUES (?1)",
            params![name],
        )?;
        self.names.borrow_mut().models.insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn session_id(&self, agent: i64, name: &str) -> Result<i64, StoreError> {
        let cached = self
            .names
            .borrow()
            .sessions
            .get(&agent)
            .and_then(|names| names.get(name).copied());
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = self.intern(
            "SELECT id FROM sessions WHERE agent = ?1 AND name = ?2",
            "INSERT INTO sessions (agent, name) VALUES (?1, ?2)",
            params![agent, name],
        )?;
        self.names
            .borrow_mut()
            .sessions
            .entry(agent)
            .or_default()
            .insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn place_id(&self, cwd: &str, branch: &str) -> Result<i64, StoreError> {
        let cached = self
            .names
            .borrow()
            .places
            .get(cwd)
            .and_then(|branches| branches.get(branch).copied());
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = self.intern(
            "SELECT id FROM places WHERE cwd = ?1 AND branch = ?2",
            "INSERT INTO places (cwd, branch) VALUES (?1, ?2)",
            params![cwd, branch],
        )?;
        self.names
            .borrow_mut()
            .places
            .entry(cwd.to_string())
            .or_default()
            .insert(branch.to_string(), id);
        Ok(id)
    }

    fn intern(
        &self,
        select: &str,
        insert: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<i64, StoreError> {
        let found: Option<i64> = self
            .tx
            .prepare_cached(select)
            .and_then(|mut s| s.query_row(values, |row| row.get(0)).optional())
            .map_err(|e| self.err(e))?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.tx
            .prepare_cached(insert)
            .and_then(|mut s| s.execute(values))
            .map_err(|e| self.err(e))?;
        Ok(self.tx.last_insert_rowid())
    }
}

/// The 64-bit FNV-1a hash of a copy's variant, as stored (0 for none).
pub(crate) fn variant_hash(variant: &str) -> i64 {
    if variant.is_empty() {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in variant.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // 0 means "no variant": a variant hashing to it is moved aside.
    match hash as i64 {
        0 => 1,
        hash => hash,
    }
}
