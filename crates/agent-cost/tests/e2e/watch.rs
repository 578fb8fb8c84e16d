//! `agent-cost watch`: tallies kept current while agents write, one watcher per state
//! directory, and the ledger contract under kills and racing hooks.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// A running watcher, killed (SIGKILL) when dropped.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_watcher(env: &TestEnv, cwd: &Path) -> Watcher {
    let child = env
        .command(BIN, cwd)
        .args(["watch", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let watcher = Watcher(child);
    let pid = watcher.0.id();
    wait_for("the watcher's first catch-up", || {
        let status = env.agent_cost_json(cwd, &["status", "--no-ingest"]);
        (status["watcher"]["pid"] == pid && status["watcher"]["current"] == true).then_some(())
    });
    watcher
}

/// Polls `check` until it gives a value, failing after a generous deadline.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Pending requests per agent, as `status --no-ingest` shows them (read nothing itself).
fn pending(env: &TestEnv, repo: &Path) -> Value {
    env.agent_cost_json(repo, &["status", "--no-ingest"])["pending"].clone()
}

fn wait_for_requests(env: &TestEnv, repo: &Path, requests: u64, what: &str) -> Value {
    wait_for(what, || {
        let pending = pending(env, repo);
        (pending["requests"] == requests).then_some(pending)
    })
}

#[test]
fn the_watcher_keeps_status_current_as_agents_write() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let _watcher = start_watcher(&env, &repo);

    // A new project directory with a new transcript.
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    wait_for_requests(&env, &repo, 1, "a new project directory");
    // A line appended.
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 100)]);
    wait_for_requests(&env, &repo, 2, "an appended line");
    // A new file in a known directory.
    let second = env.claude_lines(&repo, "s2", &[sonnet("msg_3", 1, 10)]);
    wait_for_requests(&env, &repo, 3, "a new file");
    // The file truncated and rewritten with its old line and a new one: only the new counts.
    std::fs::write(
        &second,
        format!(
            "{}\n{}\n",
            sonnet("msg_3", 1, 10).line(&repo, "s2"),
            sonnet("msg_4", 2, 20).line(&repo, "s2")
        ),
    )
    .unwrap();
    let after_rewrite = wait_for_requests(&env, &repo, 4, "a rewritten file");
    assert_eq!(after_rewrite["tokens"]["output"], 1000 + 100 + 10 + 20);

    // A root created after the watcher started: Codex's sessions directory.
    assert!(!env.codex.join("sessions").exists());
    env.install_codex_fixture(
        "rollout-2026-06-01T13-00-00-codex-c.jsonl",
        "sessions/2026/06/01/rollout-2026-06-01T13-00-00-codex-c.jsonl",
        &[("@REPO_A@", repo.as_path()), ("@REPO_B@", repo.as_path())],
    );
    let with_codex = wait_for_requests(&env, &repo, 5, "a root created after start");
    let agents: Vec<&str> = with_codex["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["agent"].as_str().unwrap())
        .collect();
    assert!(agents.contains(&"codex"), "{with_codex:#}");

    // The commit carries it all, and status shows the watcher.
    let text = env.agent_cost(&repo, &["status"]).stdout;
    assert!(text.contains("watcher: running (process "), "{text}");
    commit(&env, &repo, "a.txt", "Work");
    let block = ai_trailers(&env, &repo, "HEAD");
    assert!(
        block.iter().any(|l| l.starts_with("AI-Agent: codex")),
        "{block:?}"
    );
    assert!(
        block.contains(&"AI-Tokens: req=4 in=113 out=1130 cw=0 cr=0".to_string()),
        "{block:?}"
    );
    assert_eq!(pending(&env, &repo)["requests"], 0);
}

