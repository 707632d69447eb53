//! Time-zone rules a lock learns by sync, so it can tell its local calendar day without a tz database.
//!
//! The backend (which has the IANA database) sends each lock a [`ZoneRule`]: the UTC instants at which
//! the door's offset from UTC changes, covering at least the coming year, each with the offset that
//! starts there. The lock takes the last transition at or before `now`. This module owns the rule, its
//! byte encoding and the local-day computation; it never reads a clock.

use alloc::vec::Vec;

use crate::doorcode::LocalDay;

/// Most transitions a rule may hold (a year of DST needs 2; 64 leave room for many years or odd zones).
pub const MAX_ZONE_TRANSITIONS: usize = 64;

/// Largest offset from UTC a rule may state, either way: 18 hours (real zones stay within −12 h…+14 h).
pub const MAX_OFFSET_SECS: i32 = 18 * 3600;

/// Version byte that starts an encoded rule.
pub const ZONE_RULE_VERSION: u8 = 1;

const SECS_PER_DAY: i64 = 86_400;

/// From `utc_start` on (unix seconds), the door's local time is UTC + `offset_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// First UTC instant (unix seconds) at which `offset_seconds` applies.
    pub utc_start: u32,
    /// Local time minus UTC, in seconds (UTC+14 is 50400, UTC−10 is −36000).
    pub offset_seconds: i32,
}

/// Why a zone rule was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneRuleError {
    /// No transition at all.
    Empty,
    /// More than [`MAX_ZONE_TRANSITIONS`].
    TooMany,
    /// `utc_start` values not strictly increasing.
    Unordered,
    /// An offset beyond ±[`MAX_OFFSET_SECS`].
    OffsetOutOfRange,
    /// The first byte is not [`ZONE_RULE_VERSION`].
    BadVersion,
    /// The byte length does not match the stated count.
    BadLength,
}

impl core::fmt::Display for ZoneRuleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ZoneRuleError::Empty => "zone rule has no transition",
            ZoneRuleError::TooMany => "zone rule has more than 64 transitions",
            ZoneRuleError::Unordered => "zone rule transitions are not strictly increasing",
            ZoneRuleError::OffsetOutOfRange => "zone rule offset beyond 18 hours",
            ZoneRuleError::BadVersion => "unknown zone rule version",
            ZoneRuleError::BadLength => "zone rule length does not match its count",
        })
    }
}

/// A door's UTC offsets over time: 1 to [`MAX_ZONE_TRANSITIONS`] transitions, strictly increasing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRule {
    transitions: Vec<Transition>,
}

impl ZoneRule {
    /// Checks and wraps a list of transitions.
    pub fn new(transitions: Vec<Transition>) -> Result<ZoneRule, ZoneRuleError> {
        if transitions.is_empty() {
            return Err(ZoneRuleError::Empty);
        }
        if transitions.len() > MAX_ZONE_TRANSITIONS {
            return Err(ZoneRuleError::TooMany);
        }
        if transitions.windows(2).any(|w| w[0].utc_start >= w[1].utc_start) {
            return Err(ZoneRuleError::Unordered);
        }
        if transitions.iter().any(|t| t.offset_seconds.unsigned_abs() > MAX_OFFSET_SECS.unsigned_abs()) {
            return Err(ZoneRuleError::OffsetOutOfRange);
        }
        Ok(ZoneRule { transitions })
    }

    /// A zone with one fixed offset for all time.
    pub fn fixed(offset_seconds: i32) -> Result<ZoneRule, ZoneRuleError> {
        ZoneRule::new(alloc::vec![Transition { utc_start: 0, offset_seconds }])
    }

    /// UTC itself.
    pub fn utc() -> ZoneRule {
        ZoneRule { transitions: alloc::vec![Transition { utc_start: 0, offset_seconds: 0 }] }
    }

    /// The transitions, oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The offset in force at `now`: that of the last transition at or before `now`, or of the first
    /// transition if `now` precedes them all. After the last transition its offset stays in force.
    pub fn offset_at(&self, now: u32) -> i32 {
        let after = self.transitions.partition_point(|t| t.utc_start <= now);
        self.transitions.get(after.saturating_sub(1)).map_or(0, |t| t.offset_seconds)
    }

    /// The door's local calendar day at `now`.
    pub fn local_day(&self, now: u32) -> LocalDay {
        let local = i64::from(now) + i64::from(self.offset_at(now));
        // |local| < 2^33 and a day count fits i32 comfortably.
        LocalDay(local.div_euclid(SECS_PER_DAY) as i32)
    }

