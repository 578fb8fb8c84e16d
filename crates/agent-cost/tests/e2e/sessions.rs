//! `agent-cost sessions`: one row per session with its cost, status and the commits it
//! reached, and `--summary`'s totals per state and day. Every amount is computed by hand:
//! claude-sonnet-4-5 costs 3 micro-dollars per input token and 15 per output token.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{Request, TestEnv, ai_trailers, commit, sonnet};

/// A request of claude-sonnet-4-5 logged at `timestamp`.
fn at(id: &'static str, input: u64, output: u64, timestamp: &'static str) -> Request {
    Request {
        timestamp,
        ..sonnet(id, input, output)
    }
}

/// What the scenario made: the repository, its removed linked worktree, and the commits.
struct Scenario {
    env: TestEnv,
    repo: PathBuf,
    linked: PathBuf,
    c1: String,
    c2: String,
}

/// Six sessions, one per status:
///
/// | session     | requests (in, out → micro-USD)                    | where                    |
/// |-------------|---------------------------------------------------|--------------------------|
/// | s-committed | a1 (1000,100) → 4,500 in c1; a2 (500,50) → 2,250 in c2 | committed, c1 and c2 |
/// | s-partly    | b1 (2000,200) → 9,000 in c1; b2 (3000,300) → 13,500 pending | partly committed |
/// | s-pending   | c1 (4000,400) → 18,000 pending                     | pending                 |
/// | s-outside   | d1 (5000,600) → 24,000, outside any repository     | unattributed            |
/// | s-orphan    | e1 (6000,600) → 27,000 in a linked worktree, removed | orphaned              |
/// | s-early     | f1 (7000,700) → 31,500 (in c2's range), f2 (1000,0) → 3,000 pending, both logged in 2019, before tracking (2020) | before tracking |
fn scenario() -> Scenario {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    env.claude_lines(&repo, "s-committed", &[sonnet("msg_a1", 1000, 100)]);
    env.claude_lines(&repo, "s-partly", &[sonnet("msg_b1", 2000, 200)]);
    commit(&env, &repo, "cart.rs", "Cart");
    let c1 = head(&env, &repo);
    env.claude_lines(&repo, "s-committed", &[sonnet("msg_a2", 500, 50)]);
    env.claude_lines(
        &repo,
        "s-early",
        &[at("msg_f1", 7000, 700, "2019-12-31T10:00:00Z")],
    );
    commit(&env, &repo, "total.rs", "Total");
    let c2 = head(&env, &repo);
    env.claude_lines(
        &repo,
        "s-early",
        &[at("msg_f2", 1000, 0, "2019-12-31T11:00:00Z")],
    );
    env.claude_lines(
        &repo,
        "s-partly",
        &[at("msg_b2", 3000, 300, "2026-06-01T13:00:00Z")],
    );
    env.claude_lines(&repo, "s-pending", &[sonnet("msg_c1", 4000, 400)]);
    env.claude_lines(&env.outside(), "s-outside", &[sonnet("msg_d1", 5000, 600)]);
    let linked = env.linked_worktree(&repo, "shop-feature");
    env.claude_lines(&linked, "s-orphan", &[sonnet("msg_e1", 6000, 600)]);
    // Charged to the linked worktree, then the worktree is removed with it pending.
    env.agent_cost(&linked, &["ingest"]);
    env.git(
        &repo,
        &["worktree", "remove", "--force", linked.to_str().unwrap()],
    );
    Scenario {
        env,
        repo,
        linked,
        c1,
        c2,
    }
}

