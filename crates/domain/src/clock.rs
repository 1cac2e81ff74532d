//! The clock is injected so that timeouts, expiries and schedules are testable.
//! Reading the wall clock anywhere else is refused by clippy (`disallowed-methods`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock: the one place allowed to read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that tests (and the demo seeder) move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_seconds: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self { unix_seconds: Arc::new(AtomicI64::new(at.unix_timestamp())) }
    }
    pub fn advance(&self, seconds: i64) {
        self.unix_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
    pub fn set(&self, at: OffsetDateTime) {
        self.unix_seconds.store(at.unix_timestamp(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.unix_seconds.load(Ordering::SeqCst)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(OffsetDateTime::from_unix_timestamp(1_000).unwrap());
        assert_eq!(c.now().unix_timestamp(), 1_000);
        c.advance(60);
        assert_eq!(c.now().unix_timestamp(), 1_060);
    }
}
