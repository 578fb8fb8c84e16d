//! `agent-cost report`, `tail` and `export` over a repository whose commits, hand-written
//! trailer blocks, authors (two emails merged by `.mailmap`), types, tickets, pull requests (a
//! true merge and a squash whose body repeats its commits' blocks) and dates are all fixed.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::*;

const DANA: (&str, &str) = ("Dana Developer", "dana@example.com");
/// Dana's old address, mapped to `DANA` by the repository's `.mailmap`.
const DANA_OLD: (&str, &str) = ("Dana D", "dana@old.example.com");
const SAM: (&str, &str) = ("Sam Second", "sam@example.com");

/// 0.412345 USD: claude-code, haiku 0.011111 + sonnet 0.401234.
const B1: &str = "AI-Agent: claude-code sessions=2 cost=0.412345
AI-Model: claude-haiku-4-5 agent=claude-code cost=0.011111
AI-Tokens: req=3 in=300 out=900 cw=0 cr=0
AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.401234
AI-Tokens: req=14 in=1200 out=6800 cw=4000 cr=120000
AI-Cost-Estimate: 0.412345 USD
AI-Cost-Id: 1111111111111111";

/// 0.050000 USD: codex gpt-5.
const B2: &str = "AI-Agent: codex sessions=1 cost=0.050000
AI-Model: gpt-5 agent=codex cost=0.050000
AI-Tokens: req=2 in=100 out=200 cw=0 cr=50
AI-Cost-Estimate: 0.050000 USD
AI-Cost-Id: 2222222222222222";

/// 0.480000 USD estimate of 12 premium requests: copilot gpt-5.
const B3: &str = "AI-Agent: copilot sessions=1 cost=0.480000
AI-Model: gpt-5 agent=copilot cost=0.480000
AI-Tokens: req=12 in=0 out=0 cw=0 cr=0
AI-Quantity: 12 premium-requests
AI-Cost-Estimate: 0.480000 USD
AI-Cost-Estimate: 12 premium-requests
AI-Cost-Id: 3333333333333333";

/// 0.052000 USD estimate of 3.5 credits: kiro.
const B4: &str = "AI-Agent: kiro sessions=1 cost=0.052000
AI-Model: claude-sonnet-4-5 agent=kiro cost=0.052000
AI-Tokens: req=3 in=0 out=0 cw=0 cr=0
AI-Quantity: 3.5 credits
AI-Cost-Estimate: 0.052000 USD
AI-Cost-Estimate: 3.5 credits
AI-Cost-Id: 4444444444444444";

/// 0.200000 USD: claude-code sonnet.
const B5: &str = "AI-Agent: claude-code sessions=1 cost=0.200000
AI-Model: claude-sonnet-4-5 agent=claude-code cost=0.200000
AI-Tokens: req=5 in=10 out=20 cw=30 cr=40
AI-Cost-Estimate: 0.200000 USD
AI-Cost-Id: 5555555555555555";

/// 1.000000 USD: claude-code opus.
const B6: &str = "AI-Agent: claude-code sessions=1 cost=1.000000
AI-Model: claude-opus-4-1 agent=claude-code cost=1.000000
AI-Tokens: req=1 in=1 out=2 cw=3 cr=4
AI-Cost-Estimate: 1.000000 USD
AI-Cost-Id: 6666666666666666";

/// Runs git with a fixed author and author/committer date.
fn git_as(env: &TestEnv, repo: &Path, args: &[&str], who: (&str, &str), date: &str) {
    env.git_env(
        repo,
        args,
        &[
            ("GIT_AUTHOR_NAME", who.0),
            ("GIT_AUTHOR_EMAIL", who.1),
            ("GIT_AUTHOR_DATE", date),
            ("GIT_COMMITTER_DATE", date),
        ],
    );
}

/// Writes each file with that many lines (`name 1`, `name 2`, …), stages them and commits
/// `message` exactly.
fn commit_as(
    env: &TestEnv,
    repo: &Path,
    files: &[(&str, usize)],
    message: &str,
    who: (&str, &str),
    date: &str,
) {
    for (file, lines) in files {
        let text: String = (1..=*lines).map(|i| format!("{file} {i}\n")).collect();
        std::fs::write(repo.join(file), text).unwrap();
        env.git(repo, &["add", file]);
    }
    let message_file = env.root.join("message.txt");
    std::fs::write(&message_file, message).unwrap();
    git_as(
        env,
        repo,
        &["commit", "-q", "-F", message_file.to_str().unwrap()],
        who,
        date,
    );
}

/// The repository: on `main`, a `.mailmap`, `fix:` (B2, Dana's old address) and `feat:` (B1)
/// commits naming SHOP-42; pull request #12 from `x/y` (Sam's `docs:` B3 in premium requests
/// and `test: … OPS-7` B4 in credits) merged by `Merge pull request #12 from x/y`; branch
/// `thing` (B5, B6) squashed into `Add thing (#13)`, whose body repeats B5 and B6 as GitHub
/// writes it, then `thing` merged too (so both copies are in main's history); a last commit
/// without spend.
fn shop(env: &TestEnv) -> PathBuf {
    let repo = env.repo("shop");
    std::fs::write(
        repo.join(".mailmap"),
        "Dana Developer <dana@example.com> <dana@old.example.com>\n",
    )
    .unwrap();
    env.git(&repo, &["add", ".mailmap"]);
    git_as(
        env,
        &repo,
        &["commit", "-q", "-m", "chore: add mailmap"],
        DANA,
        "2026-11-02T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("round.txt", 4)],
        &format!("fix: SHOP-42 rounding of totals\n\n{B2}\n"),
        DANA_OLD,
        "2026-11-24T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("cart.txt", 30), ("round.txt", 2)],
        &format!("feat(cart): add cart total\n\nPart of SHOP-42.\n\n{B1}\n"),
        DANA,
        "2026-11-30T10:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "-b", "x/y"]);
    commit_as(
        env,
        &repo,
        &[("docs.txt", 12)],
        &format!("docs: explain totals\n\n{B3}\n"),
        SAM,
        "2026-12-01T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("tests.txt", 20)],
        &format!("test: cover totals OPS-7\n\n{B4}\n"),
        SAM,
        "2026-12-01T10:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    git_as(
        env,
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #12 from x/y",
            "x/y",
        ],
        DANA,
        "2026-12-02T08:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "-b", "thing"]);
    commit_as(
        env,
        &repo,
        &[("split.txt", 50)],
        &format!("refactor: split cart\n\n{B5}\n"),
        DANA,
        "2026-12-02T10:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("thing.txt", 10)],
        &format!("feat: thing SHOP-77\n\n{B6}\n"),
        SAM,
        "2026-12-02T11:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    commit_as(
        env,
        &repo,
        &[("split.txt", 50), ("thing.txt", 10)],
        &format!(
            "Add thing (#13)\n\n* refactor: split cart\n\n{B5}\n\n* feat: thing SHOP-77\n\n{B6}\n\n\
             ---------\n\nCo-authored-by: Sam Second <sam@example.com>\n"
        ),
        DANA,
        "2026-12-03T09:00:00Z",
    );
    git_as(
        env,
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'thing'",
            "thing",
        ],
        DANA,
        "2026-12-03T12:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("README.md", 3)],
        "Update readme\n",
        DANA,
        "2026-12-04T12:00:00Z",
    );
    repo
}

fn id(env: &TestEnv, repo: &Path, rev: &str) -> String {
    env.git(repo, &["rev-parse", rev]).stdout.trim().to_string()
}

