//! The weekly digest (`agent-cost digest`): a period's spend, its top outliers (commits, pull
//! requests, authors, repositories, each with how many times the median it is) and the trend
//! of the cost per merged pull request, as text or Markdown for a channel post.

use std::collections::BTreeMap;

use agent_cost_events::Money;

use crate::classify;
use crate::ledger::{Filter, Ledger};
use crate::prs::PrReport;
use crate::spend::Spend;

/// How many entries each top list holds.
pub const TOP: usize = 10;
/// ISO weeks before the period the cost-per-merged-PR trend also shows.
pub const TREND_WEEKS_BEFORE: i64 = 4;

/// One entry of a top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlier {
    /// What it is: a short commit id, `repo#12`, `Name <email>`, a repository name.
    pub name: String,
    /// More about it: a commit's or a pull request's subject (empty for authors and
    /// repositories).
    pub detail: String,
    /// USD charged.
    pub cost: Money,
    /// Commits with spend in it.
    pub commits: u64,
    /// True when one of its charges has no USD price.
    pub unpriced: bool,
    /// Its cost in percent of the median of its list's population (all commits, pull
    /// requests, authors or repositories of the period with spend); `None` when the median
    /// is zero.
    pub percent_of_median: Option<u128>,
}

/// A period's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The period's first day (author dates).
    pub from: jiff::civil::Date,
    /// The period's last day.
    pub to: jiff::civil::Date,
    /// The period's length in days, rounded.
    pub days: i64,
    /// USD of the period.
    pub cost: Money,
    /// True when some charge of the period is unpriced.
    pub unpriced: bool,
    /// Other units of the period, never added to USD.
    pub units: BTreeMap<String, Money>,
    /// Commits of the period with spend.
    pub commits: u64,
    /// Repositories with spend in the period.
    pub repositories: u64,
    /// The costliest commits.
    pub top_commits: Vec<Outlier>,
    /// The costliest merged pull requests.
    pub top_prs: Vec<Outlier>,
    /// The authors who spent most.
    pub top_authors: Vec<Outlier>,
    /// The repositories that spent most.
    pub top_repositories: Vec<Outlier>,
    /// Pull requests merged in the period.
    pub prs: PrReport,
    /// Pull requests merged in the period of the same length just before it.
    pub previous_prs: PrReport,
    /// Cost per merged pull request per ISO week, from [`TREND_WEEKS_BEFORE`] weeks before
    /// the period to its end, oldest first.
    pub trend: Vec<crate::prs::PrWeek>,
}

impl Digest {
    /// The digest of the commits authored from `since` to `until` (seconds since the epoch,
    /// inclusive) in `ledger`, which must hold the commits from [`trend_start`] on (for the
    /// trend and the previous period).
    pub fn new(ledger: &Ledger, since: i64, until: i64) -> Digest {
        let period = ledger.kept(Filter {
            since: Some(since),
            until: Some(until),
        });
        let length = (until - since).max(0);
        let date = |seconds: i64| classify::local_date(seconds, 0);

        let mut total = Spend::default();
        for charge in &period.charges {
            total.add_charge(charge);
        }
        let commit_groups = group(&period, |index| {
            let commit = &period.commits[index];
            let short: String = commit.id.chars().take(7).collect();
            let name = if period.is_multi_repo() {
                format!("{}@{short}", commit.repo)
            } else {
                short
            };
            (name, commit.subject.clone())
        });
        let repositories = group(&period, |index| {
            (period.commits[index].repo.clone(), String::new())
        });
        // A pull request belongs to the period it was merged in, with all of its commits'
        // spend, whenever they were made.
        let all_prs = ledger.merged_prs();
        let prs = all_prs.merged_between(date(since), date(until));
        let pr_items: Vec<Outlier> = prs
            .items
            .iter()
            .map(|pr| Outlier {
                name: format!("{}#{}", pr.repo, pr.number),
                detail: ledger.commits[pr.commit].subject.clone(),
                cost: pr.cost,
                commits: pr.commits,
                unpriced: pr.unpriced,
                percent_of_median: None,
            })
            .collect();
        Digest {
            from: date(since),
            to: date(until),
            days: (length + 43_200) / 86_400,
            cost: total.usd,
            unpriced: total.unpriced > 0,
            units: total.units,
            commits: commit_groups.len() as u64,
            repositories: repositories.len() as u64,
            top_commits: top(commit_groups),
            top_prs: top(pr_items),
            top_authors: top(group(&period, |index| {
                (period.commits[index].author(), String::new())
            })),
            top_repositories: top(repositories),
            prs,
            previous_prs: all_prs.merged_between(date(since - length - 1), date(since - 1)),
            trend: all_prs
                .merged_between(date(trend_start(since)), date(until))
                .weeks,
        }
    }
}

