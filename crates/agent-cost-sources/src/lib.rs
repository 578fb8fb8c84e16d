//! Reading agents' session logs as they grow.
//!
//! [`source`] is the interface every agent's reader implements; [`tail`] reads only the
//! complete lines appended since a saved [`tail::Cursor`], notices files that were rewritten
//! under it, and never loads a whole file; [`claude`] is the Claude Code source, [`codex`]
//! the OpenAI Codex CLI source, [`gemini`] the Gemini CLI source, [`opencode`] the OpenCode
//! source (its SQLite database, read only, and its older JSON storage) and [`copilot`] the
//! GitHub Copilot source (VS Code chat sessions, its OpenTelemetry database, and the Copilot
//! CLI). [`cursor_csv`] reads Cursor's dashboard usage export (Cursor keeps no local log),
//! which `agent-cost import cursor` brings into the ledger.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod cursor_csv;
pub mod gemini;
pub mod lenient;
pub mod opencode;
pub mod source;
pub mod tail;

pub use source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope, Source};

#[cfg(test)]
mod bad_input_tests;
