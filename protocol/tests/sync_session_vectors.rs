//! Checks `tests/vectors/sync_session.json` (computed with Python's `cryptography`, `hmac` and `hashlib`,
//! independently of this crate) against the sealed log batch of the sync exchange (docs/protocol.md §24):
//! two chained event-log entries, the batch key, and the sealed bytes, both ways.

use latchkey_protocol::eventlog::{Entry, EventKind, EventLog, GENESIS_PREV_MAC, Record, verify_chain};
use latchkey_protocol::sync::{LogBatch, SyncReport, log_batch_key, open_log_batch, seal_log_batch};
use latchkey_protocol::unlock::{Hello, TimeStatus};
use serde_json::Value;

fn vectors() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sync_session.json"))
            .expect("vectors file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn hex_of(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex_of(v).try_into().expect("length")
}

fn num<T: TryFrom<u64>>(v: &Value) -> T {
    T::try_from(v.as_u64().expect("number")).ok().expect("in range")
}

#[test]
fn sealed_log_batch_matches_the_independent_vector() {
    let v = vectors();
    let (i, o) = (&v["inputs"], &v["outputs"]);
    let log_key: [u8; 32] = arr(&i["log_key"]);
    let lock_id: [u8; 16] = arr(&i["lock_id"]);
    let hello = hex_of(&i["hello"]);
    let batch_index: u32 = num(&i["batch_index"]);
    let parsed = Hello::decode(&hello).expect("hello");
    assert_eq!(parsed.lock_id, lock_id);
    assert_eq!(parsed.time_status, TimeStatus::Synced);

    // The entries, as the lock's event log writes them.
    let mut log = EventLog::new(lock_id, log_key);
    for r in i["records"].as_array().expect("records") {
        let seq = log
            .append(Record {
                time: num(&r["time"]),
                time_uncertain: num::<u8>(&r["flags"]) == 1,
                kind: EventKind(num(&r["kind"])),
                subject: arr(&r["subject"]),
                detail: num(&r["detail"]),
            })
            .expect("room");
        assert_eq!(seq, num::<u64>(&r["seq"]));
    }
    let entries: Vec<Entry> = log.pending().to_vec();
    let expected: Vec<Vec<u8>> = o["entries"].as_array().expect("entries").iter().map(hex_of).collect();
    assert_eq!(entries.iter().map(|e| e.encode().to_vec()).collect::<Vec<_>>(), expected);
    verify_chain(&entries, &log_key, &lock_id, &GENESIS_PREV_MAC).expect("chain");

    // Key, seal, open.
    assert_eq!(log_batch_key(&log_key, &lock_id, &hello).expect("key").to_vec(), hex_of(&o["batch_key"]));
    let sealed = seal_log_batch(&log_key, &lock_id, &hello, batch_index, &entries).expect("seals");
    assert_eq!(sealed, hex_of(&o["sealed"]));
    assert_eq!(open_log_batch(&log_key, &lock_id, &hello, batch_index, &sealed).expect("opens"), entries);
    assert!(open_log_batch(&log_key, &lock_id, &hello, batch_index + 1, &sealed).is_err());

    // The same bytes travel in a LogBatch, or as batch 0 in a SyncReport.
    let batch = LogBatch { more_logs: false, sealed_logs: sealed.clone() };
    assert_eq!(LogBatch::decode(&batch.encode()).expect("decodes"), batch);
    let report = SyncReport {
        last_applied_seq: 0,
        lock_time: parsed.lock_time,
        time_status: parsed.time_status,
        battery_percent: 100,
        outcomes: Vec::new(),
        more_logs: false,
        sealed_logs: sealed,
    };
    assert_eq!(SyncReport::decode(&report.encode()).expect("decodes"), report);
}
