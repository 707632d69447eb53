//! The phone side of the sync exchange and the backend's log upload: SyncReport (0x13) and LogBatch (0x15)
//! plaintext decoding, opening them under a sync channel, and opening a sealed log batch.
//!
//! Input: a selector byte, then the bytes. Asserts: SyncReport and LogBatch plaintexts round-trip (decode →
//! encode); no message opens under a sync channel whose lock key the input never had (selector 3);
//! a sealed batch opens only if it is the genuine one for that key, hello and batch index (a carrier can
//! neither forge nor alter the lock's log), and what opens is at most `MAX_LOG_ENTRIES_PER_BATCH` entries.
#![no_main]

use latchkey_fuzz::vectors;
use latchkey_protocol::crypto::DhSecret;
use latchkey_protocol::sync::{LogBatch, MAX_LOG_ENTRIES_PER_BATCH, SyncChannel, SyncReport, open_log_batch};
use libfuzzer_sys::fuzz_target;

fn open(sealed: &[u8]) {
    let v = vectors::log_upload();
    if let Ok(entries) = open_log_batch(&v.log_key, &v.lock_id, &v.hello, v.batch_index, sealed) {
        assert_eq!(sealed, &v.sealed[..], "a sealed batch the lock never sealed opens");
        assert!(entries.len() <= MAX_LOG_ENTRIES_PER_BATCH);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(report) = SyncReport::decode_plaintext(rest) {
                assert_eq!(report.encode_plaintext(), rest, "SyncReport round trip");
                open(&report.sealed_logs);
            }
        }
        1 => {
            if let Ok(batch) = LogBatch::decode_plaintext(rest) {
                assert_eq!(batch.encode_plaintext(), rest, "LogBatch round trip");
                open(&batch.sealed_logs);
            }
        }
        2 => open(rest),
        _ => {
            let v = vectors::log_upload();
            let (Ok(phone), Ok(lock)) =
                (DhSecret::from_bytes(&[0x0e; 32]), DhSecret::from_bytes(&[0x5a; 32]))
            else {
                return;
            };
            if let Ok(channel) = SyncChannel::phone(&phone, &lock.public_key(), &v.lock_id, &v.hello) {
                assert!(channel.open_report(rest).is_err(), "a report no lock sealed opens");
                assert!(channel.open_log_batch_message(1, rest).is_err(), "a batch no lock sealed opens");
            }
        }
    }
});
