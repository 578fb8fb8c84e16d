use super::*;

/// A commit of Dana's in `shop` at `time` (seconds since the epoch, UTC).
fn commit(id: char, time: i64) -> CommitInfo {
    CommitInfo {
        repo: "shop".to_string(),
        id: id.to_string().repeat(40),
        parent_count: 1,
        author_name: "Dana".to_string(),
        author_email: "dana@example.com".to_string(),
        author_time: time,
        author_offset: 3600,
        commit_time: time,
        subject: "feat: cart".to_string(),
        kind: "feat",
        pr: Some(42),
        tickets: Vec::new(),
        branch: Some("cart".to_string()),
        lines: None,
    }
}

fn charge(commit: usize, agent: &str, model: &str, micros: Option<u64>) -> Charge {
    Charge {
        commit,
        agent: agent.to_string(),
        model: model.to_string(),
        requests: 2,
        tokens: [10, 20, 30, 40],
        cost: micros.map(Money::from_micros),
        units: Default::default(),
        work_type: None,
    }
}

fn with_unit(mut charge: Charge, unit: &str, micros: u64) -> Charge {
    charge
        .units
        .insert(unit.to_string(), Money::from_micros(micros));
    charge
}

/// 2026-03-31T23:30:00Z: the last half hour of March, UTC.
const MARCH_31_LATE: i64 = 1_774_999_800;

fn ledger() -> Ledger {
    Ledger {
        commits: vec![
            commit('a', MARCH_31_LATE),
            commit('b', MARCH_31_LATE + 3600),
        ],
        charges: vec![
            charge(0, "claude-code", "claude-sonnet-4-5", Some(400_000)),
            // A second drain of the same model in the same commit: one row.
            charge(0, "claude-code", "claude-sonnet-4-5", Some(100_001)),
            with_unit(
                charge(0, "kiro", "auto", Some(52_000)),
                "credits",
                3_500_000,
            ),
            with_unit(
                charge(1, "copilot", "gpt-5", None),
                "premium-requests",
                12_000_000,
            ),
            with_unit(
                with_unit(charge(1, "kiro", "auto", Some(7)), "credits", 1_000_000),
                "premium-requests",
                2_000_000,
            ),
        ],
        ..Ledger::default()
    }
}

