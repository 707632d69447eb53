//! Credential decoding and verification (a lock reads credentials out of every full request).
//!
//! Input: raw bytes. Asserts: decode → encode round-trips; the signature verifies only for the genuine
//! credential's exact bytes (no other encoding, no malleated signature, no changed field passes).
#![no_main]

use latchkey_fuzz::vectors;
use latchkey_protocol::credential::{Credential, SKEW_SECS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(credential) = Credential::decode(data) else { return };
    assert_eq!(credential.encode()[..], data[..], "Credential round trip");
    let u = vectors::unlock();
    if credential.verify_signature(&u.lock.backend_key).is_ok() {
        assert_eq!(credential, u.credential, "a credential the backend never signed verifies");
    }
    let _ = credential.verify(&u.lock.backend_key, &u.lock.lock_id, u.full.now, SKEW_SECS);
});
