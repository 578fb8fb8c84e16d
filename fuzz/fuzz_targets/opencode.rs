//! OpenCode's legacy JSON storage: the input's NUL-separated parts are a message file and up
//! to seven of its part files, read through the source (twice: the second read is from the
//! first's cursor); each part is also given to `part_usage` directly.
#![no_main]

use agent_cost_fuzz::{parts, read, under_scratch, write};
use agent_cost_sources::opencode::{MessageInfo, OpenCodeSource, part_usage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data_dir = under_scratch("opencode");
    let storage = data_dir.join("storage");
    let _ = std::fs::remove_dir_all(&storage);
    let parts = parts(data, 8);
    let message = storage.join("message/ses_fuzz/msg_fuzz.json");
    write(&message, parts[0]);
    if let Ok(value) = serde_json::from_slice(parts[0]) {
        let _ = MessageInfo::from_json(&value);
    }
    for (i, part) in parts[1..].iter().enumerate() {
        write(&storage.join(format!("part/msg_fuzz/prt_{i}.json")), part);
        if let Ok(value) = serde_json::from_slice(part) {
            let _ = part_usage(&value);
        }
    }
    let source = OpenCodeSource::new(Some(data_dir), None);
    let (_, cursor) = read(&source, &message, false, None);
    read(&source, &message, false, cursor.as_deref());
});
