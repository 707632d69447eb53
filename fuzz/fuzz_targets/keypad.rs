//! What a lock reads from sync and from its keypad: zone rules, PERMANENT code records, the persisted
//! throttle, and typed codes.
//!
//! Input: a selector byte, then the bytes. Asserts: ZoneRule, PermanentCode, Throttle and GuessBudget
//! round-trip (decode → encode); a stored budget never checks a guess it cannot pay for; a zone rule answers a local day for any instant; a parsed doorcode prints back as
//! the same seven digits; the keypad answers every typed string without panicking and, once locked out,
//! denies even the right code until the lockout ends.
#![no_main]

use latchkey_fuzz::{take_u32, vectors};
use latchkey_protocol::doorcode::{DailyKind, Doorcode, daily};
use latchkey_protocol::keypad::{
    DenyReason, FREE_ATTEMPTS, GuessBudget, Keypad, PermanentCode, Throttle, Verdict, ZoneRule,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 5 {
        0 => {
            if let Ok(rule) = ZoneRule::decode(rest) {
                assert_eq!(rule.encode(), rest, "ZoneRule round trip");
                for now in [0, 1_800_000_000, u32::MAX] {
                    let _ = rule.local_day(now);
                }
            }
        }
        1 => {
            if let Some(code) = PermanentCode::decode(rest) {
                assert_eq!(code.encode()[..], rest[..], "PermanentCode round trip");
            }
        }
        2 => {
            if let Some(mut throttle) = Throttle::decode(rest) {
                assert_eq!(throttle.encode(), rest, "Throttle round trip");
                let _ = throttle.check(1_800_000_000);
                throttle.record_failure(1_800_000_000);
                let _ = Throttle::decode(&throttle.encode()).expect("an updated throttle still decodes");
            }
        }
        3 => {
            let (now, rest) = take_u32(rest);
            if let Some(mut budget) = GuessBudget::decode(rest) {
                assert_eq!(budget.encode()[..], rest[..], "GuessBudget round trip");
                let valid = u64::from(now % 3000);
                if budget.check(now, valid).is_ok() {
                    assert!(
                        budget.remaining(now) >= valid.max(1),
                        "a guess checked without the budget for it"
                    );
                    budget.spend(now, valid);
                }
                let _ = GuessBudget::decode(&budget.encode()).expect("a spent budget still decodes");
            }
        }
        _ => {
            let (now, typed) = take_u32(rest);
            let text = String::from_utf8_lossy(typed);
            if let Some(code) = Doorcode::parse(&text) {
                assert_eq!(code.to_string(), text, "Doorcode round trip");
            }
            let v = vectors::keypad();
            let mut keypad = Keypad::new(v.lock_id, v.door_secret, [7; 32]);
            let zone = ZoneRule::fixed(3600).expect("a valid zone");
            for _ in 0..8 {
                let _ = keypad.enter(&text, now, &zone);
            }
            if keypad.throttle().consecutive_failures() >= FREE_ATTEMPTS {
                let right = daily(&v.door_secret, DailyKind::Daily, zone.local_day(now), 0).to_string();
                let (verdict, _) = keypad.enter(&right, now, &zone);
                assert!(
                    matches!(verdict, Verdict::Denied { reason: DenyReason::LockedOut { .. } }),
                    "a locked-out keypad let the right code in: {verdict:?}"
                );
            }
        }
    }
});
