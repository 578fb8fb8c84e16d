//! `agent-cost export --otlp`, end to end: the real binaries send to a receiver on 127.0.0.1
//! (a `TcpListener` thread of the test) that captures the POST; its metrics add up, exactly,
//! to `trailers sum --json`; a receiver's non-2xx answer and a closed port give an error
//! naming the URL and a non-zero exit; `--dry-run` and `--otlp-file` send nothing; the hooks
//! never start the sender.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// One request as the receiver read it.
struct Captured {
    /// `POST /v1/metrics HTTP/1.1`.
    request_line: String,
    /// Header lines, names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A receiver on 127.0.0.1 answering its first request with `status` and `body`, giving up
/// after 60 seconds without one.
fn receiver(
    status: &'static str,
    answer: &'static str,
) -> (u16, std::thread::JoinHandle<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no request within 60 s");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("{e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut data = Vec::new();
        let mut buffer = [0u8; 8192];
        let head_end = loop {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "connection closed before the headers ended");
            data.extend_from_slice(&buffer[..n]);
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
        };
        let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .expect("a Content-Length header")
            .1
            .parse()
            .unwrap();
        let mut body = data[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "connection closed before the body ended");
            body.extend_from_slice(&buffer[..n]);
        }
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        let _ = stream.flush();
        Captured {
            request_line,
            headers,
            body: body_of(body, length),
        }
    });
    (port, handle)
}

fn body_of(mut body: Vec<u8>, length: usize) -> Vec<u8> {
    body.truncate(length);
    body
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `shop`: three commits with AI spend by two authors (one in credits too, one unpriced
/// model line) and the initial commit without any.
fn shop(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.repo("shop");
    commit_block(
        env,
        &repo,
        "feat: cart",
        &trailer_block(
            1,
            &[
                BlockLine::sonnet(412_345).tokens([3, 18, 2135, 4300, 39200]),
                BlockLine::usd("claude-code", "claude-haiku-4-5", 885).tokens([1, 410, 95, 0, 0]),
            ],
        ),
        "dana@example.com",
        "2026-03-10T10:00:00Z",
    );
    commit_block(
        env,
        &repo,
        "fix: total",
        &trailer_block(
            2,
            &[BlockLine::usd("kiro", "auto", 700_000)
                .tokens([2, 100, 200, 0, 50])
                .quantity(1_500_000, "credits")],
        ),
        "lee@example.com",
        "2026-03-11T09:30:00+02:00",
    );
    commit_block(
        env,
        &repo,
        "docs: readme",
        &trailer_block(
            3,
            &[BlockLine::usd("copilot", "gpt-5", 0)
                .tokens([4, 0, 0, 0, 0])
                .quantity(2_000_000, "premium-requests")],
        ),
        "dana@example.com",
        "2026-03-12T08:00:00Z",
    );
    repo
}

/// The data points of metric `name` in a payload (none when the metric is absent).
fn points<'a>(payload: &'a Value, name: &str) -> Vec<&'a Value> {
    let metrics = payload["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap();
    metrics
        .iter()
        .filter(|m| m["name"] == name)
        .flat_map(|m| {
            let data = if m["histogram"].is_object() {
                &m["histogram"]
            } else {
                &m["sum"]
            };
            data["dataPoints"].as_array().unwrap().iter()
        })
        .collect()
}

fn attribute<'a>(point: &'a Value, key: &str) -> Option<&'a str> {
    point["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"]["stringValue"].as_str())
}

/// An OTLP/JSON int64 (a decimal string).
fn int(value: &Value) -> u64 {
    value.as_str().unwrap().parse().unwrap()
}

/// Sum of `asInt` over the points of `name` whose `key` attribute is `value`.
fn int_sum(payload: &Value, name: &str, key: &str, value: &str) -> u64 {
    points(payload, name)
        .into_iter()
        .filter(|p| attribute(p, key) == Some(value))
        .map(|p| int(&p["asInt"]))
        .sum()
}

