//! The CI recipes of docs/ci.md work as pasted: the documentation holds the recipe files byte
//! for byte, actionlint (with shellcheck) passes the GitHub workflow and catches broken copies,
//! the GitLab job parses with the keys it needs, and the workflow's steps run for real against a
//! repository with spend, with a fake `gh` recording what they ask of GitHub.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::*;

const MARKER: &str = "<!-- agent-cost:pr-comment -->";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Asserts that `program` is on PATH (a Debian package the install script installs).
fn on_path(program: &str) {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{program} is not on PATH: run scripts/install-test-tools.sh (the README's test command does)"
    );
}

/// A YAML file as JSON, read by PyYAML.
fn yaml(env: &TestEnv, path: &Path) -> Value {
    let output = env.output(
        venv_program("python").to_str().unwrap(),
        &env.root,
        &[
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        output.status.success(),
        "PyYAML failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The contents of the ```yaml blocks of a Markdown text, in order.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.split_inclusive('\n') {
        match current.as_mut() {
            None if line.trim_end() == "```yaml" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => block.push_str(line),
        }
    }
    assert!(current.is_none(), "an unclosed ```yaml block");
    blocks
}

#[test]
fn docs_ci_md_holds_the_recipe_files_byte_for_byte() {
    let blocks = yaml_blocks(&read("docs/ci.md"));
    assert_eq!(blocks.len(), 3, "docs/ci.md has three ```yaml blocks");
    assert!(
        blocks[2] == read("docs/ci/github-squash-notes.yml"),
        "docs/ci.md's third ```yaml block differs from docs/ci/github-squash-notes.yml"
    );
    assert!(
        blocks[0] == read("docs/ci/github-workflow.yml"),
        "docs/ci.md's first ```yaml block differs from docs/ci/github-workflow.yml"
    );
    assert!(
        blocks[1] == read("docs/ci/gitlab-ci.yml"),
        "docs/ci.md's second ```yaml block differs from docs/ci/gitlab-ci.yml"
    );
}

/// `actionlint FILE` in the test's temp dir: (success, stdout + stderr).
fn actionlint(env: &TestEnv, file: &Path) -> (bool, String) {
    let output = env.output(
        venv_program("actionlint").to_str().unwrap(),
        &env.root,
        &["-no-color", file.to_str().unwrap()],
        &[],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn actionlint_and_shellcheck_pass_the_workflow_and_catch_broken_copies() {
    // actionlint runs shellcheck on the `run:` scripts when it is on PATH.
    on_path("shellcheck");
    let env = TestEnv::new();
    let workflow = workspace().join("docs/ci/github-workflow.yml");
    let (ok, text) = actionlint(&env, &workflow);
    assert!(ok && text.is_empty(), "actionlint:\n{text}");

    // The linter runs: a misspelt key and an unquoted variable in a script are reported.
    let original = read("docs/ci/github-workflow.yml");
    let broken = [
        ("permissions:\n", "permission:\n", "permission"),
        (
            ">> \"$GITHUB_OUTPUT\"",
            ">> $GITHUB_OUTPUT",
            "SC2086", // shellcheck's "double quote to prevent word splitting"
        ),
    ];
    for (from, to, expected) in broken {
        let copy = original.replacen(from, to, 1);
        assert_ne!(copy, original, "{from:?} is not in the workflow any more");
        let file = env.root.join("broken.yml");
        std::fs::write(&file, copy).unwrap();
        let (ok, text) = actionlint(&env, &file);
        assert!(
            !ok && text.contains(expected),
            "{to:?}: actionlint:\n{text}"
        );
    }
}

#[test]
fn the_workflow_keeps_expressions_out_of_its_scripts_and_asks_for_little() {
    let env = TestEnv::new();
    let workflow = yaml(&env, &workspace().join("docs/ci/github-workflow.yml"));
    // PyYAML reads the key `on` as the boolean true.
    assert!(workflow["true"]["pull_request"].is_null());
    assert!(workflow["true"].get("pull_request").is_some());
    assert_eq!(
        workflow["permissions"],
        json!({"contents": "read", "issues": "write", "pull-requests": "write"})
    );
    assert!(workflow["env"]["AGENT_COST_REPO"].is_string());
    let steps = workflow["jobs"]["agent-cost"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["with"]["fetch-depth"], 0);
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.contains(&"cargo install --locked --git \"$AGENT_COST_REPO\" agent-cost"));
    for run in &runs {
        assert!(
            !run.contains("${{"),
            "an expression inside a script:\n{run}"
        );
    }
    let uses_base_ref = steps.iter().filter(|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("origin/$BASE_REF..HEAD"))
    });
    for step in uses_base_ref {
        assert_eq!(step["env"]["BASE_REF"], "${{ github.base_ref }}");
    }
}

