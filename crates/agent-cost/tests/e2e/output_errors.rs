//! Output nobody can read: stdout or stderr on a full device (`/dev/full`) or a pipe whose
//! reader is gone. The hook never changes whether git commits; read commands say why they
//! failed instead of panicking.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::harness::*;

/// A writer on `/dev/full`: every write fails with "No space left on device".
fn dev_full() -> Stdio {
    std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A repository with hooks, a commit carrying spend, more spend pending, and an override file
/// (trusted by the user) the hook and `status` warn about.
fn repo_with_spend_and_a_warning(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.tracked_repo("alpha");
    std::fs::write(
        env.state.join("config.toml"),
        "[trust]\nrepository_prices = true\n",
    )
    .unwrap();
    std::fs::write(repo.join("agent-cost.toml"), "[prices.\"x\"]\ninptu = 1\n").unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(env, &repo, "a.txt");
    // With a readable stderr, the condition does produce a warning.
    let out = env.git(&repo, &["commit", "-q", "-m", "First"]);
    assert!(out.stderr.contains("inptu"), "{}", out.stderr);
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 1000)]);
    repo
}

#[test]
fn a_commit_goes_ahead_with_its_trailers_when_stderr_cannot_be_written() {
    for (what, stderr) in [
        ("/dev/full", dev_full as fn() -> Stdio),
        ("a closed pipe", closed_pipe),
    ] {
        let env = TestEnv::new();
        let repo = repo_with_spend_and_a_warning(&env);
        stage(&env, &repo, "b.txt");
        let out = env
            .command("git", &repo)
            .args(["commit", "-q", "-m", "Second"])
            .stderr(stderr())
            .output()
            .unwrap();
        assert!(out.status.success(), "stderr on {what}: {:?}", out.status);
        assert_eq!(
            env.git(&repo, &["log", "-1", "--format=%s"]).stdout.trim(),
            "Second",
            "stderr on {what}"
        );
        assert!(
            ai_trailers(&env, &repo, "HEAD")
                .iter()
                .any(|l| l == "AI-Cost-Estimate: 0.015300 USD"),
            "stderr on {what}: {:?}",
            ai_trailers(&env, &repo, "HEAD")
        );
        assert_eq!(
            env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
            0,
            "stderr on {what}: the drain was settled"
        );

        // A hook step that fails outright still exits 0 and writes nothing it cannot.
        for args in [
            &["hook", "prepare-commit-msg"][..],
            &["hook", "no-such-hook"],
            &["hook", "post-commit"],
        ] {
            let out = env
                .command(BIN, &env.outside())
                .args(args)
                .stderr(stderr())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{args:?} with stderr on {what}");
        }
    }
}

/// Every command that prints on stdout, with its arguments.
const PRINTING: [&[&str]; 13] = [
    &["status"],
    &["status", "--json"],
    &["status", "--no-ingest"],
    &["trailers", "sum"],
    &["trailers", "sum", "--json"],
    &["ingest"],
    &["ingest", "--json"],
    &["install-hooks", "--no-ingest"],
    &["demo"],
    &["--help"],
    &["--version"],
    &["trailers", "sum", "--help"],
    &["help", "status"],
];

fn run_with_stdout(env: &TestEnv, repo: &Path, args: &[&str], stdout: Stdio) -> Output {
    env.command(BIN, repo)
        .args(args)
        .stdout(stdout)
        .output()
        .unwrap()
}

#[test]
fn read_commands_report_a_full_stdout_instead_of_panicking() {
    let env = TestEnv::new();
    let repo = repo_with_spend_and_a_warning(&env);
    for args in PRINTING {
        let out = run_with_stdout(&env, &repo, args, dev_full());
        let stderr = text(&out.stderr);
        assert!(
            out.status.code().is_some_and(|c| c != 0 && c != 101),
            "{args:?}: {:?}\n{stderr}",
            out.status
        );
        assert!(
            stderr.contains("error: cannot write output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let env = TestEnv::new();
    let repo = repo_with_spend_and_a_warning(&env);
    for args in PRINTING {
        let out = run_with_stdout(&env, &repo, args, closed_pipe());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn read_commands_still_work_when_stderr_cannot_be_written() {
    let env = TestEnv::new();
    let repo = repo_with_spend_and_a_warning(&env);
    for stderr in [dev_full as fn() -> Stdio, closed_pipe] {
        // `status` warns about the override file on stderr, and still prints its report.
        let out = env
            .command(BIN, &repo)
            .arg("status")
            .stderr(stderr())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("pending for the next commit: 0.015300 USD"));
        // An error that cannot be shown still fails with its exit code, not a panic's.
        let out = env
            .command(BIN, &env.outside())
            .arg("status")
            .stderr(stderr())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    }
}
