//! The price book a worktree uses: built-in prices, then `$AGENT_COST_HOME/config.toml`, then
//! the repository's `agent-cost.toml` if the user trusts it (later files win); and the USD rate
//! of credits, read from the same files. A broken `[copilot]` table of the user's file
//! (premium-request multipliers, read by the catch-up) is reported with the price warnings.
//!
//! A repository's `[prices]`, `[aliases]` and `[credits]` are applied only when the user's
//! file allows it with `[trust] repository_prices = true`: otherwise a cloned repository could
//! make its own spend look free. Without that, they are ignored with one warning (see
//! [`agent_cost_prices::Trust`]); `[trust]` in the repository's file is ignored with a warning.

use std::path::Path;

use agent_cost_prices::{
    CopilotBilling, CreditRate, PriceBook, PriceOverrides, RepositoryFile, Trust, TrustError,
};

use crate::settings::{Settings, SettingsFile};

/// A settings file's text for prices: `None` when there is none or it cannot be read (a
/// warning).
fn text_or_warn<'a>(file: &'a SettingsFile, warnings: &mut Vec<String>) -> Option<&'a str> {
    if let Err(e) = &file.text {
        warnings.push(format!(
            "cannot read {}: {e}; its prices are ignored",
            file.path.display()
        ));
    }
    file.text()
}

/// Whether the user's file (its text, if any) lets repositories reprice, with the problems of
/// its `[trust]` table as warnings.
fn user_trust(config_file: &Path, text: Option<&str>, warnings: &mut Vec<String>) -> bool {
    let Some(text) = text else {
        return false;
    };
    let (trust, problems) = Trust::from_toml_str(text, config_file);
    warnings.extend(problems.iter().map(ToString::to_string));
    trust.repository_prices
}

/// Whether the repository's file (at `repo_file`, holding `text`) may be applied, with the
/// warnings it deserves: `[trust]` in it is ignored; without the user's trust, its repricing
/// tables are refused (one warning) and so is a file that is not TOML (its syntax is then
/// reported here, as the caller will not parse it). With trust, the caller parses the file
/// and reports its problems.
fn repository_allowed(
    config_file: &Path,
    trusted: bool,
    repo_file: &Path,
    text: &str,
    warnings: &mut Vec<String>,
) -> bool {
    let origin = repo_file.display().to_string();
    let user_file = config_file.display().to_string();
    match RepositoryFile::inspect(text, repo_file) {
        Ok(file) => {
            if file.sets_trust {
                warnings.push(
                    TrustError::InRepository {
                        origin: origin.clone(),
                        user_file: user_file.clone(),
                    }
                    .to_string(),
                );
            }
            if !trusted && !file.repricing.is_empty() {
                warnings.push(
                    TrustError::Refused {
                        origin,
                        tables: file.repricing,
                        user_file,
                    }
                    .to_string(),
                );
            }
            trusted
        }
        Err(_) if trusted => true,
        Err(e) => {
            warnings.push(format!("{e}; the file's prices are ignored"));
            false
        }
    }
}

/// Loads the price book for a worktree. Problems with override files are returned as
/// warnings (the file is then ignored), never as failures: pricing must not stop a commit.
/// The repository's `[prices]` and `[aliases]` are applied only with the user's trust.
pub fn price_book(config_file: &Path, workdir: Option<&Path>) -> (PriceBook, Vec<String>) {
    price_book_of(&Settings::read(config_file, workdir))
}

