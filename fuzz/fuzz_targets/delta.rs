//! Delta (incremental and snapshot) and time-token decoding, and the lock's apply logic behind them.
//!
//! Input: a selector byte, then the bytes. Selector 0/1: a delta; 2: a time token.
//! Asserts for deltas: decode → encode round-trips; the backend signature verifies only for the genuine
//! vector deltas; then the decoded delta, re-signed with the backend key so it reaches the apply logic,
//! is applied to a fresh lock state (selector 0) or to one holding the genuine snapshot (selector 1):
//! on success the state's seq is the delta's and every table is within its bound, on failure the state
//! is untouched (all or nothing).
//! Asserts for time tokens: round trip; only the genuine token verifies; a lock clock never moves back
//! on a certain clock and never accepts a token older than the last one.
#![no_main]

use latchkey_fuzz::vectors;
use latchkey_protocol::sync::{Delta, LockClock, LockSyncState, MAX_ACCESS, TimeToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let v = vectors::sync();
    match selector % 3 {
        0 | 1 => {
            let Ok(delta) = Delta::decode(rest) else { return };
            assert_eq!(delta.encode(), rest, "Delta round trip");
            if delta.verify(&v.backend_pub, &v.lock_id).is_ok() {
                assert!(
                    rest == v.snapshot || rest == v.incremental,
                    "a delta the backend never signed verifies"
                );
            }
            let mut state = LockSyncState::new(v.lock_id);
            if selector % 3 == 1 {
                let snapshot = Delta::decode(&v.snapshot).expect("the vector snapshot decodes");
                state.apply(&snapshot, &v.backend_pub).expect("the vector snapshot applies");
            }
            // Too many entries to sign cheaply gain nothing here: the decoder bounds them already.
            if delta.entries.len() > 256 {
                return;
            }
            let resigned = Delta::sign(delta.kind, v.lock_id, delta.seq, delta.entries.clone(), &v.backend);
            let before = state.clone();
            match state.apply(&resigned, &v.backend_pub) {
                Ok(applied) => {
                    assert_eq!(applied.seq, delta.seq);
                    assert_eq!(state.last_applied_seq(), delta.seq);
                    assert!(delta.seq > before.last_applied_seq(), "applied a delta that is not newer");
                    assert!(state.access_len() <= MAX_ACCESS);
                }
                Err(_) => assert_eq!(state, before, "a refused delta changed the lock's state"),
            }
        }
        _ => {
            let Ok(token) = TimeToken::decode(rest) else { return };
            assert_eq!(token.encode()[..], rest[..], "TimeToken round trip");
            if token.verify(&v.backend_pub, &v.lock_id).is_ok() {
                assert_eq!(rest, &v.time_token[..], "a time token the backend never signed verifies");
            }
            // A re-signed token drives the clock rules.
            let resigned = TimeToken::sign(v.lock_id, token.time, &v.backend);
            // After a power loss with a monotonic floor above the last token's time.
            let mut clock = LockClock::after_power_loss_from(v.lock_id, Some(1_700_000_000), 1_800_000_000);
            let floor = clock.last_token_time();
            match clock.apply_time_token(&resigned, &v.backend_pub) {
                Ok(now) => {
                    assert!(Some(token.time) >= floor, "accepted a token older than the last one");
                    assert!(token.time >= 1_800_000_000, "accepted a token older than the floor");
                    assert_eq!(now, token.time);
                    let before = clock.now().time;
                    let older = TimeToken::sign(v.lock_id, token.time.saturating_sub(1), &v.backend);
                    let _ = clock.apply_time_token(&older, &v.backend_pub);
                    assert!(clock.now().time >= before, "a certain clock moved back");
                }
                Err(_) => assert_eq!(clock.last_token_time(), floor),
            }
        }
    }
});
