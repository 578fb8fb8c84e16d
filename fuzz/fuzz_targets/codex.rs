//! Codex CLI rollouts, through the source's tail reader in two steps.
#![no_main]

use agent_cost_fuzz::{read_in_two_steps, selector, under_scratch};
use agent_cost_sources::codex::CodexSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, data) = selector(data);
    let home = under_scratch("codex");
    let source = CodexSource::new(home.clone());
    let path = home.join("sessions/2026/06/01/rollout-2026-06-01T10-00-00-fuzz.jsonl");
    read_in_two_steps(&source, &path, false, split, data);
});
