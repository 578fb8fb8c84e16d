//! The comparison itself, on data already gathered: what the agents' logs say was spent in a
//! repository, what the ledger holds (committed, pending, orphaned, before tracking), and what
//! the commits' trailers carry, per agent and model, with a finding for each difference.

use std::collections::{BTreeMap, HashMap, HashSet};

use agent_cost_prices::PriceBook;
use agent_cost_store::{DrainRecord, SpendState, SpendTotal};
use agent_cost_trailers::{Block, BlockFate, block_fates, normalize_name};
use serde::Serialize;

use crate::counts::Counts;

/// What verification compares.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The repository's spend read again from the agents' logs into a fresh ledger.
    pub recomputed: Vec<SpendTotal>,
    /// The ledger's spend of the repository, by state.
    pub ledger: Vec<SpendTotal>,
    /// The ledger's drains for the repository's worktrees.
    pub drains: Vec<DrainRecord>,
    /// Every block of the history walked (commit id, block), in walk order.
    pub history: Vec<(String, Block)>,
}

/// One agent and model: what each side says, and the difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Agent, as trailers name it.
    pub agent: String,
    /// Model, as trailers name it.
    pub model: String,
    /// What should have been charged: the logs read again, plus spend entered by hand.
    pub expected: Counts,
    /// What the ledger holds, in all states.
    pub recorded: Counts,
    /// In the trailers of this machine's drains found in history (each drain once), plus
    /// what the first ledger settled (it recorded no drain id to look for).
    pub committed: Counts,
    /// Pending in a worktree's tally.
    pub pending: Counts,
    /// Pending in a worktree whose git dir is gone.
    pub orphaned: Counts,
    /// Logged before the repository's tracking start: never for a commit.
    pub before_tracking: Counts,
    /// `expected − committed − pending − orphaned − before_tracking`.
    pub difference: Counts,
}

/// Why the sides differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Finding {
    /// The ledger holds spend the agents' logs no longer show.
    LogsGone {
        /// Agent.
        agent: String,
        /// Model.
        model: String,
        /// How much.
        counts: Counts,
    },
    /// The agents' logs show spend the ledger has not recorded.
    NotInLedger {
        /// Agent.
        agent: String,
        /// Model.
        model: String,
        /// How much.
        counts: Counts,
    },
    /// A drain the ledger settled is in no commit of the history walked.
    DrainNotInHistory {
        /// The `AI-Cost-Id`.
        drain: String,
        /// The commit the ledger recorded for it.
        commit: Option<String>,
        /// The worktree it drained.
        worktree: Option<String>,
    },
    /// A block of this machine's drain whose lines differ from what the drain took.
    BlockEdited {
        /// The `AI-Cost-Id`.
        drain: String,
        /// The commit carrying the block.
        commit: String,
        /// The (agent, model) lines that differ: `agent/model`.
        models: Vec<String>,
    },
    /// A block of a drain the ledger proposed but has not settled.
    NotSettled {
        /// The `AI-Cost-Id`.
        drain: String,
        /// The commit carrying it.
        commit: String,
    },
}

impl Finding {
    /// One line for people.
    pub fn explain(&self) -> String {
        let short = |commit: &str| commit.chars().take(10).collect::<String>();
        match self {
            Finding::LogsGone {
                agent,
                model,
                counts,
            } => format!(
                "{agent} {model}: the ledger holds {} requests whose logs are gone (rotated away or deleted); their spend is still accounted",
                counts.requests
            ),
            Finding::NotInLedger {
                agent,
                model,
                counts,
            } => format!(
                "{agent} {model}: the logs show {} requests the ledger has not recorded: run `agent-cost ingest`, then verify again",
                counts.requests
            ),
            Finding::DrainNotInHistory {
                drain,
                commit,
                worktree,
            } => format!(
                "drain {drain} ({}, from {}) is in no commit of the history read: a deleted branch, a reset or rewritten commit, or a commit not fetched here",
                commit
                    .as_deref()
                    .map_or("commit unknown".to_string(), |c| format!(
                        "commit {}",
                        short(c)
                    )),
                worktree.as_deref().unwrap_or("an unknown worktree")
            ),
            Finding::BlockEdited {
                drain,
                commit,
                models,
            } => format!(
                "drain {drain} in commit {}: its lines for {} differ from what this machine drained (edited by hand?)",
                short(commit),
                models.join(", ")
            ),
            Finding::NotSettled { drain, commit } => format!(
                "drain {drain} is in commit {} but the ledger has not settled it: run `agent-cost status` to settle it",
                short(commit)
            ),
        }
    }
}

/// A block in history that this machine did not drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignBlock {
    /// Its `AI-Cost-Id` (empty when it has none).
    pub drain: String,
    /// The commit carrying it.
    pub commit: String,
}

/// The outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// One row per agent and model, sorted.
    pub rows: Vec<Row>,
    /// Every difference, explained.
    pub findings: Vec<Finding>,
    /// Blocks of this machine's drains checked against the ledger, and how many matched.
    pub blocks_checked: usize,
    /// See `blocks_checked`.
    pub blocks_matching: usize,
    /// Blocks in history from elsewhere (another machine, or typed by hand): not compared.
    pub foreign_blocks: Vec<ForeignBlock>,
    /// Ids of the blocks that match what this machine drained (`trailers sum --verified`).
    #[serde(skip)]
    pub matching: HashSet<String>,
}

impl Verification {
    /// Whether everything adds up.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.rows.iter().all(|r| r.difference.is_zero())
    }
}

type ModelKey = (String, String);

