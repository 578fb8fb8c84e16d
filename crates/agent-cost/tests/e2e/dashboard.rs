//! `agent-cost report --html`: the dashboard rendered by real headless Chromium, and the DOM
//! its script built (SVG bars with the exact amounts, the Pareto marks, the PR trend, commit
//! links without credentials) read back with `--dump-dom`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::report::{trend, trend_in};

/// The DOM Chromium built from `page` once its scripts ran.
fn rendered_dom(env: &TestEnv, page: &Path) -> String {
    let chromium = ["/usr/bin/chromium", "chromium"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or_else(|| {
            panic!("chromium is not installed: run scripts/install-test-tools.sh (Debian's chromium package)")
        });
    let home = env.root.join("chromium-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = Command::new(chromium)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            &format!(
                "--user-data-dir={}",
                env.root.join("chromium-profile").display()
            ),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {:?}",
        output.status
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The element that starts with `start` and ends at the first `end` after it.
fn element<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in the DOM:\n{dom}"));
    let to = dom[from..].find(end).unwrap() + from + end.len();
    &dom[from..to]
}

/// The text of each element whose opening tag starts with `open` (e.g. `<text class="amount"`).
fn texts(html: &str, open: &str) -> Vec<String> {
    html.match_indices(open)
        .map(|(at, _)| {
            let rest = &html[at..];
            let start = rest.find('>').unwrap() + 1;
            let end = rest.find("</").unwrap();
            rest[start..end].to_string()
        })
        .collect()
}

fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    element(
        dom,
        &format!("<svg class=\"chart\" data-chart=\"{id}\""),
        "</svg>",
    )
}

fn write_dashboard(env: &TestEnv, repo: &Path, args: &[&str]) -> (PathBuf, String) {
    let page = env.root.join("out").join("spend.html");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    let mut all = vec!["report", "--html", page.to_str().unwrap()];
    all.extend(args);
    let said = env.agent_cost(repo, &all).stdout;
    (page, said)
}

