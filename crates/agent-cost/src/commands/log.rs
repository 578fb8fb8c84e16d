//! `agent-cost log`: a manual entry (spend of an agent that writes no logs agent-cost reads),
//! charged to this worktree's tally so the next commit carries it. See
//! `docs/manual-entries.md`.

use std::time::Duration;

use agent_cost_events::{Agent, Money, PICOS_PER_MICRO, Quantity, RepeatRule, Unit, UsageEvent};
use agent_cost_git::Worktree;
use agent_cost_hooks::pricing::credit_rate;
use agent_cost_store::{EntryDetails, Recorded, Store};
use serde::Serialize;

use crate::output::{CommandError, CommandResult, errln, outln, print_json};

/// The largest USD amount one entry may hold.
const MAX_USD_MICROS: u64 = 10_000 * 1_000_000;
/// The largest number of credits one entry may hold.
const MAX_CREDITS_MICROS: u64 = 1_000_000 * 1_000_000;

/// Record spend by hand: it is charged to this worktree and carried by the next commit.
///
/// For agents whose usage agent-cost cannot read from logs: Kiro credits, Cursor on an
/// individual plan, anything else. An amount in credits is kept in credits (the trailer's
/// AI-Quantity: and AI-Cost-Estimate: lines in credits) and estimated in USD at
/// `usd_per_credit` of the [credits] table in $AGENT_COST_HOME/config.toml (default 0.04, Kiro's
/// overage list price), or of the repository's agent-cost.toml when your config.toml allows it
/// with [trust] repository_prices = true. An amount in USD is recorded as the model's cost.
/// Amounts are decimals with at most six fractional digits, above zero and at most 10000 USD or
/// 1000000 credits. Each entry is recorded once, under its own id.
#[derive(Debug, clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct LogArgs {
    /// The amount, e.g. 1.26 (in --unit).
    amount: String,
    /// What the work was.
    #[arg(value_enum, value_name = "TYPE", default_value_t = WorkType::Other)]
    work_type: WorkType,
    /// The agent that did the work, e.g. kiro or cursor.
    #[arg(long)]
    agent: String,
    /// The unit of the amount.
    #[arg(long, value_enum, default_value_t = AmountUnit::Usd)]
    unit: AmountUnit,
    /// The model, if known.
    #[arg(long, default_value = "manual")]
    model: String,
    /// How long the work took, in seconds.
    #[arg(long, value_name = "SECS")]
    elapsed: Option<u64>,
    /// A note for people.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Print what was recorded as JSON.
    #[arg(long)]
    json: bool,
}

/// The kind of work an entry paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum WorkType {
    Fix,
    Feat,
    Refac,
    Test,
    Doc,
    Config,
    Other,
}

impl WorkType {
    fn as_str(self) -> &'static str {
        match self {
            WorkType::Fix => "fix",
            WorkType::Feat => "feat",
            WorkType::Refac => "refac",
            WorkType::Test => "test",
            WorkType::Doc => "doc",
            WorkType::Config => "config",
            WorkType::Other => "other",
        }
    }
}

/// The unit of an entry's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AmountUnit {
    Usd,
    Credits,
}

/// What was recorded, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Entry {
    event_id: String,
    agent: String,
    model: String,
    #[serde(rename = "type")]
    work_type: WorkType,
    unit: &'static str,
    /// The amount in its unit, as a decimal string.
    amount: String,
    /// The amount in millionths of its unit.
    amount_micros: u64,
    /// The USD estimate (the amount itself for USD entries).
    cost_usd: String,
    /// The USD estimate in micro-dollars.
    cost_usd_micros: u64,
    /// The rate used for credits, in micro-dollars per credit.
    #[serde(skip_serializing_if = "Option::is_none")]
    usd_micros_per_credit: Option<u64>,
    elapsed_secs: Option<u64>,
    note: Option<String>,
    worktree: String,
}

