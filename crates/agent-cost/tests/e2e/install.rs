//! install-hooks: shims from hooks/, existing hooks kept, core.hooksPath, uninstall.

use std::path::Path;

use crate::harness::*;

fn shim(name: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../hooks")
            .join(name),
    )
    .unwrap();
    text.replace("@AGENT_COST_BIN@", BIN)
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const HOOKS: [&str; 4] = [
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-merge",
];

#[test]
fn installed_shims_are_the_files_in_hooks_and_install_is_idempotent() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let first = env.agent_cost(&repo, &["install-hooks"]);
    assert!(
        first.stdout.contains("prepare-commit-msg: installed"),
        "{}",
        first.stdout
    );
    let again = env.agent_cost(&repo, &["install-hooks"]);
    assert!(
        again.stdout.contains("prepare-commit-msg: updated"),
        "{}",
        again.stdout
    );
    for name in HOOKS {
        let installed = std::fs::read_to_string(repo.join(".git/hooks").join(name)).unwrap();
        assert_eq!(installed, shim(name), "{name}");
        assert!(
            !repo
                .join(format!(".git/hooks/{name}.pre-agent-cost"))
                .exists()
        );
    }
    env.agent_cost(&repo, &["install-hooks", "--uninstall"]);
    for name in HOOKS {
        assert!(!repo.join(".git/hooks").join(name).exists(), "{name}");
    }
    assert!(!repo.join(".git/agent-cost/tracking.json").exists());
}

#[test]
fn an_existing_hook_still_runs_and_comes_back_on_uninstall() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let hooks = repo.join(".git/hooks");
    let theirs = "#!/bin/sh\n# the team's own hook\ngit interpret-trailers --in-place --trailer 'Signed-off-by: Team Hook <hook@example.com>' \"$1\"\n";
    executable(&hooks.join("prepare-commit-msg"), theirs);
    let marker = env.root.join("commit-msg-ran");
    let their_commit_msg = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    executable(&hooks.join("commit-msg"), &their_commit_msg);

    let out = env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    assert!(
        out.stdout
            .contains("prepare-commit-msg: installed; the hook that was there runs first"),
        "{}",
        out.stdout
    );
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "With their hook");
    assert!(marker.exists(), "the previous commit-msg hook ran");
    let all = trailers(&env, &repo, "HEAD");
    assert_eq!(
        all[0], "Signed-off-by: Team Hook <hook@example.com>",
        "{all:?}"
    );
    assert!(
        all[1].starts_with("AI-Agent: "),
        "our lines join their trailer block: {all:?}"
    );
    // Signed-off-by, then AI-Agent, AI-Model, AI-Tokens, AI-Cost-Estimate, AI-Cost-Id.
    assert_eq!(all.len(), 6, "{all:?}");

    env.agent_cost(&repo, &["install-hooks", "--uninstall"]);
    assert_eq!(
        std::fs::read_to_string(hooks.join("prepare-commit-msg")).unwrap(),
        theirs
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("commit-msg")).unwrap(),
        their_commit_msg
    );
    assert!(!hooks.join("post-commit").exists());
}

#[test]
fn a_failing_commit_msg_hook_of_the_user_still_aborts_and_nothing_is_lost() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    executable(
        &repo.join(".git/hooks/commit-msg"),
        "#!/bin/sh\necho 'policy says no' >&2\nexit 1\n",
    );
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env.output("git", &repo, &["commit", "-q", "-m", "Rejected"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy says no"));
    // --no-verify skips the failing hook; the spend lands once.
    env.git(&repo, &["commit", "-q", "--no-verify", "-m", "Accepted"]);
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        0
    );
}

#[test]
fn core_hooks_path_is_honoured() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    env.git(&repo, &["config", "core.hooksPath", ".githooks"]);
    let out = env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    assert!(out.stdout.contains(".githooks"), "{}", out.stdout);
    assert!(repo.join(".githooks/prepare-commit-msg").exists());
    assert!(!repo.join(".git/hooks/prepare-commit-msg").exists());
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Via hooksPath");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}

#[test]
fn a_shim_whose_binary_is_gone_lets_the_commit_through_silently() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let copy = env.root.join("agent-cost-copy");
    std::fs::copy(BIN, &copy).unwrap();
    env.output(
        copy.to_str().unwrap(),
        &repo,
        &["install-hooks", "--no-ingest"],
        &[],
    );
    assert!(
        std::fs::read_to_string(repo.join(".git/hooks/prepare-commit-msg"))
            .unwrap()
            .contains("agent-cost-copy")
    );
    std::fs::remove_file(&copy).unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "No binary"]);
    assert_eq!(out.stderr, "");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
}
