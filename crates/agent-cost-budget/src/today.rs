//! Today's date where the user is: the day, week and month budgets and the spike warning are
//! counted in the machine's time zone.
//!
//! `jiff::Zoned::now()` finds the system time zone by its name, which first builds an index of
//! the whole time zone database (a walk of `/usr/share/zoneinfo`: some 3 M instructions and
//! hundreds of system calls, paid by every commit with period budgets). Only the date is
//! needed here, and `/etc/localtime` describes the same zone without a name.

use agent_cost_paths::env_vars;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The system's local time zone description.
const LOCALTIME: &str = "/etc/localtime";

/// Today's date in the machine's time zone (`TZ` when set, else `/etc/localtime`, else UTC as
/// jiff decides).
pub fn local_today() -> Date {
    let now = jiff::Timestamp::now();
    match localtime_zone() {
        Some(zone) => now.to_zoned(zone).date(),
        None => jiff::Zoned::now().date(),
    }
}

/// `/etc/localtime` read as a time zone, unless `TZ` is set (whose many forms jiff reads).
fn localtime_zone() -> Option<TimeZone> {
    if std::env::var_os(env_vars::TZ).is_some() {
        return None;
    }
    let data = std::fs::read(LOCALTIME).ok()?;
    TimeZone::tzif("localtime", &data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_jiffs_own_lookup() {
        // Around midnight the two calls may straddle the day: accept the next day too.
        let ours = local_today();
        let jiffs = jiff::Zoned::now().date();
        assert!(
            ours == jiffs || ours.tomorrow().ok() == Some(jiffs),
            "{ours} vs {jiffs}"
        );
    }
}
