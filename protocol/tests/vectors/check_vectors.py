#!/usr/bin/env python3
"""Independent check of the Latchkey protocol vectors with pyca/cryptography (not part of the Rust test suite).

Re-derives, from each file's `inputs` only: public keys, the credential signature (verify), ECDH, HKDF, both
AES-128-GCM messages of the full unlock, the device signature (verify), the resume MAC and keys, the resume
result, the framing packets, the sync deltas and time token
(sync.json: every entry, header, encoding, and the backend signatures, re-signed with RFC 6979), and every
message of one sync over BLE with its channel keys (sync_channel.json: SyncBegin, DeltaChunks, SyncEnd, the
sealed SyncReport, LogRequest, the sealed LogBatch, the log batches sealed for the backend).
Run: python3 protocol/tests/vectors/check_vectors.py   (`--write-sync-channel` regenerates sync_channel.json)
"""
import hashlib, hmac, json, os, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import serialization
from cryptography.exceptions import InvalidSignature

HERE = os.path.dirname(os.path.abspath(__file__))
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
X = bytes.fromhex
load = lambda name: json.load(open(os.path.join(HERE, name)))

def priv(hexkey):
    return ec.derive_private_key(int(hexkey, 16), ec.SECP256R1())

def pub33(key):
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)

def verify(pub_bytes, msg, sig):
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    assert s <= N // 2, "signature must be low-S"
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub_bytes)
    key.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))  # raises on failure

def hkdf(salt, ikm, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)

def credential(i):
    backend, device = priv(i["backend_secret"]), priv(i["device_secret"])
    body = (bytes([1]) + X(i["credential_id"]) + X(i["lock_id"]) + X(i["user_id"])
            + i["not_before"].to_bytes(4, "big") + i["not_after"].to_bytes(4, "big")
            + bytes([i["role"], i["flags"]]) + pub33(device))
    return backend, device, body

def check_credential():
    v = load("credential.json"); i, o = v["inputs"], v["outputs"]
    backend, device, body = credential(i)
    assert pub33(backend).hex() == o["backend_public"] and pub33(device).hex() == o["device_public"]
    msg = b"latchkey/credential/v1" + body
    assert msg.hex() == o["signed_message"]
    sig = X(o["signature"])
    verify(pub33(backend), msg, sig)
    assert (body + sig).hex() == o["encoded"]
    print("credential.json: signature verifies, encoding matches")

def check_full():
    v = load("unlock_full.json"); i, o = v["inputs"], v["outputs"]
    backend, device, body = credential(i["credential"])
    lock, eph = priv(i["lock_static_secret"]), priv(i["phone_ephemeral_secret"])
    lock_id = X(i["credential"]["lock_id"])
    hello = (bytes([0x01, 0x01]) + lock_id + X(i["challenge"]) + i["lock_time"].to_bytes(4, "big")
             + bytes([i["time_status"]]))
    assert hello.hex() == o["hello"]
    shared = eph.exchange(ec.ECDH(), lock.public_key())
    assert shared == lock.exchange(ec.ECDH(), eph.public_key())
    assert shared.hex() == o["ecdh_shared_x"]
    epub = pub33(eph)
    okm = hkdf(X(i["challenge"]), shared, b"latchkey/unlock/v1" + lock_id + epub, 64)
    k_pl, k_lp, rs = okm[:16], okm[16:32], okm[32:]
    assert (k_pl.hex(), k_lp.hex(), rs.hex()) == (o["k_phone_to_lock"], o["k_lock_to_phone"], o["resumption_secret"])
    req = X(o["request"])
    assert req[0] == 0x02 and req[1:34] == epub
    aad = hello + b"\x02" + epub
    plain = AESGCM(k_pl).decrypt(b"\x01" + bytes(11), req[34:], aad)
    assert plain.hex() == o["request_plaintext"]
    cred, dsig, cmd = plain[:156], plain[156:220], plain[220:]
    verify(pub33(backend), b"latchkey/credential/v1" + cred[:92], cred[92:])
    assert cred[:92] == body
    verify(cred[59:92], b"latchkey/unlock/v1" + hello + epub + cmd, dsig)
    assert cmd.hex() == i["command"]
    res = X(o["result"])
    rplain = AESGCM(k_lp).decrypt(b"\x02" + bytes(11), res[1:], hello + b"\x04")
    assert rplain.hex() == o["result_plaintext"]
    assert rplain[0] == 0 and rplain[6] == 1 and rplain[7:23] == X(i["new_ticket_id"])
    print("unlock_full.json: ECDH, HKDF, request decrypts, both signatures verify, result decrypts (granted)")
    return hello, rs, lock_id

