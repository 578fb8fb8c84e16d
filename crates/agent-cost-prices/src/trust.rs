//! Whether a repository may reprice models. A repository's `agent-cost.toml` may set `[prices]`,
//! `[aliases]` and `[credits]` only when the user's own `$AGENT_COST_HOME/config.toml` allows it:
//!
//! ```toml
//! [trust]
//! repository_prices = true
//! ```
//!
//! Otherwise a cloned repository could make its own spend look free. `[trust]` in a
//! repository's file is ignored (a repository cannot trust itself). Other tables of the
//! repository's file (`[report]`, …) are not concerned.

use std::path::Path;

use toml::{Table, Value};

use crate::overrides::PriceError;

/// The tables of a repository's `agent-cost.toml` that change what spend costs, in the order
/// they are named in messages.
pub const REPRICING_TABLES: [&str; 3] = ["prices", "aliases", "credits"];

/// A problem with `[trust]`, or a repository's file refused for lack of it. Each is a warning:
/// repository prices are then not applied, and the built-in and the user's own are used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// `trust` in the user's file is not a table.
    #[error(
        "{origin}: `trust` must be a table: write `repository_prices = true` under a `[trust]` \
         line to let repositories set prices; until then they may not"
    )]
    NotATable {
        /// The user's file.
        origin: String,
    },
    /// `repository_prices` is not a boolean.
    #[error(
        "{origin}: [trust] repository_prices must be true or false, not {found}: write \
         `repository_prices = true` to let repositories set prices; until then they may not"
    )]
    NotABoolean {
        /// The user's file.
        origin: String,
        /// The value found, as TOML.
        found: String,
    },
    /// A key `[trust]` does not know (a typo, usually).
    #[error(
        "{origin}: unknown key `{key}` in [trust]: the only key is repository_prices (like \
         `repository_prices = true`); remove or rename it; until then repositories may not set \
         prices"
    )]
    UnknownKey {
        /// The user's file.
        origin: String,
        /// The unknown key.
        key: String,
    },
    /// A repository's file holds `[trust]`, which only the user's file may.
    #[error(
        "{origin}: [trust] is ignored: a repository cannot trust itself; remove it there, and \
         to let repositories set prices add `[trust]` with `repository_prices = true` to \
         {user_file}"
    )]
    InRepository {
        /// The repository's file.
        origin: String,
        /// The user's file, where `[trust]` belongs.
        user_file: String,
    },
    /// A repository's file reprices models but the user has not allowed it.
    #[error(
        "{origin} sets {} but a repository may not reprice models unless you allow it: add \
         `[trust]` with `repository_prices = true` to {user_file}; the built-in and your own \
         {} used",
        list(tables),
        if tables.contains(&"credits") { "prices and credit rate are" } else { "prices are" }
    )]
    Refused {
        /// The repository's file.
        origin: String,
        /// The repricing tables it sets, of [`REPRICING_TABLES`].
        tables: Vec<&'static str>,
        /// The user's file, where `[trust]` belongs.
        user_file: String,
    },
}

/// `["prices", "credits"]` as `[prices] and [credits]`.
fn list(tables: &[&str]) -> String {
    let names: Vec<String> = tables.iter().map(|t| format!("[{t}]")).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// What the user's `[trust]` table allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trust {
    /// A repository's `[prices]`, `[aliases]` and `[credits]` are applied.
    pub repository_prices: bool,
}

impl Trust {
    /// The `[trust]` table of the user's settings file, and its problems. Anything but a
    /// `[trust]` table whose only key is a boolean `repository_prices` allows nothing, and
    /// each problem names the file, the key and the fix. Text that is not valid TOML allows
    /// nothing and reports no problem here: the price overrides report its syntax.
    pub fn from_toml_str(text: &str, origin: impl AsRef<Path>) -> (Trust, Vec<TrustError>) {
        let origin = origin.as_ref().display().to_string();
        let Ok(table) = toml::from_str::<Table>(text) else {
            return (Trust::default(), Vec::new());
        };
        let Some(trust) = table.get("trust") else {
            return (Trust::default(), Vec::new());
        };
        let Some(trust) = trust.as_table() else {
            return (Trust::default(), vec![TrustError::NotATable { origin }]);
        };
        let mut problems = Vec::new();
        let mut allowed = false;
        for (key, value) in trust {
            match (key.as_str(), value) {
                ("repository_prices", Value::Boolean(b)) => allowed = *b,
                ("repository_prices", other) => problems.push(TrustError::NotABoolean {
                    origin: origin.clone(),
                    found: other.to_string(),
                }),
                _ => problems.push(TrustError::UnknownKey {
                    origin: origin.clone(),
                    key: key.clone(),
                }),
            }
        }
        let repository_prices = allowed && problems.is_empty();
        (Trust { repository_prices }, problems)
    }
}

