//! The keypad's yearly guessing budget: a bucket of "code-guesses" that every checked wrong code drains by
//! the number of codes valid at the door at that moment, so the chance of guessing any valid code stays
//! at most [`YEARLY_RISK_BUDGET`] / 10^7 = 1 % per door per year, whatever the number of live codes.
//!
//! By the union bound (RFC 4226 §7) one guess at a door with `V` valid codes succeeds with probability at
//! most `V / 10^7`. The bucket holds at most [`BUDGET_CAPACITY`] code-guesses and refills continuously by
//! [`BUDGET_REFILL_PER_YEAR`] per 365 days; a code is checked only while the bucket holds its cost `V`.
//! In any 365 days the checked guesses therefore cost at most `capacity + refill = 100,000`
//! code-guesses, so `Σ V / 10^7 ≤ 1 %`. docs/protocol.md §19 gives the arithmetic per door.
//!
//! The state is a plain value the lock persists ([`GuessBudget::encode`]); time is always an argument. A
//! clock that goes back refills nothing.

/// One year, the budget's period.
pub const YEAR_SECS: u64 = 365 * 86_400;
/// Code-guesses the bucket holds when full (a burst after a quiet spell).
pub const BUDGET_CAPACITY: u64 = 5_000;
/// Code-guesses the bucket regains per 365 days.
pub const BUDGET_REFILL_PER_YEAR: u64 = 95_000;
/// `BUDGET_CAPACITY + BUDGET_REFILL_PER_YEAR`: the most code-guesses checked in any 365 days, i.e. a
/// 1 % chance per year at 7 digits (10^7 codes).
pub const YEARLY_RISK_BUDGET: u64 = BUDGET_CAPACITY + BUDGET_REFILL_PER_YEAR;
/// Length of [`GuessBudget::encode`].
pub const GUESS_BUDGET_LEN: usize = 12;

/// The level is kept in units of 1/[`YEAR_SECS`] code-guess, so the refill is a whole number per second.
const UNITS_PER_GUESS: u64 = YEAR_SECS;
const CAPACITY_UNITS: u64 = BUDGET_CAPACITY * UNITS_PER_GUESS;
/// Units regained per second: `BUDGET_REFILL_PER_YEAR` code-guesses per `YEAR_SECS` seconds.
const REFILL_UNITS_PER_SEC: u64 = BUDGET_REFILL_PER_YEAR;

/// The bucket: its level at `updated_at` (unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuessBudget {
    level: u64,
    updated_at: u32,
}

impl Default for GuessBudget {
    fn default() -> GuessBudget {
        GuessBudget::full()
    }
}

impl GuessBudget {
    /// A full bucket (a new lock, or a lock without a persisted budget).
    pub fn full() -> GuessBudget {
        GuessBudget { level: CAPACITY_UNITS, updated_at: 0 }
    }

    fn level_at(&self, now: u32) -> u64 {
        let elapsed = u64::from(now.saturating_sub(self.updated_at));
        self.level.saturating_add(elapsed.saturating_mul(REFILL_UNITS_PER_SEC)).min(CAPACITY_UNITS)
    }

    /// `Err(until)` if a code at a door with `valid_codes` valid codes must not be checked at `now`: the
    /// bucket holds less than its cost, and refills enough at `until`.
    pub fn check(&self, now: u32, valid_codes: u64) -> Result<(), u32> {
        let cost = valid_codes.max(1).saturating_mul(UNITS_PER_GUESS);
        let level = self.level_at(now);
        if level >= cost {
            return Ok(());
        }
        if cost > CAPACITY_UNITS {
            // More valid codes than the whole bucket: no code is ever checked (fails closed).
            return Err(u32::MAX);
        }
        let wait = (cost - level).div_ceil(REFILL_UNITS_PER_SEC);
        Err(u32::try_from(u64::from(now).saturating_add(wait)).unwrap_or(u32::MAX))
    }

    /// Charges one checked wrong code at `now` at a door with `valid_codes` valid codes.
    pub fn spend(&mut self, now: u32, valid_codes: u64) {
        let level = self.level_at(now);
        self.level = level.saturating_sub(valid_codes.max(1).saturating_mul(UNITS_PER_GUESS));
        self.updated_at = self.updated_at.max(now);
    }

    /// Whole code-guesses left at `now`.
    pub fn remaining(&self, now: u32) -> u64 {
        self.level_at(now) / UNITS_PER_GUESS
    }

    /// `level u64 BE || updated_at u32 BE` (12 bytes).
    pub fn encode(&self) -> [u8; GUESS_BUDGET_LEN] {
        let mut out = [0u8; GUESS_BUDGET_LEN];
        out[..8].copy_from_slice(&self.level.to_be_bytes());
        out[8..].copy_from_slice(&self.updated_at.to_be_bytes());
        out
    }

    /// Parses [`GuessBudget::encode`]'s layout; `None` on a wrong length or a level above capacity.
    pub fn decode(bytes: &[u8]) -> Option<GuessBudget> {
        let bytes: &[u8; GUESS_BUDGET_LEN] = bytes.try_into().ok()?;
        let mut level = [0u8; 8];
        level.copy_from_slice(&bytes[..8]);
        let level = u64::from_be_bytes(level);
        if level > CAPACITY_UNITS {
            return None;
        }
        Some(GuessBudget {
            level,
            updated_at: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_a_burst_then_refills_by_the_cost() {
        let mut b = GuessBudget::full();
        let now = 1_000_000;
        for _ in 0..BUDGET_CAPACITY / 308 {
            assert_eq!(b.check(now, 308), Ok(()));
            b.spend(now, 308);
        }
        let wait = (308 * UNITS_PER_GUESS - b.level).div_ceil(REFILL_UNITS_PER_SEC) as u32;
        assert_eq!(b.check(now, 308), Err(now + wait));
        assert_eq!(b.check(now + wait - 1, 308), Err(now + wait));
        assert_eq!(b.check(now + wait, 308), Ok(()));
        // About 28 hours per guess at 308 valid codes.
        assert!((100_000..104_000).contains(&(308 * YEAR_SECS / BUDGET_REFILL_PER_YEAR)));
    }

    #[test]
    fn a_clock_set_back_refills_nothing_and_too_many_codes_fail_closed() {
        let mut b = GuessBudget::full();
        b.spend(5_000, 4_999);
        assert_eq!(b.remaining(5_000), 1);
        assert_eq!(b.remaining(10), 1);
        assert_eq!(GuessBudget::full().check(0, BUDGET_CAPACITY + 1), Err(u32::MAX));
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let mut b = GuessBudget::full();
        b.spend(77, 10);
        assert_eq!(GuessBudget::decode(&b.encode()), Some(b));
        assert_eq!(GuessBudget::decode(&[0; 11]), None);
        assert_eq!(GuessBudget::decode(&[0xff; 12]), None);
    }
}
