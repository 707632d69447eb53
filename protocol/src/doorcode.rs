//! Doorcodes: the 7-digit codes a guest types on a lock's keypad.
//!
//! DAILY and DAILY_SINGLE_USE codes are *derived*, never transmitted to the lock: the backend and an offline
//! lock that share the door's secret compute the same code for the same local calendar day and slot. A slot
//! is a small counter the backend assigns per door and day, so that two guests of the same door on the same
//! day get different codes. The lock verifies a typed code by deriving the codes of the slots in use.
//!
//! Derivation (normative, see `docs/protocol.md`):
//! `HMAC-SHA256(door_secret, "latchkey/doorcode/v1" || kind || day_be32 || slot_be16)`, then RFC 4226
//! dynamic truncation of the 32-byte tag to 31 bits, modulo 10^7, zero padded to 7 digits.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Number of digits in every doorcode.
pub const DIGITS: usize = 7;

/// 10^[`DIGITS`]: the size of the code space.
pub const CODE_SPACE: u32 = 10_000_000;

const DOMAIN: &[u8] = b"latchkey/doorcode/v1";

/// Which kind of derived code: the two kinds never collide for the same day and slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DailyKind {
    /// Valid for the whole local calendar day of the door.
    Daily,
    /// Valid for the local calendar day, until 15 minutes after its first use.
    DailySingleUse,
}

impl DailyKind {
    /// The kind byte of the derivation (§1.1) and of sync entries: 1 DAILY, 2 DAILY_SINGLE_USE.
    pub fn byte(self) -> u8 {
        self.tag()
    }

    fn tag(self) -> u8 {
        match self {
            DailyKind::Daily => 1,
            DailyKind::DailySingleUse => 2,
        }
    }
}

/// A local calendar day of a door, counted in days since 1970-01-01 (day 0) in the door's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDay(pub i32);

impl LocalDay {
    /// The day number of a proleptic Gregorian date (`month` 1..=12, `day` 1..=31).
    ///
    /// Uses Howard Hinnant's `days_from_civil`, exact for every date a lock will see.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> LocalDay {
        let y = if month <= 2 { year - 1 } else { year };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        LocalDay(era * 146_097 + doe - 719_468)
    }
}

/// A 7-digit doorcode. Its `Debug` output hides the digits so codes never reach logs by accident.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Doorcode(u32);

impl Doorcode {
    /// Wraps a number below [`CODE_SPACE`]; `None` for anything larger.
    pub fn from_number(n: u32) -> Option<Doorcode> {
        (n < CODE_SPACE).then_some(Doorcode(n))
    }

    /// Parses exactly seven ASCII digits.
    pub fn parse(text: &str) -> Option<Doorcode> {
        if text.len() != DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(Doorcode)
    }

    /// The code as a number below [`CODE_SPACE`].
    pub fn number(self) -> u32 {
        self.0
    }

    /// The seven digits, zero padded, as ASCII bytes.
    pub fn digits(self) -> [u8; DIGITS] {
        let mut out = [b'0'; DIGITS];
        let mut n = self.0;
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out
    }
}

impl core::fmt::Display for Doorcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:07}", self.0)
    }
}

impl core::fmt::Debug for Doorcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Doorcode(*******)")
    }
}

/// Derives the DAILY or DAILY_SINGLE_USE code of a door for one local day and slot.
pub fn daily(door_secret: &[u8; 32], kind: DailyKind, day: LocalDay, slot: u16) -> Doorcode {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(door_secret).expect("HMAC accepts any key length");
    mac.update(DOMAIN);
    mac.update(&[kind.tag()]);
    mac.update(&day.0.to_be_bytes());
    mac.update(&slot.to_be_bytes());
    let tag = mac.finalize().into_bytes();
    Doorcode(truncate(&tag) % CODE_SPACE)
}

/// RFC 4226 section 5.3 dynamic truncation of a tag to a 31-bit number.
fn truncate(tag: &[u8]) -> u32 {
    let offset = (tag[tag.len() - 1] & 0x0f) as usize;
    u32::from_be_bytes([tag[offset] & 0x7f, tag[offset + 1], tag[offset + 2], tag[offset + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_the_calendar() {
        assert_eq!(LocalDay::from_ymd(1970, 1, 1), LocalDay(0));
        assert_eq!(LocalDay::from_ymd(2000, 3, 1), LocalDay(11_017));
        assert_eq!(LocalDay::from_ymd(2024, 2, 29).0 + 1, LocalDay::from_ymd(2024, 3, 1).0);
        assert_eq!(LocalDay::from_ymd(1969, 12, 31), LocalDay(-1));
    }

    #[test]
    fn codes_are_seven_digits_and_depend_on_every_input() {
        let secret = [7u8; 32];
        let day = LocalDay::from_ymd(2026, 11, 22);
        let base = daily(&secret, DailyKind::Daily, day, 0);
        assert_eq!(base.digits().len(), 7);
        assert_ne!(base, daily(&secret, DailyKind::DailySingleUse, day, 0));
        assert_ne!(base, daily(&secret, DailyKind::Daily, LocalDay(day.0 + 1), 0));
        assert_ne!(base, daily(&secret, DailyKind::Daily, day, 1));
        assert_ne!(base, daily(&[8u8; 32], DailyKind::Daily, day, 0));
        assert_eq!(base, daily(&secret, DailyKind::Daily, day, 0));
    }

    #[test]
    fn rfc4226_truncation_matches_the_rfc_example() {
        // RFC 4226 section 5.4: the HMAC-SHA-1 tag below truncates to 0x50ef7f19.
        let tag = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19, 0xda, 0x8e,
            0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&tag), 0x50ef_7f19);
    }

    #[test]
    fn parse_and_display_round_trip_and_debug_hides_digits() {
        let code = Doorcode::parse("0012345").expect("seven digits");
        assert_eq!(code.number(), 12_345);
        assert_eq!(alloc::format!("{code}"), "0012345");
        assert_eq!(alloc::format!("{code:?}"), "Doorcode(*******)");
        assert!(Doorcode::parse("123456").is_none());
        assert!(Doorcode::parse("12345a7").is_none());
        assert!(Doorcode::from_number(CODE_SPACE).is_none());
    }
}
