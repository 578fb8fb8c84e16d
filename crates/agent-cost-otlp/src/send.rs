//! POSTing a payload to an OTLP/HTTP endpoint with `ureq` (feature `send`): the only code of
//! agent-cost that opens a socket, linked only into the `agent-cost-otlp` binary.
//!
//! One request, `Content-Type: application/json`, no proxy from the environment, no
//! redirects followed, 30 seconds at most. A 2xx answer is success; anything else, or no
//! answer, is a [`SendError`] naming the URL.

use std::time::Duration;

use crate::endpoint::Endpoint;

/// Why a payload was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection (refused, unknown host, TLS failure, timeout).
    #[error("cannot send metrics to {url}: {reason}")]
    Connection {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The receiver answered with a status other than 2xx.
    #[error("{url} answered HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body, on one line.
        body: String,
    },
}

impl SendError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            SendError::Connection { .. } => {
                "is an OpenTelemetry Collector (or another OTLP/HTTP receiver) listening there? \
                 Check the host and port (OTLP/HTTP is usually port 4318; 4317 is gRPC, which \
                 this does not speak), or write the payload with --otlp-file and send it later"
            }
            SendError::Status { status, .. } if *status == 404 || *status == 405 => {
                "the receiver does not take metrics at that path: give the base URL \
                 (http://HOST:4318, which sends to /v1/metrics) or the full metrics URL"
            }
            SendError::Status { status, .. } if *status == 415 => {
                "the receiver does not take OTLP's JSON encoding: send to an OpenTelemetry \
                 Collector's otlp receiver (protocols: http), which does"
            }
            SendError::Status { .. } => {
                "see the receiver's answer above and its logs; `--dry-run` prints what was sent"
            }
        }
    }
}

/// Sends `body` (an OTLP/JSON `ExportMetricsServiceRequest`) to `endpoint`; returns the 2xx
/// status.
pub fn send(endpoint: &Endpoint, body: &[u8]) -> Result<u16, SendError> {
    let url = endpoint.url();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .user_agent(concat!("agent-cost/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let response = agent
        .post(&url)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|error| SendError::Connection {
            url: url.clone(),
            reason: reason(&error),
        })?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let text = response
        .into_body()
        .with_config()
        .limit(4096)
        .read_to_string()
        .unwrap_or_default();
    let mut body: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if body.chars().count() > 300 {
        body = body.chars().take(300).collect::<String>() + "…";
    }
    Err(SendError::Status { url, status, body })
}

/// A connection error in words.
fn reason(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::Timeout(_) => "no answer within 30 seconds".to_string(),
        other => other.to_string(),
    }
}
