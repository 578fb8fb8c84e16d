//! The HTML dashboard: one self-contained page (inline CSS, an inline script that draws SVG
//! charts from a JSON data island, no network) with the spend of a ledger by model, agent,
//! author, type and week, cost per merged pull request by week, the Pareto curve of spend
//! over commits, and the costliest commits linked to the repository's web pages.
//!
//! Every amount shown is a decimal string made here from integers; the script only lays
//! them out. Text put into the page is HTML-escaped, and the data island escapes `<`, `>`
//! and `&` so that no subject can close its `<script>`.

use std::collections::{BTreeMap, HashMap};

use agent_cost_events::Money;
use serde_json::{Value, json};

use crate::ledger::Ledger;
use crate::pareto::pareto;
use crate::table::{Key, Row};

const TEMPLATE: &str = include_str!("dashboard.html");

/// Bars a chart by name shows before the rest are summed into one.
const MOST_BARS: usize = 12;
/// Commits in the table of outliers.
const OUTLIERS: usize = 20;
/// Points of the Pareto curve at most (evenly spaced over the commits).
const PARETO_POINTS: usize = 400;

/// What the dashboard says about where its data came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dashboard {
    /// The revision range walked (`HEAD`, `main..feature`).
    pub range: String,
    /// `--since` as given.
    pub since: Option<String>,
    /// `--until` as given.
    pub until: Option<String>,
    /// Each repository's web address (see [`web_url`]) by its name
    /// ([`crate::CommitInfo::repo`]); its commits link to `<web>/commit/<id>`.
    pub web_urls: BTreeMap<String, String>,
}

/// The web address of a GitHub or GitLab remote URL (`https://github.com/o/r.git`,
/// `git@github.com:o/r.git`, `ssh://git@gitlab.example.com:2222/g/r`), without credentials,
/// port, query or `.git`: `https://github.com/o/r`. `None` for any other remote.
pub fn web_url(remote: &str) -> Option<String> {
    let remote = remote.trim();
    let (authority, path) = if let Some(rest) = remote
        .strip_prefix("https://")
        .or_else(|| remote.strip_prefix("http://"))
        .or_else(|| remote.strip_prefix("ssh://"))
        .or_else(|| remote.strip_prefix("git+ssh://"))
    {
        rest.split_once('/')?
    } else if !remote.contains("://") {
        remote.split_once(':')?
    } else {
        return None;
    };
    let host_and_port = authority.rsplit('@').next()?;
    let host = host_and_port
        .split(':')
        .next()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let forge = host == "github.com"
        || host == "gitlab.com"
        || host.starts_with("github.")
        || host.starts_with("gitlab.");
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !forge || !host_ok {
        return None;
    }
    let path = path.split(['?', '#']).next()?.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    let segment_ok = |s: &&str| {
        !s.is_empty()
            && *s != "."
            && *s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~'))
    };
    if segments.len() < 2 || !segments.iter().all(segment_ok) {
        return None;
    }
    Some(format!("https://{host}/{}", segments.join("/")))
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">`: `<`, `>` and `&` as `\u003c`, `\u003e`,
/// `\u0026` (they only occur inside strings), so the text cannot end the element.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn micros(money: Money) -> u64 {
    u64::try_from(money.micros()).unwrap_or(u64::MAX)
}

fn money_json(money: Money) -> (String, u64) {
    (money.to_decimal(), micros(money))
}

/// The bars of a chart by one key: the costliest first, the rest summed into one bar.
fn bars_by(ledger: &Ledger, key: Key) -> Vec<Value> {
    let table = ledger.table(&[key]);
    let rows: Vec<&Row> = table.rows.iter().filter(|r| r.cost > Money::ZERO).collect();
    let mut bars: Vec<Value> = rows
        .iter()
        .take(MOST_BARS)
        .map(|row| {
            let mut value = bar(&row.key[0], row.cost, row.commits);
            if key == Key::Author {
                let name = row.key[0].split(" <").next().unwrap_or_default();
                value["full"] = json!(row.key[0]);
                value["label"] = json!(name);
            }
            value
        })
        .collect();
    if rows.len() > MOST_BARS {
        let rest = &rows[MOST_BARS..];
        let cost: Money = rest.iter().map(|r| r.cost).sum();
        let commits = rest.iter().map(|r| r.commits).sum();
        let mut others = bar(&format!("{} more", rest.len()), cost, commits);
        others["rest"] = json!(true);
        bars.push(others);
    }
    bars
}

