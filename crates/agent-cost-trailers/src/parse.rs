//! Reading blocks back: recognising our trailer lines anywhere in a message body (indented or
//! not) and parsing their values leniently (unknown pairs ignored, malformed lines skipped).

use agent_cost_events::Money;

use crate::block::{
    AgentLine, Block, Estimate, KEY_AGENT, KEY_COST_ESTIMATE, KEY_COST_ID, KEY_COST_REPLACES,
    KEY_MODEL, MAX_MONEY, ModelLine, normalize_id,
};

/// Which of our keys a line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Agent,
    Model,
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

/// True if `ai-` (in any case) occurs somewhere: a message without it holds no block, and
/// most commits in a long history have none.
fn mentions_ai_key(message: &str) -> bool {
    let bytes = message.as_bytes();
    memchr::memchr_iter(b'-', bytes).any(|i| i >= 2 && bytes[i - 2..i].eq_ignore_ascii_case(b"ai"))
}

/// Every block in `message`, in the order they appear.
///
/// Scans every line of the whole message, accepting leading whitespace (local
/// `git merge --squash` indents old messages by four spaces; GitHub squash merges list old
/// messages mid-body). `AI-Agent:`, `AI-Model:`, `AI-Cost-Estimate:` and `AI-Cost-Replaces:`
/// lines accumulate into the current block and `AI-Cost-Id:` closes it. Lines left without a
/// closing id at the end form a block with an empty id if at least one of them parsed.
/// Malformed lines are skipped; a block whose lines were all malformed still has its id.
/// Keys are matched case-insensitively; unknown keys and unknown `key=value` pairs are ignored.
pub fn parse_blocks(message: &str) -> Vec<Block> {
    if !mentions_ai_key(message) {
        return Vec::new();
    }
    let mut blocks = Vec::new();
    let mut current = Block::default();
    let mut pending = false;
    for line in message.lines() {
        let Some((key, value)) = classify(line) else {
            continue;
        };
        match key {
            Key::Agent => {
                if let Some(agent) = parse_agent(value) {
                    current.agents.push(agent);
                    pending = true;
                }
            }
            Key::Model => {
                if let Some(model) = parse_model(value) {
                    current.models.push(model);
                    pending = true;
                }
            }
            Key::Estimate => {
                if let Some(estimate) = parse_estimate(value) {
                    current.estimates.push(estimate);
                    pending = true;
                }
            }
            Key::Replaces => {
                let id = value.split_whitespace().next().map(normalize_id);
                if let Some(id) = id.filter(|id| !id.is_empty()) {
                    current.replaces.push(id);
                    pending = true;
                }
            }
            Key::Id => {
                current.id = value
                    .split_whitespace()
                    .next()
                    .map(normalize_id)
                    .unwrap_or_default();
                blocks.push(std::mem::take(&mut current));
                pending = false;
            }
        }
    }
    if pending {
        blocks.push(current);
    }
    blocks
}

/// `key=value` pairs after the first word, keys lowercased. Words without `=` are ignored.
fn pairs(rest: std::str::SplitWhitespace<'_>) -> Vec<(String, &str)> {
    rest.filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// Looks up a pair; the first occurrence wins.
fn get<'a>(pairs: &[(String, &'a str)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// A count: absent means zero, present but not a number makes the line malformed.
fn count(pairs: &[(String, &str)], key: &str) -> Option<u64> {
    match get(pairs, key) {
        None => Some(0),
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()
        }
        Some(_) => None,
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
        sessions: count(&pairs, "sessions")?,
        cost: money(get(&pairs, "cost")?)?,
        unpriced: count(&pairs, "unpriced")?,
    })
}

/// `claude-sonnet-4-5 agent=claude-code requests=14 in=1200 out=6800 cache-write=4000
/// cache-read=120000 cost=0.401234` (or `cost=unpriced`).
fn parse_model(value: &str) -> Option<ModelLine> {
    let mut words = value.split_whitespace();
    let model = words.next()?.to_string();
    let pairs = pairs(words);
    let agent = get(&pairs, "agent").filter(|a| !a.is_empty())?.to_string();
    let cost_text = get(&pairs, "cost")?;
    let cost = if cost_text.eq_ignore_ascii_case("unpriced") {
        None
    } else {
        Some(money(cost_text)?)
    };
    Some(ModelLine {
        agent,
        model,
        requests: count(&pairs, "requests")?,
        input: count(&pairs, "in")?,
        output: count(&pairs, "out")?,
        cache_write: count(&pairs, "cache-write")?,
        cache_read: count(&pairs, "cache-read")?,
        cost,
    })
}

/// `0.412345 USD [(incomplete: 1 model unpriced)]`: the first two words; the rest only says
/// whether the amount is incomplete.
fn parse_estimate(value: &str) -> Option<Estimate> {
    let mut words = value.split_whitespace();
    let amount = money(words.next()?)?;
    let unit = words.next()?.to_string();
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