#[test]
fn the_dashboard_draws_its_charts_in_chromium_with_exact_amounts_and_safe_links() {
    let env = TestEnv::new();
    let repo = trend(&env);
    let perf = env
        .git(&repo, &["rev-parse", "HEAD~2"])
        .stdout
        .trim()
        .to_string();
    let (page, said) = write_dashboard(&env, &repo, &[]);
    assert_eq!(
        said,
        format!(
            "wrote {}: HEAD, 6 commits with AI cost, 6.966668 USD\n",
            page.display()
        )
    );
    let source = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no stylesheet, script or font from anywhere.
    for outside in ["<link", "src=", "@import", "url("] {
        assert!(!source.contains(outside), "the page has `{outside}`");
    }
    // The subject's `</script>` cannot end the data island: only the two real ones do.
    assert_eq!(source.matches("</script>").count(), 2);
    assert!(!source.contains("ghp_secret") && !source.contains("dana:"));

    let dom = rendered_dom(&env, &page);
    assert!(
        dom.contains("<body data-rendered=\"true\">"),
        "the script did not run:\n{dom}"
    );

    // Spend by model, costliest first, with the exact amounts as labels.
    let model = chart(&dom, "model");
    assert_eq!(model.matches("<rect class=\"bar\"").count(), 4);
    assert_eq!(
        texts(model, "<text class=\"label\""),
        [
            "claude-opus-4-1",
            "gpt-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5"
        ]
    );
    assert_eq!(
        texts(model, "<text class=\"amount\""),
        ["5.000000", "1.200000", "0.433334", "0.333334"]
    );
    let agent = chart(&dom, "agent");
    assert_eq!(
        texts(agent, "<text class=\"amount\""),
        ["5.766668", "1.000000", "0.200000"]
    );
    // Authors by name; the title keeps the address.
    let author = chart(&dom, "author");
    assert_eq!(
        texts(author, "<text class=\"label\""),
        ["Dana Developer", "Sam Second"]
    );
    assert_eq!(
        texts(author, "<text class=\"amount\""),
        ["5.100001", "1.866667"]
    );
    assert!(author.contains(
        "<title>Dana Developer &lt;dana@example.com&gt;: 5.100001 USD, 2 commits</title>"
    ));
    let kind = chart(&dom, "type");
    assert_eq!(
        texts(kind, "<text class=\"label\""),
        ["other", "refac", "feat", "test", "fix"]
    );
    assert_eq!(
        texts(kind, "<text class=\"amount\""),
        ["5.000000", "1.000000", "0.433334", "0.333334", "0.200000"]
    );

    // Weeks, oldest first.
    let week = chart(&dom, "week");
    assert_eq!(week.matches("<rect class=\"bar\"").count(), 3);
    assert_eq!(
        texts(week, "<text class=\"axis\""),
        ["2026-W48", "2026-W49", "2026-W50"]
    );
    assert_eq!(
        texts(week, "<text class=\"amount\""),
        ["0.300001", "5.666667", "1.000000"]
    );

    // Cost per merged PR by week, its trend line and the whole range's average.
    let prs = chart(&dom, "prs");
    assert_eq!(prs.matches("<rect class=\"pr-bar\"").count(), 3);
    assert_eq!(
        texts(prs, "<text class=\"amount\""),
        ["0.150001", "0.333334", "1.000000"]
    );
    assert_eq!(
        texts(prs, "<text class=\"axis sublabel\""),
        ["2 PRs", "2 PRs", "1 PR"]
    );
    assert_eq!(prs.matches("<polyline class=\"trend\"").count(), 1);
    assert_eq!(prs.matches("<line class=\"average\"").count(), 1);
    assert!(dom.contains("5 merged pull requests: 0.393334 USD each on average, median 0.200000."));

    // The Pareto curve: 5.000000 of 6.966668 is 71.8 %, with 1.000000 86.1 %.
    let pareto = chart(&dom, "pareto");
    assert_eq!(pareto.matches("<polyline class=\"curve\"").count(), 1);
    assert_eq!(
        texts(pareto, "<text class=\"mark-label\""),
        [
            "50% of spend: 1 of 6 commits (17%)",
            "80% of spend: 2 of 6 commits (33%)"
        ]
    );
    let curve = element(pareto, "<polyline class=\"curve\"", ">");
    assert_eq!(curve.matches(',').count(), 7, "{curve}");

    // The header's totals, other units apart from USD.
    assert!(dom.contains(
        "<div class=\"card\" data-card=\"total\"><div class=\"label\">Total spend (USD)</div><div class=\"value\">6.966668</div>"
    ));
    assert!(dom.contains(
        "<div class=\"label\">Commits with AI cost</div><div class=\"value\">6</div><div class=\"note\">of 9 commits"
    ));
    assert!(dom.contains(
        "<div class=\"label\">Cost per merged PR (USD)</div><div class=\"value\">0.393334</div><div class=\"note\">5 merged · median 0.200000</div>"
    ));
    assert!(
        dom.contains("<div class=\"label\">premium-requests</div><div class=\"value\">40</div>")
    );

    // The costliest commits link to GitHub without the remote's credentials, the subject
    // escaped.
    let table = element(&dom, "<table class=\"outliers\"", "</table>");
    assert_eq!(table.matches("<tr>").count(), 7);
    let links: Vec<&str> = table
        .match_indices("href=\"")
        .map(|(at, _)| {
            let rest = &table[at + 6..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(links.len(), 6);
    assert_eq!(
        links[0],
        format!("https://github.com/acme/shop/commit/{perf}")
    );
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://github.com/acme/shop/commit/"))
    );
    assert!(table.contains(
        "<td class=\"subject\">perf: &lt;b&gt;fast&lt;/b&gt; &lt;/script&gt; &amp; \"quoted\"</td>"
    ));
    assert_eq!(
        texts(table, "<td class=\"num cost\""),
        [
            "5.000000", "1.000000", "0.333334", "0.333333", "0.200000", "0.100001"
        ]
    );
}

#[test]
fn the_dashboard_keeps_to_the_dates_and_shows_short_ids_without_a_forge_remote() {
    let env = TestEnv::new();
    let repo = trend(&env);
    env.git(&repo, &["remote", "set-url", "origin", "/srv/git/shop.git"]);
    let (page, said) = write_dashboard(
        &env,
        &repo,
        &["--since", "2026-12-02", "--until", "2026-12-07"],
    );
    // 2 to 7 December: the merge of #3 (its commits of 1 December are outside), the perf
    // commit and #4.
    assert!(
        said.ends_with(": HEAD, 1 commits with AI cost, 5.000000 USD\n"),
        "{said}"
    );
    let dom = rendered_dom(&env, &page);
    assert!(dom.contains("data-rendered=\"true\""));
    assert!(dom.contains("since 2026-12-02, until 2026-12-07"));
    let week = chart(&dom, "week");
    assert_eq!(texts(week, "<text class=\"amount\""), ["5.000000"]);
    assert_eq!(texts(week, "<text class=\"axis\""), ["2026-W49"]);
    // #3 and #4 merged in W49, neither with spend inside the dates.
    let prs = chart(&dom, "prs");
    assert_eq!(texts(prs, "<text class=\"amount\""), ["0.000000"]);
    assert_eq!(texts(prs, "<text class=\"axis sublabel\""), ["2 PRs"]);
    let table = element(&dom, "<table class=\"outliers\"", "</table>");
    assert!(!table.contains("href="));
    let perf = env.git(&repo, &["rev-parse", "HEAD~2"]).stdout;
    assert!(table.contains(&format!("<span class=\"sha\">{}</span>", &perf[..10])));
    assert_eq!(texts(table, "<td class=\"num cost\""), ["5.000000"]);

    let nowhere = env.root.join("no-such-dir").join("spend.html");
    let failed = env.output(
        BIN,
        &repo,
        &["report", "--html", nowhere.to_str().unwrap()],
        &[],
    );
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains(&format!("cannot write {}", nowhere.display())),
        "{stderr}"
    );
    let both = env.output(BIN, &repo, &["report", "--html", "x.html", "--json"], &[]);
    assert!(!both.status.success());
    assert!(!repo.join("x.html").exists());
}

#[test]
fn over_two_repositories_pull_requests_are_per_repository_and_commits_link_to_their_own() {
    let env = TestEnv::new();
    let shop = trend_in(&env, "shop", "https://ci:glpat-x@github.com/acme/shop.git");
    let api = trend_in(&env, "api", "git@gitlab.com:acme/api.git");
    let scope = [
        "--repo",
        shop.to_str().unwrap(),
        "--repo",
        api.to_str().unwrap(),
    ];
    let mut args = vec!["report", "--prs"];
    args.extend(scope);
    let report = env.agent_cost_json(&env.root, &args);
    let prs = &report["prs"];
    // #1 to #5 in each: ten pull requests, 2 × 1.966668 = 3.933336, 0.3933336 → 0.393334.
    assert_eq!(prs["merged"], 10);
    assert_eq!(prs["cost_micro_usd"], 3_933_336);
    assert_eq!(prs["cost_per_pr_usd"], "0.393334");
    let items: Vec<(String, u64)> = prs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["repo"].as_str().unwrap().to_string(),
                i["pr"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0], ("shop".to_string(), 5));
    assert_eq!(items[5], ("api".to_string(), 5));

    let (page, said) = write_dashboard(&env, &env.root, &scope);
    assert!(
        said.ends_with(": HEAD, 12 commits with AI cost, 13.933336 USD\n"),
        "{said}"
    );
    let source = std::fs::read_to_string(&page).unwrap();
    assert!(!source.contains("glpat-x") && !source.contains("ci:"));
    let dom = rendered_dom(&env, &page);
    let table = element(&dom, "<table class=\"outliers\"", "</table>");
    assert_eq!(table.matches("<tr>").count(), 13);
    let perf = |repo: &Path| {
        env.git(repo, &["rev-parse", "HEAD~2"])
            .stdout
            .trim()
            .to_string()
    };
    for (repo, link) in [
        (
            &shop,
            format!("https://github.com/acme/shop/commit/{}", perf(&shop)),
        ),
        (
            &api,
            format!("https://gitlab.com/acme/api/commit/{}", perf(&api)),
        ),
    ] {
        let name = repo.file_name().unwrap().to_str().unwrap();
        assert!(
            table.contains(&format!(
                "<span class=\"repo\">{name}</span> <a class=\"sha\" href=\"{link}\">"
            )),
            "{table}"
        );
    }
    assert_eq!(
        texts(chart(&dom, "prs"), "<text class=\"amount\""),
        ["0.150001", "0.333334", "1.000000"]
    );
    assert_eq!(
        texts(chart(&dom, "prs"), "<text class=\"axis sublabel\""),
        ["4 PRs", "4 PRs", "2 PRs"]
    );
}
