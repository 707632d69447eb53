//! [`SimClock`]: the clock every time rule of a running simulator reads, controllable from outside
//! (`/sim/v1/controls/clock`): it follows a base clock (the system clock, or a test's `ManualClock`)
//! shifted by an offset, and can be frozen at an instant, moved forward, and unfrozen.
//!
//! Tokens, doorcode windows, idempotency retention, sessions, and the virtual locks' clocks all read it
//! (the locks through `LockRegistry`, each adding its own drift), so moving it forward is time passing for
//! the whole simulated world. It never moves backwards: a lock's clock and a signed log cannot.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use latchkey::Clock;

/// A clock with an offset from its base, optionally frozen.
pub struct SimClock {
    base: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, Default)]
struct State {
    /// Added to the base clock while running.
    offset: Duration,
    /// The instant it stands at while frozen.
    frozen: Option<DateTime<Utc>>,
}

/// What the clock reads and how it is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    /// The simulator's current instant.
    pub now: DateTime<Utc>,
    /// Whether it stands still.
    pub frozen: bool,
    /// How far it is ahead of its base clock (the real time, unless a test injected another clock).
    pub offset: Duration,
}

/// Why a clock change was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The change would move the clock backwards.
    #[error("the simulator's clock only moves forward: {0} is before its current time {1}")]
    Backwards(DateTime<Utc>, DateTime<Utc>),
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClock").field("state", &*self.state()).finish_non_exhaustive()
    }
}

impl SimClock {
    /// A clock that reads `base` until told otherwise.
    pub fn new(base: Arc<dyn Clock>) -> SimClock {
        SimClock { base, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self, state: &State) -> ClockReading {
        let now = state.frozen.unwrap_or_else(|| self.base.now() + state.offset);
        ClockReading { now, frozen: state.frozen.is_some(), offset: now - self.base.now() }
    }

    /// The current reading.
    pub fn reading(&self) -> ClockReading {
        self.read(&self.state())
    }

    /// Stops the clock at `at` (now if none); refuses an instant in the past.
    pub fn freeze(&self, at: Option<DateTime<Utc>>) -> Result<ClockReading, ClockError> {
        let mut state = self.state();
        let now = self.read(&state).now;
        let at = at.unwrap_or(now);
        if at < now {
            return Err(ClockError::Backwards(at, now));
        }
        state.frozen = Some(at);
        Ok(self.read(&state))
    }

    /// Moves the clock forward by `by` (frozen or not).
    pub fn advance(&self, by: Duration) -> Result<ClockReading, ClockError> {
        let mut state = self.state();
        let now = self.read(&state).now;
        if by < Duration::zero() {
            return Err(ClockError::Backwards(now + by, now));
        }
        match &mut state.frozen {
            Some(frozen) => *frozen += by,
            None => state.offset += by,
        }
        Ok(self.read(&state))
    }

    /// Lets a frozen clock run again from where it stands.
    pub fn unfreeze(&self) -> ClockReading {
        let mut state = self.state();
        if let Some(frozen) = state.frozen.take() {
            state.offset = frozen - self.base.now();
        }
        self.read(&state)
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        let state = *self.state();
        state.frozen.unwrap_or_else(|| self.base.now() + state.offset)
    }
}

#[cfg(test)]
mod tests {
    use latchkey::ManualClock;

    use super::*;

    fn clock() -> (ManualClock, SimClock) {
        let base = ManualClock::new(DateTime::from_timestamp(1_000_000, 0).expect("instant"));
        let clock = SimClock::new(Arc::new(base.clone()));
        (base, clock)
    }

    #[test]
    fn a_frozen_clock_stands_still_and_resumes_from_where_it_stood() {
        let (base, clock) = clock();
        let at = clock.freeze(None).expect("freeze").now;
        base.advance(Duration::hours(1));
        assert_eq!(clock.now(), at);
        clock.advance(Duration::minutes(5)).expect("advance");
        assert_eq!(clock.now(), at + Duration::minutes(5));
        clock.unfreeze();
        base.advance(Duration::seconds(10));
        assert_eq!(clock.now(), at + Duration::minutes(5) + Duration::seconds(10));
    }

    #[test]
    fn a_running_clock_moves_forward_and_never_back() {
        let (base, clock) = clock();
        clock.advance(Duration::days(1)).expect("advance");
        assert_eq!(clock.now(), base.now() + Duration::days(1));
        assert!(clock.advance(Duration::seconds(-1)).is_err());
        assert!(clock.freeze(Some(base.now())).is_err(), "freezing in the past");
        assert_eq!(clock.reading().offset, Duration::days(1));
    }
}
