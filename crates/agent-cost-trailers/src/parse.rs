//! Reading blocks back: recognising our trailer lines anywhere in a message body (indented or
//! not) and parsing their values leniently (unknown pairs ignored, malformed lines skipped).

use agent_cost_events::Money;

use crate::block::{
    AgentLine, Block, Estimate, KEY_AGENT, KEY_COST_ESTIMATE, KEY_COST_ID, KEY_COST_REPLACES,
    KEY_MODEL, KEY_QUANTITY, KEY_TOKENS, MAX_MONEY, ModelLine, Quantity, UNIT_USD, is_work_type,
    normalize_id,
};

/// Which of our keys a line carries, in the order a block is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Agent,
    Model,
    Tokens,
    Quantity,
    Estimate,
    Replaces,
    Id,
}

/// If `line` (leading whitespace allowed) is `<one of our keys>:<value>`, the key and the
/// trimmed value. Keys match case-insensitively; spaces or tabs may precede the colon.
pub(crate) fn classify(line: &str) -> Option<(Key, &str)> {
    let line = line.trim_start();
    let (token, value) = line.split_once(':')?;
    let token = token.trim_end_matches([' ', '\t']);
    let key = if token.eq_ignore_ascii_case(KEY_AGENT) {
        Key::Agent
    } else if token.eq_ignore_ascii_case(KEY_MODEL) {
        Key::Model
    } else if token.eq_ignore_ascii_case(KEY_TOKENS) {
        Key::Tokens
    } else if token.eq_ignore_ascii_case(KEY_QUANTITY) {
        Key::Quantity
    } else if token.eq_ignore_ascii_case(KEY_COST_ESTIMATE) {
        Key::Estimate
    } else if token.eq_ignore_ascii_case(KEY_COST_REPLACES) {
        Key::Replaces
    } else if token.eq_ignore_ascii_case(KEY_COST_ID) {
        Key::Id
    } else {
        return None;
    };
    Some((key, value.trim()))
}

impl Key {
    /// Where lines of this key stand in a written block: agents, then models (each with its
    /// tokens and quantities), then estimates, then replaced ids, then the id.
    fn stage(self) -> u8 {
        match self {
            Key::Agent => 0,
            Key::Model | Key::Tokens | Key::Quantity => 1,
            Key::Estimate => 2,
            Key::Replaces => 3,
            Key::Id => 4,
        }
    }
}

/// True if `ai-` (in any case) occurs somewhere: a message without it holds no block, and
/// most commits in a long history have none.
fn mentions_ai_key(message: &str) -> bool {
    let bytes = message.as_bytes();
    memchr::memchr_iter(b'-', bytes).any(|i| i >= 2 && bytes[i - 2..i].eq_ignore_ascii_case(b"ai"))
}

/// What one line did to a [`Reader`].
pub(crate) enum Fed {
    /// Not one of our keys.
    Other,
    /// One of our keys, but the value does not parse (or an `AI-Tokens:` / `AI-Quantity:` line
    /// without its `AI-Model:` line right above): skipped.
    Malformed,
    /// A well-formed line of this key, added to the current block.
    Accepted(Key),
    /// An `AI-Cost-Id:` line: the block it closes, and whether its value is an id as
    /// agent-cost writes them (16 hexadecimal digits and nothing else).
    Closed { block: Block, written_id: bool },
}

/// The model line that `AI-Tokens:` and `AI-Quantity:` lines may still attach to.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Index in the current block's models.
    index: usize,
    /// Whether its `AI-Tokens:` line was read already.
    tokens: bool,
}

/// Reads blocks line by line (see [`parse_blocks`] for the rules).
#[derive(Debug, Default)]
pub(crate) struct Reader {
    current: Block,
    pending: bool,
    open: Option<Open>,
}

