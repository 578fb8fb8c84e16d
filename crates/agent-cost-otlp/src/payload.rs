//! One OTLP `ExportMetricsServiceRequest`, JSON-encoded, from a [`Ledger`].
//!
//! Each (commit, agent, model) of the ledger's charges is one group of data points, all
//! timestamped at the commit's author time, with delta temporality: a data point is what that
//! commit added. Metrics, in this order:
//!
//! | metric | kind | unit | value |
//! |---|---|---|---|
//! | `gen_ai.client.token.usage` | histogram | `{token}` | per `gen_ai.token.type`: `input` (input + cache write + cache read, as the conventions count input) and `output`; `count` = requests, `sum` = tokens, no buckets |
//! | `agent_cost.token.usage` | sum, `asInt` | `{token}` | the trailers' four counts exactly, by `agent_cost.token.type`: `input` (uncached), `output`, `cache_write`, `cache_read` |
//! | `agent_cost.cost.usd` | sum, `asDouble` | `{USD}` | the priced cost |
//! | `agent_cost.cost.usd.micros` | sum, `asInt` | `{microUSD}` | the same, exactly, in micro-dollars |
//! | `agent_cost.cost.UNIT` | sum, `asDouble` | `{UNIT}` | each other unit (`credits`, `premium_requests`) |
//! | `agent_cost.cost.UNIT.micros` | sum, `asInt` | `{microUNIT}` | the same, exactly, in millionths |
//!
//! Zero values are left out (a charge without tokens has no token points; an unpriced one no
//! USD points). 64-bit integers are JSON strings, as the OTLP/JSON encoding writes them.

use std::collections::{BTreeMap, HashMap};

use agent_cost_report::{Ledger, Money};
use serde_json::{Value, json};

/// `aggregationTemporality` DELTA.
const DELTA: u8 = 1;

/// A payload and what it holds.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The `ExportMetricsServiceRequest` in OTLP's JSON encoding.
    pub json: Value,
    /// Data points over all metrics.
    pub data_points: usize,
    /// Commits with at least one data point.
    pub commits: usize,
}

impl Payload {
    /// The payload as the bytes to POST.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.json).unwrap_or_default()
    }
}

/// What one (commit, agent, model) adds up to.
#[derive(Default)]
struct Group {
    commit: usize,
    agent: String,
    model: String,
    work_type: &'static str,
    requests: u64,
    tokens: [u64; 4],
    usd: Option<Money>,
    units: BTreeMap<String, Money>,
}

