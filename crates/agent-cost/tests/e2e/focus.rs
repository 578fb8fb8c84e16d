//! `export --focus`, end to end: FinOps FOCUS 1.2 rows from hand-written trailer blocks (USD,
//! unpriced premium requests, credits with and without a USD estimate), as CSV and Parquet,
//! loaded into a real DuckDB and checked against `trailers sum`, and the CSV checked against
//! FOCUS's column rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

/// Claude Code's sonnet at `micros` USD with the counts of the docs' example block.
fn sonnet(micros: u64) -> BlockLine {
    BlockLine::sonnet(micros).tokens([2, 1200, 6800, 4000, 120_000])
}

/// A repository with three charged commits:
/// - 2026-03-10 09:00 UTC: Claude Code, sonnet 0.401234 and haiku 0.011111 USD;
/// - 2026-04-01 02:00 +05:30 (March 31st, UTC): Copilot gpt-5, 12 premium requests, no USD
///   price; Kiro, 3.5 credits estimated at 0.052 USD;
/// - 2026-04-02 10:00 -07:00: Codex gpt-5 0.05 USD; Kiro, 1.26 credits with no USD estimate
///   (cost 0); sonnet 0.1 USD.
///
/// USD 0.614345 (incomplete), 4.76 credits, 12 premium requests.
fn shop(env: &TestEnv, name: &str) -> PathBuf {
    let repo = env.repo(name);
    let first = trailer_block(
        1,
        &[
            BlockLine {
                model: "claude-haiku-4-5",
                tokens: [2, 300, 900, 0, 0],
                ..sonnet(11_111)
            },
            sonnet(401_234),
        ],
    );
    let second = trailer_block(
        2,
        &[
            BlockLine::unpriced("copilot", "gpt-5")
                .tokens([2, 0, 0, 0, 0])
                .quantity(12_000_000, "premium-requests"),
            BlockLine::usd("kiro", "auto", 52_000)
                .tokens([2, 0, 0, 0, 0])
                .quantity(3_500_000, "credits"),
        ],
    );
    let third = trailer_block(
        3,
        &[
            sonnet(100_000),
            BlockLine::usd("codex", "gpt-5", 50_000).tokens([2, 100, 200, 0, 50]),
            BlockLine::usd("kiro", "auto", 0)
                .tokens([2, 0, 0, 0, 0])
                .quantity(1_260_000, "credits"),
        ],
    );
    commit_block(
        env,
        &repo,
        "feat: cart",
        &first,
        "author@example.com",
        "2026-03-10T09:00:00+00:00",
    );
    commit_block(
        env,
        &repo,
        "fix: totals (#12)",
        &second,
        "author@example.com",
        "2026-04-01T02:00:00+05:30",
    );
    commit_block(
        env,
        &repo,
        "docs: totals",
        &third,
        "author@example.com",
        "2026-04-02T10:00:00-07:00",
    );
    let total = sum(env, &repo, "HEAD");
    assert_eq!(total["malformed_blocks"], 0, "{total:#}");
    assert_eq!(micros(&total["cost_usd"]), 614_345, "{total:#}");
    repo
}

/// `trailers sum HEAD --json`'s totals in micro-units: `USD` and each other unit.
fn trailer_totals(env: &TestEnv, repo: &Path) -> BTreeMap<String, u64> {
    let total = sum(env, repo, "HEAD");
    let mut totals = BTreeMap::from([("USD".to_string(), micros(&total["cost_usd"]))]);
    for unit in total["units"].as_array().unwrap() {
        totals.insert(
            unit["unit"].as_str().unwrap().to_string(),
            micros(&unit["amount"]),
        );
    }
    totals
}

/// The CSV as one map of column to cell per row.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            header
                .iter()
                .zip(record.iter())
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

/// A FOCUS decimal as CSV writes it (digits, a point, six digits), in micro-units.
fn decimal_micros(text: &str) -> u64 {
    let (whole, fraction) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("{text:?} is not a decimal with six fractional digits"));
    assert!(
        !whole.is_empty()
            && fraction.len() == 6
            && whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit()),
        "{text:?} is not a decimal with six fractional digits"
    );
    whole.parse::<u64>().unwrap() * 1_000_000 + fraction.parse::<u64>().unwrap()
}

/// A FOCUS date/time (UTC, `YYYY-MM-DDTHH:mm:ssZ`) as seconds since the epoch.
fn datetime(text: &str) -> i64 {
    assert_eq!(text.len(), 20, "{text:?}");
    assert!(
        text.ends_with('Z') && text.as_bytes()[10] == b'T',
        "{text:?}"
    );
    text.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .as_second()
}

