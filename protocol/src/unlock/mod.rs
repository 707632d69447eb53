//! The BLE unlock exchange: one application round trip after the phone subscribes, plus a resumption fast path.
//!
//! ```text
//! lock → phone   Hello           version, lock_id, challenge, lock time + status           (plaintext)
//! phone → lock   UnlockRequest   full:   eph_pub, AEAD{credential, device signature, command}
//!                                resume: ticket_id, command, MAC
//! lock → phone   UnlockResult    AEAD{result, lock time + status, next ticket}
//! ```
//!
//! The full path is Noise-NK-like: the phone knows the lock's static public key from the backend, so the
//! credential (who the user is) is encrypted to the real lock only, and only the real lock can seal a result
//! the phone accepts. Modules: `messages` (byte layouts), `keys` (key schedule), `tickets` (the lock's
//! resumption table), `lock` and `phone` (the two sans-IO state machines). `docs/protocol.md` is normative.

mod keys;
mod lock;
mod messages;
mod phone;
mod tickets;

#[cfg(test)]
mod tests;

pub use keys::{
    FullKeys, RESUME_LABEL, ResumeKeys, ResumptionSecret, UNLOCK_LABEL, full_keys, resume_keys, resume_mac,
};
pub use lock::{
    CHALLENGE_VALIDITY_MS, EventOutcome, LockIdentity, LockRandom, LockReply, LockSession, RevocationCheck,
    UnlockEvent,
};
pub use messages::{
    AbortReason, Command, FULL_REQUEST_MAX, FULL_REQUEST_MIN, FullRequest, HELLO_LEN, Hello, MAX_COMMAND_LEN,
    RESUME_MAC_LEN, RequestBody, ResultBody, ResultCode, ResumeRequest, TICKET_ID_LEN, TYPE_ABORT,
    TYPE_FULL_REQUEST, TYPE_HELLO, TYPE_RESULT, TYPE_RESUME_REQUEST, TicketInfo, TimeStatus, VERSION,
};
pub use phone::{DeviceSigner, PhoneOutcome, PhoneStep, PhoneTicket, PhoneUnlock, PhoneUnlockParams};
pub use tickets::{TICKET_CAPACITY, TICKET_LIFETIME, TicketEntry, TicketTable};

/// Which path an exchange took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// Full handshake: ECDH, credential, device signature.
    Full,
    /// Resumption with a ticket from an earlier full handshake.
    Resume,
}