#[test]
fn a_second_watcher_says_who_holds_the_state_and_exits_3() {
    let env = TestEnv::new();
    let dir = env.tracked_repo("alpha");
    let first = start_watcher(&env, &dir);
    let second = env.output(BIN, &dir, &["watch"], &[]);
    assert_eq!(second.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "another watcher is already running for this state directory: process {}",
            first.0.id()
        )),
        "{stderr}"
    );
    // Once the first is gone, a new one starts.
    drop(first);
    let status = env.agent_cost_json(&dir, &["status", "--no-ingest"]);
    assert_eq!(status["watcher"]["running"], false, "{status:#}");
    let doctor = env.output(BIN, &dir, &["doctor"], &[]);
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(text.contains("watcher: not running"), "{text}");
    let _again = start_watcher(&env, &dir);
}

#[test]
fn killing_the_watcher_while_it_writes_and_commits_race_it_lose_and_double_nothing() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let mut expected_output = 0u64;
    let mut requests = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..20 {
        let watcher = env
            .command(BIN, &repo)
            .args(["watch", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let watcher = Watcher(watcher);
        // A burst of lines for the watcher to be busy with when it is killed.
        let mut text = String::new();
        for i in 0..300 {
            let id: &'static str = Box::leak(format!("msg_{round}_{i}").into_boxed_str());
            let output = 1 + (round * 300 + i) as u64;
            text.push_str(&sonnet(id, 1, output).line(&repo, &format!("s{}", round % 3)));
            text.push('\n');
            expected_output += output;
            requests += 1;
        }
        let path = env.transcript_path(&encode(&repo), &format!("s{}.jsonl", round % 3));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        append(&path, &text);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 60));
        if round % 4 == 1 {
            // A commit racing the watcher: its hook and the watcher write the same tally.
            commit(&env, &repo, "a.txt", &format!("Round {round}"));
        }
        drop(watcher);
    }
    env.agent_cost(&repo, &["ingest"]);
    let summed = sum(&env, &repo, "HEAD");
    let committed_output = summed["tokens"]["output"].as_u64().unwrap();
    let committed_requests: u64 = summed["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    let pending = pending(&env, &repo);
    assert_eq!(
        committed_output + pending["tokens"]["output"].as_u64().unwrap(),
        expected_output
    );
    assert_eq!(
        committed_requests + pending["requests"].as_u64().unwrap(),
        requests
    );
    assert!(committed_requests > 0, "no commit carried anything");
}

