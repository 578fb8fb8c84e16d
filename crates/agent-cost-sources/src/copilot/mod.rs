//! The GitHub Copilot source: three local surfaces, one agent (`copilot`).
//!
//! - [`vscode`]: VS Code Copilot Chat sessions, `<User>/workspaceStorage/<hash>/chatSessions/`
//!   (`*.json` snapshots rewritten whole, `*.jsonl` mutation logs replayed) and
//!   `<User>/globalStorage/emptyWindowChatSessions/` (no folder open: unattributed). One event
//!   per finished request: one request, its premium requests (the model's multiplier) and
//!   their USD estimate.
//! - [`traces`]: Copilot Chat's OpenTelemetry database
//!   `<User>/globalStorage/github.copilot-chat/agent-traces.db`: exact tokens of every model
//!   call (`chat` spans), which take the place of the chat sessions' own token counts.
//! - [`cli`]: the Copilot CLI's `~/.copilot/session-state/` and `history-session-state/`
//!   event logs: output tokens per message, the rest of the tokens and the premium requests
//!   from `session.usage_checkpoint` and `session.shutdown`.
//!
//! Copilot bills premium requests, not tokens: every event carries a quantity in
//! `premium-requests` and a USD estimate at the list price per premium request as its source
//! cost (0 for events that only add tokens), and the drain prices such groups at that cost,
//! never by tokens. The multipliers come from [`agent_cost_prices::CopilotBilling`]. See
//! `docs/reading.md` ("GitHub Copilot") for the rules and why.

pub mod cli;
pub mod traces;
pub mod vscode;

use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_cost_events::{Agent, Money, Quantity, RepeatRule, TokenCounts, Unit, UsageEvent};
use agent_cost_prices::CopilotBilling;
use serde::{Deserialize, Serialize};

use crate::source::{DataFile, Discovery, FileStamp, Item, ReadEnd, ReadStats, Scope, Source};

/// The agent name Copilot events carry in the ledger and in trailers.
pub const AGENT: &str = "copilot";

/// The model recorded when a request names none (priced at the default multiplier).
pub const UNKNOWN_MODEL: &str = "unknown";

/// Reads GitHub Copilot's local logs.
#[derive(Debug, Clone)]
pub struct CopilotSource {
    vscode_user_dirs: Vec<PathBuf>,
    cli_home: Option<PathBuf>,
    billing: CopilotBilling,
}

impl CopilotSource {
    /// The source for these VS Code `User` directories and Copilot CLI home (existing or
    /// not), billing premium requests by `billing`.
    pub fn new(
        vscode_user_dirs: Vec<PathBuf>,
        cli_home: Option<PathBuf>,
        billing: CopilotBilling,
    ) -> CopilotSource {
        CopilotSource {
            vscode_user_dirs,
            cli_home,
            billing,
        }
    }
}

/// Which of Copilot's files a data file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A chat session snapshot (`.json`) or mutation log (`.jsonl`).
    Chat,
    /// The OpenTelemetry span database.
    Traces,
    /// A Copilot CLI event log.
    Cli,
}

fn kind_of(path: &Path) -> Kind {
    if path.file_name().is_some_and(|n| n == traces::DB_NAME) {
        return Kind::Traces;
    }
    let parent = path.parent().and_then(Path::file_name);
    if parent.is_some_and(|p| p == "chatSessions" || p == "emptyWindowChatSessions") {
        Kind::Chat
    } else {
        Kind::Cli
    }
}

