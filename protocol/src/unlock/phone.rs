//! The phone side of one unlock exchange, as a sans-IO state machine.
//!
//! Owns what the phone sends in answer to `Hello` and how it checks the lock's result. It takes the lock's id
//! and static public key (from the backend's lock list), the credential, a precomputed ephemeral key and,
//! optionally, a resumption ticket from an earlier visit; the device key stays behind [`DeviceSigner`]
//! (a platform keystore on phones). It reads no clock and draws no randomness.
//!
//! Cost: full path = one ECDH + one ECDSA sign + HKDF + AES-GCM. The ephemeral key's public half is computed
//! when [`DhSecret::from_bytes`] runs and, without a ticket, the ECDH in [`PhoneUnlock::new`]: a phone does
//! both before it connects, leaving the sign, HKDF and AES-GCM after `Hello`. Resume = HKDF + HMAC +
//! AES-GCM, no public-key operation.

use alloc::vec::Vec;

use super::Path;
use super::keys::{ResumptionSecret, UNLOCK_LABEL, full_keys, resume_keys, resume_mac};
use super::lock::{request_aad, result_aad};
use super::messages::{
    AbortReason, Command, HELLO_LEN, Hello, RequestBody, ResultBody, ResultCode, ResumeRequest, TYPE_ABORT,
    TYPE_FULL_REQUEST, TYPE_HELLO, TYPE_RESULT, TimeStatus, VERSION,
};
use crate::ProtocolError;
use crate::credential::Credential;
use crate::crypto::{AeadKey, DhSecret, Direction, PublicKey, SIGNATURE_LEN, SharedSecret, SigningKey};

/// Signs with the device key: ECDSA-P256-SHA256 over `message` (the signer hashes), `r || s` (64 bytes).
/// Low-S is required; an implementation whose keystore returns high-S must normalize it.
pub trait DeviceSigner {
    /// Signs the unlock transcript.
    fn sign_unlock(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], ProtocolError>;
}

impl DeviceSigner for SigningKey {
    fn sign_unlock(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], ProtocolError> {
        Ok(self.sign(&[message]))
    }
}

/// A resumption ticket as the phone stores it (the secret belongs in keystore-protected storage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneTicket {
    /// The lock it is for.
    pub lock_id: [u8; 16],
    /// Its id.
    pub ticket_id: [u8; 16],
    /// Last lock-time second it is accepted.
    pub expires_at: u32,
    /// The shared resumption secret.
    pub secret: ResumptionSecret,
}

/// What the phone needs for one exchange.
#[derive(Debug)]
pub struct PhoneUnlockParams {
    /// The lock expected on the other end.
    pub lock_id: [u8; 16],
    /// Its static public key, from the backend's lock list.
    pub lock_static_pub: PublicKey,
    /// The backend-signed credential for this lock.
    pub credential: Credential,
    /// What to ask for.
    pub command: Command,
    /// A fresh ephemeral key (precompute it before connecting). Used only on the full path.
    pub ephemeral: DhSecret,
    /// A ticket from an earlier visit, if any. It is spent by this exchange whatever happens: store the
    /// outcome's ticket instead.
    pub ticket: Option<PhoneTicket>,
}

/// The end of an exchange as the phone sees it. Reaching it means the lock proved it holds its static key
/// (full path) or the resumption secret (resume): the result was sealed by it.
#[derive(Debug, PartialEq, Eq)]
pub struct PhoneOutcome {
    /// What the lock decided.
    pub result: ResultCode,
    /// The lock's clock (authenticated).
    pub lock_time: u32,
    /// Whether the lock trusts its clock.
    pub time_status: TimeStatus,
    /// A ticket for the next visit.
    pub ticket: Option<PhoneTicket>,
    /// Which path the exchange took.
    pub path: Path,
}

/// What the phone must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum PhoneStep {
    /// Send these bytes (framed) and wait for the next message.
    Send(Vec<u8>),
    /// The exchange is over.
    Done(PhoneOutcome),
}

#[derive(Debug)]
enum State {
    AwaitHello,
    AwaitFull { hello: [u8; HELLO_LEN], key: AeadKey, secret: ResumptionSecret },
    AwaitResume { hello: [u8; HELLO_LEN], key: AeadKey, next: ResumptionSecret },
    Done,
}

/// One connection's phone-side session.
#[derive(Debug)]
pub struct PhoneUnlock {
    params: PhoneUnlockParams,
    /// The ECDH secret with the lock's static key, computed ahead when the full path is certain.
    shared: Option<SharedSecret>,
    state: State,
}

impl PhoneUnlock {
    /// Prepares a session; nothing is sent until the lock's `Hello` arrives. Without a ticket the full path
    /// is certain, so the ECDH with the lock's static key (which needs nothing from the lock) is done here,
    /// before connecting; with one it waits until a refused ticket makes it necessary.
    pub fn new(params: PhoneUnlockParams) -> PhoneUnlock {
        let shared = match params.ticket {
            None => Some(params.ephemeral.agree(&params.lock_static_pub)),
            Some(_) => None,
        };
        PhoneUnlock { params, shared, state: State::AwaitHello }
    }

