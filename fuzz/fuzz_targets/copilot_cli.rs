//! GitHub Copilot CLI event logs, through the source's tail reader in two steps.
#![no_main]

use agent_cost_fuzz::{read_in_two_steps, selector, under_scratch};
use agent_cost_prices::CopilotBilling;
use agent_cost_sources::copilot::CopilotSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, data) = selector(data);
    let home = under_scratch("copilot-cli");
    let source = CopilotSource::new(Vec::new(), Some(home.clone()), CopilotBilling::default());
    let path = home.join("session-state/0198a2b3-fuzz/events.jsonl");
    read_in_two_steps(&source, &path, false, split, data);
});