/// [`price_book`] from settings files already read.
pub fn price_book_of(settings: &Settings) -> (PriceBook, Vec<String>) {
    let mut book = PriceBook::builtin();
    let mut warnings = Vec::new();
    let config_file = &settings.user.path;
    let user = text_or_warn(&settings.user, &mut warnings);
    if let Some(text) = user {
        match PriceOverrides::from_toml_str(text, config_file) {
            Ok(overrides) => book = book.with_overrides(&overrides),
            Err(e) => warnings.push(format!("{e}; the file's prices are ignored")),
        }
        // Copilot's `[copilot]` settings are read by the catch-up from the user's file only.
        if let Err(e) = CopilotBilling::default().with_toml_str(text, config_file) {
            warnings.push(format!("{e}; Copilot's built-in multipliers are used"));
        }
    }
    let trusted = user_trust(config_file, user, &mut warnings);
    if let Some(repo) = &settings.repository
        && let Some(text) = text_or_warn(repo, &mut warnings)
        && repository_allowed(config_file, trusted, &repo.path, text, &mut warnings)
    {
        match PriceOverrides::from_toml_str(text, &repo.path) {
            Ok(overrides) => book = book.with_overrides(&overrides),
            Err(e) => warnings.push(format!("{e}; the file's prices are ignored")),
        }
    }
    (book, warnings)
}

