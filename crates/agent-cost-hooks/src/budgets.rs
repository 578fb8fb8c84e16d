//! Budget warnings at commit time: the spend a drain is about to write, added to what its
//! branch, its author's day and its repository's week and month already hold, compared with
//! the `[budget.*]` tables of the settings files. A warning line per budget exceeded; never a
//! failure: a commit is not blocked by a budget (`agent-cost check` fails builds).

use std::time::Instant;

use agent_cost_budget::{Level, Recent, Scope, Spend};
use agent_cost_git::{History, HistoryError};
use agent_cost_report::ReportError;
use agent_cost_trailers::ModelLine;

use crate::settings::Settings;

/// One line per budget the commit carrying `commit_models` exceeds, soft or hard, saying
/// which budget, how much and by how much; or why budgets could not be checked. `new_models`
/// is the part of it not in history yet (all of it, unless an amend keeps HEAD's spend).
/// History is read only when a budget adds up more than the commit (and then only its
/// recent end), and only until `deadline`: a repository whose month holds more commits than
/// the hook's time budget can read gets one warning instead, and the commit goes ahead.
pub fn warnings(
    settings: &Settings,
    history: Option<&History>,
    deadline: Instant,
    commit_models: &[ModelLine],
    new_models: &[ModelLine],
) -> Vec<String> {
    let config = match settings.budgets() {
        Ok(config) => config,
        Err(e) => return vec![format!("budgets not checked: {e}")],
    };
    if config.budgets.is_empty() {
        return Vec::new();
    }
    let spend_of = |models: &[ModelLine]| {
        let mut spend = Spend::default();
        for line in models {
            spend.add_model_line(line);
        }
        spend
    };
    let only_commits = config.budgets.iter().all(|b| b.scope == Scope::Commit);
    let recent = match history {
        Some(history) if !only_commits => {
            let report = settings.report();
            let today = agent_cost_budget::local_today();
            match Recent::read(history, &report, &config, today, false, Some(deadline)) {
                Ok(recent) => recent,
                Err(ReportError::History(HistoryError::OutOfTime { read })) => {
                    return vec![format!(
                        "budgets not checked: reading this period's commits took longer than \
                         the hook's time budget ({read} read); `agent-cost status` checks them"
                    )];
                }
                Err(e) => return vec![format!("budgets not checked: {e}")],
            }
        }
        _ => Recent::default(),
    };
    recent
        .verdicts(&config, &spend_of(commit_models), &spend_of(new_models))
        .into_iter()
        .filter(|verdict| verdict.level != Level::Within)
        .filter(|verdict| history.is_some() || verdict.budget.scope == Scope::Commit)
        .map(|verdict| verdict.sentence())
        .collect()
}