impl Source for CopilotSource {
    fn name(&self) -> &'static str {
        AGENT
    }

    fn roots(&self) -> Vec<PathBuf> {
        self.vscode_user_dirs
            .iter()
            .cloned()
            .chain(self.cli_home.clone())
            .collect()
    }

    fn discover(&self, scope: &Scope) -> Discovery {
        let mut discovery = Discovery::default();
        for user in &self.vscode_user_dirs {
            vscode::discover(user, scope, &mut discovery);
        }
        if let Some(home) = &self.cli_home {
            // CLI sessions name their directory inside the log only: a worktree's catch-up
            // looks at every one (an unchanged log costs a `stat`).
            cli::discover(home, &mut discovery);
        }
        discovery
    }

    fn unchanged(&self, file: &DataFile, cursor: &str) -> bool {
        let Some(stamp) = file.stamp else {
            return false;
        };
        match kind_of(&file.path) {
            Kind::Chat => WholeCursor::parse(cursor).is_some_and(|c| c.stamp == stamp),
            // Its writes land in the `-wal` file first: always asked (one indexed query).
            Kind::Traces => false,
            Kind::Cli => cli::unchanged(&stamp, cursor),
        }
    }

    fn read(
        &self,
        file: &DataFile,
        cursor: Option<&str>,
        deadline: Option<Instant>,
        sink: &mut dyn FnMut(Item) -> ControlFlow<()>,
    ) -> io::Result<ReadEnd> {
        match kind_of(&file.path) {
            Kind::Chat => vscode::read(&file.path, cursor, &self.billing, sink),
            Kind::Traces => traces::read(&file.path, cursor, sink),
            Kind::Cli => cli::read(file, cursor, deadline, &self.billing, sink),
        }
    }
}

/// The cursor of a file read whole every time it changes (chat sessions): its stamp, and a
/// hash of its content, so a file touched but not changed is not parsed again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WholeCursor {
    /// The file's stamp when read.
    pub stamp: FileStamp,
    /// FNV-1a hash of its content.
    pub hash: u64,
}

impl WholeCursor {
    fn parse(text: &str) -> Option<WholeCursor> {
        serde_json::from_str(text).ok()
    }

    fn to_text(self) -> String {
        serde_json::to_string(&self).expect("a cursor serializes")
    }
}

