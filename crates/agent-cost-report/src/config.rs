//! The `[report]` table of the settings files: how tickets and pull requests are found in
//! messages and which branch is the default one. Read from `$AGENT_COST_HOME/config.toml`,
//! then the repository's `agent-cost.toml` (later files win, key by key):
//!
//! ```toml
//! [report]
//! ticket_pattern = '\b(?:SHOP|OPS)-\d+'
//! pr_pattern = 'See merge request [^!\s]+!(\d+)'
//! default_branch = "develop"
//! waste_threshold = 0.50   # USD; `report --waste`
//! waste_lines = 5
//! ```

use std::path::{Path, PathBuf};

use agent_cost_events::Money;
use regex::Regex;

use crate::waste::WasteRules;

/// The default ticket pattern: a run of capital letters that is not the end of a longer word,
/// a hyphen and digits (group 1 is the ticket).
pub const DEFAULT_TICKET_PATTERN: &str = r"(?:^|[^A-Za-z0-9])([A-Z]+-[0-9]+)";

/// The keys of the `[report]` table.
const KEYS: &str = "ticket_pattern, pr_pattern, default_branch, waste_threshold, waste_lines";

/// Why the `[report]` settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("{file} is not valid TOML ({message}): fix the file")]
    Syntax {
        /// The file.
        file: String,
        /// What the parser reported.
        message: String,
    },
    /// `report` is not a table.
    #[error("{file}: `report` must be a table: write its keys under a `[report]` line")]
    NotATable {
        /// The file.
        file: String,
    },
    /// A key `[report]` does not have.
    #[error("{file}: unknown key `{key}` in [report]: use {KEYS}, or remove it")]
    UnknownKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
    /// A value that is not a non-empty string.
    #[error("{file}: [report] {key} must be a non-empty string, like {key} = {example}")]
    NotAString {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// A valid line's value.
        example: &'static str,
    },
    /// A waste setting that is not an amount or a count.
    #[error("{file}: [report] {key} must be {what}, like {key} = {example}")]
    BadNumber {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// What it must be.
        what: &'static str,
        /// A valid line's value.
        example: &'static str,
    },
    /// A pattern that does not compile.
    #[error(
        "{file}: [report] {key} is not a valid regular expression ({message}): write one in the syntax of Rust's `regex` crate, in single quotes, like {key} = {example}"
    )]
    BadPattern {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
        /// What the regex parser reported.
        message: String,
        /// A valid line's value.
        example: &'static str,
    },
    /// A PR pattern without a group for the number.
    #[error(
        "{file}: [report] pr_pattern has no capture group for the number: put the digits in parentheses, like pr_pattern = {PR_EXAMPLE}"
    )]
    NoNumberGroup {
        /// The file.
        file: String,
    },
}

const TICKET_EXAMPLE: &str = r"'\b[A-Z]{2,}-\d+'";
const PR_EXAMPLE: &str = r"'See merge request [^!\s]+!(\d+)'";
const BRANCH_EXAMPLE: &str = "\"main\"";

/// How reports classify commits: the ticket and PR patterns and the default branch.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Tickets: group 1 of each match when the pattern has one, else the whole match.
    pub ticket_pattern: Regex,
    /// Pull request numbers (group 1), tried on the whole message after the built-in forms.
    pub pr_pattern: Option<Regex>,
    /// The branch whose first-parent line is the mainline; `None`: found from the refs.
    pub default_branch: Option<String>,
    /// What makes a commit a waste candidate (`report --waste`).
    pub waste: WasteRules,
}

impl Default for ReportConfig {
    fn default() -> ReportConfig {
        ReportConfig {
            ticket_pattern: Regex::new(DEFAULT_TICKET_PATTERN)
                .expect("the default pattern compiles"),
            pr_pattern: None,
            default_branch: None,
            waste: WasteRules::default(),
        }
    }
}