/// How the digest is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Aligned plain text for a terminal.
    Text,
    /// Markdown for a chat channel or an issue.
    Markdown,
}

impl Digest {
    /// The digest as text or Markdown: headline, cost per merged pull request against the
    /// period before, the four top lists and the weekly trend.
    pub fn render(&self, style: Style) -> String {
        let md = style == Style::Markdown;
        let mut out = String::new();
        let title = format!("AI spend digest, {} to {}", self.from, self.to);
        if md {
            out.push_str(&format!("## {title}\n\n"));
        } else {
            out.push_str(&format!("{title}\n\n"));
        }
        let mut headline = format!(
            "{}{} USD{}{} in {} commit{}",
            if md { "**" } else { "" },
            self.cost.to_decimal(),
            if self.unpriced {
                " (some models unpriced)"
            } else {
                ""
            },
            if md { "**" } else { "" },
            self.commits,
            if self.commits == 1 { "" } else { "s" }
        );
        if self.repositories > 1 {
            headline.push_str(&format!(" across {} repositories", self.repositories));
        }
        if !self.units.is_empty() {
            let units: Vec<String> = self
                .units
                .iter()
                .map(|(unit, amount)| format!("{} {unit}", amount.to_decimal_trimmed()))
                .collect();
            headline.push_str(&format!(", and {} (never added to USD)", units.join(", ")));
        }
        out.push_str(&headline);
        out.push_str(".\n");
        out.push_str(&format!("{}.\n", self.per_pr_sentence()));

        let lists: [(&str, &[Outlier], &str); 4] = [
            ("Top commits", &self.top_commits, "commit"),
            ("Top pull requests", &self.top_prs, "pull request"),
            ("Top authors", &self.top_authors, "author"),
            ("Top repositories", &self.top_repositories, "repository"),
        ];
        for (title, items, what) in lists {
            if items.is_empty() {
                continue;
            }
            let with_detail = items.iter().any(|o| !o.detail.is_empty());
            let mut header = vec![what, "USD", "commits", "x median"];
            if with_detail {
                header.insert(1, "subject");
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|o| {
                    let mut row = vec![
                        o.name.clone(),
                        format!(
                            "{}{}",
                            o.cost.to_decimal(),
                            if o.unpriced { "+unpriced" } else { "" }
                        ),
                        o.commits.to_string(),
                        o.percent_of_median
                            .map_or("-".to_string(), |p| format!("{}.{}", p / 100, p % 100 / 10)),
                    ];
                    if with_detail {
                        row.insert(1, shorten(&o.detail, 60));
                    }
                    row
                })
                .collect();
            let text_columns = if with_detail { 2 } else { 1 };
            if md {
                out.push_str(&format!("\n### {title}\n\n"));
                out.push_str(&markdown_table(&header, text_columns, &rows));
            } else {
                out.push_str(&format!("\n{title}\n"));
                out.push_str(&text_table(&header, text_columns, &rows));
            }
        }
        if !self.trend.is_empty() {
            let header = ["week", "merged PRs", "USD", "USD per PR"];
            let rows: Vec<Vec<String>> = self
                .trend
                .iter()
                .map(|w| {
                    vec![
                        w.week.clone(),
                        w.merged.to_string(),
                        w.cost.to_decimal(),
                        w.cost_per_pr().to_decimal(),
                    ]
                })
                .collect();
            if md {
                out.push_str("\n### Cost per merged pull request by week\n\n");
                out.push_str(&markdown_table(&header, 1, &rows));
            } else {
                out.push_str("\nCost per merged pull request by week\n");
                out.push_str(&text_table(&header, 1, &rows));
            }
        }
        out
    }