impl Reader {
    /// Reads one line.
    pub(crate) fn feed(&mut self, line: &str) -> Fed {
        let Some((key, value)) = classify(line) else {
            self.open = None;
            return Fed::Other;
        };
        let open = self.open.take();
        let accepted = match key {
            Key::Agent => parse_agent(value).map(|agent| self.current.agents.push(agent)),
            Key::Model => parse_model(value).map(|model| {
                self.current.models.push(model);
                self.open = Some(Open {
                    index: self.current.models.len() - 1,
                    tokens: false,
                });
            }),
            Key::Tokens => open
                .filter(|open| !open.tokens)
                .and_then(|open| Some((open, parse_tokens(value)?)))
                .map(|(open, tokens)| {
                    tokens.apply(&mut self.current.models[open.index]);
                    self.open = Some(Open {
                        tokens: true,
                        ..open
                    });
                }),
            Key::Quantity => open
                .and_then(|open| Some((open, parse_quantity(value)?)))
                .filter(|(open, quantity)| {
                    self.current.models[open.index]
                        .quantity(&quantity.unit)
                        .is_none()
                })
                .map(|(open, quantity)| {
                    self.current.models[open.index].quantities.push(quantity);
                    self.open = Some(open);
                }),
            Key::Estimate => parse_estimate(value).map(|e| self.current.estimates.push(e)),
            Key::Replaces => value
                .split_whitespace()
                .next()
                .map(normalize_id)
                .filter(|id| !id.is_empty())
                .map(|id| self.current.replaces.push(id)),
            Key::Id => {
                let written_id = is_written_id(value);
                self.current.id = value
                    .split_whitespace()
                    .next()
                    .map(normalize_id)
                    .unwrap_or_default();
                self.pending = false;
                return Fed::Closed {
                    block: std::mem::take(&mut self.current),
                    written_id,
                };
            }
        };
        match accepted {
            Some(()) => {
                self.pending = true;
                Fed::Accepted(key)
            }
            None => Fed::Malformed,
        }
    }

    /// A line that is not one of ours interrupts a model's lines.
    pub(crate) fn interrupt(&mut self) {
        self.open = None;
    }

    /// The block left without a closing id, if one of its lines parsed.
    fn finish(self) -> Option<Block> {
        self.pending.then_some(self.current)
    }
}

/// True if `value` is an id as agent-cost writes them: 16 hexadecimal digits (any case).
fn is_written_id(value: &str) -> bool {
    value.len() == 16 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every block in `message`, in the order they appear.
///
/// Scans every line of the whole message, accepting leading whitespace (local
/// `git merge --squash` indents old messages by four spaces; GitHub squash merges list old
/// messages mid-body). `AI-Agent:`, `AI-Model:`, `AI-Cost-Estimate:` and `AI-Cost-Replaces:`
/// lines accumulate into the current block and `AI-Cost-Id:` closes it. `AI-Tokens:` and
/// `AI-Quantity:` lines belong to the `AI-Model:` line right above them (only lines of that
/// model in between); anywhere else they are skipped. Lines left without a closing id at the
/// end form a block with an empty id if at least one of them parsed. Malformed lines are
/// skipped; a block whose lines were all malformed still has its id. Keys are matched
/// case-insensitively; unknown keys and unknown `key=value` pairs are ignored.
///
/// Both forms of model line are read: the compact `AI-Model: m agent=a cost=c` followed by
/// `AI-Tokens: req=… in=… out=… cw=… cr=…`, and the single line written before it,
/// `AI-Model: m agent=a requests=… in=… out=… cache-write=… cache-read=… cost=c`.
pub fn parse_blocks(message: &str) -> Vec<Block> {
    if !mentions_ai_key(message) {
        return Vec::new();
    }
    let mut blocks = Vec::new();
    let mut reader = Reader::default();
    for line in message.lines() {
        if let Fed::Closed { block, .. } = reader.feed(line) {
            blocks.push(block);
        }
    }
    blocks.extend(reader.finish());
    blocks
}

/// The line git's `merge --squash` starts its message with; its old messages follow, indented.
const SQUASH_HEADER: &str = "Squashed commit of the following:";

/// The blocks a reader of history considers in a commit: those of its message, then those of
/// its AI-cost note (`refs/notes/ai-cost`, written by `agent-cost backfill` and
/// `squash-note`), each read by [`parse_history_blocks`].
pub fn commit_blocks(message: &str, note: Option<&str>) -> Vec<Block> {
    let mut blocks = parse_history_blocks(message);
    if let Some(note) = note {
        blocks.extend(parse_history_blocks(note));
    }
    blocks
}

/// The blocks a reader of history considers in a commit's message: [`parse_blocks`] of the
/// message without the lines it only quotes. Lines inside fenced code blocks (between lines
/// starting with three backticks or tildes) are skipped, and so are indented lines, unless
/// the message is a local squash's (a line `Squashed commit of the following:`), whose old
/// messages git indents by four spaces. A block quoted in documentation or an example is
/// therefore not spend. Whether a block then counts is [`crate::block_fates`]'s decision.
pub fn parse_history_blocks(message: &str) -> Vec<Block> {
    if !mentions_ai_key(message) {
        return Vec::new();
    }
    let squash = message.lines().any(|line| line.trim() == SQUASH_HEADER);
    let mut kept = String::with_capacity(message.len());
    let mut fence: Option<&str> = None;
    for line in message.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(marker)) => {
                fence = Some(marker);
                continue;
            }
            (Some(open), Some(marker)) if open == marker => {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            (None, None) => {}
        }
        let indented = line.starts_with([' ', '\t']) && !trimmed.is_empty();
        if indented && !squash {
            kept.push('\n');
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    parse_blocks(&kept)
}

/// For each of `lines`, whether it is a line of a block that agent-cost wrote: a run of
/// consecutive well-formed lines of our keys, in the order agent-cost writes them (agents,
/// models, estimates, replaced ids), whose last line is `AI-Cost-Id:` with an id of 16
/// hexadecimal digits. Any other line — prose, a comment, a blank line, a malformed line of
/// one of our keys (such as a subject `AI-Agent: rename the agent module`) — ends a run, a line
/// out of order starts a new one, and lines of a run that no such id closes are not ours.
///
/// With `indented` false (inside a trailer block, where an indented line continues the line
/// above), indented lines are not ours and end a run, and a block whose id line is continued
/// is not ours either.
pub(crate) fn written_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    indented: bool,
) -> Vec<bool> {
    // git's rule: a line starting with whitespace (C `isspace`) that is not blank.
    let c_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut reader = Reader::default();
    let mut ours: Vec<bool> = Vec::new();
    // The first line of the current run and the stage of its last line.
    let mut run: Option<(usize, u8)> = None;
    let mut just_closed: Option<usize> = None;
    for (i, line) in lines.into_iter().enumerate() {
        ours.push(false);
        let continuation = line.bytes().next().is_some_and(c_space) && !line.bytes().all(c_space);
        if continuation && !indented {
            if let Some(start) = just_closed.take() {
                ours[start..i].fill(false);
            }
            reader.interrupt();
            run = None;
            continue;
        }
        just_closed = None;
        match reader.feed(line) {
            Fed::Other | Fed::Malformed => run = None,
            Fed::Accepted(key) => {
                let stage = key.stage();
                run = match run {
                    Some((start, last)) if last <= stage => Some((start, stage)),
                    _ => Some((i, stage)),
                };
            }
            Fed::Closed { written_id, .. } => {
                let start = run.take().map_or(i, |(start, _)| start);
                if written_id {
                    ours[start..=i].fill(true);
                    just_closed = Some(start);
                }
            }
        }
    }
    ours
}

