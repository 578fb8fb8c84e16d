//! Reading agents' session logs as they grow.
//!
//! [`tail`] reads only the complete lines appended since a saved [`tail::Cursor`], notices files
//! that were rewritten under it, and never loads a whole file. [`claude`] finds Claude Code
//! transcripts and turns one line into a [`agent_cost_events::UsageEvent`] or a counted skip.

pub mod claude;
pub mod tail;
