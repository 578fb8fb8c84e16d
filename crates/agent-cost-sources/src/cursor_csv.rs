//! Cursor's dashboard usage export (`usage-events-*.csv`): its header variants, its rows as
//! usage events of the agent `cursor`, and the ids that make importing a file twice, or an
//! overlapping later export, add nothing.
//!
//! Cursor keeps no local per-request log; its dashboard exports one CSV row per request. Three
//! header variants are known (columns are found by name, so their order does not matter):
//!
//! - `Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost`
//! - the same with `Kind` and `Max Mode`;
//! - the same with `Cloud Agent ID` and `Automation ID` (team exports also have `User`).
//!
//! This module only reads: it never decides which rows belong to which worktree or window
//! (the `import cursor` command does), and it never panics on what a file holds. A row it
//! cannot read is returned as [`Skipped`] with its line number and reason. Money is parsed as
//! integers (micro-dollars), never through floating point. See `docs/cursor-import.md`.

use std::collections::HashMap;
use std::io::Read;

use agent_cost_events::{
    Agent, MAX_TOKENS_PER_REQUEST, Money, Quantity, RepeatRule, TokenCounts, Unit, UsageEvent,
};
use sha2::{Digest, Sha256};

/// The agent name Cursor's rows are recorded under.
pub const AGENT: &str = "cursor";

/// What a Max Mode row's model name gets appended, so that trailers show it
/// (`claude-4.5-sonnet+max`): `+` is in no price list's names, so the suffix is never taken
/// for part of a model's name (`gpt-5.1-codex-max` is a model).
pub const MAX_MODE_SUFFIX: &str = "+max";

/// The header variants Cursor's dashboard has exported, oldest first.
pub const HEADER_VARIANTS: [&str; 3] = [
    "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost",
    "Date,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost",
    "Date,Cloud Agent ID,Automation ID,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost",
];

/// Columns every variant has and a row needs.
const REQUIRED: [&str; 7] = [
    DATE,
    MODEL,
    INPUT_WITH_CACHE_WRITE,
    INPUT_WITHOUT_CACHE_WRITE,
    CACHE_READ,
    OUTPUT,
    COST,
];
/// Columns some variants have; known, so not reported as ignored.
const OPTIONAL: [&str; 6] = [KIND, MAX_MODE, TOTAL, USER, CLOUD_AGENT, AUTOMATION];

const DATE: &str = "Date";
const MODEL: &str = "Model";
const INPUT_WITH_CACHE_WRITE: &str = "Input (w/ Cache Write)";
const INPUT_WITHOUT_CACHE_WRITE: &str = "Input (w/o Cache Write)";
const CACHE_READ: &str = "Cache Read";
const OUTPUT: &str = "Output Tokens";
const COST: &str = "Cost";
const KIND: &str = "Kind";
const MAX_MODE: &str = "Max Mode";
const TOTAL: &str = "Total Tokens";
const USER: &str = "User";
const CLOUD_AGENT: &str = "Cloud Agent ID";
const AUTOMATION: &str = "Automation ID";

/// The largest file read as an export: a year of a heavy user's rows is a few MiB.
pub const MAX_EXPORT: u64 = 256 << 20;

/// The longest model name accepted (a longer one is a bad row).
const MAX_MODEL_NAME: usize = 200;

/// Why a file cannot be read as a Cursor export at all.
#[derive(Debug, thiserror::Error)]
pub enum CursorCsvError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file has no header line.
    #[error("the file is empty; a Cursor usage export starts with a header line")]
    Empty,
    /// The header lacks columns every Cursor export has.
    #[error(
        "this is not a Cursor usage export: its header `{found}` lacks {}; expected one of:\n  {}",
        missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
        HEADER_VARIANTS.join("\n  ")
    )]
    NotAnExport {
        /// The header as read (truncated).
        found: String,
        /// The required columns it lacks.
        missing: Vec<String>,
    },
    /// The file is larger than any export (and is not read whole).
    #[error("the file is over {} MiB: too large to be a Cursor usage export", MAX_EXPORT >> 20)]
    TooLarge,
    /// The header names a column twice.
    #[error("the header names the column `{0}` twice")]
    DuplicateColumn(String),
}

/// Which header variant a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Without `Kind` and `Max Mode` (the oldest exports).
    Basic,
    /// With `Kind` and `Max Mode`.
    WithKind,
    /// With `Cloud Agent ID` and `Automation ID` (the newest exports).
    WithCloudAgent,
}

