//! The sync channel: what the lock tells the phone during a sync, sealed under a key only the real lock can
//! derive, so a device that merely advertises the lock's id cannot tell the phone anything it will believe.
//!
//! The phone sends a fresh ephemeral key `e` in SyncEnd; the lock answers with its static key `S` (the one
//! the backend lists, the one the unlock exchange uses):
//!
//! ```text
//! ss     = ECDH(e, S).x                                                              32 bytes
//! k_sync = HKDF-SHA256(salt = hello (39 bytes), ikm = ss,
//!                      info = "latchkey/sync/v1" || lock_id || eph_pub)              16 bytes
//! SyncReport = 0x13 || AES-128-GCM(k_sync, nonce(0x02, 0),           aad = 0x13, report plaintext)
//! LogBatch   = 0x15 || AES-128-GCM(k_sync, nonce(0x02, batch_index), aad = 0x15, batch plaintext)
//! ```
//!
//! The report takes counter 0 and LogBatch `i` (i ≥ 1) counter `i`, so no (key, nonce) pair seals two
//! messages. The hello salts the key (its challenge is fresh per connection) and the phone's key is fresh
//! per sync, so a recorded report is useless on another connection. See docs/protocol.md §24.

use alloc::vec::Vec;
use zeroize::Zeroize;

use crate::ProtocolError;
use crate::crypto::{AEAD_KEY_LEN, AeadKey, DhSecret, Direction, PublicKey, ct_eq, hkdf_sha256};
use crate::framing::MAX_MESSAGE;
use crate::unlock::{HELLO_LEN, Hello};

use super::messages::{LogBatch, SyncReport, TYPE_LOG_BATCH, TYPE_SYNC_REPORT, malformed};

/// HKDF info label of the sync channel key (followed by the lock id and the phone's ephemeral key).
pub const SYNC_LABEL: &[u8] = b"latchkey/sync/v1";

/// The lock → phone key of one sync. `Debug` hides the key.
#[derive(Debug)]
pub struct SyncChannel {
    key: AeadKey,
}

/// `k_sync` from the ECDH secret; exposed for test vectors. The hello must be 39 bytes naming `lock_id`.
pub fn sync_channel_key(
    hello: &[u8],
    shared: &[u8; 32],
    lock_id: &[u8; 16],
    phone_key: &PublicKey,
) -> Result<AeadKey, ProtocolError> {
    if hello.len() != HELLO_LEN {
        return Err(malformed("hello length"));
    }
    if !ct_eq(&Hello::decode(hello)?.lock_id, lock_id) {
        return Err(ProtocolError::WrongLock);
    }
    let mut key = [0u8; AEAD_KEY_LEN];
    hkdf_sha256(hello, shared, &[SYNC_LABEL, lock_id, &phone_key.to_bytes()], &mut key)?;
    let out = AeadKey::from_bytes(key);
    key.zeroize();
    Ok(out)
}

impl SyncChannel {
    /// The phone's side: its ephemeral key (whose public half went in SyncEnd) and the lock's static public
    /// key as the backend listed it.
    pub fn phone(
        ephemeral: &DhSecret,
        lock_static: &PublicKey,
        lock_id: &[u8; 16],
        hello: &[u8],
    ) -> Result<SyncChannel, ProtocolError> {
        let shared = ephemeral.agree(lock_static);
        Ok(SyncChannel { key: sync_channel_key(hello, shared.as_bytes(), lock_id, &ephemeral.public_key())? })
    }

    /// The lock's side: its static key and the phone's key from SyncEnd.
    pub fn lock(
        static_key: &DhSecret,
        phone_key: &PublicKey,
        lock_id: &[u8; 16],
        hello: &[u8],
    ) -> Result<SyncChannel, ProtocolError> {
        let shared = static_key.agree(phone_key);
        Ok(SyncChannel { key: sync_channel_key(hello, shared.as_bytes(), lock_id, phone_key)? })
    }

    fn seal(&self, ty: u8, counter: u64, plaintext: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let sealed = self.key.seal(Direction::LockToPhone, counter, &[ty], plaintext)?;
        let mut out = Vec::with_capacity(1 + sealed.len());
        out.push(ty);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, ty: u8, counter: u64, message: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        match message {
            [] => Err(ProtocolError::MessageSize(0)),
            _ if message.len() > MAX_MESSAGE => Err(ProtocolError::MessageSize(message.len())),
            [got, sealed @ ..] if *got == ty => self.key.open(Direction::LockToPhone, counter, &[ty], sealed),
            [got, ..] => Err(ProtocolError::UnexpectedMessage { got: *got }),
        }
    }

    /// The lock seals its report (counter 0) into the `0x13` message.
    pub fn seal_report(&self, report: &SyncReport) -> Result<Vec<u8>, ProtocolError> {
        self.seal(TYPE_SYNC_REPORT, 0, &report.encode_plaintext())
    }

    /// The phone opens the `0x13` message: [`ProtocolError::DecryptFailed`] unless the lock holding the
    /// static key sealed it on this connection for this phone key.
    pub fn open_report(&self, message: &[u8]) -> Result<SyncReport, ProtocolError> {
        SyncReport::decode_plaintext(&self.open(TYPE_SYNC_REPORT, 0, message)?)
    }

    /// The lock seals LogBatch `batch_index` (≥ 1; the report is 0) into the `0x15` message.
    pub fn seal_log_batch_message(
        &self,
        batch_index: u32,
        batch: &LogBatch,
    ) -> Result<Vec<u8>, ProtocolError> {
        if batch_index == 0 {
            return Err(malformed("log batch index 0 travels in the report"));
        }
        self.seal(TYPE_LOG_BATCH, batch_index.into(), &batch.encode_plaintext())
    }

    /// The phone opens LogBatch `batch_index` (the index it asked for).
    pub fn open_log_batch_message(
        &self,
        batch_index: u32,
        message: &[u8],
    ) -> Result<LogBatch, ProtocolError> {
        if batch_index == 0 {
            return Err(malformed("log batch index 0 travels in the report"));
        }
        LogBatch::decode_plaintext(&self.open(TYPE_LOG_BATCH, batch_index.into(), message)?)
    }
}