/// Builds the request for every charge of `ledger`; `version` is agent-cost's, reported as
/// `service.version` and the scope's version.
pub fn metrics_request(ledger: &Ledger, version: &str) -> Payload {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(usize, &str, &str), usize> = HashMap::new();
    for charge in &ledger.charges {
        let key = (charge.commit, charge.agent.as_str(), charge.model.as_str());
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                commit: charge.commit,
                agent: charge.agent.clone(),
                model: charge.model.clone(),
                work_type: charge.kind(&ledger.commits[charge.commit]),
                ..Group::default()
            });
            groups.len() - 1
        });
        let group = &mut groups[at];
        group.requests += charge.requests;
        for (sum, n) in group.tokens.iter_mut().zip(charge.tokens) {
            *sum += n;
        }
        if let Some(cost) = charge.cost {
            group.usd = Some(group.usd.unwrap_or_default() + cost);
        }
        for (unit, amount) in &charge.units {
            *group.units.entry(unit.clone()).or_default() += *amount;
        }
    }

    let mut histogram = Vec::new();
    let mut tokens = Vec::new();
    let mut usd = Vec::new();
    let mut usd_micros = Vec::new();
    let mut units: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    let mut commits = std::collections::HashSet::new();
    for group in &groups {
        let commit = &ledger.commits[group.commit];
        let time = (u64::try_from(commit.author_time).unwrap_or(0))
            .saturating_mul(1_000_000_000)
            .to_string();
        let mut attributes = vec![
            string("vcs.repository.name", &commit.repo),
            string("vcs.ref.head.revision", &commit.id),
        ];
        if let Some(branch) = &commit.branch {
            attributes.push(string("vcs.ref.head.name", branch));
        }
        if let Some(pr) = commit.pr {
            attributes.push(string("vcs.change.id", &pr.to_string()));
        }
        attributes.extend([
            string("agent_cost.commit.author.name", &commit.author_name),
            string("agent_cost.commit.author.email", &commit.author_email),
            string("agent_cost.work.type", group.work_type),
            string("gen_ai.operation.name", "chat"),
            string("gen_ai.agent.name", &group.agent),
            string("gen_ai.request.model", &group.model),
        ]);
        let point = |extra: &[Value], value: (&str, Value)| {
            let mut attributes = attributes.clone();
            attributes.extend_from_slice(extra);
            let mut point = json!({
                "attributes": attributes,
                "startTimeUnixNano": time,
                "timeUnixNano": time,
            });
            point[value.0] = value.1;
            point
        };
        let before = histogram.len() + tokens.len() + usd.len();
        let mut unit_points = 0;

        let [input, output, cache_write, cache_read] = group.tokens;
        let all_input = input + cache_write + cache_read;
        for (kind, value) in [("input", all_input), ("output", output)] {
            if value == 0 && group.requests == 0 {
                continue;
            }
            let mut p = point(&[string("gen_ai.token.type", kind)], ("sum", json!(value)));
            p["count"] = json!(group.requests.to_string());
            histogram.push(p);
        }
        for (kind, semconv, value) in [
            ("input", "input", input),
            ("output", "output", output),
            ("cache_write", "input", cache_write),
            ("cache_read", "input", cache_read),
        ] {
            if value > 0 {
                tokens.push(point(
                    &[
                        string("gen_ai.token.type", semconv),
                        string("agent_cost.token.type", kind),
                    ],
                    ("asInt", json!(value.to_string())),
                ));
            }
        }
        if let Some(cost) = group.usd.filter(|c| *c != Money::ZERO) {
            usd.push(point(&[], ("asDouble", json!(cost.as_f64()))));
            usd_micros.push(point(&[], ("asInt", json!(int(cost.micros())))));
        }
        for (unit, amount) in &group.units {
            if *amount == Money::ZERO {
                continue;
            }
            unit_points += 1;
            let (doubles, micros) = units.entry(unit.clone()).or_default();
            doubles.push(point(&[], ("asDouble", json!(amount.as_f64()))));
            micros.push(point(&[], ("asInt", json!(int(amount.micros())))));
        }
        if histogram.len() + tokens.len() + usd.len() > before || unit_points > 0 {
            commits.insert(group.commit);
        }
    }

    let mut metrics = Vec::new();
    let mut data_points = 0;
    let mut push = |metric: Value, points: Vec<Value>, field: &str| {
        if points.is_empty() {
            return;
        }
        data_points += points.len();
        let mut metric = metric;
        let body = if field == "histogram" {
            json!({"aggregationTemporality": DELTA, "dataPoints": points})
        } else {
            json!({"aggregationTemporality": DELTA, "isMonotonic": true, "dataPoints": points})
        };
        metric[field] = body;
        metrics.push(metric);
    };
    push(
        json!({
            "name": "gen_ai.client.token.usage",
            "description": "Tokens used by an agent's model in a commit, by gen_ai.token.type (input counts cache reads and writes); count is the requests",
            "unit": "{token}",
        }),
        histogram,
        "histogram",
    );
    push(
        json!({
            "name": "agent_cost.token.usage",
            "description": "Tokens of a commit's AI-Tokens trailers, by agent_cost.token.type (input, output, cache_write, cache_read)",
            "unit": "{token}",
        }),
        tokens,
        "sum",
    );
    push(
        json!({
            "name": "agent_cost.cost.usd",
            "description": "Estimated cost of a commit's AI spend in US dollars",
            "unit": "{USD}",
        }),
        usd,
        "sum",
    );
    push(
        json!({
            "name": "agent_cost.cost.usd.micros",
            "description": "agent_cost.cost.usd in whole micro-dollars, exact",
            "unit": "{microUSD}",
        }),
        usd_micros,
        "sum",
    );
    for (unit, (doubles, micros)) in units {
        let name = metric_unit_name(&unit);
        push(
            json!({
                "name": format!("agent_cost.cost.{name}"),
                "description": format!("A commit's AI spend in {unit} (never added to USD)"),
                "unit": format!("{{{unit}}}"),
            }),
            doubles,
            "sum",
        );
        push(
            json!({
                "name": format!("agent_cost.cost.{name}.micros"),
                "description": format!("agent_cost.cost.{name} in millionths, exact"),
                "unit": format!("{{micro-{unit}}}"),
            }),
            micros,
            "sum",
        );
    }

    let json = json!({
        "resourceMetrics": [{
            "resource": {"attributes": [
                string("service.name", "agent-cost"),
                string("service.version", version),
            ]},
            "scopeMetrics": [{
                "scope": {"name": "agent-cost", "version": version},
                "metrics": metrics,
            }],
        }],
    });
    Payload {
        json,
        data_points,
        commits: commits.len(),
    }
}

