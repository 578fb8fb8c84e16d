//! Instants as the store keeps them: milliseconds since the epoch, parsed once from RFC 3339.

use crate::error::StoreError;

/// Parses an RFC 3339 instant, or a plain date (midnight UTC).
pub fn parse_time(text: &str) -> Result<jiff::Timestamp, StoreError> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| StoreError::BadTime {
            text: text.to_string(),
        })
}

/// Milliseconds since the epoch of an RFC 3339 instant, if it is one.
pub fn millis_of(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Now, as RFC 3339 text in UTC (whole seconds).
pub fn now_rfc3339() -> String {
    rfc3339_from_seconds(jiff::Timestamp::now().as_second())
}

/// Seconds since the epoch as RFC 3339 text in UTC.
pub fn rfc3339_from_seconds(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}
