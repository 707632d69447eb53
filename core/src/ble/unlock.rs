//! The unlock flow: one connection, one application round trip after the lock's `Hello` (two when a
//! refused resumption ticket falls back to the full handshake on the same connection).
//!
//! Everything that can be done without the lock is done before connecting: the credential and the lock's
//! key are parsed, and the ephemeral key is drawn and its public half computed. The state machine is the
//! protocol's [`PhoneUnlock`]; this module only moves its messages and turns its results into
//! [`UnlockOutcome`] or a typed [`UnlockError`].

use latchkey_protocol::ProtocolError;
use latchkey_protocol::credential::Credential;
use latchkey_protocol::crypto::{DhSecret, PUBLIC_KEY_LEN, PublicKey, SECRET_KEY_LEN};
use latchkey_protocol::unlock::{
    AbortReason, Command, Path, PhoneStep, PhoneTicket, PhoneUnlock, PhoneUnlockParams, ResultCode,
    TimeStatus,
};
use rand::TryRngCore;
use rand::rngs::OsRng;

use super::flow::{Exchange, FlowError};
use super::signer::{Signer, SignerAdapter, SignerError};
use super::timeouts::Timeouts;
use super::transport::{LinkStats, Transport, TransportError};

/// What the phone must know of a lock to unlock it (from the backend's lock list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockKeys {
    /// The door id the lock advertises.
    pub lock_id: [u8; 16],
    /// The lock's static public key, 33-byte compressed SEC1.
    pub lock_public_key: [u8; PUBLIC_KEY_LEN],
}

/// One unlock to perform.
#[derive(Clone, Debug)]
pub struct UnlockRequest {
    /// The lock.
    pub lock: LockKeys,
    /// The backend-signed credential for this lock (156 bytes), as the backend delivered it.
    pub credential: Vec<u8>,
    /// What to ask for (usually [`Command::Unlock`]).
    pub command: Command,
    /// The resumption ticket of the last visit, if any. It is spent by this attempt whatever happens:
    /// store the ticket of the outcome (or of the denial) instead.
    pub ticket: Option<PhoneTicket>,
}

/// A granted unlock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockOutcome {
    /// The lock's clock, unix seconds (authenticated by the lock).
    pub lock_time: u32,
    /// Whether the lock trusts its clock ([`TimeStatus::Uncertain`] asks for a sync with a time token).
    pub time_status: TimeStatus,
    /// The ticket for the next visit (store it; the old one is spent).
    pub next_ticket: Option<PhoneTicket>,
    /// Which path the exchange took: [`Path::Resume`] when the ticket was accepted.
    pub path: Path,
    /// What the link carried (round trips after `Hello`: 1, or 2 after a refused ticket).
    pub stats: LinkStats,
}

/// Why the lock refused a credential it could read (the answer was sealed by the real lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DenyReason {
    /// The credential's window has passed.
    #[error("the access has expired")]
    Expired,
    /// The credential's window has not begun.
    #[error("the access is not valid yet")]
    NotYetValid,
    /// The credential is for another door.
    #[error("the access is for another door")]
    WrongLock,
    /// The credential or its user was revoked.
    #[error("the access was revoked")]
    Revoked,
    /// The credential was not signed by the backend this lock trusts.
    #[error("the lock does not recognise the credential: refresh the access")]
    BadCredential,
    /// The device signature did not match the credential's device key.
    #[error("the credential belongs to another device key: register this device again")]
    WrongDevice,
    /// The command needs a privileged credential.
    #[error("this access may not send that command")]
    NotPermitted,
    /// The lock refuses attempts for now.
    #[error("the lock refuses attempts for now: wait and try again")]
    Throttled,
    /// The lock could not read the request.
    #[error("the lock could not read the request")]
    Malformed,
    /// The credential's version is not supported by this lock.
    #[error("the lock does not support this credential version: update the lock")]
    UnsupportedVersion,
}

impl DenyReason {
    fn from_code(code: ResultCode) -> Option<DenyReason> {
        Some(match code {
            ResultCode::Granted => return None,
            ResultCode::Expired => DenyReason::Expired,
            ResultCode::NotYetValid => DenyReason::NotYetValid,
            ResultCode::WrongLock => DenyReason::WrongLock,
            ResultCode::Revoked => DenyReason::Revoked,
            ResultCode::BadCredentialSignature => DenyReason::BadCredential,
            ResultCode::BadDeviceSignature => DenyReason::WrongDevice,
            ResultCode::NotPermitted => DenyReason::NotPermitted,
            ResultCode::Throttled => DenyReason::Throttled,
            ResultCode::Malformed => DenyReason::Malformed,
            ResultCode::UnsupportedVersion => DenyReason::UnsupportedVersion,
        })
    }
}

/// Why an unlock failed. The texts say what to do; none carries key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// Bluetooth failed, the lock was out of reach, or a step timed out.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The lock read the credential and refused it.
    #[error("the lock refused: {reason}")]
    Denied {
        /// Why.
        reason: DenyReason,
        /// The lock's clock when it decided (useful when the reason is about time).
        lock_time: u32,
        /// Whether the lock trusts that clock.
        time_status: TimeStatus,
        /// A ticket the lock issued anyway (only for [`DenyReason::NotPermitted`]); store it.
        next_ticket: Option<PhoneTicket>,
    },
    /// The lock ended the exchange without a sealed answer (unauthenticated, so informational).
    #[error("the lock aborted the exchange: {}", abort_words(*.reason))]
    LockAborted {
        /// The lock's reason code.
        reason: AbortReason,
    },
    /// The exchange broke the protocol: a forged or wrong lock, a garbled message, bad local data.
    #[error("unlock failed: {what}")]
    Protocol {
        /// What went wrong, in words.
        what: String,
    },
    /// The device key could not sign.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

