//! The phone side of an unlock: `PhoneUnlock::handle` on whatever a lock (or an impostor) notifies: Hello,
//! sealed results and aborts; and the decoders of those messages.
//!
//! Input: a selector byte (full path, or resume path with the vector's ticket), then length-prefixed
//! messages from the "lock". Asserts: the phone reports an outcome only for the genuine Hello followed by
//! the genuine sealed result of that exchange (an impostor can never make the phone believe a door
//! opened); Hello and result bodies round-trip.
#![no_main]

use latchkey_fuzz::{messages, vectors};
use latchkey_protocol::unlock::{Hello, PhoneStep, PhoneUnlock, ResultBody, ResultCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let u = vectors::unlock();
    let resume = selector & 1 == 1;
    let exchange = if resume { &u.resume } else { &u.full };
    let mut phone = PhoneUnlock::new(u.phone_params(resume));
    let msgs = messages(rest);
    for (i, m) in msgs.iter().enumerate().take(4) {
        if let Ok(h) = Hello::decode(m) {
            assert_eq!(h.encode()[..], m[..], "Hello round trip");
        }
        if let Ok(r) = ResultBody::decode(m) {
            assert_eq!(r.encode(), *m, "ResultBody round trip");
        }
        match phone.handle(m, &u.device) {
            Ok(PhoneStep::Send(request)) => assert!(!request.is_empty()),
            Ok(PhoneStep::Done(outcome)) => {
                assert_eq!(msgs[0], &exchange.hello[..], "outcome after a forged hello");
                assert_eq!(i, 1, "outcome without the one round trip");
                assert_eq!(*m, &exchange.result[..], "the phone accepted a result the lock did not seal");
                assert_eq!(outcome.result, ResultCode::Granted);
                return;
            }
            Err(_) => {}
        }
    }
});
