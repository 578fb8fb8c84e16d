//! install-hooks: links to the binary, existing hooks kept and run, earlier shims replaced,
//! core.hooksPath, uninstall, binary paths of any bytes.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Output;

use crate::harness::*;

const HOOKS: [&str; 2] = ["prepare-commit-msg", "commit-msg"];

#[test]
fn installed_hooks_link_to_the_binary_and_install_is_idempotent() {
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
        let link = std::fs::read_link(repo.join(".git/hooks").join(name)).unwrap();
        assert_eq!(link, Path::new(BIN), "{name}");
        assert!(
            !repo
                .join(format!(".git/hooks/{name}.pre-agent-cost"))
                .exists()
        );
    }
    for name in ["post-commit", "post-merge"] {
        assert!(!repo.join(".git/hooks").join(name).exists(), "{name}");
    }
    env.agent_cost(&repo, &["install-hooks", "--uninstall"]);
    for name in HOOKS {
        assert!(!repo.join(".git/hooks").join(name).is_symlink(), "{name}");
    }
    assert!(!repo.join(".git/agent-cost/tracking.json").exists());
}

/// An earlier version's shell shims, with a hook of the user's chained behind post-commit.
#[test]
fn reinstalling_replaces_earlier_shims_and_gives_back_the_retired_hooks() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let hooks = repo.join(".git/hooks");
    let old_shim = format!(
        "#!/bin/sh\n# agent-cost hook shim: earlier version\nexec '{BIN}' hook \"$(basename \"$0\")\" \"$@\"\n"
    );
    for name in [
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "post-merge",
    ] {
        executable(&hooks.join(name), &old_shim);
    }
    let marker = env.root.join("their-post-commit-ran");
    let theirs = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    executable(&hooks.join("post-commit.pre-agent-cost"), &theirs);

    let out = env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    assert!(
        out.stdout.contains("prepare-commit-msg: updated"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("post-commit: removed (no longer needed); the previous hook is back"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("post-merge: removed (no longer needed)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-commit")).unwrap(),
        theirs
    );
    assert!(!hooks.join("post-merge").exists());
    assert!(!hooks.join("post-commit.pre-agent-cost").exists());
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "After the upgrade");
    assert!(marker.exists(), "their post-commit runs again, directly");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
}

/// A hook of the user's with no `#!` line is run by /bin/sh, as git runs it; one that fails
/// stops the commit with its own exit status.
#[test]
fn a_previous_hook_without_a_shebang_runs_and_its_status_is_kept() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let hooks = repo.join(".git/hooks");
    let marker = env.root.join("ran");
    executable(
        &hooks.join("prepare-commit-msg"),
        &format!("touch '{}'\n", marker.display()),
    );
    executable(&hooks.join("commit-msg"), "exit 3\n");
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env.output("git", &repo, &["commit", "-q", "-m", "Refused"], &[]);
    assert!(marker.exists(), "the prepare-commit-msg without #! ran");
    assert_eq!(out.status.code(), Some(1), "git reports the hook's failure");
    assert!(
        env.output(
            "git",
            &repo,
            &["rev-parse", "-q", "--verify", "HEAD~1"],
            &[]
        )
        .stdout
        .is_empty(),
        "no commit was made"
    );
    // The hook's own status reaches git: run it as git does and look.
    let status = std::process::Command::new(hooks.join("commit-msg"))
        .arg(repo.join(".git/COMMIT_EDITMSG"))
        .current_dir(&repo)
        .env("AGENT_COST_HOME", &env.state)
        .env("HOME", env.root.join("home"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
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
    let mut install = env.command(copy.to_str().unwrap(), &repo);
    install.args(["install-hooks", "--no-ingest"]);
    output_of_new_executable(&mut install);
    assert_eq!(
        std::fs::read_link(repo.join(".git/hooks/prepare-commit-msg")).unwrap(),
        copy
    );
    std::fs::remove_file(&copy).unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env.git(&repo, &["commit", "-q", "-m", "No binary"]);
    assert_eq!(out.stderr, "");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
}

/// `PATH` without any directory holding an `agent-cost`, so a shim cannot fall back to one.
fn path_without_agent_cost() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        std::env::split_paths(&path).filter(|dir| !dir.join("agent-cost").exists()),
    )
    .unwrap()
}

/// Installs the hooks with a copy of the binary in a directory named `dir_name`, and checks
/// that a commit runs that copy.
fn hooks_run_a_binary_under(dir_name: &OsStr) {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let dir = env.root.join(dir_name);
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("agent-cost");
    std::fs::copy(BIN, &copy).unwrap();
    let path = path_without_agent_cost();
    // The second run recognises its own shims.
    for expected in [
        "prepare-commit-msg: installed\n",
        "prepare-commit-msg: updated\n",
    ] {
        let mut install = env.command(&copy, &repo);
        install
            .args(["install-hooks", "--since", "2020-01-01"])
            .env("PATH", &path);
        let out = output_of_new_executable(&mut install);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains(expected), "{stdout}");
    }
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    stage(&env, &repo, "a.txt");
    let out = env
        .command("git", &repo)
        .args(["commit", "-q", "-m", "Through the copy"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        0
    );
}

