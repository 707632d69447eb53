//! The lock side of an unlock: `LockSession::handle` on whatever the phone (or an attacker) sends, and
//! every request decoder on the same bytes.
//!
//! Input: a selector byte (which session: the full vector's or the resume vector's, whose ticket the lock
//! holds), then length-prefixed messages fed to one session. Asserts: the lock carries out a command only
//! for the genuine request of that session (no forged, replayed or altered request ever opens the door);
//! every reply is a non-empty message; the decoders round-trip (decode → encode gives the same bytes).
#![no_main]

use latchkey_fuzz::{messages, vectors};
use latchkey_protocol::credential::Credential;
use latchkey_protocol::unlock::{
    AbortReason, Command, FullRequest, Hello, RequestBody, ResultBody, ResumeRequest,
};
use libfuzzer_sys::fuzz_target;

fn never_revoked(_: &[u8; 16], _: &[u8; 16]) -> bool {
    false
}

fn decoders_round_trip(m: &[u8]) {
    if let Ok(r) = ResumeRequest::decode(m) {
        assert_eq!(r.encode(), m, "ResumeRequest round trip");
    }
    if let Ok(b) = RequestBody::decode(m) {
        assert_eq!(b.encode(), m, "RequestBody round trip");
    }
    if let Ok(c) = Command::decode(m) {
        assert_eq!(c.encode(), m, "Command round trip");
    }
    if let Ok(c) = Credential::decode(m) {
        assert_eq!(c.encode(), m, "Credential round trip");
    }
    if let Ok(f) = FullRequest::decode(m) {
        assert_eq!(f.eph_pub.to_bytes()[..], m[1..34], "FullRequest keeps the key bytes");
        assert_eq!(f.sealed, &m[34..]);
    }
    if let Ok(h) = Hello::decode(m) {
        assert_eq!(h.encode()[..], m[..], "Hello round trip");
    }
    if let Ok(r) = ResultBody::decode(m) {
        assert_eq!(r.encode(), m, "ResultBody round trip");
    }
    if let [reason] = m
        && let Ok(a) = AbortReason::from_byte(*reason)
    {
        assert_eq!(a.byte(), *reason);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let u = vectors::unlock();
    let exchange = if selector & 1 == 0 { &u.full } else { &u.resume };
    let mut tickets = u.tickets();
    let mut session = exchange.session(u.lock.lock_id);
    for m in messages(rest).into_iter().take(4) {
        decoders_round_trip(m);
        let reply = session.handle(&u.lock, m, exchange.now, &never_revoked, &mut tickets);
        assert!(!reply.message.is_empty(), "the lock always answers something");
        if reply.action.is_some() {
            assert_eq!(m, &exchange.request[..], "the lock obeyed a request that is not the genuine one");
        }
    }
});
