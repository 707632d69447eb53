//! Checks `tests/vectors/sync.json` byte for byte: a time token, an incremental delta with one entry of every
//! kind, and a snapshot delta (docs/protocol.md §23).
//!
//! The file holds `inputs` (the backend key, the lock id, times and every entry field) and `outputs` (each
//! signed message, signature, header, entry and encoding). The tests recompute the outputs from the inputs
//! with this crate, decode and verify them, apply both deltas to a fresh lock, and compare. To regenerate
//! after a deliberate protocol change, run with `LATCHKEY_WRITE_VECTORS=1` (and re-run the independent
//! Python check, `tests/vectors/check_vectors.py`).

use latchkey_protocol::crypto::SigningKey;
use latchkey_protocol::doorcode::{DailyKind, Doorcode, LocalDay};
use latchkey_protocol::keypad::{PermanentCode, Transition, ZoneRule, permanent_code_hash};
use latchkey_protocol::sync::{
    DELTA_DOMAIN, Delta, DeltaKind, Entry, HEADER_LEN, LockClock, LockSyncState, LogAck, TIME_DOMAIN,
    TimeToken, Window,
};
use serde_json::{Map, Value, json};

const FILE: &str = "sync.json";

fn path() -> String {
    format!("{}/tests/vectors/{FILE}", env!("CARGO_MANIFEST_DIR"))
}

fn h(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex::decode(v.as_str().expect("hex string")).expect("hex").try_into().expect("length")
}

fn num<T: TryFrom<i64>>(v: &Value) -> T {
    T::try_from(v.as_i64().expect("number")).ok().expect("in range")
}

fn inputs() -> Value {
    json!({
        "backend_secret": "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
        "lock_id": "6a1c8e52f3b04d7e9a2b5c8d1e4f7a0b",
        "code_hash_key": "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
        "time_token": { "time": 1_795_300_000u32 },
        "incremental": {
            "kind": 0,
            "seq": 1,
            "entries": [
                { "type": "AddAccess", "user_id": "11223344556677889900aabbccddeeff",
                  "not_before": 1_795_000_000u32, "not_after": 1_795_604_800u32 },
                { "type": "RemoveAccess", "user_id": "ffeeddccbbaa00998877665544332211" },
                { "type": "RevokeCredential", "credential_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0" },
                { "type": "AddPermanentCode", "id": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "code": "0412345",
                  "not_before": 1_795_000_000u32, "not_after": 4_294_967_295u32 },
                { "type": "RemovePermanentCode", "id": "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf" },
                { "type": "ZoneRule", "transitions": [
                    { "utc_start": 0, "offset_seconds": -18_000 },
                    { "utc_start": 1_772_953_200u32, "offset_seconds": -14_400 },
                    { "utc_start": 1_793_512_800u32, "offset_seconds": -18_000 } ] },
                { "type": "TimeToken", "time": 1_795_300_000u32 },
                { "type": "LogAck", "up_to_seq": 42, "entry_mac": "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf" },
                { "type": "DailySlotsIssued", "day": 20_779, "kind": "DAILY", "issued": 7 },
                { "type": "DailySlotsIssued", "day": -1, "kind": "DAILY_SINGLE_USE", "issued": 64 }
            ]
        },
        "snapshot": {
            "kind": 1,
            "seq": 5,
            "entries": [
                { "type": "AddAccess", "user_id": "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
                  "not_before": 1_795_000_000u32, "not_after": 1_796_000_000u32 },
                { "type": "AddAccess", "user_id": "e0e1e2e3e4e5e6e7e8e9eaebecedeeef",
                  "not_before": 1_795_100_000u32, "not_after": 1_795_200_000u32 },
                { "type": "AddPermanentCode", "id": "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf", "code": "9876543",
                  "not_before": 1_795_000_000u32, "not_after": 1_796_000_000u32 }
            ]
        }
    })
}

struct Ctx {
    backend: SigningKey,
    lock_id: [u8; 16],
    code_hash_key: [u8; 32],
}

fn ctx(i: &Value) -> Ctx {
    Ctx {
        backend: SigningKey::from_bytes(&arr(&i["backend_secret"])).expect("backend key"),
        lock_id: arr(&i["lock_id"]),
        code_hash_key: arr(&i["code_hash_key"]),
    }
}

fn entry_of(c: &Ctx, e: &Value) -> Entry {
    match e["type"].as_str().expect("type") {
        "AddAccess" => Entry::AddAccess {
            user_id: arr(&e["user_id"]),
            window: Window { not_before: num(&e["not_before"]), not_after: num(&e["not_after"]) },
        },
        "RemoveAccess" => Entry::RemoveAccess { user_id: arr(&e["user_id"]) },
        "RevokeCredential" => Entry::RevokeCredential { credential_id: arr(&e["credential_id"]) },
        "AddPermanentCode" => {
            let code = Doorcode::parse(e["code"].as_str().expect("code")).expect("7 digits");
            Entry::AddPermanentCode(PermanentCode {
                id: arr(&e["id"]),
                hash: permanent_code_hash(&c.code_hash_key, &c.lock_id, code),
                not_before: num(&e["not_before"]),
                not_after: num(&e["not_after"]),
            })
        }
        "RemovePermanentCode" => Entry::RemovePermanentCode { id: arr(&e["id"]) },
        "ZoneRule" => Entry::ZoneRule(
            ZoneRule::new(
                e["transitions"]
                    .as_array()
                    .expect("transitions")
                    .iter()
                    .map(|t| Transition {
                        utc_start: num(&t["utc_start"]),
                        offset_seconds: num(&t["offset_seconds"]),
                    })
                    .collect(),
            )
            .expect("zone rule"),
        ),
        "TimeToken" => Entry::TimeToken(TimeToken::sign(c.lock_id, num(&e["time"]), &c.backend)),
        "LogAck" => {
            Entry::LogAck(LogAck { up_to_seq: num(&e["up_to_seq"]), entry_mac: arr(&e["entry_mac"]) })
        }
        "DailySlotsIssued" => Entry::DailySlotsIssued {
            day: LocalDay(num(&e["day"])),
            kind: match e["kind"].as_str().expect("kind") {
                "DAILY" => DailyKind::Daily,
                _ => DailyKind::DailySingleUse,
            },
            issued: num(&e["issued"]),
        },
        other => panic!("unknown entry type {other}"),
    }
}

