//! The only place that reads the system time. Logic takes a `Clock` (or a
//! time value) as a parameter, so tests can set the time and never sleep.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn day(self) -> Day {
        Day((self.0 / 86_400) as i64)
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_secs()))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`: for reviewer-side events only (the audit log,
    /// sign-ins), never for anything a witness did.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 % 86_400;
        format!("{}T{:02}:{:02}:{:02}Z", self.day(), secs / 3600, (secs / 60) % 60, secs % 60)
    }

    /// `YYYY-MM-DDTHH:MMZ`: what need not be exact to the second (an
    /// account's sign-in history).
    pub fn to_minute(self) -> String {
        let secs = self.0 % 86_400;
        format!("{}T{:02}:{:02}Z", self.day(), secs / 3600, (secs / 60) % 60)
    }
}

/// A calendar day (UTC), the only time a witness's actions are kept at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Day(i64);

impl Day {
    /// The day `n` days later (earlier for a negative `n`).
    pub fn plus_days(self, n: i64) -> Day {
        Day(self.0.saturating_add(n))
    }

    /// Year, month (1–12) and day (1–31) of the proleptic Gregorian
    /// calendar, by the well-known days-to-civil conversion.
    pub fn civil(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    }

    /// The inverse of [`Day::civil`].
    pub fn from_civil(y: i64, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let day = Day(era * 146_097 + doe - 719_468);
        // Reject 31 April and friends: the round trip must land on the same date.
        (day.civil().1 == m as u32 && day.civil().2 == d).then_some(day)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl From<Day> for String {
    fn from(day: Day) -> String {
        day.to_string()
    }
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(text: String) -> Result<Day, String> {
        let mut parts = text.splitn(3, '-');
        let mut next = || parts.next().and_then(|p| p.parse::<i64>().ok());
        match (next(), next(), next()) {
            (Some(y), Some(m), Some(d)) => Day::from_civil(y, m as u32, d as u32),
            _ => None,
        }
        .ok_or_else(|| format!("not a date (YYYY-MM-DD): {text}"))
    }
}

/// Where time comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    fn today(&self) -> Day {
        self.now().day()
    }
}

/// The real clock. Constructed only at the edges (main, the server).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place allowed to read it
    fn now(&self) -> Timestamp {
        Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
    }
}

/// A clock tests set and move by hand.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(t.0)))
    }

    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days_print_right() {
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(Timestamp(951_782_400).day().to_string(), "2000-02-29");
        assert_eq!(Timestamp(1_795_910_400).day().to_string(), "2026-11-29");
        assert_eq!(Timestamp(1_795_910_400 + 3_661).to_rfc3339(), "2026-11-29T01:01:01Z");
    }

    #[test]
    fn days_add_across_months_and_years() {
        let day = Day::from_civil(2026, 12, 30).unwrap();
        assert_eq!(day.plus_days(2).to_string(), "2027-01-01");
        assert_eq!(day.plus_days(-30).to_string(), "2026-11-30");
    }

    #[test]
    fn days_round_trip_through_text() {
        for n in [-1i64, 0, 1, 10_957, 20_000, 60_000, 2_000_000] {
            let day = Day(n);
            assert_eq!(Day::try_from(day.to_string()).unwrap(), day, "day {n}");
        }
        assert!(Day::try_from("2026-02-30".to_string()).is_err());
        assert!(Day::try_from("yesterday".to_string()).is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(Timestamp(100));
        assert_eq!(clock.now(), Timestamp(100));
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), Timestamp(160));
    }
}