#[test]
fn report_by_model_is_the_default_and_counts_each_drain_once() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let out = env.agent_cost(&repo, &["report"]).stdout;
    assert_eq!(
        out,
        "\
HEAD: 12 commits, 5 with AI cost
(not counted again: 2 copies of drains already counted, 0 drains replaced by an amended one)
model              commits  cost (USD)  per commit  added  removed  per line  credits  premium-requests  requests  input  output  cache-write  cache-read
claude-opus-4-1          1    1.000000    1.000000     60        0  0.016667        0                 0         1      1       2            3           4
claude-sonnet-4-5        3    0.653234    0.217745    110        2  0.005832      3.5                 0        22   1210    6820         4030      120040
gpt-5                    2    0.530000    0.265000     16        0  0.033125        0                12        14    100     200            0          50
claude-haiku-4-5         1    0.011111    0.011111     30        2  0.000347        0                 0         3    300     900            0           0
total                    5    2.194345    0.438869    126        2  0.017143      3.5                12        40   1611    7922         4033      120094
"
    );
    // The same USD total as `trailers sum`, which counts by the same rule.
    let sum = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&sum["cost_usd"]), 2_194_345);
    assert_eq!(sum["duplicate_blocks"], 2);
}

#[test]
fn report_by_pr_in_json_takes_true_merges_and_squash_subjects() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let report = env.agent_cost_json(&repo, &["report", "--by", "pr"]);
    let tokens = |input: u64, output: u64, cache_write: u64, cache_read: u64| json!({"input": input, "output": output, "cache_write": cache_write, "cache_read": cache_read});
    assert_eq!(
        report,
        json!({
                   "range": "HEAD",
                   "since": null,
                   "until": null,
                   "keys": ["pr"],
                   "commits": 12,
                   "commits_with_cost": 5,
                   "duplicate_blocks": 2,
                   "replaced_blocks": 0,
                   "malformed_blocks": 0,
                   "rows": [
                       {
                           "commits": 1,
                           "cost_usd": "1.200000",
                           "cost_micro_usd": 1_200_000,
                           "cost_per_commit_usd": "1.200000",
                           "unpriced": false,
                           "units": [],
                           "requests": 6,
                           "tokens": tokens(11, 22, 33, 44),
        "lines_added": 60,
        "lines_removed": 0,
        "cost_per_line_usd": "0.020000",
                           "key": {"pr": "#13"},
                       },
                       {
                           "commits": 2,
                           "cost_usd": "0.532000",
                           "cost_micro_usd": 532_000,
                           "cost_per_commit_usd": "0.266000",
                           "unpriced": false,
                           "units": [
                               {"unit": "credits", "amount": "3.5", "amount_micro": 3_500_000},
                               {"unit": "premium-requests", "amount": "12", "amount_micro": 12_000_000},
                           ],
                           "requests": 15,
                           "tokens": tokens(0, 0, 0, 0),
        "lines_added": 32,
        "lines_removed": 0,
        "cost_per_line_usd": "0.016625",
                           "key": {"pr": "#12"},
                       },
                       {
                           "commits": 2,
                           "cost_usd": "0.462345",
                           "cost_micro_usd": 462_345,
                           "cost_per_commit_usd": "0.231173",
                           "unpriced": false,
                           "units": [],
                           "requests": 19,
                           "tokens": tokens(1600, 7900, 4000, 120_050),
        "lines_added": 34,
        "lines_removed": 2,
        "cost_per_line_usd": "0.012843",
                           "key": {"pr": "none"},
                       },
                   ],
                   "total": {
                       "commits": 5,
                       "cost_usd": "2.194345",
                       "cost_micro_usd": 2_194_345,
                       "cost_per_commit_usd": "0.438869",
                       "unpriced": false,
                       "units": [
                           {"unit": "credits", "amount": "3.5", "amount_micro": 3_500_000},
                           {"unit": "premium-requests", "amount": "12", "amount_micro": 12_000_000},
                       ],
                       "requests": 40,
                       "tokens": tokens(1611, 7922, 4033, 120_094),
        "lines_added": 126,
        "lines_removed": 2,
        "cost_per_line_usd": "0.017143",
                   },
               })
    );
}

