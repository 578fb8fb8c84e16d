//! VS Code Copilot chat sessions: a snapshot (`.json`, odd selector) or a mutation log
//! (`.jsonl`, even selector), read whole in two steps.
#![no_main]

use agent_cost_fuzz::{read_in_two_steps, selector, under_scratch};
use agent_cost_prices::CopilotBilling;
use agent_cost_sources::copilot::CopilotSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, data) = selector(data);
    let user = under_scratch("vscode/User");
    let source = CopilotSource::new(vec![user.clone()], None, CopilotBilling::default());
    let name = if split & 1 == 1 {
        "sess.json"
    } else {
        "sess.jsonl"
    };
    let path = user.join("workspaceStorage/abc/chatSessions").join(name);
    read_in_two_steps(&source, &path, false, split, data);
});
