//! Lock event-log entries as the backend receives them (inside sealed batches) and as a lock restores them.
//!
//! Input: raw bytes, read as back-to-back 64-byte entries. Asserts: `decode_entries` and `Entry::decode`
//! round-trip; `verify_chain` from genesis accepts only a prefix of the genuine chain of the vector (no
//! forged, altered, dropped or reordered entry passes).
#![no_main]

use latchkey_fuzz::vectors;
use latchkey_protocol::eventlog::{
    ENTRY_LEN, Entry, GENESIS_PREV_MAC, LOG_CAPACITY, decode_entries, encode_entries, verify_chain,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Entry::decode(data) {
        assert_eq!(e.encode()[..], data[..], "Entry round trip");
    }
    let Ok(entries) = decode_entries(data) else { return };
    assert!(entries.len() <= LOG_CAPACITY);
    assert_eq!(entries.len() * ENTRY_LEN, data.len());
    assert_eq!(encode_entries(&entries), data, "entries round trip");
    let v = vectors::keypad();
    if verify_chain(&entries, &v.log_key, &v.lock_id, &GENESIS_PREV_MAC).is_ok() {
        assert!(
            entries.len() <= v.chain.len() && entries[..] == v.chain[..entries.len()],
            "a chain the lock never wrote verifies"
        );
    }
});