impl Variant {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Basic => "basic",
            Variant::WithKind => "kind-and-max-mode",
            Variant::WithCloudAgent => "cloud-agent",
        }
    }
}

/// What a row says about its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// A cost in micro-dollars (`$0.50`, `0.49`, `0`).
    Usd(u64),
    /// No cost in the file (blank, `Included`, `Free`, `-`): priced by tokens if the model is
    /// known, else unpriced.
    NotGiven,
    /// The row's `Kind` says it was not charged (`Errored, No Charge`, `Aborted, Not Charged`)
    /// and the cost cell is blank: zero.
    NotCharged,
}

impl Cost {
    /// The cost in micro-dollars the file gives (zero for rows not charged), if any.
    pub fn micros(self) -> Option<u64> {
        match self {
            Cost::Usd(micros) => Some(micros),
            Cost::NotCharged => Some(0),
            Cost::NotGiven => None,
        }
    }
}

/// One request of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    /// When the request was made.
    pub timestamp: jiff::Timestamp,
    /// Cursor's `Kind` (`Included`, `Usage-based`, `Errored, No Charge`, …), if the file has it.
    pub kind: Option<String>,
    /// The model as the ledger records it: Cursor's name, with [`MAX_MODE_SUFFIX`] for Max
    /// Mode.
    pub model: String,
    /// True for a Max Mode request (the `Max Mode` column, or a `(MAX)` label on the model).
    pub max_mode: bool,
    /// Token counts: input without cache write, cache write (5-minute), cache read, output.
    pub tokens: TokenCounts,
    /// The cost the file gives.
    pub cost: Cost,
    /// The Cloud Agent that made the request, if any.
    pub cloud_agent: Option<String>,
    /// The row's stable id (see [`read`]).
    pub event_id: String,
}

impl Row {
    /// The row as a usage event of the agent `cursor`, in `cwd`. A cost in the file is both the
    /// event's `source_cost` and a quantity in USD, which keeps it in a group of its own that
    /// is priced at the cost the file gave (see `agent-cost-hooks`' drain); a row without a
    /// cost has neither, and is priced by its tokens.
    pub fn event(&self, cwd: &str) -> UsageEvent {
        let micros = self.cost.micros();
        let session_id = match &self.cloud_agent {
            Some(id) => format!("cursor-cloud-agent:{id}"),
            None => format!("cursor-day:{}", self.timestamp.strftime("%Y-%m-%d")),
        };
        UsageEvent {
            agent: Agent::new(AGENT),
            event_id: self.event_id.clone(),
            variant: String::new(),
            repeat: RepeatRule::LargestCopy,
            session_id,
            model: self.model.clone(),
            timestamp: self.timestamp.to_string(),
            tokens: self.tokens,
            requests: 1,
            quantity: micros.map(|micros| Quantity {
                unit: Unit::new("USD"),
                micros,
            }),
            source_cost: micros.map(Money::from_micros),
            cwd: cwd.to_string(),
            git_branch: None,
            sidechain: false,
            speed: None,
        }
    }
}

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The row is not valid CSV, not UTF-8, or has a different number of fields than the
    /// header.
    Malformed,
    /// The date is missing or not a date.
    BadDate,
    /// The model is missing or has control characters.
    BadModel,
    /// A token count is not a whole number, is implausibly large, or the input with cache
    /// write is less than the input without it.
    BadTokens,
    /// The cost is neither an amount nor a known word for "no cost".
    BadCost,
}

impl SkipReason {
    /// A short name for reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed",
            SkipReason::BadDate => "bad-date",
            SkipReason::BadModel => "bad-model",
            SkipReason::BadTokens => "bad-tokens",
            SkipReason::BadCost => "bad-cost",
        }
    }
}

/// A row that was not read, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The line the row starts on.
    pub line: u64,
    /// Why.
    pub reason: SkipReason,
    /// What exactly, for people.
    pub detail: String,
}

/// A whole export, read.
#[derive(Debug, Clone)]
pub struct Export {
    /// The header variant.
    pub variant: Variant,
    /// The rows read, in file order.
    pub rows: Vec<Row>,
    /// The rows skipped, in file order.
    pub skipped: Vec<Skipped>,
    /// Header columns this reader does not know (their values are ignored).
    pub ignored_columns: Vec<String>,
}

