//! Checks `tests/vectors/sync_session.json` (computed with Python's `cryptography`, `hmac` and `hashlib`,
//! independently of this crate) against the sealed log batch of the sync exchange (docs/protocol.md §24):
//! two chained event-log entries, the batch key, and the sealed bytes, both ways. And
//! `tests/vectors/sync_channel.json` (computed with Python's `cryptography` by `tests/vectors/check_vectors.py`):
//! every message of one sync over BLE and the sync channel's keys, both ways.

use latchkey_protocol::crypto::DhSecret;
use latchkey_protocol::eventlog::{Entry, EventKind, EventLog, GENESIS_PREV_MAC, Record, verify_chain};
use latchkey_protocol::sync::{
    DeltaOutcome, LogBatch, SyncChannel, SyncReceiver, SyncReport, decode_log_request, log_batch_key,
    log_request, open_log_batch, seal_log_batch, sync_channel_key, sync_messages,
};
use latchkey_protocol::unlock::{Hello, TimeStatus};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).expect("valid JSON")
}

fn vectors() -> Value {
    load("sync_session.json")
}

fn channel_vectors() -> Value {
    load("sync_channel.json")
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
    assert_eq!(LogBatch::decode_plaintext(&batch.encode_plaintext()).expect("decodes"), batch);
    let report = SyncReport {
        last_applied_seq: 0,
        lock_time: parsed.lock_time,
        time_status: parsed.time_status,
        battery_percent: 100,
        outcomes: Vec::new(),
        more_logs: false,
        sealed_logs: sealed,
    };
    assert_eq!(SyncReport::decode_plaintext(&report.encode_plaintext()).expect("decodes"), report);
}

fn status(v: &Value) -> TimeStatus {
    if num::<u8>(v) == 0 { TimeStatus::Synced } else { TimeStatus::Uncertain }
}

#[test]
fn every_sync_message_matches_the_independent_vector() {
    let v = channel_vectors();
    let (i, o) = (&v["inputs"], &v["outputs"]);
    let lock = DhSecret::from_bytes(&arr(&i["lock_static_secret"])).expect("lock key");
    let phone = DhSecret::from_bytes(&arr(&i["phone_ephemeral_secret"])).expect("phone key");
    let lock_id: [u8; 16] = arr(&i["lock_id"]);
    let log_key: [u8; 32] = arr(&i["log_key"]);
    assert_eq!(lock.public_key().to_bytes().to_vec(), hex_of(&o["lock_static_public"]));
    assert_eq!(phone.public_key().to_bytes().to_vec(), hex_of(&o["phone_ephemeral_public"]));
    let hello = Hello {
        version: 1,
        lock_id,
        challenge: arr(&i["challenge"]),
        lock_time: num(&i["lock_time"]),
        time_status: status(&i["time_status"]),
    }
    .encode();
    assert_eq!(hello.to_vec(), hex_of(&o["hello"]));

    // Keys.
    let shared = phone.agree(&lock.public_key());
    assert_eq!(shared.as_bytes().to_vec(), hex_of(&o["shared_secret"]));
    let k_sync = sync_channel_key(&hello, shared.as_bytes(), &lock_id, &phone.public_key()).expect("k_sync");
    assert_eq!(k_sync.as_bytes().to_vec(), hex_of(&o["k_sync"]));

    // Phone → lock: SyncBegin, DeltaChunks, SyncEnd; the lock's receiver takes them back.
    let delta = hex_of(&i["delta"]);
    let token: [u8; 84] = arr(&i["time_token"]);
    let messages =
        sync_messages(std::slice::from_ref(&delta), Some(&token), &phone.public_key()).expect("builds");
    let mut expected = vec![hex_of(&o["sync_begin"])];
    expected.extend(o["delta_chunks"].as_array().expect("chunks").iter().map(hex_of));
    expected.push(hex_of(&o["sync_end"]));
    assert!(expected.len() > 3, "the delta spans several chunks");
    assert_eq!(messages, expected);
    let mut receiver = SyncReceiver::new();
    let mut inbound = None;
    for message in &expected {
        inbound = receiver.handle(message).expect("the lock accepts it");
    }
    let inbound = inbound.expect("SyncEnd completes the sync");
    assert_eq!(
        (inbound.deltas, inbound.time_token, inbound.phone_key),
        (vec![delta], Some(token), phone.public_key())
    );

    // Lock → phone: the sealed SyncReport with batch 0.
    let batch0 = seal_log_batch(&log_key, &lock_id, &hello, 0, &[]).expect("seals");
    assert_eq!(batch0, hex_of(&o["sealed_batch_0"]));
    let r = &i["report"];
    let outcomes = r["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|pair| {
            let bytes: Vec<u8> = pair[1].as_array().expect("bytes").iter().map(num::<u8>).collect();
            let outcome = match bytes.as_slice() {
                [0] => DeltaOutcome::Applied,
                [1] => DeltaOutcome::AlreadyApplied,
                [2, reason] => DeltaOutcome::Refused(*reason),
                other => panic!("outcome {other:?}"),
            };
            (num::<u64>(&pair[0]), outcome)
        })
        .collect();
    let report = SyncReport {
        last_applied_seq: num(&r["last_applied_seq"]),
        lock_time: num(&r["lock_time"]),
        time_status: status(&r["time_status"]),
        battery_percent: num(&r["battery_percent"]),
        outcomes,
        more_logs: num::<u8>(&r["more_logs"]) == 1,
        sealed_logs: batch0,
    };
    assert_eq!(report.encode_plaintext(), hex_of(&o["report_plaintext"]));
    let lock_side = SyncChannel::lock(&lock, &phone.public_key(), &lock_id, &hello).expect("lock channel");
    let phone_side = SyncChannel::phone(&phone, &lock.public_key(), &lock_id, &hello).expect("phone channel");
    let sealed_report = lock_side.seal_report(&report).expect("seals");
    assert_eq!(sealed_report, hex_of(&o["sync_report"]));
    assert_eq!(phone_side.open_report(&sealed_report).expect("opens"), report);

    // LogRequest 1 and the sealed LogBatch 1.
    assert_eq!(log_request(1), hex_of(&o["log_request"]));
    assert_eq!(decode_log_request(&hex_of(&o["log_request"])), Ok(1));
    let batch1 = seal_log_batch(&log_key, &lock_id, &hello, 1, &[]).expect("seals");
    assert_eq!(batch1, hex_of(&o["sealed_batch_1"]));
    let batch = LogBatch { more_logs: false, sealed_logs: batch1 };
    assert_eq!(batch.encode_plaintext(), hex_of(&o["log_batch_plaintext"]));
    let sealed_batch = lock_side.seal_log_batch_message(1, &batch).expect("seals");
    assert_eq!(sealed_batch, hex_of(&o["log_batch"]));
    assert_eq!(phone_side.open_log_batch_message(1, &sealed_batch).expect("opens"), batch);
}
