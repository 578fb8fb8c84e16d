//! The `[budget.*]` and `[cost_band]` tables of the settings files, read with the line of
//! every key so that a mistake is reported where it is:
//!
//! ```toml
//! [budget.commit]        # also: branch, author_day, repo_week, repo_month
//! soft = 0.50            # USD unless `unit = "credits"` or "premium-requests"
//! hard = 5.00
//!
//! [cost_band]            # the pull-request label: cost:low below `low`, cost:medium below
//! low = 2.00             # `medium`, cost:high from there on (USD)
//! medium = 20.00
//! ```
//!
//! Budgets of the user's file and of the repository's file are both kept: each is checked on
//! its own, so a team budget cannot be loosened by a user's file nor a user's by the team's.
//! The cost bands of a later file replace an earlier file's, key by key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use agent_cost_events::Money;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What a budget adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The spend one commit carries.
    Commit,
    /// The spend of a branch or pull request: the whole range checked, or at commit time the
    /// commits of the current branch that the default branch does not have.
    Branch,
    /// One author's spend on one day (the author's local date).
    AuthorDay,
    /// A repository's spend in one ISO week.
    RepoWeek,
    /// A repository's spend in one calendar month.
    RepoMonth,
}

impl Scope {
    /// Every scope, in the order reports list them.
    pub const ALL: [Scope; 5] = [
        Scope::Commit,
        Scope::Branch,
        Scope::AuthorDay,
        Scope::RepoWeek,
        Scope::RepoMonth,
    ];

    /// The table name under `[budget]`: `commit`, `branch`, `author_day`, `repo_week`,
    /// `repo_month`.
    pub fn key(self) -> &'static str {
        match self {
            Scope::Commit => "commit",
            Scope::Branch => "branch",
            Scope::AuthorDay => "author_day",
            Scope::RepoWeek => "repo_week",
            Scope::RepoMonth => "repo_month",
        }
    }

    /// Words for people: `per commit`, `per branch`, `per author per day`, …
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Commit => "per commit",
            Scope::Branch => "per branch",
            Scope::AuthorDay => "per author per day",
            Scope::RepoWeek => "per repository per week",
            Scope::RepoMonth => "per repository per month",
        }
    }

    fn from_key(key: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.key() == key)
    }
}

/// The unit a budget is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// US dollars (the cost estimates).
    Usd,
    /// Credits (Kiro and other credit-billed agents), never converted to dollars.
    Credits,
    /// GitHub Copilot premium requests, never converted to dollars.
    PremiumRequests,
}

impl Unit {
    /// The word of the settings files and of the trailers: `usd`, `credits`,
    /// `premium-requests`.
    pub fn key(self) -> &'static str {
        match self {
            Unit::Usd => "usd",
            Unit::Credits => agent_cost_trailers::UNIT_CREDITS,
            Unit::PremiumRequests => agent_cost_trailers::UNIT_PREMIUM_REQUESTS,
        }
    }

    /// An amount in this unit for people: `0.50 USD`, `12 credits`, `3.5 premium requests`.
    pub fn format(self, amount: Money) -> String {
        match self {
            Unit::Usd => format!("{} USD", usd_text(amount)),
            Unit::Credits => format!("{} credits", amount.to_decimal_trimmed()),
            Unit::PremiumRequests => format!("{} premium requests", amount.to_decimal_trimmed()),
        }
    }

    /// What `spend` holds in this unit.
    pub fn of(self, spend: &agent_cost_report::Spend) -> Money {
        match self {
            Unit::Usd => spend.usd,
            other => spend.in_unit(other.key()),
        }
    }

    fn from_key(key: &str) -> Option<Unit> {
        match key.to_ascii_lowercase().as_str() {
            "usd" => Some(Unit::Usd),
            "credits" => Some(Unit::Credits),
            "premium-requests" => Some(Unit::PremiumRequests),
            _ => None,
        }
    }
}

/// USD with two decimals when that is exact, else six as in the trailers: `0.50`,
/// `0.044760`.
pub fn usd_text(amount: Money) -> String {
    let text = amount.to_decimal();
    if text.ends_with("0000") {
        text[..text.len() - 4].to_string()
    } else {
        text
    }
}

/// Whose file a budget comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `$AGENT_COST_HOME/config.toml`: the user's own budget.
    User,
    /// The repository's `agent-cost.toml`: the team's budget.
    Repository,
}