/// The USD rate of credits for a worktree: the default (0.04 USD per credit), then
/// `usd_per_credit` in the `[credits]` table of `$AGENT_COST_HOME/config.toml`, then of the
/// repository's `agent-cost.toml` when the user's `[trust]` allows it (later files win), with
/// warnings: the same trust warnings as [`price_book`]'s, a refused repository rate among them.
/// Unlike prices, a broken `[credits]` table that applies is an error: the rate is read by
/// `agent-cost log`, which a person runs, never by a hook.
pub fn credit_rate(
    config_file: &Path,
    workdir: Option<&Path>,
) -> Result<(CreditRate, Vec<String>), agent_cost_prices::PriceError> {
    let mut rate = CreditRate::default();
    let mut warnings = Vec::new();
    let settings = Settings::read(config_file, workdir);
    // An unreadable file is ignored here as it is for prices (which warn about it).
    let user = settings.user.text();
    if let Some(text) = user
        && let Some(found) = CreditRate::from_toml_str(text, config_file)?
    {
        rate = found;
    }
    let trusted = user_trust(config_file, user, &mut warnings);
    if let Some(repo) = &settings.repository
        && let Some(text) = repo.text()
        && repository_allowed(config_file, trusted, &repo.path, text, &mut warnings)
        && let Some(found) = CreditRate::from_toml_str(text, &repo.path)?
    {
        rate = found;
    }
    Ok((rate, warnings))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    use agent_cost_events::TokenCounts;

    /// A user's config file and a repository with an `agent-cost.toml`, in a temp dir.
    struct Files {
        _dir: tempfile::TempDir,
        user: PathBuf,
        repo: PathBuf,
    }

    fn files(user: Option<&str>, repo: &str) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let user_file = dir.path().join("config.toml");
        if let Some(text) = user {
            std::fs::write(&user_file, text).unwrap();
        }
        let repo_dir = dir.path().join("repo");
        std::fs::create_dir(&repo_dir).unwrap();
        std::fs::write(repo_dir.join("agent-cost.toml"), repo).unwrap();
        Files {
            _dir: dir,
            user: user_file,
            repo: repo_dir,
        }
    }

    const TRUST: &str = "[trust]\nrepository_prices = true\n";
    const FREE_SONNET: &str = "[prices.\"claude-sonnet-4-5\"]\ninput = 0\noutput = 0\n[aliases]\n\"corp\" = \"claude-haiku-4-5\"\n[credits]\nusd_per_credit = 0\n";

    /// The cost in micro-dollars of 100,000 input tokens (below any long-context tier).
    fn input_cost(book: &PriceBook, model: &str) -> Option<u128> {
        let tokens = TokenCounts {
            input: 100_000,
            ..TokenCounts::default()
        };
        book.cost(model, &tokens).map(|money| money.micros())
    }

    #[test]
    fn a_repository_may_not_reprice_without_the_users_trust() {
        for user in [None, Some(""), Some("[trust]\nrepository_prices = false\n")] {
            let f = files(user, FREE_SONNET);
            let (book, warnings) = price_book(&f.user, Some(&f.repo));
            assert_eq!(input_cost(&book, "claude-sonnet-4-5"), Some(300_000));
            assert_eq!(input_cost(&book, "corp"), None);
            let repo_file = f.repo.join("agent-cost.toml");
            let refusal = format!(
                "{} sets [prices], [aliases] and [credits] but a repository may not reprice \
                 models unless you allow it: add `[trust]` with `repository_prices = true` to \
                 {}; the built-in and your own prices and credit rate are used",
                repo_file.display(),
                f.user.display()
            );
            assert_eq!(warnings, vec![refusal.clone()], "user file {user:?}");
            let (rate, warnings) = credit_rate(&f.user, Some(&f.repo)).unwrap();
            assert_eq!(rate, CreditRate::default());
            assert_eq!(warnings, vec![refusal]);
        }
    }

    #[test]
    fn with_the_users_trust_the_repository_reprices() {
        let f = files(Some(TRUST), FREE_SONNET);
        let (book, warnings) = price_book(&f.user, Some(&f.repo));
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(input_cost(&book, "claude-sonnet-4-5"), Some(0));
        assert_eq!(input_cost(&book, "corp"), Some(100_000));
        let (rate, warnings) = credit_rate(&f.user, Some(&f.repo)).unwrap();
        assert_eq!(rate.micro_usd_per_credit(), 0);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn the_users_own_prices_apply_without_trust() {
        let f = files(
            Some(
                "[prices.\"claude-sonnet-4-5\"]\ninput = 5\noutput = 5\n[credits]\nusd_per_credit = 0.05\n",
            ),
            "[report]\nwaste_lines = 3\n",
        );
        let (book, warnings) = price_book(&f.user, Some(&f.repo));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(input_cost(&book, "claude-sonnet-4-5"), Some(500_000));
        let (rate, warnings) = credit_rate(&f.user, Some(&f.repo)).unwrap();
        assert_eq!(rate.micro_usd_per_credit(), 50_000);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn trust_in_the_repository_is_ignored_with_a_warning() {
        let f = files(None, &format!("{TRUST}{FREE_SONNET}"));
        let (book, warnings) = price_book(&f.user, Some(&f.repo));
        assert_eq!(input_cost(&book, "claude-sonnet-4-5"), Some(300_000));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].ends_with(&format!(
                "agent-cost.toml: [trust] is ignored: a repository cannot trust itself; remove \
                 it there, and to let repositories set prices add `[trust]` with \
                 `repository_prices = true` to {}",
                f.user.display()
            )),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("may not reprice"), "{warnings:?}");
    }

    #[test]
    fn a_broken_trust_table_is_a_warning_and_trusts_nothing() {
        let f = files(Some("[trust]\nrepository_prices = \"yes\"\n"), FREE_SONNET);
        let (book, warnings) = price_book(&f.user, Some(&f.repo));
        assert_eq!(input_cost(&book, "claude-sonnet-4-5"), Some(300_000));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!(
                "{}: [trust] repository_prices must be true or false, not \"yes\"",
                f.user.display()
            )),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("may not reprice"), "{warnings:?}");
        let (rate, warnings) = credit_rate(&f.user, Some(&f.repo)).unwrap();
        assert_eq!(rate, CreditRate::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn an_untrusted_repository_file_that_is_not_toml_is_reported_once() {
        let f = files(None, "[prices\n");
        let (_, warnings) = price_book(&f.user, Some(&f.repo));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("not valid TOML")
                && warnings[0].ends_with("; the file's prices are ignored"),
            "{warnings:?}"
        );
        // With trust, the price overrides report it, once too.
        let f = files(Some(TRUST), "[prices\n");
        let (_, warnings) = price_book(&f.user, Some(&f.repo));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // `agent-cost log` in an untrusted repository is not stopped by it.
        let f = files(None, "[credits\n");
        let (rate, warnings) = credit_rate(&f.user, Some(&f.repo)).unwrap();
        assert_eq!(rate, CreditRate::default());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}
