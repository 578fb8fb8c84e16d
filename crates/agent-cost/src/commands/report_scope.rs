//! How `report` and `export` read history: which repositories (the current one, each
//! `--repo PATH`, or every repository under `--repos DIR`), with or without line counts and a
//! progress spinner, read into one ledger whose commits carry their repository's name.

use std::path::{Path, PathBuf};

use agent_cost_git::{History, Worktree, repositories_under};
use agent_cost_report::{Filter, Ledger, ReportConfig};
use serde::Serialize;

use crate::output::{CommandError, errln};

/// The repositories to read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RepoScope {
    /// Read this repository instead of the current one (any directory inside it). Repeatable:
    /// one report across them, grouped by repo unless --by says otherwise.
    #[arg(long = "repo", value_name = "PATH")]
    repo: Vec<PathBuf>,
    /// Read every git repository under DIR (clones and bare repositories, up to 4 levels
    /// down), e.g. a folder holding a team's clones. Repositories where the range does not
    /// resolve (an empty clone, no such branch) are skipped and named on stderr.
    #[arg(long = "repos", value_name = "DIR", conflicts_with = "repo")]
    repos: Option<PathBuf>,
}

/// A repository that was read.
#[derive(Debug, Clone, Serialize)]
pub struct RepoRead {
    /// Its name in the report: the directory name for `--repo`, the path under DIR for
    /// `--repos`.
    pub name: String,
    /// Where it is.
    pub path: String,
    /// Commits of the range kept by the dates.
    pub commits: usize,
}

/// A repository under `--repos DIR` that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct RepoSkipped {
    /// Where it is.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The repositories' ledgers as one.
pub struct ScopedLedger {
    /// Commits and charges of every repository read, each commit's `repo` its name.
    pub ledger: Ledger,
    /// The repositories read, in order.
    pub repositories: Vec<RepoRead>,
    /// Repositories under `--repos` left out.
    pub skipped: Vec<RepoSkipped>,
    /// The history of the single repository read (`None` when several were).
    pub single: Option<History>,
}

/// How `report` and `export` read: which repositories, whether lines are counted, whether a
/// spinner is drawn.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReadOptions {
    #[command(flatten)]
    pub scope: RepoScope,
    /// Do not count the lines each commit changed (faster: no diffs; line columns are empty).
    #[arg(long)]
    pub no_lines: bool,
    /// Draw no progress spinner (drawn on stderr while reading, only when stderr is a
    /// terminal).
    #[arg(long)]
    pub no_progress: bool,
}

impl ReadOptions {
    /// Reads `spec` (default `HEAD`) in every repository of the scope, filtered by `filter`,
    /// with a spinner on a terminal; repositories skipped under `--repos` are named on stderr.
    pub fn read(&self, spec: Option<&str>, filter: Filter) -> Result<ScopedLedger, CommandError> {
        let spinner = Spinner::new(!self.no_progress);
        let scoped = self.scope.read(spec, filter, !self.no_lines, &spinner);
        spinner.finish();
        let scoped = scoped?;
        for skipped in &scoped.skipped {
            errln!("skipped {}: {}", skipped.path, skipped.reason);
        }
        Ok(scoped)
    }
}