/// `(key, commits, cost_usd)` of each row of `report --json`, the total last.
fn rows(env: &TestEnv, repo: &Path, args: &[&str]) -> Vec<(String, u64, String)> {
    let mut args = args.to_vec();
    args.insert(0, "report");
    let report = env.agent_cost_json(repo, &args);
    let mut rows: Vec<(String, u64, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let key: Vec<&str> = row["key"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_str().unwrap())
                .collect();
            (
                key.join(" / "),
                row["commits"].as_u64().unwrap(),
                row["cost_usd"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let total = &report["total"];
    rows.push((
        "total".to_string(),
        total["commits"].as_u64().unwrap(),
        total["cost_usd"].as_str().unwrap().to_string(),
    ));
    rows
}

fn row(key: &str, commits: u64, cost: &str) -> (String, u64, String) {
    (key.to_string(), commits, cost.to_string())
}

#[test]
fn report_by_author_type_ticket_week_and_agent() {
    let env = TestEnv::new();
    let repo = shop(&env);
    // `.mailmap` makes Dana's old address hers.
    assert_eq!(
        rows(&env, &repo, &["--by", "author"]),
        vec![
            row("Dana Developer <dana@example.com>", 3, "1.662345"),
            row("Sam Second <sam@example.com>", 2, "0.532000"),
            row("total", 5, "2.194345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "type"]),
        vec![
            row("other", 1, "1.200000"),
            row("doc", 1, "0.480000"),
            row("feat", 1, "0.412345"),
            row("test", 1, "0.052000"),
            row("fix", 1, "0.050000"),
            row("total", 5, "2.194345"),
        ]
    );
    // SHOP-77 is named in the squash commit's body (by the squashed commit's subject).
    assert_eq!(
        rows(&env, &repo, &["--by", "ticket"]),
        vec![
            row("SHOP-77", 1, "1.200000"),
            row("none", 1, "0.480000"),
            row("SHOP-42", 2, "0.462345"),
            row("OPS-7", 1, "0.052000"),
            row("total", 5, "2.194345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "week"]),
        vec![
            row("2026-W49", 4, "2.144345"),
            row("2026-W48", 1, "0.050000"),
            row("total", 5, "2.194345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "month", "--by", "agent"]),
        vec![
            row("2026-12 / claude-code", 1, "1.200000"),
            row("2026-12 / copilot", 1, "0.480000"),
            row("2026-11 / claude-code", 1, "0.412345"),
            row("2026-12 / kiro", 1, "0.052000"),
            row("2026-11 / codex", 1, "0.050000"),
            row("total", 5, "2.194345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "day", "--by", "type"]),
        vec![
            row("2026-12-03 / other", 1, "1.200000"),
            row("2026-12-01 / doc", 1, "0.480000"),
            row("2026-11-30 / feat", 1, "0.412345"),
            row("2026-12-01 / test", 1, "0.052000"),
            row("2026-11-24 / fix", 1, "0.050000"),
            row("total", 5, "2.194345"),
        ]
    );
}

#[test]
fn units_are_rows_of_their_own_and_never_added_to_usd() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let out = env.agent_cost(&repo, &["report", "--by", "unit"]).stdout;
    assert_eq!(
        out,
        "\
HEAD: 12 commits, 5 with AI cost
(not counted again: 2 copies of drains already counted, 0 drains replaced by an amended one)
unit              commits  cost (USD)  per commit  added  removed  per line  credits  premium-requests  requests  input  output  cache-write  cache-read
USD                     5    2.194345    0.438869    126        2  0.017143        0                 0        40   1611    7922         4033      120094
credits                 1    0.000000    0.000000     20        0  0.000000      3.5                 0         3      0       0            0           0
premium-requests        1    0.000000    0.000000     12        0  0.000000        0                12        12      0       0            0           0
total                   5    2.194345    0.438869    126        2  0.017143      3.5                12        40   1611    7922         4033      120094
"
    );
}

#[test]
fn since_and_until_keep_commits_by_author_date_after_drains_are_counted_once() {
    let env = TestEnv::new();
    let repo = shop(&env);
    // 1 and 2 December: the pull request's two commits, its merge and `thing`'s two commits,
    // whose drains are charged to the squash commit of 3 December, so they add nothing.
    let report = env.agent_cost_json(
        &repo,
        &[
            "report",
            "--since",
            "2026-12-01",
            "--until",
            "2026-12-02",
            "--by",
            "author",
        ],
    );
    assert_eq!(report["commits"], 5);
    assert_eq!(report["commits_with_cost"], 2);
    assert_eq!(report["duplicate_blocks"], 2);
    assert_eq!(report["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["rows"][0]["key"]["author"],
        "Sam Second <sam@example.com>"
    );
    assert_eq!(report["total"]["cost_micro_usd"], 532_000);
    // A range: what `thing` added over main's merge of #12 is charged to its own commits.
    assert_eq!(
        rows(&env, &repo, &["main~2..thing", "--by", "type"]),
        vec![
            row("feat", 1, "1.000000"),
            row("refac", 1, "0.200000"),
            row("total", 2, "1.200000"),
        ]
    );
    // Up to the squash commit only (GitHub's squash and merge: the squashed commits are not
    // in the history), its body's blocks are its own, and nothing is a copy.
    let squash_only = env.agent_cost_json(&repo, &["report", "main~2", "--by", "pr"]);
    assert_eq!(squash_only["duplicate_blocks"], 0);
    assert_eq!(squash_only["rows"][0]["key"]["pr"], "#13");
    assert_eq!(squash_only["rows"][0]["cost_micro_usd"], 1_200_000);
    assert_eq!(squash_only["total"]["cost_micro_usd"], 2_194_345);
    let bad = env.output(BIN, &repo, &["report", "--since", "last week"], &[]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--since `last week` is not a date"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn report_as_csv_and_markdown() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let csv = env
        .agent_cost(&repo, &["report", "--by", "week", "--csv"])
        .stdout;
    assert_eq!(
        csv,
        "\
week,commits,cost_usd,cost_per_commit_usd,lines_added,lines_removed,cost_per_line_usd,credits,premium_requests,requests,input,output,cache_write,cache_read
2026-W49,4,2.144345,0.536086,122,2,0.017293,3.5,12,38,1511,7722,4033,120044
2026-W48,1,0.050000,0.050000,4,0,0.012500,0,0,2,100,200,0,50
total,5,2.194345,0.438869,126,2,0.017143,3.5,12,40,1611,7922,4033,120094
"
    );
    // Progress is drawn only on a terminal: through a pipe, stderr stays empty.
    let piped = env.agent_cost(&repo, &["report", "--by", "week", "--csv"]);
    assert_eq!(piped.stdout, csv);
    assert_eq!(piped.stderr, "");
    // On a terminal (a pseudo-terminal from util-linux `script`), the spinner is drawn on
    // stderr and cleared, unless --no-progress.
    let on_terminal = |extra: &str| {
        let command = format!("{BIN} report --by week --csv {extra} 2>&1 >/dev/null");
        let out = env.output(
            "script",
            &repo,
            &["-qec", &command, "/dev/null"],
            &[("TERM", "xterm")],
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let drawn = on_terminal("");
    assert!(drawn.contains("reading history"), "{drawn:?}");
    assert!(!on_terminal("--no-progress").contains("reading history"));
    let markdown = env
        .agent_cost(
            &repo,
            &["report", "--by", "agent", "--markdown", "--no-lines"],
        )
        .stdout;
    assert_eq!(
        markdown,
        "\
| agent | commits | cost (USD) | per commit | credits | premium-requests | requests | input | output | cache-write | cache-read |
|---|---|---|---|---|---|---|---|---|---|---|
| claude-code | 2 | 1.612345 | 0.806173 | 0 | 0 | 23 | 1511 | 7722 | 4033 | 120044 |
| copilot | 1 | 0.480000 | 0.480000 | 0 | 12 | 12 | 0 | 0 | 0 | 0 |
| kiro | 1 | 0.052000 | 0.052000 | 3.5 | 0 | 3 | 0 | 0 | 0 | 0 |
| codex | 1 | 0.050000 | 0.050000 | 0 | 0 | 2 | 100 | 200 | 0 | 50 |
| total | 5 | 2.194345 | 0.438869 | 3.5 | 12 | 40 | 1611 | 7922 | 4033 | 120094 |
"
    );
}

#[test]
fn tail_lists_the_newest_commits_with_what_they_were_charged() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let short = |rev: &str| id(&env, &repo, rev)[..10].to_string();
    let out = env.agent_cost(&repo, &["tail", "3"]).stdout;
    assert_eq!(
        out,
        format!(
            "\
commit      date        author          models                             subject                lines  cost (USD)
{}  2026-12-04  Dana Developer  -                                  Update readme          +3 -1           -
{}  2026-12-03  Dana Developer  -                                  Merge branch 'thing'   +0 -0           -
{}  2026-12-03  Dana Developer  claude-sonnet-4-5,claude-opus-4-1  Add thing (#13)       +60 -0    1.200000
",
            short("HEAD"),
            short("HEAD~1"),
            short("HEAD~2"),
        )
    );
    let tail = env.agent_cost_json(&repo, &["tail", "4"]);
    assert_eq!(tail.as_array().unwrap().len(), 4);
    assert_eq!(
        tail[2],
        json!({
            "id": id(&env, &repo, "HEAD~2"),
            "date": "2026-12-03T09:00:00+00:00",
            "author": "Dana Developer",
            "email": "dana@example.com",
            "subject": "Add thing (#13)",
            "branch": "main",
            "lines_added": 60,
            "lines_removed": 0,
            "cost_usd": "1.200000",
            "cost_micro_usd": 1_200_000,
            "unpriced": false,
            "models": ["claude-sonnet-4-5", "claude-opus-4-1"],
            "units": [],
        })
    );
    // `thing`'s last commit: its drain is the squash commit's, so it is charged nothing.
    assert_eq!(tail[3]["id"], id(&env, &repo, "thing"));
    assert_eq!(tail[3]["cost_micro_usd"], 0);
    assert_eq!(tail[3]["models"], json!([]));
}

#[test]
fn export_has_one_row_per_commit_agent_model_and_unit() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let squash = id(&env, &repo, "HEAD~2");
    let feat = id(&env, &repo, "main~3^1");
    let test = id(&env, &repo, "x/y");
    let docs = id(&env, &repo, "x/y~1");
    let fix = id(&env, &repo, "main~5");
    let csv = env.agent_cost(&repo, &["export", "--csv"]).stdout;
    let expected = format!(
        "\
commit,date,author,email,subject,type,pr,tickets,agent,model,unit,amount,requests,input,output,cache_write,cache_read,cost_usd,unpriced,lines_added,lines_removed,repo,branch
{squash},2026-12-03T09:00:00+00:00,Dana Developer,dana@example.com,Add thing (#13),other,13,SHOP-77,claude-code,claude-sonnet-4-5,USD,0.200000,5,10,20,30,40,0.200000,false,60,0,shop,main
{squash},2026-12-03T09:00:00+00:00,Dana Developer,dana@example.com,Add thing (#13),other,13,SHOP-77,claude-code,claude-opus-4-1,USD,1.000000,1,1,2,3,4,1.000000,false,0,0,shop,main
{feat},2026-11-30T10:00:00+00:00,Dana Developer,dana@example.com,feat(cart): add cart total,feat,,SHOP-42,claude-code,claude-haiku-4-5,USD,0.011111,3,300,900,0,0,0.011111,false,30,2,shop,main
{feat},2026-11-30T10:00:00+00:00,Dana Developer,dana@example.com,feat(cart): add cart total,feat,,SHOP-42,claude-code,claude-sonnet-4-5,USD,0.401234,14,1200,6800,4000,120000,0.401234,false,0,0,shop,main
{test},2026-12-01T10:00:00+00:00,Sam Second,sam@example.com,test: cover totals OPS-7,test,12,OPS-7,kiro,claude-sonnet-4-5,USD,0.052000,3,0,0,0,0,0.052000,false,20,0,shop,y
{test},2026-12-01T10:00:00+00:00,Sam Second,sam@example.com,test: cover totals OPS-7,test,12,OPS-7,kiro,claude-sonnet-4-5,credits,3.5,0,0,0,0,0,0.000000,false,0,0,shop,y
{fix},2026-11-24T09:00:00+00:00,Dana Developer,dana@example.com,fix: SHOP-42 rounding of totals,fix,,SHOP-42,codex,gpt-5,USD,0.050000,2,100,200,0,50,0.050000,false,4,0,shop,main
{docs},2026-12-01T09:00:00+00:00,Sam Second,sam@example.com,docs: explain totals,doc,12,,copilot,gpt-5,USD,0.480000,12,0,0,0,0,0.480000,false,12,0,shop,y
{docs},2026-12-01T09:00:00+00:00,Sam Second,sam@example.com,docs: explain totals,doc,12,,copilot,gpt-5,premium-requests,12,0,0,0,0,0,0.000000,false,0,0,shop,y
"
    );
    assert_eq!(csv, expected);
    let json = env.agent_cost_json(&repo, &["export"]);
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 9);
    assert_eq!(
        rows[5],
        json!({
            "commit": test,
            "date": "2026-12-01T10:00:00+00:00",
            "author": "Sam Second",
            "email": "sam@example.com",
            "subject": "test: cover totals OPS-7",
            "type": "test",
            "pr": 12,
            "tickets": ["OPS-7"],
            "agent": "kiro",
            "model": "claude-sonnet-4-5",
            "unit": "credits",
            "amount": "3.5",
            "requests": 0,
            "input": 0,
            "output": 0,
            "cache_write": 0,
            "cache_read": 0,
            "cost_usd": "0.000000",
            "unpriced": false,
            "lines_added": 0,
            "lines_removed": 0,
            "repo": "shop",
            "branch": "y",
        })
    );
    assert_eq!(
        (
            rows[4]["lines_added"].clone(),
            rows[4]["lines_removed"].clone()
        ),
        (json!(20), json!(0))
    );
    let added: u64 = rows
        .iter()
        .map(|r| r["lines_added"].as_u64().unwrap())
        .sum();
    assert_eq!(added, 60 + 30 + 20 + 4 + 12);
    let no_lines = env.agent_cost_json(&repo, &["export", "--no-lines"]);
    assert_eq!(no_lines[0]["lines_added"], serde_json::Value::Null);
    // Summing cost_usd gives the report's total, to the micro-dollar.
    let total: u64 = rows
        .iter()
        .map(|r| {
            let text = r["cost_usd"].as_str().unwrap().replace('.', "");
            text.parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(total, 2_194_345);
}

#[test]
fn a_local_merge_squash_takes_the_drain_once_with_its_indented_copy() {
    let env = TestEnv::new();
    let repo = env.repo("local");
    env.git(&repo, &["checkout", "-q", "-b", "work"]);
    commit_as(
        &env,
        &repo,
        &[("a.txt", 5)],
        &format!("feat: part SHOP-9\n\n{B5}\n"),
        SAM,
        "2026-12-02T10:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--squash", "work"]);
    git_as(
        &env,
        &repo,
        &["commit", "-q", "--no-edit"],
        DANA,
        "2026-12-03T10:00:00Z",
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(
        message.contains("    AI-Cost-Id: 5555555555555555"),
        "{message}"
    );
    // Then the branch is merged too: both copies are in main's history.
    git_as(
        &env,
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'work'",
            "work",
        ],
        DANA,
        "2026-12-03T11:00:00Z",
    );
    let report = env.agent_cost_json(&repo, &["report", "--by", "author", "--by", "ticket"]);
    assert_eq!(report["duplicate_blocks"], 1);
    assert_eq!(report["commits_with_cost"], 1);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["key"],
        json!({"author": "Dana Developer <dana@example.com>", "ticket": "SHOP-9"})
    );
    assert_eq!(rows[0]["cost_micro_usd"], 200_000);
    assert_eq!(rows[0]["lines_added"], 5);
    assert_eq!(rows[0]["cost_per_line_usd"], "0.040000");
}

#[test]
fn pareto_names_the_fewest_commits_prs_and_authors_holding_half_and_most_of_the_spend() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let squash = id(&env, &repo, "HEAD~2");
    let feat = id(&env, &repo, "main~3^1");
    let docs = id(&env, &repo, "x/y~1");
    // Per commit (see the export test): the squash 1.200000, feat 0.412345, docs 0.480000,
    // test 0.052000, fix 0.050000; 2.194345 in all. Half is reached by the squash alone
    // (54.7 %); 80 % needs the squash, docs and feat (76.6 % after two, 95.4 % after three).
    let report = env.agent_cost_json(&repo, &["report", "--pareto"]);
    let share = |what: &str, i: usize| report["pareto"][what][i].clone();
    let half = share("commits", 0);
    assert_eq!(half["percent_of_spend"], 50);
    assert_eq!(
        (half["items"].clone(), half["of"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(half["percent_of_items"], 20);
    assert_eq!(
        half["top"],
        json!([{"item": format!("{} Add thing (#13)", &squash[..7]),
                "cost_usd": "1.200000", "cost_micro_usd": 1_200_000}])
    );
    let most = share("commits", 1);
    assert_eq!(
        (most["items"].clone(), most["percent_of_items"].clone()),
        (json!(3), json!(60))
    );
    let items: Vec<&str> = most["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["item"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        [
            format!("{} Add thing (#13)", &squash[..7]),
            format!("{} docs: explain totals", &docs[..7]),
            format!("{} feat(cart): add cart total", &feat[..7]),
        ]
    );
    // Pull requests: #13 1.200000, #12 (docs and test) 0.532000; 1.2 is 69 % of 1.732.
    let prs = (share("pull_requests", 0), share("pull_requests", 1));
    assert_eq!(prs.0["top"][0]["item"], "#13");
    assert_eq!(
        (prs.0["items"].clone(), prs.0["of"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(prs.1["items"], 2);
    assert_eq!(prs.1["top"][1]["cost_micro_usd"], 532_000);
    // Authors: Dana 1.662345 (75.8 %), Sam 0.532000.
    let authors = (share("authors", 0), share("authors", 1));
    assert_eq!(
        authors.0["top"],
        json!([{"item": "Dana Developer <dana@example.com>",
                "cost_usd": "1.662345", "cost_micro_usd": 1_662_345}])
    );
    assert_eq!(authors.1["items"], 2);

    let text = env.agent_cost(&repo, &["report", "--pareto"]).stdout;
    assert!(
        text.contains(&format!(
            "50% of spend: 1 of 5 commits (20%): {} Add thing (#13) (1.200000)",
            &squash[..7]
        )),
        "{text}"
    );
    assert!(
        text.contains("80% of spend: 2 of 2 authors (100%): Dana Developer <dana@example.com> (1.662345), Sam Second <sam@example.com> (0.532000)"),
        "{text}"
    );
}

#[test]
fn waste_lists_costly_small_or_low_leverage_commits_and_their_share_of_spend() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let docs = id(&env, &repo, "x/y~1");
    // Per commit: squash 1.200000 (60 lines), feat 0.412345 (32), docs 0.480000 (12 lines,
    // type doc), test 0.052000 (20), fix 0.050000 (4 lines, type fix); 2.194345 in all.
    let report = env.agent_cost_json(
        &repo,
        &[
            "report",
            "--waste",
            "--waste-threshold",
            "0.4",
            "--waste-lines",
            "12",
        ],
    );
    let waste = &report["waste"];
    assert_eq!(waste["threshold_usd"], "0.400000");
    assert_eq!(waste["max_lines"], 12);
    assert_eq!(
        waste["candidates"],
        json!([{
            "repo": "shop",
            "id": docs,
            "date": "2026-12-01T09:00:00+00:00",
            "author": "Sam Second <sam@example.com>",
            "subject": "docs: explain totals",
            "type": "doc",
            "lines": 12,
            "cost_usd": "0.480000",
            "cost_micro_usd": 480_000,
            "reasons": ["type", "lines"],
        }])
    );
    // 0.48 of 2.194345 is 21.87 %; docs and fix (0.53) are 24.15 %.
    assert_eq!(
        waste["candidates_total"],
        json!({"commits": 1, "cost_usd": "0.480000", "cost_micro_usd": 480_000, "percent_of_spend": "21.9"})
    );
    assert_eq!(
        waste["small_changes"],
        json!({"commits": 2, "cost_usd": "0.530000", "cost_micro_usd": 530_000, "percent_of_spend": "24.2"})
    );
    assert_eq!(waste["low_leverage"]["commits"], 2);
    assert_eq!(waste["low_leverage"]["cost_micro_usd"], 530_000);
    assert_eq!(waste["total_micro_usd"], 2_194_345);

    // The defaults (0.50 USD, 5 lines): no candidate; the 4-line fix is 2.28 % of spend.
    let text = env.agent_cost(&repo, &["report", "--waste"]).stdout;
    assert!(
        text.contains("Waste candidates (above 0.500000 USD; a fix, doc or config commit, or at most 5 changed lines): 0 commits, 0.000000 USD, 0.0% of spend"),
        "{text}"
    );
    assert!(
        text.contains("2.3% of spend on changes of at most 5 lines (1 commits, 0.050000 USD); 24.2% on fix, doc and config commits (2 commits, 0.530000 USD)"),
        "{text}"
    );
    let text = env
        .agent_cost(&repo, &["report", "--waste", "--waste-threshold", "0.4"])
        .stdout;
    assert!(
        text.contains(&format!(
            "{}  2026-12-01  doc   12     0.480000    type  docs:",
            &docs[..10]
        )),
        "{text}"
    );

    // The [report] table sets the rules; flags win over it.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[report]\nwaste_threshold = 0.4\nwaste_lines = 12\n",
    )
    .unwrap();
    let configured = env.agent_cost_json(&repo, &["report", "--waste"]);
    assert_eq!(configured["waste"], report["waste"]);
    let flagged = env.agent_cost_json(&repo, &["report", "--waste", "--waste-lines", "4"]);
    assert_eq!(flagged["waste"]["max_lines"], 4);
    assert_eq!(flagged["waste"]["threshold_usd"], "0.400000");
    assert_eq!(flagged["waste"]["small_changes"]["cost_micro_usd"], 50_000);
    let stderr = |args: &[&str]| {
        let out = env.output(BIN, &repo, args, &[]);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bad = stderr(&["report", "--waste", "--waste-threshold", "lots"]);
    assert!(
        bad.contains("--waste-threshold `lots` is not an amount"),
        "{bad}"
    );
    let bad = stderr(&["report", "--waste", "--no-lines"]);
    assert!(bad.contains("--no-lines"), "{bad}");
}

/// `team/api` (a `feat: … (#3)` commit with B1 and a fix with B2), `team/web` (Sam's docs
/// commit with B3, in premium requests) and `team/empty` (no commit yet).
fn team(env: &TestEnv) -> PathBuf {
    let api = env.repo("team/api");
    commit_as(
        env,
        &api,
        &[("api.txt", 7)],
        &format!("feat: api (#3)\n\n{B1}\n"),
        DANA,
        "2026-11-30T10:00:00Z",
    );
    commit_as(
        env,
        &api,
        &[("api.txt", 8)],
        &format!("fix: api\n\n{B2}\n"),
        SAM,
        "2026-12-01T10:00:00Z",
    );
    let web = env.repo("team/web");
    commit_as(
        env,
        &web,
        &[("web.txt", 2)],
        &format!("docs: web\n\n{B3}\n"),
        SAM,
        "2026-12-01T11:00:00Z",
    );
    let empty = env.root.join("team/empty");
    std::fs::create_dir_all(&empty).unwrap();
    env.git(&empty, &["init", "-q"]);
    env.root.join("team")
}

#[test]
fn several_repositories_make_one_report_by_repo_and_skip_an_empty_clone() {
    let env = TestEnv::new();
    let team = team(&env);
    let outside = env.outside();
    let team_arg = team.to_str().unwrap();
    let report = env.agent_cost_json(&outside, &["report", "--repos", team_arg]);
    assert_eq!(report["keys"], json!(["repo"]));
    let rows: Vec<(String, u64, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"]["repo"].as_str().unwrap().to_string(),
                r["commits"].as_u64().unwrap(),
                r["cost_usd"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![row("web", 1, "0.480000"), row("api", 2, "0.462345")]
    );
    assert_eq!(report["total"]["cost_micro_usd"], 942_345);
    assert_eq!(report["total"]["lines_added"], 7 + 1 + 2);
    let repositories: Vec<(String, u64)> = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["commits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        repositories,
        vec![("api".to_string(), 3), ("web".to_string(), 2)]
    );
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1);
    assert!(
        report["skipped"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("empty")
    );

    let ran = env.agent_cost(&outside, &["report", "--repos", team_arg, "--by", "author"]);
    assert!(
        ran.stdout
            .starts_with("HEAD in 2 repositories: 5 commits, 3 with AI cost\n"),
        "{}",
        ran.stdout
    );
    assert!(ran.stderr.contains("skipped "), "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("Sam Second <sam@example.com>             2    0.530000    0.265000      3"),
        "{}",
        ran.stdout
    );

    // Named one by one, with the current repository's: the same names, no skip to report.
    let shop = shop(&env);
    let api = team.join("api");
    let pareto = env.agent_cost_json(
        &shop,
        &[
            "report",
            "--repo",
            shop.to_str().unwrap(),
            "--repo",
            api.to_str().unwrap(),
            "--pareto",
        ],
    );
    let names: Vec<&str> = pareto["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"]["repo"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop", "api"]);
    assert_eq!(pareto["total"]["cost_micro_usd"], 2_194_345 + 462_345);
    // Pull requests across repositories are named with their repository: shop#13 1.2,
    // shop#12 0.532, api#3 0.412345; 80 % of 2.144345 takes the first two (80.8 %).
    let prs: Vec<&str> = pareto["pareto"]["pull_requests"][1]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["item"].as_str().unwrap())
        .collect();
    assert_eq!(prs, ["shop#13", "shop#12"]);
    assert_eq!(pareto["pareto"]["pull_requests"][1]["of"], 3);

    let csv = env
        .agent_cost(&outside, &["export", "--repos", team_arg])
        .stdout;
    let repos: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').nth(1).unwrap())
        .collect();
    assert_eq!(repos, ["api", "api", "api", "web", "web"]);

    let fails = |args: &[&str]| {
        let out = env.output(BIN, &outside, args, &[]);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = env.root.join("nowhere");
    let bad = fails(&["report", "--repo", missing.to_str().unwrap()]);
    assert!(bad.contains("is not a git repository or worktree"), "{bad}");
    let bare_dir = env.root.join("no-repos-here");
    std::fs::create_dir_all(&bare_dir).unwrap();
    let bad = fails(&["report", "--repos", bare_dir.to_str().unwrap()]);
    assert!(bad.contains("no git repository under"), "{bad}");
    let bad = fails(&["report"]);
    assert!(bad.contains("--repo PATH"), "{bad}");
}

/// 0.030000 USD: claude-code haiku.
const B7: &str = "AI-Agent: claude-code sessions=1 cost=0.030000
AI-Model: claude-haiku-4-5 agent=claude-code cost=0.030000
AI-Tokens: req=1 in=10 out=10 cw=0 cr=0
AI-Cost-Estimate: 0.030000 USD
AI-Cost-Id: 7777777777777777";

/// Commits `message` (`{block}` replaced by its block) on the current branch, touching `file`.
fn spend(env: &TestEnv, repo: &Path, file: &str, message: &str, date: &str) {
    commit_as(env, repo, &[(file, 3)], message, DANA, date);
}

/// Merges `branch` into the current one with a true merge and exactly `message`.
fn merge(env: &TestEnv, repo: &Path, branch: &str, message: &str, date: &str) {
    git_as(
        env,
        repo,
        &["merge", "-q", "--no-ff", "-m", message, branch],
        DANA,
        date,
    );
}

/// The repository `store`: on `main`, `feat: catalogue` (B2); branch `SHOP-7-cart` (`feat:
/// cart` B1, `fix: rounding, see SHOP-8` B5) merged by `Merge pull request #5 from
/// dana/SHOP-7-cart`; branch `fix/OPS-3` (`fix: totals` B4) merged by `Merge branch
/// 'fix/OPS-3'` whose body is GitLab's `See merge request shop/web!42`; both branches deleted
/// after their merge (only history names them); `chore: bump` (B3) on `main`; the open
/// branch `feature/SHOP-9-search` (`feat: search, see OPS-3`, B6); and, on a detached HEAD
/// above it, `test: spike` (B7), which no branch holds.
fn store(env: &TestEnv) -> PathBuf {
    let repo = env.repo("store");
    spend(
        env,
        &repo,
        "catalogue.txt",
        &format!("feat: catalogue\n\n{B2}\n"),
        "2026-11-20T09:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "-b", "SHOP-7-cart"]);
    spend(
        env,
        &repo,
        "cart.txt",
        &format!("feat: cart\n\n{B1}\n"),
        "2026-11-21T09:00:00Z",
    );
    spend(
        env,
        &repo,
        "round.txt",
        &format!("fix: rounding, see SHOP-8\n\n{B5}\n"),
        "2026-11-22T09:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    merge(
        env,
        &repo,
        "SHOP-7-cart",
        "Merge pull request #5 from dana/SHOP-7-cart",
        "2026-11-23T09:00:00Z",
    );
    env.git(&repo, &["branch", "-q", "-D", "SHOP-7-cart"]);
    env.git(&repo, &["checkout", "-q", "-b", "fix/OPS-3"]);
    spend(
        env,
        &repo,
        "totals.txt",
        &format!("fix: totals\n\n{B4}\n"),
        "2026-11-24T09:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    merge(
        env,
        &repo,
        "fix/OPS-3",
        "Merge branch 'fix/OPS-3'\n\nSee merge request shop/web!42",
        "2026-11-25T09:00:00Z",
    );
    env.git(&repo, &["branch", "-q", "-D", "fix/OPS-3"]);
    env.git(&repo, &["checkout", "-q", "-b", "feature/SHOP-9-search"]);
    spend(
        env,
        &repo,
        "search.txt",
        &format!("feat: search, see OPS-3\n\n{B6}\n"),
        "2026-11-26T09:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    spend(
        env,
        &repo,
        "deps.txt",
        &format!("chore: bump\n\n{B3}\n"),
        "2026-11-27T09:00:00Z",
    );
    env.git(
        &repo,
        &["checkout", "-q", "--detach", "feature/SHOP-9-search"],
    );
    spend(
        env,
        &repo,
        "spike.txt",
        &format!("test: spike\n\n{B7}\n"),
        "2026-11-28T09:00:00Z",
    );
    repo
}

#[test]
fn report_by_branch_names_the_mainline_merged_open_and_unknown_branches() {
    let env = TestEnv::new();
    let repo = store(&env);
    // HEAD is the spike: its history holds the open branch but not `main`'s last commit, so
    // `main` is followed from its tip, above the range, into it.
    assert_eq!(
        rows(&env, &repo, &["--by", "branch"]),
        vec![
            row("feature/SHOP-9-search", 1, "1.000000"),
            row("SHOP-7-cart", 2, "0.612345"),
            row("fix/OPS-3", 1, "0.052000"),
            row("main", 1, "0.050000"),
            row("none", 1, "0.030000"),
            row("total", 6, "1.744345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["main", "--by", "branch"]),
        vec![
            row("SHOP-7-cart", 2, "0.612345"),
            row("main", 2, "0.530000"),
            row("fix/OPS-3", 1, "0.052000"),
            row("total", 5, "1.194345"),
        ]
    );
    assert_eq!(
        rows(
            &env,
            &repo,
            &["main..HEAD", "--by", "branch", "--by", "type"]
        ),
        vec![
            row("feature/SHOP-9-search / feat", 1, "1.000000"),
            row("none / test", 1, "0.030000"),
            row("total", 2, "1.030000"),
        ]
    );
    let text = env.agent_cost(&repo, &["report", "main", "--by", "branch", "--no-lines"]);
    assert!(
        text.stdout.contains("SHOP-7-cart ") && text.stdout.contains("fix/OPS-3 "),
        "{}",
        text.stdout
    );
}

#[test]
fn tickets_come_from_the_message_then_from_the_branch_name() {
    let env = TestEnv::new();
    let repo = store(&env);
    // `fix: rounding, see SHOP-8` on SHOP-7-cart names both; `feat: search, see OPS-3` on
    // feature/SHOP-9-search too.
    assert_eq!(
        rows(&env, &repo, &["--by", "ticket"]),
        vec![
            row("OPS-3", 2, "1.052000"),
            row("SHOP-9", 1, "1.000000"),
            row("SHOP-7", 2, "0.612345"),
            row("SHOP-8", 1, "0.200000"),
            row("none", 2, "0.080000"),
            row("total", 6, "1.744345"),
        ]
    );
    let export = env.agent_cost_json(&repo, &["export"]);
    let tickets: Vec<(String, Value)> = export
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["unit"] == "USD")
        .map(|r| {
            (
                r["subject"].as_str().unwrap().to_string(),
                r["tickets"].clone(),
            )
        })
        .collect();
    assert!(
        tickets.contains(&(
            "feat: search, see OPS-3".to_string(),
            json!(["OPS-3", "SHOP-9"])
        )),
        "{tickets:?}"
    );
    assert!(
        tickets.contains(&(
            "fix: rounding, see SHOP-8".to_string(),
            json!(["SHOP-8", "SHOP-7"])
        )),
        "{tickets:?}"
    );
    assert!(
        tickets.contains(&("feat: catalogue".to_string(), json!([]))),
        "{tickets:?}"
    );
}

#[test]
fn the_report_table_sets_patterns_and_the_default_branch_the_repository_s_file_winning() {
    let env = TestEnv::new();
    let repo = store(&env);
    assert_eq!(
        rows(&env, &repo, &["--by", "pr"]),
        vec![
            row("none", 4, "1.132000"),
            row("#5", 2, "0.612345"),
            row("total", 6, "1.744345"),
        ]
    );
    std::fs::write(
        env.state.join("config.toml"),
        "[report]\nticket_pattern = 'OPS-\\d+'\npr_pattern = 'See merge request [^!\\s]+!(\\d+)'\n",
    )
    .unwrap();
    // GitLab's merge names !42 in its body: the merge's commits are in it.
    assert_eq!(
        rows(&env, &repo, &["--by", "pr"]),
        vec![
            row("none", 3, "1.080000"),
            row("#5", 2, "0.612345"),
            row("#42", 1, "0.052000"),
            row("total", 6, "1.744345"),
        ]
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "ticket"]),
        vec![
            row("OPS-3", 2, "1.052000"),
            row("none", 4, "0.692345"),
            row("total", 6, "1.744345"),
        ]
    );
    // The repository's pattern wins; its group 1 is the ticket.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[report]\nticket_pattern = 'SHOP-(\\d+)'\n",
    )
    .unwrap();
    assert_eq!(
        rows(&env, &repo, &["--by", "ticket"]),
        vec![
            row("9", 1, "1.000000"),
            row("7", 2, "0.612345"),
            row("8", 1, "0.200000"),
            row("none", 3, "0.132000"),
            row("total", 6, "1.744345"),
        ]
    );
    // With the open branch as the default one, `main` keeps only its own last commit.
    std::fs::write(
        repo.join("agent-cost.toml"),
        "[report]\ndefault_branch = \"feature/SHOP-9-search\"\n",
    )
    .unwrap();
    assert_eq!(
        rows(&env, &repo, &["main", "--by", "branch"]),
        vec![
            row("SHOP-7-cart", 2, "0.612345"),
            row("main", 1, "0.480000"),
            row("fix/OPS-3", 1, "0.052000"),
            row("feature/SHOP-9-search", 1, "0.050000"),
            row("total", 5, "1.194345"),
        ]
    );
}

#[test]
fn origin_head_names_the_default_branch() {
    let env = TestEnv::new();
    let repo = store(&env);
    // A clone's `origin/HEAD` points to `origin/trunk`, which holds the open branch's commit.
    let search = id(&env, &repo, "feature/SHOP-9-search");
    env.git(&repo, &["update-ref", "refs/remotes/origin/trunk", &search]);
    env.git(
        &repo,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/trunk",
        ],
    );
    assert_eq!(
        rows(&env, &repo, &["--by", "branch"]),
        vec![
            row("trunk", 2, "1.050000"),
            row("SHOP-7-cart", 2, "0.612345"),
            row("fix/OPS-3", 1, "0.052000"),
            row("none", 1, "0.030000"),
            row("total", 6, "1.744345"),
        ]
    );
}

/// `report` run in `repo`: it fails, and its stderr.
fn failing_report(env: &TestEnv, repo: &Path) -> String {
    let out = env.output(BIN, repo, &["report", "--by", "ticket"], &[]);
    assert!(!out.status.success(), "report should fail");
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn errors_in_the_report_table_name_the_file_the_key_and_the_fix() {
    let env = TestEnv::new();
    let repo = store(&env);
    let repo_file = repo.join("agent-cost.toml");
    std::fs::write(&repo_file, "[report]\nticket_pattern = '([A-Z]+-\\d+'\n").unwrap();
    let stderr = failing_report(&env, &repo);
    assert!(
        stderr.contains(&format!(
            "{}: [report] ticket_pattern is not a valid regular expression (unclosed group): ",
            repo_file.display()
        )) && stderr.contains("like ticket_pattern = '"),
        "{stderr}"
    );
    std::fs::write(&repo_file, "[report]\ndefault_branch = 'main'\n").unwrap();
    let user_file = env.state.join("config.toml");
    std::fs::write(&user_file, "[report]\npr_pattern = 42\n").unwrap();
    let stderr = failing_report(&env, &repo);
    assert!(
        stderr.contains(&format!(
            "{}: [report] pr_pattern must be a non-empty string, like pr_pattern = 'See merge request [^!\\s]+!(\\d+)'",
            user_file.display()
        )),
        "{stderr}"
    );
    std::fs::write(&user_file, "[report]\nbranch_pattern = 'x'\n").unwrap();
    let stderr = failing_report(&env, &repo);
    assert!(
        stderr.contains(&format!(
            "{}: unknown key `branch_pattern` in [report]: use ticket_pattern, pr_pattern, default_branch, waste_threshold, waste_lines, or remove it",
            user_file.display()
        )),
        "{stderr}"
    );
    let out = env.output(BIN, &repo, &["export"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("branch_pattern"));
}

#[test]
fn both_github_squash_styles_count_each_drain_once_at_the_squash_commit() {
    let env = TestEnv::new();
    let repo = env.repo("squashes");
    let block = |id: char, micros: u64| {
        let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
        format!(
            "AI-Agent: claude-code sessions=1 cost={cost}\n\
             AI-Model: claude-sonnet-4-5 agent=claude-code cost={cost}\n\
             AI-Tokens: req=1 in=1 out=1 cw=0 cr=0\n\
             AI-Cost-Estimate: {cost} USD\n\
             AI-Cost-Id: {}",
            id.to_string().repeat(16)
        )
    };
    let (b1, b2, b3) = (block('a', 700_000), block('b', 250_000), block('c', 50_000));
    // `one`: a single commit. GitHub's squash of a one-commit pull request keeps its message
    // and appends `(#21)` to the subject: the block is repeated verbatim.
    env.git(&repo, &["checkout", "-q", "-b", "one"]);
    commit_as(
        &env,
        &repo,
        &[("one.txt", 5)],
        &format!("feat: one\n\nWhy it matters.\n\n{b1}\n"),
        DANA,
        "2026-12-01T09:00:00Z",
    );
    // `two`: two commits. The squash of several lists each commit's message as `* subject`
    // and its body, blocks included.
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["checkout", "-q", "-b", "two"]);
    commit_as(
        &env,
        &repo,
        &[("two.txt", 3)],
        &format!("feat: two a\n\n{b2}\n"),
        SAM,
        "2026-12-01T10:00:00Z",
    );
    commit_as(
        &env,
        &repo,
        &[("two.txt", 4)],
        &format!("fix: two b\n\n{b3}\n"),
        SAM,
        "2026-12-01T11:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    commit_as(
        &env,
        &repo,
        &[("one.txt", 5)],
        &format!("feat: one (#21)\n\nWhy it matters.\n\n{b1}\n"),
        DANA,
        "2026-12-02T09:00:00Z",
    );
    commit_as(
        &env,
        &repo,
        &[("two.txt", 4)],
        &format!(
            "Two things (#22)\n\n* feat: two a\n\n{b2}\n\n* fix: two b\n\n{b3}\n\n\
             ---------\n\nCo-authored-by: Sam Second <sam@example.com>\n"
        ),
        DANA,
        "2026-12-02T10:00:00Z",
    );
    // The branches merged afterwards: their commits are in main's history beside the squashes.
    for branch in ["one", "two"] {
        git_as(
            &env,
            &repo,
            &[
                "merge",
                "-q",
                "--no-ff",
                "-m",
                &format!("Merge branch '{branch}'"),
                branch,
            ],
            DANA,
            "2026-12-03T09:00:00Z",
        );
    }
    let range = ["--by", "pr", "--no-lines"];
    assert_eq!(
        rows(&env, &repo, &range),
        vec![
            row("#21", 1, "0.700000"),
            row("#22", 1, "0.300000"),
            row("total", 2, "1.000000"),
        ]
    );
    let mut args = vec!["report"];
    args.extend(range);
    let report = env.agent_cost_json(&repo, &args);
    assert_eq!(report["duplicate_blocks"], 3);
    let sum = env.agent_cost_json(&repo, &["trailers", "sum", "HEAD"]);
    assert_eq!(micros(&sum["cost_usd"]), 1_000_000);
    // A branch alone: each drain at its own commit, without a pull request.
    assert_eq!(
        rows(&env, &repo, &["--by", "pr", "--no-lines", "two"]),
        vec![row("none", 2, "0.300000"), row("total", 2, "0.300000")]
    );
}

#[test]
fn prs_give_cost_per_merged_pull_request_with_its_median_in_json() {
    let env = TestEnv::new();
    let repo = shop(&env);
    // #13: the squash commit, 1.200000. #12: its true merge, the docs (0.480000 and 12
    // premium requests) and test (0.052000 and 3.5 credits) commits. The fix and feat commits
    // have no pull request. 1.732000 / 2 = 0.866000, and so is the median of two.
    let report = env.agent_cost_json(&repo, &["report", "--prs"]);
    let units = json!([
        {"unit": "credits", "amount": "3.5", "amount_micro": 3_500_000},
        {"unit": "premium-requests", "amount": "12", "amount_micro": 12_000_000},
    ]);
    assert_eq!(
        report["prs"],
        json!({
            "merged": 2,
            "cost_usd": "1.732000",
            "cost_micro_usd": 1_732_000,
            "cost_per_pr_usd": "0.866000",
            "cost_per_pr_micro_usd": 866_000,
            "median_usd": "0.866000",
            "median_micro_usd": 866_000,
            "unpriced": false,
            "units": units,
            "weeks": [{
                "week": "2026-W49",
                "merged": 2,
                "cost_usd": "1.732000",
                "cost_micro_usd": 1_732_000,
                "cost_per_pr_usd": "0.866000",
                "cost_per_pr_micro_usd": 866_000,
            }],
            "items": [
                {
                    "pr": 13,
                    "commit": id(&env, &repo, "HEAD~2"),
                    "subject": "Add thing (#13)",
                    "merged": "2026-12-03",
                    "commits": 1,
                    "cost_usd": "1.200000",
                    "cost_micro_usd": 1_200_000,
                    "unpriced": false,
                    "units": [],
                },
                {
                    "pr": 12,
                    "commit": id(&env, &repo, "HEAD~3"),
                    "subject": "Merge pull request #12 from x/y",
                    "merged": "2026-12-02",
                    "commits": 3,
                    "cost_usd": "0.532000",
                    "cost_micro_usd": 532_000,
                    "unpriced": false,
                    "units": units,
                },
            ],
        })
    );
    // The rest of the report is as without --prs.
    assert_eq!(report["total"]["cost_micro_usd"], 2_194_345);
}

/// A one-model block of `micros` USD, with a drain id made of `id`.
fn block(id: char, agent: &str, model: &str, micros: u64, extra: &str) -> String {
    let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    format!(
        "AI-Agent: {agent} sessions=1 cost={cost}\nAI-Model: {model} agent={agent} cost={cost}\n\
         AI-Tokens: req=1 in=1 out=1 cw=0 cr=0\n{extra}AI-Cost-Estimate: {cost} USD\nAI-Cost-Id: {}",
        id.to_string().repeat(16)
    )
}

/// A repository with pull requests merged over three ISO weeks, its `origin` a GitHub URL
/// carrying credentials:
/// - 2026-W48: `feat: a (#1)` (Dana, sonnet 0.100001), `fix: b (#2)` (Sam, codex gpt-5
///   0.200000);
/// - 2026-W49: #3 merged by `Merge pull request #3 from sam/c` (Dana, 2 December) with Sam's
///   `feat: c part one` (sonnet 0.333333) and `test: c part two` (haiku 0.333334) of 1
///   December; Dana's `perf: <b>fast</b> </script> & "quoted"` without a pull request (opus
///   5.000000); `docs: d (#4)` without spend;
/// - 2026-W50: `refactor: e (#5)` (Sam, copilot gpt-5 1.000000 and 40 premium requests).
pub(crate) fn trend(env: &TestEnv) -> PathBuf {
    trend_in(
        env,
        "trend",
        "https://dana:ghp_secret@github.com/acme/shop.git",
    )
}

/// [`trend`] in a repository named `name` whose `origin` is `origin`.
pub(crate) fn trend_in(env: &TestEnv, name: &str, origin: &str) -> PathBuf {
    let repo = env.repo(name);
    env.git(&repo, &["remote", "add", "origin", origin]);
    let sonnet = "claude-sonnet-4-5";
    let commits: [(&str, (&str, &str), &str, String); 2] = [
        (
            "feat: a (#1)",
            DANA,
            "2026-11-24T10:00:00Z",
            block('a', "claude-code", sonnet, 100_001, ""),
        ),
        (
            "fix: b (#2)",
            SAM,
            "2026-11-26T10:00:00Z",
            block('b', "codex", "gpt-5", 200_000, ""),
        ),
    ];
    for (i, (subject, who, date, block)) in commits.iter().enumerate() {
        let file = format!("w48-{i}.txt");
        commit_as(
            env,
            &repo,
            &[(&file, 3)],
            &format!("{subject}\n\n{block}\n"),
            *who,
            date,
        );
    }
    env.git(&repo, &["checkout", "-q", "-b", "sam/c"]);
    commit_as(
        env,
        &repo,
        &[("c1.txt", 5)],
        &format!(
            "feat: c part one\n\n{}\n",
            block('c', "claude-code", sonnet, 333_333, "")
        ),
        SAM,
        "2026-12-01T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("c2.txt", 5)],
        &format!(
            "test: c part two\n\n{}\n",
            block('d', "claude-code", "claude-haiku-4-5", 333_334, "")
        ),
        SAM,
        "2026-12-01T11:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    git_as(
        env,
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #3 from sam/c",
            "sam/c",
        ],
        DANA,
        "2026-12-02T08:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("perf.txt", 2)],
        &format!(
            "perf: <b>fast</b> </script> & \"quoted\"\n\n{}\n",
            block('e', "claude-code", "claude-opus-4-1", 5_000_000, "")
        ),
        DANA,
        "2026-12-02T12:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("d.txt", 1)],
        "docs: d (#4)\n",
        DANA,
        "2026-12-03T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        &[("e.txt", 8)],
        &format!(
            "refactor: e (#5)\n\n{}\n",
            block(
                'f',
                "copilot",
                "gpt-5",
                1_000_000,
                "AI-Quantity: 40 premium-requests\nAI-Cost-Estimate: 40 premium-requests\n"
            )
        ),
        SAM,
        "2026-12-08T09:00:00Z",
    );
    repo
}

#[test]
fn prs_trend_by_iso_week_of_the_merge_in_text_and_within_dates() {
    let env = TestEnv::new();
    let repo = trend(&env);
    // 5 PRs: 0.100001 + 0.200000 + 0.666667 + 0 + 1.000000 = 1.966668 (the perf commit's
    // 5.000000 has no PR); / 5 = 0.3933336 → 0.393334; median 0.200000. Per week:
    // W48 0.300001 / 2 = 0.1500005 → 0.150001, W49 0.666667 / 2 → 0.333334.
    let out = env.agent_cost(&repo, &["report", "--prs"]).stdout;
    assert_eq!(
        out,
        "\
HEAD: 9 commits, merged pull requests: 5
cost per merged PR: 0.393334 USD (median 0.200000); 1.966668 USD in all; also 40 premium-requests (not in USD)
week      merged  cost (USD)    per PR
2026-W48       2    0.300001  0.150001
2026-W49       2    0.666667  0.333334
2026-W50       1    1.000000  1.000000
total          5    1.966668  0.393334
"
    );
    // With --pareto, the concentration follows (the perf commit's 5.000000 is 71.8 %).
    let both = env
        .agent_cost(&repo, &["report", "--prs", "--pareto"])
        .stdout;
    assert!(both.starts_with(&out), "{both}");
    assert!(
        both[out.len()..].starts_with("50% of spend: 1 of 6 commits (17%): "),
        "{both}"
    );
    // From 1 December: #3, #4 and #5; 1.666667 / 3 = 0.5555557 → 0.555556.
    let since = env.agent_cost_json(&repo, &["report", "--prs", "--since", "2026-12-01"]);
    let prs = &since["prs"];
    assert_eq!(prs["merged"], 3);
    assert_eq!(prs["cost_micro_usd"], 1_666_667);
    assert_eq!(prs["cost_per_pr_usd"], "0.555556");
    assert_eq!(prs["median_usd"], "0.666667");
    let numbers: Vec<u64> = prs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["pr"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [5, 4, 3]);
    assert_eq!(prs["items"][2]["commits"], 3);
    assert_eq!(prs["items"][1]["cost_usd"], "0.000000");
    let weeks: Vec<&str> = prs["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["week"].as_str().unwrap())
        .collect();
    assert_eq!(weeks, ["2026-W49", "2026-W50"]);
    // The first-parent line down to `feat: a (#1)`, then down to the first commit.
    let one = env.agent_cost(&repo, &["report", "--prs", "HEAD~5"]).stdout;
    assert_eq!(
        one,
        "\
HEAD~5: 2 commits, merged pull requests: 1
cost per merged PR: 0.100001 USD (median 0.100001); 0.100001 USD in all
week      merged  cost (USD)    per PR
2026-W48       1    0.100001  0.100001
total          1    0.100001  0.100001
"
    );
    let none = env.agent_cost(&repo, &["report", "--prs", "HEAD~6"]).stdout;
    assert_eq!(
        none,
        "HEAD~6: 1 commits, merged pull requests: 0\n\
         no merged pull request (a `Merge pull request #N` merge or a subject ending in (#N))\n"
    );
}
