//! The test environment: a temp dir holding a fake home, agent-cost state, Claude Code config
//! and any number of repositories; helpers to run git and agent-cost there.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_agent-cost");
/// When every test repository's first commit was made.
pub const INITIAL_COMMIT_DATE: &str = "2026-01-01T00:00:00Z";

pub struct TestEnv {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub claude: PathBuf,
    pub state: PathBuf,
    /// The Codex CLI home (`CODEX_HOME`).
    pub codex: PathBuf,
}

/// Output of a command that succeeded.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        for dir in ["home", "claude/projects", "state", "codex"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("gitconfig"), "[init]\n\tdefaultBranch = main\n").unwrap();
        TestEnv {
            claude: root.join("claude"),
            state: root.join("state"),
            codex: root.join("codex"),
            root,
            _tmp: tmp,
        }
    }

    /// The ledger database, opened as a user would with the `sqlite3` shell.
    pub fn ledger(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.state.join("ledger.db")).unwrap()
    }

    /// Forgets every read cursor, as if agent-cost had never read the logs.
    pub fn forget_cursors(&self) {
        self.ledger().execute("DELETE FROM cursors", []).unwrap();
    }

    /// A command with a clean environment pointing every location at the temp dir.
    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.join("home"))
            .env("AGENT_COST_HOME", &self.state)
            .env("CLAUDE_CONFIG_DIR", &self.claude)
            .env("CODEX_HOME", &self.codex)
            .env("GIT_CONFIG_GLOBAL", self.root.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_EDITOR", "false")
            .env("AGENT_COST_HOOK_BUDGET_MS", "20000");
        command
    }

    pub fn output(&self, program: &str, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(program, cwd);
        command.args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    fn checked(&self, program: &str, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let output = self.output(program, cwd, args, env);
        let ran = Ran {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            output.status.success(),
            "`{program} {}` failed in {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            cwd.display(),
            ran.stdout,
            ran.stderr
        );
        ran
    }

    pub fn git(&self, cwd: &Path, args: &[&str]) -> Ran {
        self.checked("git", cwd, args, &[])
    }

    pub fn git_env(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
        self.checked("git", cwd, args, env)
    }

    pub fn agent_cost(&self, cwd: &Path, args: &[&str]) -> Ran {
        self.checked(BIN, cwd, args, &[])
    }

    pub fn agent_cost_json(&self, cwd: &Path, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let ran = self.agent_cost(cwd, &args);
        serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
    }

    /// A new repository with one commit, hooks not installed.
    pub fn repo(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        self.git(&dir, &["init", "-q"]);
        std::fs::write(dir.join("README.md"), format!("# {name}\n")).unwrap();
        self.git(&dir, &["add", "README.md"]);
        self.git_env(
            &dir,
            &["commit", "-q", "-m", "Initial commit"],
            &[
                ("GIT_COMMITTER_DATE", INITIAL_COMMIT_DATE),
                ("GIT_AUTHOR_DATE", INITIAL_COMMIT_DATE),
            ],
        );
        dir
    }

    /// A linked worktree of `repo` at `<root>/<name>` on a new branch `feature`.
    pub fn linked_worktree(&self, repo: &Path, name: &str) -> PathBuf {
        let linked = self.root.join(name);
        self.git(
            repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "feature",
                linked.to_str().unwrap(),
            ],
        );
        linked.canonicalize().unwrap()
    }

    /// A repository with hooks installed, charging everything since 2020.
    pub fn tracked_repo(&self, name: &str) -> PathBuf {
        let dir = self.repo(name);
        self.agent_cost(&dir, &["install-hooks", "--since", "2020-01-01"]);
        dir
    }

    /// A directory outside any repository.
    pub fn outside(&self) -> PathBuf {
        let dir = self.root.join("outside");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The transcript path of a session, as Claude Code lays it out.
    pub fn transcript_path(&self, project: &str, file: &str) -> PathBuf {
        self.claude.join("projects").join(project).join(file)
    }

    /// Copies a fixture transcript in, replacing path placeholders.
    pub fn install_fixture(&self, fixture: &str, target: &Path, places: &[(&str, &Path)]) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/claude")
            .join(fixture);
        let mut text = std::fs::read_to_string(&source).unwrap();
        for (placeholder, path) in places {
            text = text.replace(placeholder, &path.display().to_string());
        }
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        append(target, &text);
    }

    /// Copies a Codex fixture rollout to `relative` under `CODEX_HOME`, replacing path
    /// placeholders.
    pub fn install_codex_fixture(&self, fixture: &str, relative: &str, places: &[(&str, &Path)]) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/codex")
            .join(fixture);
        let mut text = std::fs::read_to_string(&source).unwrap();
        for (placeholder, path) in places {
            text = text.replace(placeholder, &path.display().to_string());
        }
        let target = self.codex.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        append(&target, &text);
    }

    /// Appends assistant lines to a session transcript for `cwd`.
    pub fn claude_lines(&self, cwd: &Path, session: &str, requests: &[Request]) -> PathBuf {
        let path = self.transcript_path(&encode(cwd), &format!("{session}.jsonl"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for request in requests {
            text.push_str(&request.line(cwd, session));
            text.push('\n');
        }
        append(&path, &text);
        path
    }
}

/// A program of the virtualenv `scripts/install-test-tools.sh` makes in `.tools/venv` (its
/// Python with DuckDB and PyYAML, actionlint, pre-commit).
pub fn venv_program(name: &str) -> PathBuf {
    let program = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/venv/bin")
        .join(name);
    assert!(
        program.exists(),
        "{} is missing: run scripts/install-test-tools.sh (the README's test command does)",
        program.display()
    );
    program
}

/// Writes an executable script (a hook), creating its directory.
pub fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Claude Code's lossy directory encoding of a cwd.
pub fn encode(cwd: &Path) -> String {
    cwd.display().to_string().replace(['/', '.'], "-")
}

pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// One assistant request line.
pub struct Request {
    pub id: &'static str,
    pub model: &'static str,
    /// input, output, cache write 5m, cache write 1h, cache read
    pub tokens: [u64; 5],
    pub timestamp: &'static str,
}

pub fn sonnet(id: &'static str, input: u64, output: u64) -> Request {
    Request {
        id,
        model: "claude-sonnet-4-5-20250929",
        tokens: [input, output, 0, 0, 0],
        timestamp: "2026-06-01T12:00:00Z",
    }
}

impl Request {
    pub fn line(&self, cwd: &Path, session: &str) -> String {
        let [input, output, write_5m, write_1h, read] = self.tokens;
        serde_json::json!({
            "type": "assistant", "isSidechain": false, "cwd": cwd, "sessionId": session,
            "gitBranch": "main", "requestId": format!("req_{}", self.id),
            "uuid": format!("{}-{output}", self.id), "timestamp": self.timestamp,
            "message": {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": [{"type": "text", "text": "done"}],
                "usage": {"input_tokens": input, "output_tokens": output,
                    "cache_creation_input_tokens": write_5m + write_1h,
                    "cache_read_input_tokens": read,
                    "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h}}}
        })
        .to_string()
    }
}

/// The AI trailers of a commit, as git itself parses them (`git interpret-trailers --parse`).
pub fn trailers(env: &TestEnv, repo: &Path, rev: &str) -> Vec<String> {
    let message = env.git(repo, &["log", "-1", "--format=%B", rev]).stdout;
    let file = env.root.join("message-to-parse");
    std::fs::write(&file, message).unwrap();
    let parsed = env
        .git(
            repo,
            &["interpret-trailers", "--parse", file.to_str().unwrap()],
        )
        .stdout;
    parsed.lines().map(str::to_string).collect()
}

pub fn ai_trailers(env: &TestEnv, repo: &Path, rev: &str) -> Vec<String> {
    trailers(env, repo, rev)
        .into_iter()
        .filter(|l| l.starts_with("AI-"))
        .collect()
}

/// `trailers sum RANGE --json`.
pub fn sum(env: &TestEnv, repo: &Path, range: &str) -> Value {
    env.agent_cost_json(repo, &["trailers", "sum", range])
}

/// Micro-dollars of a JSON dollar number (exact for six-decimal values).
pub fn micros(value: &Value) -> u64 {
    (value.as_f64().unwrap() * 1_000_000.0).round() as u64
}

/// Writes `file` in `repo` and stages it.
pub fn stage(env: &TestEnv, repo: &Path, file: &str) {
    std::fs::write(repo.join(file), format!("{file}\n")).unwrap();
    env.git(repo, &["add", file]);
}

/// Commits everything in `repo` with `-m`.
pub fn commit(env: &TestEnv, repo: &Path, file: &str, message: &str) -> Ran {
    std::fs::write(repo.join(file), format!("{message}\n")).unwrap();
    env.git(repo, &["add", file]);
    env.git(repo, &["commit", "-q", "-m", message])
}

/// An amount of micro-units with six decimals, as trailers write USD: `0.401234`, `2.000000`.
pub fn decimal(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// An amount of micro-units without trailing zeros, as trailers write other units: `3.5`, `12`.
fn amount(micros: u64) -> String {
    decimal(micros)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// One `AI-Model:` line (with its `AI-Tokens:` and `AI-Quantity:` lines) of a hand-written
/// trailer block.
#[derive(Clone, Copy)]
pub struct BlockLine {
    pub agent: &'static str,
    pub model: &'static str,
    /// USD micros; `None`: unpriced.
    pub micros: Option<u64>,
    /// req, in, out, cw, cr
    pub tokens: [u64; 5],
    /// A quantity in a unit other than USD: (micro-units, unit).
    pub quantity: Option<(u64, &'static str)>,
}

impl BlockLine {
    /// `model` of `agent` at `micros` USD, `req=1 in=10 out=10 cw=0 cr=0`, no quantity.
    pub fn usd(agent: &'static str, model: &'static str, micros: u64) -> BlockLine {
        BlockLine {
            agent,
            model,
            micros: Some(micros),
            tokens: [1, 10, 10, 0, 0],
            quantity: None,
        }
    }

    /// `model` of `agent` without a USD price (`cost=unpriced`), `req=1 in=10 out=10 cw=0 cr=0`.
    pub fn unpriced(agent: &'static str, model: &'static str) -> BlockLine {
        BlockLine {
            micros: None,
            ..BlockLine::usd(agent, model, 0)
        }
    }

    /// Claude Code's `claude-sonnet-4-5` at `micros` USD.
    pub fn sonnet(micros: u64) -> BlockLine {
        BlockLine::usd("claude-code", "claude-sonnet-4-5", micros)
    }

    /// The same line with counts `[req, in, out, cw, cr]`.
    pub fn tokens(self, tokens: [u64; 5]) -> BlockLine {
        BlockLine { tokens, ..self }
    }

    /// The same line with a quantity of `micros` micro-units of `unit`.
    pub fn quantity(self, micros: u64, unit: &'static str) -> BlockLine {
        BlockLine {
            quantity: Some((micros, unit)),
            ..self
        }
    }
}

/// A well-formed block (docs/trailers.md) with drain id `id` (written `{:016x}`): one
/// `AI-Agent:` line per agent, sorted by name (with `unpriced=` when some of its models are),
/// the model lines in the order given, then the USD estimate (noted incomplete when a model is
/// unpriced) and one estimate per other unit, sorted by unit, summed in micro-units.
pub fn trailer_block(id: u64, lines: &[BlockLine]) -> String {
    use std::collections::BTreeMap;
    let mut agents: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut units: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        let entry = agents.entry(line.agent).or_default();
        entry.0 += line.micros.unwrap_or(0);
        entry.1 += u64::from(line.micros.is_none());
        if let Some((micros, unit)) = line.quantity {
            *units.entry(unit).or_default() += micros;
        }
    }
    let mut text = String::new();
    for (agent, (micros, unpriced)) in &agents {
        let note = if *unpriced > 0 {
            format!(" unpriced={unpriced}")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "AI-Agent: {agent} sessions=1 cost={}{note}\n",
            decimal(*micros)
        ));
    }
    for line in lines {
        let [req, input, output, cw, cr] = line.tokens;
        text.push_str(&format!(
            "AI-Model: {} agent={} cost={}\nAI-Tokens: req={req} in={input} out={output} cw={cw} cr={cr}\n",
            line.model,
            line.agent,
            line.micros.map_or("unpriced".to_string(), decimal)
        ));
        if let Some((micros, unit)) = line.quantity {
            text.push_str(&format!("AI-Quantity: {} {unit}\n", amount(micros)));
        }
    }
    let total: u64 = lines.iter().filter_map(|l| l.micros).sum();
    let note = match lines.iter().filter(|l| l.micros.is_none()).count() {
        0 => String::new(),
        1 => " (incomplete: 1 model unpriced)".to_string(),
        n => format!(" (incomplete: {n} models unpriced)"),
    };
    text.push_str(&format!("AI-Cost-Estimate: {} USD{note}\n", decimal(total)));
    for (unit, micros) in units {
        text.push_str(&format!("AI-Cost-Estimate: {} {unit}\n", amount(micros)));
    }
    text.push_str(&format!("AI-Cost-Id: {id:016x}\n"));
    text
}

/// Commits `subject` with `block` as its trailers (`--allow-empty`), authored by `email` at
/// `date` (git's date formats; committed at the same date).
pub fn commit_block(
    env: &TestEnv,
    repo: &Path,
    subject: &str,
    block: &str,
    email: &str,
    date: &str,
) {
    env.git_env(
        repo,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("{subject}\n\n{block}"),
        ],
        &[
            ("GIT_AUTHOR_DATE", date),
            ("GIT_COMMITTER_DATE", date),
            ("GIT_AUTHOR_EMAIL", email),
        ],
    );
}
