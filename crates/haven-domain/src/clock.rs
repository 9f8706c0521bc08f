//! Time and randomness, passed in rather than read from the world.
//!
//! Every part of Haven that needs the current time or random bytes receives a [`Clock`] or a
//! [`SecureRng`] from the application state, so tests can freeze and advance time (session
//! timeouts, link expiry, escalation timers) and nothing reads the wall clock behind their back.
//! `clippy.toml` forbids the direct calls.

use std::sync::Mutex;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC, truncated to whole microseconds (the precision both
    /// databases keep, so a value read back compares equal to the value written).
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates an instant to whole microseconds.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
}

/// A clock that stands still until told to move; for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(to_micros(start)))
    }

    /// Moves the clock forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to_micros(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A source of cryptographically secure random bytes.
pub trait SecureRng: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// Returns `N` random bytes.
    fn bytes<const N: usize>(&self) -> [u8; N]
    where
        Self: Sized,
    {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }
}

/// Returns `N` random bytes from a dynamically dispatched generator.
pub fn random_bytes<const N: usize>(rng: &dyn SecureRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// The operating system's generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl SecureRng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        // The OS generator only fails on a broken system, where continuing would mean
        // producing guessable keys and tokens; stopping is the only safe answer.
        #[allow(clippy::expect_used)]
        getrandom::fill(buf).expect("the operating system's random number generator failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now().timestamp_subsec_nanos(), 123_456_000);
        clock.advance(TimeDelta::minutes(31));
        assert_eq!((clock.now() - to_micros(start)).num_minutes(), 31);
    }

    #[test]
    fn os_rng_fills() {
        let a: [u8; 32] = OsRng.bytes();
        let b: [u8; 32] = OsRng.bytes();
        assert_ne!(a, b);
    }
}