#[test]
fn export_otlp_posts_metrics_that_add_up_exactly_to_trailers_sum() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let (port, receiver) = receiver("200 OK", "");
    let ran = env.agent_cost(
        &repo,
        &["export", "--otlp", &format!("http://127.0.0.1:{port}")],
    );
    let request = receiver.join().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/metrics");
    assert_eq!(
        ran.stdout,
        format!("sent 27 data points of 3 commits to {url}\n")
    );

    assert_eq!(request.request_line, "POST /v1/metrics HTTP/1.1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let payload = request.json();
    let resource = &payload["resourceMetrics"][0]["resource"]["attributes"][0];
    assert_eq!(resource["key"], "service.name");
    assert_eq!(resource["value"]["stringValue"], "agent-cost");
    let names: Vec<&str> = payload["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "gen_ai.client.token.usage",
            "agent_cost.token.usage",
            "agent_cost.cost.usd",
            "agent_cost.cost.usd.micros",
            "agent_cost.cost.credits",
            "agent_cost.cost.credits.micros",
            "agent_cost.cost.premium_requests",
            "agent_cost.cost.premium_requests.micros",
        ]
    );

    // Every point: its commit, repository, branch and author, at the commit's author time.
    let head = env
        .git(&repo, &["rev-parse", "HEAD~1"])
        .stdout
        .trim()
        .to_string();
    let kiro = points(&payload, "agent_cost.cost.credits.micros");
    assert_eq!(kiro.len(), 1);
    let kiro = kiro[0];
    assert_eq!(attribute(kiro, "vcs.repository.name"), Some("shop"));
    assert_eq!(
        attribute(kiro, "vcs.ref.head.revision"),
        Some(head.as_str())
    );
    assert_eq!(attribute(kiro, "vcs.ref.head.name"), Some("main"));
    assert_eq!(
        attribute(kiro, "agent_cost.commit.author.email"),
        Some("lee@example.com")
    );
    assert_eq!(
        attribute(kiro, "agent_cost.commit.author.name"),
        Some("Test Author")
    );
    assert_eq!(attribute(kiro, "gen_ai.agent.name"), Some("kiro"));
    assert_eq!(attribute(kiro, "gen_ai.request.model"), Some("auto"));
    assert_eq!(attribute(kiro, "agent_cost.work.type"), Some("fix"));
    // 2026-03-11T09:30:00+02:00
    assert_eq!(kiro["timeUnixNano"], "1773214200000000000");
    assert_eq!(int(&kiro["asInt"]), 1_500_000);
    for point in points(&payload, "gen_ai.client.token.usage")
        .into_iter()
        .chain(points(&payload, "agent_cost.cost.usd"))
    {
        assert!(attribute(point, "vcs.ref.head.revision").is_some_and(|r| r.len() == 40));
        assert!(attribute(point, "agent_cost.commit.author.email").is_some());
        assert!(int(&point["timeUnixNano"]) >= 1_773_100_800_000_000_000);
    }

    // The sums are the trailers' sums, as integers.
    let sum = sum(&env, &repo, "HEAD");
    let tokens = &sum["tokens"];
    for kind in ["input", "output", "cache_write", "cache_read"] {
        assert_eq!(
            int_sum(
                &payload,
                "agent_cost.token.usage",
                "agent_cost.token.type",
                kind
            ),
            tokens[kind].as_u64().unwrap(),
            "{kind}"
        );
    }
    let histogram = points(&payload, "gen_ai.client.token.usage");
    let by_type = |kind: &str| -> (u64, u64) {
        histogram
            .iter()
            .filter(|p| attribute(p, "gen_ai.token.type") == Some(kind))
            .fold((0, 0), |(count, total), p| {
                (count + int(&p["count"]), total + p["sum"].as_u64().unwrap())
            })
    };
    let requests: u64 = sum["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    let all_input = ["input", "cache_write", "cache_read"]
        .iter()
        .map(|k| tokens[*k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(by_type("input"), (requests, all_input));
    assert_eq!(
        by_type("output"),
        (requests, tokens["output"].as_u64().unwrap())
    );
    let usd_micros: u64 = points(&payload, "agent_cost.cost.usd.micros")
        .iter()
        .map(|p| int(&p["asInt"]))
        .sum();
    assert_eq!(usd_micros, micros(&sum["cost_usd"]));
    assert_eq!(usd_micros, 1_113_230);
    let usd: f64 = points(&payload, "agent_cost.cost.usd")
        .iter()
        .map(|p| p["asDouble"].as_f64().unwrap())
        .sum();
    assert!((usd - 1.113230).abs() < 1e-9, "{usd}");
    for unit in sum["units"].as_array().unwrap() {
        let name = unit["unit"].as_str().unwrap().replace('-', "_");
        let exact: u64 = points(&payload, &format!("agent_cost.cost.{name}.micros"))
            .iter()
            .map(|p| int(&p["asInt"]))
            .sum();
        assert_eq!(exact, micros(&unit["amount"]), "{name}");
    }
}

#[test]
fn a_receiver_refusing_the_payload_gives_its_status_and_answer() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let (port, receiver) = receiver("400 Bad Request", "metric name not allowed");
    let url = format!("http://127.0.0.1:{port}/custom/metrics");
    let out = env.output(BIN, &repo, &["export", "--otlp", &url], &[]);
    let request = receiver.join().unwrap();
    assert_eq!(request.request_line, "POST /custom/metrics HTTP/1.1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "error: {url} answered HTTP 400: metric name not allowed\nhint: "
        )),
        "{stderr}"
    );
}

