//! The two settings files a commit is priced and budgeted by: the user's
//! `$AGENT_COST_HOME/config.toml` and the repository's `agent-cost.toml`. A hook reads each
//! once and hands the texts to prices, budgets and `[report]`, each of which reports a file it
//! cannot read in its own words.

use std::path::{Path, PathBuf};

use agent_cost_budget::{BudgetConfig, Owner};
use agent_cost_report::ReportConfig;

/// The repository's settings file in a worktree.
pub fn repository_file(workdir: &Path) -> PathBuf {
    workdir.join("agent-cost.toml")
}

/// One settings file as read.
#[derive(Debug)]
pub struct SettingsFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its text; `Ok(None)` when there is no such file.
    pub text: std::io::Result<Option<String>>,
}

impl SettingsFile {
    /// Reads `path`.
    pub fn read(path: PathBuf) -> SettingsFile {
        let text = agent_cost_paths::read_if_exists(&path);
        SettingsFile { path, text }
    }

    /// Its text, if it exists and could be read.
    pub fn text(&self) -> Option<&str> {
        self.text.as_ref().ok().and_then(Option::as_deref)
    }
}

/// The user's settings file and, in a worktree, the repository's.
#[derive(Debug)]
pub struct Settings {
    /// `$AGENT_COST_HOME/config.toml`.
    pub user: SettingsFile,
    /// `<worktree>/agent-cost.toml`, when there is a worktree.
    pub repository: Option<SettingsFile>,
}

impl Settings {
    /// Reads the user's file `config_file` and the repository's file of `workdir`.
    pub fn read(config_file: &Path, workdir: Option<&Path>) -> Settings {
        Settings {
            user: SettingsFile::read(config_file.to_path_buf()),
            repository: workdir.map(|w| SettingsFile::read(repository_file(w))),
        }
    }

    /// Both files, the user's first.
    pub fn files(&self) -> impl Iterator<Item = &SettingsFile> {
        std::iter::once(&self.user).chain(self.repository.as_ref())
    }

    /// The `[budget.*]` and `[cost_band]` tables of both files, each budget with its owner.
    pub fn budgets(&self) -> Result<BudgetConfig, agent_cost_budget::ConfigError> {
        let owners = [Owner::User, Owner::Repository];
        BudgetConfig::from_read(
            self.files()
                .zip(owners)
                .map(|(file, owner)| (file.path.as_path(), &file.text, owner)),
        )
    }

    /// The `[report]` rules of both files; broken ones are left out here (the commands that
    /// report by them say what is wrong).
    pub fn report(&self) -> ReportConfig {
        self.files()
            .filter_map(|file| Some((file.text()?, &file.path)))
            .try_fold(ReportConfig::default(), |config, (text, path)| {
                config.with_toml_str(text, path)
            })
            .unwrap_or_default()
    }
}