/// A reader that hashes what passes through it (FNV-1a, as the tail reader's windows).
struct Hashing<R> {
    inner: R,
    hash: u64,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hash: 0xcbf2_9ce4_8422_2325,
            bytes: 0,
        }
    }

    /// Reads (and hashes) whatever the parser left unread.
    fn finish(mut self) -> io::Result<(u64, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hash, self.bytes))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for byte in &buf[..n] {
            self.hash ^= u64::from(*byte);
            self.hash = self.hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A model name as Copilot logs it, without the `copilot/` (or another provider's) prefix.
pub fn model_name(raw: &str) -> Option<String> {
    let name = raw.rsplit('/').next().unwrap_or(raw).trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The multiplier at the end of a chat result's `details` (`"Claude Opus 4.5 • 3x"`,
/// `"GPT-4.1 • 0x"`, `"… • 0.33x"`), in millionths.
pub fn multiplier_of_details(details: &str) -> Option<u64> {
    let (_, last) = details.rsplit_once('•')?;
    let number = last.trim().strip_suffix(['x', 'X', '×'])?.trim();
    decimal_micros(number)
}

/// A non-negative decimal (`3`, `0.33`, `1.5`) in millionths, digits beyond the sixth
/// fractional one dropped; `None` for anything else or above 10⁹.
pub fn decimal_micros(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if whole > 1_000_000_000 {
        return None;
    }
    let mut micros = 0u64;
    for (i, b) in fraction.bytes().take(6).enumerate() {
        micros += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
    }
    Some(whole * 1_000_000 + micros)
}

/// A JSON number (integer or float, as Copilot writes premium requests) in millionths.
pub fn json_micros(value: &serde_json::Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return n.checked_mul(1_000_000);
    }
    let f = value.as_f64()?;
    (f.is_finite() && (0.0..1e9).contains(&f)).then(|| (f * 1_000_000.0).round() as u64)
}

/// Milliseconds since the epoch as RFC 3339 text.
pub fn rfc3339_of_millis(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// One Copilot event before the fields every event of this source shares are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// See [`UsageEvent::event_id`].
    pub event_id: String,
    /// See [`UsageEvent::repeat`].
    pub repeat: RepeatRule,
    /// See [`UsageEvent::session_id`].
    pub session_id: String,
    /// See [`UsageEvent::model`].
    pub model: String,
    /// See [`UsageEvent::timestamp`].
    pub timestamp: String,
    /// See [`UsageEvent::tokens`].
    pub tokens: TokenCounts,
    /// See [`UsageEvent::requests`].
    pub requests: u64,
    /// Premium requests, in millionths.
    pub premium_micros: u64,
    /// See [`UsageEvent::cwd`].
    pub cwd: String,
    /// See [`UsageEvent::git_branch`].
    pub git_branch: Option<String>,
}

impl Draft {
    /// The event, its premium requests priced at `billing`'s list price.
    pub fn into_event(self, billing: &CopilotBilling) -> UsageEvent {
        UsageEvent {
            agent: Agent::new(AGENT),
            event_id: self.event_id,
            variant: String::new(),
            repeat: self.repeat,
            session_id: self.session_id,
            model: self.model,
            timestamp: self.timestamp,
            tokens: self.tokens,
            requests: self.requests,
            quantity: Some(Quantity {
                unit: Unit::new(Unit::PREMIUM_REQUESTS),
                micros: self.premium_micros,
            }),
            source_cost: Some(Money(billing.picos_of(self.premium_micros))),
            cwd: self.cwd,
            git_branch: self.git_branch,
            sidechain: false,
            speed: None,
        }
    }
}

/// Stats of a read that found nothing new.
fn up_to_date() -> ReadStats {
    ReadStats {
        up_to_date: true,
        ..ReadStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_are_read_from_the_details() {
        assert_eq!(
            multiplier_of_details("Claude Opus 4.5 • 3x"),
            Some(3_000_000)
        );
        assert_eq!(multiplier_of_details("GPT-4.1 • 0x"), Some(0));
        assert_eq!(
            multiplier_of_details("Claude Haiku 4.5 • 0.33x"),
            Some(330_000)
        );
        assert_eq!(multiplier_of_details("Auto • 1.5×"), Some(1_500_000));
        assert_eq!(multiplier_of_details("GPT-4.1"), None);
        assert_eq!(multiplier_of_details("x • fastx"), None);
        assert_eq!(decimal_micros("."), None);
        assert_eq!(decimal_micros("-1"), None);
        assert_eq!(decimal_micros(".5"), Some(500_000));
        assert_eq!(decimal_micros("0.1234567"), Some(123_456));
    }

    #[test]
    fn model_names_lose_their_provider_prefix() {
        assert_eq!(
            model_name("copilot/claude-opus-4.5").as_deref(),
            Some("claude-opus-4.5")
        );
        assert_eq!(model_name("gpt-4.1").as_deref(), Some("gpt-4.1"));
        assert_eq!(model_name("copilot/"), None);
        assert_eq!(
            rfc3339_of_millis(1_762_883_660_019),
            "2025-11-11T17:54:20.019Z"
        );
        assert_eq!(json_micros(&serde_json::json!(0.33)), Some(330_000));
        assert_eq!(json_micros(&serde_json::json!(2)), Some(2_000_000));
        assert_eq!(json_micros(&serde_json::json!(-2)), None);
    }

    #[test]
    fn files_are_told_apart_by_where_they_lie() {
        assert_eq!(
            kind_of(Path::new("/u/workspaceStorage/h/chatSessions/s.json")),
            Kind::Chat
        );
        assert_eq!(
            kind_of(Path::new(
                "/u/globalStorage/emptyWindowChatSessions/s.jsonl"
            )),
            Kind::Chat
        );
        assert_eq!(
            kind_of(Path::new(
                "/u/globalStorage/github.copilot-chat/agent-traces.db"
            )),
            Kind::Traces
        );
        assert_eq!(
            kind_of(Path::new("/c/session-state/x/events.jsonl")),
            Kind::Cli
        );
    }
}

#[cfg(test)]
mod fixtures;
