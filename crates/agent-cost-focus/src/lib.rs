//! The AI-cost trailers of history as FinOps FOCUS 1.2 cost and usage rows
//! (<https://focus.finops.org/focus-specification/v1-2/>), for FinOps tools, data warehouses
//! and spreadsheets; `agent-cost export --focus` prints or writes them.
//!
//! - [`rows`] turns a [`Ledger`] (every counted drain charged to one commit) into
//!   [`FocusRow`]s: one per commit × agent × model × type × pricing unit.
//! - [`write_csv`] writes them as CSV (decimals with six fractional digits, datetimes as
//!   `2026-12-01T00:00:00Z`, null as an empty field).
//! - [`to_parquet`] writes them as a Parquet file with typed columns: costs and quantities as
//!   `DECIMAL(18,6)` (exact, stored as INT64), datetimes as `TIMESTAMP(MICROS, UTC)`, text as
//!   `STRING`.
//!
//! The decisions, column by column, are in docs/focus.md. In short:
//!
//! - **Dollars only in cost columns.** BilledCost, EffectiveCost, ListCost and ContractedCost
//!   all hold the charge's USD cost (agent-cost knows list prices only, no discounts or
//!   commitments). Summing BilledCost over a file gives exactly the USD total of `agent-cost
//!   trailers sum` for the same range.
//! - **Other units only in quantity columns.** A charge billed in credits or premium requests
//!   is one row with that PricingUnit (`Credits`, `Premium Requests`) and the amount as
//!   PricingQuantity; its cost columns hold its USD estimate from the trailers (0 when it has
//!   none), never the amount. A charge billed in USD only has PricingUnit `Tokens`.
//! - **Dates.** The charge period is the UTC day of the commit's author date, the billing
//!   period its UTC calendar month.
//!
//! Money stays in integers (micro-units) until it is formatted.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use agent_cost_report::{Charge, CommitInfo, Ledger, Money};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use serde_json::{Value, json};

/// The FOCUS version the rows follow.
pub const FOCUS_VERSION: &str = "1.2";

/// Micro-units per whole unit: decimals carry six fractional digits.
const MICROS: u128 = 1_000_000;

/// The largest value a `DECIMAL(18,6)` Parquet column holds, in micro-units.
const DECIMAL_MAX: u128 = 999_999_999_999_999_999;

const SECONDS_PER_DAY: i64 = 86_400;

/// An error writing FOCUS rows.
#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    /// Writing CSV failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing Parquet failed.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A value does not fit its Parquet column (`DECIMAL(18,6)` holds less than 10¹²).
    #[error(
        "{column} {value} does not fit a DECIMAL(18,6) Parquet column (at most 999999999999.999999)"
    )]
    TooLarge {
        /// The column.
        column: &'static str,
        /// The value, as CSV writes it.
        value: String,
    },
}

/// A column's type, in FOCUS terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Decimal: six fractional digits in CSV, `DECIMAL(18,6)` in Parquet.
    Decimal,
    /// Date/Time: `YYYY-MM-DDTHH:MM:SSZ` in CSV, `TIMESTAMP(MICROS, UTC)` in Parquet.
    DateTime,
    /// String, never null.
    String,
    /// String, null in every row agent-cost writes (a column FOCUS requires but that has no
    /// value here).
    NullString,
    /// JSON object (FOCUS KeyValueFormat): text in CSV, `STRING` in Parquet.
    Json,
}