/// Where each known column is.
struct Columns {
    index: HashMap<&'static str, usize>,
    width: usize,
}

impl Columns {
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        self.index
            .get(column)
            .and_then(|&i| record.get(i))
            .map(str::trim)
    }
}

/// Reads an export. A UTF-8 byte order mark, CRLF line ends, quoted fields (with commas,
/// quotes or line breaks) and blank lines are fine.
///
/// Each row's id is `cursor-` and a SHA-256 (first 32 hex digits) of what identifies the
/// request whatever the header variant or the cost's spelling: its instant (milliseconds),
/// Cursor's model name, and its four token counts, followed by `-N` for the N-th row of the
/// file with that content (identical rows are distinct requests). The same request in a later,
/// overlapping export therefore has the same id.
pub fn read(reader: impl Read) -> Result<Export, CursorCsvError> {
    // Dashboard exports are small: read whole, so that line numbers come from byte offsets
    // (the CSV reader's own line count skips blank lines).
    let mut bytes = Vec::new();
    reader.take(MAX_EXPORT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_EXPORT {
        return Err(CursorCsvError::TooLarge);
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let newlines: Vec<usize> = memchr::memchr_iter(b'\n', text).collect();
    // A record's position is where the reader resumed: before the line ends (and blank lines)
    // that precede the record itself.
    let line_at = |byte: u64| {
        let start = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        let first = text[start..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(text.len(), |i| start + i);
        1 + newlines.partition_point(|&n| n < first) as u64
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut records = csv.byte_records();
    let header = loop {
        match records.next() {
            None => return Err(CursorCsvError::Empty),
            Some(Err(e)) => return Err(csv_error(e)),
            Some(Ok(record)) if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) => {
                continue;
            }
            Some(Ok(record)) => break record,
        }
    };
    let (columns, variant, ignored_columns) = columns(&header)?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(csv_error(e));
                }
                skipped.push(Skipped {
                    line,
                    reason: SkipReason::Malformed,
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        match row(&columns, record, line) {
            Ok(mut row) => {
                let base = row_hash(&row);
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                row.event_id = format!("{base}-{n}");
                rows.push(row);
            }
            Err(skip) => skipped.push(skip),
        }
    }
    Ok(Export {
        variant,
        rows,
        skipped,
        ignored_columns,
    })
}

/// A field as a skip's detail shows it: at most 60 characters, control characters replaced.
fn shown(text: &str) -> String {
    const MAX: usize = 60;
    let mut shown: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        shown.push('…');
    }
    shown
}

fn csv_error(e: csv::Error) -> CursorCsvError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => CursorCsvError::Io(e),
        other => CursorCsvError::NotAnExport {
            found: format!("{other:?}").chars().take(80).collect(),
            missing: REQUIRED.iter().map(|c| c.to_string()).collect(),
        },
    }
}

/// The known columns of a header, its variant and the columns it has that are not known.
fn columns(header: &csv::ByteRecord) -> Result<(Columns, Variant, Vec<String>), CursorCsvError> {
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let text = String::from_utf8_lossy(field);
            let text = if i == 0 {
                text.trim_start_matches('\u{feff}')
            } else {
                &text
            };
            text.trim().to_string()
        })
        .collect();
    let mut index = HashMap::new();
    let mut ignored = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let known = REQUIRED
            .iter()
            .chain(OPTIONAL.iter())
            .find(|known| known.eq_ignore_ascii_case(name));
        match known {
            Some(known) => {
                if index.insert(*known, i).is_some() {
                    return Err(CursorCsvError::DuplicateColumn(known.to_string()));
                }
            }
            None if name.is_empty() => {}
            None => ignored.push(shown(name)),
        }
    }
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|c| !index.contains_key(*c))
        .map(|c| c.to_string())
        .collect();
    if !missing.is_empty() {
        let mut found: String = names.join(",").chars().take(120).collect();
        if found.len() < names.join(",").len() {
            found.push('…');
        }
        return Err(CursorCsvError::NotAnExport { found, missing });
    }
    let variant = if index.contains_key(CLOUD_AGENT) || index.contains_key(AUTOMATION) {
        Variant::WithCloudAgent
    } else if index.contains_key(KIND) || index.contains_key(MAX_MODE) {
        Variant::WithKind
    } else {
        Variant::Basic
    };
    Ok((
        Columns {
            index,
            width: names.len(),
        },
        variant,
        ignored,
    ))
}

