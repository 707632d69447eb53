//! The simulator's virtual lock end to end on the lock side: `LockConnection::write` takes raw ATT packets
//! (framing, then dispatch to the unlock session, the sync receiver or the log-batch reader), exactly as
//! the fake BlueZ and the in-memory link deliver them.
//!
//! Input: MTU (u16), then length-prefixed packets written after subscribing. Asserts: no panic; once a
//! write fails the connection stays closed; no packet sequence makes the lock log a granted unlock or
//! apply a delta (nothing here holds a credential or the backend's key).
#![no_main]

use latchkey_fuzz::{messages, sim_world};
use latchkey_protocol::eventlog::EventKind;
use latchkey_protocol::framing::{MAX_MTU, MIN_MTU};
use latchkey_sim::locks::{LockConnection, VirtualLock};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, Mutex};

fn lock() -> &'static Arc<Mutex<VirtualLock>> {
    static CELL: std::sync::OnceLock<Arc<Mutex<VirtualLock>>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let w = sim_world::world();
        w.state.locks.by_door(&w.ids.door).expect("the registry answers").expect("the door has a lock")
    })
}

fn snapshot(lock: &Mutex<VirtualLock>) -> (u64, u64) {
    let guard = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    (guard.last_applied_seq(), guard.pending_log().last().map_or(0, |e| e.seq))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let mtu = MIN_MTU + u16::from_be_bytes([data[0], data[1]]) % (MAX_MTU - MIN_MTU + 1);
    let lock = lock();
    let (seq_before, last_log) = snapshot(lock);
    // Every input starts with a refilled failed-session bucket (the limiter has its own test); without
    // it the lock refuses all connections after the first ten junk inputs.
    lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner).forgive_failed_sessions();
    let mut connection = LockConnection::new(lock.clone(), mtu).expect("a valid MTU");
    connection.subscribe().expect("a fresh connection accepts a subscription");
    let mut closed = false;
    for packet in messages(&data[2..]).into_iter().take(32) {
        match connection.write(packet) {
            Ok(replies) => {
                assert!(!closed, "a closed connection accepted a write");
                for r in replies {
                    assert!(
                        !r.is_empty() && r.len() <= usize::from(mtu) - 3,
                        "a reply packet overruns the MTU"
                    );
                }
            }
            Err(_) => closed = true,
        }
    }
    let guard = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    assert_eq!(guard.last_applied_seq(), seq_before, "forged bytes applied a delta");
    assert!(
        guard
            .pending_log()
            .iter()
            .filter(|e| e.seq > last_log)
            .all(|e| e.record.kind != EventKind::UNLOCK_GRANTED),
        "forged bytes unlocked the door"
    );
});