    /// Handles one message from the lock.
    pub fn handle(&mut self, message: &[u8], signer: &dyn DeviceSigner) -> Result<PhoneStep, ProtocolError> {
        let state = core::mem::replace(&mut self.state, State::Done);
        let got = message.first().copied().unwrap_or(0);
        match (state, got) {
            (State::AwaitHello, TYPE_HELLO) => self.on_hello(message, signer),
            (State::AwaitFull { hello, key, secret }, TYPE_RESULT) => {
                self.on_result(message, &hello, &key, secret, Path::Full)
            }
            (State::AwaitResume { hello, key, next }, TYPE_RESULT) => {
                self.on_result(message, &hello, &key, next, Path::Resume)
            }
            (State::AwaitResume { hello, .. }, TYPE_ABORT) => match abort_reason(message)? {
                AbortReason::UnknownTicket | AbortReason::BadTicketMac => self.full_request(&hello, signer),
                other => Err(ProtocolError::LockAborted(other.byte())),
            },
            (State::AwaitFull { .. }, TYPE_ABORT) => {
                Err(ProtocolError::LockAborted(abort_reason(message)?.byte()))
            }
            (State::Done, _) => Err(ProtocolError::SessionFinished),
            (_, got) => Err(ProtocolError::UnexpectedMessage { got }),
        }
    }

    fn on_hello(&mut self, message: &[u8], signer: &dyn DeviceSigner) -> Result<PhoneStep, ProtocolError> {
        let hello = Hello::decode(message)?;
        if hello.version != VERSION {
            return Err(ProtocolError::UnsupportedVersion(hello.version));
        }
        if hello.lock_id != self.params.lock_id {
            return Err(ProtocolError::WrongLock);
        }
        let hello_bytes = hello.encode();
        match self.params.ticket.take() {
            Some(t) if t.lock_id == hello.lock_id && hello.lock_time <= t.expires_at => {
                let keys = resume_keys(&hello.challenge, &t.secret, &hello.lock_id, &t.ticket_id)?;
                let command = self.params.command;
                let mac = resume_mac(&keys.mac_key, &hello_bytes, &t.ticket_id, &command.encode());
                let request = ResumeRequest { ticket_id: t.ticket_id, command, mac }.encode();
                self.state = State::AwaitResume {
                    hello: hello_bytes,
                    key: keys.lock_to_phone,
                    next: keys.next_resumption,
                };
                Ok(PhoneStep::Send(request))
            }
            _ => self.full_request(&hello_bytes, signer),
        }
    }

    fn full_request(
        &mut self,
        hello: &[u8; HELLO_LEN],
        signer: &dyn DeviceSigner,
    ) -> Result<PhoneStep, ProtocolError> {
        let p = &self.params;
        let challenge = super::messages::array::<16>(hello, 18);
        let eph = p.ephemeral.public_key().to_bytes();
        let shared = self.shared.take().unwrap_or_else(|| p.ephemeral.agree(&p.lock_static_pub));
        let keys = full_keys(&challenge, shared.as_bytes(), &p.lock_id, &eph)?;
        let command = p.command.encode();
        let transcript = [UNLOCK_LABEL, &hello[..], &eph, &command].concat();
        let device_signature = signer.sign_unlock(&transcript)?;
        let body = RequestBody { credential: p.credential, device_signature, command: p.command }.encode();
        let sealed = keys.phone_to_lock.seal(Direction::PhoneToLock, 0, &request_aad(hello, &eph), &body)?;
        let mut request = Vec::with_capacity(1 + eph.len() + sealed.len());
        request.push(TYPE_FULL_REQUEST);
        request.extend_from_slice(&eph);
        request.extend_from_slice(&sealed);
        self.state = State::AwaitFull { hello: *hello, key: keys.lock_to_phone, secret: keys.resumption };
        Ok(PhoneStep::Send(request))
    }

    fn on_result(
        &mut self,
        message: &[u8],
        hello: &[u8; HELLO_LEN],
        key: &AeadKey,
        secret: ResumptionSecret,
        path: Path,
    ) -> Result<PhoneStep, ProtocolError> {
        let plain = key.open(Direction::LockToPhone, 0, &result_aad(hello), &message[1..])?;
        let body = ResultBody::decode(&plain)?;
        let ticket = body.ticket.map(|t| PhoneTicket {
            lock_id: self.params.lock_id,
            ticket_id: t.ticket_id,
            expires_at: t.expires_at,
            secret: secret.clone(),
        });
        Ok(PhoneStep::Done(PhoneOutcome {
            result: body.result,
            lock_time: body.lock_time,
            time_status: body.time_status,
            ticket,
            path,
        }))
    }
}

fn abort_reason(message: &[u8]) -> Result<AbortReason, ProtocolError> {
    match message {
        [TYPE_ABORT, reason] => AbortReason::from_byte(*reason),
        _ => Err(ProtocolError::Malformed { what: "abort" }),
    }
}