/// One record as a row, or why it is skipped.
fn row(columns: &Columns, record: csv::ByteRecord, line: u64) -> Result<Row, Skipped> {
    let skip = |reason, detail: String| Skipped {
        line,
        reason,
        detail,
    };
    if record.len() != columns.width {
        return Err(skip(
            SkipReason::Malformed,
            format!(
                "{} fields where the header has {}",
                record.len(),
                columns.width
            ),
        ));
    }
    let record = csv::StringRecord::from_byte_record(record)
        .map_err(|_| skip(SkipReason::Malformed, "not UTF-8 text".to_string()))?;
    let field = |column| columns.get(&record, column).unwrap_or("");
    let date = field(DATE);
    let timestamp = parse_date(date).ok_or_else(|| {
        skip(
            SkipReason::BadDate,
            format!("`{}` is not a date", shown(date)),
        )
    })?;
    let (model, labelled_max) = model_name(field(MODEL)).ok_or_else(|| {
        skip(
            SkipReason::BadModel,
            format!("`{}` is not a model name", shown(field(MODEL))),
        )
    })?;
    let count = |column: &'static str| {
        let text = field(column);
        parse_count(text).ok_or_else(|| {
            skip(
                SkipReason::BadTokens,
                format!("{column} `{}` is not a token count", shown(text)),
            )
        })
    };
    let with_cache_write = count(INPUT_WITH_CACHE_WRITE)?;
    let input = count(INPUT_WITHOUT_CACHE_WRITE)?;
    let cache_read = count(CACHE_READ)?;
    let output = count(OUTPUT)?;
    let Some(cache_write) = with_cache_write.checked_sub(input) else {
        return Err(skip(
            SkipReason::BadTokens,
            format!(
                "{INPUT_WITH_CACHE_WRITE} {with_cache_write} is less than {INPUT_WITHOUT_CACHE_WRITE} {input}"
            ),
        ));
    };
    let tokens = TokenCounts {
        input,
        output,
        cache_write_5m: cache_write,
        cache_write_1h: 0,
        cache_read,
    };
    let kind = columns
        .get(&record, KIND)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let cost_text = field(COST);
    let cost = match parse_cost(cost_text) {
        Some(Cost::NotGiven) if kind.as_deref().is_some_and(not_charged) => Cost::NotCharged,
        Some(cost) => cost,
        None => {
            return Err(skip(
                SkipReason::BadCost,
                format!("{COST} `{}` is not an amount", shown(cost_text)),
            ));
        }
    };
    let max_mode = labelled_max || columns.get(&record, MAX_MODE).is_some_and(is_yes);
    let model = if max_mode {
        format!("{model}{MAX_MODE_SUFFIX}")
    } else {
        model
    };
    let cloud_agent = columns
        .get(&record, CLOUD_AGENT)
        .filter(|id| !id.is_empty() && !id.eq_ignore_ascii_case("none") && *id != "-")
        .map(str::to_string);
    Ok(Row {
        line,
        timestamp,
        kind,
        model,
        max_mode,
        tokens,
        cost,
        cloud_agent,
        event_id: String::new(),
    })
}

/// The part of a row's id shared by identical rows.
fn row_hash(row: &Row) -> String {
    let model = row
        .model
        .strip_suffix(MAX_MODE_SUFFIX)
        .unwrap_or(&row.model);
    let t = &row.tokens;
    let content = format!(
        "cursor-csv-v1\x1f{}\x1f{model}\x1f{}\x1f{}\x1f{}\x1f{}",
        row.timestamp.as_millisecond(),
        t.input,
        t.cache_write_5m,
        t.cache_read,
        t.output
    );
    let digest = Sha256::digest(content.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("cursor-{hex}")
}

/// An instant: RFC 3339 (`2025-06-30T21:24:32.214Z`), or a date and time without an offset
/// (`2025-06-30 21:24:32`, taken as UTC), or a plain date (midnight UTC).
pub fn parse_date(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// Cursor's model name, and whether it carries a Max Mode label (`claude-4-opus (MAX)`,
/// `claude-4-opus MAX`); `None` when blank or with control characters. Cursor's model ids
/// have no spaces, so a label after a space can only be a mode; other spaces become `-`
/// (trailers separate words by spaces).
fn model_name(text: &str) -> Option<(String, bool)> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_MODEL_NAME || text.chars().any(char::is_control) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let mut max = false;
    let mut base = text;
    for label in [" (max mode)", " (max)", " max"] {
        if lower.ends_with(label) {
            base = text[..text.len() - label.len()].trim_end();
            max = true;
            break;
        }
    }
    if base.is_empty() {
        return None;
    }
    let name = base.split_whitespace().collect::<Vec<_>>().join("-");
    Some((name, max))
}

/// A token count: digits (with optional `,` or `_` thousands separators); blank is zero.
fn parse_count(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_TOKENS_PER_REQUEST)
}