impl ReportConfig {
    /// The defaults overlaid with the `[report]` table of each file that exists, in order (a
    /// key set in a later file wins).
    pub fn load(files: &[PathBuf]) -> Result<ReportConfig, ConfigError> {
        let mut config = ReportConfig::default();
        for file in files {
            let text = match agent_cost_paths::read_if_exists(file) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(source) => {
                    return Err(ConfigError::Read {
                        file: file.display().to_string(),
                        source,
                    });
                }
            };
            config = config.with_toml_str(&text, file)?;
        }
        Ok(config)
    }

    /// This configuration with the keys of `text`'s `[report]` table set. Other tables are
    /// ignored; `origin` (the file) is named in errors.
    pub fn with_toml_str(
        mut self,
        text: &str,
        origin: impl AsRef<Path>,
    ) -> Result<ReportConfig, ConfigError> {
        let file = origin.as_ref().display().to_string();
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.clone(),
            message: e.message().trim().to_string(),
        })?;
        let Some(report) = table.get("report") else {
            return Ok(self);
        };
        let report = report
            .as_table()
            .ok_or_else(|| ConfigError::NotATable { file: file.clone() })?;
        for (key, value) in report {
            match key.as_str() {
                "waste_threshold" => {
                    let text = match value {
                        toml::Value::String(text) => Some(text.trim().to_string()),
                        toml::Value::Float(f) => Some(f.to_string()),
                        toml::Value::Integer(n) => Some(n.to_string()),
                        _ => None,
                    };
                    self.waste.threshold = text
                        .and_then(|t| Money::parse_decimal(&t).ok())
                        .ok_or_else(|| ConfigError::BadNumber {
                            file: file.clone(),
                            key: "waste_threshold",
                            what: "an amount in USD of at most six decimals, not negative",
                            example: "0.50",
                        })?;
                    continue;
                }
                "waste_lines" => {
                    self.waste.max_lines = value
                        .as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| ConfigError::BadNumber {
                        file: file.clone(),
                        key: "waste_lines",
                        what: "a whole number of lines, not negative",
                        example: "5",
                    })?;
                    continue;
                }
                _ => {}
            }
            let (key, example): (&'static str, &'static str) = match key.as_str() {
                "ticket_pattern" => ("ticket_pattern", TICKET_EXAMPLE),
                "pr_pattern" => ("pr_pattern", PR_EXAMPLE),
                "default_branch" => ("default_branch", BRANCH_EXAMPLE),
                _ => {
                    return Err(ConfigError::UnknownKey {
                        file,
                        key: key.clone(),
                    });
                }
            };
            let text = value
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ConfigError::NotAString {
                    file: file.clone(),
                    key,
                    example,
                })?;
            if key == "default_branch" {
                self.default_branch = Some(text.trim().to_string());
                continue;
            }
            let pattern = Regex::new(text).map_err(|e| ConfigError::BadPattern {
                file: file.clone(),
                key,
                message: regex_problem(&e),
                example,
            })?;
            if key == "ticket_pattern" {
                self.ticket_pattern = pattern;
            } else if pattern.captures_len() < 2 {
                return Err(ConfigError::NoNumberGroup { file });
            } else {
                self.pr_pattern = Some(pattern);
            }
        }
        Ok(self)
    }

    /// Tickets named in a message, then in a branch name: every match of the ticket pattern
    /// (its group 1 when it has one), in order of appearance, each once. Lines of
    /// agent-cost's own keys (`AI-…:`) are skipped.
    pub fn tickets(&self, message: &str, branch: Option<&str>) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let lines = message
            .lines()
            .filter(|line| !line.trim_start().starts_with("AI-"))
            .chain(branch);
        for line in lines {
            for captures in self.ticket_pattern.captures_iter(line) {
                let Some(ticket) = captures.get(1).or_else(|| captures.get(0)) else {
                    continue;
                };
                let ticket = ticket.as_str();
                if !ticket.is_empty() && !found.iter().any(|t| t == ticket) {
                    found.push(ticket.to_string());
                }
            }
        }
        found
    }

    /// The pull request a message names: the subject's GitHub forms
    /// ([`crate::classify::pr_number`]), else group 1 of the first match of `pr_pattern` in
    /// the whole message (agent-cost's `AI-…` lines skipped).
    pub fn pr_number(&self, message: &str) -> Option<u64> {
        let subject = message.lines().next().unwrap_or("");
        crate::classify::pr_number(subject).or_else(|| self.pattern_pr(message))
    }

    /// The pull request whose commits a merge brings in: N of a `Merge pull request #N`
    /// subject, or the number `pr_pattern` finds in the message.
    pub fn merged_pr(&self, message: &str) -> Option<u64> {
        let subject = message.lines().next().unwrap_or("");
        if crate::classify::is_pr_merge_subject(subject) {
            return crate::classify::pr_number(subject);
        }
        self.pattern_pr(message)
    }

    fn pattern_pr(&self, message: &str) -> Option<u64> {
        let pattern = self.pr_pattern.as_ref()?;
        message
            .lines()
            .filter(|line| !line.trim_start().starts_with("AI-"))
            .find_map(|line| pattern.captures(line)?.get(1)?.as_str().parse().ok())
    }
}

