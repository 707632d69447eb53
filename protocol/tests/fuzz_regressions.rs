//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) found to break a rule, kept as ordinary tests so
//! the stable suite guards them. Each test names its target and the crash it reproduces.

use latchkey_protocol::doorcode::{DailyKind, daily};
use latchkey_protocol::keypad::{
    DenyReason, FREE_ATTEMPTS, Keypad, MAX_GUESSES_PER_DAY, Throttle, Verdict, ZoneRule,
};

/// Target `keypad`: a throttle restored from storage whose newest failure is later than the lock's clock
/// (the clock went back: a power loss restores it to the last time token) recorded the next wrong code
/// out of order, so its own encoding no longer decoded and the lock could not be restored at all
/// (crash input `0e 00 00 00 00 00 00 00 40 01 ff ff 3d 0a`, then a failure at 1 800 000 000).
#[test]
fn a_wrong_code_after_the_clock_went_back_keeps_the_throttle_restorable() {
    let stored = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x3d, 0x0a];
    let mut throttle = Throttle::decode(&stored).expect("a valid stored throttle");
    throttle.record_failure(1_800_000_000);
    let restored = Throttle::decode(&throttle.encode()).expect("the updated throttle still decodes");
    assert_eq!(restored, throttle);
    assert_eq!(restored.consecutive_failures(), 1);
    // The failure still counts toward the 24-hour cap, and is forgotten no sooner than the newest one.
    let mut full = Throttle::new();
    for i in 0..MAX_GUESSES_PER_DAY as u32 {
        full.record_failure(2_000_000_000 - i * 10);
    }
    full.record_success();
    assert!(full.check(2_000_000_000 + 3600).is_err(), "the 24-hour cap still holds");
    assert!(Throttle::decode(&full.encode()).is_some());
}

/// Target `keypad`: at lock time `u32::MAX` (a clock that saturated, or a bad time token) every lockout
/// saturated to "until now" and the 24-hour cap to "free now", so the keypad accepted unlimited guesses
/// and let the right code in after any number of wrong ones (crash input `03 ff ff ff ff` + `4537360`).
#[test]
fn the_keypad_fails_closed_at_the_end_of_u32_time() {
    let end = u32::MAX;
    let mut throttle = Throttle::new();
    for _ in 0..FREE_ATTEMPTS {
        assert_eq!(throttle.check(end), Ok(()));
        throttle.record_failure(end);
    }
    assert!(throttle.check(end).is_err(), "locked out after {FREE_ATTEMPTS} wrong codes at u32::MAX");

    let door_secret = [0x5a; 32];
    let zone = ZoneRule::fixed(3600).expect("a valid zone");
    let mut keypad = Keypad::new([0x11; 16], door_secret, [7; 32]);
    let right = daily(&door_secret, DailyKind::Daily, zone.local_day(end), 0).to_string();
    let wrong = if right == "0000000" { "0000001" } else { "0000000" };
    for _ in 0..8 {
        let _ = keypad.enter(wrong, end, &zone);
    }
    let (verdict, _) = keypad.enter(&right, end, &zone);
    assert!(
        matches!(verdict, Verdict::Denied { reason: DenyReason::LockedOut { .. } }),
        "the right code after 8 wrong ones at u32::MAX: {verdict:?}"
    );
}