#[test]
fn csv_and_parquet_in_duckdb_add_up_to_trailers_sum_exactly() {
    let env = TestEnv::new();
    let repo = shop(&env, "shop");
    let csv = env.root.join("focus.csv");
    let parquet = env.root.join("focus.parquet");
    let ran = env.agent_cost(
        &repo,
        &["export", "--focus", "--output", csv.to_str().unwrap()],
    );
    assert_eq!(ran.stdout, "");
    env.agent_cost(
        &repo,
        &[
            "export",
            "--focus",
            "--format",
            "parquet",
            "--output",
            parquet.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    // The same CSV on stdout; and a .parquet file name alone is enough.
    let printed = env.agent_cost(&repo, &["export", "--focus"]).stdout;
    assert_eq!(printed, std::fs::read_to_string(&csv).unwrap());
    let by_name = env.root.join("by-name.parquet");
    env.agent_cost(
        &repo,
        &["export", "--focus", "--output", by_name.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(&by_name).unwrap(),
        std::fs::read(&parquet).unwrap()
    );

    let script = r#"
import json, sys, duckdb
csv, parquet = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"""CREATE VIEW c AS SELECT * FROM read_csv('{csv}', header=true,
    types={{'BilledCost': 'DECIMAL(18,6)', 'PricingQuantity': 'DECIMAL(18,6)',
            'ConsumedQuantity': 'DECIMAL(18,6)', 'Tags': 'VARCHAR'}})""")
con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{parquet}')")
out = {}
for name in ["c", "p"]:
    usd = con.execute(f"SELECT CAST(sum(BilledCost) * 1000000 AS BIGINT) FROM {name}").fetchone()[0]
    units = con.execute(f"SELECT PricingUnit, CAST(sum(PricingQuantity) * 1000000 AS BIGINT) "
                        f"FROM {name} GROUP BY 1 ORDER BY 1").fetchall()
    out[name] = {"USD": usd, "units": dict(units),
                 "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]}
out["types"] = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE p)").fetchall())
columns = "ChargePeriodStart, ChargeDescription, BilledCost, PricingQuantity, PricingUnit, Tags"
out["differ"] = con.execute(f"SELECT count(*) FROM (SELECT {columns} FROM c EXCEPT "
                            f"SELECT ChargePeriodStart::TIMESTAMP, ChargeDescription, BilledCost, "
                            f"PricingQuantity, PricingUnit, Tags FROM p)").fetchone()[0]
out["tags"] = con.execute("SELECT json_extract_string(Tags, '$.commit') FROM p "
                          "WHERE PricingUnit = 'Premium Requests'").fetchall()
print(json.dumps(out))
"#;
    let duck = std::process::Command::new(venv_program("python"))
        .arg("-c")
        .arg(script)
        .arg(&csv)
        .arg(&parquet)
        .output()
        .unwrap();
    assert!(
        duck.status.success(),
        "{}",
        String::from_utf8_lossy(&duck.stderr)
    );
    let out: Value = serde_json::from_slice(&duck.stdout).unwrap();

    let totals = trailer_totals(&env, &repo);
    assert_eq!(
        totals,
        BTreeMap::from([
            ("USD".to_string(), 614_345),
            ("credits".to_string(), 4_760_000),
            ("premium-requests".to_string(), 12_000_000),
        ])
    );
    for file in ["c", "p"] {
        let sums = &out[file];
        assert_eq!(sums["USD"].as_u64(), Some(totals["USD"]), "{file}: {out:#}");
        assert_eq!(
            sums["units"]["Credits"].as_u64(),
            Some(totals["credits"]),
            "{file}: {out:#}"
        );
        assert_eq!(
            sums["units"]["Premium Requests"].as_u64(),
            Some(totals["premium-requests"]),
            "{file}: {out:#}"
        );
        // Tokens: every token of the trailers, once.
        let tokens = sum(&env, &repo, "HEAD")["tokens"].clone();
        let all: u64 = ["input", "output", "cache_write", "cache_read"]
            .iter()
            .map(|k| tokens[k].as_u64().unwrap())
            .sum();
        assert_eq!(
            sums["units"]["Tokens"].as_u64(),
            Some(all * 1_000_000),
            "{file}: {out:#}"
        );
        // sonnet + haiku, copilot + kiro, sonnet + codex + kiro.
        assert_eq!(sums["rows"], 7, "{file}: {out:#}");
    }
    assert_eq!(out["differ"], 0, "{out:#}");
    let types = &out["types"];
    for column in [
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "PricingQuantity",
    ] {
        assert_eq!(types[column], "DECIMAL(18,6)", "{column}: {out:#}");
    }
    for column in [
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "BillingPeriodStart",
        "BillingPeriodEnd",
    ] {
        assert_eq!(
            types[column], "TIMESTAMP WITH TIME ZONE",
            "{column}: {out:#}"
        );
    }
    assert_eq!(types["Tags"], "VARCHAR", "{out:#}");
    let second = env.git(&repo, &["rev-parse", "HEAD~1"]).stdout;
    assert_eq!(out["tags"], serde_json::json!([[second.trim()]]));
}

/// The columns FOCUS 1.2 makes mandatory (feature level Mandatory), and whether each may be
/// null.
const MANDATORY: [(&str, bool); 21] = [
    ("BilledCost", false),
    ("BillingAccountId", false),
    ("BillingAccountName", true),
    ("BillingCurrency", false),
    ("BillingPeriodEnd", false),
    ("BillingPeriodStart", false),
    ("ChargeCategory", false),
    ("ChargeClass", true),
    ("ChargeDescription", true),
    ("ChargePeriodEnd", false),
    ("ChargePeriodStart", false),
    ("ContractedCost", false),
    ("EffectiveCost", false),
    ("InvoiceIssuerName", false),
    ("ListCost", false),
    // Not null on a Usage row that is not a correction: every row here.
    ("PricingQuantity", false),
    ("PricingUnit", false),
    ("ProviderName", false),
    ("PublisherName", false),
    ("ServiceCategory", false),
    ("ServiceName", false),
];

#[test]
fn the_csv_follows_focus_column_rules() {
    let env = TestEnv::new();
    let repo = shop(&env, "shop");
    let text = env.agent_cost(&repo, &["export", "--focus", "HEAD"]).stdout;
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    for (column, _) in MANDATORY {
        assert!(header.contains(&column), "{column} missing: {header:?}");
    }
    for column in [
        "ChargeFrequency",
        "ConsumedQuantity",
        "ConsumedUnit",
        "ServiceSubcategory",
        "Tags",
    ] {
        assert!(header.contains(&column), "{column} missing: {header:?}");
    }
    let mut sorted = header.clone();
    sorted.sort_unstable();
    assert_eq!(header, sorted, "columns in the specification's order");
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 7);
    let commits: Vec<String> = env
        .git(&repo, &["log", "--format=%H"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    for row in &rows {
        for (column, nullable) in MANDATORY {
            assert!(
                nullable || !row[column].is_empty(),
                "{column} null: {row:?}"
            );
        }
        for column in [
            "BilledCost",
            "EffectiveCost",
            "ListCost",
            "ContractedCost",
            "PricingQuantity",
            "ConsumedQuantity",
        ] {
            decimal_micros(&row[column]);
        }
        // No discounts, commitments or negotiated prices: one cost in all four columns.
        for column in ["EffectiveCost", "ListCost", "ContractedCost"] {
            assert_eq!(row[column], row["BilledCost"], "{row:?}");
        }
        let start = datetime(&row["ChargePeriodStart"]);
        let end = datetime(&row["ChargePeriodEnd"]);
        let billing_start = datetime(&row["BillingPeriodStart"]);
        let billing_end = datetime(&row["BillingPeriodEnd"]);
        assert!(end > start, "{row:?}");
        assert!(billing_start <= start && end <= billing_end, "{row:?}");
        assert_eq!(row["BillingCurrency"], "USD");
        assert_eq!(row["ChargeCategory"], "Usage");
        assert_eq!(row["ChargeClass"], "");
        assert_eq!(row["ChargeFrequency"], "Usage-Based");
        assert_eq!(row["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(row["ServiceSubcategory"], "Generative AI");
        assert_eq!(row["ConsumedUnit"], "Tokens");
        assert_eq!(row["BillingAccountId"], "shop");
        let tags: Value = serde_json::from_str(&row["Tags"])
            .unwrap_or_else(|e| panic!("Tags is not JSON: {e}: {row:?}"));
        let tags = tags.as_object().expect("Tags is a JSON object");
        for key in [
            "repository",
            "commit",
            "author",
            "branch",
            "pr",
            "model",
            "agent",
            "type",
        ] {
            assert!(tags.contains_key(key), "{key} missing: {tags:?}");
        }
        assert_eq!(tags["repository"], "shop");
        assert!(commits.contains(&tags["commit"].as_str().unwrap().to_string()));
        assert_eq!(tags["author"], "Test Author <author@example.com>");
        assert_eq!(tags["branch"], "main");
    }
    // The author date's UTC day: 02:00 at +05:30 on April 1st is March 31st, UTC.
    let copilot = rows
        .iter()
        .find(|r| r["PricingUnit"] == "Premium Requests")
        .unwrap();
    assert_eq!(copilot["ChargePeriodStart"], "2026-03-31T00:00:00Z");
    assert_eq!(copilot["ChargePeriodEnd"], "2026-04-01T00:00:00Z");
    assert_eq!(copilot["BillingPeriodStart"], "2026-03-01T00:00:00Z");
    assert_eq!(copilot["BillingPeriodEnd"], "2026-04-01T00:00:00Z");
    let tags: Value = serde_json::from_str(&copilot["Tags"]).unwrap();
    assert_eq!(tags["pr"], 12);
    assert_eq!(tags["type"], "fix");
    assert_eq!(tags["unpriced"], true);
    assert_eq!(
        (
            copilot["ServiceName"].as_str(),
            copilot["ProviderName"].as_str(),
            copilot["PublisherName"].as_str()
        ),
        ("GitHub Copilot", "GitHub", "OpenAI")
    );
}

#[test]
fn a_credits_row_adds_to_billed_cost_only_the_usd_its_trailers_hold() {
    let env = TestEnv::new();
    let repo = shop(&env, "shop");
    let rows = csv_rows(&env.agent_cost(&repo, &["export", "--focus"]).stdout);
    let billed = |unit: &str| -> Vec<(u64, u64)> {
        rows.iter()
            .filter(|r| r["PricingUnit"] == unit)
            .map(|r| {
                (
                    decimal_micros(&r["BilledCost"]),
                    decimal_micros(&r["PricingQuantity"]),
                )
            })
            .collect()
    };
    // Newest commit first: 1.26 credits without a USD estimate cost nothing in dollars; 3.5
    // credits cost their estimate, 0.052 USD, as the model line's cost= says.
    assert_eq!(billed("Credits"), [(0, 1_260_000), (52_000, 3_500_000)]);
    // Premium requests without a USD price: 0 USD, never 12 dollars.
    assert_eq!(billed("Premium Requests"), [(0, 12_000_000)]);
    let tokens: u64 = billed("Tokens").iter().map(|(usd, _)| usd).sum();
    let other: u64 = ["Credits", "Premium Requests"]
        .iter()
        .flat_map(|unit| billed(unit))
        .map(|(usd, _)| usd)
        .sum();
    let totals = trailer_totals(&env, &repo);
    assert_eq!(tokens + other, totals["USD"]);
    assert_eq!(other, 52_000);
    let description = &rows
        .iter()
        .find(|r| r["PricingUnit"] == "Credits" && r["BilledCost"] != "0.000000")
        .unwrap()["ChargeDescription"];
    assert_eq!(
        description,
        "auto by kiro: 3.5 credits, 2 requests, 0 tokens; USD estimate 0.052000"
    );
}

#[test]
fn focus_reads_every_repository_under_a_folder() {
    let env = TestEnv::new();
    shop(&env, "team/shop");
    shop(&env, "team/api");
    let dir = env.root.join("team");
    let text = env
        .agent_cost(
            &env.outside(),
            &["export", "--focus", "--repos", dir.to_str().unwrap()],
        )
        .stdout;
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 14);
    let mut usd: BTreeMap<String, u64> = BTreeMap::new();
    for row in &rows {
        let tags: Value = serde_json::from_str(&row["Tags"]).unwrap();
        assert_eq!(
            tags["repository"].as_str(),
            Some(row["BillingAccountId"].as_str())
        );
        *usd.entry(row["BillingAccountId"].clone()).or_default() +=
            decimal_micros(&row["BilledCost"]);
    }
    assert_eq!(
        usd,
        BTreeMap::from([("api".to_string(), 614_345), ("shop".to_string(), 614_345)])
    );
}

#[test]
fn parquet_is_never_written_to_a_terminal() {
    let env = TestEnv::new();
    let repo = shop(&env, "shop");
    // `script` gives the command a terminal as stdout.
    let ran = env.output(
        "script",
        &repo,
        &[
            "-qec",
            &format!("{BIN} export --focus --format parquet"),
            "/dev/null",
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&ran.stdout);
    assert!(!ran.status.success(), "{text}");
    assert!(
        text.contains("Parquet is binary: not writing it to a terminal")
            && text.contains("--output FILE.parquet"),
        "{text}"
    );
    assert!(!text.contains("PAR1"), "{text}");
    // Piped, it is written.
    let piped = env.output(
        BIN,
        &repo,
        &["export", "--focus", "--format", "parquet"],
        &[],
    );
    assert!(piped.status.success());
    assert!(piped.stdout.starts_with(b"PAR1") && piped.stdout.ends_with(b"PAR1"));
}

#[test]
fn format_and_output_need_focus() {
    let env = TestEnv::new();
    let repo = shop(&env, "shop");
    for args in [
        &["export", "--format", "parquet"][..],
        &["export", "--output", "x.csv"],
        &["export", "--focus", "--json"],
    ] {
        let ran = env.output(BIN, &repo, args, &[]);
        assert_eq!(ran.status.code(), Some(2), "{args:?}");
    }
}
