//! Claude Code transcripts: each line through `parse_line`, and the file through the source's
//! tail reader in two steps.
#![no_main]

use agent_cost_fuzz::{read_in_two_steps, selector, under_scratch};
use agent_cost_sources::claude::{ClaudeSource, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, data) = selector(data);
    let subagent = split & 1 == 1;
    for line in data.split(|b| *b == b'\n') {
        let _ = parse_line(line, subagent);
    }
    let projects = under_scratch("claude/projects");
    let source = ClaudeSource::new(vec![projects.clone()]);
    let path = projects.join("-work-repo/session.jsonl");
    read_in_two_steps(&source, &path, subagent, split, data);
});