/// The columns, in the order written (the specification's: alphabetical).
pub const COLUMNS: [(&str, ColumnType); 26] = [
    ("BilledCost", ColumnType::Decimal),
    ("BillingAccountId", ColumnType::String),
    ("BillingAccountName", ColumnType::String),
    ("BillingCurrency", ColumnType::String),
    ("BillingPeriodEnd", ColumnType::DateTime),
    ("BillingPeriodStart", ColumnType::DateTime),
    ("ChargeCategory", ColumnType::String),
    ("ChargeClass", ColumnType::NullString),
    ("ChargeDescription", ColumnType::String),
    ("ChargeFrequency", ColumnType::String),
    ("ChargePeriodEnd", ColumnType::DateTime),
    ("ChargePeriodStart", ColumnType::DateTime),
    ("ConsumedQuantity", ColumnType::Decimal),
    ("ConsumedUnit", ColumnType::String),
    ("ContractedCost", ColumnType::Decimal),
    ("EffectiveCost", ColumnType::Decimal),
    ("InvoiceIssuerName", ColumnType::String),
    ("ListCost", ColumnType::Decimal),
    ("PricingQuantity", ColumnType::Decimal),
    ("PricingUnit", ColumnType::String),
    ("ProviderName", ColumnType::String),
    ("PublisherName", ColumnType::String),
    ("ServiceCategory", ColumnType::String),
    ("ServiceName", ColumnType::String),
    ("ServiceSubcategory", ColumnType::String),
    ("Tags", ColumnType::Json),
];

/// The PricingUnit and ConsumedUnit of spend counted in tokens and priced in USD.
pub const TOKENS: &str = "Tokens";

/// One FOCUS row: what one agent's model cost one commit in one pricing unit.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRow {
    /// ChargePeriodStart, seconds since the epoch: the start of the author date's UTC day.
    pub charge_period_start: i64,
    /// BillingPeriodStart: the start of that day's UTC month.
    pub billing_period_start: i64,
    /// BillingPeriodEnd (exclusive): the start of the next UTC month.
    pub billing_period_end: i64,
    /// BilledCost (= EffectiveCost = ListCost = ContractedCost) in micro-dollars.
    pub cost_micros: u128,
    /// PricingQuantity in micro-units of [`FocusRow::pricing_unit`].
    pub pricing_micros: u128,
    /// PricingUnit: `Tokens`, `Credits`, `Premium Requests`, …
    pub pricing_unit: String,
    /// ConsumedQuantity: tokens (input, output, cache write and read).
    pub tokens: u128,
    /// BillingAccountId and BillingAccountName: the repository's name.
    pub repository: String,
    /// ChargeDescription.
    pub description: String,
    /// ProviderName and InvoiceIssuerName.
    pub provider: String,
    /// PublisherName: who made the model.
    pub publisher: String,
    /// ServiceName: the agent's product name.
    pub service: String,
    /// Tags: repository, commit, author, branch, pr, model, agent, type (and `unpriced`).
    pub tags: serde_json::Map<String, Value>,
}

/// One cell, typed.
#[derive(Debug, Clone, PartialEq)]
enum Cell<'a> {
    Decimal(u128),
    DateTime(i64),
    Text(&'a str),
    Null,
    Json(String),
}

impl FocusRow {
    /// ChargePeriodEnd (exclusive): the end of the author date's UTC day.
    pub fn charge_period_end(&self) -> i64 {
        self.charge_period_start + SECONDS_PER_DAY
    }

    fn cell(&self, column: &str) -> Cell<'_> {
        match column {
            "BilledCost" | "ContractedCost" | "EffectiveCost" | "ListCost" => {
                Cell::Decimal(self.cost_micros)
            }
            "BillingAccountId" | "BillingAccountName" => Cell::Text(&self.repository),
            "BillingCurrency" => Cell::Text("USD"),
            "BillingPeriodEnd" => Cell::DateTime(self.billing_period_end),
            "BillingPeriodStart" => Cell::DateTime(self.billing_period_start),
            "ChargeCategory" => Cell::Text("Usage"),
            "ChargeDescription" => Cell::Text(&self.description),
            "ChargeFrequency" => Cell::Text("Usage-Based"),
            "ChargePeriodEnd" => Cell::DateTime(self.charge_period_end()),
            "ChargePeriodStart" => Cell::DateTime(self.charge_period_start),
            "ConsumedQuantity" => Cell::Decimal(self.tokens * MICROS),
            "ConsumedUnit" => Cell::Text(TOKENS),
            "InvoiceIssuerName" | "ProviderName" => Cell::Text(&self.provider),
            "PricingQuantity" => Cell::Decimal(self.pricing_micros),
            "PricingUnit" => Cell::Text(&self.pricing_unit),
            "PublisherName" => Cell::Text(&self.publisher),
            "ServiceCategory" => Cell::Text("AI and Machine Learning"),
            "ServiceName" => Cell::Text(&self.service),
            "ServiceSubcategory" => Cell::Text("Generative AI"),
            "Tags" => Cell::Json(Value::Object(self.tags.clone()).to_string()),
            _ => Cell::Null,
        }
    }
}

