//! End-to-end tests: the real `agent-cost` binary against real git repositories made in temp
//! dirs, with a fake home (HOME, CLAUDE_CONFIG_DIR, AGENT_COST_HOME, git config) per test.

mod harness;

mod backfill;
mod bad_input;
mod budgets;
mod ci_recipes;
mod codex;
mod commits;
mod contract;
mod copilot;
mod cursor;
mod dashboard;
mod doctor;
mod every_agent;
mod faults;
mod focus;
mod gemini;
mod history_rewrites;
mod ingest;
mod install;
mod ledger;
mod managers;
mod manual;
mod opencode;
mod otlp;
mod output_errors;
mod pricing;
mod report;
mod robustness;
mod security;
mod sessions;
mod sources;
mod upgrade;
mod verify;
mod watch;

#[test]
fn every_test_module_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let listed = include_str!("main.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "main"
        {
            assert!(
                listed.contains(&format!("mod {module};")),
                "tests/e2e/{name} is not listed in main.rs"
            );
        }
    }
}