/// A unit as a metric name segment: `premium-requests` → `premium_requests`.
fn metric_unit_name(unit: &str) -> String {
    unit.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// An OTLP int64 in the JSON encoding: a decimal string.
fn int(value: u128) -> String {
    i64::try_from(value).unwrap_or(i64::MAX).to_string()
}

/// A string attribute: `{"key": …, "value": {"stringValue": …}}`.
fn string(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

#[cfg(test)]
mod tests {
    use agent_cost_report::{Charge, CommitInfo};

    use super::*;

    fn commit(id: &str, time: i64) -> CommitInfo {
        CommitInfo {
            repo: "shop".to_string(),
            id: id.repeat(40),
            parent_count: 1,
            author_name: "Dana".to_string(),
            author_email: "dana@example.com".to_string(),
            author_time: time,
            author_offset: 3600,
            commit_time: time,
            subject: "feat: cart".to_string(),
            kind: "feat",
            pr: Some(7),
            tickets: Vec::new(),
            branch: Some("main".to_string()),
            lines: None,
        }
    }

    fn charge(commit: usize, model: &str, micros: Option<u64>, units: &[(&str, u64)]) -> Charge {
        Charge {
            commit,
            agent: "claude-code".to_string(),
            model: model.to_string(),
            requests: 2,
            tokens: [10, 20, 30, 40],
            cost: micros.map(Money::from_micros),
            units: units
                .iter()
                .map(|(u, m)| (u.to_string(), Money::from_micros(*m)))
                .collect(),
            work_type: None,
        }
    }

    fn metric<'a>(payload: &'a Payload, name: &str) -> &'a Value {
        payload.json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    fn attribute<'a>(point: &'a Value, key: &str) -> Option<&'a str> {
        point["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .and_then(|a| a["value"]["stringValue"].as_str())
    }

    #[test]
    fn charges_of_one_commit_and_model_become_one_group_of_points() {
        let ledger = Ledger {
            commits: vec![commit("a", 1_796_167_800), commit("b", 1_796_171_400)],
            charges: vec![
                charge(0, "sonnet", Some(1_500_000), &[]),
                charge(0, "sonnet", Some(250_000), &[("credits", 1_500_000)]),
                charge(1, "gpt-5", None, &[("premium-requests", 330_000)]),
            ],
            ..Ledger::default()
        };
        let payload = metrics_request(&ledger, "0.1.0");
        assert_eq!(payload.commits, 2);

        let histogram = &metric(&payload, "gen_ai.client.token.usage")["histogram"];
        assert_eq!(histogram["aggregationTemporality"], 1);
        let points = histogram["dataPoints"].as_array().unwrap();
        assert_eq!(points.len(), 4);
        assert_eq!(attribute(&points[0], "gen_ai.token.type"), Some("input"));
        assert_eq!(points[0]["count"], "4");
        assert_eq!(points[0]["sum"], json!(2 * (10 + 30 + 40)));
        assert_eq!(points[1]["sum"], json!(40));
        assert_eq!(points[0]["timeUnixNano"], "1796167800000000000");
        assert_eq!(
            attribute(&points[0], "vcs.ref.head.revision"),
            Some("a".repeat(40).as_str())
        );
        assert_eq!(attribute(&points[0], "vcs.ref.head.name"), Some("main"));
        assert_eq!(attribute(&points[0], "vcs.change.id"), Some("7"));
        assert_eq!(attribute(&points[2], "gen_ai.request.model"), Some("gpt-5"));

        let tokens = metric(&payload, "agent_cost.token.usage")["sum"]["dataPoints"]
            .as_array()
            .unwrap();
        let cache_read: Vec<&str> = tokens
            .iter()
            .filter(|p| attribute(p, "agent_cost.token.type") == Some("cache_read"))
            .map(|p| p["asInt"].as_str().unwrap())
            .collect();
        assert_eq!(cache_read, ["80", "40"]);

        let usd = metric(&payload, "agent_cost.cost.usd")["sum"]["dataPoints"]
            .as_array()
            .unwrap();
        assert_eq!(usd.len(), 1, "the unpriced gpt-5 has no USD point");
        assert_eq!(usd[0]["asDouble"], json!(1.75));
        let micros = &metric(&payload, "agent_cost.cost.usd.micros")["sum"];
        assert_eq!(micros["isMonotonic"], true);
        assert_eq!(micros["dataPoints"][0]["asInt"], "1750000");
        assert_eq!(
            metric(&payload, "agent_cost.cost.credits.micros")["sum"]["dataPoints"][0]["asInt"],
            "1500000"
        );
        let premium = metric(&payload, "agent_cost.cost.premium_requests");
        assert_eq!(premium["unit"], "{premium-requests}");
        assert_eq!(premium["sum"]["dataPoints"][0]["asDouble"], json!(0.33));
    }

    #[test]
    fn an_empty_ledger_has_no_metrics() {
        let payload = metrics_request(&Ledger::default(), "0.1.0");
        assert_eq!(payload.data_points, 0);
        assert_eq!(payload.commits, 0);
        assert_eq!(
            payload.json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"],
            json!([])
        );
        assert_eq!(
            payload.json["resourceMetrics"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "agent-cost"
        );
    }
}