#[test]
fn the_gitlab_job_parses_with_the_keys_it_needs() {
    on_path("shellcheck");
    let env = TestEnv::new();
    let file = yaml(&env, &workspace().join("docs/ci/gitlab-ci.yml"));
    let job = &file["agent-cost"];
    assert_eq!(
        job["rules"],
        json!([{"if": "$CI_PIPELINE_SOURCE == \"merge_request_event\""}])
    );
    assert_eq!(job["variables"]["GIT_DEPTH"], 0);
    assert!(job["variables"]["AGENT_COST_REPO"].is_string());
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert_eq!(
        script[0],
        "cargo install --locked --git \"$AGENT_COST_REPO\" agent-cost"
    );
    assert!(
        script
            .iter()
            .any(|l| l.contains("\"origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME..HEAD\""))
    );
    assert!(script.contains(&"agent-cost pr-comment \"$RANGE\" > agent-cost-comment.md"));
    assert_eq!(script.last(), Some(&"agent-cost check \"$RANGE\""));
    assert_eq!(job["artifacts"]["paths"], json!(["agent-cost-comment.md"]));

    // The runner joins the lines into one script: shellcheck finds nothing in it.
    let joined = env.root.join("gitlab-script.sh");
    std::fs::write(&joined, script.join("\n") + "\n").unwrap();
    let output = env.output(
        "shellcheck",
        &env.root,
        &["--shell=bash", joined.to_str().unwrap()],
        &[],
    );
    assert!(
        output.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// A fake `gh`: records each call's arguments (one per line) in `$FAKE_GH_DIR/call-NNN.args`
/// and, with `--input -`, its standard input in `call-NNN.stdin`; answers the listings of
/// comments and labels with `comments.json` and `labels.json` of that directory.
const FAKE_GH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
dir=$FAKE_GH_DIR
n=$(printf '%03d' "$(find "$dir" -maxdepth 1 -name 'call-*.args' | wc -l)")
printf '%s\n' "$@" > "$dir/call-$n.args"
method=GET path= prev=
for arg in "$@"; do
  case $prev in
    --method) method=$arg ;;
    --input) if [ "$arg" = - ]; then cat > "$dir/call-$n.stdin"; fi ;;
  esac
  case $arg in repos/*) path=$arg ;; esac
  prev=$arg
done
if [ "$1" = api ] && [ "$method" = GET ]; then
  case $path in
    */comments) cat "$dir/comments.json" ;;
    */labels) cat "$dir/labels.json" ;;
    *) echo "fake gh: unexpected GET $path" >&2; exit 1 ;;
  esac
elif [ "$1" = api ]; then
  echo '{}'
fi
"#;

struct Call {
    args: Vec<String>,
    stdin: Option<String>,
}

impl Call {
    fn is(&self, args: &[&str]) -> bool {
        self.args == args
    }
}

/// The workflow run for real in `repo`: its steps' scripts with their `env:` (expressions
/// replaced by this pull request's values), `agent-cost` and the fake `gh` first on PATH.
struct Workflow<'a> {
    env: &'a TestEnv,
    repo: &'a Path,
    steps: Vec<Value>,
    gh_dir: PathBuf,
    path: String,
}