/// One budget: a scope, a unit and a soft and/or hard level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// What is added up.
    pub scope: Scope,
    /// The unit of the levels and of the spend compared with them.
    pub unit: Unit,
    /// Above this, warn.
    pub soft: Option<Money>,
    /// Above this, fail (`check` exits 2; the hook still never blocks a commit).
    pub hard: Option<Money>,
    /// The file that sets it.
    pub file: PathBuf,
    /// The line of its table in that file (1-based).
    pub line: usize,
    /// Whose file it is.
    pub owner: Owner,
}

impl Budget {
    /// Where the budget is set, as `file:line`.
    pub fn origin(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// The cost band of a range's USD spend, for a pull request's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostBands {
    /// Spend below this is `cost:low`.
    pub low: Money,
    /// Spend below this (and not low) is `cost:medium`; from it on, `cost:high`.
    pub medium: Money,
}

impl Default for CostBands {
    fn default() -> CostBands {
        CostBands {
            low: Money::from_micros(2_000_000),
            medium: Money::from_micros(20_000_000),
        }
    }
}

impl CostBands {
    /// Every label [`CostBands::label`] can give, lowest first.
    pub const LABELS: [&'static str; 3] = ["cost:low", "cost:medium", "cost:high"];

    /// `cost:low`, `cost:medium` or `cost:high`.
    pub fn label(&self, spend: Money) -> &'static str {
        if spend < self.low {
            CostBands::LABELS[0]
        } else if spend < self.medium {
            CostBands::LABELS[1]
        } else {
            CostBands::LABELS[2]
        }
    }
}

/// The budgets and cost bands of the settings files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Every budget, the user's first, in the order of their files.
    pub budgets: Vec<Budget>,
    /// The pull-request cost bands.
    pub bands: CostBands,
}

/// Why the budget settings could not be read. Each names the file and, where there is one,
/// the line.
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
    #[error("{file}:{line}: not valid TOML ({message}): fix the file")]
    Syntax {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// What the parser reported.
        message: String,
    },
    /// A mistake in a budget or cost-band table.
    #[error("{file}:{line}: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// The line of the key or table.
        line: usize,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

const SCOPES: &str = "commit, branch, author_day, repo_week, repo_month";

impl BudgetConfig {
    /// The budgets of the files that exist, in order (`$AGENT_COST_HOME/config.toml` as
    /// [`Owner::User`], then the repository's `agent-cost.toml` as [`Owner::Repository`]).
    pub fn load(files: &[(PathBuf, Owner)]) -> Result<BudgetConfig, ConfigError> {
        let read: Vec<_> = files
            .iter()
            .map(|(file, owner)| {
                (
                    file.as_path(),
                    agent_cost_paths::read_if_exists(file),
                    *owner,
                )
            })
            .collect();
        BudgetConfig::from_read(read.iter().map(|(file, text, owner)| (*file, text, *owner)))
    }