/// `12.345678` from micro-units.
fn decimal(micros: u128) -> String {
    format!("{}.{:06}", micros / MICROS, micros % MICROS)
}

/// `2026-12-01T00:00:00Z`.
fn datetime(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// A unit word of the trailers as a FOCUS unit (UnitFormat: capitalized nouns):
/// `credits` → `Credits`, `premium-requests` → `Premium Requests`.
pub fn unit_name(unit: &str) -> String {
    unit.split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The agent's product (ServiceName) and the company that sells it (ProviderName); `None`
/// for the provider of an agent that bills through the model's maker (OpenCode) or is unknown.
fn agent_service(agent: &str) -> (String, Option<&'static str>) {
    let (service, provider) = match agent {
        "claude-code" => ("Claude Code", Some("Anthropic")),
        "codex" => ("Codex CLI", Some("OpenAI")),
        "copilot" => ("GitHub Copilot", Some("GitHub")),
        "gemini-cli" => ("Gemini CLI", Some("Google")),
        "opencode" => ("OpenCode", None),
        "cursor" => ("Cursor", Some("Cursor")),
        "kiro" => ("Kiro", Some("Amazon Web Services")),
        other => return (other.to_string(), None),
    };
    (service.to_string(), provider)
}

/// Who made a model (PublisherName), from its name; `None` when not known.
fn model_publisher(model: &str) -> Option<&'static str> {
    let model = model.to_ascii_lowercase();
    let model = model.rsplit('/').next().unwrap_or(&model);
    let makers: [(&[&str], &'static str); 8] = [
        (&["claude", "anthropic"], "Anthropic"),
        (&["gpt", "o1", "o3", "o4", "codex", "chatgpt"], "OpenAI"),
        (&["gemini", "gemma"], "Google"),
        (&["grok"], "xAI"),
        (&["deepseek"], "DeepSeek"),
        (&["mistral", "codestral", "devstral"], "Mistral AI"),
        (&["llama"], "Meta"),
        (&["qwen"], "Alibaba Cloud"),
    ];
    makers
        .iter()
        .find(|(prefixes, _)| prefixes.iter().any(|p| model.starts_with(p)))
        .map(|(_, maker)| *maker)
}

/// The start of the UTC day and of the UTC month holding `time`, and of the next month.
fn periods(time: i64) -> (i64, i64, i64) {
    let day = time.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY;
    let month = |date: jiff::civil::Date| {
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .map_or(day, |zoned| zoned.timestamp().as_second())
    };
    let date = jiff::Timestamp::from_second(day)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month();
    let next = date.last_of_month().tomorrow().unwrap_or(date);
    (day, month(date), month(next))
}

/// One share of a charge: its amount in one pricing unit.
struct Share<'a> {
    unit: Option<&'a str>,
    pricing_micros: u128,
    cost_micros: u128,
    tokens: u128,
    requests: u64,
}

/// A charge's shares: one in tokens for a charge billed in USD only; else one per other unit
/// it was billed in, the first (by unit name) carrying its USD estimate, requests and tokens, so that
/// nothing is counted twice.
fn shares(charge: &Charge) -> Vec<Share<'_>> {
    let cost = charge.cost.unwrap_or(Money::ZERO).micros();
    let tokens: u128 = charge.tokens.iter().map(|&n| u128::from(n)).sum();
    if charge.units.is_empty() {
        return vec![Share {
            unit: None,
            pricing_micros: tokens * MICROS,
            cost_micros: cost,
            tokens,
            requests: charge.requests,
        }];
    }
    charge
        .units
        .iter()
        .enumerate()
        .map(|(i, (unit, amount))| Share {
            unit: Some(unit.as_str()),
            pricing_micros: amount.micros(),
            cost_micros: if i == 0 { cost } else { 0 },
            tokens: if i == 0 { tokens } else { 0 },
            requests: if i == 0 { charge.requests } else { 0 },
        })
        .collect()
}

