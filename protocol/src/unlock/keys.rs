//! The key schedule of the unlock exchange: what is derived from what, with which labels.
//!
//! Full handshake (phone ephemeral `e`, lock static `S`, 16-byte challenge from `Hello`):
//!
//! ```text
//! ss   = ECDH(e, S).x                                                     32 bytes
//! okm  = HKDF-SHA256(salt = challenge, ikm = ss,
//!                    info = "latchkey/unlock/v1" || lock_id || eph_pub)   64 bytes
//! k_pl = okm[0..16]    AES-128-GCM key, phone → lock
//! k_lp = okm[16..32]   AES-128-GCM key, lock → phone
//! rs   = okm[32..64]   resumption secret (stored with the ticket, if one is issued)
//! ```
//!
//! Resume (ticket `t` holding resumption secret `rs`, new challenge):
//!
//! ```text
//! okm     = HKDF-SHA256(salt = challenge, ikm = rs,
//!                       info = "latchkey/resume/v1" || lock_id || ticket_id)   80 bytes
//! mac_key = okm[0..32]    HMAC key for the resume request
//! k_lp    = okm[32..48]   AES-128-GCM key, lock → phone
//! rs'     = okm[48..80]   resumption secret of the rotated ticket
//! ```

use zeroize::Zeroize;

use crate::ProtocolError;
use crate::crypto::{AeadKey, hkdf_sha256};

/// Label of the full handshake (HKDF info prefix, device signature prefix, and no other use).
pub const UNLOCK_LABEL: &[u8] = b"latchkey/unlock/v1";
/// Label of the resume fast path (HKDF info prefix and MAC prefix).
pub const RESUME_LABEL: &[u8] = b"latchkey/resume/v1";

/// A 32-byte resumption secret. Zeroized on drop; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ResumptionSecret(pub(crate) [u8; 32]);

impl ResumptionSecret {
    /// Wraps stored bytes (a phone restoring its ticket cache).
    pub fn from_bytes(bytes: [u8; 32]) -> ResumptionSecret {
        ResumptionSecret(bytes)
    }

    /// The raw bytes, for the phone to store in its keystore-protected cache and for test vectors.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for ResumptionSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for ResumptionSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ResumptionSecret(..)")
    }
}

/// Keys of a full handshake.
#[derive(Debug)]
pub struct FullKeys {
    /// Phone → lock AEAD key.
    pub phone_to_lock: AeadKey,
    /// Lock → phone AEAD key.
    pub lock_to_phone: AeadKey,
    /// Resumption secret for a ticket.
    pub resumption: ResumptionSecret,
}

/// Keys of a resume.
#[derive(Debug)]
pub struct ResumeKeys {
    /// HMAC key of the resume request.
    pub mac_key: ResumptionSecret,
    /// Lock → phone AEAD key.
    pub lock_to_phone: AeadKey,
    /// Resumption secret of the rotated ticket.
    pub next_resumption: ResumptionSecret,
}

fn split16(okm: &[u8], at: usize) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(&okm[at..at + 16]);
    k
}

fn split32(okm: &[u8], at: usize) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(&okm[at..at + 32]);
    k
}

/// Derives the full-handshake keys from the ECDH secret.
pub fn full_keys(
    challenge: &[u8; 16],
    shared: &[u8; 32],
    lock_id: &[u8; 16],
    eph_pub: &[u8; 33],
) -> Result<FullKeys, ProtocolError> {
    let mut okm = [0u8; 64];
    hkdf_sha256(challenge, shared, &[UNLOCK_LABEL, lock_id, eph_pub], &mut okm)?;
    let keys = FullKeys {
        phone_to_lock: AeadKey::from_bytes(split16(&okm, 0)),
        lock_to_phone: AeadKey::from_bytes(split16(&okm, 16)),
        resumption: ResumptionSecret(split32(&okm, 32)),
    };
    okm.zeroize();
    Ok(keys)
}

/// Derives the resume keys from a ticket's resumption secret.
pub fn resume_keys(
    challenge: &[u8; 16],
    secret: &ResumptionSecret,
    lock_id: &[u8; 16],
    ticket_id: &[u8; 16],
) -> Result<ResumeKeys, ProtocolError> {
    let mut okm = [0u8; 80];
    hkdf_sha256(challenge, &secret.0, &[RESUME_LABEL, lock_id, ticket_id], &mut okm)?;
    let keys = ResumeKeys {
        mac_key: ResumptionSecret(split32(&okm, 0)),
        lock_to_phone: AeadKey::from_bytes(split16(&okm, 32)),
        next_resumption: ResumptionSecret(split32(&okm, 48)),
    };
    okm.zeroize();
    Ok(keys)
}

/// The resume MAC: HMAC-SHA256(mac_key, "latchkey/resume/v1" || hello || ticket_id || command)[..16].
pub fn resume_mac(
    mac_key: &ResumptionSecret,
    hello: &[u8],
    ticket_id: &[u8; 16],
    command: &[u8],
) -> [u8; 16] {
    let tag = crate::crypto::hmac_sha256(&mac_key.0, &[RESUME_LABEL, hello, ticket_id, command]);
    split16(&tag, 0)
}