    /// `Cost per merged pull request: 5.500000 USD over 2 (the 7 days before: 2.000000 USD
    /// over 1, +175%)`.
    pub fn per_pr_sentence(&self) -> String {
        let days = self.days;
        let now = &self.prs;
        let before = &self.previous_prs;
        if now.items.is_empty() {
            return format!(
                "No pull request was merged (the {days} days before: {})",
                merged_text(before)
            );
        }
        let mut text = format!(
            "Cost per merged pull request: {} USD over {} (the {days} days before: {}",
            now.cost_per_pr().to_decimal(),
            now.items.len(),
            merged_text(before),
        );
        let (a, b) = (now.cost_per_pr().0, before.cost_per_pr().0);
        if !before.items.is_empty() && b > 0 {
            let change = (i128::try_from(a).unwrap_or(i128::MAX)
                - i128::try_from(b).unwrap_or(i128::MAX))
                * 100
                / i128::try_from(b).unwrap_or(i128::MAX);
            text.push_str(&format!(", {change:+}%"));
        }
        text.push(')');
        text
    }
}

fn merged_text(prs: &PrReport) -> String {
    if prs.items.is_empty() {
        "none merged".to_string()
    } else {
        format!(
            "{} USD over {}",
            prs.cost_per_pr().to_decimal(),
            prs.items.len()
        )
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

fn text_table(header: &[&str], text_columns: usize, rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i < text_columns {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn markdown_table(header: &[&str], text_columns: usize, rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    for i in 0..header.len() {
        out.push_str(if i < text_columns { "---|" } else { "--:|" });
    }
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < text_columns {
                    crate::markdown::cell(c)
                } else {
                    c.clone()
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Where the ledger a digest of a period starting at `since` needs begins: the start of the
/// period of the same length before it, or [`TREND_WEEKS_BEFORE`] weeks before, whichever is
/// earlier (the trend's first ISO week is then whole, give or take a day).
pub fn trend_start(since: i64) -> i64 {
    since - (TREND_WEEKS_BEFORE + 1) * 7 * 86_400
}

/// The spend of each group of charged commits, keyed by `key(commit index)` = (name,
/// detail).
fn group(ledger: &Ledger, key: impl Fn(usize) -> (String, String)) -> Vec<Outlier> {
    let mut groups: BTreeMap<(String, String), (Spend, u64)> = BTreeMap::new();
    for (index, spend) in ledger.spend_by_commit() {
        let entry = groups.entry(key(index)).or_default();
        entry.0.add(&spend);
        entry.1 += 1;
    }
    groups
        .into_iter()
        .map(|((name, detail), (spend, commits))| Outlier {
            name,
            detail,
            cost: spend.usd,
            commits,
            unpriced: spend.unpriced > 0,
            percent_of_median: None,
        })
        .collect()
}

/// The [`TOP`] costliest, each with its cost in percent of the median of all of them.
fn top(mut items: Vec<Outlier>) -> Vec<Outlier> {
    let mut costs: Vec<Money> = items.iter().map(|o| o.cost).collect();
    costs.sort_unstable();
    let median = match costs.len() {
        0 => Money::ZERO,
        n if n % 2 == 1 => costs[n / 2],
        n => Money((costs[n / 2 - 1].0 + costs[n / 2].0) / 2),
    };
    items.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.name.cmp(&b.name)));
    items.truncate(TOP);
    for item in &mut items {
        item.percent_of_median = (median > Money::ZERO).then(|| item.cost.0 * 100 / median.0);
    }
    items
}

impl Ledger {
    /// The commits within `filter` (author dates) and their charges.
    pub fn kept(&self, filter: Filter) -> Ledger {
        let mut index_map: Vec<Option<usize>> = vec![None; self.commits.len()];
        let mut out = Ledger::default();
        for (old, commit) in self.commits.iter().enumerate() {
            if filter.keeps(commit.author_time) {
                index_map[old] = Some(out.commits.len());
                out.commits.push(commit.clone());
            }
        }
        out.charges = self
            .charges
            .iter()
            .filter_map(|charge| {
                let commit = index_map[charge.commit]?;
                Some(crate::ledger::Charge {
                    commit,
                    ..charge.clone()
                })
            })
            .collect();
        out.walked = self.walked;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Charge, CommitInfo};

    fn commit(id: char, author: &str, day: i64, pr: Option<u64>) -> CommitInfo {
        let mut info = CommitInfo::example(&format!("Change {id}"));
        info.id = id.to_string().repeat(40);
        info.author_name = author.to_string();
        info.author_email = format!("{}@example.com", author.to_lowercase());
        info.author_time = 1_796_083_200 + day * 86_400; // 2026-12-01 + day
        info.pr = pr;
        info
    }

    #[test]
    fn a_pull_request_belongs_to_the_period_it_was_merged_in_with_all_its_spend() {
        let mut ledger = Ledger::default();
        // Newest first, as a walk gives them: the squash-style merge commit today, then the
        // pull request's commits 2 and 10 days before.
        ledger.commits.push(commit('m', "Dana", 0, Some(7)));
        ledger.commits.push(commit('b', "Dana", -2, Some(7)));
        ledger
            .charges
            .push(Charge::example(1, "m", Some(1_000_000), &[]));
        ledger.commits.push(commit('a', "Dana", -10, Some(7)));
        ledger
            .charges
            .push(Charge::example(2, "m", Some(5_000_000), &[]));
        let until = 1_796_083_200 + 3_600;
        let digest = Digest::new(&ledger, until - 7 * 86_400, until);
        assert_eq!(digest.prs.items.len(), 1);
        assert_eq!(digest.prs.items[0].cost, Money::from_micros(6_000_000));
        assert!(digest.previous_prs.items.is_empty());
        assert_eq!(digest.top_prs[0].cost, Money::from_micros(6_000_000));
    }

    #[test]
    fn the_digest_ranks_outliers_and_compares_cost_per_pr_with_the_period_before() {
        let mut ledger = Ledger::default();
        // Period before (days -7..-1): one PR of 2 USD.
        ledger.commits.push(commit('a', "Dana", -3, Some(1)));
        ledger
            .charges
            .push(Charge::example(0, "m", Some(2_000_000), &[]));
        // Period (days 0..6): Dana 1 + 9 USD (PR 2), Lee 1 USD and 3 credits (PR 3).
        ledger.commits.push(commit('b', "Dana", 0, Some(2)));
        ledger
            .charges
            .push(Charge::example(1, "m", Some(1_000_000), &[]));
        ledger.commits.push(commit('c', "Dana", 1, Some(2)));
        ledger
            .charges
            .push(Charge::example(2, "m", Some(9_000_000), &[]));
        ledger.commits.push(commit('d', "Lee", 2, Some(3)));
        ledger.charges.push(Charge::example(
            3,
            "m",
            Some(1_000_000),
            &[("credits", 3_000_000)],
        ));
        let since = 1_796_083_200;
        let digest = Digest::new(&ledger, since, since + 7 * 86_400 - 1);
        assert_eq!(digest.cost, Money::from_micros(11_000_000));
        assert_eq!(digest.units["credits"], Money::from_micros(3_000_000));
        assert_eq!(digest.commits, 3);
        let names: Vec<(&str, u128)> = digest
            .top_commits
            .iter()
            .map(|o| (o.name.as_str(), o.cost.micros()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("ccccccc", 9_000_000),
                ("bbbbbbb", 1_000_000),
                ("ddddddd", 1_000_000)
            ]
        );
        // The median commit costs 1 USD: the top one is 9 times it.
        assert_eq!(digest.top_commits[0].percent_of_median, Some(900));
        let authors: Vec<(&str, u128, u64)> = digest
            .top_authors
            .iter()
            .map(|o| (o.name.as_str(), o.cost.micros(), o.commits))
            .collect();
        assert_eq!(
            authors,
            vec![
                ("Dana <dana@example.com>", 10_000_000, 2),
                ("Lee <lee@example.com>", 1_000_000, 1)
            ]
        );
        assert_eq!(digest.top_prs[0].name, "shop#2");
        assert_eq!(digest.prs.items.len(), 2);
        assert_eq!(digest.prs.cost_per_pr(), Money::from_micros(5_500_000));
        assert_eq!(digest.previous_prs.items.len(), 1);
        assert_eq!(
            digest.previous_prs.cost_per_pr(),
            Money::from_micros(2_000_000)
        );
        let weeks: Vec<(&str, u64)> = digest
            .trend
            .iter()
            .map(|w| (w.week.as_str(), w.merged))
            .collect();
        assert_eq!(weeks, vec![("2026-W48", 1), ("2026-W49", 2)]);
        assert_eq!(
            digest.per_pr_sentence(),
            "Cost per merged pull request: 5.500000 USD over 2 (the 7 days before: 2.000000 USD over 1, +175%)"
        );
        let markdown = digest.render(Style::Markdown);
        assert!(
            markdown.contains("| ccccccc | Change c | 9.000000 | 1 | 9.0 |"),
            "{markdown}"
        );
    }
}