/// Runs the command.
pub fn run(args: LogArgs) -> CommandResult {
    let Some(worktree) = Worktree::current() else {
        return Err(
            CommandError::msg("agent-cost log must run inside a git repository").hint(
                "cd into the repository (or worktree) the work was for and run the command there",
            ),
        );
    };
    let micros = parse_amount(&args.amount, args.unit)?;
    let agent = name(&args.agent, "--agent")?;
    let model = name(&args.model, "--model")?;
    let locations = super::locations()?;
    let (unit, quantity, cost, rate) = match args.unit {
        // The amount in USD is also a quantity in USD: that keeps the entry in a group of its
        // own, apart from the requests of the same agent and model read from logs (whose
        // tokens price the group, which would drop the entry's cost). The drain writes no
        // quantity in USD.
        AmountUnit::Usd => (
            "USD",
            Some(Quantity {
                unit: Unit::new("USD"),
                micros,
            }),
            Money::from_micros(micros),
            None,
        ),
        AmountUnit::Credits => {
            let (rate, warnings) = credit_rate(&locations.config_file(), Some(&worktree.workdir))
                .map_err(|e| CommandError::from_error(&e))?;
            // As with prices: a repository's rate the user does not allow is ignored, with a
            // warning, and the entry is recorded at the user's or the default rate.
            for warning in warnings {
                errln!("warning: {warning}");
            }
            let cost = Money(rate.picos_of(micros)).round_to_micros();
            let quantity = Quantity {
                unit: Unit::new(Unit::CREDITS),
                micros,
            };
            (
                Unit::CREDITS,
                Some(quantity),
                cost,
                Some(rate.micro_usd_per_credit()),
            )
        }
    };
    let event_id = format!("manual-{}", agent_cost_trailers::new_block_id());
    let event = UsageEvent {
        agent: Agent::new(agent.clone()),
        event_id: event_id.clone(),
        variant: String::new(),
        repeat: RepeatRule::LargestCopy,
        // Each entry is a session of its own; the session keeps the kind of work.
        session_id: format!("manual:{}:{event_id}", args.work_type.as_str()),
        model: model.clone(),
        timestamp: agent_cost_store::time::now_rfc3339(),
        tokens: Default::default(),
        requests: 0,
        quantity,
        source_cost: Some(cost),
        cwd: worktree.workdir.to_string_lossy().into_owned(),
        git_branch: None,
        sidechain: false,
        speed: None,
    };
    let mut store = Store::open(&locations.state_dir, Duration::from_secs(30))?;
    let tx = store.write()?;
    let tracked = tx
        .tracking(&worktree.common_dir.to_string_lossy())?
        .is_some();
    let id = tx.worktree_id(&worktree)?;
    let recorded = tx.record(&event, Some(id))?;
    tx.set_entry_details(
        &agent,
        &event_id,
        &EntryDetails {
            work_type: args.work_type.as_str().to_string(),
            elapsed_secs: args.elapsed,
            note: args.note.clone(),
        },
    )?;
    tx.commit()?;
    if !matches!(recorded, Recorded::New) {
        return Err(CommandError::msg(format!(
            "entry {event_id} was already recorded; nothing was added"
        )));
    }
    if !tracked {
        errln!(
            "warning: agent-cost is not tracking this repository, so no commit will carry this \
             entry; run `agent-cost install-hooks` here"
        );
    }
    let amount = decimal(micros);
    let entry = Entry {
        event_id,
        agent,
        model,
        work_type: args.work_type,
        unit,
        amount: amount.clone(),
        amount_micros: micros,
        cost_usd: cost.to_decimal(),
        cost_usd_micros: u64::try_from(cost.micros()).unwrap_or(u64::MAX),
        usd_micros_per_credit: rate,
        elapsed_secs: args.elapsed,
        note: args.note,
        worktree: worktree.workdir.display().to_string(),
    };
    if args.json {
        return print_json(&entry);
    }
    match args.unit {
        AmountUnit::Usd => outln!(
            "logged {} USD for {} ({}, {}); the next commit here carries it",
            entry.cost_usd,
            entry.agent,
            entry.model,
            entry.work_type.as_str()
        ),
        AmountUnit::Credits => outln!(
            "logged {amount} credits (~{} USD) for {} ({}, {}); the next commit here carries it",
            entry.cost_usd,
            entry.agent,
            entry.model,
            entry.work_type.as_str()
        ),
    }
}

/// An amount as millionths of its unit: a decimal above zero with at most six fractional
/// digits, within the unit's bound.
fn parse_amount(text: &str, unit: AmountUnit) -> Result<u64, CommandError> {
    let (max, unit_name, example) = match unit {
        AmountUnit::Usd => (MAX_USD_MICROS, "USD", "2.50"),
        AmountUnit::Credits => (MAX_CREDITS_MICROS, "credits", "1.26"),
    };
    let text = text.trim();
    if text.starts_with('-') {
        return Err(
            CommandError::msg(format!("the amount {text} is negative")).hint(format!(
                "log what was spent as a positive amount, e.g. `agent-cost log {example} --agent NAME`"
            )),
        );
    }
    let micros = Money::parse_decimal(text)
        .map(|money| money.picos() / PICOS_PER_MICRO)
        .map_err(|_| {
            CommandError::msg(format!("`{text}` is not an amount")).hint(format!(
                "write a decimal with at most six fractional digits, e.g. {example}"
            ))
        })?;
    if micros == 0 {
        return Err(CommandError::msg("the amount is zero; nothing to log")
            .hint(format!("give the amount spent, e.g. {example}")));
    }
    match u64::try_from(micros).ok().filter(|&m| m <= max) {
        Some(micros) => Ok(micros),
        None => Err(CommandError::msg(format!(
            "{text} {unit_name} is more than one entry may hold (at most {} {unit_name})",
            decimal(max)
        ))
        .hint("check the amount and --unit; split real spend this large into several entries")),
    }
}

/// A name as trailers write it: non-empty, without whitespace.
fn name(text: &str, flag: &str) -> Result<String, CommandError> {
    let text = text.trim();
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            CommandError::msg(format!("{flag} `{text}` is not a name")).hint(format!(
                "give {flag} one word without spaces, e.g. {}",
                if flag == "--agent" {
                    "kiro"
                } else {
                    "claude-sonnet-4-5"
                }
            )),
        );
    }
    Ok(text.to_string())
}

/// Millionths as a decimal without trailing zeros: `1260000` → `1.26`.
fn decimal(micros: u64) -> String {
    Money::from_micros(micros).to_decimal_trimmed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_micro_units() {
        assert_eq!(
            parse_amount("1.26", AmountUnit::Credits).ok(),
            Some(1_260_000)
        );
        assert_eq!(parse_amount("0.000001", AmountUnit::Usd).ok(), Some(1));
        assert_eq!(
            parse_amount("10000", AmountUnit::Usd).ok(),
            Some(MAX_USD_MICROS)
        );
        assert_eq!(
            parse_amount("1000000", AmountUnit::Credits).ok(),
            Some(MAX_CREDITS_MICROS)
        );
        for bad in [
            "10000.000001",
            "-1",
            "0",
            "0.0",
            "1.2345678",
            "1e3",
            "",
            "abc",
        ] {
            assert!(parse_amount(bad, AmountUnit::Usd).is_err(), "{bad}");
        }
        assert_eq!(decimal(1_260_000), "1.26");
        assert_eq!(decimal(3_000_000), "3");
        assert_eq!(decimal(1), "0.000001");
    }
}