impl<'a> Workflow<'a> {
    fn new(env: &'a TestEnv, repo: &'a Path) -> Workflow<'a> {
        on_path("jq");
        let workflow = yaml(env, &workspace().join("docs/ci/github-workflow.yml"));
        let steps = workflow["jobs"]["agent-cost"]["steps"]
            .as_array()
            .unwrap()
            .clone();
        let bin = env.root.join("ci-bin");
        executable(&bin.join("gh"), FAKE_GH);
        std::os::unix::fs::symlink(BIN, bin.join("agent-cost")).unwrap();
        let gh_dir = env.root.join("fake-gh");
        std::fs::create_dir_all(&gh_dir).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Workflow {
            env,
            repo,
            steps,
            gh_dir,
            path,
        }
    }

    /// The one step whose script contains `needle`.
    fn step(&self, needle: &str) -> &Value {
        let found: Vec<&Value> = self
            .steps
            .iter()
            .filter(|s| s["run"].as_str().is_some_and(|r| r.contains(needle)))
            .collect();
        assert_eq!(found.len(), 1, "steps running {needle:?}");
        found[0]
    }

    /// Runs the script of the step running `needle` as GitHub does with `shell: bash`.
    fn run(&self, needle: &str, extra: &[(&str, &str)]) -> std::process::Output {
        let step = self.step(needle);
        let script = self.env.root.join("step.sh");
        std::fs::write(&script, step["run"].as_str().unwrap()).unwrap();
        let expressions = BTreeMap::from([
            ("${{ github.token }}", "fake-token"),
            ("${{ github.repository }}", "acme/shop"),
            ("${{ github.event.pull_request.number }}", "7"),
            ("${{ github.base_ref }}", "main"),
        ]);
        let mut command = self.env.command("bash", self.repo);
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .env("PATH", &self.path)
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("FAKE_GH_DIR", &self.gh_dir);
        if let Some(vars) = step["env"].as_object() {
            for (key, value) in vars {
                let value = value.as_str().unwrap();
                let value = expressions
                    .get(value)
                    .copied()
                    .or_else(|| extra.iter().find(|(k, _)| k == key).map(|(_, v)| *v))
                    .unwrap_or_else(|| panic!("no test value for {key}: {value}"));
                command.env(key, value);
            }
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    /// Runs the comment and label step with GitHub answering `comments` and `labels`; the
    /// calls it made of `gh`.
    fn comment_and_label(&self, comments: &str, labels: &str) -> Vec<Call> {
        for entry in std::fs::read_dir(&self.gh_dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        std::fs::write(self.gh_dir.join("comments.json"), comments).unwrap();
        std::fs::write(self.gh_dir.join("labels.json"), labels).unwrap();
        let output = self.run("agent-cost pr-comment", &[]);
        assert!(
            output.status.success(),
            "the comment step failed:\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut names: Vec<String> = std::fs::read_dir(&self.gh_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".args"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| {
                let args = std::fs::read_to_string(self.gh_dir.join(name)).unwrap();
                let stdin = self.gh_dir.join(name.replace(".args", ".stdin"));
                Call {
                    args: args.lines().map(str::to_string).collect(),
                    stdin: std::fs::read_to_string(stdin).ok(),
                }
            })
            .collect()
    }

    /// Runs the check step: its exit status and the status it keeps for the last step.
    fn check(&self) -> (bool, String) {
        let output_file = self.env.root.join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let output = self.run(
            "agent-cost check \"origin",
            &[("GITHUB_OUTPUT", output_file.to_str().unwrap())],
        );
        let kept = std::fs::read_to_string(&output_file).unwrap();
        (output.status.success(), kept)
    }
}

/// The body a call posted or patched.
fn body(call: &Call) -> String {
    let input: Value = serde_json::from_str(call.stdin.as_deref().expect("--input -")).unwrap();
    input["body"].as_str().unwrap().to_string()
}

fn assert_labels_created(calls: &[Call]) {
    for band in ["cost:low", "cost:medium", "cost:high"] {
        assert!(
            calls.iter().any(|c| c.args.len() > 3
                && c.args[..3] == ["label", "create", band]
                && c.args.contains(&"--force".to_string())),
            "gh label create {band} --force"
        );
    }
}

/// Needs `agent-cost check` and `agent-cost pr-comment`.
#[test]
fn the_workflow_steps_post_one_comment_then_edit_it_and_keep_one_cost_label() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[budget.branch]\nsoft = 1.00\nhard = 20.00\n",
    )
    .unwrap();
    env.git(&repo, &["add", "agent-cost.toml"]);
    env.git(&repo, &["commit", "-q", "-m", "Budgets"]);
    // The base branch as the checkout fetches it; the pull request's commits on `feature`.
    env.git(&repo, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1_000)]);
    commit(&env, &repo, "cart.txt", "Add cart total");
    assert!(!ai_trailers(&env, &repo, "HEAD").is_empty());
    let workflow = Workflow::new(&env, &repo);

    // Within budget: the check step keeps 0, and the last step is skipped for it.
    let (ok, kept) = workflow.check();
    assert!(ok);
    assert_eq!(kept, "status=0\n");
    assert_eq!(
        workflow.step("exit 1")["if"],
        "steps.check.outputs.status != '0'"
    );

    // First run: no comment of ours yet, so one is posted; the label is cost:low.
    let expected = env.agent_cost_json(&repo, &["pr-comment", "origin/main..HEAD"]);
    assert_eq!(expected["marker"], MARKER);
    assert_eq!(expected["label"], "cost:low");
    let markdown = env
        .agent_cost(&repo, &["pr-comment", "origin/main..HEAD"])
        .stdout;
    let calls = workflow.comment_and_label(
        r#"[{"id": 11, "body": "Looks good", "user": {"login": "dana"}}]"#,
        r#"[{"name": "bug"}]"#,
    );
    assert!(calls[0].is(&["api", "--paginate", "repos/acme/shop/issues/7/comments"]));
    let posted: Vec<&Call> = calls
        .iter()
        .filter(|c| {
            c.is(&[
                "api",
                "--method",
                "POST",
                "repos/acme/shop/issues/7/comments",
                "--input",
                "-",
            ])
        })
        .collect();
    assert_eq!(posted.len(), 1);
    let posted = body(posted[0]);
    assert_eq!(posted.lines().next(), Some(MARKER));
    assert_eq!(posted.trim_end(), markdown.trim_end());
    assert_eq!(posted, expected["markdown"].as_str().unwrap());
    assert!(!calls.iter().any(|c| c.args.contains(&"PATCH".to_string())));
    assert_labels_created(&calls);
    assert!(
        calls
            .iter()
            .any(|c| c.is(&["api", "--paginate", "repos/acme/shop/issues/7/labels"]))
    );
    assert!(!calls.iter().any(|c| c.args.contains(&"DELETE".to_string())));
    assert!(calls.last().unwrap().is(&[
        "api",
        "--method",
        "POST",
        "repos/acme/shop/issues/7/labels",
        "-f",
        "labels[]=cost:low",
    ]));

    // A costly commit: over the hard budget, and cost:high.
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 100, 3_000_000)]);
    commit(&env, &repo, "tax.txt", "Add tax");
    assert!(micros(&sum(&env, &repo, "origin/main..HEAD")["cost_usd"]) > 20_000_000);
    let (ok, kept) = workflow.check();
    assert!(ok, "the check step lets the job go on to the comment");
    assert_eq!(kept, "status=2\n");
    let fail = workflow.run("exit 1", &[("STATUS", "2")]);
    assert!(!fail.status.success());

    // Second run: our comment is on the second page, after one that only quotes the marker:
    // it is edited, nothing is posted; cost:low goes, cost:high comes, other labels stay.
    let expected = env.agent_cost_json(&repo, &["pr-comment", "origin/main..HEAD"]);
    assert_eq!(expected["label"], "cost:high");
    let calls = workflow.comment_and_label(
        &format!(
            "[{{\"id\": 11, \"body\": \"quoting {MARKER} here\"}}]\n\
             [{{\"id\": 12, \"body\": \"ok\"}}, {{\"id\": 42, \"body\": \"{MARKER}\\nold\"}}]\n"
        ),
        r#"[{"name": "bug"}, {"name": "cost:low"}]"#,
    );
    let patched: Vec<&Call> = calls
        .iter()
        .filter(|c| {
            c.is(&[
                "api",
                "--method",
                "PATCH",
                "repos/acme/shop/issues/comments/42",
                "--input",
                "-",
            ])
        })
        .collect();
    assert_eq!(patched.len(), 1);
    assert_eq!(body(patched[0]), expected["markdown"].as_str().unwrap());
    assert!(!calls.iter().any(|c| {
        c.args.contains(&"POST".to_string())
            && c.args
                .contains(&"repos/acme/shop/issues/7/comments".to_string())
    }));
    assert_labels_created(&calls);
    let deleted: Vec<&Call> = calls
        .iter()
        .filter(|c| c.args.contains(&"DELETE".to_string()))
        .collect();
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0].is(&[
        "api",
        "--method",
        "DELETE",
        "repos/acme/shop/issues/7/labels/cost:low"
    ]));
    assert!(calls.last().unwrap().is(&[
        "api",
        "--method",
        "POST",
        "repos/acme/shop/issues/7/labels",
        "-f",
        "labels[]=cost:high",
    ]));
}

