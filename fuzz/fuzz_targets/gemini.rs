//! Gemini CLI chats: a `.jsonl` log (even selector) or a legacy `.json` chat (odd selector),
//! read in two steps.
#![no_main]

use agent_cost_fuzz::{read_in_two_steps, selector, under_scratch};
use agent_cost_sources::gemini::GeminiSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, data) = selector(data);
    let gemini_dir = under_scratch("gemini/.gemini");
    let source = GeminiSource::new(gemini_dir.clone());
    let name = if split & 1 == 1 {
        "session-2026-06-01T10-00-fuzz.json"
    } else {
        "session-2026-06-01T10-00-fuzz.jsonl"
    };
    let path = gemini_dir.join("tmp/project/chats").join(name);
    read_in_two_steps(&source, &path, split & 2 == 2, split, data);
});