    /// `version(1) || count(1) || count × (utc_start u32 BE || offset_seconds i32 BE)`: 2 + 8 × count bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 8 * self.transitions.len());
        out.push(ZONE_RULE_VERSION);
        // new() bounds the count to 64.
        out.push(self.transitions.len() as u8);
        for t in &self.transitions {
            out.extend_from_slice(&t.utc_start.to_be_bytes());
            out.extend_from_slice(&t.offset_seconds.to_be_bytes());
        }
        out
    }

    /// Parses [`ZoneRule::encode`]'s layout, checking every bound; never panics on garbage.
    pub fn decode(bytes: &[u8]) -> Result<ZoneRule, ZoneRuleError> {
        let [version, count, rest @ ..] = bytes else { return Err(ZoneRuleError::BadLength) };
        if *version != ZONE_RULE_VERSION {
            return Err(ZoneRuleError::BadVersion);
        }
        let count = usize::from(*count);
        if count > MAX_ZONE_TRANSITIONS {
            return Err(ZoneRuleError::TooMany);
        }
        if rest.len() != count * 8 {
            return Err(ZoneRuleError::BadLength);
        }
        let transitions = rest
            .chunks_exact(8)
            .map(|c| Transition {
                utc_start: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                offset_seconds: i32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        ZoneRule::new(transitions)
    }
}

/// The door's local calendar day at `now` under `rule`.
pub fn local_day(now: u32, rule: &ZoneRule) -> LocalDay {
    rule.local_day(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC civil time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> u32 {
        (LocalDay::from_ymd(y, mo, d).0 as u32) * 86_400 + h * 3600 + mi * 60 + s
    }

    #[test]
    fn kiritimati_utc_plus_14_changes_day_at_local_midnight() {
        let zone = ZoneRule::fixed(14 * 3600).expect("valid");
        // 2026-11-22 00:00:00 local = 2026-11-21 10:00:00 UTC.
        let midnight = utc(2026, 11, 21, 10, 0, 0);
        assert_eq!(local_day(midnight - 1, &zone), LocalDay::from_ymd(2026, 11, 21));
        assert_eq!(local_day(midnight, &zone), LocalDay::from_ymd(2026, 11, 22));
    }

    #[test]
    fn honolulu_utc_minus_10_changes_day_at_local_midnight() {
        let zone = ZoneRule::fixed(-10 * 3600).expect("valid");
        // 2026-11-22 00:00:00 local = 2026-11-22 10:00:00 UTC.
        let midnight = utc(2026, 11, 22, 10, 0, 0);
        assert_eq!(local_day(midnight - 1, &zone), LocalDay::from_ymd(2026, 11, 21));
        assert_eq!(local_day(midnight, &zone), LocalDay::from_ymd(2026, 11, 22));
    }

    #[test]
    fn dst_transitions_pick_the_last_one_at_or_before_now() {
        // New York 2026: EDT from 2026-03-08 07:00 UTC, EST from 2026-11-01 06:00 UTC.
        let spring = utc(2026, 3, 8, 7, 0, 0);
        let fall = utc(2026, 11, 1, 6, 0, 0);
        let zone = ZoneRule::new(alloc::vec![
            Transition { utc_start: 0, offset_seconds: -5 * 3600 },
            Transition { utc_start: spring, offset_seconds: -4 * 3600 },
            Transition { utc_start: fall, offset_seconds: -5 * 3600 },
        ])
        .expect("valid");
        assert_eq!(zone.offset_at(spring - 1), -18_000);
        assert_eq!(zone.offset_at(spring), -14_400);
        assert_eq!(zone.offset_at(fall), -18_000);
        // 2026-03-08 is a 23-hour day: it ends at 2026-03-09 00:00 EDT = 04:00 UTC.
        let end = utc(2026, 3, 9, 4, 0, 0);
        assert_eq!(local_day(end - 1, &zone), LocalDay::from_ymd(2026, 3, 8));
        assert_eq!(local_day(end, &zone), LocalDay::from_ymd(2026, 3, 9));
        // Before the first transition, the first offset applies.
        let late =
            ZoneRule::new(alloc::vec![Transition { utc_start: 1000, offset_seconds: 3600 }]).expect("ok");
        assert_eq!(late.offset_at(0), 3600);
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let zone = ZoneRule::new(alloc::vec![
            Transition { utc_start: 0, offset_seconds: -18_000 },
            Transition { utc_start: 1_772_953_200, offset_seconds: -14_400 },
        ])
        .expect("valid");
        let bytes = zone.encode();
        assert_eq!(bytes.len(), 18);
        assert_eq!(ZoneRule::decode(&bytes), Ok(zone));
        assert_eq!(ZoneRule::decode(&[]), Err(ZoneRuleError::BadLength));
        assert_eq!(ZoneRule::decode(&[2, 0]), Err(ZoneRuleError::BadVersion));
        assert_eq!(ZoneRule::decode(&[1, 0]), Err(ZoneRuleError::Empty));
        assert_eq!(ZoneRule::decode(&[1, 65]), Err(ZoneRuleError::TooMany));
        assert_eq!(ZoneRule::decode(&bytes[..17]), Err(ZoneRuleError::BadLength));
        let mut unordered = bytes.clone();
        unordered[10..14].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(ZoneRule::decode(&unordered), Err(ZoneRuleError::Unordered));
        let mut far = bytes;
        far[6..10].copy_from_slice(&(19 * 3600i32).to_be_bytes());
        assert_eq!(ZoneRule::decode(&far), Err(ZoneRuleError::OffsetOutOfRange));
        for len in 0..40 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 1) as u8).collect();
            let _ = ZoneRule::decode(&junk);
        }
    }
}