def check_resume():
    v = load("unlock_resume.json"); i, o = v["inputs"], v["outputs"]
    _, rs, lock_id = check_full()
    fi = i["full_exchange"]
    tid = X(fi["new_ticket_id"])
    assert rs.hex() == o["resumption_secret"] and tid.hex() == o["ticket_id"]
    hello = (bytes([0x01, 0x01]) + lock_id + X(i["challenge"]) + i["lock_time"].to_bytes(4, "big")
             + bytes([i["time_status"]]))
    assert hello.hex() == o["hello"]
    okm = hkdf(X(i["challenge"]), rs, b"latchkey/resume/v1" + lock_id + tid, 80)
    mac_key, k_lp, nxt = okm[:32], okm[32:48], okm[48:]
    assert (mac_key.hex(), k_lp.hex(), nxt.hex()) == (o["mac_key"], o["k_lock_to_phone"], o["next_resumption_secret"])
    cmd = X(i["command"])
    mac = hmac.new(mac_key, b"latchkey/resume/v1" + hello + tid + cmd, hashlib.sha256).digest()[:16]
    assert (b"\x03" + tid + cmd + mac).hex() == o["request"]
    rplain = AESGCM(k_lp).decrypt(b"\x02" + bytes(11), X(o["result"])[1:], hello + b"\x04")
    assert rplain.hex() == o["result_plaintext"] and rplain[0] == 0
    assert rplain[7:23] == X(i["new_ticket_id"])
    print("unlock_resume.json: resume keys, MAC and result match")

def check_framing():
    v = load("framing.json"); i, o = v["inputs"], v["outputs"]
    msg = X(o["message"])
    for mtu in i["mtus"]:
        pay = mtu - 3
        pk = [bytes([0x80 | i["counter"]]) + len(msg).to_bytes(2, "big") + msg[:pay - 3]]
        rest, idx = msg[pay - 3:], 1
        while rest:
            pk.append(bytes([((idx % 8) << 4) | i["counter"]]) + rest[:pay - 1]); rest = rest[pay - 1:]; idx += 1
        assert [p.hex() for p in pk] == o[f"packets_mtu_{mtu}"], mtu
    print("framing.json: packets match at MTU", i["mtus"])