/// A spinner on stderr showing commits read, then lines counted; drawn only when wanted and
/// stderr is a terminal (never in pipes or files).
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    fn new(wanted: bool) -> Spinner {
        use std::io::IsTerminal;
        if !wanted || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("reading history");
        bar.tick();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Spinner(Some(bar))
    }

    fn read(&self, repository: &str, commits: u64) {
        if let Some(bar) = &self.0
            && commits.is_multiple_of(256)
        {
            bar.set_message(format!("{repository}: {commits} commits read"));
            bar.tick();
        }
    }

    fn lines(&self, repository: &str, done: u64, total: u64) {
        if let Some(bar) = &self.0
            && (done.is_multiple_of(64) || done == total)
        {
            bar.set_message(format!(
                "{repository}: lines of {done}/{total} commits with AI cost"
            ));
            bar.tick();
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl RepoScope {
    /// Whether more than one repository may be read (so `repo` is the natural first key).
    pub fn is_multi(&self) -> bool {
        self.repo.len() > 1 || self.repos.is_some()
    }

    /// Reads `spec` (default `HEAD`) in every repository of the scope, filtered by `filter`,
    /// with the lines of charged commits counted when `lines`.
    fn read(
        &self,
        spec: Option<&str>,
        filter: Filter,
        lines: bool,
        progress: &Spinner,
    ) -> Result<ScopedLedger, CommandError> {
        let mut out = ScopedLedger {
            ledger: Ledger::default(),
            repositories: Vec::new(),
            skipped: Vec::new(),
            single: None,
        };
        let targets = self.targets()?;
        let several = targets.len() > 1 || self.repos.is_some();
        for target in targets {
            let read = History::discover(&target.path)
                .map_err(|e| CommandError::from_error(&e))
                .and_then(|history| {
                    let name = target.name.clone().unwrap_or_else(|| history.name());
                    let config = report_config(&target.path)?;
                    let mut ledger =
                        Ledger::read_with_progress(&history, spec, filter, &config, |n| {
                            progress.read(&name, n)
                        })
                        .map_err(|e| CommandError::from_error(&e))?;
                    if lines {
                        ledger
                            .count_lines(&history, |done, total| progress.lines(&name, done, total))
                            .map_err(|e| CommandError::from_error(&e))?;
                    }
                    ledger.set_repo(&name);
                    Ok((name, ledger, history))
                });
            let (name, ledger, history) = match read {
                Ok(read) => read,
                Err(error) if self.repos.is_some() => {
                    out.skipped.push(RepoSkipped {
                        path: target.path.display().to_string(),
                        reason: std::iter::once(error.message)
                            .chain(error.causes)
                            .collect::<Vec<_>>()
                            .join(": "),
                    });
                    continue;
                }
                Err(error) if several || !self.repo.is_empty() => {
                    return Err(CommandError {
                        message: format!("{}: {}", target.path.display(), error.message),
                        ..error
                    });
                }
                Err(error) => return Err(error),
            };
            out.repositories.push(RepoRead {
                name,
                path: target.path.display().to_string(),
                commits: ledger.commits.len(),
            });
            out.ledger.append(ledger);
            if !several {
                out.single = Some(history);
            }
        }
        Ok(out)
    }

    /// The repositories to read, each with the name it is given (`None`: its own).
    fn targets(&self) -> Result<Vec<Target>, CommandError> {
        if let Some(dir) = &self.repos {
            if !dir.is_dir() {
                return Err(CommandError::msg(format!(
                    "--repos {} is not a directory",
                    dir.display()
                ))
                .hint("give the folder that holds the repositories, e.g. --repos ~/src"));
            }
            let found = repositories_under(dir);
            if found.is_empty() {
                return Err(CommandError::msg(format!(
                    "no git repository under {} (searched {} levels down)",
                    dir.display(),
                    agent_cost_git::discover::MAX_DEPTH
                ))
                .hint("give the folder that holds the clones, or name each with --repo PATH"));
            }
            return Ok(found
                .into_iter()
                .map(|path| {
                    let name = label_under(dir, &path);
                    Target {
                        path,
                        name: Some(name),
                    }
                })
                .collect());
        }
        if self.repo.is_empty() {
            let cwd = std::env::current_dir().map_err(CommandError::from)?;
            if let Err(error) = History::discover(&cwd) {
                return Err(CommandError::from_error(&error)
                    .hint("run this inside a git repository, or name one with --repo PATH"));
            }
            return Ok(vec![Target {
                path: cwd,
                name: None,
            }]);
        }
        let mut targets: Vec<Target> = Vec::new();
        for path in &self.repo {
            let history = History::discover(path).map_err(|e| {
                CommandError::msg(format!(
                    "--repo {} is not a git repository or worktree",
                    path.display()
                ))
                .hint(format!("check the path ({e})"))
            })?;
            targets.push(Target {
                path: path.clone(),
                name: Some(history.name()),
            });
        }
        // Two clones with the same directory name are told apart by the path given.
        for i in 0..targets.len() {
            let clash = targets
                .iter()
                .enumerate()
                .any(|(j, t)| j != i && t.name == targets[i].name);
            if clash {
                targets[i].name = Some(targets[i].path.display().to_string());
            }
        }
        Ok(targets)
    }
}

/// The `[report]` settings for the repository at `path`: those of
/// `$AGENT_COST_HOME/config.toml`, then of the repository's `agent-cost.toml`, which wins key
/// by key.
pub fn report_config(path: &Path) -> Result<ReportConfig, CommandError> {
    let mut files = Vec::new();
    if let Ok(locations) = super::locations() {
        files.push(locations.config_file());
    }
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(worktree) = Worktree::containing(&absolute) {
        files.push(worktree.workdir.join("agent-cost.toml"));
    }
    ReportConfig::load(&files).map_err(|e| CommandError::from_error(&e))
}

struct Target {
    path: PathBuf,
    name: Option<String>,
}

/// The name of a repository found under `dir`: its path below `dir` (`team/api`), or `dir`'s
/// own name when it is `dir`; a bare repository's trailing `.git` dropped.
fn label_under(dir: &Path, path: &Path) -> String {
    let relative = path
        .strip_prefix(dir)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .map(|r| r.to_string_lossy().into_owned());
    let name = relative.unwrap_or_else(|| {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string())
    });
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}