/// The names a trailer gives an agent and a model of the ledger: the model's price-list name,
/// both normalised as trailers write them.
fn trailer_key(book: &PriceBook, agent: &str, model: &str) -> ModelKey {
    (
        normalize_name(agent),
        normalize_name(&book.display_name(model)),
    )
}

/// Compares the sides, naming the ledger's models as `book` does in trailers.
pub fn compare(inputs: &Inputs, book: &PriceBook) -> Verification {
    let name = |agent: &str, model: &str| trailer_key(book, agent, model);
    let mut rows: BTreeMap<ModelKey, Row> = BTreeMap::new();
    fn row(rows: &mut BTreeMap<ModelKey, Row>, key: ModelKey) -> &mut Row {
        rows.entry(key.clone()).or_insert_with(|| Row {
            agent: key.0,
            model: key.1,
            ..Row::default()
        })
    }
    for total in &inputs.recomputed {
        if !total.entered {
            row(&mut rows, name(&total.group.agent, &total.group.model)).expected +=
                &Counts::of_group(&total.group);
        }
    }
    let mut by_drain: HashMap<&str, BTreeMap<ModelKey, Counts>> = HashMap::new();
    for total in &inputs.ledger {
        let key = name(&total.group.agent, &total.group.model);
        let counts = Counts::of_group(&total.group);
        let r = row(&mut rows, key.clone());
        r.recorded += &counts;
        if total.entered {
            r.expected += &counts;
        }
        match (total.state, &total.drain) {
            (SpendState::Committed, Some(drain)) => {
                *by_drain
                    .entry(drain.as_str())
                    .or_default()
                    .entry(key)
                    .or_default() += &counts;
            }
            (SpendState::Committed, None) => r.committed += &counts,
            (SpendState::Pending, _) => r.pending += &counts,
            (SpendState::Orphaned, _) => r.orphaned += &counts,
            (SpendState::BeforeTracking, _) => r.before_tracking += &counts,
            (SpendState::Unattributed, _) => {}
        }
    }

    let mut verification = Verification::default();
    let known: HashMap<&str, &DrainRecord> = inputs
        .drains
        .iter()
        .map(|d| (d.drain.as_str(), d))
        .collect();
    let fates = block_fates(inputs.history.iter().map(|(_, block)| block));
    let mut present: HashSet<&str> = HashSet::new();
    let mut checked: HashSet<&str> = HashSet::new();
    for ((commit, block), fate) in inputs.history.iter().zip(fates) {
        let Some(drain) = known.get(block.id.as_str()) else {
            if fate == BlockFate::Counted {
                verification.foreign_blocks.push(ForeignBlock {
                    drain: block.id.clone(),
                    commit: commit.clone(),
                });
            }
            continue;
        };
        present.insert(drain.drain.as_str());
        present.extend(block.replaces.iter().map(String::as_str));
        if fate == BlockFate::Counted {
            for line in &block.models {
                row(&mut rows, name(&line.agent, &line.model)).committed += &Counts::of_line(line);
            }
        }
        if drain.state != "settled" {
            verification.findings.push(Finding::NotSettled {
                drain: drain.drain.clone(),
                commit: commit.clone(),
            });
            continue;
        }
        if !checked.insert(block.id.as_str()) {
            continue;
        }
        let mut drained: BTreeMap<ModelKey, Counts> = BTreeMap::new();
        for id in std::iter::once(&block.id).chain(&block.replaces) {
            for (key, counts) in by_drain.get(id.as_str()).into_iter().flatten() {
                *drained.entry(key.clone()).or_default() += counts;
            }
        }
        let mut written: BTreeMap<ModelKey, Counts> = BTreeMap::new();
        for line in &block.models {
            *written.entry(name(&line.agent, &line.model)).or_default() += &Counts::of_line(line);
        }
        drained.retain(|_, c| !c.is_zero());
        written.retain(|_, c| !c.is_zero());
        verification.blocks_checked += 1;
        if drained == written {
            verification.blocks_matching += 1;
            verification.matching.insert(block.id.clone());
        } else {
            let keys: std::collections::BTreeSet<&ModelKey> =
                drained.keys().chain(written.keys()).collect();
            verification.findings.push(Finding::BlockEdited {
                drain: block.id.clone(),
                commit: commit.clone(),
                models: keys
                    .into_iter()
                    .filter(|k| drained.get(*k) != written.get(*k))
                    .map(|(agent, model)| format!("{agent}/{model}"))
                    .collect(),
            });
        }
    }
    for drain in &inputs.drains {
        if drain.state == "settled"
            && !present.contains(drain.drain.as_str())
            && by_drain.contains_key(drain.drain.as_str())
        {
            verification.findings.push(Finding::DrainNotInHistory {
                drain: drain.drain.clone(),
                commit: drain.commit.clone(),
                worktree: drain.worktree.clone(),
            });
        }
    }

    for r in rows.values_mut() {
        let mut difference = r.expected.clone();
        for part in [&r.committed, &r.pending, &r.orphaned, &r.before_tracking] {
            difference -= part;
        }
        r.difference = difference;
        let mut logs_vs_ledger = r.expected.clone();
        logs_vs_ledger -= &r.recorded;
        if logs_vs_ledger.is_zero() {
            continue;
        }
        let (agent, model) = (r.agent.clone(), r.model.clone());
        if logs_vs_ledger.requests > 0 || logs_vs_ledger.output > 0 {
            verification.findings.push(Finding::NotInLedger {
                agent,
                model,
                counts: logs_vs_ledger,
            });
        } else {
            let mut gone = r.recorded.clone();
            gone -= &r.expected;
            verification.findings.push(Finding::LogsGone {
                agent,
                model,
                counts: gone,
            });
        }
    }
    verification.rows = rows.into_values().collect();
    verification
}