/// Runs a command whose executable was just written. Another test thread that forks while the
/// file is still open for writing holds it open in its child until that child execs, and exec
/// fails with "Text file busy" meanwhile: try again.
fn output_of_new_executable(command: &mut std::process::Command) -> Output {
    let mut attempts = 0;
    loop {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result.unwrap(),
        }
    }
}

#[test]
fn hooks_run_a_binary_whose_path_holds_shell_metacharacters() {
    hooks_run_a_binary_under(OsStr::new(
        "we}ird $dir \"q\" 'x' `false` back\\slash ${HOME:-}",
    ));
}

#[test]
fn hooks_run_a_binary_whose_path_is_not_utf8() {
    hooks_run_a_binary_under(OsStr::from_bytes(b"bad \xff\xfe} '\n\tname"));
}

/// The user's hook is kept at install; later Gerrit's documented `curl -Lo` replaces ours.
/// Re-running install-hooks keeps both (no dead end), all three run, and uninstall puts back
/// the first and says where the other is.
#[test]
fn a_hook_that_replaced_ours_is_chained_on_reinstall_and_reported_on_uninstall() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let hooks = repo.join(".git/hooks");
    let ran = env.root.join("theirs-ran");
    let theirs = format!("#!/bin/sh\ntouch '{}'\n", ran.display());
    executable(&hooks.join("commit-msg"), &theirs);
    env.agent_cost(&repo, &["install-hooks", "--since", "2020-01-01"]);
    let gerrit = "#!/bin/sh\ngit interpret-trailers --in-place --trailer 'Change-Id: I0123456789abcdef0123456789abcdef01234567' \"$1\"\n";
    std::fs::remove_file(hooks.join("commit-msg")).unwrap();
    executable(&hooks.join("commit-msg"), gerrit);

    let out = env.agent_cost(&repo, &["install-hooks"]);
    assert!(
        out.stdout
            .contains("commit-msg: installed; the hook that was there runs first"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("commit-msg.pre-agent-cost.2")).unwrap(),
        gerrit
    );
    // Again: nothing changes, nothing is duplicated.
    env.agent_cost(&repo, &["install-hooks"]);
    assert!(!hooks.join("commit-msg.pre-agent-cost.3").exists());
    // A byte-identical copy over ours again is recognised.
    std::fs::remove_file(hooks.join("commit-msg")).unwrap();
    executable(&hooks.join("commit-msg"), gerrit);
    env.agent_cost(&repo, &["install-hooks"]);
    assert!(!hooks.join("commit-msg.pre-agent-cost.3").exists());
    assert!(hooks.join("commit-msg").is_symlink());

    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "All three");
    assert!(ran.exists(), "the first hook of the user's ran");
    let lines = trailers(&env, &repo, "HEAD");
    assert!(
        lines.iter().any(|l| l.starts_with("Change-Id: I0123")),
        "{lines:?}"
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);

    let out = env.agent_cost(&repo, &["install-hooks", "--uninstall"]);
    assert!(
        out.stdout
            .contains("commit-msg: removed; the hook that was there first is back"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("also kept: "), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(hooks.join("commit-msg")).unwrap(),
        theirs
    );
    assert!(hooks.join("commit-msg.pre-agent-cost.2").exists());
}

/// A binary under another name (`ac-renamed`) is still recognised as agent-cost: installing
/// with it and then with the usual binary updates the links instead of chaining one behind the
/// other, and a link to agent-cost left as a "previous hook" is dropped and never run.
#[test]
fn links_to_a_renamed_binary_are_ours() {
    let env = TestEnv::new();
    let repo = env.repo("alpha");
    let hooks = repo.join(".git/hooks");
    let renamed = env.root.join("ac-renamed");
    std::fs::copy(BIN, &renamed).unwrap();
    let mut install = env.command(&renamed, &repo);
    install.args(["install-hooks", "--since", "2020-01-01", "--no-ingest"]);
    assert!(output_of_new_executable(&mut install).status.success());
    let out = env.agent_cost(&repo, &["install-hooks"]);
    assert!(
        out.stdout.contains("prepare-commit-msg: updated"),
        "{}",
        out.stdout
    );
    assert!(!hooks.join("prepare-commit-msg.pre-agent-cost").exists());

    // As an earlier install left it: a link to agent-cost kept behind ours.
    std::os::unix::fs::symlink(&renamed, hooks.join("commit-msg.pre-agent-cost")).unwrap();
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Works anyway");
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    env.agent_cost(&repo, &["install-hooks"]);
    assert!(!hooks.join("commit-msg.pre-agent-cost").is_symlink());
}
