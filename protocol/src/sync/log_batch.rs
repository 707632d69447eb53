//! Sealed log batches: the lock's event-log entries sealed for the backend, so the phone that carries them
//! cannot read them. See docs/protocol.md §24.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use alloc::vec::Vec;
use zeroize::Zeroize;

use crate::ProtocolError;
use crate::crypto::{self, AEAD_KEY_LEN};
use crate::eventlog::{ENTRY_LEN, Entry};
use crate::unlock::{HELLO_LEN, Hello};

use super::messages::{MAX_LOG_ENTRIES_PER_BATCH, check_sealed_len, malformed};

/// HKDF info label of the log-upload key (followed by the lock id).
pub const LOG_UPLOAD_LABEL: &[u8] = b"latchkey/log-upload/v1";
/// Nonce direction byte of a sealed log batch (distinct from the session directions 0x01 and 0x02).
pub const LOG_UPLOAD_DIRECTION: u8 = 0x03;

/// Checks the hello is 39 well-formed bytes naming `lock_id`.
fn check_hello(lock_id: &[u8; 16], hello: &[u8]) -> Result<(), ProtocolError> {
    if hello.len() != HELLO_LEN {
        return Err(malformed("hello length"));
    }
    let parsed = Hello::decode(hello)?;
    if !crypto::ct_eq(&parsed.lock_id, lock_id) {
        return Err(ProtocolError::WrongLock);
    }
    Ok(())
}

/// The batch key: `HKDF-SHA256(salt = hello, ikm = log_key, info = "latchkey/log-upload/v1" || lock_id)`,
/// 16 bytes. Exposed for test vectors and the backend; the hello must be 39 bytes naming `lock_id`.
pub fn log_batch_key(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
) -> Result<[u8; AEAD_KEY_LEN], ProtocolError> {
    check_hello(lock_id, hello)?;
    let mut key = [0u8; AEAD_KEY_LEN];
    crypto::hkdf_sha256(hello, log_key, &[LOG_UPLOAD_LABEL, lock_id], &mut key)?;
    Ok(key)
}

fn batch_cipher_parts(batch_index: u32, hello: &[u8]) -> ([u8; 12], Vec<u8>) {
    let mut nonce = [0u8; 12];
    nonce[0] = LOG_UPLOAD_DIRECTION;
    nonce[4..].copy_from_slice(&u64::from(batch_index).to_be_bytes());
    let mut aad = Vec::with_capacity(hello.len() + 4);
    aad.extend_from_slice(hello);
    aad.extend_from_slice(&batch_index.to_be_bytes());
    (nonce, aad)
}

/// Seals up to [`MAX_LOG_ENTRIES_PER_BATCH`] entries for the backend: AES-128-GCM under
/// [`log_batch_key`], nonce `0x03 || 00 00 00 || batch_index u64`, AAD `hello || batch_index u32`,
/// plaintext `entry_count u16 || entries (64 bytes each)`. The lock MUST seal each batch index at most
/// once per connection (the key is per hello), so a nonce never covers two different plaintexts.
pub fn seal_log_batch(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
    batch_index: u32,
    entries: &[Entry],
) -> Result<Vec<u8>, ProtocolError> {
    if entries.len() > MAX_LOG_ENTRIES_PER_BATCH {
        return Err(malformed("log batch entry count"));
    }
    let mut key = log_batch_key(log_key, lock_id, hello)?;
    let cipher = Aes128Gcm::new(&key.into());
    key.zeroize();
    let (nonce, aad) = batch_cipher_parts(batch_index, hello);
    let mut plaintext = Vec::with_capacity(2 + entries.len() * ENTRY_LEN);
    // entries.len() <= 56 fits a u16.
    plaintext.extend_from_slice(&u16::try_from(entries.len()).unwrap_or(u16::MAX).to_be_bytes());
    for e in entries {
        plaintext.extend_from_slice(&e.encode());
    }
    cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: &plaintext, aad: &aad })
        .map_err(|_| malformed("AEAD plaintext length"))
}

/// Opens a sealed batch (the backend, or a test): authenticates it for this log key, lock, hello and
/// batch index, then parses the entries. Does not verify the entry chain: that is
/// `eventlog::verify_chain`'s job, against what the backend already holds.
pub fn open_log_batch(
    log_key: &[u8; 32],
    lock_id: &[u8; 16],
    hello: &[u8],
    batch_index: u32,
    sealed: &[u8],
) -> Result<Vec<Entry>, ProtocolError> {
    check_sealed_len(sealed)?;
    let mut key = log_batch_key(log_key, lock_id, hello)?;
    let cipher = Aes128Gcm::new(&key.into());
    key.zeroize();
    let (nonce, aad) = batch_cipher_parts(batch_index, hello);
    let plaintext = cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad })
        .map_err(|_| ProtocolError::DecryptFailed)?;
    let (count, body) = match plaintext.as_slice() {
        [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
        _ => return Err(malformed("log batch")),
    };
    if count > MAX_LOG_ENTRIES_PER_BATCH || body.len() != count * ENTRY_LEN {
        return Err(malformed("log batch entry count"));
    }
    body.chunks_exact(ENTRY_LEN).map(|c| Entry::decode(c).map_err(|_| malformed("log entry"))).collect()
}
