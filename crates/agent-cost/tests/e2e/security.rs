//! The safety promises of docs/security.md that a test can check from outside: nothing of the
//! work (prompt text, file content, paths, environment values) reaches a trailer, a report or
//! an export, and the state directory is the user's alone.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

#[test]
fn nothing_of_the_work_reaches_trailers_reports_or_exports() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let transcript = env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 200)]);
    // A user prompt and a tool result beside the request, as Claude Code logs them.
    let user = serde_json::json!({
        "type": "user", "cwd": repo, "sessionId": "s1", "gitBranch": "feature/PRIVATE-BRANCH",
        "uuid": "u1", "timestamp": "2026-06-01T11:59:00Z",
        "message": {"role": "user", "content": [
            {"type": "text", "text": "PROMPT-TEXT-7f3a please read secrets.env"},
            {"type": "tool_result", "tool_use_id": "t1", "content": "FILE-CONTENT-91c2 API_KEY=abc"}
        ]}
    });
    append(&transcript, &format!("{user}\n"));
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 20)]);
    stage(&env, &repo, "a.txt");
    env.git_env(
        &repo,
        &["commit", "-q", "-m", "Work"],
        &[("SECRET_TOKEN", "ENV-VALUE-55d0")],
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(message.contains("AI-Cost-Id:"), "{message}");
    let report = env.agent_cost(&repo, &["report", "--json"]).stdout;
    let export = env.agent_cost(&repo, &["export"]).stdout;
    let root = env.root.to_string_lossy().into_owned();
    for (what, text) in [
        ("trailers", &message),
        ("report", &report),
        ("export", &export),
    ] {
        for secret in [
            "PROMPT-TEXT-7f3a",
            "FILE-CONTENT-91c2",
            "API_KEY",
            "ENV-VALUE-55d0",
            "PRIVATE-BRANCH",
            root.as_str(),
        ] {
            assert!(!text.contains(secret), "{what} holds {secret}: {text}");
        }
    }
}

#[test]
fn a_state_directory_agent_cost_creates_and_its_ledger_are_the_users_alone() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 200)]);
    let state = env.root.join("fresh").join("state");
    let out = env.output(
        BIN,
        &repo,
        &["ingest"],
        &[("AGENT_COST_HOME", state.to_str().unwrap())],
    );
    assert!(out.status.success(), "{out:?}");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is open to others",
                path.display()
            );
        }
    }
    assert!(files > 0);
}

/// The symbols `binary` imports dynamically, without their version (`connect`, not
/// `connect@GLIBC_2.2.5`).
fn imports(binary: &str) -> Vec<String> {
    let out = std::process::Command::new("nm")
        .args(["-D", "--undefined-only", binary])
        .output()
        .expect("nm (binutils) is needed to list the binary's imports");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(|symbol| symbol.split('@').next().unwrap_or(symbol).to_string())
        .collect()
}

/// What a program needs to reach a network through libc.
const SOCKET_FUNCTIONS: [&str; 5] = [
    "socket",
    "connect",
    "getaddrinfo",
    "gethostbyname",
    "sendto",
];

#[test]
fn the_binary_cannot_open_a_network_connection() {
    // Every system call agent-cost makes goes through libc, which the binary imports
    // dynamically here: without `socket`, `connect` or `getaddrinfo` it has no way to reach a
    // network at all. (`export --otlp` hands its payload to the separate `agent-cost-otlp`.)
    let imports = imports(BIN);
    assert!(
        imports.iter().any(|s| s == "open" || s == "open64"),
        "{imports:?}"
    );
    for symbol in SOCKET_FUNCTIONS {
        assert!(
            !imports.iter().any(|s| s == symbol),
            "the binary imports {symbol}"
        );
    }
}

#[test]
fn only_the_otlp_sender_imports_socket_functions() {
    // The check above would see a socket: the sender, built the same way, imports them.
    let imports = imports(env!("CARGO_BIN_EXE_agent-cost-otlp"));
    for symbol in ["socket", "connect"] {
        assert!(imports.iter().any(|s| s == symbol), "{imports:?}");
    }
}
