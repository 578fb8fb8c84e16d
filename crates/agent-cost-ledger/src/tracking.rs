//! Which repositories charge spend to commits, and since when.
//!
//! `agent-cost install-hooks` writes `<common-git-dir>/agent-cost/tracking.json`. Spend that
//! happened before `since` is not written into commits (a first commit must not carry months
//! of history); `install-hooks --since DATE` moves the start back.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoResultExt, LedgerError};
use crate::journal::Charge;

/// Tracking settings of one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    /// Spend from this instant on is charged to commits (RFC 3339, UTC).
    pub since: String,
}

/// Where a repository's tracking file is.
pub fn tracking_path(common_dir: &Path) -> PathBuf {
    common_dir.join("agent-cost").join("tracking.json")
}

impl Tracking {
    /// Reads the tracking file of a repository, if hooks were installed.
    pub fn read(common_dir: &Path) -> Result<Option<Tracking>, LedgerError> {
        let path = tracking_path(common_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| LedgerError::Corrupt {
                        path,
                        detail: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(path),
        }
    }

    /// Writes the tracking file.
    pub fn write(&self, common_dir: &Path) -> Result<(), LedgerError> {
        let path = tracking_path(common_dir);
        let dir = path.parent().unwrap_or(common_dir);
        std::fs::create_dir_all(dir).at(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| LedgerError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        std::fs::write(&path, text + "\n").at(path)
    }

    /// Removes the tracking file (hooks uninstalled).
    pub fn remove(common_dir: &Path) -> Result<(), LedgerError> {
        let path = tracking_path(common_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path),
            _ => Ok(()),
        }
    }
}

/// Splits charges into those a commit carries and those logged before tracking started
/// (`tracking` is `None` when hooks were installed by hand: everything is carried). A charge
/// whose time cannot be read is carried: losing spend is worse than charging it late.
pub fn split_by_tracking<'a>(
    tracking: Option<&Tracking>,
    charges: &'a [Charge],
) -> (Vec<&'a Charge>, Vec<&'a Charge>) {
    let since = tracking.and_then(|t| parse_time(&t.since).ok());
    charges
        .iter()
        .partition(|charge| match (since, parse_time(&charge.ts)) {
            (Some(since), Ok(at)) => at >= since,
            _ => true,
        })
}

/// Parses an RFC 3339 instant, or a plain date (midnight UTC).
pub fn parse_time(text: &str) -> Result<jiff::Timestamp, LedgerError> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| LedgerError::BadTime {
            text: text.to_string(),
        })
}

/// Now, as RFC 3339 text in UTC.
pub fn now_rfc3339() -> String {
    let seconds = jiff::Timestamp::now().as_second();
    rfc3339_from_seconds(seconds)
}

/// Seconds since the epoch as RFC 3339 text in UTC.
pub fn rfc3339_from_seconds(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}
