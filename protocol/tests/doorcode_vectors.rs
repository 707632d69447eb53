//! Checks `tests/vectors/doorcode.json` (computed with Python's `hmac`/`hashlib`, independently of this
//! crate): every DAILY / DAILY_SINGLE_USE code, and the day numbering of its date.

use latchkey_protocol::doorcode::{self, DailyKind, LocalDay};
use serde_json::Value;

#[test]
fn every_doorcode_vector_is_reproduced() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/doorcode.json"))
        .expect("vectors file");
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
    assert!(vectors.len() >= 5, "the vectors file lost entries");
    for vector in &vectors {
        let number = |field: &str| vector[field].as_i64().expect("a number");
        let secret: [u8; 32] =
            hex::decode(vector["secret"].as_str().expect("hex")).expect("hex").try_into().expect("32 bytes");
        let kind = match vector["kind"].as_str().expect("kind") {
            "DAILY" => DailyKind::Daily,
            "DAILY_SINGLE_USE" => DailyKind::DailySingleUse,
            other => panic!("unknown kind {other}"),
        };
        let day = LocalDay::from_ymd(number("year") as i32, number("month") as u32, number("day") as u32);
        assert_eq!(i64::from(day.0), number("local_day"), "{vector}");
        let slot = u16::try_from(number("slot")).expect("u16 slot");
        let code = doorcode::daily(&secret, kind, day, slot);
        assert_eq!(code.to_string(), vector["code"].as_str().expect("code"), "{vector}");
    }
}
