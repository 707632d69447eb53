#!/usr/bin/env python3
"""Independent check of the Latchkey protocol vectors with pyca/cryptography (not part of the Rust test suite).

Re-derives, from each file's `inputs` only: public keys, the credential signature (verify), ECDH, HKDF, both
AES-128-GCM messages of the full unlock, the device signature (verify), the resume MAC and keys, the resume
result, and the framing packets. Run: python3 protocol/tests/vectors/check_vectors.py
"""
import hashlib, hmac, json, os, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import serialization

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

check_credential(); check_resume(); check_framing()
print("all vectors verified independently")