fn bar(label: &str, cost: Money, commits: u64) -> Value {
    let (usd, micro) = money_json(cost);
    json!({"label": label, "cost_usd": usd, "cost_micro_usd": micro, "commits": commits})
}

/// Spend per ISO week, oldest first.
fn week_bars(ledger: &Ledger) -> Vec<Value> {
    let mut rows = ledger.table(&[Key::Week]).rows;
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows.iter()
        .map(|row| bar(&row.key[0], row.cost, row.commits))
        .collect()
}

fn pr_json(ledger: &Ledger) -> Value {
    let report = ledger.merged_prs();
    let (per_pr, per_pr_micro) = money_json(report.cost_per_pr());
    let (median, median_micro) = money_json(report.median());
    let weeks: Vec<Value> = report
        .weeks
        .iter()
        .map(|week| {
            let (cost, cost_micro) = money_json(week.cost);
            let (per, per_micro) = money_json(week.cost_per_pr());
            json!({
                "week": week.week,
                "merged": week.merged,
                "cost_usd": cost,
                "cost_micro_usd": cost_micro,
                "cost_per_pr_usd": per,
                "cost_per_pr_micro_usd": per_micro,
            })
        })
        .collect();
    json!({
        "merged": report.items.len(),
        "cost_per_pr_usd": per_pr,
        "cost_per_pr_micro_usd": per_pr_micro,
        "median_usd": median,
        "median_micro_usd": median_micro,
        "weeks": weeks,
    })
}

/// The Pareto curve: commits by cost, costliest first, as (commits so far, micro-dollars so
/// far) at evenly spaced counts, and the 50 % and 80 % marks of [`pareto`].
fn pareto_json(costs: &[(usize, Money)]) -> Value {
    let items: Vec<(String, Money)> = costs.iter().map(|(i, c)| (i.to_string(), *c)).collect();
    let shares = pareto(items);
    let mut sorted: Vec<u64> = costs
        .iter()
        .map(|(_, c)| micros(*c))
        .filter(|&m| m > 0)
        .collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let n = sorted.len();
    let step = n.div_ceil(PARETO_POINTS).max(1);
    let mut points = vec![json!([0, 0])];
    let mut running = 0u64;
    for (i, cost) in sorted.iter().enumerate() {
        running = running.saturating_add(*cost);
        if (i + 1) % step == 0 || i + 1 == n {
            points.push(json!([i + 1, running]));
        }
    }
    json!({
        "commits": n,
        "total_micro_usd": running,
        "points": points,
        "marks": shares.iter().map(|s| json!({
            "percent": s.percent,
            "items": s.items,
            "of": s.of,
            "items_percent": s.items_percent(),
        })).collect::<Vec<_>>(),
    })
}

/// The page for `ledger`.
pub fn render(ledger: &Ledger, dashboard: &Dashboard) -> String {
    let total = ledger.table(&[]).total;
    let by_commit: HashMap<usize, Money> = ledger.cost_by_commit();
    let mut costs: Vec<(usize, Money)> = by_commit.into_iter().collect();
    costs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let prs = pr_json(ledger);
    let data = json!({
        "range": dashboard.range,
        "charts": [
            {"id": "model", "title": "Spend by model", "bars": bars_by(ledger, Key::Model)},
            {"id": "agent", "title": "Spend by agent", "bars": bars_by(ledger, Key::Agent)},
            {"id": "author", "title": "Spend by author", "bars": bars_by(ledger, Key::Author)},
            {"id": "type", "title": "Spend by type", "bars": bars_by(ledger, Key::Type)},
        ],
        "weeks": week_bars(ledger),
        "prs": prs,
        "pareto": pareto_json(&costs),
    });
    let values = BTreeMap::from([
        (
            "title",
            escape_html(&format!("AI spend · {}", dashboard.range)),
        ),
        ("header", header_html(ledger, dashboard, &total, &prs)),
        ("outliers", outliers_html(ledger, dashboard, &costs)),
        ("data", script_json(&data)),
    ]);
    fill(TEMPLATE, &values)
}

