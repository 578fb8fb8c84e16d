//! The real hook managers, pinned and installed by `scripts/install-test-tools.sh`: husky,
//! lefthook and pre-commit in both orders with agent-cost, a manager re-syncing after us,
//! uninstall, commitlint's conventional config accepting commits with spend and still
//! rejecting bad subjects.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::harness::*;

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools")
        .canonicalize()
        .expect(
            ".tools is missing: run scripts/install-test-tools.sh (the README's test command does)",
        )
}

fn node_modules() -> PathBuf {
    let dir = tools().join("node/node_modules");
    assert!(
        dir.join(".bin/husky").exists() && dir.join(".bin/lefthook").exists(),
        "husky and lefthook are missing from {}: run scripts/install-test-tools.sh",
        dir.display()
    );
    dir
}

/// A manager-equipped repository: `node_modules` linked in as a project would have it, and a
/// `PATH` on which `agent-cost`, the node tools and pre-commit are found.
struct Project {
    env: TestEnv,
    repo: PathBuf,
    path: OsString,
}

impl Project {
    fn new() -> Project {
        let env = TestEnv::new();
        let repo = env.repo("alpha");
        std::os::unix::fs::symlink(node_modules(), repo.join("node_modules")).unwrap();
        std::fs::write(
            repo.join(".gitignore"),
            "node_modules\nlefthook-local.yml\n",
        )
        .unwrap();
        std::fs::write(
            repo.join("commitlint.config.js"),
            "module.exports = {extends: ['@commitlint/config-conventional']};\n",
        )
        .unwrap();
        env.git(&repo, &["add", ".gitignore", "commitlint.config.js"]);
        env.git(&repo, &["commit", "-q", "-m", "chore: project setup"]);
        let bin = env.root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("agent-cost")).unwrap();
        let mut dirs = vec![bin, node_modules().join(".bin"), tools().join("venv/bin")];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).unwrap();
        Project { env, repo, path }
    }

    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let mut command = self.env.command(program, &self.repo);
        command
            .args(args)
            .env("PATH", &self.path)
            .env("PRE_COMMIT_HOME", self.env.root.join("pre-commit-cache"));
        command.output().unwrap()
    }

    fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "`{program} {}` failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn agent_cost(&self, args: &[&str]) -> String {
        self.ok("agent-cost", args)
    }

    fn spend(&self, id: &'static str) {
        self.env
            .claude_lines(&self.repo, "s1", &[sonnet(id, 100, 1000)]);
    }

    /// Commits a new file with `message`; the output of `git commit`.
    fn commit(&self, file: &str, message: &str) -> std::process::Output {
        std::fs::write(self.repo.join(file), file).unwrap();
        self.ok("git", &["add", file]);
        self.run("git", &["commit", "-q", "-m", message])
    }

    /// Commits, and fails the test with git's output if the commit failed.
    fn committed(&self, file: &str, message: &str) {
        let out = self.commit(file, message);
        assert!(
            out.status.success(),
            "`git commit -m {message}` failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn head_trailers(&self) -> Vec<String> {
        ai_trailers(&self.env, &self.repo, "HEAD")
    }

    fn doctor_ok(&self) -> bool {
        self.run("agent-cost", &["doctor"]).status.success()
    }

    fn pending_requests(&self) -> u64 {
        let text = self.agent_cost(&["status", "--json"]);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["pending"]["requests"].as_u64().unwrap()
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const COMMITLINT: &str = "npx --no -- commitlint --edit $1\n";

/// A commit with spend passes commitlint and carries the block; a bad subject is still
/// rejected and its spend stays pending.
fn commits_work_and_commitlint_still_rejects(project: &Project) {
    project.spend("msg_1");
    let out = project.commit("a.txt", "feat: add a");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = project.head_trailers();
    assert!(
        lines.iter().any(|l| l.starts_with("AI-Cost-Id: ")),
        "{lines:?}"
    );
    project.spend("msg_2");
    let rejected = project.commit("b.txt", "bad subject");
    assert!(!rejected.status.success(), "commitlint rejects it");
    assert!(
        String::from_utf8_lossy(&rejected.stdout).contains("subject-empty")
            || String::from_utf8_lossy(&rejected.stderr).contains("subject-empty"),
        "{}",
        String::from_utf8_lossy(&rejected.stderr)
    );
    assert_eq!(
        project.pending_requests(),
        1,
        "the rejected commit's spend waits"
    );
    let out = project.commit("b.txt", "fix: add b");
    assert!(out.status.success());
    assert_eq!(project.pending_requests(), 0);
    let sum: serde_json::Value =
        serde_json::from_str(&project.agent_cost(&["trailers", "sum", "HEAD", "--json"])).unwrap();
    assert_eq!(micros(&sum["cost_usd"]), 30_600);
}

#[test]
fn husky_then_agent_cost() {
    let project = Project::new();
    project.ok("husky", &[]);
    write(&project.repo.join(".husky/commit-msg"), COMMITLINT);
    let stub = std::fs::read(project.repo.join(".husky/_/prepare-commit-msg")).unwrap();
    let out = project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    assert!(out.contains("husky runs the hooks"), "{out}");
    assert_eq!(
        std::fs::read(project.repo.join(".husky/_/prepare-commit-msg")).unwrap(),
        stub,
        "husky's stubs are left alone"
    );
    let commit_msg = std::fs::read_to_string(project.repo.join(".husky/commit-msg")).unwrap();
    let calls: Vec<&str> = commit_msg.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        calls[0].contains("agent-cost hook commit-msg"),
        "ours first: {commit_msg}"
    );
    assert!(calls[1].contains("commitlint"), "{commit_msg}");
    assert!(project.doctor_ok());
    commits_work_and_commitlint_still_rejects(&project);
    // `npm install` runs `husky` again: nothing changes for us.
    project.ok("husky", &[]);
    project.spend("msg_3");
    project.committed("c.txt", "feat: add c");
    assert!(!project.head_trailers().is_empty());

    let out = project.agent_cost(&["install-hooks", "--uninstall"]);
    assert!(
        out.contains("removed (it held only agent-cost's call)"),
        "{out}"
    );
    assert!(!project.repo.join(".husky/prepare-commit-msg").exists());
    assert_eq!(
        std::fs::read_to_string(project.repo.join(".husky/commit-msg")).unwrap(),
        COMMITLINT
    );
}

#[test]
fn agent_cost_then_husky() {
    let project = Project::new();
    project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    project.ok("husky", &[]);
    write(&project.repo.join(".husky/commit-msg"), COMMITLINT);
    // husky moved core.hooksPath: our links in .git/hooks no longer run, and doctor says so.
    let doctor = project.run("agent-cost", &["doctor"]);
    assert!(!doctor.status.success());
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(text.contains("husky's hook"), "{text}");
    assert!(
        text.contains("agent-cost hook prepare-commit-msg"),
        "the fix: {text}"
    );
    project.agent_cost(&["install-hooks"]);
    assert!(project.doctor_ok());
    assert!(!project.repo.join(".git/hooks/prepare-commit-msg").exists());
    commits_work_and_commitlint_still_rejects(&project);
}

const LEFTHOOK_YML: &str =
    "commit-msg:\n  commands:\n    commitlint:\n      run: npx --no -- commitlint --edit {1}\n";

#[test]
fn lefthook_then_agent_cost_and_a_resync() {
    let project = Project::new();
    write(&project.repo.join("lefthook.yml"), LEFTHOOK_YML);
    project.ok("lefthook", &["install"]);
    let out = project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    assert!(out.contains("lefthook runs the hooks"), "{out}");
    assert!(
        out.contains("lefthook install: its hooks now run agent-cost"),
        "{out}"
    );
    let local = std::fs::read_to_string(project.repo.join("lefthook-local.yml")).unwrap();
    assert!(local.contains("agent-cost hook commit-msg"), "{local}");
    assert!(project.doctor_ok());
    commits_work_and_commitlint_still_rejects(&project);
    // lefthook re-syncs its hooks when its configuration changes.
    write(
        &project.repo.join("lefthook.yml"),
        &format!("{LEFTHOOK_YML}pre-commit:\n  commands:\n    ok:\n      run: echo ok\n"),
    );
    project.spend("msg_3");
    project.committed("c.txt", "feat: add c");
    project.spend("msg_4");
    project.committed("d.txt", "feat: add d");
    assert!(!project.head_trailers().is_empty());
    assert!(project.doctor_ok());

    project.agent_cost(&["install-hooks", "--uninstall"]);
    assert!(!project.repo.join("lefthook-local.yml").exists());
}

#[test]
fn agent_cost_then_lefthook() {
    let project = Project::new();
    project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    write(&project.repo.join("lefthook.yml"), LEFTHOOK_YML);
    // Before lefthook syncs, doctor sees it coming.
    let ahead = project.agent_cost(&["doctor"]);
    assert!(
        ahead.contains("lefthook's next sync moves our linked hooks aside"),
        "{ahead}"
    );
    project.ok("lefthook", &["install"]);
    // lefthook moved our commit-msg aside to commit-msg.old, which it never runs.
    assert!(project.repo.join(".git/hooks/commit-msg.old").is_symlink());
    assert!(!project.doctor_ok());
    project.agent_cost(&["install-hooks", "--uninstall"]);
    assert!(
        !project.repo.join(".git/hooks/commit-msg.old").exists(),
        "ours, gone"
    );
    project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    assert!(project.doctor_ok());
    commits_work_and_commitlint_still_rejects(&project);
}

const PRE_COMMIT_CONFIG: &str = "repos:\n- repo: local\n  hooks:\n  - id: no-bad\n    \
     name: subject may not say bad\n    entry: sh -c '! head -1 \"$1\" | grep -q bad || \
     { echo subject-empty; exit 1; }' --\n    language: system\n    stages: [commit-msg]\n";

#[test]
fn pre_commit_in_both_orders_and_installed_again() {
    for agent_cost_first in [false, true] {
        let project = Project::new();
        write(
            &project.repo.join(".pre-commit-config.yaml"),
            PRE_COMMIT_CONFIG,
        );
        let install_pre_commit = || {
            project.ok(
                "pre-commit",
                &["install", "-t", "prepare-commit-msg", "-t", "commit-msg"],
            )
        };
        if agent_cost_first {
            project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
            install_pre_commit();
        } else {
            install_pre_commit();
            let out = project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
            assert!(out.contains("installed as its .legacy hook"), "{out}");
        }
        assert!(project.doctor_ok(), "agent-cost first: {agent_cost_first}");
        commits_work_and_commitlint_still_rejects(&project);
        // pre-commit installed again (a teammate's setup script): commits still work.
        install_pre_commit();
        project.agent_cost(&["install-hooks"]);
        project.spend("msg_3");
        let out = project.commit("c.txt", "feat: add c");
        assert!(
            out.status.success(),
            "agent-cost first: {agent_cost_first}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!project.head_trailers().is_empty());
        let out = project.agent_cost(&["install-hooks", "--uninstall"]);
        assert!(out.contains("commit-msg: removed"), "{out}");
        let hooks = project.repo.join(".git/hooks");
        assert!(!hooks.join("commit-msg.legacy").exists());
        assert!(
            std::fs::read_to_string(hooks.join("commit-msg"))
                .unwrap()
                .contains("File generated by pre-commit"),
            "pre-commit's own hook stays"
        );
        project.spend("msg_4");
        project.committed("d.txt", "feat: add d");
        assert!(project.head_trailers().is_empty(), "agent-cost is gone");
    }
}

/// commitlint's conventional config limits body and footer lines to 100 characters: a block
/// for a long model name and huge token counts passes.
#[test]
fn commitlint_accepts_the_longest_realistic_block() {
    let project = Project::new();
    project.ok("husky", &[]);
    write(&project.repo.join(".husky/commit-msg"), COMMITLINT);
    project.agent_cost(&["install-hooks", "--since", "2020-01-01"]);
    let model = "claude-sonnet-4-5-20250929-with-a-long-tail"; // 43 characters
    let line = serde_json::json!({
        "type": "assistant", "cwd": project.repo, "sessionId": "s1",
        "requestId": "req_big", "timestamp": "2026-06-01T12:00:00Z",
        "message": {"id": "msg_big", "model": model, "usage": {
            "input_tokens": 9_999_999_999_u64, "output_tokens": 9_999_999_999_u64,
            "cache_creation_input_tokens": 9_999_999_999_u64,
            "cache_read_input_tokens": 9_999_999_999_u64}}
    });
    let transcript = project
        .env
        .transcript_path(&encode(&project.repo), "s1.jsonl");
    write(&transcript, &format!("{line}\n"));
    let out = project.commit("a.txt", "feat: a big one");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = project.head_trailers();
    assert!(lines.iter().any(|l| l.contains(model)), "{lines:?}");
    assert!(lines.iter().all(|l| l.len() <= 100), "{lines:?}");
}

/// A repository configured for lefthook on a machine without it: our commands go into
/// lefthook-local.yml for later, and our own hooks run meanwhile.
#[test]
fn lefthook_configured_but_not_installed_keeps_our_hooks() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    write(&repo.join("lefthook.yml"), LEFTHOOK_YML);
    let path = std::env::join_paths(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .filter(|dir| !dir.join("lefthook").exists()),
    )
    .unwrap();
    let out = env
        .command(BIN, &repo)
        .args(["install-hooks", "--since", "2020-01-01"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("until then agent-cost's own hooks run"),
        "{stdout}"
    );
    assert!(repo.join("lefthook-local.yml").exists());
    assert!(repo.join(".git/hooks/prepare-commit-msg").is_symlink());
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "feat: without lefthook yet");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}
