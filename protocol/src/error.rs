//! `ProtocolError`: the one error type of this crate.
//!
//! Every variant says what failed and never carries key material, plaintext or secrets. `Display` is written by
//! hand because the crate is `no_std` (no `thiserror`).

use core::fmt;

/// What went wrong while encoding, decoding, verifying or running a protocol step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// Input bytes do not follow the layout; `what` names the message or field.
    Malformed {
        /// The message or field that was malformed.
        what: &'static str,
    },
    /// A message or credential carries a version this implementation does not speak.
    UnsupportedVersion(u8),
    /// A public key is not a valid compressed SEC1 P-256 point.
    InvalidPublicKey,
    /// A secret key is zero or not below the P-256 group order.
    InvalidSecretKey,
    /// An ECDSA signature does not verify (or is not in low-S form).
    BadSignature,
    /// AEAD decryption failed: wrong key, wrong associated data or tampered ciphertext.
    DecryptFailed,
    /// A MAC did not verify.
    BadMac,
    /// A credential (or hello) names another lock.
    WrongLock,
    /// A credential's `not_before` is still in the future (beyond the allowed skew).
    NotYetValid,
    /// A credential's `not_after` has passed (beyond the allowed skew).
    Expired,
    /// A message arrived that the state machine does not expect in its current state.
    UnexpectedMessage {
        /// The message type byte that arrived.
        got: u8,
    },
    /// The session already finished (or failed); start a new one.
    SessionFinished,
    /// The lock aborted the exchange with an unauthenticated reason code (see `unlock::AbortReason`).
    LockAborted(u8),
    /// An ATT MTU outside 23..=517.
    InvalidMtu(u16),
    /// A message (or announced total length) larger than `framing::MAX_MESSAGE`, or empty.
    MessageSize(usize),
    /// A fragment that does not fit: too long for the MTU, past the announced total, or empty.
    FragmentSize(usize),
    /// A fragment out of order: continuation without a first fragment, a new first fragment mid-message,
    /// a skipped or repeated fragment, or a message counter that is not the next one.
    FragmentOrder,
    /// The device signer (platform keystore) failed to sign.
    SignerFailed,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Malformed { what } => write!(f, "malformed {what}"),
            ProtocolError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            ProtocolError::InvalidPublicKey => f.write_str("invalid P-256 public key"),
            ProtocolError::InvalidSecretKey => f.write_str("invalid P-256 secret key"),
            ProtocolError::BadSignature => f.write_str("signature does not verify"),
            ProtocolError::DecryptFailed => f.write_str("decryption failed (wrong key or tampered message)"),
            ProtocolError::BadMac => f.write_str("MAC does not verify"),
            ProtocolError::WrongLock => f.write_str("credential or hello is for another lock"),
            ProtocolError::NotYetValid => f.write_str("credential is not yet valid"),
            ProtocolError::Expired => f.write_str("credential has expired"),
            ProtocolError::UnexpectedMessage { got } => write!(f, "unexpected message type 0x{got:02x}"),
            ProtocolError::SessionFinished => f.write_str("session already finished"),
            ProtocolError::LockAborted(r) => write!(f, "lock aborted the exchange (reason 0x{r:02x})"),
            ProtocolError::InvalidMtu(m) => write!(f, "ATT MTU {m} outside 23..=517"),
            ProtocolError::MessageSize(n) => write!(f, "message size {n} outside 1..=MAX_MESSAGE"),
            ProtocolError::FragmentSize(n) => write!(f, "fragment of {n} bytes does not fit"),
            ProtocolError::FragmentOrder => f.write_str("fragment out of order, duplicated or missing"),
            ProtocolError::SignerFailed => f.write_str("device signer failed"),
        }
    }
}

impl core::error::Error for ProtocolError {}