fn delta_of(c: &Ctx, d: &Value) -> Delta {
    let kind = if num::<u8>(&d["kind"]) == 1 { DeltaKind::Snapshot } else { DeltaKind::Incremental };
    let entries = d["entries"].as_array().expect("entries").iter().map(|e| entry_of(c, e)).collect();
    Delta::sign(kind, c.lock_id, num(&d["seq"]), entries, &c.backend)
}

/// The outputs of one delta: header, each entry's bytes (tag included), signed message, signature, encoding.
fn delta_outputs(c: &Ctx, delta: &Delta) -> Value {
    let bytes = delta.encode();
    assert_eq!(Delta::decode(&bytes).expect("decodes"), *delta);
    delta.verify(&c.backend.public_key(), &c.lock_id).expect("verifies");
    let body = &bytes[..bytes.len() - 64];
    let mut entries = Vec::new();
    let mut at = HEADER_LEN;
    for e in &delta.entries {
        // Each entry's own bytes: the encoding of a one-entry delta, minus header and signature.
        let one = Delta::sign(delta.kind, delta.lock_id, delta.seq, vec![e.clone()], &c.backend).encode();
        let own = &one[HEADER_LEN..one.len() - 64];
        assert_eq!(&body[at..at + own.len()], own);
        at += own.len();
        entries.push(h(own));
    }
    assert_eq!(at, body.len());
    json!({
        "header": h(&bytes[..HEADER_LEN]),
        "entries": entries,
        "signed_message": h([DELTA_DOMAIN, body].concat()),
        "signature": h(delta.signature),
        "encoded": h(&bytes),
    })
}

fn outputs(i: &Value) -> Map<String, Value> {
    let c = ctx(i);
    let backend_pub = c.backend.public_key();
    let time: u32 = num(&i["time_token"]["time"]);
    let token = TimeToken::sign(c.lock_id, time, &c.backend);
    let token_bytes = token.encode();
    assert_eq!(TimeToken::decode(&token_bytes).expect("decodes"), token);
    let mut clock = LockClock::new(c.lock_id);
    assert_eq!(clock.apply_time_token(&token, &backend_pub), Ok(time));

    let incremental = delta_of(&c, &i["incremental"]);
    let snapshot = delta_of(&c, &i["snapshot"]);

    // Both apply, in order, to a freshly activated lock; the snapshot drops what it does not list.
    let mut state = LockSyncState::new(c.lock_id);
    let a = state.apply(&incremental, &backend_pub).expect("incremental applies");
    assert_eq!((a.users_added.len(), a.credentials_revoked.len(), a.permanent_codes_added.len()), (1, 1, 1));
    assert_eq!((a.time_tokens, a.log_acks.len(), a.zone_rule.is_some()), (vec![token], 1, true));
    assert_eq!(
        a.daily_slots_issued,
        vec![(LocalDay(20_779), DailyKind::Daily, 7), (LocalDay(-1), DailyKind::DailySingleUse, 64)]
    );
    let s = state.apply(&snapshot, &backend_pub).expect("snapshot applies");
    assert_eq!((s.seq, s.snapshot, s.users_added.len(), s.users_removed.len()), (5, true, 2, 1));
    assert_eq!((s.permanent_codes_added.len(), s.permanent_codes_removed.len()), (1, 1));
    assert!(state.is_revoked(&arr(&i["incremental"]["entries"][2]["credential_id"])));

    let hashes: Vec<Value> = [&incremental, &snapshot]
        .iter()
        .flat_map(|d| d.entries.iter())
        .filter_map(|e| if let Entry::AddPermanentCode(p) = e { Some(h(p.hash)) } else { None })
        .collect();

    let mut m = Map::new();
    m.insert("backend_public".into(), h(backend_pub.to_bytes()));
    m.insert(
        "time_token".into(),
        json!({
            "signed_message": h([TIME_DOMAIN, &c.lock_id, &time.to_be_bytes()].concat()),
            "signature": h(token.signature),
            "encoded": h(token_bytes),
        }),
    );
    m.insert("permanent_code_hashes".into(), Value::Array(hashes));
    m.insert("incremental".into(), delta_outputs(&c, &incremental));
    m.insert("snapshot".into(), delta_outputs(&c, &snapshot));
    m
}

#[test]
fn sync_vector() {
    let writing = std::env::var_os("LATCHKEY_WRITE_VECTORS").is_some();
    let inputs = if writing {
        inputs()
    } else {
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(path()).expect("vector file")).expect("JSON");
        file["inputs"].clone()
    };
    let outputs = outputs(&inputs);
    if writing {
        let file = json!({ "inputs": inputs, "outputs": outputs });
        std::fs::write(path(), serde_json::to_string_pretty(&file).expect("JSON") + "\n")
            .expect("write vectors");
        return;
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path()).expect("vector file")).expect("JSON");
    let expected = file["outputs"].as_object().expect("outputs");
    assert_eq!(expected.len(), outputs.len(), "{FILE}: number of outputs");
    for (k, v) in expected {
        assert_eq!(Some(v), outputs.get(k), "{FILE}: output `{k}`");
    }
}
