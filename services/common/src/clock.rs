//! Time as a parameter. Services read "now" from a [`Clock`]; tests pass a [`FixedClock`].

use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time (UTC+8): the calendar every date in the national interface uses.
pub const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// China Standard Time as a value.
pub fn china_offset() -> FixedOffset {
    CHINA
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China Standard Time.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&china_offset()).date_naive()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where a test puts it.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// A clock at noon (China time) of `date`.
    pub fn at_date(date: NaiveDate) -> Self {
        let noon = date.and_hms_opt(12, 0, 0).unwrap_or_default();
        let local = noon.and_local_timezone(china_offset()).single().map(|t| t.to_utc());
        Self::new(local.unwrap_or_else(|| noon.and_utc()))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = now;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|guard| *guard).unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_china_date() {
        // 2026-03-31 20:00 UTC is already 2026-04-01 in Beijing.
        let clock = FixedClock::new("2026-03-31T20:00:00Z".parse().unwrap());
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        let noon = FixedClock::at_date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
        assert_eq!(noon.now().to_rfc3339(), "2026-01-05T04:00:00+00:00");
    }
}