/// The `regex` crate's message without the pattern it quotes: `unclosed group`.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().map(str::trim).rfind(|l| !l.is_empty());
    match last {
        Some(line) => line.strip_prefix("error: ").unwrap_or(line).to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Result<ReportConfig, ConfigError> {
        ReportConfig::default().with_toml_str(toml, "repo/agent-cost.toml")
    }

    #[test]
    fn the_default_ticket_pattern_keeps_the_word_boundary_rule() {
        let config = ReportConfig::default();
        assert_eq!(
            config.tickets(
                "fix: SHOP-42 rounding\n\nAlso OPS-7, SHOP-42 again; not aSHOP-1 nor shop-3\nAI-Cost-Id: 6f1c2a9e4b7d3f80",
                None
            ),
            vec!["SHOP-42", "OPS-7"]
        );
        assert_eq!(config.tickets("feat: X-1-2", None), vec!["X-1"]);
        assert_eq!(
            config.tickets("SHOP-1,SHOP-2 A-1B-2", None),
            vec!["SHOP-1", "SHOP-2", "A-1"]
        );
        assert!(
            config
                .tickets("no tickets here, A- nor -42", None)
                .is_empty()
        );
        assert!(
            config
                .tickets("AI-Model: ABC-1 agent=x cost=1", None)
                .is_empty()
        );
    }

    #[test]
    fn tickets_of_the_branch_name_come_after_the_message_s_each_once() {
        let config = ReportConfig::default();
        assert_eq!(
            config.tickets("fix: OPS-1 and SHOP-42", Some("feature/SHOP-42-cart")),
            vec!["OPS-1", "SHOP-42"]
        );
        assert_eq!(
            config.tickets("fix: cart", Some("feature/SHOP-42-cart")),
            vec!["SHOP-42"]
        );
        assert!(config.tickets("fix: cart", Some("main")).is_empty());
    }

    #[test]
    fn a_ticket_pattern_uses_group_one_or_the_whole_match() {
        let whole = config("[report]\nticket_pattern = '#\\d+'\n").unwrap();
        assert_eq!(
            whole.tickets("fix #12 and #3, #12", None),
            vec!["#12", "#3"]
        );
        let group = config("[report]\nticket_pattern = 'JIRA\\[(\\w+-\\d+)\\]'\n").unwrap();
        assert_eq!(
            group.tickets("fix: JIRA[ab-1] not SHOP-2", Some("JIRA[cd-9]")),
            vec!["ab-1", "cd-9"]
        );
    }

    #[test]
    fn a_pr_pattern_reads_the_whole_message_after_the_github_forms() {
        let config =
            config("[report]\npr_pattern = 'See merge request [^!\\s]+!(\\d+)'\n").unwrap();
        let gitlab = "Merge branch 'fix/OPS-3' into 'main'\n\nSee merge request shop/web!42\n";
        assert_eq!(config.pr_number(gitlab), Some(42));
        assert_eq!(config.merged_pr(gitlab), Some(42));
        assert_eq!(
            config.pr_number("Add cart (#7)\n\nSee merge request a/b!9"),
            Some(7)
        );
        assert_eq!(config.merged_pr("Add cart (#7)"), None);
        assert_eq!(
            config.merged_pr("Merge pull request #5 from dana/x"),
            Some(5)
        );
        assert_eq!(ReportConfig::default().pr_number(gitlab), None);
    }

    #[test]
    fn later_files_win_key_by_key() {
        let user = "[report]\nticket_pattern = 'X-\\d+'\ndefault_branch = \"develop\"\n";
        let repo = "[prices.x]\ninput = 1\n[report]\ndefault_branch = \"trunk\"\n";
        let config = ReportConfig::default()
            .with_toml_str(user, "home/config.toml")
            .unwrap()
            .with_toml_str(repo, "repo/agent-cost.toml")
            .unwrap();
        assert_eq!(config.default_branch.as_deref(), Some("trunk"));
        assert_eq!(config.ticket_pattern.as_str(), "X-\\d+");
        assert!(config.pr_pattern.is_none());
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_fix() {
        let message = |toml: &str| config(toml).unwrap_err().to_string();
        let bad = message("[report]\nticket_pattern = '([A-Z]+'\n");
        assert_eq!(
            bad,
            "repo/agent-cost.toml: [report] ticket_pattern is not a valid regular expression (unclosed group): write one in the syntax of Rust's `regex` crate, in single quotes, like ticket_pattern = '\\b[A-Z]{2,}-\\d+'"
        );
        assert_eq!(
            message("[report]\npr_pattern = 5\n"),
            "repo/agent-cost.toml: [report] pr_pattern must be a non-empty string, like pr_pattern = 'See merge request [^!\\s]+!(\\d+)'"
        );
        assert_eq!(
            message("[report]\npr_pattern = 'PR-\\d+'\n"),
            "repo/agent-cost.toml: [report] pr_pattern has no capture group for the number: put the digits in parentheses, like pr_pattern = 'See merge request [^!\\s]+!(\\d+)'"
        );
        assert_eq!(
            message("[report]\nticket_patern = 'X'\n"),
            "repo/agent-cost.toml: unknown key `ticket_patern` in [report]: use ticket_pattern, pr_pattern, default_branch, waste_threshold, waste_lines, or remove it"
        );
        assert_eq!(
            message("report = 1\n"),
            "repo/agent-cost.toml: `report` must be a table: write its keys under a `[report]` line"
        );
        assert!(message("[report\n").starts_with("repo/agent-cost.toml is not valid TOML ("));
        assert!(message("[report]\ndefault_branch = ''\n").contains("default_branch = \"main\""));
        assert_eq!(
            message("[report]\nwaste_threshold = -1.5\n"),
            "repo/agent-cost.toml: [report] waste_threshold must be an amount in USD of at most six decimals, not negative, like waste_threshold = 0.50"
        );
        assert!(message("[report]\nwaste_threshold = 'lots'\n").contains("waste_threshold"));
        assert!(message("[report]\nwaste_lines = 2.5\n").contains("a whole number of lines"));
        assert!(message("[report]\nwaste_lines = -1\n").contains("a whole number of lines"));
    }

    #[test]
    fn waste_rules_from_numbers_or_strings() {
        let rules = |toml: &str| config(toml).unwrap().waste;
        assert_eq!(rules("").threshold.micros(), 500_000);
        assert_eq!(rules("").max_lines, 5);
        let set = rules("[report]\nwaste_threshold = 1.25\nwaste_lines = 12\n");
        assert_eq!((set.threshold.micros(), set.max_lines), (1_250_000, 12));
        assert_eq!(
            rules("[report]\nwaste_threshold = 2\n").threshold.micros(),
            2_000_000
        );
        assert_eq!(
            rules("[report]\nwaste_threshold = '0.75'\n")
                .threshold
                .micros(),
            750_000
        );
    }
}
