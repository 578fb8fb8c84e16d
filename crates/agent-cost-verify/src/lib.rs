//! `agent-cost verify`: proof that the ledger contract held for a repository. Three sides are
//! compared per agent and model, in integer counts (requests, tokens, amounts in other units):
//!
//! - **expected**: every agent log read again into a throwaway ledger ([`gather::recompute`]),
//!   plus the spend entered by hand (`agent-cost log`, imports), which only the ledger knows;
//! - **the ledger**: what it holds, committed, pending, orphaned or before tracking;
//! - **history**: the trailers of this machine's drains in every reference, each drain once.
//!
//! [`compare::compare`] lines them up and explains each difference as a [`Finding`]: logs
//! rotated away, spend not yet read, a drain in no reference (a deleted branch, a reset), a
//! block whose lines differ from what was drained (edited), a drain not yet settled.

pub mod compare;
mod counts;
pub mod gather;

pub use compare::{Finding, ForeignBlock, Inputs, Row, Verification, compare};
pub use counts::Counts;
pub use gather::{VerifyError, gather, recompute};