    /// [`BudgetConfig::load`] from files already read: each file's text, `None` when it does
    /// not exist, or the error reading it.
    pub fn from_read<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a std::io::Result<Option<String>>, Owner)>,
    ) -> Result<BudgetConfig, ConfigError> {
        let mut config = BudgetConfig::default();
        for (file, text, owner) in files {
            match text {
                Ok(Some(text)) => config.add_toml_str(text, file, owner)?,
                Ok(None) => {}
                Err(e) => {
                    return Err(ConfigError::Read {
                        file: file.display().to_string(),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    });
                }
            }
        }
        Ok(config)
    }

    /// Adds the budgets of `text` (the file `origin`, owned by `owner`) and applies its cost
    /// bands. Other tables are ignored.
    pub fn add_toml_str(
        &mut self,
        text: &str,
        origin: &Path,
        owner: Owner,
    ) -> Result<(), ConfigError> {
        let file = origin.display().to_string();
        let table = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
            file: file.clone(),
            line: e.span().map_or(1, |span| line_of(text, &span)),
            message: e.message().trim().to_string(),
        })?;
        let reader = Reader { text, file: &file };
        for (key, value) in table.get_ref() {
            match key.get_ref().as_ref() {
                "budget" => self.read_budgets(&reader, key, value, origin, owner)?,
                "cost_band" => self.read_bands(&reader, key, value)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn read_budgets(
        &mut self,
        reader: &Reader<'_>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        origin: &Path,
        owner: Owner,
    ) -> Result<(), ConfigError> {
        let scopes = value.get_ref().as_table().ok_or_else(|| {
            reader.invalid(
                key.span(),
                format!(
                    "`budget` must be a table of budgets, like [budget.commit] with soft = 0.50 (one of {SCOPES})"
                ),
            )
        })?;
        let first = self.budgets.len();
        for (scope_key, scope_value) in scopes {
            let name = scope_key.get_ref().as_ref();
            let scope = Scope::from_key(name).ok_or_else(|| {
                reader.invalid(
                    scope_key.span(),
                    format!("unknown budget [budget.{name}]: use one of {SCOPES}"),
                )
            })?;
            let levels = scope_value.get_ref().as_table().ok_or_else(|| {
                reader.invalid(
                    scope_key.span(),
                    format!(
                        "[budget.{name}] must be a table, like [budget.{name}] with soft = 0.50 and hard = 5.00"
                    ),
                )
            })?;
            let mut budget = Budget {
                scope,
                unit: Unit::Usd,
                soft: None,
                hard: None,
                file: origin.to_path_buf(),
                line: reader.line(&scope_key.span()),
                owner,
            };
            for (level_key, level_value) in levels {
                let level = level_key.get_ref().as_ref();
                let span = level_key.span();
                match level {
                    "soft" => budget.soft = Some(reader.amount(name, level, level_value)?),
                    "hard" => budget.hard = Some(reader.amount(name, level, level_value)?),
                    "unit" => {
                        budget.unit = level_value
                            .get_ref()
                            .as_str()
                            .and_then(Unit::from_key)
                            .ok_or_else(|| {
                                reader.invalid(
                                    span,
                                    format!(
                                        "[budget.{name}] unit must be \"usd\", \"credits\" or \"premium-requests\", like unit = \"credits\""
                                    ),
                                )
                            })?;
                    }
                    _ => {
                        return Err(reader.invalid(
                            span,
                            format!(
                                "unknown key `{level}` in [budget.{name}]: use soft, hard and unit, or remove it"
                            ),
                        ));
                    }
                }
            }
            if budget.soft.is_none() && budget.hard.is_none() {
                return Err(reader.invalid(
                    scope_key.span(),
                    format!(
                        "[budget.{name}] sets no level: add soft = (warn above) and/or hard = (fail above)"
                    ),
                ));
            }
            if let (Some(soft), Some(hard)) = (budget.soft, budget.hard)
                && soft > hard
            {
                return Err(reader.invalid(
                    scope_key.span(),
                    format!(
                        "[budget.{name}] soft ({}) is above hard ({}): the soft level warns before the hard one fails, so it must not exceed it",
                        soft.to_decimal_trimmed(),
                        hard.to_decimal_trimmed()
                    ),
                ));
            }
            self.budgets.push(budget);
        }
        // The parser's tables are not in file order.
        self.budgets[first..].sort_by_key(|budget| budget.line);
        Ok(())
    }

    fn read_bands(
        &mut self,
        reader: &Reader<'_>,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(), ConfigError> {
        let bands = value.get_ref().as_table().ok_or_else(|| {
            reader.invalid(
                key.span(),
                "`cost_band` must be a table: write low = 2.00 and medium = 20.00 under a [cost_band] line".to_string(),
            )
        })?;
        let (mut low_set, mut medium_set) = (false, false);
        for (band_key, band_value) in bands {
            match band_key.get_ref().as_ref() {
                "low" => {
                    self.bands.low = reader.amount("cost_band", "low", band_value)?;
                    low_set = true;
                }
                "medium" => {
                    self.bands.medium = reader.amount("cost_band", "medium", band_value)?;
                    medium_set = true;
                }
                other => {
                    return Err(reader.invalid(
                        band_key.span(),
                        format!(
                            "unknown key `{other}` in [cost_band]: use low and medium (USD), or remove it"
                        ),
                    ));
                }
            }
        }
        if self.bands.low > self.bands.medium {
            let origin = |set: bool| if set { "" } else { ", not set here" };
            return Err(reader.invalid(
                key.span(),
                format!(
                    "[cost_band] low ({}{}) is above medium ({}{}): low must not exceed medium",
                    usd_text(self.bands.low),
                    origin(low_set),
                    usd_text(self.bands.medium),
                    origin(medium_set),
                ),
            ));
        }
        Ok(())
    }
}

/// Reads values of one file, naming it and the line in errors.
struct Reader<'a> {
    text: &'a str,
    file: &'a str,
}