#[test]
fn a_closed_port_gives_the_connection_error_and_what_to_do() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let port = closed_port();
    let out = env.output(
        BIN,
        &repo,
        &["export", "--otlp", &format!("http://127.0.0.1:{port}")],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: cannot send metrics to http://127.0.0.1:{port}/v1/metrics: connection refused\n\
             hint: is an OpenTelemetry Collector"
        )),
        "{stderr}"
    );
}

#[test]
fn dry_run_and_otlp_file_send_nothing_and_bad_urls_are_refused_before_reading() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let printed = env.agent_cost(&repo, &["export", "--otlp", &url, "--dry-run"]);
    let printed: Value = serde_json::from_str(&printed.stdout).unwrap();
    assert_eq!(points(&printed, "agent_cost.token.usage").len(), 9);

    let file = env.root.join("payload.json");
    let ran = env.agent_cost(
        &repo,
        &["export", "main~1", "--otlp-file", file.to_str().unwrap()],
    );
    assert_eq!(ran.stdout, "");
    assert_eq!(
        ran.stderr,
        format!("wrote 23 data points of 2 commits to {}\n", file.display())
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        points(&written, "agent_cost.cost.premium_requests").len(),
        0
    );
    assert_eq!(points(&written, "agent_cost.token.usage").len(), 9);

    for (bad, message) in [
        ("grpc://127.0.0.1:4317", "not grpc://"),
        ("localhost:4318", "is not a URL"),
    ] {
        let out = env.output(BIN, &repo, &["export", "--otlp", bad], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(
            stderr.contains("hint: give the OTLP/HTTP address"),
            "{stderr}"
        );
    }
    let out = env.output(BIN, &repo, &["export", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn several_repositories_are_told_apart_by_vcs_repository_name() {
    let env = TestEnv::new();
    let shop = shop(&env);
    let other = env.repo("other");
    commit_block(
        &env,
        &other,
        "feat: other",
        &trailer_block(
            9,
            &[BlockLine::usd("codex", "gpt-5", 10).tokens([1, 1, 1, 0, 0])],
        ),
        "sam@example.com",
        "2026-03-13T08:00:00Z",
    );
    let outside = env.outside();
    let printed = env.agent_cost(
        &outside,
        &[
            "export",
            "--repo",
            shop.to_str().unwrap(),
            "--repo",
            other.to_str().unwrap(),
            "--otlp",
            "http://127.0.0.1:9",
            "--dry-run",
        ],
    );
    let payload: Value = serde_json::from_str(&printed.stdout).unwrap();
    let mut repos: Vec<&str> = points(&payload, "agent_cost.token.usage")
        .iter()
        .filter_map(|p| attribute(p, "vcs.repository.name"))
        .collect();
    repos.dedup();
    assert_eq!(repos, ["shop", "other"]);
}

#[test]
fn the_hooks_never_start_the_sender_and_export_does_with_the_payload_on_stdin() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    let marks = env.root.join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let sender = env.root.join("bin/fake-sender");
    executable(
        &sender,
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/args'\ncat > '{0}/payload'\n",
            marks.display()
        ),
    );
    let sender_env = [("AGENT_COST_OTLP_BIN", sender.to_str().unwrap())];
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 200)]);
    stage(&env, &repo, "a.txt");
    env.git_env(&repo, &["commit", "-q", "-m", "Work"], &sender_env);
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 20)]);
    stage(&env, &repo, "b.txt");
    env.git_env(&repo, &["commit", "-q", "-m", "More work"], &sender_env);
    assert!(
        env.git(&repo, &["log", "-1", "--format=%B"])
            .stdout
            .contains("AI-Cost-Id:")
    );
    assert_eq!(
        std::fs::read_dir(&marks).unwrap().count(),
        0,
        "a hook started the sender"
    );

    let out = env.output(
        BIN,
        &repo,
        &["export", "--otlp", "http://127.0.0.1:9"],
        &sender_env,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(marks.join("args")).unwrap(),
        "http://127.0.0.1:9/v1/metrics\n"
    );
    let payload: Value =
        serde_json::from_slice(&std::fs::read(marks.join("payload")).unwrap()).unwrap();
    assert_eq!(
        int_sum(
            &payload,
            "agent_cost.token.usage",
            "agent_cost.token.type",
            "output"
        ),
        220
    );
}

#[test]
fn a_missing_sender_is_named_with_the_ways_out() {
    let env = TestEnv::new();
    let repo = shop(&env);
    let missing = env.root.join("nowhere/agent-cost-otlp");
    let out = env.output(
        BIN,
        &repo,
        &["export", "--otlp", "http://127.0.0.1:9"],
        &[("AGENT_COST_OTLP_BIN", missing.to_str().unwrap())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot run the sender {}", missing.display())),
        "{stderr}"
    );
    assert!(stderr.contains("AGENT_COST_OTLP_BIN"), "{stderr}");
}
