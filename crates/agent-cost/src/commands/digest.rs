//! `agent-cost digest`: a period's spend, its top outliers and the cost-per-merged-PR trend
//! ([`agent_cost_report::Digest`]), as text, Markdown or JSON.

use agent_cost_report::digest::trend_start;
use agent_cost_report::{Digest, Filter, Outlier, Style};
use serde_json::{Value, json};

use crate::commands::report_scope::ReadOptions;
use crate::output::{self, CommandError, CommandResult, print_json};

/// A digest of recent AI spend for a weekly channel post: top outliers and the PR trend.
///
/// Over the commits authored in the period (default: the last 7 days up to now): the total,
/// the ten costliest commits, merged pull requests, authors and repositories (each with how
/// many times the median it is), the cost per merged pull request against the period of the
/// same length before, and the cost per merged pull request per ISO week from four weeks
/// before the period on. Reads the current repository, each --repo, or every repository
/// under --repos DIR:
///
///   agent-cost digest                                # the last 7 days, here
///   agent-cost digest --since 30d --repos ~/src --markdown > digest.md
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct DigestArgs {
    /// The start of the period: a number of days or weeks back from now (7d, 2w) or a date
    /// (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "WHEN", default_value = "7d")]
    since: String,
    /// The revision to read history from (default: HEAD; `--rev=--all` reads every branch).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    rev: Option<String>,
    #[command(flatten)]
    read: ReadOptions,
    /// Print Markdown (headings and tables) for a chat channel or an issue.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// Print one JSON object: from, to, cost_usd, units, commits, top_commits, top_prs,
    /// top_authors, top_repositories, cost_per_pr, previous_cost_per_pr, trend.
    #[arg(long)]
    json: bool,
}

/// `7d`, `2w` or `YYYY-MM-DD` as seconds since the epoch, `now` being the current time.
fn period_start(text: &str, now: i64) -> Result<i64, CommandError> {
    let text = text.trim();
    let bad = || {
        CommandError::msg(format!("--since `{text}` is not a period"))
            .hint("write a number of days or weeks back (7d, 2w) or a date (2026-11-01)")
    };
    if let Some(days) = text.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return (0..=36_500)
            .contains(&days)
            .then(|| now - days * 86_400)
            .ok_or_else(bad);
    }
    if let Some(weeks) = text.strip_suffix('w').and_then(|n| n.parse::<i64>().ok()) {
        return (0..=5_200)
            .contains(&weeks)
            .then(|| now - weeks * 7 * 86_400)
            .ok_or_else(bad);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    Ok(date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| bad())?
        .timestamp()
        .as_second())
}

/// Runs `agent-cost digest`.
pub fn run(args: DigestArgs) -> CommandResult {
    let now = jiff::Timestamp::now().as_second();
    let since = period_start(&args.since, now)?;
    if since > now {
        return Err(
            CommandError::msg(format!("--since {} is in the future", args.since))
                .hint("give a day in the past, or a number of days back such as 7d"),
        );
    }
    let mut read = args.read.clone();
    read.no_lines = true;
    let scoped = read.read(
        args.rev.as_deref(),
        Filter {
            since: Some(trend_start(since)),
            until: Some(now),
        },
    )?;
    let digest = Digest::new(&scoped.ledger, since, now);
    if args.json {
        return print_json(&digest_json(&digest));
    }
    let style = if args.markdown {
        Style::Markdown
    } else {
        Style::Text
    };
    output::stdout(format_args!("{}", digest.render(style)))
}

fn digest_json(digest: &Digest) -> Value {
    let list = |items: &[Outlier]| -> Vec<Value> {
        items
            .iter()
            .map(|o| {
                json!({
                    "name": o.name,
                    "detail": o.detail,
                    "cost_usd": o.cost.to_decimal(),
                    "unpriced": o.unpriced,
                    "commits": o.commits,
                    "percent_of_median": o.percent_of_median.map(|p| u64::try_from(p).unwrap_or(u64::MAX)),
                })
            })
            .collect()
    };
    json!({
        "from": digest.from.to_string(),
        "to": digest.to.to_string(),
        "cost_usd": digest.cost.to_decimal(),
        "unpriced": digest.unpriced,
        "units": digest.units.iter().map(|(u, a)| (u.clone(), json!(a.to_decimal()))).collect::<serde_json::Map<String, Value>>(),
        "commits": digest.commits,
        "repositories": digest.repositories,
        "top_commits": list(&digest.top_commits),
        "top_prs": list(&digest.top_prs),
        "top_authors": list(&digest.top_authors),
        "top_repositories": list(&digest.top_repositories),
        "merged_prs": digest.prs.items.len(),
        "cost_per_pr": digest.prs.cost_per_pr().to_decimal(),
        "previous_merged_prs": digest.previous_prs.items.len(),
        "previous_cost_per_pr": digest.previous_prs.cost_per_pr().to_decimal(),
        "trend": digest.trend.iter().map(|w| json!({
            "week": w.week,
            "merged": w.merged,
            "cost_usd": w.cost.to_decimal(),
            "cost_per_pr": w.cost_per_pr().to_decimal(),
        })).collect::<Vec<_>>(),
    })
}