impl Reader<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.text, span)
    }

    fn invalid(&self, span: Range<usize>, problem: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            line: self.line(&span),
            problem,
        }
    }

    /// A non-negative amount with at most six decimals, from an integer or a float written
    /// as such (the text is read, not the binary float, so `0.1` is exactly 0.1).
    fn amount(
        &self,
        table: &str,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Money, ConfigError> {
        let table = if table == "cost_band" {
            "[cost_band]".to_string()
        } else {
            format!("[budget.{table}]")
        };
        let text = match value.get_ref() {
            DeValue::Integer(integer) if integer.radix() == 10 => integer.as_str().to_string(),
            DeValue::Float(float) => float.as_str().to_string(),
            other => {
                return Err(self.invalid(
                    value.span(),
                    format!(
                        "{table} {key} must be a number, like {key} = 0.50 (found {})",
                        describe(other)
                    ),
                ));
            }
        };
        let text = text.replace('_', "");
        let text = text.strip_prefix('+').unwrap_or(&text);
        if text.starts_with('-') {
            return Err(self.invalid(
                value.span(),
                format!("{table} {key} is negative ({text}): an amount must be 0 or more"),
            ));
        }
        Money::parse_decimal(text).map_err(|_| {
            let problem = if text.contains(['e', 'E', 'n', 'i']) {
                format!("{table} {key} = {text}: write the amount as a plain decimal, like {key} = 1000")
            } else {
                format!(
                    "{table} {key} = {text} is not an amount with at most six decimals, like {key} = 0.50"
                )
            };
            self.invalid(value.span(), problem)
        })
    }
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("the string \"{text}\": remove the quotes"),
        DeValue::Integer(_) => "an integer that is not decimal".to_string(),
        other => format!("{} {}", article(other.type_str()), other.type_str()),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<BudgetConfig, ConfigError> {
        let mut config = BudgetConfig::default();
        config.add_toml_str(text, Path::new("agent-cost.toml"), Owner::Repository)?;
        Ok(config)
    }

    fn error(text: &str) -> String {
        read(text).unwrap_err().to_string()
    }

    #[test]
    fn budgets_of_every_scope_and_unit_are_read_exactly() {
        let config = read(
            "[report]\ndefault_branch = \"main\"\n\n[budget.commit]\nsoft = 0.50\nhard = 5\n\n\
             [budget.branch]\nhard = 20.1\n\n[budget.author_day]\nsoft = 30\nunit = \"credits\"\n\n\
             [budget.repo_week]\nsoft = 100\nunit = \"premium-requests\"\n\n[budget.repo_month]\nhard = 1_000\n",
        )
        .unwrap();
        type Summary = (Scope, Unit, Option<u128>, Option<u128>, usize);
        let summary: Vec<Summary> = config
            .budgets
            .iter()
            .map(|b| {
                (
                    b.scope,
                    b.unit,
                    b.soft.map(|m| m.micros()),
                    b.hard.map(|m| m.micros()),
                    b.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (Scope::Commit, Unit::Usd, Some(500_000), Some(5_000_000), 4),
                (Scope::Branch, Unit::Usd, None, Some(20_100_000), 8),
                (Scope::AuthorDay, Unit::Credits, Some(30_000_000), None, 11),
                (
                    Scope::RepoWeek,
                    Unit::PremiumRequests,
                    Some(100_000_000),
                    None,
                    15
                ),
                (Scope::RepoMonth, Unit::Usd, None, Some(1_000_000_000), 19),
            ]
        );
        assert_eq!(config.bands, CostBands::default());
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_fix() {
        assert_eq!(
            error("[budget.commit]\nsoft = \"0.50\"\n"),
            "agent-cost.toml:2: [budget.commit] soft must be a number, like soft = 0.50 (found the string \"0.50\": remove the quotes)"
        );
        assert_eq!(
            error("\n[budget.commit]\nhard = -1\n"),
            "agent-cost.toml:3: [budget.commit] hard is negative (-1): an amount must be 0 or more"
        );
        assert_eq!(
            error("[budget.commit]\nsoft = 1\nlimit = 2\n"),
            "agent-cost.toml:3: unknown key `limit` in [budget.commit]: use soft, hard and unit, or remove it"
        );
        assert_eq!(
            error("[budget.weekly]\nsoft = 1\n"),
            "agent-cost.toml:1: unknown budget [budget.weekly]: use one of commit, branch, author_day, repo_week, repo_month"
        );
        assert_eq!(
            error("[budget.commit]\nsoft = 6\nhard = 5\n"),
            "agent-cost.toml:1: [budget.commit] soft (6) is above hard (5): the soft level warns before the hard one fails, so it must not exceed it"
        );
        assert_eq!(
            error("[budget.commit]\nunit = \"euro\"\nsoft = 1\n"),
            "agent-cost.toml:2: [budget.commit] unit must be \"usd\", \"credits\" or \"premium-requests\", like unit = \"credits\""
        );
        assert_eq!(
            error("[budget.commit]\nsoft = 0.1234567\n"),
            "agent-cost.toml:2: [budget.commit] soft = 0.1234567 is not an amount with at most six decimals, like soft = 0.50"
        );
        assert_eq!(
            error("[budget.commit]\nsoft = true\n"),
            "agent-cost.toml:2: [budget.commit] soft must be a number, like soft = 0.50 (found a boolean)"
        );
        assert!(error("[budget.commit]\n").contains("sets no level"));
        assert!(error("budget = 3\n").starts_with("agent-cost.toml:1: `budget` must be a table"));
        assert!(
            error("[budget.commit\nsoft = 1\n").starts_with("agent-cost.toml:1: not valid TOML")
        );
        assert_eq!(
            error("[budget.commit]\nsoft = 1\n\n[cost_band]\nlow = 30\n"),
            "agent-cost.toml:4: [cost_band] low (30.00) is above medium (20.00, not set here): low must not exceed medium"
        );
        assert_eq!(
            error("[budget.commit]\nsoft = 1e3\n"),
            "agent-cost.toml:2: [budget.commit] soft = 1e3: write the amount as a plain decimal, like soft = 1000"
        );
        assert_eq!(
            error("[cost_band]\nhigh = 30\n"),
            "agent-cost.toml:2: unknown key `high` in [cost_band]: use low and medium (USD), or remove it"
        );
    }

    #[test]
    fn cost_bands_are_configurable_and_label_at_their_bounds() {
        let config = read("[cost_band]\nlow = 1\nmedium = 10.5\n").unwrap();
        let micros = |m: u64| Money::from_micros(m);
        assert_eq!(config.bands.label(micros(999_999)), "cost:low");
        assert_eq!(config.bands.label(micros(1_000_000)), "cost:medium");
        assert_eq!(config.bands.label(micros(10_499_999)), "cost:medium");
        assert_eq!(config.bands.label(micros(10_500_000)), "cost:high");
        let default = CostBands::default();
        assert_eq!(default.label(micros(1_999_999)), "cost:low");
        assert_eq!(default.label(micros(19_999_999)), "cost:medium");
        assert_eq!(default.label(micros(20_000_000)), "cost:high");
    }

    #[test]
    fn both_files_budgets_are_kept_with_their_owner() {
        let mut config = BudgetConfig::default();
        config
            .add_toml_str(
                "[budget.commit]\nsoft = 1\n",
                Path::new("config.toml"),
                Owner::User,
            )
            .unwrap();
        config
            .add_toml_str(
                "[budget.commit]\nsoft = 2\n",
                Path::new("agent-cost.toml"),
                Owner::Repository,
            )
            .unwrap();
        let owners: Vec<(Owner, String)> = config
            .budgets
            .iter()
            .map(|b| (b.owner, b.origin()))
            .collect();
        assert_eq!(
            owners,
            vec![
                (Owner::User, "config.toml:1".to_string()),
                (Owner::Repository, "agent-cost.toml:1".to_string())
            ]
        );
    }

    #[test]
    fn amounts_format_for_people() {
        assert_eq!(Unit::Usd.format(Money::from_micros(500_000)), "0.50 USD");
        assert_eq!(Unit::Usd.format(Money::from_micros(61_234)), "0.061234 USD");
        assert_eq!(Unit::Usd.format(Money::from_micros(44_760)), "0.044760 USD");
        assert_eq!(
            Unit::Credits.format(Money::from_micros(12_000_000)),
            "12 credits"
        );
        assert_eq!(
            Unit::PremiumRequests.format(Money::from_micros(3_500_000)),
            "3.5 premium requests"
        );
    }
}