/// A cost cell: `$0.50`, `0.49`, `$1,234.5`, `USD 0.5` or `0.5 USD` as micro-dollars
/// (more than six fractional digits round half up); blank, `Included`, `Free`, `-` and `N/A` as
/// [`Cost::NotGiven`]; anything else (negative amounts included) `None`.
pub fn parse_cost(text: &str) -> Option<Cost> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "" | "included" | "free" | "-" | "n/a" | "na"
    ) {
        return Some(Cost::NotGiven);
    }
    let amount = lower
        .strip_prefix("usd")
        .or_else(|| lower.strip_suffix("usd"))
        .unwrap_or(&lower)
        .trim();
    let amount = amount.strip_prefix('$').unwrap_or(amount).trim();
    let amount: String = amount.chars().filter(|c| *c != ',').collect();
    let (whole, fraction) = amount.split_once('.').unwrap_or((&amount, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 12
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros: u64 = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        let d = u64::from(digit - b'0');
        match i {
            0..6 => micros = micros * 10 + d,
            6 => {
                if d >= 5 {
                    micros += 1;
                }
            }
            _ => break,
        }
    }
    // Pad to six digits.
    for _ in fraction.len()..6 {
        micros *= 10;
    }
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(micros))
        .map(Cost::Usd)
}

/// True for a `Kind` that says the request was not charged.
fn not_charged(kind: &str) -> bool {
    let kind = kind.to_ascii_lowercase();
    kind.contains("no charge") || kind.contains("not charged")
}