/// What a row adds up, before its description is written.
struct Sums {
    row: FocusRow,
    requests: u64,
    unpriced: bool,
    unit_word: Option<String>,
    model: String,
    agent: String,
}

fn tags(commit: &CommitInfo, charge: &Charge) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "repository": commit.repo,
        "commit": commit.id,
        "author": commit.author(),
        "branch": commit.branch,
        "pr": commit.pr,
        "model": charge.model,
        "agent": charge.agent,
        "type": charge.kind(commit),
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}

/// The FOCUS rows of a ledger: one per commit × agent × model × type × pricing unit, in the
/// ledger's order (walk order of the commits), the charges of each summed in integers.
pub fn rows(ledger: &Ledger) -> Vec<FocusRow> {
    let mut index: HashMap<(usize, &str, &str, &str, Option<&str>), usize> = HashMap::new();
    let mut sums: Vec<Sums> = Vec::new();
    for charge in &ledger.charges {
        let commit = &ledger.commits[charge.commit];
        let kind = charge.kind(commit);
        for share in shares(charge) {
            let key = (
                charge.commit,
                charge.agent.as_str(),
                charge.model.as_str(),
                kind,
                share.unit,
            );
            let at = *index.entry(key).or_insert_with(|| {
                let (service, provider) = agent_service(&charge.agent);
                let publisher = model_publisher(&charge.model);
                let provider = provider
                    .or(publisher)
                    .map_or_else(|| service.clone(), str::to_string);
                let (day, month, next_month) = periods(commit.author_time);
                sums.push(Sums {
                    row: FocusRow {
                        charge_period_start: day,
                        billing_period_start: month,
                        billing_period_end: next_month,
                        cost_micros: 0,
                        pricing_micros: 0,
                        pricing_unit: share.unit.map_or(TOKENS.to_string(), unit_name),
                        tokens: 0,
                        repository: commit.repo.clone(),
                        description: String::new(),
                        publisher: publisher.map_or_else(|| provider.clone(), str::to_string),
                        provider,
                        service,
                        tags: tags(commit, charge),
                    },
                    requests: 0,
                    unpriced: false,
                    unit_word: share.unit.map(str::to_string),
                    model: charge.model.clone(),
                    agent: charge.agent.clone(),
                });
                sums.len() - 1
            });
            let entry = &mut sums[at];
            entry.row.cost_micros += share.cost_micros;
            entry.row.pricing_micros += share.pricing_micros;
            entry.row.tokens += share.tokens;
            entry.requests += share.requests;
            entry.unpriced |= charge.cost.is_none();
        }
    }
    sums.into_iter()
        .map(|mut sums| {
            let what = match &sums.unit_word {
                None => format!("{} requests, {} tokens", sums.requests, sums.row.tokens),
                Some(unit) => format!(
                    "{} {unit}, {} requests, {} tokens",
                    trimmed(sums.row.pricing_micros),
                    sums.requests,
                    sums.row.tokens
                ),
            };
            let price = if sums.unpriced {
                "; no USD price known, cost 0".to_string()
            } else if sums.unit_word.is_some() {
                format!("; USD estimate {}", decimal(sums.row.cost_micros))
            } else {
                String::new()
            };
            sums.row.description = format!("{} by {}: {what}{price}", sums.model, sums.agent);
            if sums.unpriced {
                sums.row
                    .tags
                    .insert("unpriced".to_string(), Value::Bool(true));
            }
            sums.row
        })
        .collect()
}