fn abort_words(reason: AbortReason) -> &'static str {
    match reason {
        AbortReason::Malformed => "it could not parse the request",
        AbortReason::DecryptFailed => "it could not decrypt the request (is the lock's key up to date?)",
        AbortReason::UnknownTicket => "it did not know the resumption ticket",
        AbortReason::BadTicketMac => "the resumption ticket did not verify",
        AbortReason::UnexpectedMessage => "it did not expect that message",
        AbortReason::ChallengeExpired => "the request came too late after connecting (try again)",
    }
}

fn protocol(what: impl Into<String>) -> UnlockError {
    UnlockError::Protocol { what: what.into() }
}

impl From<FlowError> for UnlockError {
    fn from(e: FlowError) -> UnlockError {
        match e {
            FlowError::Transport(t) => UnlockError::Transport(t),
            FlowError::Framing(p) => protocol(format!("the lock's message was badly framed ({p})")),
        }
    }
}

fn from_protocol(e: ProtocolError, signer: &SignerAdapter<'_>) -> UnlockError {
    match e {
        ProtocolError::SignerFailed => match signer.take_error() {
            Some(s) => UnlockError::Signer(s),
            None => UnlockError::Signer(SignerError::Keystore("the device signer failed".into())),
        },
        ProtocolError::LockAborted(byte) => match AbortReason::from_byte(byte) {
            Ok(reason) => UnlockError::LockAborted { reason },
            Err(_) => protocol(format!("the lock aborted with an unknown reason 0x{byte:02x}")),
        },
        ProtocolError::DecryptFailed => {
            protocol("the lock failed to prove it holds the lock's key (forged lock or tampered answer)")
        }
        ProtocolError::WrongLock => protocol("another lock answered"),
        ProtocolError::UnsupportedVersion(v) => protocol(format!("the lock speaks protocol version {v}")),
        other => protocol(format!("the lock's answer was not understood ({other})")),
    }
}

/// A fresh ephemeral key from the operating system's random generator.
pub(super) fn ephemeral() -> Result<DhSecret, UnlockError> {
    loop {
        let mut bytes = [0u8; SECRET_KEY_LEN];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| UnlockError::Signer(SignerError::Randomness(e.to_string())))?;
        if let Ok(key) = DhSecret::from_bytes(&bytes) {
            return Ok(key);
        }
    }
}

/// Unlocks (or sends `request.command` to) one lock over `transport`.
///
/// `Ok` means the lock carried out the command. The connection is always closed before returning.
pub async fn unlock(
    transport: &dyn Transport,
    request: UnlockRequest,
    signer: &dyn Signer,
    timeouts: &Timeouts,
) -> Result<UnlockOutcome, UnlockError> {
    let credential = Credential::decode(&request.credential)
        .map_err(|e| protocol(format!("the stored credential is unreadable ({e}): refresh the access")))?;
    let lock_static_pub = PublicKey::from_bytes(&request.lock.lock_public_key)
        .map_err(|_| protocol("the stored lock key is invalid: refresh the lock list"))?;
    let lock_id = request.lock.lock_id;
    let params = PhoneUnlockParams {
        lock_id,
        lock_static_pub,
        credential,
        command: request.command,
        ephemeral: ephemeral()?,
        ticket: request.ticket,
    };
    let mut phone = PhoneUnlock::new(params);
    let mut exchange = Exchange::open(transport, lock_id, timeouts).await?;
    let result = run(&mut exchange, &mut phone, signer).await;
    let stats = exchange.close().await;
    let outcome = result?;
    match DenyReason::from_code(outcome.result) {
        None => Ok(UnlockOutcome {
            lock_time: outcome.lock_time,
            time_status: outcome.time_status,
            next_ticket: outcome.ticket,
            path: outcome.path,
            stats,
        }),
        Some(reason) => Err(UnlockError::Denied {
            reason,
            lock_time: outcome.lock_time,
            time_status: outcome.time_status,
            next_ticket: outcome.ticket,
        }),
    }
}

async fn run(
    exchange: &mut Exchange,
    phone: &mut PhoneUnlock,
    signer: &dyn Signer,
) -> Result<latchkey_protocol::unlock::PhoneOutcome, UnlockError> {
    let mut what = "hello";
    loop {
        let message = exchange.receive(what).await?;
        match step(phone, &message, signer)? {
            PhoneStep::Send(reply) => {
                exchange.send(&reply).await?;
                what = "unlock result";
            }
            PhoneStep::Done(outcome) => return Ok(outcome),
        }
    }
}

/// One synchronous step of the state machine (the adapter never lives across an await).
fn step(phone: &mut PhoneUnlock, message: &[u8], signer: &dyn Signer) -> Result<PhoneStep, UnlockError> {
    let adapter = SignerAdapter::new(signer);
    phone.handle(message, &adapter).map_err(|e| from_protocol(e, &adapter))
}