#[test]
fn one_row_per_commit_agent_model_and_unit_with_money_summed_in_integers() {
    let rows = rows(&ledger());
    let summary: Vec<(String, &str, u128, u128, u128)> = rows
        .iter()
        .map(|r| {
            (
                r.tags["commit"].as_str().unwrap()[..1].to_string(),
                r.pricing_unit.as_str(),
                r.cost_micros,
                r.pricing_micros,
                r.tokens,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a".to_string(), "Tokens", 500_001, 200_000_000, 200),
            ("a".to_string(), "Credits", 52_000, 3_500_000, 100),
            ("b".to_string(), "Premium Requests", 0, 12_000_000, 100),
            // Two units on one model line: the USD estimate and tokens go on the first only.
            ("b".to_string(), "Credits", 7, 1_000_000, 100),
            ("b".to_string(), "Premium Requests", 0, 2_000_000, 0),
        ]
    );
    // The USD total is the ledger's, whatever the units.
    let total: u128 = rows.iter().map(|r| r.cost_micros).sum();
    let ledger_total: u128 = ledger()
        .charges
        .iter()
        .map(|c| c.cost.unwrap_or_default().micros())
        .sum();
    assert_eq!(total, ledger_total);
}

#[test]
fn periods_are_the_utc_day_and_month_of_the_author_date() {
    let rows = rows(&ledger());
    let mut csv = Vec::new();
    write_csv(&rows[..1], &mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let record = reader.records().next().unwrap().unwrap();
    let get = |name: &str| &record[header.iter().position(|h| h == name).unwrap()];
    // 23:30 UTC on March 31st (00:30 on April 1st at the author's +01:00) is March 31st.
    assert_eq!(get("ChargePeriodStart"), "2026-03-31T00:00:00Z");
    assert_eq!(get("ChargePeriodEnd"), "2026-04-01T00:00:00Z");
    assert_eq!(get("BillingPeriodStart"), "2026-03-01T00:00:00Z");
    assert_eq!(get("BillingPeriodEnd"), "2026-04-01T00:00:00Z");
    // An hour later it is April, UTC.
    assert_eq!(rows[2].billing_period_start, rows[0].billing_period_end);
    assert_eq!(get("BilledCost"), "0.500001");
    assert_eq!(get("ListCost"), "0.500001");
    assert_eq!(get("PricingQuantity"), "200.000000");
    assert_eq!(get("ConsumedQuantity"), "200.000000");
    assert_eq!(get("ChargeClass"), "");
    assert_eq!(get("ProviderName"), "Anthropic");
    assert_eq!(get("ServiceName"), "Claude Code");
    assert_eq!(
        get("ChargeDescription"),
        "claude-sonnet-4-5 by claude-code: 4 requests, 200 tokens"
    );
    let tags: Value = serde_json::from_str(get("Tags")).unwrap();
    assert_eq!(
        tags,
        json!({"repository": "shop", "commit": "a".repeat(40), "author": "Dana <dana@example.com>",
               "branch": "cart", "pr": 42, "model": "claude-sonnet-4-5", "agent": "claude-code",
               "type": "feat"})
    );
}

#[test]
fn unpriced_and_credit_rows_say_so() {
    let rows = rows(&ledger());
    assert_eq!(
        rows[1].description,
        "auto by kiro: 3.5 credits, 2 requests, 100 tokens; USD estimate 0.052000"
    );
    assert_eq!(rows[1].provider, "Amazon Web Services");
    assert_eq!(
        rows[2].description,
        "gpt-5 by copilot: 12 premium-requests, 2 requests, 100 tokens; no USD price known, cost 0"
    );
    assert_eq!(rows[2].tags["unpriced"], true);
    assert_eq!(
        (rows[2].provider.as_str(), rows[2].publisher.as_str()),
        ("GitHub", "OpenAI")
    );
    assert!(!rows[0].tags.contains_key("unpriced"));
}

#[test]
fn unit_names_follow_focus_unit_format() {
    assert_eq!(unit_name("credits"), "Credits");
    assert_eq!(unit_name("premium-requests"), "Premium Requests");
    assert_eq!(unit_name("agent_minutes"), "Agent Minutes");
}

#[test]
fn opencode_bills_through_the_models_maker() {
    let ledger = Ledger {
        commits: vec![commit('a', 0)],
        charges: vec![
            charge(0, "opencode", "anthropic/claude-opus-4", Some(1)),
            charge(0, "mystery", "homegrown", Some(1)),
        ],
        ..Ledger::default()
    };
    let rows = rows(&ledger);
    let names: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.service.as_str(),
                r.provider.as_str(),
                r.publisher.as_str(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("OpenCode", "Anthropic", "Anthropic"),
            ("mystery", "mystery", "mystery")
        ]
    );
}

#[test]
fn parquet_has_typed_columns_and_every_row() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let rows = rows(&ledger());
    let bytes = to_parquet(&rows).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.num_rows(), rows.len() as i64);
    let schema = meta.schema_descr();
    let column = |name: &str| {
        (0..schema.num_columns())
            .map(|i| schema.column(i))
            .find(|c| c.name() == name)
            .unwrap()
    };
    let billed = column("BilledCost");
    let Some(parquet::basic::LogicalType::Decimal(decimal)) = billed.logical_type_ref() else {
        panic!("BilledCost is not a decimal")
    };
    assert_eq!((decimal.precision, decimal.scale), (18, 6));
    assert!(matches!(
        column("ChargePeriodStart").logical_type_ref(),
        Some(parquet::basic::LogicalType::Timestamp { .. })
    ));
    assert!(column("ChargeClass").self_type().is_optional());
    let version = meta
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|kv| kv.key == "FocusVersion")
        .unwrap();
    assert_eq!(version.value.as_deref(), Some("1.2"));
}

#[test]
fn a_value_too_large_for_the_parquet_decimal_is_an_error() {
    let mut rows = rows(&ledger());
    rows[0].cost_micros = DECIMAL_MAX + 1;
    let error = to_parquet(&rows).unwrap_err();
    assert_eq!(
        error.to_string(),
        "BilledCost 1000000000000.000000 does not fit a DECIMAL(18,6) Parquet column (at most 999999999999.999999)"
    );
}
