//! Wrong-code throttling: growing lockouts after repeated wrong codes, and a rolling 24-hour cap.
//!
//! Schedule: the first [`FREE_ATTEMPTS`] consecutive wrong codes cost nothing; the 5th and every later
//! consecutive wrong code locks the keypad for [`FIRST_LOCKOUT_SECS`] × 2^(failures − 5), capped at
//! [`MAX_LOCKOUT_SECS`]. A granted code resets the consecutive count and the lockout. Independently of
//! successes, at most [`MAX_GUESSES_PER_DAY`] wrong codes are checked in any 24-hour window, so someone
//! who holds one valid code cannot interleave it to reset the schedule and guess without bound.
//!
//! The state is a plain value the lock persists ([`Throttle::encode`]); time is always an argument.

use alloc::vec::Vec;

/// Consecutive wrong codes allowed before the first lockout.
pub const FREE_ATTEMPTS: u32 = 5;
/// Lockout after the [`FREE_ATTEMPTS`]-th consecutive wrong code; it doubles with each further one.
pub const FIRST_LOCKOUT_SECS: u32 = 30;
/// The longest single lockout.
pub const MAX_LOCKOUT_SECS: u32 = 3600;
/// At most this many wrong codes are checked in any 24 hours (the schedule above allows exactly this
/// many in the first day: see `docs/protocol.md` (sections 13 to 22)).
pub const MAX_GUESSES_PER_DAY: usize = 34;

const DAY_SECS: u32 = 86_400;

/// The keypad's wrong-code state. Persist it across reboots, or power cycling resets the lockouts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Throttle {
    consecutive_failures: u32,
    locked_until: u32,
    /// Times of the most recent wrong codes (oldest first), at most [`MAX_GUESSES_PER_DAY`].
    recent_failures: Vec<u32>,
}

/// How long the keypad locks after `failures` consecutive wrong codes (0 while below the free ones).
pub fn lockout_after(failures: u32) -> u32 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16);
    FIRST_LOCKOUT_SECS.saturating_mul(1 << doublings).min(MAX_LOCKOUT_SECS)
}

impl Throttle {
    /// A fresh state: no failures.
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// `Err(until)` if a code typed at `now` must not be checked: the keypad is locked until `until`.
    ///
    /// A lockout or a 24-hour cap that would end past the last u32 second (`u32::MAX`, year 2106) never
    /// ends: at the end of representable time the keypad fails closed, not open (found by fuzzing: a
    /// clock stuck at `u32::MAX` saturated every lockout to "until now" and allowed unlimited guesses).
    pub fn check(&self, now: u32) -> Result<(), u32> {
        if now < self.locked_until || self.locked_until == u32::MAX {
            return Err(self.locked_until);
        }
        if self.recent_failures.len() >= MAX_GUESSES_PER_DAY
            && let Some(&oldest) = self.recent_failures.first()
        {
            let free_at = oldest.saturating_add(DAY_SECS);
            if now < free_at || free_at == u32::MAX {
                return Err(free_at);
            }
        }
        Ok(())
    }

    /// Records a wrong code checked at `now`.
    ///
    /// The failure times stay in order even when the lock's clock went back (a power loss restores it to
    /// the last time token): a failure is recorded no earlier than the latest one already held, so the
    /// 24-hour cap never forgets it sooner and the persisted state still decodes (found by fuzzing).
    pub fn record_failure(&mut self, now: u32) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.recent_failures.len() >= MAX_GUESSES_PER_DAY {
            self.recent_failures.remove(0);
        }
        let at = self.recent_failures.last().map_or(now, |&latest| latest.max(now));
        self.recent_failures.push(at);
        let lockout = lockout_after(self.consecutive_failures);
        if lockout > 0 {
            self.locked_until = now.saturating_add(lockout);
        }
    }

    /// Records a granted code: the schedule starts over (the 24-hour cap keeps its history).
    pub fn record_success(&mut self) {
        self.consecutive_failures = 0;
        self.locked_until = 0;
    }

    /// Consecutive wrong codes since the last granted one.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// `consecutive u32 BE || locked_until u32 BE || n u8 || n × failure time u32 BE` (oldest first).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + 4 * self.recent_failures.len());
        out.extend_from_slice(&self.consecutive_failures.to_be_bytes());
        out.extend_from_slice(&self.locked_until.to_be_bytes());
        // Bounded by MAX_GUESSES_PER_DAY (34).
        out.push(self.recent_failures.len() as u8);
        for t in &self.recent_failures {
            out.extend_from_slice(&t.to_be_bytes());
        }
        out
    }

    /// Parses [`Throttle::encode`]'s layout; `None` on any length or bound violation.
    pub fn decode(bytes: &[u8]) -> Option<Throttle> {
        let (head, rest) = bytes.split_at_checked(9)?;
        let n = usize::from(head[8]);
        if n > MAX_GUESSES_PER_DAY || rest.len() != 4 * n {
            return None;
        }
        let recent_failures: Vec<u32> =
            rest.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
        if recent_failures.windows(2).any(|w| w[0] > w[1]) {
            return None;
        }
        Some(Throttle {
            consecutive_failures: u32::from_be_bytes([head[0], head[1], head[2], head[3]]),
            locked_until: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
            recent_failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_and_caps() {
        let secs: Vec<u32> = (1..=14).map(lockout_after).collect();
        assert_eq!(secs, [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(lockout_after(u32::MAX), MAX_LOCKOUT_SECS);
    }

    #[test]
    fn lockout_then_reset_on_success() {
        let mut t = Throttle::new();
        for _ in 0..4 {
            t.record_failure(100);
            assert_eq!(t.check(100), Ok(()));
        }
        t.record_failure(100);
        assert_eq!(t.check(100), Err(130));
        assert_eq!(t.check(129), Err(130));
        assert_eq!(t.check(130), Ok(()));
        t.record_failure(130);
        assert_eq!(t.check(130), Err(190));
        t.record_success();
        assert_eq!(t.check(131), Ok(()));
        assert_eq!(t.consecutive_failures(), 0);
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let mut t = Throttle::new();
        for i in 0..40 {
            t.record_failure(1000 + i);
        }
        let bytes = t.encode();
        assert_eq!(bytes.len(), 9 + 4 * MAX_GUESSES_PER_DAY);
        assert_eq!(Throttle::decode(&bytes), Some(t));
        assert_eq!(Throttle::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Throttle::decode(&[0; 8]), None);
        assert_eq!(Throttle::decode(&[0, 0, 0, 0, 0, 0, 0, 0, 35]), None);
        assert_eq!(Throttle::decode(&[0; 9]), Some(Throttle::new()));
    }
}