/// The template with each `{{name}}` replaced by its value; values are not scanned again.
fn fill(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) if values.contains_key(&after[..close]) => {
                out.push_str(&values[&after[..close]]);
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn header_html(ledger: &Ledger, dashboard: &Dashboard, total: &Row, prs: &Value) -> String {
    let mut period = Vec::new();
    if let Some(since) = &dashboard.since {
        period.push(format!("since {since}"));
    }
    if let Some(until) = &dashboard.until {
        period.push(format!("until {until}"));
    }
    let period = if period.is_empty() {
        String::new()
    } else {
        format!(" · {}", period.join(", "))
    };
    let mut cards = vec![
        card(
            "total",
            "Total spend (USD)",
            &format!(
                "{}{}",
                total.cost.to_decimal(),
                if total.unpriced { "+" } else { "" }
            ),
            if total.unpriced {
                "some models have no known price: a lower bound"
            } else {
                "each drain counted once"
            },
        ),
        card(
            "commits",
            "Commits with AI cost",
            &total.commits.to_string(),
            &format!(
                "of {} commits · {} per commit",
                ledger.commits.len(),
                total.cost_per_commit().to_decimal()
            ),
        ),
        card(
            "per-pr",
            "Cost per merged PR (USD)",
            prs["cost_per_pr_usd"].as_str().unwrap_or_default(),
            &format!(
                "{} merged · median {}",
                prs["merged"],
                prs["median_usd"].as_str().unwrap_or_default()
            ),
        ),
    ];
    for (unit, amount) in &total.units {
        cards.push(card(
            "unit",
            unit,
            &amount.to_decimal_trimmed(),
            "billed in this unit, not added to USD",
        ));
    }
    format!(
        "<h1>AI spend <span class=\"range\">{}</span></h1>\n<p class=\"period\">{} commits in the range{}</p>\n<div class=\"cards\">\n{}</div>",
        escape_html(&dashboard.range),
        ledger.commits.len(),
        escape_html(&period),
        cards.concat()
    )
}

fn card(id: &str, label: &str, value: &str, note: &str) -> String {
    format!(
        "<div class=\"card\" data-card=\"{}\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"note\">{}</div></div>\n",
        escape_html(id),
        escape_html(label),
        escape_html(value),
        escape_html(note)
    )
}

fn outliers_html(ledger: &Ledger, dashboard: &Dashboard, costs: &[(usize, Money)]) -> String {
    let mut rows = String::new();
    for (rank, (index, cost)) in costs
        .iter()
        .filter(|(_, c)| *c > Money::ZERO)
        .take(OUTLIERS)
        .enumerate()
    {
        let commit = &ledger.commits[*index];
        let short = escape_html(&commit.id[..10.min(commit.id.len())]);
        let repo = if ledger.is_multi_repo() {
            format!("<span class=\"repo\">{}</span> ", escape_html(&commit.repo))
        } else {
            String::new()
        };
        let sha = match dashboard.web_urls.get(&commit.repo) {
            Some(web) => format!(
                "<a class=\"sha\" href=\"{}\">{short}</a>",
                escape_html(&format!("{web}/commit/{}", commit.id))
            ),
            None => format!("<span class=\"sha\">{short}</span>"),
        };
        let mut models: Vec<&str> = Vec::new();
        for charge in ledger.charges.iter().filter(|c| c.commit == *index) {
            if !models.contains(&charge.model.as_str()) {
                models.push(&charge.model);
            }
        }
        rows.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td>{repo}{sha}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"subject\">{}</td><td>{}</td><td class=\"num cost\">{}</td></tr>\n",
            rank + 1,
            commit.date(),
            escape_html(&commit.author_email),
            escape_html(&commit.author_name),
            escape_html(&commit.subject),
            escape_html(&models.join(", ")),
            cost.to_decimal(),
        ));
    }
    if rows.is_empty() {
        return "<p class=\"empty\">No commit in the range carries AI cost.</p>".to_string();
    }
    format!(
        "<table class=\"outliers\"><thead><tr><th class=\"num\">#</th><th>commit</th><th>date</th><th>author</th><th>subject</th><th>models</th><th class=\"num\">USD</th></tr></thead>\n<tbody>\n{rows}</tbody></table>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Charge, CommitInfo};

    #[test]
    fn web_urls_of_github_and_gitlab_remotes_without_credentials() {
        for (remote, web) in [
            (
                "https://github.com/acme/shop.git",
                Some("https://github.com/acme/shop"),
            ),
            (
                "https://user:ghp_secret@github.com/acme/shop.git",
                Some("https://github.com/acme/shop"),
            ),
            (
                "git@github.com:acme/shop.git",
                Some("https://github.com/acme/shop"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/sub/shop.git/",
                Some("https://gitlab.example.com/group/sub/shop"),
            ),
            (
                "https://oauth2:tok@GitLab.com/g/r?x=1",
                Some("https://gitlab.com/g/r"),
            ),
            ("https://bitbucket.org/acme/shop.git", None),
            ("/srv/git/shop.git", None),
            ("file:///srv/git/shop.git", None),
            ("https://github.com/acme", None),
            ("https://github.com/acme/sh\"op", None),
            ("https://github.com/../x", None),
        ] {
            assert_eq!(web_url(remote).as_deref(), web, "{remote}");
        }
    }

    #[test]
    fn text_is_escaped_and_the_data_island_cannot_be_closed() {
        assert_eq!(
            escape_html("<b>\"Tom\" & 'Jerry'</b>"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        let json = script_json(&json!({"s": "</script><b>&"}));
        assert_eq!(json, r#"{"s":"\u003c/script\u003e\u003cb\u003e\u0026"}"#);
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["s"], "</script><b>&");
        let values = BTreeMap::from([("a", "{{b}}".to_string()), ("b", "x".to_string())]);
        assert_eq!(fill("[{{a}}|{{b}}|{{c}}]", &values), "[{{b}}|x|{{c}}]");
    }

    fn ledger(subject: &str) -> Ledger {
        let commit = CommitInfo {
            id: "0123456789abcdef0123456789abcdef01234567".to_string(),
            author_name: "Dana <script>".to_string(),
            ..CommitInfo::example(subject)
        };
        Ledger {
            commits: vec![commit],
            charges: vec![Charge {
                commit: 0,
                agent: "claude-code".to_string(),
                model: "claude-opus-4-1".to_string(),
                requests: 1,
                tokens: [0; 4],
                cost: Some(Money::from_micros(1_234_567)),
                units: BTreeMap::from([("credits".to_string(), Money::from_micros(3_500_000))]),
                work_type: None,
            }],
            ..Ledger::default()
        }
    }

    #[test]
    fn the_page_holds_escaped_text_linked_commits_and_exact_amounts() {
        let page = render(
            &ledger("fix: </script><img src=x onerror=alert(1)> (#7)"),
            &Dashboard {
                range: "HEAD".to_string(),
                since: Some("2026-11-01".to_string()),
                until: None,
                web_urls: BTreeMap::from([(
                    "shop".to_string(),
                    "https://github.com/acme/shop".to_string(),
                )]),
            },
        );
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        assert!(!page.contains("<img"));
        assert!(page.contains("Dana &lt;script&gt;"));
        assert!(page.contains(
            "<a class=\"sha\" href=\"https://github.com/acme/shop/commit/0123456789abcdef0123456789abcdef01234567\">0123456789</a>"
        ));
        assert!(page.contains("<div class=\"value\">1.234567</div>"));
        assert!(page.contains("<div class=\"label\">credits</div><div class=\"value\">3.5</div>"));
        assert!(page.contains("since 2026-11-01"));
        assert!(page.contains("\"cost_per_pr_usd\":\"1.234567\""));
        assert!(
            !page.contains("<link") && !page.contains("src=\"http") && !page.contains("@import")
        );
        let unlinked = render(&ledger("feat: x"), &Dashboard::default());
        assert!(unlinked.contains("<span class=\"sha\">0123456789</span>"));
        assert!(!unlinked.contains("href="));
    }
}