/// Runs `agent-cost ARGS` with `stdin` as its input.
fn with_stdin(env: &TestEnv, cwd: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = env
        .command(BIN, cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn claude_codes_own_hooks_charge_each_turn_without_a_watcher() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let settings = env.claude.join("settings.json");
    std::fs::write(
        &settings,
        r#"{"theme": "dark", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}"#,
    )
    .unwrap();
    let out = env
        .agent_cost(&repo, &["install-agent-hook", "claude"])
        .stdout;
    assert!(
        out.contains("added to hooks.Stop and hooks.SubagentStop"),
        "{out}"
    );
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(merged["theme"], "dark");
    assert_eq!(
        merged["hooks"]["Stop"][0]["hooks"][0]["command"],
        "say done"
    );
    let command = merged["hooks"]["Stop"][1]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(command.ends_with(" ingest --claude-hook"), "{command}");
    assert_eq!(
        merged["hooks"]["SubagentStop"][0]["hooks"][0]["command"],
        command.as_str()
    );

    // What Claude Code does at the end of a turn: the hook reads the transcript it names.
    let transcript = env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    let input = serde_json::json!({
        "session_id": "s1", "transcript_path": transcript, "hook_event_name": "Stop",
        "cwd": repo, "stop_hook_active": false
    })
    .to_string();
    let ran = with_stdin(&env, &repo, &["ingest", "--claude-hook"], &input);
    assert!(ran.status.success());
    assert!(ran.stdout.is_empty());
    assert_eq!(pending(&env, &repo)["requests"], 1);

    // A subagent's transcript, named by a SubagentStop, and bad input: never a failure.
    let subagent = transcript
        .with_extension("")
        .join("subagents/agent-a1.jsonl");
    std::fs::create_dir_all(subagent.parent().unwrap()).unwrap();
    let mut line: Value = serde_json::from_str(&sonnet("msg_2", 5, 50).line(&repo, "s1")).unwrap();
    line["isSidechain"] = Value::Bool(true);
    append(&subagent, &format!("{line}\n"));
    let input = serde_json::json!({"session_id": "s1", "transcript_path": transcript,
        "hook_event_name": "SubagentStop"})
    .to_string();
    assert!(
        with_stdin(&env, &repo, &["ingest", "--claude-hook"], &input)
            .status
            .success()
    );
    assert_eq!(pending(&env, &repo)["requests"], 2);
    let bad = with_stdin(&env, &repo, &["ingest", "--claude-hook"], "not json");
    assert!(bad.status.success());
    assert!(bad.stdout.is_empty());

    // The status line: the worktree's uncommitted spend and the session's.
    // 100 × $3/M + 1,000 × $15/M + 5 × $3/M + 50 × $15/M = $0.016065.
    let status_input = serde_json::json!({"session_id": "s1", "cwd": repo,
        "workspace": {"current_dir": repo}, "model": {"id": "claude-sonnet-4-5"}})
    .to_string();
    let line = with_stdin(&env, &repo, &["statusline"], &status_input);
    assert_eq!(
        String::from_utf8_lossy(&line.stdout),
        "AI $0.02 uncommitted · session $0.02\n"
    );
    commit(&env, &repo, "a.txt", "Work");
    let line = with_stdin(&env, &repo, &["statusline"], &status_input);
    assert_eq!(
        String::from_utf8_lossy(&line.stdout),
        "AI $0.00 uncommitted · session $0.02\n"
    );
    let nothing = with_stdin(&env, &repo, &["statusline"], "{");
    assert!(nothing.status.success());
    assert!(nothing.stdout.is_empty());

    let out = env
        .agent_cost(&repo, &["install-agent-hook", "claude", "--uninstall"])
        .stdout;
    assert!(
        out.contains("removed agent-cost's Stop and SubagentStop hooks"),
        "{out}"
    );
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(
        back,
        serde_json::json!({"theme": "dark", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}})
    );

    // --project writes the repository's own settings.
    env.agent_cost(&repo, &["install-agent-hook", "claude", "--project"]);
    assert!(repo.join(".claude/settings.json").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn install_service_writes_a_user_unit_that_runs_this_binary_and_uninstall_removes_it() {
    let env = TestEnv::new();
    let dir = env.outside();
    let out = env.agent_cost(&dir, &["watch", "--install-service"]).stdout;
    let unit = env
        .root
        .join("home/.config/systemd/user/agent-cost-watch.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(out.contains(&format!("wrote {}", unit.display())), "{out}");
    assert!(
        out.contains("systemctl --user enable --now agent-cost-watch.service"),
        "{out}"
    );
    assert!(
        text.contains(&format!("ExecStart=\"{BIN}\" watch --quiet")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Environment=\"AGENT_COST_HOME={}\"",
            env.state.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Environment=\"CODEX_HOME={}\"",
            env.codex.display()
        )),
        "{text}"
    );
    let out = env
        .agent_cost(&dir, &["watch", "--uninstall-service"])
        .stdout;
    assert!(out.contains("systemctl --user disable --now"), "{out}");
    assert!(!unit.exists());
    let again = env
        .agent_cost(&dir, &["watch", "--uninstall-service"])
        .stdout;
    assert!(again.contains("no service to remove"), "{again}");
}

#[test]
fn a_poll_interval_that_is_not_a_number_of_milliseconds_is_refused() {
    let env = TestEnv::new();
    let dir = env.outside();
    let refused = env.output(
        BIN,
        &dir,
        &["watch"],
        &[("AGENT_COST_WATCH_POLL_MS", "soon")],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("AGENT_COST_WATCH_POLL_MS must be a number of milliseconds"),
        "{stderr}"
    );
}
