//! The AI spend of history as OpenTelemetry metrics, for `agent-cost export --otlp`.
//!
//! - [`payload`] turns a [`Ledger`](agent_cost_report::Ledger) into one OTLP
//!   `ExportMetricsServiceRequest` in the JSON encoding: token usage by the GenAI semantic
//!   conventions (`gen_ai.client.token.usage`), the four token counts of the trailers exactly,
//!   and the cost in USD (a double, and exact integer micro-dollars) and in every other unit
//!   (credits, premium requests) under metrics of their own, never added to USD. Every data
//!   point carries its commit, repository, branch and author as attributes and is timestamped
//!   at the commit's author time. docs/otlp.md lists them all.
//! - [`Endpoint`] checks the URL the payload goes to (`http://` or `https://`, and the path
//!   `/v1/metrics` when the URL has none).
//! - `send` (feature `send`) POSTs a payload to an endpoint. Only the separate
//!   `agent-cost-otlp` binary enables it: the `agent-cost` binary builds the payload and hands
//!   it to that binary on stdin, so that it never imports a socket function itself
//!   (docs/security.md).

mod endpoint;
pub mod payload;
#[cfg(feature = "send")]
pub mod send;

pub use endpoint::{DEFAULT_PATH, Endpoint, EndpointError, Scheme};
pub use payload::{Payload, metrics_request};
