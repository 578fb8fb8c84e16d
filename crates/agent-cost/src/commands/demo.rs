//! `agent-cost demo`: the whole loop on a throwaway repository, in a few seconds.
//!
//! Everything happens under a new temporary directory: a fake home for Claude Code's
//! transcripts and agent-cost's state, a git repository with isolated git config, and this
//! binary's own hooks. Nothing of the user's is read or written.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::output::{self, CommandError, CommandResult, outln};

/// See agent-cost work on a throwaway repository with sample Claude Code sessions.
///
/// Creates a temporary repository and a fake Claude Code home, installs the hooks, writes
/// sample transcript lines (including a response streamed as several lines, which must be
/// counted once), makes two commits, and shows `git log` with the trailers and
/// `agent-cost trailers sum`. Nothing outside the temporary directory is touched.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the temporary directory and print its path, to look around afterwards.
    #[arg(long)]
    keep: bool,
}

struct Demo {
    root: PathBuf,
    repo: PathBuf,
    claude: PathBuf,
    binary: PathBuf,
}

/// Runs the command.
pub fn run(args: DemoArgs) -> CommandResult {
    let root = std::env::temp_dir().join(format!("agent-cost-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let demo = Demo {
        repo: root.join("shop"),
        claude: root.join("claude"),
        binary: std::env::current_exe().map_err(CommandError::from)?,
        root,
    };
    let result = demo.play();
    if args.keep {
        // The demo's own error, if any, matters more than this line's.
        let kept = outln!("\nkept: {}", demo.root.display());
        result.and(kept)
    } else {
        let _ = std::fs::remove_dir_all(&demo.root);
        result
    }
}

impl Demo {
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.repo)
            .env("HOME", self.root.join("home"))
            .env("AGENT_COST_HOME", self.root.join("state"))
            .env("CLAUDE_CONFIG_DIR", &self.claude)
            .env("GIT_CONFIG_GLOBAL", self.root.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Dana Developer")
            .env("GIT_AUTHOR_EMAIL", "dana@example.com")
            .env("GIT_COMMITTER_NAME", "Dana Developer")
            .env("GIT_COMMITTER_EMAIL", "dana@example.com")
            .env("AGENT_COST_BIN", &self.binary)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        command
    }

    fn run(&self, program: &str, args: &[&str], show: bool) -> Result<String, CommandError> {
        let path = if program == "agent-cost" {
            self.binary.clone()
        } else {
            PathBuf::from(program)
        };
        if show {
            let shown: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.contains([' ', '%']) {
                        format!("'{a}'")
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            outln!("\n$ {program} {}", shown.join(" "))?;
        }
        let output = self.command(&path).args(args).output().map_err(|e| {
            CommandError::msg(format!("cannot run {program}: {e}"))
                .hint("the demo needs git on PATH")
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(CommandError::msg(format!(
                "`{program} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        if show {
            output::stdout(format_args!("{stdout}"))?;
        }
        Ok(stdout)
    }

    fn play(&self) -> CommandResult {
        std::fs::create_dir_all(&self.repo).map_err(CommandError::from)?;
        std::fs::create_dir_all(self.root.join("home")).map_err(CommandError::from)?;
        std::fs::write(self.root.join("gitconfig"), "").map_err(CommandError::from)?;
        outln!(
            "agent-cost demo: a throwaway repository in {}",
            self.root.display()
        )?;
        self.run("git", &["init", "-q", "-b", "main"], false)?;
        self.write("README.md", "# shop\n")?;
        self.run("git", &["add", "."], false)?;
        self.run("git", &["commit", "-q", "-m", "Initial commit"], false)?;
        self.run("agent-cost", &["install-hooks"], true)?;

        outln!("\n# Claude Code works in the repository (sample transcript lines are written)...")?;
        let session = "5e55a0a1-demo-4c1a-9b7e-000000000001";
        self.transcript(
            session,
            &[
                (
                    "msg_demo_01",
                    "claude-sonnet-4-5-20250929",
                    [8, 1, 4_200, 0, 11_000],
                ),
                // The same response streamed again with its final output count: counted once.
                (
                    "msg_demo_01",
                    "claude-sonnet-4-5-20250929",
                    [8, 612, 4_200, 0, 11_000],
                ),
                (
                    "msg_demo_02",
                    "claude-sonnet-4-5-20250929",
                    [12, 1_450, 900, 0, 15_200],
                ),
                (
                    "msg_demo_03",
                    "claude-haiku-4-5-20251001",
                    [300, 120, 0, 0, 0],
                ),
            ],
        )?;
        self.write(
            "cart.py",
            "def total(items):\n    return sum(i.price for i in items)\n",
        )?;
        self.run("git", &["add", "cart.py"], false)?;
        self.run("git", &["commit", "-q", "-m", "Add cart total"], true)?;
        self.run("git", &["log", "-1", "--format=%B"], true)?;

        self.transcript(
            session,
            &[(
                "msg_demo_04",
                "claude-sonnet-4-5-20250929",
                [20, 2_300, 1_200, 0, 19_000],
            )],
        )?;
        self.write(
            "cart.py",
            "def total(items):\n    return round(sum(i.price for i in items), 2)\n",
        )?;
        self.run("git", &["commit", "-q", "-am", "Round cart total"], true)?;
        self.run(
            "git",
            &[
                "log",
                "--format=%h %s%n%(trailers:key=AI-Cost-Estimate,valueonly)",
            ],
            true,
        )?;
        self.run("agent-cost", &["trailers", "sum", "main"], true)?;
        self.run("agent-cost", &["status", "--no-ingest"], true)?;
        self.run("agent-cost", &["verify", "--no-ingest"], true)?;
        Ok(())
    }

    fn write(&self, name: &str, text: &str) -> CommandResult {
        std::fs::write(self.repo.join(name), text).map_err(CommandError::from)
    }

    /// Appends assistant lines to the session's transcript: (message id, model,
    /// [input, output, cache write, cache write 1h, cache read]).
    fn transcript(&self, session: &str, lines: &[(&str, &str, [u64; 5])]) -> CommandResult {
        let dir = self
            .claude
            .join("projects")
            .join(agent_cost_sources::claude::encode_project_dir(&self.repo));
        std::fs::create_dir_all(&dir).map_err(CommandError::from)?;
        let mut text = String::new();
        for (id, model, [input, output, write_5m, write_1h, read]) in lines {
            let line = json!({
                "type": "assistant",
                "isSidechain": false,
                "cwd": self.repo,
                "sessionId": session,
                "gitBranch": "main",
                "requestId": format!("req_{id}"),
                "uuid": format!("{id}-{output}"),
                "timestamp": agent_cost_store::time::now_rfc3339(),
                "message": {
                    "id": id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": "…"}],
                    "usage": {
                        "input_tokens": input,
                        "output_tokens": output,
                        "cache_creation_input_tokens": write_5m + write_1h,
                        "cache_read_input_tokens": read,
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": write_5m,
                            "ephemeral_1h_input_tokens": write_1h
                        }
                    }
                }
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
        use std::io::Write;
        let path = dir.join(format!("{session}.jsonl"));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(CommandError::from)?;
        file.write_all(text.as_bytes()).map_err(CommandError::from)
    }
}