#[test]
fn actionlint_passes_the_squash_notes_workflow() {
    on_path("shellcheck");
    let env = TestEnv::new();
    let (ok, text) = actionlint(&env, &workspace().join("docs/ci/github-squash-notes.yml"));
    assert!(ok && text.is_empty(), "{text}");
}

#[test]
fn the_squash_notes_workflow_keeps_the_spend_of_every_squash_message_setting() {
    on_path("jq");
    let workflow = {
        let env = TestEnv::new();
        yaml(&env, &workspace().join("docs/ci/github-squash-notes.yml"))
    };
    let steps = workflow["jobs"]["squash-note"]["steps"]
        .as_array()
        .unwrap()
        .clone();
    let script = steps
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("squash-note")))
        .expect("the step running squash-note")
        .to_string();
    let listed = format!(
        "Cart (#5)\n\n* Add cart\n\n{}\n* Fix cart\n\n{}",
        trailer_block(0xa1, &[BlockLine::sonnet(400_000)]),
        trailer_block(0xa2, &[BlockLine::sonnet(700_000)])
    );
    for (setting, message, notes) in [
        (
            "pull request title and description",
            "Cart (#5)\n\nAdds a cart.".to_string(),
            1,
        ),
        ("pull request title", "Cart (#5)".to_string(), 1),
        ("default message", listed, 0),
    ] {
        let env = TestEnv::new();
        // GitHub's side: a bare repository holding main, the pull request's head and the
        // squash commit made by the merge button.
        let origin = env.root.join("origin.git");
        let dev = env.repo("dev");
        env.git(
            &env.root,
            &["init", "-q", "--bare", origin.to_str().unwrap()],
        );
        env.git(&dev, &["remote", "add", "origin", origin.to_str().unwrap()]);
        env.git(&dev, &["checkout", "-q", "-b", "feature"]);
        for (file, subject, id, micros) in [
            ("a.txt", "Add cart", 0xa1, 400_000u64),
            ("b.txt", "Fix cart", 0xa2, 700_000),
        ] {
            std::fs::write(dev.join(file), subject).unwrap();
            env.git(&dev, &["add", file]);
            let text = format!(
                "{subject}\n\n{}",
                trailer_block(id, &[BlockLine::sonnet(micros)])
            );
            env.git(&dev, &["commit", "-q", "-m", &text]);
        }
        let base = env
            .git(&dev, &["rev-parse", "main"])
            .stdout
            .trim()
            .to_string();
        let head = env
            .git(&dev, &["rev-parse", "feature"])
            .stdout
            .trim()
            .to_string();
        env.git(
            &dev,
            &["push", "-q", "origin", "main", "feature:refs/pull/5/head"],
        );
        env.git(&dev, &["checkout", "-q", "main"]);
        env.git(&dev, &["merge", "-q", "--squash", "feature"]);
        env.git(
            &dev,
            &["commit", "-q", "--allow-empty-message", "-m", &message],
        );
        env.git(&dev, &["push", "-q", "origin", "main"]);
        let merge = env
            .git(&dev, &["rev-parse", "main"])
            .stdout
            .trim()
            .to_string();

        // The runner: a full clone of main, then the step's script.
        let runner = env.root.join("runner");
        env.git(
            &env.root,
            &[
                "clone",
                "-q",
                origin.to_str().unwrap(),
                runner.to_str().unwrap(),
            ],
        );
        let bin = env.root.join("ci-bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("agent-cost")).unwrap();
        let step = env.root.join("step.sh");
        std::fs::write(&step, &script).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = || {
            let out = env
                .command("bash", &runner)
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&step)
                .env("PATH", &path)
                .env("BASE_SHA", &base)
                .env("HEAD_SHA", &head)
                .env("MERGE_SHA", &merge)
                .env("PR_NUMBER", "5")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{setting}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run();
        run();

        // Anyone fetching the notes sees the pull request's spend on main, once.
        env.git(
            &dev,
            &["fetch", "-q", "origin", "+refs/notes/*:refs/notes/*"],
        );
        let total = sum(&env, &dev, "main");
        assert_eq!(
            micros(&total["cost_usd"]),
            1_100_000,
            "{setting}: {total:#}"
        );
        assert_eq!(total["drains"], 2, "{setting}");
        let listed = env
            .output("git", &dev, &["notes", "--ref=ai-cost", "list"], &[])
            .stdout;
        assert_eq!(
            String::from_utf8_lossy(&listed).lines().count(),
            notes,
            "{setting}: notes on origin"
        );
    }
}