/// `key=value` pairs after the first word, keys lowercased. Words without `=` are ignored.
fn pairs(rest: std::str::SplitWhitespace<'_>) -> Vec<(String, &str)> {
    rest.filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// Looks up a pair by any of its names; the first occurrence in the line wins.
fn get<'a>(pairs: &[(String, &'a str)], names: &[&str]) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| *v)
}

/// A count by any of its names: `Some(None)` when absent, `None` when present but not a
/// number (which makes the line malformed).
fn count(pairs: &[(String, &str)], names: &[&str]) -> Option<Option<u64>> {
    match get(pairs, names) {
        None => Some(None),
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok().map(Some)
        }
        Some(_) => None,
    }
}

/// Names of the counts, compact first (`AI-Tokens:`), then as the first form wrote them on
/// `AI-Model:` lines; both are read on both lines.
const REQUESTS: &[&str] = &["req", "requests"];
const INPUT: &[&str] = &["in"];
const OUTPUT: &[&str] = &["out"];
const CACHE_WRITE: &[&str] = &["cw", "cache-write"];
const CACHE_READ: &[&str] = &["cr", "cache-read"];

/// The counts of an `AI-Tokens:` line (or of an `AI-Model:` line of the first form); `None`
/// for a count the line does not give.
#[derive(Debug, Default)]
struct Counts {
    requests: Option<u64>,
    input: Option<u64>,
    output: Option<u64>,
    cache_write: Option<u64>,
    cache_read: Option<u64>,
}

impl Counts {
    fn read(pairs: &[(String, &str)]) -> Option<Counts> {
        Some(Counts {
            requests: count(pairs, REQUESTS)?,
            input: count(pairs, INPUT)?,
            output: count(pairs, OUTPUT)?,
            cache_write: count(pairs, CACHE_WRITE)?,
            cache_read: count(pairs, CACHE_READ)?,
        })
    }

    /// Sets the counts this line gives; the others keep their value.
    fn apply(&self, line: &mut ModelLine) {
        let set = |field: &mut u64, value: Option<u64>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut line.requests, self.requests);
        set(&mut line.input, self.input);
        set(&mut line.output, self.output);
        set(&mut line.cache_write, self.cache_write);
        set(&mut line.cache_read, self.cache_read);
    }
}

/// An amount of at most six fractional digits, no larger than [`MAX_MONEY`].
pub(crate) fn money(text: &str) -> Option<Money> {
    Money::parse_decimal(text)
        .ok()
        .filter(|amount| *amount <= MAX_MONEY)
}

