//! One agent session's spend, whatever worktree it was charged to (the statusline's "this
//! session"), grouped the way pending spend is so it prices the same way.

use agent_cost_events::{Money, TokenCounts};
use rusqlite::params;

use crate::error::StoreError;
use crate::store::Tx;
use crate::tally::PendingGroup;

impl Tx<'_> {
    /// Every event of `agent`'s session `session`, summed per model, speed and unit.
    pub fn session_groups(
        &self,
        agent: &str,
        session: &str,
    ) -> Result<Vec<PendingGroup>, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(
                "SELECT m.name, e.speed, e.unit,
                        MIN(e.input + e.cache_write_5m + e.cache_write_1h + e.cache_read),
                        SUM(e.input), SUM(e.output), SUM(e.cache_write_5m),
                        SUM(e.cache_write_1h), SUM(e.cache_read), SUM(e.requests),
                        SUM(COALESCE(e.quantity, 0)), SUM(COALESCE(e.source_cost, 0)),
                        COUNT(*), COUNT(e.source_cost)
                 FROM sessions s
                 JOIN agents a ON a.id = s.agent
                 JOIN events e ON e.session = s.id
                 JOIN models m ON m.id = e.model
                 WHERE a.name = ?1 AND s.name = ?2
                 GROUP BY m.name, e.speed, e.unit",
            )
            .map_err(|e| self.err(e))?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = statement
            .query_map(params![agent, session], |row| {
                Ok(PendingGroup {
                    agent: agent.to_string(),
                    model: row.get(0)?,
                    speed: row.get(1)?,
                    unit: row.get(2)?,
                    min_prompt_tokens: n(row.get(3)?),
                    tokens: TokenCounts {
                        input: n(row.get(4)?),
                        output: n(row.get(5)?),
                        cache_write_5m: n(row.get(6)?),
                        cache_write_1h: n(row.get(7)?),
                        cache_read: n(row.get(8)?),
                    },
                    requests: n(row.get(9)?),
                    quantity: n(row.get(10)?),
                    source_cost: Money(u128::from(n(row.get(11)?))),
                    charges: n(row.get(12)?),
                    charges_with_source_cost: n(row.get(13)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