fn head(env: &TestEnv, repo: &Path) -> String {
    env.git(repo, &["rev-parse", "HEAD"])
        .stdout
        .trim()
        .to_string()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// (session, status, cost micros) of each row, in order.
fn rows(sessions: &Value) -> Vec<(String, String, u64)> {
    sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["session"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["cost_usd_micros"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn find<'a>(sessions: &'a Value, name: &str) -> &'a Value {
    sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session"] == name)
        .unwrap_or_else(|| panic!("no session {name} in {sessions:#}"))
}

/// (state, micros) of a session's `states`.
fn states(session: &Value) -> Vec<(String, u64)> {
    session["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap().to_string(),
                s["cost_usd_micros"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(name: &str, status: &str, micros: u64) -> (String, String, u64) {
    (name.to_string(), status.to_string(), micros)
}

fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

#[test]
fn sessions_list_each_status_with_exact_costs_and_commits() {
    let s = scenario();
    let env = &s.env;
    // The commits carry what the sessions say they reached.
    assert!(ai_trailers(env, &s.repo, &s.c1).contains(&"AI-Cost-Estimate: 0.013500 USD".into()));
    assert!(ai_trailers(env, &s.repo, &s.c2).contains(&"AI-Cost-Estimate: 0.002250 USD".into()));

    let json = env.agent_cost_json(&s.repo, &["sessions"]);
    assert_eq!(json["scope"]["kind"], "repository");
    assert_eq!(json["scope"]["repository"], s.repo.display().to_string());
    let sessions = &json["sessions"];
    // Costliest first; the unattributed session is not this repository's.
    assert_eq!(
        rows(sessions),
        vec![
            row("s-early", "before-tracking", 34_500),
            row("s-orphan", "orphaned", 27_000),
            row("s-partly", "partly-committed", 22_500),
            row("s-pending", "pending", 18_000),
            row("s-committed", "committed", 6_750),
        ]
    );
    assert_eq!(json["total"]["cost_usd_micros"], 108_750);
    assert_eq!(json["total"]["requests"], 8);

    let committed = find(sessions, "s-committed");
    assert_eq!(committed["agent"], "claude-code");
    assert_eq!(committed["requests"], 2);
    assert_eq!(committed["tokens"]["input"], 1500);
    assert_eq!(committed["tokens"]["output"], 150);
    assert_eq!(committed["cost_usd"], 0.00675);
    assert_eq!(committed["incomplete"], false);
    assert_eq!(committed["first_request"], "2026-06-01T12:00:00Z");
    assert_eq!(committed["last_request"], "2026-06-01T12:00:00Z");
    assert_eq!(
        strings(&committed["commits"]),
        vec![s.c1.clone(), s.c2.clone()]
    );
    assert_eq!(
        strings(&committed["worktrees"]),
        vec![s.repo.display().to_string()]
    );
    assert_eq!(states(committed), pairs(&[("committed", 6_750)]));

    let partly = find(sessions, "s-partly");
    assert_eq!(partly["first_request"], "2026-06-01T12:00:00Z");
    assert_eq!(partly["last_request"], "2026-06-01T13:00:00Z");
    assert_eq!(partly["requests"], 2);
    assert_eq!(strings(&partly["commits"]), vec![s.c1.clone()]);
    assert_eq!(
        states(partly),
        pairs(&[("committed", 9_000), ("pending", 13_500)])
    );

    let pending = find(sessions, "s-pending");
    assert_eq!(strings(&pending["commits"]), Vec::<String>::new());
    assert_eq!(states(pending), pairs(&[("pending", 18_000)]));

    let orphan = find(sessions, "s-orphan");
    assert_eq!(
        strings(&orphan["worktrees"]),
        vec![s.linked.display().to_string()]
    );
    assert_eq!(states(orphan), pairs(&[("orphaned", 27_000)]));

    // One request carried in c2's range but never written into it (logged before tracking),
    // one still in the tally: both before tracking, neither reached a commit.
    let early = find(sessions, "s-early");
    assert_eq!(early["first_request"], "2019-12-31T10:00:00Z");
    assert_eq!(early["last_request"], "2019-12-31T11:00:00Z");
    assert_eq!(strings(&early["commits"]), Vec::<String>::new());
    assert_eq!(states(early), pairs(&[("before-tracking", 34_500)]));

    // --all adds the unattributed session.
    let all = env.agent_cost_json(&env.outside(), &["sessions", "--all"]);
    assert_eq!(all["scope"]["kind"], "all");
    assert_eq!(
        rows(&all["sessions"]),
        vec![
            row("s-early", "before-tracking", 34_500),
            row("s-orphan", "orphaned", 27_000),
            row("s-outside", "unattributed", 24_000),
            row("s-partly", "partly-committed", 22_500),
            row("s-pending", "pending", 18_000),
            row("s-committed", "committed", 6_750),
        ]
    );
    let outside = find(&all["sessions"], "s-outside");
    assert_eq!(strings(&outside["worktrees"]), Vec::<String>::new());
    assert_eq!(states(outside), pairs(&[("unattributed", 24_000)]));
    assert_eq!(all["total"]["cost_usd_micros"], 132_750);

    // --repo from outside the repository is the same as running inside it.
    let by_path = env.agent_cost_json(
        &env.outside(),
        &["sessions", "--repo", s.repo.to_str().unwrap()],
    );
    assert_eq!(rows(&by_path["sessions"]), rows(sessions));

    // A window: only 2019's requests.
    let window = env.agent_cost_json(
        &s.repo,
        &["sessions", "--since", "2019-12-31", "--until", "2019-12-31"],
    );
    assert_eq!(
        rows(&window["sessions"]),
        vec![row("s-early", "before-tracking", 34_500)]
    );
    let late = env.agent_cost_json(&s.repo, &["sessions", "--since", "2026-06-01T12:30:00Z"]);
    assert_eq!(
        rows(&late["sessions"]),
        vec![row("s-partly", "pending", 13_500)]
    );
    let other_agent = env.agent_cost_json(&s.repo, &["sessions", "--agent", "codex"]);
    assert_eq!(rows(&other_agent["sessions"]), vec![]);
}

#[test]
fn sessions_table_and_csv() {
    let s = scenario();
    let env = &s.env;
    let table = env.agent_cost(&s.repo, &["sessions"]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        format!("sessions charged to {}: 5", s.repo.display())
    );
    assert!(lines[1].starts_with("cost (USD)  status"), "{table}");
    assert!(
        lines[2].starts_with("  0.034500  before-tracking   claude-code  s-early"),
        "{table}"
    );
    let committed = lines.iter().find(|l| l.contains("s-committed")).unwrap();
    assert!(
        committed.contains(&format!("{} {}", &s.c1[..10], &s.c2[..10])),
        "{table}"
    );
    assert_eq!(*lines.last().unwrap(), "total: 0.108750 USD in 8 requests");

    let csv = env.agent_cost(&s.repo, &["sessions", "--csv"]).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "agent,session,status,first_request,last_request,requests,input,output,cache_write,\
         cache_read,cost_usd,incomplete,units,worktrees,commits"
    );
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[5],
        format!(
            "claude-code,s-committed,committed,2026-06-01T12:00:00Z,2026-06-01T12:00:00Z,2,1500,\
             150,0,0,0.006750,false,,{},{} {}",
            s.repo.display(),
            s.c1,
            s.c2
        )
    );
}

#[test]
fn sessions_summary_totals_each_state_and_day() {
    let s = scenario();
    let env = &s.env;
    let summary = env.agent_cost_json(&env.outside(), &["sessions", "--all", "--summary"]);
    assert_eq!(summary["sessions"], 6);
    // The headline: sessions none of whose spend reached a commit.
    assert_eq!(
        rows(&summary["no_commit"]["sessions"]),
        vec![
            row("s-orphan", "orphaned", 27_000),
            row("s-outside", "unattributed", 24_000),
            row("s-pending", "pending", 18_000),
        ]
    );
    assert_eq!(summary["no_commit"]["cost_usd_micros"], 69_000);
    assert_eq!(summary["no_commit"]["requests"], 3);
    let by_state: Vec<(String, u64, u64, u64)> = summary["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap().to_string(),
                s["sessions"].as_u64().unwrap(),
                s["requests"].as_u64().unwrap(),
                s["cost_usd_micros"].as_u64().unwrap(),
            )
        })
        .collect();
    let state = |name: &str, sessions: u64, requests: u64, micros: u64| {
        (name.to_string(), sessions, requests, micros)
    };
    assert_eq!(
        by_state,
        vec![
            // a1 + a2 + b1
            state("committed", 2, 3, 15_750),
            // b2 + c1
            state("pending", 2, 2, 31_500),
            state("orphaned", 1, 1, 27_000),
            state("unattributed", 1, 1, 24_000),
            // f1 + f2
            state("before-tracking", 1, 2, 34_500),
        ]
    );
    assert_eq!(summary["total"]["cost_usd_micros"], 132_750);
    assert_eq!(summary["total"]["requests"], 9);
    assert_eq!(summary["total"]["tokens"]["input"], 29_500);
    assert_eq!(summary["total"]["tokens"]["output"], 2_950);

    let days: Vec<(String, Vec<u64>, u64)> = summary["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["states"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["cost_usd_micros"].as_u64().unwrap())
                    .collect(),
                d["total"]["cost_usd_micros"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2019-12-31".to_string(), vec![0, 0, 0, 0, 34_500], 34_500),
            (
                "2026-06-01".to_string(),
                vec![15_750, 31_500, 27_000, 24_000, 0],
                98_250
            ),
        ]
    );

    // The repository's summary leaves out the unattributed session.
    let repo = env.agent_cost_json(&s.repo, &["sessions", "--summary"]);
    assert_eq!(repo["no_commit"]["cost_usd_micros"], 45_000);
    assert_eq!(repo["total"]["cost_usd_micros"], 108_750);
    assert_eq!(repo["states"][3]["state"], "unattributed");
    assert_eq!(repo["states"][3]["cost_usd_micros"], 0);

    let text = env
        .agent_cost(&env.outside(), &["sessions", "--all", "--summary"])
        .stdout;
    assert!(
        text.contains("sessions that produced no commit: 3 of 6, 0.069000 USD in 3 requests"),
        "{text}"
    );
    assert!(text.contains("  committed"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("  2026-06-01")
            && l.split_whitespace().collect::<Vec<_>>()
                == [
                    "2026-06-01",
                    "0.015750",
                    "0.031500",
                    "0.027000",
                    "0.024000",
                    "0.000000",
                    "0.098250"
                ]),
        "{text}"
    );
}

#[test]
fn sessions_show_amounts_in_other_units() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("shop");
    let entry = env.agent_cost_json(
        &repo,
        &["log", "2.5", "--agent", "kiro", "--unit", "credits"],
    );
    let cost = entry["cost_usd_micros"].as_u64().unwrap();
    assert!(cost > 0, "{entry:#}");
    let json = env.agent_cost_json(&repo, &["sessions"]);
    let sessions = json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["agent"], "kiro");
    assert_eq!(sessions[0]["status"], "pending");
    assert_eq!(sessions[0]["cost_usd_micros"], cost);
    assert_eq!(
        sessions[0]["units"],
        serde_json::json!([{"unit": "credits", "amount": 2.5}])
    );
    let table = env.agent_cost(&repo, &["sessions"]).stdout;
    assert!(table.contains("other units"), "{table}");
    assert!(table.contains("2.5 credits"), "{table}");

    // Once committed, the summary's committed row carries the credits.
    commit(&env, &repo, "a.txt", "Spec");
    let summary = env.agent_cost_json(&repo, &["sessions", "--summary"]);
    assert_eq!(summary["states"][0]["state"], "committed");
    assert_eq!(summary["states"][0]["cost_usd_micros"], cost);
    assert_eq!(
        summary["states"][0]["units"],
        serde_json::json!([{"unit": "credits", "amount": 2.5}])
    );
    assert_eq!(summary["states"][1]["units"], serde_json::json!([]));
    let text = env.agent_cost(&repo, &["sessions", "--summary"]).stdout;
    assert!(text.contains("credits"), "{text}");
}
