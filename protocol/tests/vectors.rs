//! Checks the protocol test vectors under `tests/vectors/` byte for byte: a credential, a full unlock exchange,
//! a resume exchange and framing at MTU 23 and 185.
//!
//! Each file holds `inputs` (keys, randoms, fields, times) and `outputs` (every derived value and message).
//! The tests recompute the outputs from the inputs with this crate and compare. To regenerate after a
//! deliberate protocol change, run with `LATCHKEY_WRITE_VECTORS=1` (and re-run the independent Python check,
//! `tests/vectors/check_vectors.py`).

use latchkey_protocol::credential::{Credential, CredentialBody, Flags, Role};
use latchkey_protocol::crypto::{self, DhSecret, Direction, SigningKey};
use latchkey_protocol::framing;
use latchkey_protocol::unlock::{
    Command, LockIdentity, LockRandom, LockSession, PhoneStep, PhoneTicket, PhoneUnlock, PhoneUnlockParams,
    ResumptionSecret, TicketTable, TimeStatus, UNLOCK_LABEL, full_keys, resume_keys, resume_mac,
};
use serde_json::{Map, Value, json};

fn path(name: &str) -> String {
    format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn h(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex::decode(v.as_str().expect("hex string")).expect("hex").try_into().expect("length")
}

fn num(v: &Value) -> u32 {
    u32::try_from(v.as_u64().expect("number")).expect("u32")
}

/// Loads a vector file, or (when writing) starts from the default inputs; then checks or rewrites outputs.
fn check(name: &str, default_inputs: Value, compute: fn(&Value) -> Map<String, Value>) {
    let writing = std::env::var_os("LATCHKEY_WRITE_VECTORS").is_some();
    let inputs = if writing {
        default_inputs
    } else {
        let text = std::fs::read_to_string(path(name)).expect("vector file");
        let file: Value = serde_json::from_str(&text).expect("JSON");
        file["inputs"].clone()
    };
    let outputs = compute(&inputs);
    if writing {
        let file = json!({ "inputs": inputs, "outputs": outputs });
        let text = serde_json::to_string_pretty(&file).expect("JSON") + "\n";
        std::fs::write(path(name), text).expect("write vectors");
        return;
    }
    let text = std::fs::read_to_string(path(name)).expect("vector file");
    let file: Value = serde_json::from_str(&text).expect("JSON");
    let expected = file["outputs"].as_object().expect("outputs");
    assert_eq!(expected.len(), outputs.len(), "{name}: number of outputs");
    for (k, v) in expected {
        assert_eq!(Some(v), outputs.get(k), "{name}: output `{k}`");
    }
}

// ---------------------------------------------------------------- credential

fn credential_inputs() -> Value {
    json!({
        "backend_secret": "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
        "device_secret": "5b2c6c1a0d6d8b31b4e6f1f8a3f1e96c0f9d6a2b4c8e1d3f5a7b9c0d2e4f6a81",
        "credential_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "lock_id": "6a1c8e52f3b04d7e9a2b5c8d1e4f7a0b",
        "user_id": "11223344556677889900aabbccddeeff",
        "not_before": 1_795_000_000u32,
        "not_after": 1_795_604_800u32,
        "role": 2,
        "flags": 1,
        "verify_now": 1_795_300_000u32
    })
}

fn credential_of(i: &Value) -> Credential {
    let backend = SigningKey::from_bytes(&arr(&i["backend_secret"])).expect("backend key");
    let device = SigningKey::from_bytes(&arr(&i["device_secret"])).expect("device key");
    let flags = num(&i["flags"]);
    CredentialBody {
        credential_id: arr(&i["credential_id"]),
        lock_id: arr(&i["lock_id"]),
        user_id: arr(&i["user_id"]),
        not_before: num(&i["not_before"]),
        not_after: num(&i["not_after"]),
        role: if num(&i["role"]) == 1 { Role::Resident } else { Role::NonResident },
        flags: Flags { shareable: flags & 1 != 0, privileged: flags & 2 != 0 },
        device_pub: device.public_key(),
    }
    .sign(&backend)
}

fn credential_outputs(i: &Value) -> Map<String, Value> {
    let backend = SigningKey::from_bytes(&arr(&i["backend_secret"])).expect("backend key");
    let cred = credential_of(i);
    let bytes = cred.encode();
    assert_eq!(Credential::decode(&bytes).expect("decodes"), cred);
    cred.verify(&backend.public_key(), &arr(&i["lock_id"]), num(&i["verify_now"]), 120).expect("verifies");
    let mut m = Map::new();
    m.insert("backend_public".into(), h(backend.public_key().to_bytes()));
    m.insert("device_public".into(), h(cred.body.device_pub.to_bytes()));
    m.insert(
        "signed_message".into(),
        h([b"latchkey/credential/v1".as_slice(), &cred.body.encode()].concat()),
    );
    m.insert("signature".into(), h(cred.signature));
    m.insert("encoded".into(), h(bytes));
    m
}

#[test]
fn credential_vector() {
    check("credential.json", credential_inputs(), credential_outputs);
}

// ---------------------------------------------------------------- full unlock

fn unlock_inputs() -> Value {
    json!({
        "credential": credential_inputs(),
        "lock_static_secret": "1f6b3d0e8a2c4f5e7d9b1a3c5e7f9b2d4f6a8c0e2b4d6f8a1c3e5a7b9d0f2e41",
        "phone_ephemeral_secret": "a3c5e7091b2d4f6a8c0e1f3b5d7a9c2e4f6b8d0a1c3e5f7b9d2a4c6e8f0b1d32",
        "challenge": "00112233445566778899aabbccddeeff",
        "new_ticket_id": "7469636b65742d69642d30303030302d",
        "lock_time": 1_795_300_000u32,
        "time_status": 0,
        "command": "01"
    })
}

struct Full {
    lock: LockIdentity,
    cred: Credential,
    device: SigningKey,
    hello: Vec<u8>,
    request: Vec<u8>,
    result: Vec<u8>,
    ticket: PhoneTicket,
}

fn run_full(i: &Value) -> Full {
    let c = &i["credential"];
    let cred = credential_of(c);
    let device = SigningKey::from_bytes(&arr(&c["device_secret"])).expect("device key");
    let lock = LockIdentity {
        lock_id: arr(&c["lock_id"]),
        static_key: DhSecret::from_bytes(&arr(&i["lock_static_secret"])).expect("lock key"),
        backend_key: SigningKey::from_bytes(&arr(&c["backend_secret"])).expect("backend").public_key(),
    };
    let now = num(&i["lock_time"]);
    let status = if num(&i["time_status"]) == 0 { TimeStatus::Synced } else { TimeStatus::Uncertain };
    let command =
        Command::decode(&hex::decode(i["command"].as_str().expect("hex")).expect("hex")).expect("command");
    let mut session = LockSession::new(
        lock.lock_id,
        now,
        status,
        LockRandom { challenge: arr(&i["challenge"]), ticket_id: arr(&i["new_ticket_id"]) },
    );
    let mut phone = PhoneUnlock::new(PhoneUnlockParams {
        lock_id: lock.lock_id,
        lock_static_pub: lock.static_key.public_key(),
        credential: cred,
        command,
        ephemeral: DhSecret::from_bytes(&arr(&i["phone_ephemeral_secret"])).expect("eph"),
        ticket: None,
    });
    let hello = session.hello().to_vec();
    let PhoneStep::Send(request) = phone.handle(&hello, &device).expect("request") else {
        panic!("expected a request")
    };
    let mut tickets = TicketTable::new();
    let reply = session.handle(&lock, &request, now, &|_: &[u8; 16], _: &[u8; 16]| false, &mut tickets);
    assert_eq!(reply.action, Some(command));
    let PhoneStep::Done(outcome) = phone.handle(&reply.message, &device).expect("result") else {
        panic!("expected the end")
    };
    let ticket = outcome.ticket.expect("ticket");
    Full { lock, cred, device, hello, request, result: reply.message, ticket }
}

fn unlock_outputs(i: &Value) -> Map<String, Value> {
    let f = run_full(i);
    let eph = DhSecret::from_bytes(&arr(&i["phone_ephemeral_secret"])).expect("eph");
    let eph_pub = eph.public_key().to_bytes();
    let shared = eph.agree(&f.lock.static_key.public_key());
    let challenge: [u8; 16] = arr(&i["challenge"]);
    let keys = full_keys(&challenge, shared.as_bytes(), &f.lock.lock_id, &eph_pub).expect("keys");
    let command = hex::decode(i["command"].as_str().expect("hex")).expect("hex");
    let transcript = [UNLOCK_LABEL, &f.hello, &eph_pub, &command].concat();
    let device_signature = f.device.sign(&[&transcript]);
    let plaintext = [&f.cred.encode()[..], &device_signature, &command].concat();
    let request_aad = [&f.hello[..], &[0x02], &eph_pub].concat();
    let sealed = keys.phone_to_lock.seal(Direction::PhoneToLock, 0, &request_aad, &plaintext).expect("seal");
    assert_eq!(f.request, [&[0x02][..], &eph_pub, &sealed].concat());
    let result_aad = [&f.hello[..], &[0x04]].concat();
    let result_plain =
        keys.lock_to_phone.open(Direction::LockToPhone, 0, &result_aad, &f.result[1..]).expect("open");
    assert_eq!(f.ticket.secret, keys.resumption);

    let mut m = Map::new();
    m.insert("lock_static_public".into(), h(f.lock.static_key.public_key().to_bytes()));
    m.insert("phone_ephemeral_public".into(), h(eph_pub));
    m.insert("hello".into(), h(&f.hello));
    m.insert("ecdh_shared_x".into(), h(shared.as_bytes()));
    m.insert("hkdf_info".into(), h([UNLOCK_LABEL, &f.lock.lock_id, &eph_pub].concat()));
    m.insert("k_phone_to_lock".into(), h(keys.phone_to_lock.as_bytes()));
    m.insert("k_lock_to_phone".into(), h(keys.lock_to_phone.as_bytes()));
    m.insert("resumption_secret".into(), h(keys.resumption.as_bytes()));
    m.insert("device_signature_message".into(), h(&transcript));
    m.insert("device_signature".into(), h(device_signature));
    m.insert("request_plaintext".into(), h(&plaintext));
    m.insert("request_aad".into(), h(&request_aad));
    m.insert("request_nonce".into(), h(crypto::nonce(Direction::PhoneToLock, 0)));
    m.insert("request".into(), h(&f.request));
    m.insert("result_plaintext".into(), h(&result_plain));
    m.insert("result_aad".into(), h(&result_aad));
    m.insert("result_nonce".into(), h(crypto::nonce(Direction::LockToPhone, 0)));
    m.insert("result".into(), h(&f.result));
    m
}

#[test]
fn full_unlock_vector() {
    check("unlock_full.json", unlock_inputs(), unlock_outputs);
}

// ---------------------------------------------------------------- resume

fn resume_inputs() -> Value {
    json!({
        "full_exchange": unlock_inputs(),
        "challenge": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "new_ticket_id": "7469636b65742d69642d30303030312d",
        "lock_time": 1_795_303_600u32,
        "time_status": 0,
        "command": "01"
    })
}

fn resume_outputs(i: &Value) -> Map<String, Value> {
    let f = run_full(&i["full_exchange"]);
    // Re-create the lock's table as the full exchange left it.
    let mut tickets = TicketTable::new();
    {
        let fi = &i["full_exchange"];
        let mut s = LockSession::new(
            f.lock.lock_id,
            num(&fi["lock_time"]),
            TimeStatus::Synced,
            LockRandom { challenge: arr(&fi["challenge"]), ticket_id: arr(&fi["new_ticket_id"]) },
        );
        let reply = s.handle(
            &f.lock,
            &f.request,
            num(&fi["lock_time"]),
            &|_: &[u8; 16], _: &[u8; 16]| false,
            &mut tickets,
        );
        assert_eq!(reply.message, f.result);
    }
    let now = num(&i["lock_time"]);
    let command =
        Command::decode(&hex::decode(i["command"].as_str().expect("hex")).expect("hex")).expect("command");
    let mut session = LockSession::new(
        f.lock.lock_id,
        now,
        TimeStatus::Synced,
        LockRandom { challenge: arr(&i["challenge"]), ticket_id: arr(&i["new_ticket_id"]) },
    );
    let mut phone = PhoneUnlock::new(PhoneUnlockParams {
        lock_id: f.lock.lock_id,
        lock_static_pub: f.lock.static_key.public_key(),
        credential: f.cred,
        command,
        ephemeral: DhSecret::from_bytes(&[0x01; 32]).expect("eph (unused on resume)"),
        ticket: Some(f.ticket.clone()),
    });
    let hello = session.hello().to_vec();
    let PhoneStep::Send(request) = phone.handle(&hello, &f.device).expect("request") else {
        panic!("expected a request")
    };
    let reply = session.handle(&f.lock, &request, now, &|_: &[u8; 16], _: &[u8; 16]| false, &mut tickets);
    assert_eq!(reply.action, Some(command));
    let PhoneStep::Done(outcome) = phone.handle(&reply.message, &f.device).expect("result") else {
        panic!("expected the end")
    };
    let next = outcome.ticket.expect("rotated ticket");

    let challenge: [u8; 16] = arr(&i["challenge"]);
    let keys = resume_keys(&challenge, &f.ticket.secret, &f.lock.lock_id, &f.ticket.ticket_id).expect("keys");
    let cmd = command.encode();
    let mac = resume_mac(&keys.mac_key, &hello, &f.ticket.ticket_id, &cmd);
    let result_aad = [&hello[..], &[0x04]].concat();
    let result_plain =
        keys.lock_to_phone.open(Direction::LockToPhone, 0, &result_aad, &reply.message[1..]).expect("open");
    assert_eq!(next.secret, keys.next_resumption);
    let _ = ResumptionSecret::from_bytes(*keys.mac_key.as_bytes());

    let mut m = Map::new();
    m.insert("ticket_id".into(), h(f.ticket.ticket_id));
    m.insert("ticket_expires_at".into(), json!(f.ticket.expires_at));
    m.insert("resumption_secret".into(), h(f.ticket.secret.as_bytes()));
    m.insert("hello".into(), h(&hello));
    m.insert(
        "hkdf_info".into(),
        h([b"latchkey/resume/v1".as_slice(), &f.lock.lock_id, &f.ticket.ticket_id].concat()),
    );
    m.insert("mac_key".into(), h(keys.mac_key.as_bytes()));
    m.insert("k_lock_to_phone".into(), h(keys.lock_to_phone.as_bytes()));
    m.insert("next_resumption_secret".into(), h(keys.next_resumption.as_bytes()));
    m.insert(
        "mac_message".into(),
        h([b"latchkey/resume/v1".as_slice(), &hello, &f.ticket.ticket_id, &cmd].concat()),
    );
    m.insert("mac".into(), h(mac));
    m.insert("request".into(), h(&request));
    m.insert("result_plaintext".into(), h(&result_plain));
    m.insert("result".into(), h(&reply.message));
    m
}

#[test]
fn resume_vector() {
    check("unlock_resume.json", resume_inputs(), resume_outputs);
}

// ---------------------------------------------------------------- framing

fn framing_inputs() -> Value {
    json!({ "full_exchange": unlock_inputs(), "mtus": [23, 185], "counter": 0 })
}

fn framing_outputs(i: &Value) -> Map<String, Value> {
    let f = run_full(&i["full_exchange"]);
    let mut m = Map::new();
    m.insert("message".into(), h(&f.request));
    for mtu in i["mtus"].as_array().expect("mtus") {
        let mtu = u16::try_from(mtu.as_u64().expect("mtu")).expect("u16");
        let packets =
            framing::fragment(&f.request, mtu, u8::try_from(num(&i["counter"])).expect("u8")).expect("fits");
        let mut re = framing::Reassembler::new(mtu).expect("mtu");
        let mut out = None;
        for p in &packets {
            out = re.push(p).expect("ordered").or(out);
        }
        assert_eq!(out.as_deref(), Some(&f.request[..]));
        m.insert(format!("packets_mtu_{mtu}"), Value::Array(packets.iter().map(h).collect()));
    }
    let sizes: Vec<usize> = [f.hello.len(), f.request.len(), f.result.len()].to_vec();
    let framed: usize = sizes.iter().map(|&n| framing::framed_len(n, 185).expect("fits")).sum();
    m.insert(
        "unlock_message_sizes".into(),
        json!({ "hello": sizes[0], "request": sizes[1], "result": sizes[2] }),
    );
    m.insert("unlock_bytes_mtu_185".into(), json!(framed));
    m
}

#[test]
fn framing_vector() {
    check("framing.json", framing_inputs(), framing_outputs);
}