/// True for a Max Mode cell that says yes.
fn is_yes(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "1" | "y" | "on" | "max"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Export {
        read(text.as_bytes()).unwrap()
    }

    #[test]
    fn costs_are_exact_micro_dollars() {
        assert_eq!(parse_cost("$0.50"), Some(Cost::Usd(500_000)));
        assert_eq!(parse_cost("0.49"), Some(Cost::Usd(490_000)));
        assert_eq!(parse_cost(" $1,234.5 "), Some(Cost::Usd(1_234_500_000)));
        assert_eq!(parse_cost("0"), Some(Cost::Usd(0)));
        assert_eq!(parse_cost(".5"), Some(Cost::Usd(500_000)));
        assert_eq!(parse_cost("0.0000005"), Some(Cost::Usd(1)));
        assert_eq!(parse_cost("0.0000004999"), Some(Cost::Usd(0)));
        assert_eq!(parse_cost("0.9999995"), Some(Cost::Usd(1_000_000)));
        assert_eq!(parse_cost("USD 2"), Some(Cost::Usd(2_000_000)));
        assert_eq!(parse_cost(""), Some(Cost::NotGiven));
        assert_eq!(parse_cost("Included"), Some(Cost::NotGiven));
        for bad in [
            "-1",
            "$-0.5",
            "abc",
            "1e3",
            ".",
            "$",
            "1.2.3",
            "9999999999999",
        ] {
            assert_eq!(parse_cost(bad), None, "{bad}");
        }
    }

    #[test]
    fn model_labels_and_counts() {
        assert_eq!(
            model_name("claude-4-opus (MAX)"),
            Some(("claude-4-opus".to_string(), true))
        );
        assert_eq!(
            model_name("gpt-5.1-codex-max"),
            Some(("gpt-5.1-codex-max".to_string(), false))
        );
        assert_eq!(model_name("  "), None);
        assert_eq!(parse_count("1,234"), Some(1_234));
        assert_eq!(parse_count(""), Some(0));
        assert_eq!(parse_count("12.5"), None);
        assert_eq!(parse_count("-3"), None);
        assert_eq!(parse_count("99999999999999999"), None);
    }

    #[test]
    fn rows_map_to_token_counts_and_stable_ids() {
        let text = "\u{feff}Date,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost\r\n\
            2026-06-01T10:00:00.000Z,Usage-based,claude-4.5-sonnet,Yes,1500,1000,4000,200,5700,$0.50\r\n\
            2026-06-01T10:00:00.000Z,Usage-based,claude-4.5-sonnet,Yes,1500,1000,4000,200,5700,$0.50\r\n\
            \"2026-06-01 11:00:00\",\"Errored, No Charge\",gpt-5,No,10,10,0,0,10,\r\n";
        let export = read_str(text);
        assert_eq!(export.variant, Variant::WithKind);
        assert!(export.skipped.is_empty(), "{:?}", export.skipped);
        let [a, b, c] = &export.rows[..] else {
            panic!("{:?}", export.rows)
        };
        assert_eq!(a.model, "claude-4.5-sonnet+max");
        assert!(a.max_mode);
        assert_eq!(
            a.tokens,
            TokenCounts {
                input: 1000,
                output: 200,
                cache_write_5m: 500,
                cache_write_1h: 0,
                cache_read: 4000
            }
        );
        assert_eq!(a.cost, Cost::Usd(500_000));
        assert_eq!(a.line, 2);
        assert!(a.event_id.ends_with("-1") && b.event_id.ends_with("-2"));
        assert_eq!(
            a.event_id[..a.event_id.len() - 2],
            b.event_id[..b.event_id.len() - 2]
        );
        assert_eq!(c.cost, Cost::NotCharged);
        assert_eq!(c.kind.as_deref(), Some("Errored, No Charge"));
        assert_eq!(c.timestamp.to_string(), "2026-06-01T11:00:00Z");
        let event = a.event("/repo");
        assert_eq!(event.agent.as_str(), "cursor");
        assert_eq!(event.requests, 1);
        assert_eq!(event.source_cost, Some(Money::from_micros(500_000)));
        assert_eq!(event.session_id, "cursor-day:2026-06-01");

        // The same request in the oldest variant, its cost spelled otherwise: the same id.
        let old = read_str(
            "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost\n\
             2026-06-01T10:00:00Z,claude-4.5-sonnet,1500,1000,4000,200,5700,0.5\n",
        );
        assert_eq!(old.variant, Variant::Basic);
        assert_eq!(old.rows[0].event_id, a.event_id);
    }

    #[test]
    fn bad_rows_are_skipped_with_their_lines() {
        let text = "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost\n\
            yesterday,gpt-5,1,1,0,0,1,0.1\n\
            2026-06-01T10:00:00Z,,1,1,0,0,1,0.1\n\
            2026-06-01T10:00:00Z,gpt-5,x,1,0,0,1,0.1\n\
            2026-06-01T10:00:00Z,gpt-5,1,2,0,0,1,0.1\n\
            2026-06-01T10:00:00Z,gpt-5,1,1,0,0,1,lots\n\
            2026-06-01T10:00:00Z,gpt-5,1,1\n\
            \n\
            2026-06-01T10:00:00Z,gpt-5,1,1,0,0,1,0.1\n";
        let export = read_str(text);
        let reasons: Vec<(u64, SkipReason)> =
            export.skipped.iter().map(|s| (s.line, s.reason)).collect();
        assert_eq!(
            reasons,
            [
                (2, SkipReason::BadDate),
                (3, SkipReason::BadModel),
                (4, SkipReason::BadTokens),
                (5, SkipReason::BadTokens),
                (6, SkipReason::BadCost),
                (7, SkipReason::Malformed),
            ]
        );
        assert_eq!(export.rows.len(), 1);
        assert_eq!(export.rows[0].line, 9);
    }

    #[test]
    fn headers_that_are_not_an_export_are_refused() {
        let error = read("name,email\nada,ada@example.com\n".as_bytes()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("not a Cursor usage export"), "{text}");
        assert!(text.contains("`Date`"), "{text}");
        assert!(text.contains(HEADER_VARIANTS[2]), "{text}");
        assert!(matches!(read("".as_bytes()), Err(CursorCsvError::Empty)));
        let binary = read(&[0u8, 159, 146, 150, 10, 1, 2][..]).unwrap_err();
        assert!(matches!(binary, CursorCsvError::NotAnExport { .. }));
        let extra = read_str(&format!("{},Note\n", HEADER_VARIANTS[2]));
        assert_eq!(extra.variant, Variant::WithCloudAgent);
        assert_eq!(extra.ignored_columns, ["Note"]);
    }
}
