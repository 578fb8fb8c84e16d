//! `agent-cost report`, `tail` and `export` over a repository whose commits, hand-written
//! trailer blocks, authors (two emails merged by `.mailmap`), types, tickets, pull requests (a
//! true merge and a squash whose body repeats its commits' blocks) and dates are all fixed.

use std::path::{Path, PathBuf};

use serde_json::json;

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

/// Writes `file`, stages it and commits `message` exactly.
fn commit_as(env: &TestEnv, repo: &Path, file: &str, message: &str, who: (&str, &str), date: &str) {
    std::fs::write(repo.join(file), format!("{file}\n")).unwrap();
    env.git(repo, &["add", file]);
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
        "round.txt",
        &format!("fix: SHOP-42 rounding of totals\n\n{B2}\n"),
        DANA_OLD,
        "2026-11-24T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        "cart.txt",
        &format!("feat(cart): add cart total\n\nPart of SHOP-42.\n\n{B1}\n"),
        DANA,
        "2026-11-30T10:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "-b", "x/y"]);
    commit_as(
        env,
        &repo,
        "docs.txt",
        &format!("docs: explain totals\n\n{B3}\n"),
        SAM,
        "2026-12-01T09:00:00Z",
    );
    commit_as(
        env,
        &repo,
        "tests.txt",
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
        "split.txt",
        &format!("refactor: split cart\n\n{B5}\n"),
        DANA,
        "2026-12-02T10:00:00Z",
    );
    commit_as(
        env,
        &repo,
        "thing.txt",
        &format!("feat: thing SHOP-77\n\n{B6}\n"),
        SAM,
        "2026-12-02T11:00:00Z",
    );
    env.git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("split.txt"), "split.txt\n").unwrap();
    env.git(&repo, &["add", "split.txt"]);
    commit_as(
        env,
        &repo,
        "thing.txt",
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
        "README.md",
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
model              commits  cost (USD)  per commit  credits  premium-requests  requests  input  output  cache-write  cache-read
claude-opus-4-1          1    1.000000    1.000000        0                 0         1      1       2            3           4
claude-sonnet-4-5        3    0.653234    0.217745      3.5                 0        22   1210    6820         4030      120040
gpt-5                    2    0.530000    0.265000        0                12        14    100     200            0          50
claude-haiku-4-5         1    0.011111    0.011111        0                 0         3    300     900            0           0
total                    5    2.194345    0.438869      3.5                12        40   1611    7922         4033      120094
"
    );
    // The same USD total as `trailers sum`, which counts by the same rule.
    let sum = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&sum["cost_usd"]), 2_194_345);
    assert_eq!(sum["duplicate_blocks"], 2);
}