def sign_rfc6979(key, msg):
    """Deterministic ECDSA (RFC 6979) with low-S normalisation, as §2 prescribes: 64 bytes r || s."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
    s = min(s, N - s)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")

def check_signed(backend, msg, sig):
    verify(pub33(backend), msg, sig)
    assert sign_rfc6979(backend, msg) == sig, "signature is not the RFC 6979 low-S one"

def time_token(backend, lock_id, time):
    msg = b"latchkey/time/v1" + lock_id + time.to_bytes(4, "big")
    return msg, lock_id + time.to_bytes(4, "big") + sign_rfc6979(backend, msg)

def sync_entry(i, backend, lock_id, e):
    """One §23 entry, tag included, built from its inputs."""
    t, be = e["type"], lambda n, k: n.to_bytes(k, "big", signed=n < 0)
    if t == "AddAccess":
        return b"\x01" + X(e["user_id"]) + be(e["not_before"], 4) + be(e["not_after"], 4)
    if t == "RemoveAccess":
        return b"\x02" + X(e["user_id"])
    if t == "RevokeCredential":
        return b"\x03" + X(e["credential_id"])
    if t == "AddPermanentCode":  # §17: HMAC-SHA256(code_hash_key, label || lock_id || 7 ASCII digits)[:16]
        hsh = hmac.new(X(i["code_hash_key"]), b"latchkey/permanent-code/v1" + lock_id + e["code"].encode(),
                       hashlib.sha256).digest()[:16]
        return b"\x04" + X(e["id"]) + hsh + be(e["not_before"], 4) + be(e["not_after"], 4)
    if t == "RemovePermanentCode":
        return b"\x05" + X(e["id"])
    if t == "ZoneRule":  # §14: version 1 || count || (utc_start u32 || offset i32)*
        tr = e["transitions"]
        return b"\x06\x01" + bytes([len(tr)]) + b"".join(be(x["utc_start"], 4) + be(x["offset_seconds"], 4) for x in tr)
    if t == "TimeToken":
        return b"\x07" + time_token(backend, lock_id, e["time"])[1]
    if t == "LogAck":
        return b"\x08" + be(e["up_to_seq"], 8) + X(e["entry_mac"])
    if t == "DailySlotsIssued":  # §15: day i32 || kind (1 DAILY, 2 DAILY_SINGLE_USE) || issued u16 (<= 64)
        assert 0 <= e["issued"] <= 64
        return b"\x10" + be(e["day"], 4) + bytes([{"DAILY": 1, "DAILY_SINGLE_USE": 2}[e["kind"]]]) + be(e["issued"], 2)
    raise AssertionError(t)

def parse_delta(b):
    """Parses an encoded delta per §23 alone: header(30) || entries || signature(64)."""
    version, kind, lock_id = b[0], b[1], b[2:18]
    seq, count = int.from_bytes(b[18:26], "big"), int.from_bytes(b[26:30], "big")
    assert version == 1 and kind in (0, 1)
    fixed = {1: 24, 2: 16, 3: 16, 4: 40, 5: 16, 7: 84, 8: 24, 0x10: 7}
    entries, at = [], 30
    for _ in range(count):
        tag = b[at]
        n = 2 + 8 * b[at + 2] if tag == 6 else fixed[tag]
        entries.append(b[at:at + 1 + n]); at += 1 + n
    assert len(b) == at + 64, "trailing bytes"
    return kind, lock_id, seq, entries, b[:at], b[at:]

def check_sync():
    v = load("sync.json"); i, o = v["inputs"], v["outputs"]
    backend, lock_id = priv(i["backend_secret"]), X(i["lock_id"])
    assert pub33(backend).hex() == o["backend_public"]
    msg, tok = time_token(backend, lock_id, i["time_token"]["time"])
    ot = o["time_token"]
    assert msg.hex() == ot["signed_message"] and tok.hex() == ot["encoded"] and tok[20:].hex() == ot["signature"]
    enc = X(ot["encoded"])  # a lock: lock_id(16) || time u32 || signature(64), verified with the public key only
    verify(X(o["backend_public"]), b"latchkey/time/v1" + enc[:20], enc[20:])
    try:
        verify(X(o["backend_public"]), b"latchkey/time/v1" + enc[:19] + bytes([enc[19] ^ 1]), enc[20:])
        raise AssertionError("an altered time must not verify")
    except InvalidSignature:
        pass
    hashes = []
    for name in ("incremental", "snapshot"):
        d, od = i[name], o[name]
        entries = [sync_entry(i, backend, lock_id, e) for e in d["entries"]]
        hashes += [e[17:33].hex() for e in entries if e[0] == 4]
        header = bytes([1, d["kind"]]) + lock_id + d["seq"].to_bytes(8, "big") + len(entries).to_bytes(4, "big")
        body = header + b"".join(entries)
        assert header.hex() == od["header"] and [e.hex() for e in entries] == od["entries"]
        assert (b"latchkey/delta/v1" + body).hex() == od["signed_message"]
        sig = X(od["signature"])
        check_signed(backend, b"latchkey/delta/v1" + body, sig)
        assert (body + sig).hex() == od["encoded"]
        # Parse the published bytes back, as a lock would, and check what they say.
        kind, lid, seq, parsed, pbody, psig = parse_delta(X(od["encoded"]))
        assert (kind, lid, seq, pbody, psig) == (d["kind"], lock_id, d["seq"], body, sig)
        assert [e.hex() for e in parsed] == od["entries"]
        verify(pub33(backend), b"latchkey/delta/v1" + pbody, psig)
        for e in parsed:
            if e[0] == 1:
                assert int.from_bytes(e[17:21], "big") <= int.from_bytes(e[21:25], "big")
            if e[0] == 7:  # an embedded time token verifies on its own
                assert e[1:17] == lock_id
                verify(pub33(backend), b"latchkey/time/v1" + e[1:21], e[21:])
        print(f"sync.json: {name} delta (seq {seq}, {len(parsed)} entries, tags "
              f"{[e[0] for e in parsed]}) parses, encodes and its signature verifies")
    check_signed(backend, msg, X(ot["signature"]))
    assert hashes == o["permanent_code_hashes"]
    print("sync.json: time token encodes and its signature verifies; signatures are RFC 6979 low-S")

def sealed_log_batch(log_key, lock_id, hello, index, entries):
    # §24: key = HKDF(salt = hello, ikm = log_key, info = label || lock_id)[0..16]; nonce 0x03 || 0^3 || u64.
    key = hkdf(hello, log_key, b"latchkey/log-upload/v1" + lock_id, 16)
    nonce = bytes([3, 0, 0, 0]) + index.to_bytes(8, "big")
    return AESGCM(key).encrypt(nonce, len(entries).to_bytes(2, "big") + b"".join(entries), hello + index.to_bytes(4, "big"))

def sync_channel(i):
    """Every message of one sync, from the inputs only (docs/protocol.md §24)."""
    lock, eph = priv(i["lock_static_secret"]), priv(i["phone_ephemeral_secret"])
    lock_id, log_key = X(i["lock_id"]), X(i["log_key"])
    hello = (bytes([1, 1]) + lock_id + X(i["challenge"]) + i["lock_time"].to_bytes(4, "big")
             + bytes([i["time_status"]]))
    eph_pub = pub33(eph)
    ss = eph.exchange(ec.ECDH(), lock.public_key())
    assert ss == lock.exchange(ec.ECDH(), eph.public_key())
    k_sync = hkdf(hello, ss, b"latchkey/sync/v1" + lock_id + eph_pub, 16)
    token, delta = X(i["time_token"]), X(i["delta"])
    begin = bytes([0x10, 1, 1]) + token
    chunks, off, data_max = [], 0, 4096 - 10
    while off < len(delta):
        data = delta[off:off + data_max]
        chunks.append(bytes([0x11, 0]) + len(delta).to_bytes(4, "big") + off.to_bytes(4, "big") + data)
        off += len(data)
    end = bytes([0x12]) + eph_pub
    batch0 = sealed_log_batch(log_key, lock_id, hello, 0, [])
    batch1 = sealed_log_batch(log_key, lock_id, hello, 1, [])
    r = i["report"]
    outcomes = b""
    for seq, outcome in r["outcomes"]:
        outcomes += seq.to_bytes(8, "big") + bytes(outcome)
    report_plain = (r["last_applied_seq"].to_bytes(8, "big") + r["lock_time"].to_bytes(4, "big")
                    + bytes([r["time_status"], r["battery_percent"], len(r["outcomes"])]) + outcomes
                    + bytes([r["more_logs"]]) + batch0)
    nonce = lambda counter: bytes([2, 0, 0, 0]) + counter.to_bytes(8, "big")
    report = bytes([0x13]) + AESGCM(k_sync).encrypt(nonce(0), report_plain, bytes([0x13]))
    log_request = bytes([0x14]) + (1).to_bytes(4, "big")
    batch_plain = bytes([0]) + batch1
    log_batch = bytes([0x15]) + AESGCM(k_sync).encrypt(nonce(1), batch_plain, bytes([0x15]))
    return {
        "lock_static_public": pub33(lock).hex(), "phone_ephemeral_public": eph_pub.hex(), "hello": hello.hex(),
        "shared_secret": ss.hex(), "k_sync": k_sync.hex(), "sync_begin": begin.hex(),
        "delta_chunks": [c.hex() for c in chunks], "sync_end": end.hex(), "sealed_batch_0": batch0.hex(),
        "report_plaintext": report_plain.hex(), "sync_report": report.hex(), "log_request": log_request.hex(),
        "sealed_batch_1": batch1.hex(), "log_batch_plaintext": batch_plain.hex(), "log_batch": log_batch.hex(),
    }

SYNC_CHANNEL_INPUTS = {
    "lock_static_secret": "5a" * 32,
    "phone_ephemeral_secret": "0e" * 32,
    "lock_id": "6a1c8e52d3f04b7a9e215c3d7f80a1b2",
    "log_key": bytes(range(32)).hex(),
    "challenge": "c0ffee00112233445566778899aabbcc",
    "lock_time": 1795300000,
    "time_status": 0,
    "report": {"last_applied_seq": 7, "lock_time": 1795300004, "time_status": 0, "battery_percent": 87,
               # (seq, outcome bytes): 0 applied, 1 already applied, 2 || reason refused
               "outcomes": [[6, [1]], [7, [0]], [9, [2, 7]]], "more_logs": 1},
}

def write_sync_channel():
    sync = load("sync.json")["outputs"]
    inputs = dict(SYNC_CHANNEL_INPUTS, time_token=sync["time_token"]["encoded"],
                  delta=sync["snapshot"]["encoded"] + sync["incremental"]["encoded"] * 12)
    doc = {"note": "One sync over BLE (docs/protocol.md §24), computed with Python cryptography from the inputs: "
                   "the channel keys and every message. `delta` is opaque bytes to the chunking (the lock "
                   "verifies deltas, §23). Outcomes are [seq, outcome bytes].",
           "inputs": inputs, "outputs": sync_channel(inputs)}
    json.dump(doc, open(os.path.join(HERE, "sync_channel.json"), "w"), indent=2)
    open(os.path.join(HERE, "sync_channel.json"), "a").write("\n")

def check_sync_channel():
    v = load("sync_channel.json"); i, o = v["inputs"], v["outputs"]
    assert sync_channel(i) == o, "sync_channel.json does not re-derive"
    # An impostor (another static key) cannot seal a report that opens under the phone's k_sync.
    other = dict(i, lock_static_secret="6b" * 32)
    assert sync_channel(other)["sync_report"] != o["sync_report"]
    try:
        AESGCM(X(o["k_sync"])).decrypt(bytes([2]) + bytes(11), X(sync_channel(other)["sync_report"])[1:], bytes([0x13]))
        raise AssertionError("an impostor's report must not open")
    except Exception as e:
        assert type(e).__name__ == "InvalidTag", e
    print(f"sync_channel.json: k_sync, SyncBegin, {len(o['delta_chunks'])} DeltaChunks, SyncEnd, the sealed "
          "SyncReport, LogRequest and the sealed LogBatch re-derive; an impostor's report does not open")

if "--write-sync-channel" in sys.argv:
    write_sync_channel()
check_credential(); check_resume(); check_framing(); check_sync(); check_sync_channel()
print("all vectors verified independently")
