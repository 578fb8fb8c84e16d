//! Cursor's dashboard usage export (CSV).
#![no_main]

use agent_cost_sources::cursor_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(export) = cursor_csv::read(data) {
        for row in &export.rows {
            let _ = row.event("/work/repo");
        }
    }
});
