//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) found to break a rule, kept as ordinary tests so
//! the stable suite guards them. Each test names its target and the crash it reproduces.

use latchkey_protocol::keypad::{MAX_GUESSES_PER_DAY, Throttle};

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