/// `3.5` from micro-units (as trailers write amounts in units other than USD).
fn trimmed(micros: u128) -> String {
    Money(micros.saturating_mul(Money::from_micros(1).0)).to_decimal_trimmed()
}

/// Writes `rows` as CSV, with a header of [`COLUMNS`].
pub fn write_csv(rows: &[FocusRow], out: impl Write) -> Result<(), FocusError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS.iter().map(|(name, _)| *name))?;
    for row in rows {
        writer.write_record(COLUMNS.iter().map(|(name, _)| match row.cell(name) {
            Cell::Decimal(micros) => decimal(micros),
            Cell::DateTime(seconds) => datetime(seconds),
            Cell::Text(text) => text.to_string(),
            Cell::Null => String::new(),
            Cell::Json(text) => text,
        }))?;
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(())
}

/// The Parquet schema of [`COLUMNS`], in the Parquet schema language.
pub fn parquet_schema() -> String {
    let fields: Vec<String> = COLUMNS
        .iter()
        .map(|(name, kind)| match kind {
            ColumnType::Decimal => format!("required int64 {name} (DECIMAL(18,6));"),
            ColumnType::DateTime => format!("required int64 {name} (TIMESTAMP(MICROS,true));"),
            ColumnType::String | ColumnType::Json => format!("required binary {name} (STRING);"),
            ColumnType::NullString => format!("optional binary {name} (STRING);"),
        })
        .collect();
    format!("message focus {{\n  {}\n}}", fields.join("\n  "))
}

/// `rows` as a Parquet file (one row group, uncompressed), with the key-value metadata
/// `FocusVersion` = [`FOCUS_VERSION`].
pub fn to_parquet(rows: &[FocusRow]) -> Result<Vec<u8>, FocusError> {
    let schema = Arc::new(parquet::schema::parser::parse_message_type(
        &parquet_schema(),
    )?);
    let properties = WriterProperties::builder()
        .set_created_by(format!("agent-cost {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "FocusVersion".to_string(),
            FOCUS_VERSION.to_string(),
        )]))
        .build();
    let mut buffer = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buffer, schema, Arc::new(properties))?;
    let mut group = writer.next_row_group()?;
    let mut columns = COLUMNS.iter();
    while let Some(mut column) = group.next_column()? {
        let Some(&(name, kind)) = columns.next() else {
            break;
        };
        match kind {
            ColumnType::Decimal | ColumnType::DateTime => {
                let values = rows
                    .iter()
                    .map(|row| match row.cell(name) {
                        Cell::DateTime(seconds) => Ok(seconds * 1_000_000),
                        Cell::Decimal(micros) if micros <= DECIMAL_MAX => Ok(micros as i64),
                        Cell::Decimal(micros) => Err(FocusError::TooLarge {
                            column: name,
                            value: decimal(micros),
                        }),
                        _ => Ok(0),
                    })
                    .collect::<Result<Vec<i64>, FocusError>>()?;
                column
                    .typed::<Int64Type>()
                    .write_batch(&values, None, None)?;
            }
            ColumnType::String | ColumnType::Json => {
                let values: Vec<ByteArray> = rows
                    .iter()
                    .map(|row| match row.cell(name) {
                        Cell::Text(text) => ByteArray::from(text),
                        Cell::Json(text) => ByteArray::from(text.into_bytes()),
                        _ => ByteArray::from(""),
                    })
                    .collect();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&values, None, None)?;
            }
            ColumnType::NullString => {
                let nulls = vec![0i16; rows.len()];
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&[], Some(&nulls), None)?;
            }
        }
        column.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(buffer)
}

#[cfg(test)]
mod tests;
