//! Checks `tests/vectors/keypad.json` (computed with Python's `hmac`/`hashlib`, independently of this
//! crate) against the keypad and event-log code: zone rules, derived codes at the keypad, permanent
//! code hashes and a three-entry log chain with its acknowledgement message.

use latchkey_protocol::doorcode::{DailyKind, Doorcode, LocalDay};
use latchkey_protocol::eventlog::{
    self, Entry, EventKind, GENESIS_PREV_MAC, Record, ack_message, entry_mac, verify_chain,
};
use latchkey_protocol::keypad::{
    CodeKind, DAILY_SLOT_WINDOW, DenyReason, Holder, Keypad, MAX_GUESSES_PER_DAY, PermanentCode, Transition,
    Verdict, ZoneRule, lockout_after, permanent_code_hash,
};
use serde_json::Value;

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/keypad.json"))
        .expect("vectors file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn bytes<const N: usize>(v: &Value) -> [u8; N] {
    hex::decode(v.as_str().expect("hex string")).expect("hex").try_into().expect("length")
}

fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().expect("number")).expect("u32")
}

fn zone_of(v: &Value) -> ZoneRule {
    let transitions = v["transitions"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| Transition {
            utc_start: u32_of(&t["utc_start"]),
            offset_seconds: i32::try_from(t["offset_seconds"].as_i64().expect("number")).expect("i32"),
        })
        .collect();
    ZoneRule::new(transitions).expect("valid rule")
}

#[test]
fn zone_rules_encode_and_give_local_days() {
    let v = vectors();
    for z in v["zone_rules"].as_array().expect("array") {
        let rule = zone_of(z);
        let encoding = hex::decode(z["encoding"].as_str().expect("hex")).expect("hex");
        assert_eq!(rule.encode(), encoding, "{}", z["name"]);
        assert_eq!(ZoneRule::decode(&encoding).as_ref(), Ok(&rule));
        for c in z["checks"].as_array().expect("array") {
            let now = u32_of(&c["now"]);
            assert_eq!(i64::from(rule.offset_at(now)), c["offset_seconds"].as_i64().expect("number"));
            assert_eq!(i64::from(rule.local_day(now).0), c["local_day"].as_i64().expect("number"));
        }
    }
}

#[test]
fn the_keypad_accepts_exactly_the_derived_codes() {
    let v = vectors();
    let k = &v["keypad"];
    let zone = zone_of(&v["zone_rules"][0]);
    for e in k["entries"].as_array().expect("array") {
        let mut keypad = Keypad::new([0; 16], bytes(&k["door_secret"]), [0; 32]);
        let now = u32_of(&e["now"]);
        // The backend issued the whole window of that day (slots 0..64 of both kinds, §15).
        for kind in [DailyKind::Daily, DailyKind::DailySingleUse] {
            keypad.set_issued_slots(zone.local_day(now), kind, DAILY_SLOT_WINDOW).expect("in the window");
        }
        let (verdict, _) = keypad.enter(e["code"].as_str().expect("code"), now, &zone);
        let expected = match e["verdict"].as_str().expect("verdict") {
            "WRONG" => Verdict::Denied { reason: DenyReason::Wrong },
            kind => Verdict::Granted {
                kind: if kind == "DAILY" { CodeKind::Daily } else { CodeKind::DailySingleUse },
                who: Holder::Slot {
                    day: zone.local_day(now),
                    slot: u16::try_from(e["slot"].as_u64().expect("slot")).expect("u16"),
                },
            },
        };
        assert_eq!(verdict, expected, "{}", e["what"]);
    }
    assert_eq!(zone.local_day(u32_of(&k["entries"][1]["now"])), LocalDay::from_ymd(2026, 11, 22));
}

#[test]
fn permanent_code_hashes_and_encoding() {
    let v = vectors();
    for p in v["permanent_codes"].as_array().expect("array") {
        let code = Doorcode::parse(p["code"].as_str().expect("code")).expect("digits");
        let hash = permanent_code_hash(&bytes(&p["code_hash_key"]), &bytes(&p["lock_id"]), code);
        assert_eq!(hash, bytes::<16>(&p["hash"]));
        let entry = PermanentCode {
            id: bytes(&p["id"]),
            hash,
            not_before: u32_of(&p["not_before"]),
            not_after: u32_of(&p["not_after"]),
        };
        assert_eq!(entry.encode(), bytes::<40>(&p["encoding"]));
        let mut keypad = Keypad::new(bytes(&p["lock_id"]), [0; 32], bytes(&p["code_hash_key"]));
        keypad.set_permanent(entry).expect("room");
        let (verdict, _) =
            keypad.enter(p["code"].as_str().expect("code"), entry.not_before, &ZoneRule::utc());
        assert_eq!(verdict, Verdict::Granted { kind: CodeKind::Permanent, who: Holder::Access(entry.id) });
    }
}

#[test]
fn log_chain_macs_and_ack_message() {
    let v = vectors();
    let chain = &v["log_chain"];
    let (log_key, lock_id) = (bytes::<32>(&chain["log_key"]), bytes::<16>(&chain["lock_id"]));
    assert_eq!(bytes::<16>(&chain["genesis_prev_mac"]), GENESIS_PREV_MAC);
    let mut log = eventlog::EventLog::new(lock_id, log_key);
    let mut decoded = Vec::new();
    for e in chain["entries"].as_array().expect("array") {
        let record = Record {
            time: u32_of(&e["time"]),
            time_uncertain: e["time_uncertain"].as_bool().expect("bool"),
            kind: EventKind(u8::try_from(e["kind"].as_u64().expect("kind")).expect("u8")),
            subject: bytes(&e["subject"]),
            detail: u16::try_from(e["detail"].as_u64().expect("detail")).expect("u16"),
        };
        assert_eq!(log.append(record), e["seq"].as_u64());
        let entry =
            Entry::decode(&hex::decode(e["encoding"].as_str().expect("hex")).expect("hex")).expect("entry");
        assert_eq!(entry.body(), bytes::<32>(&e["body"]));
        assert_eq!(entry.mac, entry_mac(&log_key, &lock_id, &entry.body(), &bytes(&e["prev_mac"])));
        assert_eq!(entry.mac, bytes::<16>(&e["mac"]));
        decoded.push(entry);
    }
    assert_eq!(log.pending(), decoded.as_slice());
    assert_eq!(verify_chain(&decoded, &log_key, &lock_id, &GENESIS_PREV_MAC), Ok(()));
    let ack = &chain["ack"];
    let seq = ack["up_to_seq"].as_u64().expect("seq");
    let message = ack_message(&lock_id, seq, &decoded[1].mac);
    assert_eq!(message.to_vec(), hex::decode(ack["message"].as_str().expect("hex")).expect("hex"));
    let signed = message.to_vec();
    let deleted = log.acknowledge(seq, b"sig", &|m: &[u8], s: &[u8]| m == signed.as_slice() && s == b"sig");
    assert_eq!(deleted, Ok(2));
}

#[test]
fn throttle_schedule() {
    let v = vectors();
    for pair in v["throttle"]["lockout_after_failures"].as_array().expect("array") {
        assert_eq!(u64::from(lockout_after(u32_of(&pair[0]))), pair[1].as_u64().expect("secs"));
    }
    assert_eq!(v["throttle"]["max_guesses_per_day"].as_u64(), Some(MAX_GUESSES_PER_DAY as u64));
}