/// What a repository's `agent-cost.toml` sets that concerns trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryFile {
    /// The repricing tables it sets, of [`REPRICING_TABLES`], in that order.
    pub repricing: Vec<&'static str>,
    /// It holds a `[trust]` table (which is ignored).
    pub sets_trust: bool,
}

impl RepositoryFile {
    /// Looks at a repository's file without applying anything. An error only when the text
    /// is not valid TOML.
    pub fn inspect(text: &str, origin: impl AsRef<Path>) -> Result<RepositoryFile, PriceError> {
        let table: Table = toml::from_str(text).map_err(|error| PriceError::Syntax {
            origin: origin.as_ref().display().to_string(),
            message: error.message().trim().to_string(),
        })?;
        Ok(RepositoryFile {
            repricing: REPRICING_TABLES
                .into_iter()
                .filter(|name| table.contains_key(*name))
                .collect(),
            sets_trust: table.contains_key("trust"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "/home/me/.local/share/agent-cost/config.toml";
    const REPO: &str = "/src/shop/agent-cost.toml";

    fn trust(text: &str) -> (bool, Vec<String>) {
        let (trust, problems) = Trust::from_toml_str(text, USER);
        (
            trust.repository_prices,
            problems.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn only_a_true_boolean_allows_repository_prices() {
        assert_eq!(trust(""), (false, vec![]));
        assert_eq!(
            trust("[prices.m]\ninput = 1\noutput = 1\n"),
            (false, vec![])
        );
        assert_eq!(trust("[trust]\n"), (false, vec![]));
        assert_eq!(
            trust("[trust]\nrepository_prices = false\n"),
            (false, vec![])
        );
        assert_eq!(trust("[trust]\nrepository_prices = true\n"), (true, vec![]));
        // Not TOML: the price overrides report it.
        assert_eq!(trust("[trust\nrepository_prices = true\n"), (false, vec![]));
    }

    #[test]
    fn a_wrong_type_or_an_unknown_key_is_a_warning_and_allows_nothing() {
        assert_eq!(
            trust("[trust]\nrepository_prices = \"yes\"\n"),
            (
                false,
                vec![format!(
                    "{USER}: [trust] repository_prices must be true or false, not \"yes\": write \
                     `repository_prices = true` to let repositories set prices; until then they \
                     may not"
                )]
            )
        );
        assert_eq!(trust("[trust]\nrepository_prices = 1\n").1.len(), 1);
        assert_eq!(
            trust("[trust]\nrepository_prices = true\nrepository_price = true\n"),
            (
                false,
                vec![format!(
                    "{USER}: unknown key `repository_price` in [trust]: the only key is \
                     repository_prices (like `repository_prices = true`); remove or rename it; \
                     until then repositories may not set prices"
                )]
            )
        );
        assert_eq!(
            trust("trust = true\n"),
            (
                false,
                vec![format!(
                    "{USER}: `trust` must be a table: write `repository_prices = true` under a \
                     `[trust]` line to let repositories set prices; until then they may not"
                )]
            )
        );
    }

    #[test]
    fn a_repository_file_is_inspected_for_repricing_tables_and_trust() {
        let file = RepositoryFile::inspect(
            "[report]\nwaste_lines = 3\n[credits]\nusd_per_credit = 0\n[prices.m]\ninput = 0\noutput = 0\n[trust]\nrepository_prices = true\n",
            REPO,
        )
        .expect("valid");
        assert_eq!(file.repricing, vec!["prices", "credits"]);
        assert!(file.sets_trust);
        assert_eq!(
            RepositoryFile::inspect("[report]\nwaste_lines = 3\n", REPO).expect("valid"),
            RepositoryFile::default()
        );
        let error = RepositoryFile::inspect("[prices\n", REPO).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{REPO}: not valid TOML")),
            "{error}"
        );
    }

    #[test]
    fn the_refusal_names_the_file_the_tables_and_the_fix() {
        let refused = |tables: Vec<&'static str>| {
            TrustError::Refused {
                origin: REPO.into(),
                tables,
                user_file: USER.into(),
            }
            .to_string()
        };
        assert_eq!(
            refused(vec!["prices"]),
            format!(
                "{REPO} sets [prices] but a repository may not reprice models unless you allow \
                 it: add `[trust]` with `repository_prices = true` to {USER}; the built-in and \
                 your own prices are used"
            )
        );
        assert!(
            refused(vec!["prices", "aliases", "credits"]).starts_with(&format!(
                "{REPO} sets [prices], [aliases] and [credits] but"
            ))
        );
        assert!(
            refused(vec!["credits"])
                .ends_with("the built-in and your own prices and credit rate are used")
        );
        assert_eq!(
            TrustError::InRepository {
                origin: REPO.into(),
                user_file: USER.into()
            }
            .to_string(),
            format!(
                "{REPO}: [trust] is ignored: a repository cannot trust itself; remove it there, \
                 and to let repositories set prices add `[trust]` with `repository_prices = true` \
                 to {USER}"
            )
        );
    }
}
