//! The lock side of the sync exchange: `SyncReceiver::handle` on SyncBegin / DeltaChunk / SyncEnd (0x10–0x12)
//! in any order and shape, and the LogRequest (0x14) decoder.
//!
//! Input: length-prefixed messages. Asserts: the receiver never stages more than `MAX_SYNC_BYTES`; after
//! a refusal it holds nothing and refuses everything after; a completed sync has at most
//! `MAX_DELTAS_PER_SYNC` deltas, each 1..=`MAX_DELTA_LEN` bytes, within `MAX_SYNC_BYTES` in total, and
//! the phone's own encoder (`sync_messages`) re-sends exactly the same sync (round trip); LogRequest
//! round-trips.
#![no_main]

use latchkey_fuzz::messages;
use latchkey_protocol::sync::MAX_DELTA_LEN;
use latchkey_protocol::sync::{
    MAX_DELTAS_PER_SYNC, MAX_SYNC_BYTES, SyncReceiver, decode_log_request, log_request, sync_messages,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rx = SyncReceiver::new();
    let mut failed = false;
    for m in messages(data) {
        if let Ok(index) = decode_log_request(m) {
            assert_eq!(log_request(index), m, "LogRequest round trip");
        }
        match rx.handle(m) {
            Ok(Some(inbound)) => {
                assert!(!failed);
                assert!(inbound.deltas.len() <= MAX_DELTAS_PER_SYNC);
                assert!(inbound.deltas.iter().all(|d| !d.is_empty() && d.len() <= MAX_DELTA_LEN));
                assert!(inbound.deltas.iter().map(Vec::len).sum::<usize>() <= MAX_SYNC_BYTES);
                let again = sync_messages(&inbound.deltas, inbound.time_token.as_ref(), &inbound.phone_key)
                    .expect("what the lock accepted, the phone can send");
                let mut rx2 = SyncReceiver::new();
                let mut out = None;
                for m2 in &again {
                    out = rx2.handle(m2).expect("the phone's own messages are accepted");
                }
                assert_eq!(out.as_ref(), Some(&inbound), "sync_messages/SyncReceiver round trip");
                assert!(rx.is_finished());
            }
            Ok(None) => assert!(!failed),
            Err(_) => {
                failed = true;
                assert!(rx.is_finished());
                assert_eq!(rx.staged_capacity(), 0, "a refused sync keeps staged bytes");
            }
        }
        assert!(rx.staged_capacity() <= MAX_SYNC_BYTES, "staged more than MAX_SYNC_BYTES");
    }
});
