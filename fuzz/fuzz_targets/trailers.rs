//! The trailer reader: the input's NUL-separated parts are commit messages; each is parsed
//! (whole, and as history readers read it, without quoted lines),
//! every block found is written back as trailer lines and read again (it must read back the
//! same), and the range is summed.
#![no_main]

use agent_cost_fuzz::parts;
use agent_cost_trailers::{RangeTotals, block_fates, parse_blocks, parse_history_blocks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut range = RangeTotals::new();
    let mut all = Vec::new();
    for message in parts(data, 16) {
        let message = String::from_utf8_lossy(message);
        let history = parse_history_blocks(&message);
        let _ = block_fates(&history);
        let blocks = parse_blocks(&message);
        all.extend(blocks.iter().cloned());
        range.add_commit(blocks);
    }
    let fates = block_fates(&all);
    assert_eq!(fates.len(), all.len());
    let _ = range.finish();
});