/// `claude-code sessions=2 cost=0.412345 [unpriced=1]`
fn parse_agent(value: &str) -> Option<AgentLine> {
    let mut words = value.split_whitespace();
    let agent = words.next()?.to_string();
    let pairs = pairs(words);
    Some(AgentLine {
        agent,
        sessions: count(&pairs, &["sessions"])?.unwrap_or(0),
        cost: money(get(&pairs, &["cost"])?)?,
        unpriced: count(&pairs, &["unpriced"])?.unwrap_or(0),
    })
}

/// `claude-sonnet-4-5 agent=claude-code cost=0.401234` (or `cost=unpriced`), or the first
/// form with the counts on the line: `… agent=claude-code requests=14 in=1200 out=6800
/// cache-write=4000 cache-read=120000 cost=0.401234`. Counts the line lacks are zero.
fn parse_model(value: &str) -> Option<ModelLine> {
    let mut words = value.split_whitespace();
    let model = words.next()?.to_string();
    let pairs = pairs(words);
    let agent = get(&pairs, &["agent"])
        .filter(|a| !a.is_empty())?
        .to_string();
    let cost_text = get(&pairs, &["cost"])?;
    let cost = if cost_text.eq_ignore_ascii_case("unpriced") {
        None
    } else {
        Some(money(cost_text)?)
    };
    let work_type = get(&pairs, &["type"])
        .map(str::to_ascii_lowercase)
        .filter(|t| is_work_type(t));
    let mut line = ModelLine {
        agent,
        model,
        cost,
        work_type,
        ..ModelLine::default()
    };
    Counts::read(&pairs)?.apply(&mut line);
    Some(line)
}

/// `req=14 in=1200 out=6800 cw=4000 cr=120000`
fn parse_tokens(value: &str) -> Option<Counts> {
    Counts::read(&pairs(value.split_whitespace()))
}

/// `12 premium-requests`: the first two words, an amount and a unit other than USD.
fn parse_quantity(value: &str) -> Option<Quantity> {
    let mut words = value.split_whitespace();
    let amount = money(words.next()?)?;
    let unit = words.next()?;
    if unit.eq_ignore_ascii_case(UNIT_USD) {
        return None;
    }
    Some(Quantity::new(amount, unit))
}

/// `0.412345 USD [(incomplete: 1 model unpriced)]`: the first two words; the rest only says
/// whether the amount is incomplete. The unit `USD` is matched case-insensitively.
fn parse_estimate(value: &str) -> Option<Estimate> {
    let mut words = value.split_whitespace();
    let amount = money(words.next()?)?;
    let unit = words.next()?;
    let unit = if unit.eq_ignore_ascii_case(UNIT_USD) {
        UNIT_USD.to_string()
    } else {
        unit.to_string()
    };
    let incomplete = words.any(|w| w.to_ascii_lowercase().contains("incomplete"));
    Some(Estimate {
        amount,
        unit,
        incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_keys_case_insensitively_with_indentation() {
        assert_eq!(
            classify("    ai-model : x agent=a cost=1"),
            Some((Key::Model, "x agent=a cost=1"))
        );
        assert_eq!(classify("AI-Cost-Id: abc\r"), Some((Key::Id, "abc")));
        assert_eq!(classify("The AI-Model: line"), None);
        assert_eq!(classify("AI-Modelx: y"), None);
        assert_eq!(classify("AI-Cost-Other: y"), None);
    }

    #[test]
    fn estimate_reads_first_two_words() {
        let e = parse_estimate("0.401234 USD (incomplete: 1 model unpriced)").unwrap();
        assert_eq!(e.amount, Money::from_micros(401_234));
        assert_eq!(e.unit, "USD");
        assert!(e.incomplete);
        let e = parse_estimate("12 premium-requests").unwrap();
        assert_eq!(e.unit, "premium-requests");
        assert!(!e.incomplete);
        assert!(parse_estimate("12").is_none());
        assert!(parse_estimate("abc USD").is_none());
    }

    #[test]
    fn model_pairs_in_any_order_and_unknown_ignored() {
        let m = parse_model("m cost=unpriced future=7 agent=a out=5 junk in=3").unwrap();
        assert_eq!(m.agent, "a");
        assert_eq!((m.input, m.output, m.requests), (3, 5, 0));
        assert_eq!(m.cost, None);
        assert!(parse_model("m agent=a in=x cost=1").is_none());
        assert!(parse_model("m agent=a").is_none());
        assert!(parse_model("m cost=1").is_none());
        assert!(parse_model("m agent=a cost=-1").is_none());
    }
}
